/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text output that a terminal cannot be made to obey. Names printed by
 * `vigil` commands come from devices (file names, detections) and from
 * admins (--name): an ESC, OSC or BEL in one would drive the reader's
 * terminal, a CR or LF would forge a line or a table row. Every text
 * printer of the host CLI and of the plugins' commands goes through
 * vigil_print() (or builds its lines with vigil_text_append_printf()),
 * which escapes each string argument: the format, written by the
 * programmer, keeps its own newlines; what is substituted into it cannot
 * add any. Escaping is idempotent (escaped text holds nothing to escape),
 * so a line built escaped may be printed through vigil_print() again. A
 * usage text, written by the program, is printed with vigil_print_usage().
 * JSON output (vigil_json_print()) is escaped by JSON itself and
 * does not go through here.
 */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

/**
 * vigil_text_append_escaped:
 * @out: where the text goes
 * @text: (nullable): the text, in any encoding; %NULL appends nothing
 * @len: its length in bytes, or -1 when it ends with a NUL
 *
 * Appends @text with every character that could drive a terminal or break
 * a line written as an escape: C0 controls (TAB, CR and LF included), DEL
 * and bytes that are not UTF-8 as `\xHH`; C1 controls (U+0080 to U+009F)
 * and the bidirectional overrides and isolates (U+202A to U+202E, U+2066
 * to U+2069, which make a file name read backwards) as `\uHHHH`. The
 * result is valid UTF-8 holding no control character.
 */
void vigil_text_append_escaped (GString *out, const char *text, gssize len);

/**
 * vigil_text_escape:
 * @text: (nullable): the text; %NULL gives ""
 *
 * Returns: (transfer full): @text escaped as by vigil_text_append_escaped().
 */
char *vigil_text_escape (const char *text);

/**
 * vigil_text_width:
 * @text: (nullable): the text, not yet escaped
 *
 * Returns: how many characters @text takes once escaped, for sizing a
 *   table column that vigil_print() pads.
 */
gsize vigil_text_width (const char *text);

/**
 * vigil_text_append_vprintf:
 * @out: where the text goes
 * @format: a printf format, trusted (written in the program)
 * @args: its arguments
 *
 * Like g_string_append_vprintf(), with every `%s` and `%c` argument
 * escaped by vigil_text_append_escaped() before it is substituted. A
 * precision cuts the argument before it is escaped; a width pads the
 * escaped text by characters, not bytes, so that UTF-8 names keep a
 * table's columns aligned. `%n` is refused.
 */
void vigil_text_append_vprintf (GString *out, const char *format, va_list args)
    G_GNUC_PRINTF (2, 0);

/**
 * vigil_text_append_printf:
 * @out: where the text goes
 * @format: a printf format, trusted
 *
 * vigil_text_append_vprintf() with variable arguments.
 */
void vigil_text_append_printf (GString *out, const char *format, ...) G_GNUC_PRINTF (2, 3);

/**
 * vigil_text_printf:
 * @format: a printf format, trusted
 *
 * Returns: (transfer full): the text vigil_text_append_printf() builds.
 */
char *vigil_text_printf (const char *format, ...) G_GNUC_PRINTF (1, 2);

/**
 * vigil_print:
 * @format: a printf format, trusted
 *
 * Prints on stdout what vigil_text_append_printf() builds: the one way a
 * `vigil` command (the host's or a plugin's) prints text output.
 */
void vigil_print (const char *format, ...) G_GNUC_PRINTF (1, 2);

/**
 * vigil_print_to:
 * @stream: stdout or stderr
 * @format: a printf format, trusted
 *
 * vigil_print() to another stream, for messages on stderr.
 */
void vigil_print_to (FILE *stream, const char *format, ...) G_GNUC_PRINTF (2, 3);

/**
 * vigil_print_usage:
 * @stream: stdout or stderr
 * @text: a usage or help text the program itself wrote, newlines and all
 *
 * Prints @text as it is: the one way around the escaping, for text that
 * holds nothing a device or an admin typed.
 */
void vigil_print_usage (FILE *stream, const char *text);

G_END_DECLS
