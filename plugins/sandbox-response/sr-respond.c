/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handler of `sandbox.threat_detected`: validates the payload, reads the
 * detecting device's effective policy and creates the tasks of the
 * configured local actions (for that device) and group actions (one IOC scan
 * of its admin group). Each action stands alone: a missing task type (its
 * plugin disabled), a missing console account or a host error fails that
 * action with a recorded `response.failed` event and the others still run.
 * What was done for each detection is kept in the document store
 * (collection "responses", keyed by event id).
 */
#include "sr-plugin.h"

typedef struct {
  const VigilEvent *event;
  SrThreat          threat;
  SrConfig          config;
  JsonArray        *actions;
} Response;

static void
record_failure (Response *r, const char *action, const char *reason)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  JsonObject *entry = json_object_new ();

  json_object_set_string_member (payload, "action", action);
  json_object_set_string_member (payload, "reason", reason);
  json_object_set_string_member (payload, "event_id", r->event->id);
  sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "event %s: %s failed: %s",
               r->event->id, action, reason);
  id = sr_api->emit_event (sr_self, "response.failed", r->event->device_id, 1,
                           payload, &error);
  if (id == NULL)
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "response.failed not recorded: %s",
                 error->message);
  json_object_set_string_member (entry, "action", action);
  json_object_set_string_member (entry, "error", reason);
  if (r->actions != NULL)
    json_array_add_object_element (r->actions, entry);
  else
    json_object_unref (entry);
}

static void
record_task (Response *r, const char *action, const char *type, const char *task_id)
{
  JsonObject *entry = json_object_new ();

  json_object_set_string_member (entry, "action", action);
  json_object_set_string_member (entry, "type", type);
  json_object_set_string_member (entry, "task_id", task_id);
  json_array_add_object_element (r->actions, entry);
  sr_api->log (sr_self, G_LOG_LEVEL_INFO, "event %s: %s -> %s task %s",
               r->event->id, action, type, task_id);
}

/* Whether @type can be created; if not, the action fails with the host's
 * explanation (disabled, not installed, refused: the plugin to enable). */
static gboolean
type_available (Response *r, const char *action, const char *type)
{
  VigilTaskSpec probe = { .type = type };
  g_autoptr (GError) error = NULL;
  g_autofree char *plugin = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *id = NULL;

  if (sr_api->has_task_type (sr_self, type))
    return TRUE;
  /* The host checks the type first, so this only fetches its message. */
  id = sr_api->create_task (sr_self, &probe, sizeof probe, &error);
  plugin = sr_plugin_of_type (type);
  reason = error != NULL ? g_strdup (error->message)
         : g_strdup_printf ("task type '%s' is not available: enable the plugin "
                            "'%s' (vigil plugins enable %s)", type, plugin, plugin);
  record_failure (r, action, reason);
  return FALSE;
}

static char *
create_task (Response *r, const char *action, const VigilTaskSpec *spec)
{
  g_autoptr (GError) error = NULL;
  char *task_id;

  if (!type_available (r, action, spec->type))
    return NULL;
  task_id = sr_api->create_task (sr_self, spec, sizeof *spec, &error);
  if (task_id == NULL)
    record_failure (r, action, error->message);
  else
    record_task (r, action, spec->type, task_id);
  return task_id;
}

static void
local_action (Response *r, const char *action, const char *type,
              JsonObject *params, const char *name)
{
  g_autoptr (JsonObject) p = params;
  VigilTaskSpec spec = {
    .type = type, .name = name, .device_id = r->event->device_id,
    .params = p, .schedule = "{\"kind\":\"now\"}",
  };

  /* The id is recorded in the response; nothing else needs it here. */
  g_free (create_task (r, action, &spec));
}

static void
local_actions (Response *r)
{
  g_autofree char *qname = g_strdup_printf ("Sandbox response: quarantine %s", r->threat.path);
  g_autofree char *nname = g_strdup_printf ("Sandbox response: notify %s", r->threat.user);
  g_autofree char *sname = g_strdup_printf ("Sandbox response: critical-areas scan (%s)",
                                            r->threat.threat);

  if (r->config.quarantine)
    local_action (r, "quarantine", "quarantine.put",
                  sr_quarantine_params (&r->threat, r->event->id), qname);
  if (r->config.notify_user)
    local_action (r, "notify_user", "notify.user", sr_notify_params (&r->threat), nname);
  if (r->config.critical_scan)
    local_action (r, "critical_scan", "epp.critical_scan",
                  sr_critical_scan_params (&r->threat), sname);
}

/* Actions on IOC finds are done by the ioc-scan plugin through these task
 * types; say now when they cannot happen, the scan itself still runs. */
static void
check_find_actions (Response *r)
{
  if (r->config.quarantine_when_found)
    type_available (r, "quarantine_when_found", "quarantine.put");
  if (r->config.critical_scan_when_found)
    type_available (r, "critical_scan_when_found", "epp.critical_scan");
}

static char *
device_group (Response *r)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) dev = sr_api->get_device (sr_self, r->event->device_id, &error);
  g_autofree char *reason = NULL;

  if (vigil_json_get_string (dev, "group") != NULL)
    return g_strdup (vigil_json_get_string (dev, "group"));
  reason = g_strdup_printf ("the admin group of device '%s' is unknown: %s",
                            r->event->device_id, error ? error->message : "no group");
  record_failure (r, "ioc_scan", reason);
  return NULL;
}

static void
record_duplicate (Response *r, const char *group, const char *task_id)
{
  JsonObject *entry = json_object_new ();

  json_object_set_string_member (entry, "action", "ioc_scan");
  json_object_set_string_member (entry, "type", "ioc.scan");
  json_object_set_string_member (entry, "task_id", task_id);
  json_object_set_boolean_member (entry, "already_pending", TRUE);
  json_array_add_object_element (r->actions, entry);
  sr_api->log (sr_self, G_LOG_LEVEL_INFO, "event %s: the IOC scan of group %s for "
               "%s is already pending (task %s); no second scan",
               r->event->id, group, r->threat.sha256, task_id);
}

static void
group_scan (Response *r, const char *group)
{
  g_autoptr (JsonObject) params = sr_ioc_scan_params (&r->config, &r->threat,
                                                      sr_api->now (sr_self));
  g_autofree char *schedule = sr_schedule_json (&r->config);
  g_autofree char *name = g_strdup_printf ("Sandbox response: IOC scan of group %s "
                                           "for %s (%.12s, account %s)", group,
                                           r->threat.threat, r->threat.sha256,
                                           r->config.account_user);
  VigilTaskSpec spec = {
    .type = "ioc.scan", .name = name, .group_id = group,
    .params = params, .schedule = schedule,
  };
  g_autofree char *task_id = create_task (r, "ioc_scan", &spec);

  if (task_id != NULL)
    sr_pending_add (group, r->threat.sha256, task_id, r->event->id);
}

static void
group_actions (Response *r)
{
  g_autofree char *group = NULL;
  g_autofree char *pending = NULL;

  if (!r->config.ioc_scan)
    return;
  if (!sr_config_has_account (&r->config))
    {
      record_failure (r, "ioc_scan", "no console account for group tasks: set "
                      "sandbox_response.account.user and account.password to an "
                      "account allowed to manage IOC scan tasks");
      return;
    }
  if ((group = device_group (r)) == NULL)
    return;
  pending = sr_pending_find (group, r->threat.sha256);
  if (pending != NULL)
    {
      record_duplicate (r, group, pending);
      return;
    }
  check_find_actions (r);
  if (type_available (r, "ioc_scan", "ioc.scan"))
    group_scan (r, group);
}

static void
save_response (Response *r, const char *skipped)
{
  g_autoptr (JsonNode) doc = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (GError) error = NULL;
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "event_id", r->event->id);
  json_object_set_string_member (o, "device", r->event->device_id);
  json_object_set_string_member (o, "path", r->threat.path);
  json_object_set_string_member (o, "sha256", r->threat.sha256);
  json_object_set_string_member (o, "threat", r->threat.threat);
  if (skipped != NULL)
    json_object_set_string_member (o, "skipped", skipped);
  json_object_set_array_member (o, "actions", json_array_ref (r->actions));
  json_node_take_object (doc, o);
  if (!sr_api->store_put (sr_self, "responses", r->event->id, doc, &error))
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "response to %s not recorded: %s",
                 r->event->id, error->message);
}

/* Reads the payload and the policy; FALSE when nothing is to be done. */
static gboolean
prepare (Response *r)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) settings = NULL;

  if (r->event->device_id == NULL)
    {
      record_failure (r, "validate_payload", "the event names no device");
      return FALSE;
    }
  if (!sr_threat_parse (r->event->payload, r->event->payload_version, &r->threat, &error))
    {
      record_failure (r, "validate_payload", error->message);
      return FALSE;
    }
  settings = sr_api->get_effective_settings (sr_self, r->event->device_id,
                                             "sandbox_response", &error);
  if (settings == NULL)
    {
      record_failure (r, "settings", error->message);
      return FALSE;
    }
  sr_config_from_settings (&r->config, settings);
  return TRUE;
}

void
sr_on_threat_detected (const VigilEvent *event, gpointer user_data)
{
  Response r = { .event = event };

  if (prepare (&r))
    {
      r.actions = json_array_new ();
      if (!r.config.enabled)
        save_response (&r, "threat response is disabled (sandbox_response.threat_response.enabled)");
      else if (r.threat.riskware && !r.config.riskware)
        save_response (&r, "riskware detection is off (sandbox_response.riskware.detect): "
                           "riskware detections get no response");
      else
        {
          local_actions (&r);
          group_actions (&r);
          save_response (&r, NULL);
        }
    }
  g_clear_pointer (&r.actions, json_array_unref);
  sr_threat_clear (&r.threat);
  sr_config_clear (&r.config);
}
