/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Settings getters with defaults from the schema: a value present is read,
 * an absent or wrongly typed one gives the VigilField's default_json (the
 * only copy of it), integers are clamped into the field's range, a null
 * default reads as unset, and a key the schema does not declare is a
 * programming error.
 */
#include "vigil/util/settings.h"

static const char *const modes[] = { "fast", "slow", NULL };

static const VigilField main_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "true" },
  { .key = "timeout_s", .type = VIGIL_FIELD_INT, .default_json = "10",
    .has_range = TRUE, .min = 1, .max = 120 },
  { .key = "limit", .type = VIGIL_FIELD_INT },
  { .key = "mode", .type = VIGIL_FIELD_ENUM, .default_json = "\"fast\"",
    .enum_values = modes },
  { .key = "folder", .type = VIGIL_FIELD_PATH },
  { .key = "hosts", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[\"a\", \"b\"]" },
};

static const VigilField other_fields[] = {
  { .key = "quiet", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
};

static const VigilSettingsGroup groups[] = {
  { .id = "main", .fields = VIGIL_ARRAY (main_fields) },
  { .id = "other", .fields = VIGIL_ARRAY (other_fields) },
};

static const VigilSection section = {
  .id = "test", .title = "Test", .schema_version = 1, .groups = VIGIL_ARRAY (groups),
};

static JsonObject *
values (const char *json)
{
  g_autoptr (JsonNode) n = json_from_string (json, NULL);

  g_assert_nonnull (n);
  return json_object_ref (json_node_get_object (n));
}

static void
test_defaults_from_schema (void)
{
  g_autoptr (JsonObject) v = values ("{}");
  g_autoptr (JsonNode) hosts = vigil_settings_dup_node (&section, v, "main", "hosts");
  g_autofree char *mode = vigil_settings_dup_string (&section, v, "main", "mode");
  gboolean set = FALSE;

  g_assert_true (vigil_settings_get_bool (&section, v, "main", "enabled"));
  g_assert_cmpint (vigil_settings_get_int (&section, v, "main", "timeout_s", &set), ==, 10);
  g_assert_true (set);
  g_assert_cmpstr (mode, ==, "fast");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (hosts)), ==, 2);
  g_assert_false (vigil_settings_get_bool (&section, NULL, "other", "quiet"));
}

static void
test_values_win (void)
{
  g_autoptr (JsonObject) v = values (
    "{\"main\": {\"enabled\": false, \"timeout_s\": 30, \"mode\": \"slow\","
    " \"folder\": \"/srv/x\", \"hosts\": []}, \"other\": {\"quiet\": true}}");
  g_autoptr (JsonNode) hosts = vigil_settings_dup_node (&section, v, "main", "hosts");
  g_autofree char *mode = vigil_settings_dup_string (&section, v, "main", "mode");
  g_autofree char *folder = vigil_settings_dup_string (&section, v, "main", "folder");

  g_assert_false (vigil_settings_get_bool (&section, v, "main", "enabled"));
  g_assert_cmpint (vigil_settings_get_int (&section, v, "main", "timeout_s", NULL), ==, 30);
  g_assert_cmpstr (mode, ==, "slow");
  g_assert_cmpstr (folder, ==, "/srv/x");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (hosts)), ==, 0);
  g_assert_true (vigil_settings_get_bool (&section, v, "other", "quiet"));
}

static void
test_wrong_type_gives_default (void)
{
  g_autoptr (JsonObject) v = values (
    "{\"main\": {\"enabled\": \"no\", \"timeout_s\": \"30\", \"mode\": 3,"
    " \"hosts\": {}}, \"other\": []}");
  g_autoptr (JsonNode) hosts = vigil_settings_dup_node (&section, v, "main", "hosts");
  g_autofree char *mode = vigil_settings_dup_string (&section, v, "main", "mode");

  g_assert_true (vigil_settings_get_bool (&section, v, "main", "enabled"));
  g_assert_cmpint (vigil_settings_get_int (&section, v, "main", "timeout_s", NULL), ==, 10);
  g_assert_cmpstr (mode, ==, "fast");
  g_assert_true (JSON_NODE_HOLDS_ARRAY (hosts));
  g_assert_false (vigil_settings_get_bool (&section, v, "other", "quiet"));
}

static void
test_int_clamped_to_range (void)
{
  g_autoptr (JsonObject) low = values ("{\"main\": {\"timeout_s\": 0}}");
  g_autoptr (JsonObject) high = values ("{\"main\": {\"timeout_s\": 100000}}");

  g_assert_cmpint (vigil_settings_get_int (&section, low, "main", "timeout_s", NULL), ==, 1);
  g_assert_cmpint (vigil_settings_get_int (&section, high, "main", "timeout_s", NULL), ==, 120);
}

static void
test_null_default_is_unset (void)
{
  g_autoptr (JsonObject) v = values ("{\"main\": {\"limit\": null}}");
  g_autoptr (JsonObject) set_v = values ("{\"main\": {\"limit\": 5}}");
  gboolean set = TRUE;

  g_assert_cmpint (vigil_settings_get_int (&section, v, "main", "limit", &set), ==, 0);
  g_assert_false (set);
  g_assert_null (vigil_settings_dup_string (&section, v, "main", "folder"));
  g_assert_null (vigil_settings_dup_node (&section, v, "main", "folder"));
  g_assert_cmpint (vigil_settings_get_int (&section, set_v, "main", "limit", &set), ==, 5);
  g_assert_true (set);
}

static void
test_field_lookup (void)
{
  const VigilField *f = vigil_settings_field (&section, "other", "quiet");

  g_assert_nonnull (f);
  g_assert_true (f == &other_fields[0]);
  g_assert_null (vigil_settings_field (&section, "other", "enabled"));
  g_assert_null (vigil_settings_field (&section, "nope", "quiet"));
}

static void
test_undeclared_key_is_critical (void)
{
  if (g_test_subprocess ())
    {
      vigil_settings_get_bool (&section, NULL, "main", "typo");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*declares no field main.typo*");
}

static const VigilField params[] = {
  { .key = "title", .type = VIGIL_FIELD_STRING, .default_json = "\"Hello\"" },
  { .key = "count", .type = VIGIL_FIELD_INT, .default_json = "3" },
};

static void
test_task_params_take_defaults (void)
{
  g_autoptr (JsonObject) given = values ("{\"title\": \"Hi\", \"count\": \"x\"}");
  const VigilField *title = vigil_fields_find (VIGIL_ARRAY (params), "title");
  const VigilField *count = vigil_fields_find (VIGIL_ARRAY (params), "count");
  g_autofree char *from_params = vigil_field_dup_string (title, given);
  g_autofree char *from_default = vigil_field_dup_string (title, NULL);
  g_autoptr (JsonNode) n = vigil_field_dup_value (count, given);

  g_assert_null (vigil_fields_find (VIGIL_ARRAY (params), "nope"));
  g_assert_cmpstr (from_params, ==, "Hi");
  g_assert_cmpstr (from_default, ==, "Hello");
  g_assert_cmpint (json_node_get_int (n), ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/settings/absent-values-take-schema-defaults", test_defaults_from_schema);
  g_test_add_func ("/util/settings/present-values-win", test_values_win);
  g_test_add_func ("/util/settings/wrong-type-takes-default", test_wrong_type_gives_default);
  g_test_add_func ("/util/settings/int-clamped-to-field-range", test_int_clamped_to_range);
  g_test_add_func ("/util/settings/null-default-reads-as-unset", test_null_default_is_unset);
  g_test_add_func ("/util/settings/field-lookup", test_field_lookup);
  g_test_add_func ("/util/settings/undeclared-key-is-critical", test_undeclared_key_is_critical);
  g_test_add_func ("/util/settings/task-params-take-defaults", test_task_params_take_defaults);
  return g_test_run ();
}
