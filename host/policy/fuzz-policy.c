/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the policy document parser and checker: every input
 * is parsed with the size and depth limits, checked (plain and as an
 * import, which runs a migrate callback) against a static schema with each
 * field type, a validate callback and a secret, then masked; its settings
 * are also checked as local device settings. No host or plugins are
 * involved, so the target is fast and deterministic.
 */
#include "policy.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const f_modes[] = { "fast", "thorough", NULL };

static const VigilField f_conn[] = {
  { .key = "sync_period_min", .type = VIGIL_FIELD_INT, .default_json = "15",
    .has_range = TRUE, .min = 1, .max = 60 },
  { .key = "servers", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 8 },
  { .key = "password", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET },
  { .key = "mode", .type = VIGIL_FIELD_ENUM, .enum_values = f_modes, .default_json = "\"fast\"" },
};
static const VigilField f_sched[] = {
  { .key = "start", .type = VIGIL_FIELD_TIME_OF_DAY, .default_json = "\"20:00\"" },
  { .key = "folder", .type = VIGIL_FIELD_PATH, .default_json = "\"/var/tmp\"" },
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "true" },
  { .key = "extra", .type = VIGIL_FIELD_OBJECT, .default_json = "{}" },
  { .key = "ports", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_INT, .default_json = "[]" },
  { .key = "name", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .default_json = "\"x\"" },
};
static const VigilSettingsGroup f_groups[] = {
  { .id = "connection", .fields = VIGIL_ARRAY (f_conn) },
  { .id = "schedule", .fields = VIGIL_ARRAY (f_sched) },
};

/* Reads what the generic checks guarantee, like a real validator. */
static void
f_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  JsonObject *c = json_object_get_object_member (values, "connection");

  if (json_object_get_int_member (c, "sync_period_min") > 30 &&
      json_array_get_length (json_object_get_array_member (c, "servers")) == 0)
    vh_report_add (report, VIGIL_SEVERITY_ERROR, "connection.servers", "needs a server");
}

static JsonObject *
f_migrate (JsonObject *values, guint from_version, gpointer user_data, GError **error)
{
  if (from_version == 1 && json_object_has_member (values, "old"))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED, "'old' is gone");
      return NULL;
    }
  return vh_json_object_copy (values);
}

static VhSection f_sections[] = {
  { NULL, { .id = "kata", .schema_version = 2, .groups = VIGIL_ARRAY (f_groups),
            .validate = f_validate, .migrate = f_migrate } },
  { NULL, { .id = "ksn", .schema_version = 1, .groups = VIGIL_ARRAY (f_groups) } },
};

static void
check_once (GPtrArray *sections, JsonObject *doc, gboolean import)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) norm = vh_policy_check (sections, doc, import, report);
  g_autoptr (JsonArray) problems = vh_report_to_json (report);

  /* Invariants: a document is accepted exactly when no error was found,
   * and every problem has a path and a message. */
  if ((norm == NULL) != vh_report_has_errors (report))
    abort ();
  for (guint i = 0; i < json_array_get_length (problems); i++)
    if (!json_object_has_member (json_array_get_object_element (problems, i), "message"))
      abort ();
  if (norm != NULL)
    vh_policy_mask_secrets (sections, norm);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) sections = g_ptr_array_new ();
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) doc = NULL;
  JsonNode *settings;

  for (guint i = 0; i < G_N_ELEMENTS (f_sections); i++)
    g_ptr_array_add (sections, &f_sections[i]);
  doc = vh_policy_parse ((const char *) data, size, report);
  if (doc == NULL)
    return 0;
  check_once (sections, doc, FALSE);
  check_once (sections, doc, TRUE);
  settings = json_object_get_member (doc, "settings");
  if (settings != NULL && JSON_NODE_HOLDS_OBJECT (settings))
    {
      g_autoptr (VigilReport) local_report = vh_report_new ();
      g_autoptr (JsonObject) local = vh_local_settings_check (sections, json_node_get_object (settings),
                                                              local_report);
      if ((local == NULL) != vh_report_has_errors (local_report))
        abort ();
    }
  return 0;
}
