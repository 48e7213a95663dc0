/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the decoder of cache entries (openioc-cache.c): any
 * bytes as an entry body. A body the decoder accepts goes on like a parsed
 * document: duplicate check, index, printing, evaluation over a fixed file;
 * and its encoding decodes again to the same item count.
 */
#include <stdint.h>
#include <string.h>

#include "openioc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
on_found (IocDoc *doc, const IocFileFacts *facts, GHashTable *marked, gpointer user_data)
{
  g_free (ioc_matched_text (doc->root, facts, marked));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autoptr (GBytes) body = g_bytes_new (data, size);
  g_autoptr (GBytes) again = NULL;
  IocFileFacts facts = { 0 };
  IocDerived derived = { 0 };
  IocDoc *doc = ioc_doc_new (coll, "fuzz.ioc");

  if (!ioc_cache_decode (doc, body))
    return 0;
  again = ioc_cache_encode (doc);
  if (!ioc_cache_decode (ioc_doc_new (coll, "again.ioc"), again)
      || ((IocDoc *) coll->docs->pdata[1])->n_items != doc->n_items)
    __builtin_trap ();
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
  return 0;
}
