/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `vigil` CLI's built-in commands. main.c parses the global options
 * (before the subcommand, like `git -C`), opens the host and dispatches to a
 * CliCommand or to a command a plugin registered. Each command file
 * (host/cli/cli-*.c) defines one CliCommand. The CLI stands on the public
 * libvigil-host API (vigil-host.h) only, like any other embedding
 * application; tests check that the binary holds no internal vh_ symbol.
 */
#pragma once

#include "vigil-host.h"

#include <vigil/util/json.h>
#include <vigil/util/text.h>

G_BEGIN_DECLS

/* Global options shared by every command. */
typedef struct {
  gboolean json;     /* --json given globally: machine-readable output */
  gboolean verbose;
} CliGlobals;

typedef struct {
  const char *name;       /* "policy" */
  const char *summary;    /* one line for `vigil --help` */
  const char *usage;      /* "policy validate|effective|defaults|import|..." */
  /* argv[0] is the command name. Returns the exit code (0 ok, 1 problems
   * found, 2 usage or runtime error). */
  int (*run) (VigilHost *host, const CliGlobals *globals, int argc, char **argv);
} CliCommand;

/* One per command file. */
extern const CliCommand cli_plugins;   /* cli-plugins.c   */
extern const CliCommand cli_policy;    /* cli-policy.c    */
extern const CliCommand cli_group;     /* cli-inventory.c */
extern const CliCommand cli_device;    /* cli-inventory.c */
extern const CliCommand cli_event;     /* cli-event.c     */
extern const CliCommand cli_events;    /* cli-event.c     */
extern const CliCommand cli_task;      /* cli-task.c      */
extern const CliCommand cli_serve;     /* cli-serve.c     */
extern const CliCommand cli_fleet;     /* cli-fleet.c     */
extern const CliCommand cli_agent;     /* cli-agent.c     */
extern const CliCommand cli_evidence;  /* cli-evidence.c  */

/* Helpers (cli-util.c). --json output is printed with the helper library's
 * vigil_json_print*() (<vigil/util/json.h>), as plugins' commands print it;
 * text output with vigil_print() (<vigil/util/text.h>), which escapes every
 * name it prints, and usage texts with vigil_print_usage(). */
/* Parses a JSON object from @path ("-" is stdin) with the strict reader
 * (<vigil/util/json.h>), with a size limit and an error naming the file,
 * line, column and JSON path. Returns: (transfer full). */
JsonObject *cli_read_json_object (const char *path, GError **error);
/* Like cli_read_json_object, with an explicit size limit in bytes
 * (cli_read_json_object uses 16 MiB). Nesting deeper than
 * VIGIL_JSON_MAX_DEPTH levels is refused too, with its line and column. */
JsonObject *cli_read_json_object_full (const char *path, gsize max_size,
                                       GError **error);
/* Prints "vigil <cmd>: <message>" on stderr (just "vigil: " when @command
 * is NULL). */
void      cli_error        (const char *command, const char *format, ...)
                               G_GNUC_PRINTF (2, 3);

/* Makes g_printerr() escape control characters other than its newlines
 * (main() calls it first). */
void      cli_escape_printerr (void);

/* The state folder (cli-state.c). A --state-dir (NULL: the default) that
 * exists but is not a folder, or whose parent folder does not exist, is
 * refused with an error that says so. */
gboolean  cli_state_check       (const char *state_dir, GError **error);
/* Whether a state (its database) is there already. */
gboolean  cli_state_exists      (const char *state_dir);
/* The folder the host will use, for messages. Returns: (transfer full). */
char     *cli_state_describe    (const char *state_dir);
/* A throw-away state folder for a help, and its removal (tree and all). */
char     *cli_state_temp_new    (GError **error);
void      cli_state_temp_remove (const char *dir);

/* Local "2026-11-22 10:00:00" of a UTC time in microseconds. */
char     *cli_format_time     (gint64 time_us);

/* Shared by cli-event.c, cli-task.c and cli-serve.c. */
JsonObject *cli_read_payload     (const char *path, GError **error);
gboolean    cli_parse_since      (const char *text, gint64 now, gint64 *since,
                                  GError **error);
void        cli_print_event_line (JsonObject *event);
void        cli_print_run_line   (JsonObject *run);

G_END_DECLS
