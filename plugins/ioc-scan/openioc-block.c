/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Large zeroed blocks (a cached document's nodes, the index's key tables)
 * in huge pages where the kernel gives them: such a block is written all
 * over right after it is made, and filling 20 MB of fresh 4 KiB pages one
 * fault at a time, each fault a TLB shootdown while the loading threads
 * run, took as long as the work itself. Sizes are rounded up to whole
 * huge pages, as only those can be huge. Small blocks come from malloc.
 */
#include "openioc.h"

#include <sys/mman.h>

#define HUGE_PAGE ((gsize) 2 * 1024 * 1024)
#define BLOCK_MIN ((gsize) 1024 * 1024)

gpointer
ioc_block_alloc0 (gsize *size)
{
  void *block;

  if (*size < BLOCK_MIN)
    return g_malloc0 (*size);
  *size = (*size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  block = mmap (NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED)
    g_error ("out of memory: %" G_GSIZE_FORMAT " bytes for the IOC engine", *size);
  /* Advice only: without transparent huge pages, 4 KiB pages do. */
  madvise (block, *size, MADV_HUGEPAGE);
  return block;
}

void
ioc_block_free (gpointer block, gsize size)
{
  if (block == NULL)
    return;
  if (size < BLOCK_MIN)
    g_free (block);
  else
    munmap (block, size);
}
