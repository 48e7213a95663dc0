/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON helpers for plugins: typed member getters that answer "absent" for a
 * member of the wrong type instead of warning (input from policies, tasks
 * and servers is untrusted), printing a node on stdout the way every
 * `vigil` command does, and reading a JSON file with a size bound, regular
 * files only, with errors that say file:line:column.
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

/**
 * vigil_json_read_file:
 * @path: the file
 * @max_bytes: the largest file accepted
 * @error: return location for a #GError (G_FILE_ERROR for the file,
 *   JSON_PARSER_ERROR for its contents)
 *
 * Reads and parses a JSON document. Only a regular file is read (a FIFO,
 * a device or a folder is refused without blocking), and one larger than
 * @max_bytes is refused before it is read. A parse error says
 * "PATH:LINE:COLUMN: what".
 *
 * Returns: (transfer full) (nullable): the root node, or %NULL with @error set.
 */
JsonNode *vigil_json_read_file (const char *path, gsize max_bytes, GError **error);

G_END_DECLS
