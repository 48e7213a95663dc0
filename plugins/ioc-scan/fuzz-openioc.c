/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the OpenIOC parser: any bytes go through the same
 * path a task's IOC files take (parse, duplicate check, index), then the
 * tree is printed and evaluated once over a fixed file (fuzz-exercise.c).
 */
#include <stdint.h>

#include "fuzz-exercise.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocDoc *doc = ioc_collection_add_memory (coll, "fuzz.ioc", (const char *) data, size);

  ioc_collection_add_memory (coll, "again.ioc", (const char *) data, size);
  fuzz_exercise (coll, doc);
  return 0;
}
