/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin whose init crashes the process with a segmentation fault, as a
 * buggy third-party plugin does: the host must name it before dying, and
 * `vigil plugins disable` and `vigil --no-plugins` must work without
 * running it.
 */
#include <signal.h>

#include <vigil/plugin.h>

/* The signal a bad access raises, sent directly: a store through a null
 * pointer would be stopped first by UndefinedBehaviorSanitizer (with
 * halt_on_error), which is not what a release build meets. */
static gboolean
crashes_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  raise (SIGSEGV);
  return TRUE;
}

VIGIL_PLUGIN_DEFINE ("init-crashes", "Init crashes", "0.1", "LGPL-2.1-or-later",
                     "Crashes in init.", crashes_init, NULL)
