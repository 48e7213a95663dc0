/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host object: a private state folder (default under XDG_DATA_HOME),
 * the order of plugin folders, the injectable clock, private plugin data
 * folders, and loading plugins only once.
 */
#include "core-test.h"
#include "api/api-private.h"

#include <glib/gstdio.h>

static gint64
fixed_clock (gpointer user_data)
{
  return *(gint64 *) user_data;
}

/* Runs first: GLib caches the XDG folders on first use. */
static void
test_default_state_dir (void)
{
  g_autofree char *root = g_dir_make_tmp ("vigil-xdg-XXXXXX", NULL);
  g_autofree char *expected = g_build_filename (root, "vigil", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(VigilHost) host = NULL;
  VigilHostOptions options = { sizeof options, .skip_install_dir = TRUE };

  g_setenv ("XDG_DATA_HOME", root, TRUE);
  host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (vigil_host_state_dir (host), ==, expected);
  g_assert_true (g_file_test (expected, G_FILE_TEST_IS_DIR));
  g_clear_pointer (&host, vigil_host_free);
  vt_rm_rf (root);
}

static void
test_state_dir_private (void)
{
  CoreFixture fx;
  GStatBuf st;

  core_fixture_init (&fx);
  g_free (fx.state);
  fx.state = g_build_filename (fx.root, "deep", "er", "state", NULL);
  core_open_host (&fx, NULL);
  g_assert_cmpint (g_stat (fx.state, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  core_fixture_clear (&fx);
}

/* --plugin-dir, then VIGIL_PLUGIN_PATH, then the config, then the install
 * folder; the same folder twice counts once. */
static void
test_plugin_folder_order (void)
{
  CoreFixture fx;
  g_autofree char *conf = NULL;
  g_autoptr(GError) error = NULL;
  VigilHostOptions options = { sizeof options };
  const char *const opt_dirs[] = { "/opt/a", "/opt/b", NULL };
  const char *expected[] = { "/opt/a", "/opt/b", "/env/c", "/conf/d", VIGIL_PLUGINDIR };

  core_fixture_init (&fx);
  g_assert_cmpint (g_mkdir (fx.state, 0700), ==, 0);
  conf = g_build_filename (fx.state, "vigil.conf", NULL);
  g_assert_true (g_file_set_contents (conf, "[plugins]\nfolders=/conf/d;/opt/a\n", -1, NULL));
  g_setenv ("VIGIL_PLUGIN_PATH", "/env/c::/opt/b", TRUE);
  options.state_dir = fx.state;
  options.plugin_dirs = opt_dirs;
  fx.host = vigil_host_new (&options, &error);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (fx.host->plugin_dirs), ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (fx.host->plugin_dirs[i], ==, expected[i]);
  core_fixture_clear (&fx);
}

static void
test_clock_injectable (void)
{
  CoreFixture fx;
  gint64 t = 1795341600000000; /* 2026-11-22T10:00:00Z */
  VigilPlugin *basic;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  vigil_host_set_clock (fx.host, fixed_clock, &t);
  basic = vh_registry_find_plugin (fx.host, "basic");
  g_assert_cmpint (vigil_host_now (fx.host), ==, t);
  g_assert_cmpint (vh_api ()->now (basic), ==, t);
  t += 60 * G_USEC_PER_SEC;
  g_assert_cmpint (vh_api ()->now (basic), ==, t);
  core_fixture_clear (&fx);
}

static void
test_plugin_data_dir (void)
{
  CoreFixture fx;
  g_autofree char *expected = NULL;
  const char *dir;
  GStatBuf st;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  dir = vh_api ()->data_dir (vh_registry_find_plugin (fx.host, "basic"));
  expected = g_build_filename (fx.state, "plugins", "basic", NULL);
  g_assert_cmpstr (dir, ==, expected);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  core_fixture_clear (&fx);
}

static void
test_load_plugins_once (void)
{
  CoreFixture fx;
  g_autoptr(JsonArray) plugins = NULL;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  vigil_host_load_plugins (fx.host);
  plugins = vigil_host_plugins (fx.host);
  g_assert_cmpuint (json_array_get_length (plugins), ==, 1);
  core_fixture_clear (&fx);
}

static void
test_unusable_state_dir (void)
{
  g_autoptr(GError) error = NULL;
  VigilHostOptions options = { sizeof options, .state_dir = "/proc/vigil-cannot-be-here",
                               .skip_install_dir = TRUE };

  g_assert_null (vigil_host_new (&options, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/proc/vigil-cannot-be-here"));
}

/* A caller built against an older, smaller VigilHostOptions: the fields
 * beyond its struct_size are not read, even if memory there is set. */
static void
test_older_options_struct (void)
{
  CoreFixture fx;
  VigilHostOptions options = { sizeof options };
  g_autoptr(GError) error = NULL;

  core_fixture_init (&fx);
  options.struct_size = G_STRUCT_OFFSET (VigilHostOptions, skip_install_dir);
  options.state_dir = fx.state;
  options.skip_install_dir = TRUE;
  fx.host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  g_assert_false (fx.host->skip_install_dir);
  g_assert_cmpstr (vigil_host_state_dir (fx.host), ==, fx.state);
  core_fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_test_add_func ("/host/default-state-dir-under-xdg-data-home", test_default_state_dir);
  g_test_add_func ("/host/state-dir-created-private", test_state_dir_private);
  g_test_add_func ("/host/plugin-folders-in-order", test_plugin_folder_order);
  g_test_add_func ("/host/clock-is-injectable", test_clock_injectable);
  g_test_add_func ("/host/plugin-data-dir-is-private", test_plugin_data_dir);
  g_test_add_func ("/host/load-plugins-only-once", test_load_plugins_once);
  g_test_add_func ("/host/reads-only-known-part-of-older-options", test_older_options_struct);
  g_test_add_func ("/host/unusable-state-dir-names-it", test_unusable_state_dir);
  return g_test_run ();
}
