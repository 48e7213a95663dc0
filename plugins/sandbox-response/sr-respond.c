/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handler of `sandbox.threat_detected`: validates the payload, reads the
 * detecting device's effective policy and creates the tasks of the
 * configured local actions (for that device) and group actions (one IOC scan
 * of the admin group the policy is configured for). Each action stands
 * alone: a missing task type (its plugin disabled), a missing console
 * account or a host error fails that action with a recorded
 * `response.failed` event and the others still run.
 * What was done for each detection is kept in the document store
 * (collection "responses", keyed by event id); a detection that gets no
 * response on purpose (threat response off, riskware off) is also told
 * with a response.skipped event, which the CLI shows.
 */
#include "sr-plugin.h"

typedef struct {
  const VigilEvent *event;
  SrThreat          threat;
  SrConfig          config;
  JsonArray        *actions;
  char             *quarantine_task; /* the local quarantine, when created */
} Response;

void
sr_emit_failure (const char *event_id, const char *device_id, const char *action,
                 const char *reason)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  json_object_set_string_member (payload, "action", action);
  json_object_set_string_member (payload, "reason", reason);
  json_object_set_string_member (payload, "event_id", event_id);
  sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "event %s: %s failed: %s",
               event_id, action, reason);
  id = sr_api->emit_event (sr_self, "response.failed", device_id, 1, payload, &error);
  if (id == NULL)
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "response.failed not recorded: %s",
                 error->message);
}

static void
record_failure (Response *r, const char *action, const char *reason)
{
  JsonObject *entry = json_object_new ();

  sr_emit_failure (r->event->id, r->event->device_id, action, reason);
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

static char *
local_action (Response *r, const char *action, const char *type,
              JsonObject *params, const char *name)
{
  g_autoptr (JsonObject) p = params;
  VigilTaskSpec spec = {
    .type = type, .name = name, .device_id = r->event->device_id,
    .params = p, .schedule = "{\"kind\":\"now\"}",
  };

  return create_task (r, action, &spec);
}

static void
local_actions (Response *r)
{
  g_autofree char *qname = g_strdup_printf ("Sandbox response: quarantine %s", r->threat.path);
  g_autofree char *nname = g_strdup_printf ("Sandbox response: notify %s", r->threat.user);
  g_autofree char *sname = g_strdup_printf ("Sandbox response: critical-areas scan (%s)",
                                            r->threat.threat);

  /* Only the quarantine's id is needed later (the group scan waits for
   * it); the others are recorded in the response. */
  if (r->config.quarantine)
    r->quarantine_task = local_action (r, "quarantine", "quarantine.put",
                                       sr_quarantine_params (&r->threat, r->event->id), qname);
  if (r->config.notify_user)
    g_free (local_action (r, "notify_user", "notify.user", sr_notify_params (&r->threat), nname));
  if (r->config.critical_scan)
    g_free (local_action (r, "critical_scan", "epp.critical_scan",
                          sr_critical_scan_params (&r->threat), sname));
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

/* The group to scan: "all devices of the administration group for which
 * you are configuring the policy", i.e. the group of the policy that
 * turned group_actions.ioc_scan on for the detecting device, so copies in
 * the sibling subgroups under that policy are hunted too. Turned on by the
 * device's local settings (or on a host without get_effective_origins),
 * there is no such policy: the device's own group. */
static char *
scan_group (Response *r)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) origins = NULL;
  JsonObject *origin;

  if (!VIGIL_API_HAS (sr_api, get_effective_origins))
    return device_group (r);
  origins = sr_api->get_effective_origins (sr_self, r->event->device_id,
                                           "sandbox_response", &error);
  if (origins == NULL)
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "event %s: where the settings of %s come "
                 "from is unknown (%s): scanning its own group", r->event->id,
                 r->event->device_id, error->message);
  origin = vigil_json_get_object (vigil_json_get_object (origins, "group_actions"), "ioc_scan");
  if (g_strcmp0 (vigil_json_get_string (origin, "source"), "policy") == 0
      && vigil_json_get_string (origin, "group") != NULL)
    return g_strdup (vigil_json_get_string (origin, "group"));
  return device_group (r);
}

static void
record_duplicate (Response *r, const char *group, JsonObject *pending)
{
  JsonObject *entry = json_object_new ();
  const char *task_id = vigil_json_get_string (pending, "task_id");

  json_object_set_string_member (entry, "action", "ioc_scan");
  json_object_set_string_member (entry, "type", "ioc.scan");
  json_object_set_string_member (entry, "group", group);
  if (task_id != NULL)
    json_object_set_string_member (entry, "task_id", task_id);
  else
    json_object_set_string_member (entry, "after_task",
                                   vigil_json_get_string (pending, "after_task"));
  json_object_set_boolean_member (entry, "already_pending", TRUE);
  json_array_add_object_element (r->actions, entry);
  sr_api->log (sr_self, G_LOG_LEVEL_INFO, "event %s: the IOC scan of group %s for "
               "%s is already pending (%s %s); no second scan",
               r->event->id, group, r->threat.sha256,
               task_id ? "task" : "after the local quarantine, task",
               task_id ? task_id : vigil_json_get_string (pending, "after_task"));
}

/* The scan to create, kept with a deferred pending entry. */
static JsonObject *
scan_description (Response *r, const char *group)
{
  JsonObject *scan = json_object_new ();
  g_autofree char *schedule = sr_schedule_json (&r->config);
  g_autofree char *name = g_strdup_printf ("Sandbox response: IOC scan of group %s "
                                           "for %s (%.12s, account %s)", group,
                                           r->threat.threat, r->threat.sha256,
                                           r->config.account_user);

  json_object_set_string_member (scan, "group", group);
  json_object_set_string_member (scan, "name", name);
  json_object_set_string_member (scan, "schedule", schedule);
  json_object_set_string_member (scan, "device", r->event->device_id);
  json_object_set_object_member (scan, "params",
                                 sr_ioc_scan_params (&r->config, &r->threat,
                                                     sr_api->now (sr_self)));
  return scan;
}

static char *
create_scan (JsonObject *scan, GError **error)
{
  VigilTaskSpec spec = {
    .type = "ioc.scan", .name = vigil_json_get_string (scan, "name"),
    .group_id = vigil_json_get_string (scan, "group"),
    .params = vigil_json_get_object (scan, "params"),
    .schedule = vigil_json_get_string (scan, "schedule"),
  };

  return sr_api->create_task (sr_self, &spec, sizeof spec, error);
}

/* The detecting device's local quarantine and its own run of the group
 * scan must not race: a scan that reads the object while the quarantine
 * moves it reports a find the quarantine already took care of (and its
 * quarantine of the find fails: the file is gone). So when a local
 * quarantine was created, the scan is created once it has ended
 * (sr_pending_local_ended); until then the entry is pending all the same,
 * so a repeat detection starts no second scan. */
static void
group_scan (Response *r, const char *group)
{
  g_autoptr (JsonObject) scan = scan_description (r, group);
  g_autoptr (GError) error = NULL;
  g_autofree char *task_id = NULL;
  JsonObject *entry;

  if (r->quarantine_task != NULL)
    {
      sr_pending_defer (group, r->threat.sha256, r->event->id, r->quarantine_task, scan);
      entry = json_object_new ();
      json_object_set_string_member (entry, "action", "ioc_scan");
      json_object_set_string_member (entry, "type", "ioc.scan");
      json_object_set_string_member (entry, "group", group);
      json_object_set_string_member (entry, "after_task", r->quarantine_task);
      json_array_add_object_element (r->actions, entry);
      sr_api->log (sr_self, G_LOG_LEVEL_INFO, "event %s: the IOC scan of group %s starts "
                   "after the local quarantine (task %s)", r->event->id, group,
                   r->quarantine_task);
      return;
    }
  task_id = create_scan (scan, &error);
  if (task_id == NULL)
    {
      record_failure (r, "ioc_scan", error->message);
      return;
    }
  record_task (r, "ioc_scan", "ioc.scan", task_id);
  json_object_set_string_member (json_array_get_object_element (r->actions,
                                     json_array_get_length (r->actions) - 1),
                                 "group", group);
  sr_pending_add (group, r->threat.sha256, task_id, r->event->id);
}

/* Adds the created scan (or why it failed) to the detection's record. */
static void
update_response (const char *event_id, const char *task_id, const char *reason)
{
  g_autoptr (JsonNode) doc = sr_api->store_get (sr_self, "responses", event_id, NULL);
  JsonArray *actions;

  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    return;
  actions = vigil_json_get_array (json_node_get_object (doc), "actions");
  for (guint i = 0; actions != NULL && i < json_array_get_length (actions); i++)
    {
      JsonObject *a = json_array_get_object_element (actions, i);
      if (a == NULL || g_strcmp0 (vigil_json_get_string (a, "action"), "ioc_scan") != 0)
        continue;
      if (task_id != NULL)
        json_object_set_string_member (a, "task_id", task_id);
      else
        json_object_set_string_member (a, "error", reason);
    }
  sr_api->store_put (sr_self, "responses", event_id, doc, NULL);
}

char *
sr_start_deferred_scan (JsonObject *entry)
{
  JsonObject *scan = vigil_json_get_object (entry, "scan");
  const char *event_id = vigil_json_get_string (entry, "event_id");
  g_autoptr (GError) error = NULL;
  char *task_id = scan != NULL ? create_scan (scan, &error) : NULL;

  if (task_id == NULL)
    {
      const char *reason = error ? error->message : "the pending scan has no description";
      sr_emit_failure (event_id, vigil_json_get_string (scan, "device"), "ioc_scan", reason);
      update_response (event_id, NULL, reason);
      return NULL;
    }
  sr_api->log (sr_self, G_LOG_LEVEL_INFO, "event %s: local quarantine ended: IOC scan "
               "of group %s -> ioc.scan task %s", event_id,
               vigil_json_get_string (scan, "group"), task_id);
  update_response (event_id, task_id, NULL);
  return task_id;
}

static void
group_actions (Response *r)
{
  g_autofree char *group = NULL;
  g_autoptr (JsonObject) pending = NULL;

  if (!r->config.ioc_scan)
    return;
  if (!sr_config_has_account (&r->config))
    {
      record_failure (r, "ioc_scan", "no console account for group tasks: set "
                      "sandbox_response.account.user and account.password to an "
                      "account allowed to manage IOC scan tasks");
      return;
    }
  if ((group = scan_group (r)) == NULL)
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

/* A detection that gets no response on purpose says why where an admin
 * looks (`vigil events`, what `vigil event emit` prints): a
 * response.skipped event naming the setting, besides the record. */
static void
skip (Response *r, const char *setting, const char *reason)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  save_response (r, reason);
  /* The setting first: `vigil events` shortens long payloads. */
  json_object_set_string_member (payload, "setting", setting);
  json_object_set_string_member (payload, "reason", reason);
  json_object_set_string_member (payload, "event_id", r->event->id);
  sr_api->log (sr_self, G_LOG_LEVEL_INFO, "event %s: no response: %s", r->event->id, reason);
  id = sr_api->emit_event (sr_self, "response.skipped", r->event->device_id, 1, payload, &error);
  if (id == NULL)
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "response.skipped not recorded: %s",
                 error->message);
}

void
sr_on_threat_detected (const VigilEvent *event, gpointer user_data)
{
  Response r = { .event = event };

  if (prepare (&r))
    {
      r.actions = json_array_new ();
      if (!r.config.enabled)
        skip (&r, "sandbox_response.threat_response.enabled",
              "threat response is disabled (sandbox_response.threat_response.enabled)");
      else if (r.threat.riskware && !r.config.riskware)
        skip (&r, "sandbox_response.riskware.detect",
              "riskware detection is off (sandbox_response.riskware.detect): "
              "riskware detections get no response");
      else
        {
          local_actions (&r);
          group_actions (&r);
          save_response (&r, NULL);
        }
    }
  g_clear_pointer (&r.actions, json_array_unref);
  g_free (r.quarantine_task);
  sr_threat_clear (&r.threat);
  sr_config_clear (&r.config);
}
