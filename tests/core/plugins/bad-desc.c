/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plugins with a broken descriptor, one per build (-DTEST_ID and one of
 * -DBAD_ABI_MAJOR, -DBAD_ABI_MINOR, -DBAD_SIZE, -DBAD_ID). Their init
 * writes $VIGIL_TEST_MARKER, so a test can prove it never ran: the host
 * must reject the descriptor before any plugin code but the query runs.
 */
#include <stdio.h>
#include <vigil/plugin.h>

static gboolean
bad_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  const char *marker = g_getenv ("VIGIL_TEST_MARKER");
  FILE *f = marker != NULL ? fopen (marker, "w") : NULL;

  if (f != NULL)
    fclose (f);
  return TRUE;
}

static const VigilPluginDesc desc = {
#if defined(BAD_SIZE)
  .struct_size = 16,
#else
  .struct_size = sizeof (VigilPluginDesc),
#endif
#if defined(BAD_ABI_MAJOR)
  .abi_major = VIGIL_ABI_MAJOR + 1,
#else
  .abi_major = VIGIL_ABI_MAJOR,
#endif
#if defined(BAD_ABI_MINOR)
  .abi_minor = VIGIL_ABI_MINOR + 1,
#else
  .abi_minor = VIGIL_ABI_MINOR,
#endif
#if defined(BAD_ID)
  .id = "someone-else",
#else
  .id = TEST_ID,
#endif
  .name = "Broken descriptor",
  .version = "0.0.1",
  .license = "LGPL-2.1-or-later",
  .description = "Refused by the loader before init.",
  .init = bad_init,
};

VIGIL_PLUGIN_EXPORT const VigilPluginDesc *vigil_plugin_query_v1 (void);

const VigilPluginDesc *
vigil_plugin_query_v1 (void)
{
  return &desc;
}
