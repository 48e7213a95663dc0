/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON in and out of a plugin command: printing a node the way every
 * `vigil` command prints --json output, and reading a JSON file named on a
 * command line. The file is read with vigil_file_read_bounded() (io-read.c:
 * regular files only, never blocking, bounded), and the contents go through
 * the strict reader (json-strict.c), whose errors name the file, line,
 * column and JSON path.
 */
#include <stdio.h>

#include "vigil/util/io.h"
#include "vigil/util/json.h"

void
vigil_json_print (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, TRUE);

  printf ("%s\n", text);
  /* Out whole now, before whatever the command does next (a long wait,
   * messages on stderr): a script reading the pipe gets the document. */
  fflush (stdout);
}

void
vigil_json_print_object (JsonObject *o)
{
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), o);

  vigil_json_print (n);
}

void
vigil_json_print_array (JsonArray *a)
{
  g_autoptr (JsonNode) n = json_node_init_array (json_node_alloc (), a);

  vigil_json_print (n);
}

JsonNode *
vigil_json_read_file (const char *path, gsize max_bytes, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = vigil_file_read_bounded (path, max_bytes, &length, error);
  if (data == NULL)
    return NULL;
  if (length == 0)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE,
                   "%s: no JSON document (the file is empty)", path);
      return NULL;
    }
  return vigil_json_parse (data, (gssize) length,
                           VIGIL_JSON_STRICT, path, error);
}
