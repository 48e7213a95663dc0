/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata plugin: sends EDR telemetry to a central node (KATA). It
 * registers the `kata` policy section, subscribes to the telemetry events
 * (process starts, network connections, detections, IOC finds, quarantine
 * events, failed responses, deleted files; docs/kata.md lists them) and to the ends of
 * runs of tasks the central node sent, and queues each one in its
 * device's on-disk spool before the handler returns, unless the general
 * section's telemetry exclusions keep it out. Delivery, fail-over and
 * synchronization run from the per-device engines (plugin-engines.c);
 * `vigil kata` shows their state and flushes them.
 */
#include "plugin-private.h"

const VigilHostApi *kata_api;
VigilPlugin        *kata_self;

static JsonObject *
record_from_event (const VigilEvent *event)
{
  JsonObject *rec = json_object_new ();
  g_autofree char *time = kata_iso_time (event->time_us);

  json_object_set_string_member (rec, "id", event->id);
  json_object_set_string_member (rec, "type", event->type);
  if (event->device_id)
    json_object_set_string_member (rec, "device", event->device_id);
  json_object_set_string_member (rec, "time", time);
  json_object_set_int_member (rec, "payload_version", event->payload_version);
  json_object_set_string_member (rec, "source", event->source ? event->source : "");
  json_object_set_object_member (rec, "payload", json_object_ref (event->payload));
  return rec;
}

static void
on_telemetry (const VigilEvent *event, gpointer user_data)
{
  KataEngine *engine = kata_engines_for (event->device_id);
  g_autoptr (JsonObject) record = NULL;
  g_autoptr (GError) error = NULL;

  if (engine == NULL)
    return;
  if (VIGIL_API_HAS (kata_api, telemetry_excluded) &&
      kata_api->telemetry_excluded (kata_self, event))
    {
      kata_engine_note_excluded (engine);
      return;
    }
  record = record_from_event (event);
  if (!kata_engine_submit (engine, event->type, record, &error))
    kata_api->log (kata_self, G_LOG_LEVEL_WARNING,
                   "event %s was not spooled: %s", event->id, error->message);
}

/* The end of a run of a task the central node sent goes back to it, with
 * the node's task id and the run's result (which the host's event
 * carries), in the device's next package; other tasks' runs are none of
 * its business. */
static void
on_task_outcome (const VigilEvent *event, gpointer user_data)
{
  const char *task_id = event->payload
      ? vigil_json_get_string (event->payload, "task_id") : NULL;
  KataEngine *engine;
  g_autofree char *node_task = NULL;
  g_autoptr (JsonObject) record = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GList) members = NULL;
  JsonObject *payload;

  if (task_id == NULL || (engine = kata_engines_for (event->device_id)) == NULL ||
      (node_task = kata_engine_node_task (engine, task_id)) == NULL)
    return;
  record = record_from_event (event);
  payload = json_object_new ();
  members = json_object_get_members (event->payload);
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (payload, l->data,
                            json_node_copy (json_object_get_member (event->payload, l->data)));
  json_object_set_string_member (payload, "node_task_id", node_task);
  json_object_set_object_member (record, "payload", payload);
  if (!kata_engine_submit (engine, event->type, record, &error))
    kata_api->log (kata_self, G_LOG_LEVEL_WARNING,
                   "event %s was not spooled: %s", event->id, error->message);
}

static const VigilEventHandler handlers[] = {
  { "process.started", on_telemetry, NULL },
  /* What the network exclusions and "optimize telemetry" act on. */
  { "network.*", on_telemetry, NULL },
  { "sandbox.threat_detected", on_telemetry, NULL },
  { "ioc.found", on_telemetry, NULL },
  { "epp.scan_finding", on_telemetry, NULL },
  { "quarantine.*", on_telemetry, NULL },
  { "response.failed", on_telemetry, NULL },
  /* What a response action deleted (file.delete's record of each object). */
  { "file.deleted", on_telemetry, NULL },
  { "task.completed", on_task_outcome, NULL },
  { "task.failed", on_task_outcome, NULL },
};

static const VigilCommand command = {
  .name = "kata",
  .summary = "EDR telemetry to the central node: status, cert-info, flush",
  .run = kata_command_run,
  .flags = VIGIL_COMMAND_JSON,
};

static gboolean
kata_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  kata_api = api;
  kata_self = self;
  kata_crypto_init ();
  if (!kata_register_section (self, error) ||
      !api->register_command (self, &command, sizeof command, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    if (!api->register_event_handler (self, &handlers[i], sizeof handlers[i], error))
      return FALSE;
  kata_engines_init ();
  return TRUE;
}

static void
kata_shutdown (VigilPlugin *self)
{
  /* OpenSSL's providers stay loaded: they are process-wide, and other
   * plugins and later hosts of this process use them. */
  kata_engines_shutdown ();
}

VIGIL_PLUGIN_DEFINE ("kata", "EDR telemetry to the central node",
                     "0.1.0", "LGPL-2.1-or-later",
                     "Sends process, network, detection and quarantine telemetry to a "
                     "KATA central node over pinned TLS, without loss.",
                     kata_init, kata_shutdown)
