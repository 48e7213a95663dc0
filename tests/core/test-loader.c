/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The loader's refusals, one deliberately broken plugin per case, and its
 * guarantees: the descriptor is checked before init runs, a refused plugin
 * never stops the others, registrations of a refused plugin are rolled
 * back, plugins load in folder-then-name order and shut down in reverse,
 * and a disabled plugin is never even opened.
 */
#include "core-test.h"

#include <glib/gstdio.h>
#include <unistd.h>

/* Loads the single plugin @id (plus "basic" when @with_basic). */
static void
load_alone (CoreFixture *fx, const char *id, gboolean with_basic)
{
  g_free (core_copy_plugin (id, fx->plugins));
  if (with_basic)
    g_free (core_copy_plugin ("basic", fx->plugins));
  core_open_host (fx, NULL);
}

static void
test_no_entry_symbol (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load_alone (&fx, "no-entry", FALSE);
  core_assert_refused (fx.host, "no-entry", "no vigil_plugin_query_v1 symbol");
  core_fixture_clear (&fx);
}

/* Not even a shared object: dlopen's own reason is kept. */
static void
test_not_a_shared_object (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;

  core_fixture_init (&fx);
  path = g_build_filename (fx.plugins, "garbage.so", NULL);
  g_assert_true (g_file_set_contents (path, "#!/bin/sh\necho not a plugin\n", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "garbage", "cannot open: ");
  core_fixture_clear (&fx);
}

/* The exact message: the file, the plugin's ABI and the host's range. */
static void
test_abi_major_mismatch (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *marker = NULL;
  g_autoptr(JsonObject) info = NULL;

  core_fixture_init (&fx);
  marker = g_build_filename (fx.root, "init-ran", NULL);
  g_setenv ("VIGIL_TEST_MARKER", marker, TRUE);
  path = core_copy_plugin ("abi-major", fx.plugins);
  core_open_host (&fx, NULL);
  expected = g_strdup_printf ("%s: built for plugin ABI %d.%d, this host supports %d.0–%d.%d",
                              path, VIGIL_ABI_MAJOR + 1, VIGIL_ABI_MINOR, VIGIL_ABI_MAJOR,
                              VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
  info = core_plugin_info (fx.host, "abi-major", 0);
  g_assert_cmpstr (json_object_get_string_member (info, "reason"), ==, expected);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_unsetenv ("VIGIL_TEST_MARKER");
  core_fixture_clear (&fx);
}

static void
test_abi_minor_too_new (void)
{
  CoreFixture fx;
  g_autofree char *needle = g_strdup_printf ("built for plugin ABI %d.%d, this host "
                                             "supports %d.0–%d.%d", VIGIL_ABI_MAJOR,
                                             VIGIL_ABI_MINOR + 1, VIGIL_ABI_MAJOR,
                                             VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
  g_autofree char *marker = NULL;

  core_fixture_init (&fx);
  marker = g_build_filename (fx.root, "init-ran", NULL);
  g_setenv ("VIGIL_TEST_MARKER", marker, TRUE);
  load_alone (&fx, "abi-minor", FALSE);
  core_assert_refused (fx.host, "abi-minor", needle);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_unsetenv ("VIGIL_TEST_MARKER");
  core_fixture_clear (&fx);
}

static void
test_descriptor_too_small (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load_alone (&fx, "small-desc", FALSE);
  core_assert_refused (fx.host, "small-desc", "descriptor is 16 bytes");
  core_fixture_clear (&fx);
}

static void
test_id_mismatch (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load_alone (&fx, "id-mismatch", FALSE);
  core_assert_refused (fx.host, "id-mismatch",
                       "its descriptor says id 'someone-else' but the file is named "
                       "id-mismatch.so");
  core_fixture_clear (&fx);
}

/* The first folder wins; the second copy is refused naming the first. */
static void
test_duplicate_id (void)
{
  CoreFixture fx;
  g_autofree char *second = NULL;
  g_autofree char *first_path = NULL;
  g_autoptr(JsonObject) first = NULL;
  g_autoptr(JsonObject) dup = NULL;

  core_fixture_init (&fx);
  second = g_build_filename (fx.root, "second", NULL);
  g_assert_cmpint (g_mkdir (second, 0755), ==, 0);
  first_path = core_copy_plugin ("basic", fx.plugins);
  g_free (core_copy_plugin ("basic", second));
  core_open_host (&fx, (const char *const[]) { second, NULL });
  first = core_plugin_info (fx.host, "basic", 0);
  dup = core_plugin_info (fx.host, "basic", 1);
  g_assert_cmpstr (json_object_get_string_member (first, "state"), ==, "loaded");
  g_assert_cmpstr (json_object_get_string_member (first, "file"), ==, first_path);
  g_assert_cmpstr (json_object_get_string_member (dup, "state"), ==, "refused");
  g_assert_nonnull (strstr (json_object_get_string_member (dup, "reason"), first_path));
  core_fixture_clear (&fx);
}

/* The plugin's own message is kept, and what it registered is gone. */
static void
test_init_failure (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load_alone (&fx, "init-fails", FALSE);
  core_assert_refused (fx.host, "init-fails",
                       "init failed: the licence key in /etc/example.key has expired");
  g_assert_null (vh_registry_section (fx.host, "init_fails"));
  core_fixture_clear (&fx);
}

static void
test_world_writable_file (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;

  core_fixture_init (&fx);
  path = core_copy_plugin ("canary", fx.plugins);
  g_assert_cmpint (g_chmod (path, 0666), ==, 0);
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "canary", "writable by group or others (mode 0666)");
  core_fixture_clear (&fx);
}

/* A file is only as safe as the folder it sits in: others could swap it. */
static void
test_group_writable_folder (void)
{
  CoreFixture fx;
  g_autofree char *marker = NULL;

  core_fixture_init (&fx);
  marker = g_build_filename (fx.root, "mapped", NULL);
  g_setenv ("VIGIL_TEST_MARKER", marker, TRUE);
  g_free (core_copy_plugin ("canary", fx.plugins));
  g_assert_cmpint (g_chmod (fx.plugins, 0775), ==, 0);
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "canary", "the folder");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_unsetenv ("VIGIL_TEST_MARKER");
  core_fixture_clear (&fx);
}

/* A symlink from a safe folder into a world-writable one is refused too. */
static void
test_symlink_into_unsafe_folder (void)
{
  CoreFixture fx;
  g_autofree char *open_dir = NULL;
  g_autofree char *target = NULL;
  g_autofree char *link = NULL;

  core_fixture_init (&fx);
  open_dir = g_build_filename (fx.root, "open", NULL);
  g_assert_cmpint (g_mkdir (open_dir, 0755), ==, 0);
  target = core_copy_plugin ("canary", open_dir);
  g_assert_cmpint (g_chmod (open_dir, 0777), ==, 0);
  link = g_build_filename (fx.plugins, "canary.so", NULL);
  g_assert_cmpint (symlink (target, link), ==, 0);
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "canary", "writable by group or others (mode 0777)");
  core_fixture_clear (&fx);
}

/* Owned by neither root nor the user running vigil: someone else decides
 * what it contains. Needs root to give the file away. */
static void
test_file_owned_by_another_user (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;

  if (getuid () != 0)
    {
      g_test_skip ("needs root to chown a file to another user");
      return;
    }
  core_fixture_init (&fx);
  path = core_copy_plugin ("canary", fx.plugins);
  g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "canary", "is owned by uid 65534");
  core_fixture_clear (&fx);
}

/* @id registers a task type "<id>.own", then something taken; the plugin
 * is refused even though its init ignores the error, and "<id>.own" is
 * gone. The reason holds @needle and, when not NULL, @also. */
static void
check_refused_with (const char *id, const char *needle, const char *also)
{
  CoreFixture fx;
  g_autofree char *own = g_strconcat (id, ".own", NULL);
  g_autoptr(JsonObject) basic = NULL;

  core_fixture_init (&fx);
  load_alone (&fx, id, TRUE);
  core_assert_refused (fx.host, id, needle);
  if (also != NULL)
    core_assert_refused (fx.host, id, also);
  g_assert_null (vh_registry_task_type (fx.host, own));
  basic = core_plugin_info (fx.host, "basic", 0);
  g_assert_cmpstr (json_object_get_string_member (basic, "state"), ==, "loaded");
  core_fixture_clear (&fx);
}

static void
check_duplicate (const char *id, const char *needle)
{
  check_refused_with (id, needle, NULL);
}

/* Squatting another plugin's namespace names both plugins. */
static void
test_squat_section (void)
{
  check_refused_with ("dup-section", "section 'basic' is in the namespace 'basic' of the "
                      "plugin 'basic' (", "not of the plugin 'dup-section'");
}

static void
test_squat_task_type (void)
{
  check_refused_with ("dup-task", "task type 'basic.echo' is in the namespace 'basic' of "
                      "the plugin 'basic' (", "not of the plugin 'dup-task'");
}

static void
test_squat_command (void)
{
  check_refused_with ("dup-command", "command 'basic' is in the namespace 'basic' of the "
                      "plugin 'basic' (", "not of the plugin 'dup-command'");
}

static void
test_squat_event_prefix (void)
{
  check_refused_with ("squat-event", "event type 'basic.started' is in the namespace "
                      "'basic' of the plugin 'basic' (", "not of the plugin 'squat-event'");
}

static void
test_duplicate_task_type (void)
{
  check_duplicate ("dup-self", "task type 'dup-self.own' is already registered by the "
                   "plugin 'dup-self'");
}

static void
test_duplicate_handler (void)
{
  check_duplicate ("dup-handler", "event handler for 'quarantine.*' is already registered");
}

static void
test_builtin_command_name (void)
{
  check_duplicate ("builtin-command", "command 'policy' is a built-in command");
}

/* A command flag this host does not know would change behaviour silently:
 * refused like any malformed registration, and rolled back. */
static void
test_unknown_command_flags (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  load_alone (&fx, "bad_flags", FALSE);
  core_assert_refused (fx.host, "bad_flags", "command 'bad-flags': unknown flags 0x80");
  g_assert_null (vh_registry_command (fx.host, "bad-flags"));
  g_assert_null (vh_registry_section (fx.host, "bad_flags"));
  core_fixture_clear (&fx);
}

/* A broken plugin among good ones: the good ones load all the same. */
static void
test_refusal_does_not_stop_others (void)
{
  CoreFixture fx;
  const char *broken[] = { "abi-major", "no-entry", "init-fails", "small-desc" };
  g_autoptr(JsonObject) basic = NULL;

  core_fixture_init (&fx);
  for (gsize i = 0; i < G_N_ELEMENTS (broken); i++)
    g_free (core_copy_plugin (broken[i], fx.plugins));
  load_alone (&fx, "order_a", TRUE);
  basic = core_plugin_info (fx.host, "basic", 0);
  g_assert_cmpstr (json_object_get_string_member (basic, "state"), ==, "loaded");
  g_assert_nonnull (vh_registry_section (fx.host, "order_a"));
  core_fixture_clear (&fx);
}

/* Folder order first (the second folder's plugin sorts earlier by name),
 * then file names within a folder. */
static void
test_load_order (void)
{
  CoreFixture fx;
  g_autofree char *second = NULL;
  g_autoptr(JsonArray) plugins = NULL;
  const char *expected[] = { "canary", "order_b", "basic", "order_a" };

  core_fixture_init (&fx);
  second = g_build_filename (fx.root, "second", NULL);
  g_assert_cmpint (g_mkdir (second, 0755), ==, 0);
  g_free (core_copy_plugin ("order_b", fx.plugins));
  g_free (core_copy_plugin ("canary", fx.plugins));
  g_free (core_copy_plugin ("order_a", second));
  g_free (core_copy_plugin ("basic", second));
  core_open_host (&fx, (const char *const[]) { second, NULL });
  plugins = vigil_host_plugins (fx.host);
  g_assert_cmpuint (json_array_get_length (plugins), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (json_object_get_string_member (
        json_array_get_object_element (plugins, i), "id"), ==, expected[i]);
  core_fixture_clear (&fx);
}

static void
test_shutdown_reverse_order (void)
{
  CoreFixture fx;
  g_autofree char *log = NULL;
  g_autofree char *text = NULL;

  core_fixture_init (&fx);
  log = g_build_filename (fx.root, "shutdown.log", NULL);
  g_setenv ("VIGIL_TEST_SHUTDOWN_LOG", log, TRUE);
  g_free (core_copy_plugin ("order_a", fx.plugins));
  g_free (core_copy_plugin ("order_b", fx.plugins));
  g_free (core_copy_plugin ("basic", fx.plugins));
  core_open_host (&fx, NULL);
  g_assert_false (g_file_test (log, G_FILE_TEST_EXISTS));
  g_clear_pointer (&fx.host, vigil_host_free);
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "order_b\norder_a\nbasic\n");
  g_unsetenv ("VIGIL_TEST_SHUTDOWN_LOG");
  core_fixture_clear (&fx);
}

/* The canary touches the marker from a constructor, i.e. when mapped. */
static void
test_disabled_never_opened (void)
{
  CoreFixture fx;
  g_autofree char *marker = NULL;
  g_autofree char *conf = NULL;
  g_autoptr(JsonObject) info = NULL;

  core_fixture_init (&fx);
  marker = g_build_filename (fx.root, "mapped", NULL);
  g_setenv ("VIGIL_TEST_MARKER", marker, TRUE);
  g_assert_cmpint (g_mkdir (fx.state, 0700), ==, 0);
  conf = g_build_filename (fx.state, "vigil.conf", NULL);
  g_assert_true (g_file_set_contents (conf, "[plugins]\ndisabled=canary\n", -1, NULL));
  g_free (core_copy_plugin ("canary", fx.plugins));
  core_open_host (&fx, NULL);
  info = core_plugin_info (fx.host, "canary", 0);
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "disabled");
  g_assert_nonnull (strstr (json_object_get_string_member (info, "reason"),
                            "vigil plugins enable canary"));
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_unsetenv ("VIGIL_TEST_MARKER");
  core_fixture_clear (&fx);
}

/* The control for the test above: enabled, the same canary is mapped. */
static void
test_enabled_canary_is_opened (void)
{
  CoreFixture fx;
  g_autofree char *marker = NULL;

  core_fixture_init (&fx);
  marker = g_build_filename (fx.root, "mapped", NULL);
  g_setenv ("VIGIL_TEST_MARKER", marker, TRUE);
  load_alone (&fx, "canary", FALSE);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_unsetenv ("VIGIL_TEST_MARKER");
  core_fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Only the plugins each test copies, never the shipped ones. */
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_test_add_func ("/loader/refuses-file-without-entry-symbol", test_no_entry_symbol);
  g_test_add_func ("/loader/refuses-file-that-cannot-be-opened", test_not_a_shared_object);
  g_test_add_func ("/loader/refuses-abi-major-mismatch-before-init", test_abi_major_mismatch);
  g_test_add_func ("/loader/refuses-abi-minor-too-new-before-init", test_abi_minor_too_new);
  g_test_add_func ("/loader/refuses-descriptor-too-small", test_descriptor_too_small);
  g_test_add_func ("/loader/refuses-id-different-from-file-name", test_id_mismatch);
  g_test_add_func ("/loader/refuses-duplicate-id-first-folder-wins", test_duplicate_id);
  g_test_add_func ("/loader/refuses-init-failure-keeping-its-message", test_init_failure);
  g_test_add_func ("/loader/refuses-world-writable-file", test_world_writable_file);
  g_test_add_func ("/loader/refuses-group-writable-folder-unopened", test_group_writable_folder);
  g_test_add_func ("/loader/refuses-symlink-into-unsafe-folder", test_symlink_into_unsafe_folder);
  g_test_add_func ("/loader/refuses-file-owned-by-another-user", test_file_owned_by_another_user);
  g_test_add_func ("/loader/refuses-section-of-another-plugin-and-rolls-back", test_squat_section);
  g_test_add_func ("/loader/refuses-task-type-of-another-plugin-and-rolls-back", test_squat_task_type);
  g_test_add_func ("/loader/refuses-command-of-another-plugin-and-rolls-back", test_squat_command);
  g_test_add_func ("/loader/refuses-event-in-another-plugins-namespace", test_squat_event_prefix);
  g_test_add_func ("/loader/refuses-duplicate-task-type-and-rolls-back", test_duplicate_task_type);
  g_test_add_func ("/loader/refuses-duplicate-handler-and-rolls-back", test_duplicate_handler);
  g_test_add_func ("/loader/refuses-builtin-command-name", test_builtin_command_name);
  g_test_add_func ("/loader/refuses-unknown-command-flags", test_unknown_command_flags);
  g_test_add_func ("/loader/refusal-does-not-stop-others", test_refusal_does_not_stop_others);
  g_test_add_func ("/loader/loads-in-folder-then-name-order", test_load_order);
  g_test_add_func ("/loader/shutdown-in-reverse-load-order", test_shutdown_reverse_order);
  g_test_add_func ("/loader/disabled-plugin-is-never-opened", test_disabled_never_opened);
  g_test_add_func ("/loader/enabled-plugin-is-opened", test_enabled_canary_is_opened);
  return g_test_run ();
}
