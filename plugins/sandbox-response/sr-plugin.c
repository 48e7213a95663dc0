/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox-response plugin: reacts to `sandbox.threat_detected` events
 * with the local and group actions of the `sandbox_response` policy
 * section (sr-respond.c); starts a group scan that waited for the
 * detecting device's local quarantine when that has ended (task.completed
 * or task.failed of the quarantine.put task), and forgets a pending group
 * scan when its round has finished on every device (task.round_finished),
 * so the next detection of that object starts a new one. Forgetting it at
 * the first device's task.completed would let a repeat detection during a
 * long round start a second scan.
 */
#include "sr-plugin.h"

const VigilHostApi *sr_api;
VigilPlugin        *sr_self;

/* task.completed / task.failed of a local quarantine start the group scan
 * that waited for it; task.round_finished of a group scan ends it. */
static void
on_task_event (const VigilEvent *event, gpointer user_data)
{
  const char *task_id = vigil_json_get_string (event->payload, "task_id");
  const char *type = vigil_json_get_string (event->payload, "type");
  guint n;

  if (task_id == NULL)
    return;
  if (g_strcmp0 (type, "quarantine.put") == 0
      && (g_strcmp0 (event->type, "task.completed") == 0
          || g_strcmp0 (event->type, "task.failed") == 0))
    sr_pending_local_ended (task_id);
  if (g_strcmp0 (type, "ioc.scan") != 0 || g_strcmp0 (event->type, "task.round_finished") != 0)
    return;
  n = sr_pending_finish (task_id);
  if (n > 0)
    sr_api->log (sr_self, G_LOG_LEVEL_INFO, "IOC scan task %s ended (%s): no longer pending",
                 task_id, event->type);
}

static const VigilEventHandler handlers[] = {
  { .event_type = "sandbox.threat_detected", .handler = sr_on_threat_detected },
  { .event_type = "task.*", .handler = on_task_event },
};

static gboolean
sr_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  sr_api = api;
  sr_self = self;
  if (!sr_register_section (self, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    if (!api->register_event_handler (self, &handlers[i], sizeof handlers[i], error))
      return FALSE;
  return TRUE;
}

/* Besides its id (which also covers its section, sandbox_response): the
 * event it emits when an action cannot run, response.failed. */
static const char *const sr_namespaces[] = { "response", NULL };

VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES ("sandbox-response",
                                     "Threat response to sandbox detections",
                                     "0.1.0", "LGPL-2.1-or-later",
                                     "Quarantines, notifies, scans and hunts the group for "
                                     "what the malware sandbox detects.",
                                     sr_init, NULL, sr_namespaces)
