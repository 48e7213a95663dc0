/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The boilerplate of a plugin command (`vigil NAME ...`): option parsing
 * with a `--json` switch and the usage text on a usage error, errors on
 * stderr as "vigil NAME: what", and the exit codes docs/cli.md documents
 * for every command: 0 success, 1 problems found, 2 usage or runtime error.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * VigilExitCode:
 * @VIGIL_EXIT_OK: success
 * @VIGIL_EXIT_PROBLEMS: the command ran and found problems (detections, a
 *   failed verification, an invalid document)
 * @VIGIL_EXIT_USAGE: usage or runtime error (unknown option, missing file,
 *   unknown id)
 */
typedef enum {
  VIGIL_EXIT_OK = 0,
  VIGIL_EXIT_PROBLEMS = 1,
  VIGIL_EXIT_USAGE = 2,
} VigilExitCode;

/**
 * vigil_command_fail:
 * @command: what the user typed after `vigil`, e.g. "quarantine restore"
 * @format: printf format of what went wrong
 *
 * Prints "vigil COMMAND: MESSAGE" on stderr.
 *
 * Returns: %VIGIL_EXIT_USAGE, to be returned by the command.
 */
int vigil_command_fail (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);

/**
 * vigil_command_usage_error:
 * @command: as for vigil_command_fail()
 * @usage: the command's usage text
 * @message: what was wrong with the command line
 *
 * Prints "vigil COMMAND: MESSAGE" and then @usage on stderr.
 *
 * Returns: %VIGIL_EXIT_USAGE.
 */
int vigil_command_usage_error (const char *command, const char *usage, const char *message);

/**
 * vigil_command_parse:
 * @command: as for vigil_command_fail()
 * @usage: the usage text, shown by --help and after a usage error
 * @entries: (nullable): the command's options, %NULL-terminated
 * @json: (out) (optional): set when --json was given; %NULL for a command
 *   without JSON output (then --json is an unknown option)
 * @argv: (inout): the arguments, parsed with g_option_context_parse_strv()
 *   so that what remains are the positional arguments (argv[0] included)
 * @exit_code: (out): the code to return when the answer is %FALSE
 *
 * Parses a plugin command's options. On a usage error prints it with the
 * usage text and answers %FALSE with @exit_code %VIGIL_EXIT_USAGE.
 *
 * Returns: %TRUE when the command should go on.
 */
gboolean vigil_command_parse (const char   *command,
                              const char   *usage,
                              GOptionEntry *entries,
                              gboolean     *json,
                              char       ***argv,
                              int          *exit_code);

G_END_DECLS
