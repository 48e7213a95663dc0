/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The notify plugin's registration: one task type, `notify.user`, which
 * shows the user of a device a desktop notification when that user is
 * logged in (see notify-task.c and docs/sandbox-response.md).
 */
#include <vigil/plugin.h>

#include "notify-engine.h"

static const VigilHostApi *vn_api;

static gboolean
notify_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  const char *root = vn_api->task_device_root (run);
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (JsonNode) node = NULL;

  vn_api->task_progress (run, 0.0, "looking for the user's session");
  result = vn_notify_user (root, params, cancellable, error);
  if (result == NULL)
    return FALSE;
  node = json_node_init_object (json_node_alloc (), result);
  vn_api->task_set_result (run, node);
  vn_api->task_progress (run, 1.0,
                         json_object_get_boolean_member (result, "displayed")
                           ? "notification displayed" : "notification not displayed");
  return TRUE;
}

static const VigilTaskType notify_user_type = {
  .id = "notify.user",
  .title = "Notify the device user",
  .description = "Shows a desktop notification to a user account if it is "
                 "logged in on the device; otherwise the result says why not.",
  .params = VIGIL_ARRAY (vn_user_params),
  .run = notify_run,
};

static gboolean
notify_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  vn_api = api;
  return api->register_task_type (self, &notify_user_type, sizeof notify_user_type, error);
}

VIGIL_PLUGIN_DEFINE ("notify", "Desktop notifications", "0.1.0", "LGPL-2.1-or-later",
                     "Notifies the logged-in user of a device over D-Bus.",
                     notify_init, NULL)
