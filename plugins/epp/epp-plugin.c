/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The epp plugin's registration: the `epp` policy section (which endpoint
 * protection product to drive and how, and where its databases come from),
 * the `epp.critical_scan` task type, whose findings become task findings
 * and `epp.scan_finding` events, and the `epp.update` task type, which
 * updates the device's databases; its task.completed tells the host
 * (`host.database_updated`, so the after_update tasks start). A lab
 * device's scan uses the databases its updates installed. docs/epp.md.
 */
#include <vigil/plugin.h>
#include <vigil/util/json.h>

#include "epp-engine.h"

static const VigilHostApi *vp_api;
static VigilPlugin *vp_self;

/* Reports each bad entry of the list @group.@key (absent: nothing). */
static void
check_list (JsonObject *values, VigilReport *report, const char *group, const char *key,
            gboolean (*check) (const char *, GError **))
{
  JsonObject *g = group ? vigil_json_get_object (values, group) : values;
  JsonNode *node = g ? json_object_get_member (g, key) : NULL;
  JsonArray *a = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autoptr (GError) error = NULL;
      g_autofree char *path = g_strdup_printf ("%s%s%s[%u]", group ? group : "",
                                               group ? "." : "", key, i);

      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
          && !check (json_node_get_string (e), &error))
        vp_api->report_problem (report, VIGIL_SEVERITY_ERROR, path, "%s", error->message);
    }
}

static void
epp_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  g_autofree char *product = vigil_settings_dup_string (&vp_schema, values, "product", "product");
  g_autofree char *cmd = vigil_settings_dup_string (&vp_schema, values, "product", "command");

  if (g_strcmp0 (product, "command") == 0 && (cmd == NULL || *cmd == '\0'))
    vp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "product.command",
                            "required when product is 'command': name the "
                            "scanner program to run");
  check_list (values, report, "update", "mirrors", vp_update_check_mirror);
  check_list (values, report, "update", "custom_urls", vp_update_check_url);
}

/* vp_schema with the cross-field rule; the host keeps the pointer for as
 * long as the plugin is loaded. */
static VigilSection epp_section;

static const VigilField scan_params[] = {
  { .key = "reason", .type = VIGIL_FIELD_STRING, .default_json = "\"\"",
    .description = "Why the scan was asked for (shown in results)." },
};

static void
report_findings (VigilTaskRun *run, JsonArray *findings)
{
  VigilPlugin *self = vp_api->task_plugin (run);

  for (guint i = 0; i < json_array_get_length (findings); i++)
    {
      JsonObject *f = json_array_get_object_element (findings, i);
      g_autoptr (GError) error = NULL;
      g_autofree char *id = NULL;

      vp_api->task_add_finding (run, f);
      id = vp_api->emit_event (self, "epp.scan_finding", vp_api->task_device_id (run),
                               1, f, &error);
      if (id == NULL)
        vp_api->log (self, G_LOG_LEVEL_WARNING, "epp.scan_finding not recorded: %s",
                     error->message);
    }
}

static gboolean
has_database_arg (GStrv args)
{
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    if (g_str_has_prefix (args[i], "--database") || g_str_has_prefix (args[i], "-d"))
      return TRUE;
  return FALSE;
}

/* A lab device scans with the databases epp.update installed for it, once
 * there are some; the machine's own are the product's default folder. An
 * explicit --database in epp.product.args wins. */
static void
use_device_database (VigilPlugin *self, VigilTaskRun *run, VpConfig *config)
{
  const char *root = vp_api->task_device_root (run);
  g_autofree char *dir = NULL;

  if (config->product != VP_PRODUCT_CLAMAV || g_strcmp0 (root, "/") == 0
      || has_database_arg (config->args))
    return;
  dir = vp_update_database_dir (vp_api->data_dir (self), vp_api->task_device_id (run), root);
  if (vp_database_present (dir))
    config->database = g_steal_pointer (&dir);
}

static gboolean
scan_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  VigilPlugin *self = vp_api->task_plugin (run);
  const char *root = vp_api->task_device_root (run);
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (JsonNode) node = NULL;
  VpConfig config = { 0 };
  VpAreas areas = { 0 };

  settings = vp_api->get_effective_settings (self, vp_api->task_device_id (run), "epp", error);
  if (settings == NULL || !vp_config_from_settings (&config, settings, error))
    return FALSE;
  use_device_database (self, run, &config);
  vp_api->task_progress (run, 0.05, "collecting critical areas");
  vp_areas_collect (root, &areas);
  vp_api->task_progress (run, 0.1, "scanning critical areas");
  result = vp_critical_scan (&config, root, &areas, cancellable, error);
  if (result != NULL)
    {
      json_object_set_string_member (result, "reason",
                                     vigil_json_get_string (params, "reason") ?: "");
      if (config.database != NULL)
        json_object_set_string_member (result, "database", config.database);
      report_findings (run, json_object_get_array_member (result, "findings"));
      node = json_node_init_object (json_node_alloc (), result);
      vp_api->task_set_result (run, node);
      vp_api->task_progress (run, 1.0, "critical areas scanned");
    }
  vp_areas_clear (&areas);
  vp_config_clear (&config);
  return result != NULL;
}

static const VigilTaskType critical_scan_type = {
  .id = "epp.critical_scan",
  .title = "Critical-areas scan by the endpoint protection product",
  .description = "Runs the configured product (ClamAV by default) over boot "
                 "files, loaded kernel modules, startup objects and running "
                 "executables; detections become findings and events.",
  .params = VIGIL_ARRAY (scan_params),
  .run = scan_run,
};

/* ---- epp.update ------------------------------------------------------ */

static const char *const update_sources[] = {
  "policy", "official", "private_mirror", "custom", NULL,
};

static const VigilField update_params[] = {
  { .key = "reason", .type = VIGIL_FIELD_STRING, .default_json = "\"\"",
    .description = "Why the update was asked for (shown in results)." },
  { .key = "source", .type = VIGIL_FIELD_ENUM, .default_json = "\"policy\"",
    .enum_values = update_sources,
    .description = "policy: the epp.update settings; or official, "
                   "private_mirror, custom for this task." },
  { .key = "mirrors", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 16,
    .description = "Private mirrors for this task (replace the policy's)." },
  { .key = "custom_urls", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 64,
    .description = "Custom signature URLs for this task (replace the policy's)." },
};

static void
update_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  check_list (params, report, NULL, "mirrors", vp_update_check_mirror);
  check_list (params, report, NULL, "custom_urls", vp_update_check_url);
}

/* The host's proxy for the first place freshclam will fetch from. */
static gboolean
update_proxy (VigilPlugin *self, const char *device_id, const VpUpdateConfig *config,
              char **proxy, GError **error)
{
  const char *url = "https://database.clamav.net/";
  g_autofree char *mirror_url = NULL;
  GError *local = NULL;

  *proxy = NULL;
  if (!config->use_proxy)
    return TRUE;
  if (config->source == VP_SOURCE_PRIVATE)
    url = mirror_url = strstr (config->mirrors[0], "://") ? g_strdup (config->mirrors[0])
                       : g_strdup_printf ("http://%s/", config->mirrors[0]);
  else if (config->source == VP_SOURCE_CUSTOM)
    url = config->custom_urls[0];
  if (g_str_has_prefix (url, "file:"))  /* a folder source: no network */
    return TRUE;
  *proxy = vp_api->resolve_proxy (self, device_id, url, &local);
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, local, "epp.update.use_proxy: ");
      return FALSE;
    }
  return TRUE;
}

/* A completed epp.update tells the host, so the tasks scheduled
 * after_update start. Done on task.completed rather than inside the run,
 * so that it happens where the schedules are: in-process that is this
 * host; in a fleet the run executes on the agent (whose handlers are off)
 * and the console, which holds the tasks, records its task.completed. */
static void
on_task_completed (const VigilEvent *event, gpointer user_data)
{
  g_autoptr (JsonObject) payload = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  const char *device = vigil_json_get_string (event->payload, "device");

  if (g_strcmp0 (vigil_json_get_string (event->payload, "type"), "epp.update") != 0
      || g_strcmp0 (vigil_json_get_string (event->payload, "state"), "completed") != 0)
    return;
  if (!VIGIL_API_HAS (vp_api, database_updated))
    {
      vp_api->log (vp_self, G_LOG_LEVEL_WARNING, "this host has no database_updated "
                   "slot: the after_update tasks are not started");
      return;
    }
  payload = json_object_new ();
  json_object_set_string_member (payload, "product", "clamav");
  json_object_set_string_member (payload, "task_id",
                                 vigil_json_get_string (event->payload, "task_id") ?: "");
  json_object_set_string_member (payload, "completed_event", event->id);
  id = vp_api->database_updated (vp_self, device ? device : event->device_id, payload, &error);
  if (id == NULL)
    vp_api->log (vp_self, G_LOG_LEVEL_WARNING, "host.database_updated not recorded: %s",
                 error->message);
}

static const VigilEventHandler completed_handler = {
  .event_type = "task.completed",
  .handler = on_task_completed,
};

static gboolean
update_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  VigilPlugin *self = vp_api->task_plugin (run);
  const char *device_id = vp_api->task_device_id (run);
  const char *root = vp_api->task_device_root (run);
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autofree char *db_dir = NULL;
  g_autofree char *conf_dir = NULL;
  g_autofree char *conf_name = NULL;
  g_autofree char *conf_path = NULL;
  g_autofree char *proxy = NULL;
  g_autoptr (JsonNode) node = NULL;
  VpUpdateConfig config = { 0 };

  settings = vp_api->get_effective_settings (self, device_id, "epp", error);
  if (settings == NULL)
    return FALSE;
  if (!vp_update_config_load (&config, settings, params, error)
      || !update_proxy (self, device_id, &config, &proxy, error))
    {
      vp_update_config_clear (&config);
      return FALSE;
    }
  db_dir = vp_update_database_dir (vp_api->data_dir (self), device_id, root);
  conf_dir = g_build_filename (vp_api->data_dir (self), "freshclam", NULL);
  conf_name = g_strdup_printf ("%s.conf", g_strcmp0 (root, "/") == 0 ? "machine"
                                          : strrchr (db_dir, '/') + 1);
  conf_path = g_build_filename (conf_dir, conf_name, NULL);
  g_mkdir_with_parents (conf_dir, 0700);
  vp_api->task_progress (run, 0.1, "running freshclam");
  result = vp_update_run (&config, db_dir, conf_path, proxy, cancellable, error);
  vp_update_config_clear (&config);
  if (result == NULL)
    return FALSE;
  json_object_set_string_member (result, "reason",
                                 vigil_json_get_string (params, "reason") ?: "");
  node = json_node_init_object (json_node_alloc (), result);
  vp_api->task_set_result (run, node);
  vp_api->task_progress (run, 1.0, json_object_get_boolean_member (result, "changed")
                                   ? "databases updated" : "databases up to date");
  return TRUE;
}

static const VigilTaskType update_type = {
  .id = "epp.update",
  .title = "Database update of the endpoint protection product",
  .description = "Runs ClamAV's updater (freshclam) for the device against the "
                 "official mirror, private mirrors or custom signature URLs; "
                 "reports what changed; once it completed, the tasks "
                 "scheduled after_update start.",
  .params = VIGIL_ARRAY (update_params),
  .validate = update_validate,
  .run = update_run,
};

static gboolean
epp_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  vp_api = api;
  vp_self = self;
  epp_section = vp_schema;
  epp_section.validate = epp_validate;
  return api->register_section (self, &epp_section, sizeof epp_section, error)
         && api->register_task_type (self, &critical_scan_type, sizeof critical_scan_type, error)
         && api->register_task_type (self, &update_type, sizeof update_type, error)
         && api->register_event_handler (self, &completed_handler, sizeof completed_handler,
                                         error);
}

VIGIL_PLUGIN_DEFINE ("epp", "Endpoint protection adapter", "0.1.0", "LGPL-2.1-or-later",
                     "Runs the endpoint protection product's critical-areas scan and database update.",
                     epp_init, NULL)
