/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Password protection of `vigil quarantine restore`. The host owns the
 * check (the `general` section's password, PBKDF2, the prompt or
 * VIGIL_PASSWORD_FD) but the plugin ABI has no slot for it and plugins must
 * not include host internals. A plugin command runs inside the `vigil`
 * process, so the plugin asks that same binary, on the same state folder:
 * `vigil --state-dir S password check quarantine.restore`, with the
 * terminal, stderr and the password fd inherited. Anything but a clean
 * "allowed" (exit 0) refuses the restore: the check fails closed.
 */
#include "qplugin.h"

#include <string.h>

/* The state folder is the one that holds "plugins/<id>" (api->data_dir). */
static char *
state_dir (GError **error)
{
  const char *data = qp_api->data_dir (qp_self);
  g_autofree char *plugins = data != NULL ? g_path_get_dirname (data) : NULL;
  g_autofree char *base = plugins != NULL ? g_path_get_basename (plugins) : NULL;

  if (base == NULL || strcmp (base, "plugins") != 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "cannot find the state folder for the password check (plugin data "
                   "folder %s)", data != NULL ? data : "unknown");
      return NULL;
    }
  return g_path_get_dirname (plugins);
}

gboolean
qp_protect_check (const char *action, GError **error)
{
  g_autofree char *state = state_dir (error);
  g_autofree char *exe = NULL;
  g_autoptr (GError) local = NULL;
  int status = 0;

  if (state == NULL)
    return FALSE;
  exe = g_file_read_link ("/proc/self/exe", &local);
  if (exe == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "cannot run the password check: %s", local->message);
      return FALSE;
    }
  {
    const char *argv[] = { exe, "--state-dir", state, "password", "check", action, NULL };
    if (!g_spawn_sync (NULL, (char **) argv, NULL,
                       G_SPAWN_LEAVE_DESCRIPTORS_OPEN | G_SPAWN_CHILD_INHERITS_STDIN
                       | G_SPAWN_STDOUT_TO_DEV_NULL,
                       NULL, NULL, NULL, NULL, &status, &local))
      {
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                     "cannot run the password check: %s", local->message);
        return FALSE;
      }
  }
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "%s is password-protected and the password check did not pass", action);
      return FALSE;
    }
  return TRUE;
}
