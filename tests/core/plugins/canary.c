/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proves whether the host opened the file at all: a constructor runs as
 * soon as the object is mapped and touches $VIGIL_TEST_MARKER. A disabled
 * plugin must never get that far.
 */
#include <stdio.h>
#include <vigil/plugin.h>

__attribute__ ((constructor)) static void
canary_mapped (void)
{
  const char *marker = g_getenv ("VIGIL_TEST_MARKER");
  FILE *f = marker != NULL ? fopen (marker, "w") : NULL;

  if (f != NULL)
    fclose (f);
}

static gboolean
canary_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  return TRUE;
}

VIGIL_PLUGIN_DEFINE ("canary", "Canary", "0.1", "LGPL-2.1-or-later",
                     "Marks when it is mapped.", canary_init, NULL)
