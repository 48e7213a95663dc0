/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy documents against registered sections: messages with JSON paths,
 * suggestions for unknown sections, groups and keys, plugin validate
 * callbacks with prefixed paths, schema versions (older needs import, which
 * migrates; newer is refused), parser limits, and storing policies (replace
 * by name, one active per group, secrets masked on the way out).
 */
#include "data-test.h"

static char *
validate (HostFixture *fx, const char *json)
{
  g_autoptr (JsonObject) doc = t_object (json);
  g_autoptr (JsonArray) problems = vigil_host_validate_policy (fx->host, doc);

  return t_problems (problems);
}

#define DOC(settings) "{\"name\":\"P\",\"group\":\"root\",\"status\":\"active\",\"settings\":" settings "}"

static void
test_valid (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kata\":{\"schema_version\":1,\"connection\":"
                                          "{\"locked\":true,\"values\":{\"sync_period_min\":30}}}}"));
  g_assert_cmpstr (r, ==, "");
}

static void
test_out_of_range (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kata\":{\"connection\":{\"values\":{\"sync_period_min\":90}}}}"));
  g_assert_cmpstr (r, ==, "kata.connection.sync_period_min: 90 is out of range 1–60\n");
}

static void
test_unknown_section_suggests (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kta\":{}}"));
  g_assert_cmpstr (r, ==, "kta: unknown section; did you mean 'kata'?\n");
}

static void
test_unknown_group_suggests (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kata\":{\"conection\":{}}}"));
  g_assert_cmpstr (r, ==, "kata.conection: unknown settings group; did you mean 'connection'?\n");
}

static void
test_unknown_key_suggests (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kata\":{\"connection\":{\"values\":{\"sync_period\":5}}}}"));
  g_assert_cmpstr (r, ==, "kata.connection.sync_period: unknown key; did you mean 'sync_period_min'?\n");
}

static void
test_group_without_wrapper (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kata\":{\"proxy\":{\"use\":true,\"locked\":\"yes\"}}}"));
  g_assert_cmpstr (r, ==,
                   "kata.proxy.use: unknown key (a settings group holds \"locked\" and \"values\")\n"
                   "kata.proxy.locked: expected a boolean\n");
}

static void
test_every_problem_reported (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, "{\"name\":\"\",\"group\":\"a b\",\"status\":\"on\","
                                     "\"color\":1,\"settings\":{\"kata\":{\"proxy\":"
                                     "{\"values\":{\"use\":1}}},\"nope\":{}}}");
  g_assert_cmpstr (r, ==,
                   "color: unknown key\n"
                   "name: is required: a non-empty name of at most 200 characters, without control characters\n"
                   "group: is required: the id of the admin group the policy targets\n"
                   "status: 'on' is not one of: active, inactive, out-of-office\n"
                   "kata.proxy.use: expected a boolean, got an integer\n"
                   "nope: unknown section (no loaded plugin provides it: see `vigil plugins --all`)\n");
}

static void
test_plugin_validate_paths_prefixed (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"ksn\":{\"usage\":{\"values\":{\"enabled\":true}}}}"));
  g_autofree char *ok = validate (fx, DOC ("{\"ksn\":{\"usage\":{\"values\":{\"enabled\":true}},"
                                           "\"statement\":{\"values\":{\"accepted\":true}}}}"));
  g_assert_cmpstr (r, ==, "ksn.usage.enabled: cannot be enabled unless the statement is accepted\n");
  g_assert_cmpstr (ok, ==, "");
}

static void
test_plugin_validate_skipped_on_type_errors (HostFixture *fx, gconstpointer data)
{
  /* The validator reads booleans; it must never see a string there. */
  g_autofree char *r = validate (fx, DOC ("{\"ksn\":{\"usage\":{\"values\":{\"enabled\":\"yes\"}}}}"));
  g_assert_cmpstr (r, ==, "ksn.usage.enabled: expected a boolean, got a string\n");
}

static void
test_missing_group_is_warning (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, "{\"name\":\"P\",\"group\":\"lab\"}");
  g_assert_cmpstr (r, ==, "warning: group: group 'lab' does not exist (add it with `vigil group add`)\n");
}

static void
test_older_version_needs_import (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"legacy\":{\"schema_version\":1,\"scan\":"
                                          "{\"values\":{\"period\":5}}}}"));
  g_assert_cmpstr (r, ==, "legacy.schema_version: written for schema version 1; the section "
                          "is at version 2: use `vigil policy import` to migrate it\n");
}

static void
test_newer_version_refused (HostFixture *fx, gconstpointer data)
{
  g_autofree char *r = validate (fx, DOC ("{\"kata\":{\"schema_version\":3}}"));
  g_assert_cmpstr (r, ==, "kata.schema_version: written for schema version 3, newer than the "
                          "section's 1: upgrade the plugin that provides 'kata'\n");
}

static void
test_import_migrates (HostFixture *fx, gconstpointer data)
{
  g_autoptr (JsonObject) doc = t_object (DOC ("{\"legacy\":{\"schema_version\":1,\"scan\":"
                                              "{\"locked\":true,\"values\":{\"period\":5}}}}"));
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) stored = NULL;
  JsonObject *legacy, *values;

  g_assert_true (vh_policy_apply (fx->host, doc, TRUE, report, NULL, &error));
  g_assert_no_error (error);
  stored = vh_policy_get (fx->host, "P", &error);
  legacy = json_object_get_object_member (json_object_get_object_member (stored, "settings"), "legacy");
  g_assert_cmpint (json_object_get_int_member (legacy, "schema_version"), ==, 2);
  values = json_object_get_object_member (json_object_get_object_member (legacy, "scan"), "values");
  g_assert_cmpint (json_object_get_int_member (values, "period_min"), ==, 5);
  g_assert_false (json_object_has_member (values, "period"));
}

static void
test_import_without_migrate_fails (HostFixture *fx, gconstpointer data)
{
  static const VigilSection old = { .id = "nomig", .schema_version = 2,
                                     .groups = VIGIL_ARRAY (t_legacy_groups) };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = t_object (DOC ("{\"nomig\":{\"schema_version\":1}}"));
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *r = NULL;

  g_assert_true (vh_api ()->register_section (vh_registry_host_plugin (fx->host), &old,
                                              sizeof old, &error));
  g_assert_false (vh_policy_apply (fx->host, doc, TRUE, report, NULL, &error));
  g_assert_no_error (error);
  problems = vh_report_to_json (report);
  r = t_problems (problems);
  g_assert_cmpstr (r, ==, "nomig.schema_version: cannot import version 1: the section 'nomig' "
                          "has no migration from older versions\n");
}

static void
test_parse_limits (void)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autofree char *big = g_strnfill (VH_POLICY_MAX_BYTES + 1, ' ');
  g_autofree char *deep = g_strnfill (200, '[');
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *r = NULL;

  g_assert_null (vh_policy_parse (big, strlen (big), report));
  g_assert_null (vh_policy_parse (deep, strlen (deep), report));
  g_assert_null (vh_policy_parse ("[1]", 3, report));
  problems = vh_report_to_json (report);
  r = t_problems (problems);
  g_assert_nonnull (strstr (r, "policies are limited to 1048576"));
  g_assert_nonnull (strstr (r, "nested deeper than 64 levels"));
  g_assert_nonnull (strstr (r, "a policy is a JSON object"));
}

static void
test_parse_error_has_line (void)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  const char *text = "{\n  \"name\": \"x\",\n  \"group\" \"root\"\n}";
  g_autoptr (JsonArray) problems = NULL;
  const char *msg;

  g_assert_null (vh_policy_parse (text, strlen (text), report));
  problems = vh_report_to_json (report);
  msg = json_object_get_string_member (json_array_get_object_element (problems, 0), "message");
  g_assert_true (g_str_has_prefix (msg, "invalid JSON: "));
  g_assert_nonnull (strstr (msg, "line 3, column 11: expected ':' after a key"));
}

/* What json-glib alone read wrongly (issue #14): a second "group" moved a
 * policy to another group, "victim\u0000evil" replaced policy victim, 010
 * read as 8 and 0x10 as 16, an integer beyond 2^63 wrapped. Each is
 * refused, with line, column and JSON path. */
static void
test_parse_refuses_what_json_glib_misreads (void)
{
  static const struct { const char *text; const char *message; } cases[] = {
    { "{\"name\":\"p\",\"group\":\"root\",\"group\":\"other\"}",
      "invalid JSON: line 1, column 28: duplicate key \"group\" (at $)" },
    { "{\"name\":\"victim\\u0000evil\",\"group\":\"root\"}",
      "invalid JSON: line 1, column 16: \\u0000 (NUL) in a string (at $.name)" },
    { "{\"name\":\"p\",\"settings\":{\"s\":{\"g\":{\"values\":{\"n\":010}}}}}",
      "(at $.settings.s.g.values.n)" },
    { "{\"name\":\"p\",\"settings\":{\"s\":{\"g\":{\"values\":{\"n\":0x10}}}}}",
      "non-standard number '0x10'" },
    { "{\"name\":\"p\",\"settings\":{\"s\":{\"g\":{\"values\":{\"n\":18446744073709551616}}}}}",
      "integer 18446744073709551616 is outside the 64-bit range" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (VigilReport) report = vh_report_new ();
      g_autoptr (JsonArray) problems = NULL;
      g_autoptr (JsonObject) doc = vh_policy_parse (cases[i].text, strlen (cases[i].text), report);
      const char *msg;

      g_assert_null (doc);
      problems = vh_report_to_json (report);
      msg = json_object_get_string_member (json_array_get_object_element (problems, 0), "message");
      g_test_message ("%s", msg);
      g_assert_nonnull (strstr (msg, cases[i].message));
    }
}

static void
test_apply_replaces_same_name (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = NULL;
  g_autoptr (JsonObject) doc = NULL;

  t_apply (fx->host, DOC ("{\"kata\":{\"connection\":{\"values\":{\"sync_period_min\":5}}}}"));
  t_apply (fx->host, DOC ("{\"kata\":{\"connection\":{\"values\":{\"sync_period_min\":6}}}}"));
  list = vh_policy_list (fx->host, &error);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  doc = vh_policy_get (fx->host, "P", &error);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (
          json_object_get_object_member (doc, "settings"), "kata"), "connection"), "values"),
      "sync_period_min"), ==, 6);
}

static void
test_apply_demotes_previous_active (HostFixture *fx, gconstpointer data)
{
  g_autoptr (JsonObject) doc = t_object ("{\"name\":\"B\",\"group\":\"root\"}");
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) a = NULL;
  g_autofree char *demoted = NULL;

  t_apply (fx->host, "{\"name\":\"A\",\"group\":\"root\",\"status\":\"active\"}");
  t_apply (fx->host, "{\"name\":\"Away\",\"group\":\"root\",\"status\":\"out-of-office\"}");
  g_assert_true (vh_policy_apply (fx->host, doc, FALSE, report, &demoted, &error));
  g_assert_cmpstr (demoted, ==, "A");
  a = vh_policy_get (fx->host, "A", &error);
  g_assert_cmpstr (json_object_get_string_member (a, "status"), ==, "inactive");
  g_clear_pointer (&a, json_object_unref);
  a = vh_policy_get (fx->host, "Away", &error);
  g_assert_cmpstr (json_object_get_string_member (a, "status"), ==, "out-of-office");
}

static void
test_apply_unknown_group_fails (HostFixture *fx, gconstpointer data)
{
  g_autoptr (JsonObject) doc = t_object ("{\"name\":\"A\",\"group\":\"ghost\"}");
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *r = NULL;

  g_assert_false (vh_policy_apply (fx->host, doc, FALSE, report, NULL, &error));
  problems = vh_report_to_json (report);
  r = t_problems (problems);
  g_assert_cmpstr (r, ==, "group: group 'ghost' does not exist (add it with `vigil group add`)\n");
}

static void
test_remove (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  t_apply (fx->host, "{\"name\":\"A\",\"group\":\"root\"}");
  g_assert_true (vh_policy_remove (fx->host, "A", &error));
  g_assert_false (vh_policy_remove (fx->host, "A", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

static void
test_show_masks_secrets (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;

  t_apply (fx->host, DOC ("{\"kata\":{\"connection\":{\"values\":{\"password\":\"hunter2\"}}}}"));
  doc = vh_policy_get (fx->host, "P", &error);
  vh_policy_mask_secrets (vh_registry_sections (fx->host), doc);
  node = json_node_init_object (json_node_alloc (), doc);
  text = json_to_string (node, FALSE);
  g_assert_null (strstr (text, "hunter2"));
  g_assert_nonnull (strstr (text, "\"password\":\"********\""));
}

static void
test_show_masks_secrets_of_unloaded_sections (HostFixture *fx, gconstpointer data)
{
  VigilHostOptions options = { sizeof options };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;

  t_apply (fx->host, DOC ("{\"kata\":{\"connection\":{\"values\":{\"password\":\"hunter2\"}}}}"));
  /* Reopen without the plugin that declared the secret. */
  vigil_host_free (fx->host);
  options.state_dir = fx->dir;
  options.skip_install_dir = TRUE;
  fx->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  g_assert_null (vh_registry_section (fx->host, "kata"));
  doc = vh_policy_get_masked (fx->host, "P", &error);
  g_assert_no_error (error);
  node = json_node_init_object (json_node_alloc (), doc);
  text = json_to_string (node, FALSE);
  g_assert_null (strstr (text, "hunter2"));
  g_assert_nonnull (strstr (text, "\"password\":\"********\""));
}

static const char *
stored_password (HostFixture *fx, const char *name)
{
  static char buffer[64];
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = vh_policy_get (fx->host, name, &error);
  JsonObject *o;

  g_assert_no_error (error);
  o = json_object_get_object_member (json_object_get_object_member (doc, "settings"), "kata");
  o = json_object_get_object_member (json_object_get_object_member (o, "connection"), "values");
  g_strlcpy (buffer, json_object_get_string_member (o, "password"), sizeof buffer);
  return buffer;
}

/* An export, edited and applied again under its own name, hands back the
 * mask: the stored secret is kept, not replaced by "********". */
static void
test_masked_secret_kept_for_same_policy (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) shown = NULL;
  g_autoptr (VigilReport) report = vh_report_new ();

  t_apply (fx->host, DOC ("{\"kata\":{\"connection\":{\"values\":{\"password\":\"hunter2\"}}}}"));
  shown = vh_policy_get_masked (fx->host, "P", &error);
  g_assert_no_error (error);
  g_assert_true (vh_policy_apply (fx->host, shown, TRUE, report, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (stored_password (fx, "P"), ==, "hunter2");
}

/* A copy (the export renamed) has no secret of its own to keep: refused,
 * naming the path, instead of storing the mask as the password. */
static void
test_masked_secret_refused_for_copy (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) shown = NULL;
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *text = NULL;

  t_apply (fx->host, DOC ("{\"kata\":{\"connection\":{\"values\":{\"password\":\"hunter2\"}}}}"));
  shown = vh_policy_get_masked (fx->host, "P", &error);
  json_object_set_string_member (shown, "name", "P copy");
  json_object_set_string_member (shown, "status", "inactive");
  g_assert_false (vh_policy_apply (fx->host, shown, TRUE, report, NULL, &error));
  g_assert_no_error (error);
  problems = vh_report_to_json (report);
  text = t_problems (problems);
  g_assert_nonnull (strstr (text, "kata.connection.password: is the mask ******** of an "
                                  "exported secret, not a value"));
  g_assert_null (vh_policy_get (fx->host, "P copy", NULL));
}

static void
test_defaults_document_is_complete (HostFixture *fx, gconstpointer data)
{
  g_autoptr (JsonObject) doc = vh_policy_defaults (vh_registry_sections (fx->host));
  JsonObject *settings = json_object_get_object_member (doc, "settings");
  JsonObject *kata = json_object_get_object_member (settings, "kata");
  JsonObject *conn = json_object_get_object_member (json_object_get_object_member (kata, "connection"), "values");
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *r = NULL;

  g_assert_true (json_object_has_member (settings, "ksn"));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (settings, "legacy"),
                                               "schema_version"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (conn, "sync_period_min"), ==, 15);
  g_assert_true (json_object_has_member (conn, "password"));
  /* The defaults document itself is a valid policy. */
  problems = vigil_host_validate_policy (fx->host, doc);
  r = t_problems (problems);
  g_assert_cmpstr (r, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, HostFixture, NULL, host_setup, fn, host_teardown)
  ADD ("/policy/valid", test_valid);
  ADD ("/policy/out-of-range", test_out_of_range);
  ADD ("/policy/unknown-section-suggests", test_unknown_section_suggests);
  ADD ("/policy/unknown-group-suggests", test_unknown_group_suggests);
  ADD ("/policy/unknown-key-suggests", test_unknown_key_suggests);
  ADD ("/policy/group-without-wrapper", test_group_without_wrapper);
  ADD ("/policy/every-problem-reported", test_every_problem_reported);
  ADD ("/policy/plugin-validate-paths-prefixed", test_plugin_validate_paths_prefixed);
  ADD ("/policy/plugin-validate-skipped-on-type-errors", test_plugin_validate_skipped_on_type_errors);
  ADD ("/policy/missing-group-is-warning", test_missing_group_is_warning);
  ADD ("/policy/older-version-needs-import", test_older_version_needs_import);
  ADD ("/policy/newer-version-refused", test_newer_version_refused);
  ADD ("/policy/import-migrates", test_import_migrates);
  ADD ("/policy/import-without-migrate-fails", test_import_without_migrate_fails);
  g_test_add_func ("/policy/parse-limits", test_parse_limits);
  g_test_add_func ("/policy/parse-error-has-line", test_parse_error_has_line);
  g_test_add_func ("/policy/parse-refuses-what-json-glib-misreads",
                   test_parse_refuses_what_json_glib_misreads);
  ADD ("/policy/apply-replaces-same-name", test_apply_replaces_same_name);
  ADD ("/policy/apply-demotes-previous-active", test_apply_demotes_previous_active);
  ADD ("/policy/apply-unknown-group-fails", test_apply_unknown_group_fails);
  ADD ("/policy/remove", test_remove);
  ADD ("/policy/show-masks-secrets", test_show_masks_secrets);
  ADD ("/policy/show-masks-secrets-of-unloaded-sections", test_show_masks_secrets_of_unloaded_sections);
  ADD ("/policy/defaults-document-is-complete", test_defaults_document_is_complete);
  ADD ("/policy/masked-secret-kept-for-same-policy", test_masked_secret_kept_for_same_policy);
  ADD ("/policy/masked-secret-refused-for-copy", test_masked_secret_refused_for_copy);
#undef ADD
  return g_test_run ();
}
