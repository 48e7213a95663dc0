/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON helpers for plugins: typed member getters that answer "absent" for a
 * member of the wrong type instead of warning (input from policies, tasks
 * and servers is untrusted), printing a node on stdout the way every
 * `vigil` command does, the strict reader every untrusted document goes
 * through (duplicate keys, NUL in strings, non-standard numbers and
 * integers beyond 64 bits are refused, with line, column and JSON path),
 * and reading a JSON file with a size bound, regular files only.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * vigil_json_get_string:
 * @o: (nullable): an object
 * @key: the member name
 *
 * Returns: (nullable): the member's string, or %NULL when @o is %NULL or
 *   the member is absent, null or not a string. Owned by @o.
 */
const char *vigil_json_get_string (JsonObject *o, const char *key);

/**
 * vigil_json_get_int:
 * @o: (nullable): an object
 * @key: the member name
 * @out: where the integer goes; untouched when the answer is %FALSE
 *
 * Returns: %TRUE when the member is a JSON integer.
 */
gboolean vigil_json_get_int (JsonObject *o, const char *key, gint64 *out);

/**
 * vigil_json_get_int_or:
 * @o: (nullable): an object
 * @key: the member name
 * @fallback: the answer when the member is not an integer
 *
 * Returns: the member's integer, or @fallback.
 */
gint64 vigil_json_get_int_or (JsonObject *o, const char *key, gint64 fallback);

/**
 * vigil_json_get_bool:
 * @o: (nullable): an object
 * @key: the member name
 * @fallback: the answer when the member is not a boolean
 *
 * Returns: the member's boolean, or @fallback.
 */
gboolean vigil_json_get_bool (JsonObject *o, const char *key, gboolean fallback);

/**
 * vigil_json_get_object:
 * @o: (nullable): an object
 * @key: the member name
 *
 * Returns: (nullable): the member when it is an object, else %NULL. Owned by @o.
 */
JsonObject *vigil_json_get_object (JsonObject *o, const char *key);

/**
 * vigil_json_get_array:
 * @o: (nullable): an object
 * @key: the member name
 *
 * Returns: (nullable): the member when it is an array, else %NULL. Owned by @o.
 */
JsonArray *vigil_json_get_array (JsonObject *o, const char *key);

/**
 * vigil_json_print:
 * @node: the node to print
 *
 * Prints @node pretty (two-space indent) on stdout followed by a newline,
 * and flushes stdout: a command's --json output. The `vigil` CLI prints
 * its own --json output with it too.
 */
void vigil_json_print (JsonNode *node);

/** vigil_json_print_object: vigil_json_print() for an object. */
void vigil_json_print_object (JsonObject *o);

/** vigil_json_print_array: vigil_json_print() for an array. */
void vigil_json_print_array (JsonArray *a);

/** The deepest nesting of arrays and objects the strict reader accepts. */
#define VIGIL_JSON_MAX_DEPTH 256

/**
 * VigilJsonFlags:
 * @VIGIL_JSON_STRICT: the default: everything below is refused.
 * @VIGIL_JSON_KEEP_BIG_INTEGERS: an integer outside -2^63..2^63-1 is kept
 *   as written, as a JSON string holding its digits, instead of being
 *   refused. For data that is reported rather than acted on (an event's
 *   payload); never for settings.
 *
 * How strict vigil_json_parse() is.
 */
typedef enum
{
  VIGIL_JSON_STRICT = 0,
  VIGIL_JSON_KEEP_BIG_INTEGERS = 1 << 0,
} VigilJsonFlags;

/**
 * vigil_json_check:
 * @data: the document (need not be NUL-terminated)
 * @length: its length in bytes
 * @flags: #VigilJsonFlags
 * @where: (nullable): the document's name for errors (a file name), or
 *   %NULL for "line L, column C: ..."
 * @error: return location for a #GError (JSON_PARSER_ERROR)
 *
 * Checks @data against RFC 8259 and refuses, besides any syntax error,
 * what json-glib would read wrongly: a duplicate key in an object (keys
 * compared after decoding escapes), NUL in a string (raw or \u0000), a
 * lone surrogate escape, a control character or invalid UTF-8 in a string,
 * a non-standard number (010, 0x10, +1, .5, 1., NaN, Infinity), an integer
 * outside the 64-bit range (unless @flags keeps it), a number too large for
 * a double, comments, single quotes, trailing commas, nesting deeper than
 * %VIGIL_JSON_MAX_DEPTH, and an empty document. The error says
 * "WHERE:LINE:COLUMN: what (at $.json.path)" and never quotes a string
 * value (it may be a secret); keys and numbers are quoted.
 *
 * Returns: %TRUE when the document is acceptable.
 */
gboolean vigil_json_check (const char *data, gsize length, VigilJsonFlags flags,
                           const char *where, GError **error);

/**
 * vigil_json_parse:
 * @data: the document
 * @length: its length in bytes, or -1 when @data is NUL-terminated
 * @flags: #VigilJsonFlags
 * @where: (nullable): the document's name for errors, as for vigil_json_check()
 * @error: return location for a #GError (JSON_PARSER_ERROR)
 *
 * The strict reader: vigil_json_check(), then json-glib builds the tree.
 * Use it for every document that comes from outside the process.
 *
 * Returns: (transfer full) (nullable): the root node, or %NULL with @error set.
 */
JsonNode *vigil_json_parse (const char *data, gssize length, VigilJsonFlags flags,
                            const char *where, GError **error);

/**
 * vigil_json_parse_full:
 * @data: the document
 * @length: its length in bytes, or -1 when @data is NUL-terminated
 * @flags: #VigilJsonFlags
 * @keep_under: (nullable): with %VIGIL_JSON_KEEP_BIG_INTEGERS, the JSON
 *   path under which big integers are kept ("$.payload"); elsewhere they
 *   are refused. %NULL keeps them everywhere.
 * @where: (nullable): the document's name for errors
 * @error: return location for a #GError (JSON_PARSER_ERROR)
 *
 * vigil_json_parse() for a document where only one part is data to keep
 * as written (an event envelope: its payload), the rest being fields.
 *
 * Returns: (transfer full) (nullable): the root node, or %NULL with @error set.
 */
JsonNode *vigil_json_parse_full (const char *data, gssize length, VigilJsonFlags flags,
                                 const char *keep_under, const char *where, GError **error);

/**
 * vigil_json_parse_object:
 * @data: the document
 * @length: its length in bytes, or -1 when @data is NUL-terminated
 * @flags: #VigilJsonFlags
 * @where: (nullable): the document's name for errors
 * @error: return location for a #GError (JSON_PARSER_ERROR)
 *
 * vigil_json_parse() for a document that must be an object.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL with @error set.
 */
JsonObject *vigil_json_parse_object (const char *data, gssize length, VigilJsonFlags flags,
                                     const char *where, GError **error);

/**
 * vigil_json_read_file:
 * @path: the file
 * @max_bytes: the largest file accepted
 * @error: return location for a #GError (G_FILE_ERROR for the file,
 *   JSON_PARSER_ERROR for its contents)
 *
 * Reads and parses a JSON document. Only a regular file is read (a FIFO,
 * a device or a folder is refused without blocking), and one larger than
 * @max_bytes is refused before it is read. The contents go through the
 * strict reader (vigil_json_parse() with %VIGIL_JSON_STRICT); an error says
 * "PATH:LINE:COLUMN: what (at $.json.path)".
 *
 * Returns: (transfer full) (nullable): the root node, or %NULL with @error set.
 */
JsonNode *vigil_json_read_file (const char *path, gsize max_bytes, GError **error);

G_END_DECLS
