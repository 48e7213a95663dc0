/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry and the registration rules: what a good plugin contributes
 * is listed and reachable; structs of another size are normalized (smaller
 * zero-filled, larger accepted only with a zero tail); malformed schemas
 * are refused with messages naming the key; registrations outside init are
 * refused; handlers match by exact type, prefix and "*"; and a missing task
 * type is explained by naming the plugin that owns its namespace.
 */
#include "core-test.h"

static void
assert_strings (JsonObject *info, const char *member, const char *const *expected)
{
  JsonArray *a = json_object_get_array_member (info, member);

  g_assert_cmpuint (json_array_get_length (a), ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_cmpstr (json_array_get_string_element (a, i), ==, expected[i]);
}

static void
test_lists_contributions (void)
{
  CoreFixture fx;
  g_autoptr(JsonObject) info = NULL;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  info = core_plugin_info (fx.host, "basic", 0);
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "loaded");
  g_assert_cmpstr (json_object_get_string_member (info, "version"), ==, "1.2.3");
  g_assert_cmpstr (json_object_get_string_member (info, "license"), ==, "LGPL-2.1-or-later");
  g_assert_cmpstr (json_object_get_string_member (info, "abi"), ==,
                   G_STRINGIFY (VIGIL_ABI_MAJOR) "." G_STRINGIFY (VIGIL_ABI_MINOR));
  g_assert_true (json_object_get_null_member (info, "reason"));
  assert_strings (info, "sections", (const char *const[]) { "basic", NULL });
  assert_strings (info, "task_types", (const char *const[]) { "basic.echo", NULL });
  assert_strings (info, "event_handlers",
                  (const char *const[]) { "sandbox.threat_detected", NULL });
  assert_strings (info, "commands", (const char *const[]) { "basic", NULL });
  g_assert_nonnull (vh_registry_command (fx.host, "basic"));
  core_fixture_clear (&fx);
}

/* The host's copies are of the host's sizes, with the plugin's values. */
static void
test_larger_struct_with_zero_tail (void)
{
  CoreFixture fx;
  const VhSection *s;
  const VhTaskType *t;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("future", fx.plugins));
  core_open_host (&fx, NULL);
  s = vh_registry_section (fx.host, "future");
  g_assert_nonnull (s);
  g_assert_cmpuint (s->section.group_size, ==, sizeof (VigilSettingsGroup));
  g_assert_cmpuint (s->section.groups[0].field_size, ==, sizeof (VigilField));
  g_assert_cmpuint (s->section.groups[0].n_fields, ==, 2);
  g_assert_cmpstr (s->section.groups[0].fields[1].key, ==, "size");
  g_assert_cmpstr (s->section.groups[0].fields[1].default_json, ==, "3");
  t = vh_registry_task_type (fx.host, "future.wait");
  g_assert_nonnull (t);
  g_assert_nonnull (t->type.run);
  core_fixture_clear (&fx);
}

static void
test_larger_struct_with_set_tail (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("future_set", fx.plugins));
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "future_set",
                       "task type 'future_set.wait': VigilTaskType is");
  core_assert_refused (fx.host, "future_set", "the plugin needs a newer Vigil");
  g_assert_null (vh_registry_section (fx.host, "future_set"));
  core_fixture_clear (&fx);
}

/* An older plugin's smaller struct: the fields it lacks read as zero. */
static void
test_smaller_struct_zero_filled (void)
{
  VigilCommand big;
  VigilCommand small = { .name = "old", .summary = "x" };
  g_autoptr(GError) error = NULL;

  memset (&big, 0xAA, sizeof big);
  g_assert_true (vh_copy_struct (&big, sizeof big, &small,
                                 G_STRUCT_OFFSET (VigilCommand, run), "VigilCommand", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (big.name, ==, "old");
  g_assert_null (big.run);
  g_assert_null (big.user_data);
}

static void
test_refuses_enum_without_values (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("bad_enum", fx.plugins));
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "bad_enum",
                       "bad_enum.connection.mode: an enum field needs enum_values");
  core_fixture_clear (&fx);
}

static void
test_refuses_default_out_of_range (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("bad_default", fx.plugins));
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "bad_default",
                       "bad_default.connection.sync_period_min: default 90 is out of "
                       "range 1–60");
  core_fixture_clear (&fx);
}

static void
test_refuses_bad_key (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("bad_key", fx.plugins));
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "bad_key", "invalid key 'syncPeriod'");
  core_fixture_clear (&fx);
}

/* Field checks that need no plugin file. */
static void
test_default_must_fit_type (void)
{
  static const char *const colours[] = { "red", "green", NULL };
  const VigilField cases[] = {
    { .key = "a", .type = VIGIL_FIELD_BOOL, .default_json = "\"yes\"" },
    { .key = "b", .type = VIGIL_FIELD_ENUM, .enum_values = colours, .default_json = "\"blue\"" },
    { .key = "c", .type = VIGIL_FIELD_TIME_OF_DAY, .default_json = "\"24:00\"" },
    { .key = "d", .type = VIGIL_FIELD_PATH, .default_json = "\"relative/x\"" },
    { .key = "e", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_INT,
      .default_json = "[1, \"2\"]" },
    { .key = "f", .type = VIGIL_FIELD_INT, .default_json = "{oops" },
    /* Read strictly (issue #14): json-glib would read 8 and {"a":2}. */
    { .key = "h", .type = VIGIL_FIELD_INT, .default_json = "010" },
    { .key = "i", .type = VIGIL_FIELD_OBJECT, .default_json = "{\"a\":1,\"a\":2}" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *needle = g_strdup_printf ("s.g.%s: default", cases[i].key);

      g_assert_false (vh_validate_fields (&cases[i], 1, "s.g", &error));
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, needle));
    }
}

static void
test_valid_defaults_accepted (void)
{
  static const char *const colours[] = { "red", "green", NULL };
  const VigilField fields[] = {
    { .key = "a", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
    { .key = "b", .type = VIGIL_FIELD_ENUM, .enum_values = colours, .default_json = "\"red\"" },
    { .key = "c", .type = VIGIL_FIELD_TIME_OF_DAY, .default_json = "\"23:59\"" },
    { .key = "d", .type = VIGIL_FIELD_PATH, .default_json = "\"/var/lib/x\"" },
    { .key = "e", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_ENUM,
      .enum_values = colours, .has_range = TRUE, .min = 0, .max = 2,
      .default_json = "[\"red\", \"green\"]" },
    { .key = "f", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET },
    { .key = "g", .type = VIGIL_FIELD_OBJECT, .default_json = "{}" },
  };
  g_autoptr(GError) error = NULL;

  g_assert_true (vh_validate_fields (fields, G_N_ELEMENTS (fields), "s.g", &error));
  g_assert_no_error (error);
}

static void
test_register_outside_init (void)
{
  CoreFixture fx;
  static const VigilCommand late = { .name = "late", .run = NULL };
  VigilPlugin *basic;
  g_autoptr(GError) error = NULL;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  basic = vh_registry_find_plugin (fx.host, "basic");
  g_assert_false (vh_api ()->register_command (basic, &late, sizeof late, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "only accepted during init"));
  g_assert_null (vh_registry_command (fx.host, "late"));
  core_fixture_clear (&fx);
}

static void
on_nothing (const VigilEvent *event, gpointer user_data)
{
}

static void
test_handlers_match (void)
{
  CoreFixture fx;
  VigilPlugin *host_plugin;
  const char *patterns[] = { "quarantine.added", "quarantine.*", "*", "ioc.found" };
  g_autoptr(GPtrArray) added = NULL;
  g_autoptr(GPtrArray) ioc = NULL;
  g_autoptr(GPtrArray) other = NULL;

  guint before_added, before_ioc, before_other;

  core_fixture_init (&fx);
  core_open_host (&fx, NULL);
  host_plugin = vh_registry_host_plugin (fx.host);
  /* The host may have handlers of its own: count what these add. */
  added = vh_registry_handlers_for (fx.host, "quarantine.added");
  ioc = vh_registry_handlers_for (fx.host, "ioc.found");
  other = vh_registry_handlers_for (fx.host, "quarantine");
  before_added = added->len, before_ioc = ioc->len, before_other = other->len;
  g_clear_pointer (&added, g_ptr_array_unref);
  g_clear_pointer (&ioc, g_ptr_array_unref);
  g_clear_pointer (&other, g_ptr_array_unref);
  for (gsize i = 0; i < G_N_ELEMENTS (patterns); i++)
    {
      VigilEventHandler h = { .event_type = patterns[i], .handler = on_nothing };
      g_autoptr(GError) error = NULL;
      g_assert_true (vh_api ()->register_event_handler (host_plugin, &h, sizeof h, &error));
      g_assert_no_error (error);
    }
  added = vh_registry_handlers_for (fx.host, "quarantine.added");
  ioc = vh_registry_handlers_for (fx.host, "ioc.found");
  other = vh_registry_handlers_for (fx.host, "quarantine");
  g_assert_cmpuint (added->len - before_added, ==, 3);
  g_assert_cmpuint (ioc->len - before_ioc, ==, 2);
  /* only "*": "quarantine.*" needs the dot and something after it */
  g_assert_cmpuint (other->len - before_other, ==, 1);
  core_fixture_clear (&fx);
}

static void
test_explain_missing_task_type (void)
{
  CoreFixture fx;
  g_autofree char *conf = NULL;
  g_autofree char *disabled = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *refused = NULL;
  g_autofree char *not_provided = NULL;

  core_fixture_init (&fx);
  g_assert_cmpint (g_mkdir (fx.state, 0700), ==, 0);
  conf = g_build_filename (fx.state, "vigil.conf", NULL);
  g_assert_true (g_file_set_contents (conf, "[plugins]\ndisabled=canary\n", -1, NULL));
  g_free (core_copy_plugin ("canary", fx.plugins));
  g_free (core_copy_plugin ("init-fails", fx.plugins));
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  disabled = vh_registry_explain_missing_task_type (fx.host, "canary.sing");
  missing = vh_registry_explain_missing_task_type (fx.host, "quarantine.put");
  refused = vh_registry_explain_missing_task_type (fx.host, "init.retry");
  not_provided = vh_registry_explain_missing_task_type (fx.host, "basic.nothing");
  g_assert_cmpstr (disabled, ==, "task type 'canary.sing' is not available: the plugin "
                   "'canary' is disabled (vigil plugins enable canary)");
  g_assert_cmpstr (missing, ==, "task type 'quarantine.put' is not available: no installed "
                   "plugin owns the namespace 'quarantine'; disabled plugins, which may "
                   "provide it: canary (vigil plugins enable ID)");
  /* init-fails declares the namespace "init": no guess from its name. */
  g_assert_true (g_str_has_prefix (refused, "task type 'init.retry' is not available: the "
                                   "plugin 'init-fails' was refused: "));
  g_assert_nonnull (strstr (refused, "licence key"));
  g_assert_nonnull (strstr (not_provided, "the plugin 'basic' (version 1.2.3) does not provide it"));
  core_fixture_clear (&fx);
}

/* create_task through the API names the plugin to enable. */
static void
test_create_task_missing_type (void)
{
  CoreFixture fx;
  VigilTaskSpec spec = { .type = "quarantine.put", .device_id = "d1" };
  g_autoptr(GError) error = NULL;
  char *id;

  core_fixture_init (&fx);
  core_open_host (&fx, NULL);
  id = vh_api ()->create_task (vh_registry_host_plugin (fx.host), &spec, sizeof spec, &error);
  g_assert_null (id);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "no installed plugin owns the namespace "
                                            "'quarantine'"));
  core_fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_test_add_func ("/registry/lists-contributions-of-a-good-plugin", test_lists_contributions);
  g_test_add_func ("/registry/accepts-larger-struct-with-zero-tail", test_larger_struct_with_zero_tail);
  g_test_add_func ("/registry/refuses-larger-struct-with-set-tail", test_larger_struct_with_set_tail);
  g_test_add_func ("/registry/zero-fills-smaller-struct", test_smaller_struct_zero_filled);
  g_test_add_func ("/registry/refuses-enum-without-values", test_refuses_enum_without_values);
  g_test_add_func ("/registry/refuses-default-out-of-range", test_refuses_default_out_of_range);
  g_test_add_func ("/registry/refuses-invalid-key", test_refuses_bad_key);
  g_test_add_func ("/registry/default-must-fit-its-type", test_default_must_fit_type);
  g_test_add_func ("/registry/accepts-valid-defaults", test_valid_defaults_accepted);
  g_test_add_func ("/registry/refuses-registration-outside-init", test_register_outside_init);
  g_test_add_func ("/registry/handlers-match-type-prefix-and-star", test_handlers_match);
  g_test_add_func ("/registry/explains-missing-task-type", test_explain_missing_task_type);
  g_test_add_func ("/registry/create-task-names-plugin-to-install", test_create_task_missing_type);
  return g_test_run ();
}
