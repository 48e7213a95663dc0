/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Effective settings and their origins: defaults, inheritance from the
 * root down (root -> lab -> lab-a), locked groups above beating policies
 * below and local settings, unlocked groups open to local settings,
 * inactive policies ignored, out-of-office policies for devices away.
 */
#include "data-test.h"

static void
effective_setup (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  host_setup (fx, data);
  g_assert_true (vh_inventory_group_add (fx->host, "lab", "Lab", NULL, &error));
  g_assert_true (vh_inventory_group_add (fx->host, "lab-a", "Lab A", "lab", &error));
  g_assert_true (vh_inventory_device_add (fx->host, "pc1", NULL, "lab-a", NULL, &error));
  g_assert_no_error (error);
}

/* "value @ origin" of kata.<group>.<key> for pc1. */
static char *
eff (HostFixture *fx, const char *group, const char *key)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) origins = NULL;
  g_autoptr (JsonObject) values = vh_effective_section (fx->host, "pc1", "kata", &origins, &error);
  g_autofree char *v = NULL;

  g_assert_no_error (error);
  v = json_to_string (json_object_get_member (json_object_get_object_member (values, group), key), FALSE);
  return g_strdup_printf ("%s @ %s", v,
                          json_object_get_string_member (json_object_get_object_member (origins, group), key));
}

#define POLICY(name, group, status, conn) \
  "{\"name\":\"" name "\",\"group\":\"" group "\",\"status\":\"" status "\"," \
  "\"settings\":{\"kata\":{\"connection\":" conn "}}}"

static void
set_local (HostFixture *fx, const char *json)
{
  g_autoptr (JsonObject) local = t_object (json);
  g_autoptr (GError) error = NULL;

  g_assert_true (vh_inventory_device_set_local (fx->host, "pc1", local, &error));
  g_assert_no_error (error);
}

static void
test_defaults_only (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = eff (fx, "connection", "sync_period_min");
  g_autofree char *b = eff (fx, "proxy", "address");

  g_assert_cmpstr (a, ==, "15 @ default");
  g_assert_cmpstr (b, ==, "null @ default");
}

static void
test_closest_unlocked_policy_wins (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL, *b = NULL;

  t_apply (fx->host, POLICY ("Root", "root", "active",
                             "{\"values\":{\"sync_period_min\":10,\"servers\":[\"r\"]}}"));
  t_apply (fx->host, POLICY ("Lab", "lab", "active", "{\"values\":{\"sync_period_min\":20}}"));
  t_apply (fx->host, POLICY ("LabA", "lab-a", "active", "{\"values\":{\"sync_period_min\":30}}"));
  a = eff (fx, "connection", "sync_period_min");
  b = eff (fx, "connection", "servers");
  g_assert_cmpstr (a, ==, "30 @ policy:LabA");
  /* Keys a policy does not name are inherited from above. */
  g_assert_cmpstr (b, ==, "[\"r\"] @ policy:Root");
}

static void
test_locked_above_beats_below (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  t_apply (fx->host, POLICY ("Lab", "lab", "active",
                             "{\"locked\":true,\"values\":{\"sync_period_min\":20}}"));
  t_apply (fx->host, POLICY ("LabA", "lab-a", "active",
                             "{\"locked\":true,\"values\":{\"sync_period_min\":30,\"servers\":[\"x\"]}}"));
  a = eff (fx, "connection", "sync_period_min");
  b = eff (fx, "connection", "servers");
  c = eff (fx, "proxy", "use");
  g_assert_cmpstr (a, ==, "20 @ policy:Lab (locked)");
  /* The lock covers the whole group, named keys or not. */
  g_assert_cmpstr (b, ==, "[] @ policy:Lab (locked)");
  g_assert_cmpstr (c, ==, "false @ default");
}

static void
test_locked_group_overrides_local (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL;

  t_apply (fx->host, POLICY ("Root", "root", "active",
                             "{\"locked\":true,\"values\":{\"sync_period_min\":10}}"));
  set_local (fx, "{\"kata\":{\"connection\":{\"sync_period_min\":45}}}");
  a = eff (fx, "connection", "sync_period_min");
  g_assert_cmpstr (a, ==, "10 @ policy:Root (locked)");
}

static void
test_unlocked_allows_local (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL, *b = NULL;

  t_apply (fx->host, POLICY ("Lab", "lab", "active", "{\"values\":{\"sync_period_min\":20}}"));
  set_local (fx, "{\"kata\":{\"connection\":{\"sync_period_min\":45},\"proxy\":{\"use\":true}}}");
  a = eff (fx, "connection", "sync_period_min");
  b = eff (fx, "proxy", "use");
  g_assert_cmpstr (a, ==, "45 @ local");
  g_assert_cmpstr (b, ==, "true @ local");
}

static void
test_lock_is_per_group (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL, *b = NULL;

  t_apply (fx->host, "{\"name\":\"Root\",\"group\":\"root\",\"settings\":{\"kata\":{"
                     "\"proxy\":{\"locked\":true,\"values\":{\"use\":false}}}}}");
  t_apply (fx->host, POLICY ("LabA", "lab-a", "active", "{\"values\":{\"sync_period_min\":5}}"));
  set_local (fx, "{\"kata\":{\"proxy\":{\"use\":true}}}");
  a = eff (fx, "proxy", "use");
  b = eff (fx, "connection", "sync_period_min");
  g_assert_cmpstr (a, ==, "false @ policy:Root (locked)");
  g_assert_cmpstr (b, ==, "5 @ policy:LabA");
}

/* The worked example of docs/policies.md, value for value. */
static void
test_docs_worked_example (HostFixture *fx, gconstpointer data)
{
  const char *expected[][3] = {
    { "connection", "sync_period_min", "45 @ local" },
    { "connection", "servers", "[\"r\"] @ policy:Root" },
    { "connection", "password", "null @ default" },
    { "proxy", "use", "false @ policy:Root (locked)" },
    { "proxy", "address", "null @ policy:Root (locked)" },
  };

  t_apply (fx->host, "{\"name\":\"Root\",\"group\":\"root\",\"settings\":{\"kata\":{"
                     "\"connection\":{\"values\":{\"servers\":[\"r\"]}},"
                     "\"proxy\":{\"locked\":true,\"values\":{\"use\":false}}}}}");
  t_apply (fx->host, POLICY ("Lab", "lab", "active", "{\"values\":{\"sync_period_min\":20}}"));
  t_apply (fx->host, "{\"name\":\"LabA\",\"group\":\"lab-a\",\"settings\":{\"kata\":{"
                     "\"connection\":{\"values\":{\"sync_period_min\":30}},"
                     "\"proxy\":{\"values\":{\"use\":true}}}}}");
  set_local (fx, "{\"kata\":{\"connection\":{\"sync_period_min\":45},\"proxy\":{\"use\":true}}}");
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *got = eff (fx, expected[i][0], expected[i][1]);
      g_assert_cmpstr (got, ==, expected[i][2]);
    }
}

/* A policy stored before its plugin raised the section's schema version is
 * migrated when effective settings are computed. */
static void
test_stale_policy_migrated (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) origins = NULL;
  g_autoptr (JsonObject) values = NULL;
  sqlite3 *db = vh_store_lock (vh_context (fx->host)->store);

  g_assert_true (vh_store_exec (db,
      "INSERT INTO policies (name, group_id, status, document, updated_us) VALUES ("
      "'Old', 'lab', 'active', '{\"name\":\"Old\",\"group\":\"lab\",\"status\":\"active\","
      "\"settings\":{\"legacy\":{\"schema_version\":1,\"scan\":{\"locked\":true,"
      "\"values\":{\"period\":9}}}}}', 0)", &error));
  vh_store_unlock (vh_context (fx->host)->store);
  values = vh_effective_section (fx->host, "pc1", "legacy", &origins, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (values, "scan"),
                                               "period_min"), ==, 9);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (origins, "scan"),
                                                  "period_min"), ==, "policy:Old (locked)");
}

static void
test_inactive_ignored (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL;

  t_apply (fx->host, POLICY ("Lab", "lab", "inactive",
                             "{\"locked\":true,\"values\":{\"sync_period_min\":20}}"));
  a = eff (fx, "connection", "sync_period_min");
  g_assert_cmpstr (a, ==, "15 @ default");
}

static void
test_out_of_office (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *in = NULL, *away = NULL, *fallback = NULL;

  t_apply (fx->host, POLICY ("Lab", "lab", "active", "{\"values\":{\"sync_period_min\":20}}"));
  t_apply (fx->host, POLICY ("LabAway", "lab", "out-of-office", "{\"values\":{\"sync_period_min\":60}}"));
  t_apply (fx->host, POLICY ("LabA", "lab-a", "active", "{\"values\":{\"servers\":[\"a\"]}}"));
  in = eff (fx, "connection", "sync_period_min");
  g_assert_true (vh_inventory_device_set_out_of_office (fx->host, "pc1", TRUE, &error));
  away = eff (fx, "connection", "sync_period_min");
  /* lab-a has no out-of-office policy: its active one still applies. */
  fallback = eff (fx, "connection", "servers");
  g_assert_cmpstr (in, ==, "20 @ policy:Lab");
  g_assert_cmpstr (away, ==, "60 @ policy:LabAway");
  g_assert_cmpstr (fallback, ==, "[\"a\"] @ policy:LabA");
}

static void
test_unknown_device_and_section (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) v = vh_effective_section (fx->host, "ghost", "kata", NULL, &error);

  g_assert_null (v);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  v = vh_effective_section (fx->host, "pc1", "nope", NULL, &error);
  g_assert_null (v);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

static void
test_plugins_get_secrets (HostFixture *fx, gconstpointer data)
{
  g_autofree char *a = NULL;

  /* Plugins need the real secret; only outputs mask it. */
  t_apply (fx->host, POLICY ("Lab", "lab", "active", "{\"values\":{\"password\":\"pw\"}}"));
  a = eff (fx, "connection", "password");
  g_assert_cmpstr (a, ==, "\"pw\" @ policy:Lab");
}

static void
test_local_settings_checked (HostFixture *fx, gconstpointer data)
{
  g_autoptr (JsonObject) given = t_object ("{\"kata\":{\"connection\":{\"sync_period_min\":99,"
                                           "\"sever\":1}},\"kat\":{}}");
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) out = vh_local_settings_check (vh_registry_sections (fx->host), given, report);
  g_autoptr (JsonArray) problems = vh_report_to_json (report);
  g_autofree char *r = t_problems (problems);

  g_assert_null (out);
  g_assert_cmpstr (r, ==,
                   "kata.connection.sever: unknown key; did you mean 'servers'?\n"
                   "kata.connection.sync_period_min: 99 is out of range 1–60\n"
                   "kat: unknown section; did you mean 'kata'?\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, HostFixture, NULL, effective_setup, fn, host_teardown)
  ADD ("/effective/defaults-only", test_defaults_only);
  ADD ("/effective/closest-unlocked-policy-wins", test_closest_unlocked_policy_wins);
  ADD ("/effective/locked-above-beats-below", test_locked_above_beats_below);
  ADD ("/effective/locked-group-overrides-local", test_locked_group_overrides_local);
  ADD ("/effective/unlocked-allows-local", test_unlocked_allows_local);
  ADD ("/effective/lock-is-per-group", test_lock_is_per_group);
  ADD ("/effective/docs-worked-example", test_docs_worked_example);
  ADD ("/effective/stale-policy-migrated", test_stale_policy_migrated);
  ADD ("/effective/inactive-ignored", test_inactive_ignored);
  ADD ("/effective/out-of-office", test_out_of_office);
  ADD ("/effective/unknown-device-and-section", test_unknown_device_and_section);
  ADD ("/effective/plugins-get-secrets", test_plugins_get_secrets);
  ADD ("/effective/local-settings-checked", test_local_settings_checked);
#undef ADD
  return g_test_run ();
}
