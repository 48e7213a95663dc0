/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small plugin for the data module's CLI tests: one section with a
 * range, a list, an enum and a secret, and one at schema version 2 with a
 * migrate callback from version 1 ("period" became "period_min"). Built
 * like any third-party plugin: only vigil/plugin.h.
 */
#include <vigil/plugin.h>

static const char *const dt_modes[] = { "fast", "thorough", NULL };

static const VigilField dt_connection[] = {
  { .key = "sync_period_min", .type = VIGIL_FIELD_INT, .default_json = "15",
    .has_range = TRUE, .min = 1, .max = 60, .description = "Minutes between syncs." },
  { .key = "servers", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .description = "Servers, in fail-over order." },
  { .key = "password", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET,
    .description = "Client certificate password." },
};
static const VigilField dt_scan[] = {
  { .key = "mode", .type = VIGIL_FIELD_ENUM, .enum_values = dt_modes,
    .default_json = "\"fast\"", .description = "Scan depth." },
};
static const VigilSettingsGroup dt_groups[] = {
  { .id = "connection", .title = "Connection", .fields = VIGIL_ARRAY (dt_connection) },
  { .id = "scan", .title = "Scan", .fields = VIGIL_ARRAY (dt_scan) },
};

static const VigilField dt_legacy_fields[] = {
  { .key = "period_min", .type = VIGIL_FIELD_INT, .default_json = "30",
    .has_range = TRUE, .min = 1, .max = 1440, .description = "Period." },
};
static const VigilSettingsGroup dt_legacy_groups[] = {
  { .id = "timer", .title = "Timer", .fields = VIGIL_ARRAY (dt_legacy_fields) },
};

static JsonObject *
dt_migrate (JsonObject *values, guint from_version, gpointer user_data, GError **error)
{
  JsonObject *out = json_object_new ();
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;

  /* Only "timer" changed between versions; its values are rebuilt, so the
   * input (borrowed) is never modified. */
  json_object_iter_init (&iter, values);
  while (json_object_iter_next (&iter, &key, &node))
    if (g_strcmp0 (key, "timer") != 0)
      json_object_set_member (out, key, json_node_copy (node));
  if (json_object_has_member (values, "timer"))
    {
      JsonObject *old = json_object_get_object_member (values, "timer");
      JsonObject *timer = json_object_new ();
      JsonObject *vals = json_object_new ();
      JsonObject *old_vals = json_object_has_member (old, "values")
                               ? json_object_get_object_member (old, "values") : NULL;

      if (json_object_has_member (old, "locked"))
        json_object_set_member (timer, "locked",
                                json_node_copy (json_object_get_member (old, "locked")));
      if (old_vals != NULL && json_object_has_member (old_vals, "period"))
        json_object_set_int_member (vals, "period_min",
                                    json_object_get_int_member (old_vals, "period"));
      json_object_set_object_member (timer, "values", vals);
      json_object_set_object_member (out, "timer", timer);
    }
  return out;
}

static const VigilSection dt_sections[] = {
  { .id = "datatest", .title = "Data test", .schema_version = 1,
    .groups = VIGIL_ARRAY (dt_groups) },
  { .id = "legacy", .title = "Legacy", .schema_version = 2,
    .groups = VIGIL_ARRAY (dt_legacy_groups), .migrate = dt_migrate },
};

static gboolean
dt_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (dt_sections); i++)
    if (!api->register_section (self, &dt_sections[i], sizeof dt_sections[i], error))
      return FALSE;
  return TRUE;
}

/* The second section, "legacy", is a namespace of its own. */
static const char *const dt_namespaces[] = { "legacy", NULL };

VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES ("datatest", "Data test", "1.0", "LGPL-2.1-or-later",
                                     "Sections for the data module's CLI tests", dt_init,
                                     NULL, dt_namespaces)
