/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The epp plugin's registration: the `epp` policy section (which endpoint
 * protection product to drive and how) and the `epp.critical_scan` task
 * type, whose findings become task findings and `epp.scan_finding` events.
 */
#include <vigil/plugin.h>
#include <vigil/util/json.h>

#include "epp-engine.h"

static const VigilHostApi *vp_api;

static void
epp_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  g_autofree char *product = vigil_settings_dup_string (&vp_schema, values, "product", "product");
  g_autofree char *cmd = vigil_settings_dup_string (&vp_schema, values, "product", "command");

  if (g_strcmp0 (product, "command") == 0 && (cmd == NULL || *cmd == '\0'))
    vp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "product.command",
                            "required when product is 'command': name the "
                            "scanner program to run");
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
  vp_api->task_progress (run, 0.05, "collecting critical areas");
  vp_areas_collect (root, &areas);
  vp_api->task_progress (run, 0.1, "scanning critical areas");
  result = vp_critical_scan (&config, root, &areas, cancellable, error);
  if (result != NULL)
    {
      json_object_set_string_member (result, "reason",
                                     vigil_json_get_string (params, "reason") ?: "");
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

static gboolean
epp_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  vp_api = api;
  epp_section = vp_schema;
  epp_section.validate = epp_validate;
  return api->register_section (self, &epp_section, sizeof epp_section, error)
         && api->register_task_type (self, &critical_scan_type, sizeof critical_scan_type, error);
}

VIGIL_PLUGIN_DEFINE ("epp", "Endpoint protection adapter", "0.1.0", "LGPL-2.1-or-later",
                     "Runs the endpoint protection product's critical-areas scan.",
                     epp_init, NULL)
