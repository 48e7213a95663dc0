/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox-response plugin: reacts to `sandbox.threat_detected` events
 * with the local and group actions of the `sandbox_response` policy
 * section (sr-respond.c), and forgets a pending group scan when its round
 * has finished on every device (task.round_finished), so the next detection
 * of that object starts a new one. Forgetting it at the first device's
 * task.completed would let a repeat detection during a long round start a
 * second scan.
 */
#include "sr-plugin.h"

const VigilHostApi *sr_api;
VigilPlugin        *sr_self;

static void
on_task_ended (const VigilEvent *event, gpointer user_data)
{
  const char *task_id = vigil_json_get_string (event->payload, "task_id");
  const char *type = vigil_json_get_string (event->payload, "type");
  guint n;

  if (task_id == NULL || g_strcmp0 (type, "ioc.scan") != 0)
    return;
  n = sr_pending_finish (task_id);
  if (n > 0)
    sr_api->log (sr_self, G_LOG_LEVEL_INFO, "IOC scan task %s ended (%s): no longer pending",
                 task_id, event->type);
}

static const VigilEventHandler handlers[] = {
  { .event_type = "sandbox.threat_detected", .handler = sr_on_threat_detected },
  { .event_type = "task.round_finished", .handler = on_task_ended },
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
