/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Namespaces: a plugin owns its id and what its descriptor declares, and
 * registers and emits only there. A second claim of a namespace, a claim
 * of one the host reserves, a look-alike of another plugin's id ('-' and
 * '_' are one character) and a malformed name are refused before init
 * runs, naming the owner. Emitting outside one's namespaces is refused
 * naming both plugins, and a missing task type is explained by the plugin
 * that owns its namespace, never by a guess from plugin names.
 */
#include "core-test.h"

/* Loads the test plugins @ids; init marks land in fx.root/init.log. */
static void
load (CoreFixture *fx, const char *const *ids)
{
  g_autofree char *log = g_build_filename (fx->root, "init.log", NULL);

  g_setenv ("VIGIL_TEST_INIT_LOG", log, TRUE);
  for (const char *const *id = ids; *id != NULL; id++)
    g_free (core_copy_plugin (*id, fx->plugins));
  core_open_host (fx, NULL);
  g_unsetenv ("VIGIL_TEST_INIT_LOG");
}

/* (transfer full) the ids whose init ran, one a line. */
static char *
inits (CoreFixture *fx)
{
  g_autofree char *log = g_build_filename (fx->root, "init.log", NULL);
  char *text = NULL;

  if (!g_file_get_contents (log, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
test_declared_namespace_owns_registrations (void)
{
  CoreFixture fx;
  g_autoptr(JsonObject) info = NULL;
  JsonArray *ns;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "ns_owner", NULL });
  info = core_plugin_info (fx.host, "ns_owner", 0);
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "loaded");
  ns = json_object_get_array_member (info, "namespaces");
  g_assert_cmpuint (json_array_get_length (ns), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (ns, 0), ==, "ns_owner");
  g_assert_cmpstr (json_array_get_string_element (ns, 1), ==, "shared");
  g_assert_nonnull (vh_registry_section (fx.host, "shared"));
  g_assert_nonnull (vh_registry_task_type (fx.host, "shared.run"));
  g_assert_nonnull (vh_registry_command (fx.host, "shared"));
  g_assert_true (vh_namespace_owner (fx.host, "shared") ==
                 vh_registry_find_plugin (fx.host, "ns_owner"));
  core_fixture_clear (&fx);
}

static void
test_second_claim_refused_naming_first (void)
{
  CoreFixture fx;
  g_autofree char *ran = NULL;
  g_autofree char *needle = NULL;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "ns_owner", "ns_second", NULL });
  needle = g_strdup_printf ("the namespace 'shared' already belongs to the plugin 'ns_owner' "
                            "(%s/ns_owner.so), loaded before it", fx.plugins);
  core_assert_refused (fx.host, "ns_second", needle);
  ran = inits (&fx);
  g_assert_cmpstr (ran, ==, "ns_owner\n");
  g_assert_true (vh_registry_task_type (fx.host, "shared.run")->plugin ==
                 vh_registry_find_plugin (fx.host, "ns_owner"));
  core_fixture_clear (&fx);
}

static void
test_reserved_namespace_refused (void)
{
  CoreFixture fx;
  g_autofree char *ran = NULL;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "ns_reserved", NULL });
  core_assert_refused (fx.host, "ns_reserved", "the namespace 'task' is reserved by the host");
  ran = inits (&fx);
  g_assert_cmpstr (ran, ==, "");
  core_fixture_clear (&fx);
}

static void
test_dash_and_underscore_are_one (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "ns_owner", "ns_twin", NULL });
  core_assert_refused (fx.host, "ns_twin", "the namespace 'ns-owner' already belongs to "
                       "the plugin 'ns_owner'");
  core_fixture_clear (&fx);
}

static void
test_malformed_namespace_refused (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "ns_badname", NULL });
  core_assert_refused (fx.host, "ns_badname", "declares the namespace 'Bad Name'");
  core_fixture_clear (&fx);
}

static void
test_emit_outside_own_namespaces (void)
{
  CoreFixture fx;
  VigilPlugin *basic;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  char *none;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "basic", "ns_owner", NULL });
  basic = vh_registry_find_plugin (fx.host, "basic");
  id = vh_api ()->emit_event (basic, "basic.ping", NULL, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);

  none = vh_api ()->emit_event (basic, "shared.hello", NULL, 1, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NAMESPACE);
  g_assert_nonnull (strstr (error->message, "event type 'shared.hello' is in the namespace "
                                            "'shared' of the plugin 'ns_owner' ("));
  g_assert_nonnull (strstr (error->message, "not of the plugin 'basic'"));
  g_clear_error (&error);

  none = vh_api ()->emit_event (basic, "task.completed", NULL, 1, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NAMESPACE);
  g_assert_nonnull (strstr (error->message, "of the host"));
  g_clear_error (&error);

  none = vh_api ()->emit_event (basic, "nobody.knows", NULL, 1, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NAMESPACE);
  g_assert_nonnull (strstr (error->message, "outside the namespaces of the plugin 'basic'"));
  core_fixture_clear (&fx);
}

/* The shipped ioc-scan owns "ioc" though its id is "ioc-scan". */
static void
test_shipped_plugin_declares_its_namespace (void)
{
  CoreFixture fx;
  g_autofree char *dir = g_build_filename (g_getenv ("CORE_TEST_PLUGIN_DIR"), "..", "..",
                                           "..", "plugins", "ioc-scan", NULL);
  g_autoptr(JsonObject) info = NULL;

  core_fixture_init (&fx);
  core_open_host (&fx, (const char *const[]) { dir, NULL });
  info = core_plugin_info (fx.host, "ioc-scan", 0);
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "loaded");
  g_assert_true (vh_namespace_owner (fx.host, "ioc") ==
                 vh_registry_find_plugin (fx.host, "ioc-scan"));
  g_assert_nonnull (vh_registry_task_type (fx.host, "ioc.scan"));
  core_fixture_clear (&fx);
}

static void
test_missing_task_type_names_owner (void)
{
  CoreFixture fx;
  g_autofree char *why = NULL;
  g_autofree char *host_ns = NULL;

  core_fixture_init (&fx);
  load (&fx, (const char *const[]) { "ns_owner", NULL });
  why = vh_registry_explain_missing_task_type (fx.host, "shared.nothing");
  g_assert_cmpstr (why, ==, "task type 'shared.nothing' is not available: the plugin "
                   "'ns_owner' (version 0.1) does not provide it");
  host_ns = vh_registry_explain_missing_task_type (fx.host, "task.nothing");
  g_assert_nonnull (strstr (host_ns, "the namespace 'task' is the host's"));
  core_fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_test_add_func ("/namespaces/declared-namespace-owns-registrations",
                   test_declared_namespace_owns_registrations);
  g_test_add_func ("/namespaces/second-claim-refused-naming-first",
                   test_second_claim_refused_naming_first);
  g_test_add_func ("/namespaces/reserved-namespace-refused-before-init",
                   test_reserved_namespace_refused);
  g_test_add_func ("/namespaces/dash-and-underscore-are-one-character",
                   test_dash_and_underscore_are_one);
  g_test_add_func ("/namespaces/malformed-namespace-refused", test_malformed_namespace_refused);
  g_test_add_func ("/namespaces/emit-outside-own-namespaces-refused",
                   test_emit_outside_own_namespaces);
  g_test_add_func ("/namespaces/shipped-plugin-declares-its-namespace",
                   test_shipped_plugin_declares_its_namespace);
  g_test_add_func ("/namespaces/missing-task-type-names-owner",
                   test_missing_task_type_names_owner);
  return g_test_run ();
}
