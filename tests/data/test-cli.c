/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The data commands of the real `vigil` binary, run as child processes on a
 * temporary state folder with a test plugin (datatest.so): group and device
 * round trips, policy validate/apply/list/show/remove/import/defaults,
 * effective settings with origins, exit codes and masked secrets.
 */
#include "vt-cli.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  char  *dir;
  char  *state;
  VtCli  r;      /* the last run */
} Cli;

static void
cli_setup (Cli *c, gconstpointer data)
{
  c->dir = g_dir_make_tmp ("vigil-cli-XXXXXX", NULL);
  c->state = g_build_filename (c->dir, "state", NULL);
}

static void
cli_teardown (Cli *c, gconstpointer data)
{
  vt_rm_rf (c->dir);
  g_free (c->dir);
  g_free (c->state);
  vt_cli_clear (&c->r);
}

/* Runs `vigil --state-dir S --plugin-dir P ARGS...` in the test's folder,
 * with the test plugin only; returns the exit code. */
static int
run (Cli *c, ...)
{
  static const char *const only_test_plugin[] = { "VIGIL_PLUGIN_PATH", NULL };
  VtCliSpawn how = { c->dir, NULL, only_test_plugin };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, c->state);
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) g_getenv ("DATATEST_PLUGIN_DIR"));
  va_start (ap, c);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (&c->r, &how, (const char *const *) argv->pdata);
  g_assert_cmpint (c->r.status, >=, 0);
  return c->r.status;
}

#define RUN(c, ...) run (c, __VA_ARGS__, NULL)

static char *
write_file (Cli *c, const char *name, const char *text)
{
  char *path = g_build_filename (c->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static JsonNode *
parse_out (Cli *c)
{
  g_autoptr (GError) error = NULL;
  JsonNode *n = json_from_string (c->r.out, &error);

  g_assert_no_error (error);
  return n;
}

static void
test_group_tree_and_json (Cli *c, gconstpointer data)
{
  g_autoptr (JsonNode) n = NULL;

  g_assert_cmpint (RUN (c, "group", "add", "lab", "--name", "Lab"), ==, 0);
  g_assert_cmpint (RUN (c, "group", "add", "lab-a", "--parent", "lab"), ==, 0);
  g_assert_cmpint (RUN (c, "group", "list"), ==, 0);
  g_assert_cmpstr (c->r.out, ==, "root  (Managed devices)\n"
                               "└── lab  (Lab)\n"
                               "    └── lab-a  (lab-a)\n");
  g_assert_cmpint (RUN (c, "group", "list", "--json"), ==, 0);
  n = parse_out (c);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (n)), ==, 3);
}

static void
test_group_errors (Cli *c, gconstpointer data)
{
  g_assert_cmpint (RUN (c, "group", "add", "a"), ==, 0);
  g_assert_cmpint (RUN (c, "group", "add", "b", "--parent", "a"), ==, 0);
  g_assert_cmpint (RUN (c, "group", "move", "a", "--parent", "b"), ==, 2);
  g_assert_true (g_str_has_prefix (c->r.err, "vigil group: cannot move group 'a' under 'b'"));
  g_assert_cmpint (RUN (c, "group", "remove", "a"), ==, 2);
  g_assert_nonnull (strstr (c->r.err, "is not empty"));
  g_assert_cmpint (RUN (c, "group", "move", "a"), ==, 2);
  g_assert_cmpint (RUN (c, "group", "frobnicate"), ==, 2);
}

static void
test_device_round_trip (Cli *c, gconstpointer data)
{
  g_autoptr (JsonNode) n = NULL;
  JsonObject *d;

  g_assert_cmpint (RUN (c, "group", "add", "lab"), ==, 0);
  g_assert_cmpint (RUN (c, "device", "add", "pc1", "--group", "lab", "--root", "lab/pc1"), ==, 0);
  g_assert_cmpint (RUN (c, "device", "set", "pc1", "--out-of-office", "yes"), ==, 0);
  g_assert_cmpint (RUN (c, "--json", "device", "list", "--group", "lab"), ==, 0);
  n = parse_out (c);
  d = json_array_get_object_element (json_node_get_array (n), 0);
  g_assert_cmpstr (json_object_get_string_member (d, "group_path"), ==, "root/lab");
  g_assert_true (json_object_get_boolean_member (d, "out_of_office"));
  /* A relative root is made absolute against the working folder. */
  g_assert_true (g_path_is_absolute (json_object_get_string_member (d, "root")));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (d, "root"), "/lab/pc1"));
  g_assert_cmpint (RUN (c, "--json", "device", "move", "pc1", "--group", "root"), ==, 0);
  g_clear_pointer (&n, json_node_unref);
  n = parse_out (c);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (n), "group_path"), ==, "root");
  g_assert_cmpint (RUN (c, "device", "remove", "pc1"), ==, 0);
  g_assert_cmpint (RUN (c, "device", "remove", "pc1"), ==, 2);
  g_assert_nonnull (strstr (c->r.err, "device 'pc1' does not exist"));
  g_assert_cmpint (RUN (c, "device", "add", "pc2"), ==, 2);
  g_assert_cmpint (RUN (c, "device", "set", "pc2", "--out-of-office", "maybe"), ==, 2);
}

static const char bad_policy[] =
  "{\"name\":\"Lab\",\"group\":\"lab\",\"settings\":{\"datatest\":{\"connection\":"
  "{\"values\":{\"sync_period_min\":90,\"sync_period\":1}}}}}";

static void
test_policy_validate (Cli *c, gconstpointer data)
{
  g_autofree char *bad = write_file (c, "bad.json", bad_policy);
  g_autofree char *good = write_file (c, "good.json",
                                      "{\"name\":\"Lab\",\"group\":\"root\",\"settings\":{\"datatest\":"
                                      "{\"scan\":{\"values\":{\"mode\":\"thorough\"}}}}}");
  g_autofree char *expected = g_strdup_printf (
      "%s: datatest.connection.sync_period: unknown key; did you mean 'sync_period_min'?\n"
      "%s: datatest.connection.sync_period_min: 90 is out of range 1–60\n"
      "%s: warning: group: group 'lab' does not exist (add it with `vigil group add`)\n",
      bad, bad, bad);
  g_autoptr (JsonNode) n = NULL;

  g_assert_cmpint (RUN (c, "policy", "validate", bad), ==, 1);
  g_assert_cmpstr (c->r.out, ==, expected);
  g_assert_cmpint (RUN (c, "policy", "validate", bad, "--json"), ==, 1);
  n = parse_out (c);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (n), "valid"));
  g_assert_cmpint (RUN (c, "policy", "validate", good), ==, 0);
}

static void
test_policy_syntax_error (Cli *c, gconstpointer data)
{
  g_autofree char *f = write_file (c, "broken.json", "{\n\"name\": \"x\",\n}");

  g_assert_cmpint (RUN (c, "policy", "validate", f), ==, 1);
  g_assert_nonnull (strstr (c->r.out, "invalid JSON: "));
  g_assert_cmpint (RUN (c, "policy", "validate", "/nonexistent/p.json"), ==, 2);
  g_assert_true (g_str_has_prefix (c->r.err, "vigil policy: "));
}

static void
test_policy_apply_list_show_remove (Cli *c, gconstpointer data)
{
  g_autofree char *f = write_file (c, "p.json",
                                   "{\"name\":\"Lab\",\"group\":\"root\",\"settings\":{\"datatest\":"
                                   "{\"connection\":{\"locked\":true,\"values\":{\"password\":\"hunter2\"}}}}}");

  g_assert_cmpint (RUN (c, "policy", "apply", f), ==, 0);
  g_assert_cmpint (RUN (c, "policy", "list"), ==, 0);
  g_assert_nonnull (strstr (c->r.out, "Lab"));
  g_assert_nonnull (strstr (c->r.out, "active"));
  g_assert_cmpint (RUN (c, "policy", "show", "Lab"), ==, 0);
  g_assert_null (strstr (c->r.out, "hunter2"));
  g_assert_nonnull (strstr (c->r.out, "\"********\""));
  g_assert_cmpint (RUN (c, "policy", "remove", "Lab"), ==, 0);
  g_assert_cmpint (RUN (c, "policy", "show", "Lab"), ==, 2);
  g_assert_nonnull (strstr (c->r.err, "policy 'Lab' does not exist"));
}

static void
test_policy_effective (Cli *c, gconstpointer data)
{
  g_autofree char *p = write_file (c, "p.json",
                                   "{\"name\":\"Lab\",\"group\":\"lab\",\"settings\":{\"datatest\":"
                                   "{\"connection\":{\"locked\":true,\"values\":{\"sync_period_min\":5,"
                                   "\"password\":\"hunter2\"}}}}}");
  g_autofree char *local = write_file (c, "local.json",
                                       "{\"datatest\":{\"connection\":{\"sync_period_min\":50},"
                                       "\"scan\":{\"mode\":\"thorough\"}}}");
  g_autoptr (JsonNode) n = NULL;
  JsonObject *sec, *origins, *values;

  g_assert_cmpint (RUN (c, "group", "add", "lab"), ==, 0);
  g_assert_cmpint (RUN (c, "device", "add", "pc1", "--group", "lab"), ==, 0);
  g_assert_cmpint (RUN (c, "policy", "apply", p), ==, 0);
  g_assert_cmpint (RUN (c, "device", "settings", "pc1", local), ==, 0);
  g_assert_nonnull (strstr (c->r.out, "warning: datatest.connection is locked by policy 'Lab'; the local values are ignored"));
  g_assert_null (strstr (c->r.out, "datatest.scan is locked"));
  g_assert_cmpint (RUN (c, "policy", "effective", "--device", "pc1", "--section", "datatest", "--json"), ==, 0);
  g_assert_null (strstr (c->r.out, "hunter2"));
  n = parse_out (c);
  sec = json_object_get_object_member (json_object_get_object_member (json_node_get_object (n), "sections"),
                                       "datatest");
  origins = json_object_get_object_member (sec, "origins");
  values = json_object_get_object_member (sec, "values");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (values, "connection"),
                                               "sync_period_min"), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (origins, "connection"),
                                                  "sync_period_min"), ==, "policy:Lab (locked)");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (origins, "scan"),
                                                  "mode"), ==, "local");
  g_assert_cmpint (RUN (c, "policy", "effective", "--device", "pc1", "--section", "datatest"), ==, 0);
  g_assert_nonnull (strstr (c->r.out, "[policy:Lab (locked)]"));
  g_assert_nonnull (strstr (c->r.out, "\"********\""));
  g_assert_null (strstr (c->r.out, "hunter2"));
  g_assert_cmpint (RUN (c, "policy", "effective", "--device", "ghost"), ==, 2);
  g_assert_cmpint (RUN (c, "policy", "effective"), ==, 2);
}

static void
test_device_settings_checked (Cli *c, gconstpointer data)
{
  g_autofree char *local = write_file (c, "local.json", "{\"datatest\":{\"scan\":{\"mode\":\"slow\"}}}");

  g_assert_cmpint (RUN (c, "device", "add", "pc1", "--group", "root"), ==, 0);
  g_assert_cmpint (RUN (c, "device", "settings", "pc1", local), ==, 1);
  g_assert_nonnull (strstr (c->r.out, "datatest.scan.mode: 'slow' is not one of: fast, thorough"));
}

static void
test_policy_import (Cli *c, gconstpointer data)
{
  g_autofree char *old = write_file (c, "old.json",
                                     "{\"name\":\"Old\",\"group\":\"root\",\"settings\":{\"legacy\":"
                                     "{\"schema_version\":1,\"timer\":{\"values\":{\"period\":7}}}}}");
  g_autoptr (JsonNode) n = NULL;
  JsonObject *legacy;

  g_assert_cmpint (RUN (c, "policy", "validate", old), ==, 1);
  g_assert_nonnull (strstr (c->r.out, "use `vigil policy import` to migrate it"));
  g_assert_cmpint (RUN (c, "policy", "apply", old), ==, 1);
  g_assert_cmpint (RUN (c, "policy", "import", old), ==, 0);
  g_assert_cmpint (RUN (c, "policy", "show", "Old"), ==, 0);
  n = parse_out (c);
  legacy = json_object_get_object_member (json_object_get_object_member (json_node_get_object (n),
                                                                         "settings"), "legacy");
  g_assert_cmpint (json_object_get_int_member (legacy, "schema_version"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
      json_object_get_object_member (legacy, "timer"), "values"), "period_min"), ==, 7);
}

static void
test_policy_defaults_round_trip (Cli *c, gconstpointer data)
{
  g_autofree char *f = NULL;

  g_assert_cmpint (RUN (c, "policy", "defaults"), ==, 0);
  g_assert_nonnull (strstr (c->r.out, "\"sync_period_min\" : 15"));
  f = write_file (c, "defaults.json", c->r.out);
  g_assert_cmpint (RUN (c, "policy", "validate", f), ==, 0);
}

static void
test_usage_errors (Cli *c, gconstpointer data)
{
  g_assert_cmpint (RUN (c, "policy", "bogus"), ==, 2);
  /* After "vigil: a new state in ...": the first command made the state. */
  g_assert_nonnull (strstr (c->r.err, "\nvigil policy: unknown subcommand 'bogus'"));
  g_assert_cmpint (RUN (c, "policy", "validate"), ==, 2);
  g_assert_cmpint (RUN (c, "policy", "show", "a", "b"), ==, 2);
  g_assert_cmpint (RUN (c, "policy", "apply", "--frob", "x"), ==, 2);
  g_assert_cmpint (RUN (c, "policy", "--help"), ==, 0);
  g_assert_cmpint (RUN (c, "policy", "effective", "--help"), ==, 0);
  g_assert_nonnull (strstr (c->r.out, "--device"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("DATATEST_PLUGIN_DIR") == NULL)
    {
      g_printerr ("skipped: DATATEST_PLUGIN_DIR is set by meson test\n");
      return 77;
    }
#define ADD(name, fn) g_test_add (name, Cli, NULL, cli_setup, fn, cli_teardown)
  ADD ("/cli/group-tree-and-json", test_group_tree_and_json);
  ADD ("/cli/group-errors", test_group_errors);
  ADD ("/cli/device-round-trip", test_device_round_trip);
  ADD ("/cli/policy-validate", test_policy_validate);
  ADD ("/cli/policy-syntax-error", test_policy_syntax_error);
  ADD ("/cli/policy-apply-list-show-remove", test_policy_apply_list_show_remove);
  ADD ("/cli/policy-effective", test_policy_effective);
  ADD ("/cli/device-settings-checked", test_device_settings_checked);
  ADD ("/cli/policy-import", test_policy_import);
  ADD ("/cli/policy-defaults-round-trip", test_policy_defaults_round_trip);
  ADD ("/cli/usage-errors", test_usage_errors);
#undef ADD
  return g_test_run ();
}
