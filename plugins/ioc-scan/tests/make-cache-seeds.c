/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpus of fuzz-ioc-cache: the entry body of each seed of
 * the parser's fuzz target, parsed. Usage:
 *   make-cache-seeds OUT_DIR FILE.ioc...
 * (run by hand when the entry format changes; the seeds are committed).
 */
#include "openioc.h"

int
main (int argc, char **argv)
{
  for (int i = 2; i < argc; i++)
    {
      g_autoptr (IocCollection) coll = ioc_collection_new (0);
      g_autofree char *base = g_path_get_basename (argv[i]);
      g_autofree char *out = g_strconcat (argv[1], "/", base, ".body", NULL);
      IocDoc *doc = ioc_collection_add_file (coll, argv[i]);
      g_autoptr (GBytes) body = ioc_cache_encode (doc);

      if (!g_file_set_contents (out, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL))
        return 1;
    }
  return 0;
}
