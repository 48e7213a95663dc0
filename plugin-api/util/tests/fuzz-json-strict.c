/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the strict JSON reader (plugin-api/util/json-strict.c):
 * any bytes either are refused with an error, or give a tree that json-glib
 * prints as text the strict reader accepts again and reads to the same
 * tree (except json-glib's known misprinting of some doubles, below); the check alone and the parse always agree, and keeping big
 * integers never refuses what the strict mode accepts.
 */
#include <stdint.h>
#include <string.h>

#include "vigil/util/json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* json-glib (1.6) writes a double such as 1e17 as "1e+17.0", which no
 * JSON reader accepts, json-glib's own included: a known generator bug,
 * not the reader's. The store and event emit refuse such documents. */
static gboolean
glib_wrote_bad_exponent (const char *text)
{
  static GRegex *re;

  if (g_once_init_enter (&re))
    g_once_init_leave (&re, g_regex_new ("[eE][-+]?[0-9]+\\.0", G_REGEX_OPTIMIZE, 0, NULL));
  return g_regex_match (re, text, 0, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) kept = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *reprinted = NULL;
  gboolean checked = vigil_json_check (text, size, VIGIL_JSON_STRICT, "fuzz", NULL);

  root = vigil_json_parse (size ? text : "", (gssize) size, VIGIL_JSON_STRICT, "fuzz", &error);
  g_assert ((root != NULL) == checked);
  kept = vigil_json_parse (size ? text : "", (gssize) size, VIGIL_JSON_KEEP_BIG_INTEGERS, NULL, NULL);
  if (root == NULL)
    {
      g_assert (error != NULL && g_str_has_prefix (error->message, "fuzz"));
      return 0;
    }
  g_assert (kept != NULL);
  printed = json_to_string (root, FALSE);
  again = vigil_json_parse (printed, -1, VIGIL_JSON_STRICT, NULL, NULL);
  if (again == NULL && glib_wrote_bad_exponent (printed))
    return 0;
  g_assert (again != NULL);
  reprinted = json_to_string (again, FALSE);
  g_assert (strcmp (printed, reprinted) == 0);
  return 0;
}
