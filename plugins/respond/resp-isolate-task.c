/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * network.isolate and network.release, the `respond` policy section that
 * configures them, and what keeps an isolation true across restarts: each
 * isolation is recorded in the plugin's store (collection "isolation",
 * key = device) before it is reported, so that at every start the plugin
 * re-applies an isolation the kernel lost (a reboot) and ends one whose
 * period is over; a long-running process (serve, agent) also ends it on
 * time with a timer. Isolation acts on the network of the machine that
 * runs the task, so only a device without a root folder (this machine, or
 * an agent's own device) can be isolated. The agent's connection to the
 * console's broker stays open: `vigil agent` names it in
 * VIGIL_MANAGEMENT_ENDPOINTS ("HOST:PORT,...") for its plugins.
 */
#include "resp-isolate-task.h"

#include <string.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>

#include "resp-file-get.h"
#include "resp-file-delete-task.h"
#include "resp-isolation.h"

static const VigilHostApi *ri_api;
static VigilPlugin *ri_self;

/* ---- the policy section ------------------------------------------- */

static const VigilField isolation_fields[] = {
  { .key = "period_minutes", .type = VIGIL_FIELD_INT, .default_json = "480",
    .has_range = TRUE, .min = 1, .max = 43200,
    .description = "Isolation ends by itself after this many minutes (default 8 hours)." },
  { .key = "allow_dns", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Let the isolated device resolve names (DNS, port 53)." },
  { .key = "allow_dhcp", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Let the isolated device renew its address (DHCP and DHCPv6)." },
  { .key = "exclusions", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_OBJECT,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 256,
    .description = "Traffic still allowed: {\"address\": IP or CIDR, \"port\", "
                   "\"protocol\": tcp|udp|any, \"direction\": inbound|outbound|both}." },
};

static const VigilField automatic_fields[] = {
  { .key = "on_sandbox_detection", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Isolate a device when the sandbox reports a threat on it." },
  { .key = "on_ioc_found", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Isolate a device when an IOC scan finds an indicator on it." },
};

static const VigilSettingsGroup respond_groups[] = {
  { .id = "network_isolation", .title = "Network isolation", .fields = VIGIL_ARRAY (isolation_fields) },
  { .id = "automatic_isolation", .title = "Automatic isolation", .fields = VIGIL_ARRAY (automatic_fields) },
  { .id = "get_file", .title = "Get file", .fields = VIGIL_ARRAY (resp_get_file_fields) },
  { .id = "file_deletion", .title = "Delete file", .fields = VIGIL_ARRAY (resp_delete_settings) },
};

static void
exclusions_check (JsonArray *list, const char *where, VigilReport *report)
{
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *n = json_array_get_element (list, i);
      g_autofree char *path = g_strdup_printf ("%s[%u]", where, i);
      g_autoptr (GError) error = NULL;
      RespAllow *a;

      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          ri_api->report_problem (report, VIGIL_SEVERITY_ERROR, path, "must be an object");
          continue;
        }
      a = resp_allow_parse (json_node_get_object (n), path, &error);
      if (a == NULL)
        ri_api->report_problem (report, VIGIL_SEVERITY_ERROR, path, "%s", error->message);
      resp_allow_free (a);
    }
}

static void
section_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  JsonObject *g = vigil_json_get_object (values, "network_isolation");

  if (g != NULL && json_object_has_member (g, "exclusions")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (g, "exclusions")))
    exclusions_check (json_object_get_array_member (g, "exclusions"),
                      "network_isolation.exclusions", report);
  resp_delete_section_validate (values, report);
}

static const VigilSection respond_section = {
  .id = "respond",
  .title = "Response actions",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (respond_groups),
  .validate = section_validate,
};

/* ---- the task types ----------------------------------------------- */

const VigilField resp_isolate_params[RESP_N_ISOLATE_PARAMS] = {
  { .key = "minutes", .type = VIGIL_FIELD_INT, .has_range = TRUE, .min = 1, .max = 43200,
    .description = "How long the isolation lasts (default: the policy's period_minutes)." },
  { .key = "exclusions", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_OBJECT,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 256,
    .description = "Traffic allowed besides the policy's exclusions (same form)." },
};

void
resp_isolate_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  if (json_object_has_member (params, "exclusions")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (params, "exclusions")))
    exclusions_check (json_object_get_array_member (params, "exclusions"), "exclusions", report);
}

static gboolean
machine_device (VigilTaskRun *run, GError **error)
{
  const char *root = ri_api->task_device_root (run);

  if (strcmp (root, "/") == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "device '%s' has the root folder %s: isolation acts on the network of the "
               "machine that runs the task, so only a device without a root folder (this "
               "machine, or an agent's own device) can be isolated",
               ri_api->task_device_id (run), root);
  return FALSE;
}

static gboolean
add_exclusions (RespIsolation *iso, JsonArray *list, const char *where, GError **error)
{
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s[%u]", where, i);
      JsonObject *o = json_array_get_object_element (list, i);
      RespAllow *a = o != NULL ? resp_allow_parse (o, path, error) : NULL;

      if (a == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: must be an object", path);
          return FALSE;
        }
      g_ptr_array_add (iso->allows, a);
    }
  return TRUE;
}

/* The isolation a record describes (see record_new). */
static RespIsolation *
isolation_from_record (JsonObject *record, GError **error)
{
  g_autoptr (RespIsolation) iso = g_new0 (RespIsolation, 1);
  const char *management = vigil_json_get_string (record, "management");

  iso->allows = g_ptr_array_new_with_free_func ((GDestroyNotify) resp_allow_free);
  iso->allow_dns = vigil_json_get_bool (record, "allow_dns", TRUE);
  iso->allow_dhcp = vigil_json_get_bool (record, "allow_dhcp", TRUE);
  if (!add_exclusions (iso, vigil_json_get_array (record, "exclusions"), "exclusions", error))
    return NULL;
  if (management != NULL && !resp_isolation_add_management (iso, management, error))
    return NULL;
  return g_steal_pointer (&iso);
}

static void
emit (const char *type, const char *device, JsonObject *payload)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = ri_api->emit_event (ri_self, type, device, 1, payload, &error);

  if (id == NULL)
    ri_api->log (ri_self, G_LOG_LEVEL_WARNING, "%s for %s not recorded: %s", type, device,
                 error->message);
}

static void
set_result (VigilTaskRun *run, JsonObject *result)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), result);

  ri_api->task_set_result (run, node);
}

static char *
iso8601 (gint64 us)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);

  return g_date_time_format_iso8601 (t);
}

static void schedule_expiry (const char *device, gint64 until);

static gboolean
isolate_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
             gpointer user_data, GError **error)
{
  const char *device = ri_api->task_device_id (run);
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (JsonObject) record = json_object_new ();
  g_autoptr (JsonArray) exclusions = json_array_new ();
  g_autoptr (RespIsolation) iso = NULL;
  g_autoptr (JsonObject) result = json_object_new ();
  g_autoptr (JsonObject) payload = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *until_text = NULL;
  const char *management = g_getenv ("VIGIL_MANAGEMENT_ENDPOINTS");
  JsonArray *list;
  gint64 minutes, until;

  if (!machine_device (run, error))
    return FALSE;
  settings = ri_api->get_effective_settings (ri_self, device, "respond", error);
  if (settings == NULL)
    return FALSE;
  minutes = json_object_has_member (params, "minutes") && !json_object_get_null_member (params, "minutes")
              ? json_object_get_int_member (params, "minutes")
              : vigil_settings_get_int (&respond_section, settings, "network_isolation",
                                        "period_minutes", NULL);
  /* One list: the policy's exclusions, then the task's. */
  for (int pass = 0; pass < 2; pass++)
    {
      list = pass == 0 ? vigil_json_get_array (vigil_json_get_object (settings, "network_isolation"),
                                               "exclusions")
                       : vigil_json_get_array (params, "exclusions");
      for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
        json_array_add_element (exclusions, json_node_copy (json_array_get_element (list, i)));
    }
  until = ri_api->now (ri_self) + minutes * 60 * G_USEC_PER_SEC;
  json_object_set_int_member (record, "until", until);
  json_object_set_boolean_member (record, "allow_dns",
                                  vigil_settings_get_bool (&respond_section, settings,
                                                           "network_isolation", "allow_dns"));
  json_object_set_boolean_member (record, "allow_dhcp",
                                  vigil_settings_get_bool (&respond_section, settings,
                                                           "network_isolation", "allow_dhcp"));
  json_object_set_array_member (record, "exclusions", json_array_ref (exclusions));
  if (management != NULL)
    json_object_set_string_member (record, "management", management);
  if ((iso = isolation_from_record (record, error)) == NULL)
    return FALSE;
  ri_api->task_progress (run, 0.2, "isolating the device");
  /* Recorded first: an isolation applied but not recorded would outlive
   * its period after a restart. */
  node = json_node_init_object (json_node_alloc (), record);
  if (!ri_api->store_put (ri_self, "isolation", device, node, error))
    return FALSE;
  if (!resp_nft_apply (iso, error))
    {
      ri_api->store_delete (ri_self, "isolation", device, NULL);
      return FALSE;
    }
  schedule_expiry (device, until);
  until_text = iso8601 (until);
  json_object_set_boolean_member (result, "isolated", TRUE);
  json_object_set_string_member (result, "until", until_text);
  json_object_set_int_member (result, "minutes", minutes);
  json_object_set_int_member (result, "allowed_flows", iso->allows->len);
  json_object_set_boolean_member (result, "management_kept", management != NULL);
  payload = json_object_ref (result);
  emit ("network.isolated", device, payload);
  set_result (run, result);
  ri_api->task_progress (run, 1.0, "isolated");
  return TRUE;
}

/* Ends @device's isolation; @reason is "manual" or "expired". */
static gboolean
release (const char *device, const char *reason, GError **error)
{
  g_autoptr (JsonObject) payload = json_object_new ();

  if (!resp_nft_remove (error))
    return FALSE;
  if (!ri_api->store_delete (ri_self, "isolation", device, error))
    return FALSE;
  json_object_set_string_member (payload, "reason", reason);
  emit ("network.released", device, payload);
  return TRUE;
}

static gboolean
release_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
             gpointer user_data, GError **error)
{
  const char *device = ri_api->task_device_id (run);
  g_autoptr (JsonNode) record = NULL;
  g_autoptr (JsonObject) result = json_object_new ();

  if (!machine_device (run, error))
    return FALSE;
  record = ri_api->store_get (ri_self, "isolation", device, NULL);
  if (!release (device, "manual", error))
    return FALSE;
  json_object_set_boolean_member (result, "was_isolated", record != NULL);
  set_result (run, result);
  return TRUE;
}

/* ---- restarts, reboots and the end of the period --------------------- */

static gboolean
expiry_due (gpointer data)
{
  const char *device = data;
  g_autoptr (JsonNode) record = ri_api->store_get (ri_self, "isolation", device, NULL);
  g_autoptr (GError) error = NULL;

  if (record == NULL || !JSON_NODE_HOLDS_OBJECT (record))
    return G_SOURCE_REMOVE;
  if (vigil_json_get_int_or (json_node_get_object (record), "until", 0) > ri_api->now (ri_self))
    return G_SOURCE_CONTINUE;   /* extended by a later isolate: look again */
  if (!release (device, "expired", &error))
    ri_api->log (ri_self, G_LOG_LEVEL_WARNING, "ending the isolation of %s: %s", device,
                 error->message);
  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (const char *device, gint64 until)
{
  gint64 left = (until - ri_api->now (ri_self)) / G_USEC_PER_SEC + 1;

  /* On the default context: only a process that runs a main loop (serve,
   * agent) fires it; any other process ends an expired isolation at its
   * next start. Checked every minute at most, so a clock change is seen. */
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, (guint) CLAMP (left, 1, 60), expiry_due,
                              g_strdup (device), g_free);
}

static void
restore_isolations (void)
{
  g_autoptr (JsonObject) all = ri_api->store_list (ri_self, "isolation", NULL);
  g_autoptr (GList) devices = all != NULL ? json_object_get_members (all) : NULL;

  for (GList *l = devices; l != NULL; l = l->next)
    {
      const char *device = l->data;
      JsonObject *record = vigil_json_get_object (all, device);
      g_autoptr (GError) error = NULL;
      g_autoptr (RespIsolation) iso = NULL;
      gint64 until = record != NULL ? vigil_json_get_int_or (record, "until", 0) : 0;

      if (until <= ri_api->now (ri_self))
        {
          if (!release (device, "expired", &error))
            ri_api->log (ri_self, G_LOG_LEVEL_WARNING, "ending the expired isolation of %s: %s",
                         device, error->message);
          continue;
        }
      if (!resp_nft_present ())
        {
          /* The kernel lost it (a reboot): the device is still isolated. */
          if ((iso = isolation_from_record (record, &error)) == NULL || !resp_nft_apply (iso, &error))
            ri_api->log (ri_self, G_LOG_LEVEL_WARNING, "re-applying the isolation of %s: %s",
                         device, error->message);
          else
            ri_api->log (ri_self, G_LOG_LEVEL_INFO, "the isolation of %s re-applied", device);
        }
      schedule_expiry (device, until);
    }
}

/* ---- automatic isolation --------------------------------------------- */

static void
auto_isolate (const VigilEvent *event, gpointer user_data)
{
  const char *key = user_data;
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *name = NULL;
  VigilTaskSpec spec = { 0 };

  if (event->device_id == NULL)
    return;
  settings = ri_api->get_effective_settings (ri_self, event->device_id, "respond", NULL);
  if (settings == NULL
      || !vigil_settings_get_bool (&respond_section, settings, "automatic_isolation", key))
    return;
  name = g_strdup_printf ("Automatic isolation after %s (event %s)", event->type, event->id);
  spec = (VigilTaskSpec){ .type = "network.isolate", .name = name,
                          .device_id = event->device_id, .schedule = "{\"kind\":\"now\"}" };
  id = ri_api->create_task (ri_self, &spec, sizeof spec, &error);
  if (id == NULL)
    ri_api->log (ri_self, G_LOG_LEVEL_WARNING, "automatic isolation of %s: %s",
                 event->device_id, error->message);
}

static const VigilEventHandler on_sandbox = {
  .event_type = "sandbox.threat_detected", .handler = auto_isolate,
  .user_data = (gpointer) "on_sandbox_detection",
};
static const VigilEventHandler on_ioc = {
  .event_type = "ioc.found", .handler = auto_isolate, .user_data = (gpointer) "on_ioc_found",
};

static const VigilTaskType isolate_type = {
  .id = "network.isolate",
  .title = "Network isolation",
  .description = "Cuts the device off the network except loopback, the management "
                 "connection, DNS/DHCP if the policy allows them and the exclusions; "
                 "ends by itself after the policy's period.",
  .params = VIGIL_ARRAY (resp_isolate_params),
  .validate = resp_isolate_validate,
  .run = isolate_run,
};

static const VigilTaskType release_type = {
  .id = "network.release",
  .title = "End network isolation",
  .description = "Ends the device's network isolation now.",
  .run = release_run,
};

/* Named like the task type: ending an isolation needs the password. */
static const VigilProtectedAction release_action = {
  .id = "network.release",
  .description = "End a device's network isolation (task)",
};

gboolean
resp_isolation_register (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  ri_api = api;
  ri_self = self;
  if (!api->register_section (self, &respond_section, sizeof respond_section, error)
      || !api->register_task_type (self, &isolate_type, sizeof isolate_type, error)
      || !api->register_task_type (self, &release_type, sizeof release_type, error)
      || !api->register_protected_action (self, &release_action, sizeof release_action, error)
      || !api->register_event_handler (self, &on_sandbox, sizeof on_sandbox, error)
      || !api->register_event_handler (self, &on_ioc, sizeof on_ioc, error))
    return FALSE;
  restore_isolations ();
  return TRUE;
}
