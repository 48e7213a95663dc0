/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin whose init crashes the process with a segmentation fault, as a
 * buggy third-party plugin does: the host must name it before dying, and
 * `vigil plugins disable` and `vigil --no-plugins` must work without
 * running it.
 */
#include <vigil/plugin.h>

static gboolean
crashes_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  volatile int *nowhere = NULL;

  *nowhere = 1;
  return TRUE;
}

VIGIL_PLUGIN_DEFINE ("init-crashes", "Init crashes", "0.1", "LGPL-2.1-or-later",
                     "Crashes in init.", crashes_init, NULL)
