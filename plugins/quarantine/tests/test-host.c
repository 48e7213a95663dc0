/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin inside an embedded host (libvigil-host, in process), with the
 * host's clock replaced: the plugin loads with its section and task types,
 * a quarantine.put task created through the host runs on the worker pool,
 * and the object records the host's time, not the wall clock.
 *   test-host VIGIL_CLI PLUGIN_DIR   (the CLI only adds the lab device)
 */
#include "qtest-util.h"
#include "host-private.h"

#include <glib/gstdio.h>

/* 2026-11-22T10:00:00Z */
#define FAKE_NOW (G_GINT64_CONSTANT (1795341600) * G_USEC_PER_SEC)

static const char *cli, *plugin_dir;

static gint64
fake_clock (gpointer data)
{
  return FAKE_NOW;
}

static void
add_device (const char *state, const char *root)
{
  const char *argv[] = { cli, "--state-dir", state, "device", "add", "dev1",
                         "--group", "root", "--root", root, NULL };
  g_autoptr (GError) error = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static gboolean
has_string (JsonArray *a, const char *s)
{
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    if (g_strcmp0 (json_array_get_string_element (a, i), s) == 0)
      return TRUE;
  return FALSE;
}

static void
assert_loaded (VigilHost *host)
{
  g_autoptr (JsonArray) plugins = vigil_host_plugins (host);
  gboolean found = FALSE;

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "id"), "quarantine") != 0)
        continue;
      found = TRUE;
      g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "loaded");
      g_assert_true (has_string (json_object_get_array_member (p, "task_types"), "quarantine.put"));
      g_assert_true (has_string (json_object_get_array_member (p, "task_types"), "quarantine.restore"));
      g_assert_true (has_string (json_object_get_array_member (p, "task_types"), "quarantine.delete"));
    }
  g_assert_true (found);
}

static void
test_put_through_embedded_host (void)
{
  g_autofree char *base = g_dir_make_tmp ("vigil-qhost-XXXXXX", NULL);
  g_autofree char *state = g_build_filename (base, "state", NULL);
  g_autofree char *root = g_build_filename (base, "dev1", NULL);
  g_autofree char *file = qtest_write_file (root, "/Users/a/evil.js", 777, 1);
  g_autofree char *store_dir = g_build_filename (root, "var/lib/vigil/Quarantine", NULL);
  const char *dirs[] = { plugin_dir, NULL };
  VigilHostOptions opts = { sizeof opts, state, NULL, dirs, TRUE };
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilHost) host = NULL;
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *task = NULL;
  g_autoptr (QStore) store = NULL;
  g_autoptr (JsonArray) list = NULL;
  VigilTaskSpec spec = { .type = "quarantine.put", .device_id = "dev1", .params = params };
  JsonObject *e;

  add_device (state, root);
  host = vigil_host_new (&opts, &error);
  g_assert_no_error (error);
  vigil_host_set_clock (host, fake_clock, NULL);
  vigil_host_load_plugins (host);
  assert_loaded (host);
  json_object_set_string_member (params, "path", "/Users/a/evil.js");
  json_object_set_string_member (params, "detection", "Trojan.JS.Agent");
  task = vh_tasks_create (host, "test", &spec, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vigil_host_run_until_idle (host, NULL), >=, 1);
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));

  store = qstore_open (store_dir, NULL, &error);
  g_assert_no_error (error);
  list = qstore_list (store, &error);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  e = json_array_get_object_element (list, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "quarantined_at"), ==, "2026-11-22T10:00:00Z");
  g_assert_cmpint (json_object_get_int_member (e, "quarantined_at_us"), ==, FAKE_NOW);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (e, "origin"), "task"),
                   ==, task);
  g_clear_pointer (&host, vigil_host_free);
  vt_rm_rf (base);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 3)
    g_error ("usage: test-host VIGIL_CLI PLUGIN_DIR");
  cli = argv[1];
  plugin_dir = argv[2];
  g_test_add_func ("/quarantine/host/put-through-embedded-host-uses-host-clock",
                   test_put_through_embedded_host);
  return g_test_run ();
}
