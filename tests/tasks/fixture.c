/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tasks tests' fixture; see fixture.h. */
#include "fixture.h"

static gint64
fake_clock (gpointer data)
{
  return *(gint64 *) data;
}

static void
add_inventory (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (vigil_host_add_group (f->host, "lab", "Lab", "root", &error));
  g_assert_true (vigil_host_add_group (f->host, "lab-east", "Lab east", "lab", &error));
  g_assert_true (vigil_host_add_device (f->host, "a", NULL, "lab", f->root_a, &error));
  g_assert_true (vigil_host_add_device (f->host, "b", NULL, "lab", NULL, &error));
  g_assert_true (vigil_host_add_device (f->host, "c", NULL, "lab-east", NULL, &error));
  g_assert_true (vigil_host_add_device (f->host, "d", NULL, "root", NULL, &error));
  g_assert_no_error (error);
}

VigilHost *
fixture_open_host (Fixture *f)
{
  const char *dirs[] = { g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"), NULL };
  VigilHostOptions options = { sizeof options, f->dir, NULL, dirs, TRUE };
  g_autoptr (GError) error = NULL;
  VigilHost *host;

  g_assert_nonnull (dirs[0]);
  host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_set_clock (host, fake_clock, &f->now);
  vigil_host_load_plugins (host);
  {
    g_autoptr (JsonObject) plugin = vigil_host_plugin (host, "tasks-test", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (plugin, "state"), ==, "loaded");
  }
  return host;
}

void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("vigil-tasks-XXXXXX", &error);
  g_assert_no_error (error);
  f->root_a = g_build_filename (f->dir, "device-a", NULL);
  g_assert_cmpint (g_mkdir (f->root_a, 0700), ==, 0);
  f->now = T0;
  f->host = fixture_open_host (f);
  add_inventory (f);
  /* The inventory's audit events (host.inventory_changed) are dispatched
   * now, so that each test's dispatch counts only its own events. */
  vigil_host_run_until_idle (f->host, NULL);
}

void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->host, vigil_host_free);
  vt_rm_rf (f->dir);
  g_free (f->root_a);
  g_free (f->dir);
}

/* Creates a task or fails the test. */
char *
create_task (Fixture *f, const char *type, const char *device, const char *group,
             const char *schedule, JsonObject *params)
{
  g_autoptr (GError) error = NULL;
  VigilTaskSpec spec = { .type = type, .device_id = device, .group_id = group,
                         .schedule = schedule, .params = params };
  char *id = vigil_host_create_task (f->host, "test", &spec, &error);

  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

/* The runs of @task_id, oldest first. */
JsonArray *
runs_of (Fixture *f, const char *task_id)
{
  g_autoptr (GError) error = NULL;
  JsonArray *newest_first = vigil_host_task_runs (f->host, task_id, TRUE, &error);
  JsonArray *runs = json_array_new ();

  g_assert_no_error (error);
  for (guint i = json_array_get_length (newest_first); i > 0; i--)
    json_array_add_element (runs, json_node_copy (json_array_get_element (newest_first, i - 1)));
  json_array_unref (newest_first);
  return runs;
}

JsonObject *
run_at (JsonArray *runs, guint i)
{
  return json_array_get_object_element (runs, i);
}

void
fixture_init_env (void)
{
  /* Schedules read local time; the tests' times are written in UTC. */
  g_setenv ("TZ", "UTC", TRUE);
  /* Only the test plugin: not whatever a developer's shell points at. */
  g_unsetenv ("VIGIL_PLUGIN_PATH");
}
