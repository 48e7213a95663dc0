/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the decoder of cache entries (openioc-cache.c): any
 * bytes as an entry body. A body the decoder accepts encodes and decodes
 * again to the same item count, then goes on like a parsed document
 * (fuzz-exercise.c): duplicate check, index, printing, evaluation.
 */
#include <stdint.h>

#include "fuzz-exercise.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autoptr (GBytes) body = g_bytes_new (data, size);
  g_autoptr (GBytes) again = NULL;
  IocDoc *doc = ioc_doc_new (coll, "fuzz.ioc");

  if (!ioc_cache_decode (doc, body))
    return 0;
  again = ioc_cache_encode (doc);
  if (!ioc_cache_decode (ioc_doc_new (coll, "again.ioc"), again)
      || ((IocDoc *) coll->docs->pdata[1])->n_items != doc->n_items)
    __builtin_trap ();
  fuzz_exercise (coll, doc);
  return 0;
}
