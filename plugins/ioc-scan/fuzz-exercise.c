/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-exercise.h"

#include <string.h>

static void
on_found (IocDoc *doc, const IocFileFacts *facts, GHashTable *marked, gpointer user_data)
{
  g_free (ioc_matched_text (doc->root, facts, marked));
}

void
fuzz_exercise (IocCollection *coll, IocDoc *doc)
{
  IocFileFacts facts = { 0 };
  IocDerived derived = { 0 };

  ioc_collection_prepare (coll);
  facts.path = "/home/alice/Downloads/invoice.exe";
  facts.name = "invoice.exe";
  facts.size = 75264;
  facts.modified = facts.accessed = facts.changed = 1700000000;
  facts.created = IOC_TIME_UNKNOWN;
  facts.owner = "alice";
  facts.have = IOC_HASH_ALL;
  strcpy (facts.md5, "d41d8cd98f00b204e9800998ecf8427e");
  strcpy (facts.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  strcpy (facts.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  facts.derived = &derived;
  if (doc->root != NULL)
    {
      GString *out = g_string_new (NULL);
      ioc_node_print (out, doc->root, 0);
      g_string_free (out, TRUE);
      (void) ioc_node_eval (doc->root, &facts);
    }
  ioc_index_match (coll->index, &facts, on_found, NULL);
  ioc_derived_clear (&derived);
}
