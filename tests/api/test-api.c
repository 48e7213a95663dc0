/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API (vigil-host.h) as an embedding application uses it: this
 * test links libvigil-host.so and includes nothing else of the host. It
 * covers the inventory, the checks emit makes (an unknown device is
 * refused), policies with their problems, tasks run now with progress,
 * subscriptions to events and to task runs delivered on the caller's
 * GMainContext (including events stored by another host object on the same
 * state folder, as another process would), unsubscribing, and password
 * protection of task deletion. The plugin is tests/tasks' tasks-test.
 */
#include "vigil-host.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include "vt-cli.h"

typedef struct {
  char      *dir;
  VigilHost *host;
} Fixture;

static VigilHost *
open_host (const char *dir)
{
  const char *dirs[] = { g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"), NULL };
  VigilHostOptions options = { sizeof options, dir, NULL, dirs, TRUE };
  g_autoptr (GError) error = NULL;
  VigilHost *host;

  g_assert_nonnull (dirs[0]);
  host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_load_plugins (host);
  return host;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("vigil-api-XXXXXX", &error);
  g_assert_no_error (error);
  f->host = open_host (f->dir);
  g_assert_true (vigil_host_add_group (f->host, "lab", "Lab", NULL, &error));
  g_assert_true (vigil_host_add_device (f->host, "pc1", NULL, "lab", NULL, &error));
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->host, vigil_host_free);
  vt_rm_rf (f->dir);
  g_free (f->dir);
}

static void
drain (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

/* ---- inventory -------------------------------------------------------- */

static void
test_inventory (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) device = NULL, group = NULL;
  g_autoptr (JsonArray) devices = NULL;

  g_assert_true (vigil_host_add_group (f->host, "east", "East", "lab", &error));
  g_assert_true (vigil_host_move_device (f->host, "pc1", "east", &error));
  device = vigil_host_device (f->host, "pc1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (device, "group"), ==, "east");
  g_assert_true (vigil_host_set_device_out_of_office (f->host, "pc1", TRUE, &error));
  devices = vigil_host_devices (f->host, "lab", &error);
  g_assert_cmpuint (json_array_get_length (devices), ==, 1);
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (devices, 0),
                                                 "out_of_office"));
  group = vigil_host_group (f->host, "east", &error);
  g_assert_cmpstr (json_object_get_string_member (group, "parent"), ==, "lab");

  g_assert_false (vigil_host_remove_group (f->host, "east", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (vigil_host_group (f->host, "west", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (vigil_host_remove_device (f->host, "pc1", &error));
  g_assert_true (vigil_host_remove_group (f->host, "east", &error));
  g_assert_null (vigil_host_device (f->host, "pc1", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* Local settings are checked against the loaded sections before they are
 * stored; they show in the effective settings with the origin "local". */
static void
test_device_settings (Fixture *f, gconstpointer data)
{
  const char *bad = "{\"general\": {\"proxy\": {\"mode\": \"sometimes\"}}}";
  const char *good = "{\"general\": {\"proxy\": {\"mode\": \"manual\", "
                     "\"address\": \"proxy.lab:3128\", \"password\": \"hunter2\"}}}";
  g_autoptr (JsonNode) bad_node = json_from_string (bad, NULL);
  g_autoptr (JsonNode) good_node = json_from_string (good, NULL);
  JsonObject *bad_settings = json_node_get_object (bad_node);
  JsonObject *good_settings = json_node_get_object (good_node);
  g_autoptr (JsonNode) local_node = NULL;
  g_autoptr (JsonArray) problems = NULL;
  g_autoptr (JsonObject) stored = NULL, local = NULL, origins = NULL, values = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_false (vigil_host_set_device_settings (f->host, "pc1", bad_settings, &problems,
                                                  NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_cmpuint (json_array_get_length (problems), >=, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (problems, 0),
                                                  "path"), ==, "general.proxy.mode");
  g_clear_error (&error);
  g_clear_pointer (&problems, json_array_unref);

  g_assert_true (vigil_host_set_device_settings (f->host, "pc1", good_settings, &problems,
                                                 &stored, &error));
  g_assert_no_error (error);
  g_assert_nonnull (stored);
  values = vigil_host_effective_settings (f->host, "pc1", "general", &origins, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (values, "proxy"),
                                                  "mode"), ==, "manual");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (origins, "proxy"),
                                                  "mode"), ==, "local");
  /* Secrets never come back. */
  local = vigil_host_device_settings (f->host, "pc1", &error);
  g_assert_no_error (error);
  local_node = json_node_init_object (json_node_alloc (), local);
  text = json_to_string (local_node, FALSE);
  g_assert_null (strstr (text, "hunter2"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (values, "proxy"),
                                                  "password"), ==, "********");

  g_assert_false (vigil_host_set_device_settings (f->host, "nosuch", good_settings, NULL,
                                                  NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* ---- events ----------------------------------------------------------- */

/* Before 1.1 an event for a device that does not exist was stored. */
static void
test_emit_unknown_device_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) events = NULL;
  g_autofree char *id = NULL;

  id = vigil_host_emit_event (f->host, "test", "x.y", "nosuch", 1, NULL, &error);
  g_assert_null (id);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nosuch"));
  g_clear_error (&error);
  g_assert_null (vigil_host_emit_event_envelope (f->host, "test",
                                                 "{\"type\":\"x.y\",\"device\":\"nosuch\"}", -1,
                                                 "line 1", NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "line 1: "));
  g_clear_error (&error);
  /* Nothing of type x.y (the fixture's inventory left its own audit events). */
  events = vigil_host_events (f->host, 0, "x.y", NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (events), ==, 0);

  /* The control: a known device is accepted. */
  id = vigil_host_emit_event (f->host, "test", "x.y", "pc1", 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);
}

typedef struct {
  GPtrArray *seen;   /* JsonObject * */
} Seen;

static void
on_event (VigilHost *host, JsonObject *event, gpointer user_data)
{
  g_ptr_array_add (user_data, json_object_ref (event));
}

static void
test_subscribe_events (Fixture *f, gconstpointer data)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL, *other_id = NULL, *late = NULL;
  VigilSubscription *sub;
  VigilHost *other;

  sub = vigil_host_subscribe_events (f->host, "lab.*", "pc1", context, on_event,
                                     g_ptr_array_ref (seen), (GDestroyNotify) g_ptr_array_unref);
  id = vigil_host_emit_event (f->host, "test", "lab.one", "pc1", 1, NULL, &error);
  g_free (vigil_host_emit_event (f->host, "test", "other.one", "pc1", 1, NULL, &error));
  g_free (vigil_host_emit_event (f->host, "test", "lab.two", NULL, 1, NULL, &error));
  g_assert_no_error (error);
  /* Delivered on the context only, never inside the host call. */
  g_assert_cmpuint (seen->len, ==, 0);
  drain (context);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (seen->pdata[0], "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (seen->pdata[0], "type"), ==, "lab.one");

  /* Another host on the same folder stands for another process. */
  other = open_host (f->dir);
  other_id = vigil_host_emit_event (other, "test", "lab.three", "pc1", 1, NULL, &error);
  g_assert_no_error (error);
  vigil_host_free (other);
  drain (context);
  g_assert_cmpuint (seen->len, ==, 1);
  g_assert_cmpuint (vigil_host_deliver_events (f->host), ==, 1);
  drain (context);
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (seen->pdata[1], "id"), ==, other_id);

  /* Unsubscribed: an event already queued is not delivered either. */
  late = vigil_host_emit_event (f->host, "test", "lab.four", "pc1", 1, NULL, &error);
  vigil_host_unsubscribe (sub);
  drain (context);
  g_assert_cmpuint (seen->len, ==, 2);
}

/* ---- tasks ------------------------------------------------------------ */

static void
on_progress (const char *task_id, const char *device_id, double fraction,
             const char *message, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_task_run_and_notification (Fixture *f, gconstpointer data)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GPtrArray) ends = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr (GPtrArray) pongs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr (GPtrArray) own = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL, results = NULL, tasks = NULL;
  g_autoptr (JsonObject) task = NULL;
  g_autoptr (VigilSubscription) run_sub = NULL;
  g_autoptr (VigilSubscription) event_sub = NULL;
  g_autoptr (VigilSubscription) own_sub = NULL;
  VigilTaskSpec spec = { .type = "tasks-test.emit", .device_id = "pc1",
                         .schedule = "{\"kind\":\"manual\"}" };
  g_autofree char *id = NULL;
  guint progress = 0;

  run_sub = vigil_host_subscribe_task_runs (f->host, NULL, context, on_event,
                                            g_ptr_array_ref (ends),
                                            (GDestroyNotify) g_ptr_array_unref);
  event_sub = vigil_host_subscribe_events (f->host, "tasks-test.pong", NULL, context, on_event,
                                           g_ptr_array_ref (pongs),
                                           (GDestroyNotify) g_ptr_array_unref);
  id = vigil_host_create_task (f->host, "api-test", &spec, &error);
  g_assert_no_error (error);
  own_sub = vigil_host_subscribe_task_runs (f->host, id, context, on_event, g_ptr_array_ref (own),
                                            (GDestroyNotify) g_ptr_array_unref);
  task = vigil_host_task (f->host, id, &error);
  g_assert_cmpstr (json_object_get_string_member (task, "type"), ==, "tasks-test.emit");
  tasks = vigil_host_tasks (f->host, &error);
  g_assert_cmpuint (json_array_get_length (tasks), ==, 1);

  runs = vigil_host_run_task (f->host, id, on_progress, &progress, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (runs, 0),
                                                  "state"), ==, "completed");
  drain (context);
  /* The plugin answers tasks-test.pong with a tasks-test.record task:
   * two runs ended, one of them this task's. */
  g_assert_cmpuint (pongs->len, ==, 1);
  g_assert_cmpuint (ends->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (ends->pdata[0], "task_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (ends->pdata[1], "type"), ==, "tasks-test.record");
  g_assert_cmpuint (own->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (own->pdata[0], "task_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (own->pdata[0], "state"), ==, "completed");
  results = vigil_host_task_runs (f->host, id, TRUE, &error);
  g_assert_cmpuint (json_array_get_length (results), ==, 1);

  g_assert_null (vigil_host_run_task (f->host, "nosuch", NULL, NULL, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (vigil_host_cancel_task (f->host, id, &error));
  g_assert_no_error (error);
}

#define PASSWORD "correct horse battery staple"

/* A password hash made the way an admin makes one: `vigil password hash`. */
static char *
password_hash (Fixture *f)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->dir, PASSWORD, NULL, "password", "hash", "--iterations", "100000", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "$pbkdf2"));
  return g_strstrip (g_strdup (r.out));
}

static void
test_task_delete_protected (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) problems = NULL;
  g_autoptr (JsonObject) policy = NULL;
  VigilTaskSpec spec = { .type = "tasks-test.fail", .device_id = "pc1",
                         .schedule = "{\"kind\":\"manual\"}" };
  g_autofree char *id = vigil_host_create_task (f->host, "api-test", &spec, &error);
  g_autofree char *hash = NULL, *text = NULL, *fd_text = NULL;
  int fds[2];

  g_assert_no_error (error);
  /* Protection is this machine's: an application says which device it is
   * (adding pc1, without a root folder, did not make it that). */
  g_assert_null (vigil_host_machine_device (f->host, &error));
  g_assert_no_error (error);
  g_assert_true (vigil_host_set_machine_device (f->host, "pc1", &error));
  g_assert_no_error (error);
  hash = password_hash (f);
  text = g_strdup_printf ("{\"name\":\"Locked\",\"group\":\"root\",\"status\":\"active\","
                          "\"settings\":{\"general\":{\"schema_version\":1,"
                          "\"password_protection\":{\"locked\":true,\"values\":{"
                          "\"enabled\":true,\"password_hash\":\"%s\","
                          "\"actions\":[\"task.delete\"]}}}}}", hash);
  policy = vigil_host_parse_policy (text, strlen (text), &problems);
  g_assert_nonnull (policy);
  g_clear_pointer (&problems, json_array_unref);
  g_assert_true (vigil_host_apply_policy (f->host, policy, &problems, NULL, &error));
  g_assert_no_error (error);

  /* No password to be had: refused with the protection's own code. */
  g_setenv ("VIGIL_PASSWORD_FD", "not-a-number", TRUE);
  g_assert_false (vigil_host_delete_task (f->host, id, &error));
  g_assert_error (error, VIGIL_HOST_ERROR, VIGIL_HOST_ERROR_PROTECTED);
  g_clear_error (&error);
  g_assert_nonnull (vigil_host_task (f->host, id, &error));
  /* Nor can the protection itself be removed through the API without it. */
  g_assert_false (vigil_host_remove_policy (f->host, "Locked", &error));
  g_assert_error (error, VIGIL_HOST_ERROR, VIGIL_HOST_ERROR_PROTECTED);
  g_clear_error (&error);
  g_assert_false (vigil_host_remove_device (f->host, "pc1", &error));
  g_assert_error (error, VIGIL_HOST_ERROR, VIGIL_HOST_ERROR_PROTECTED);
  g_clear_error (&error);
  g_clear_pointer (&policy, json_object_unref);
  policy = vigil_host_policy (f->host, "Locked", &error);
  g_assert_no_error (error);
  g_assert_nonnull (policy);

  /* The right one on a pipe: deleted. */
  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], PASSWORD "\n", strlen (PASSWORD) + 1), ==,
                   (gssize) strlen (PASSWORD) + 1);
  close (fds[1]);
  fd_text = g_strdup_printf ("%d", fds[0]);
  g_setenv ("VIGIL_PASSWORD_FD", fd_text, TRUE);
  g_assert_true (vigil_host_delete_task (f->host, id, &error));
  g_assert_no_error (error);
  g_unsetenv ("VIGIL_PASSWORD_FD");
  close (fds[0]);
  g_assert_null (vigil_host_task (f->host, id, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* ---- policies --------------------------------------------------------- */

static void
test_policy_problems (Fixture *f, gconstpointer data)
{
  const char *broken = "{\"name\": \"x\",\n  \"group\": }";
  const char *bad = "{\"name\":\"Bad\",\"group\":\"lab\",\"status\":\"active\","
                    "\"settings\":{\"general\":{\"schema_version\":1,"
                    "\"proxy\":{\"values\":{\"no_such_key\":1}}}}}";
  g_autoptr (JsonArray) problems = NULL;
  g_autoptr (JsonObject) doc = NULL, defaults = NULL, origins = NULL, values = NULL;
  g_autoptr (JsonArray) list = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *demoted = NULL;

  g_assert_null (vigil_host_parse_policy (broken, strlen (broken), &problems));
  g_assert_cmpuint (json_array_get_length (problems), >=, 1);
  g_clear_pointer (&problems, json_array_unref);

  doc = vigil_host_parse_policy (bad, strlen (bad), &problems);
  g_assert_nonnull (doc);
  g_clear_pointer (&problems, json_array_unref);
  g_assert_false (vigil_host_apply_policy (f->host, doc, &problems, &demoted, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_cmpuint (json_array_get_length (problems), >=, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (
      json_array_get_object_element (problems, 0), "path"), "no_such_key"));
  g_clear_error (&error);
  list = vigil_host_policies (f->host, &error);
  g_assert_cmpuint (json_array_get_length (list), ==, 0);

  defaults = vigil_host_default_policy (f->host);
  g_assert_true (json_object_has_member (json_object_get_object_member (defaults, "settings"),
                                         "general"));
  values = vigil_host_effective_settings (f->host, "pc1", "general", &origins, &error);
  g_assert_no_error (error);
  g_assert_nonnull (json_object_get_object_member (origins, "proxy"));
  g_assert_null (vigil_host_effective_settings (f->host, "pc1", "nosuch", NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* ---- plugins ---------------------------------------------------------- */

static void
test_plugins (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) plugin = vigil_host_plugin (f->host, "tasks-test", &error);
  g_autoptr (JsonArray) types = vigil_host_task_types (f->host);
  g_autoptr (JsonArray) sections = vigil_host_sections (f->host);
  gboolean found = FALSE;

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (plugin, "state"), ==, "loaded");
  for (guint i = 0; i < json_array_get_length (types); i++)
    {
      JsonObject *t = json_array_get_object_element (types, i);
      if (g_str_equal (json_object_get_string_member (t, "id"), "tasks-test.emit"))
        found = g_str_equal (json_object_get_string_member (t, "plugin"), "tasks-test");
    }
  g_assert_true (found);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (sections, 0),
                                                  "plugin"), ==, "host");
  g_assert_null (vigil_host_plugin (f->host, "nosuch", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  {
    char *args[] = { (char *) "nosuch", NULL };
    int status = -1;
    g_assert_false (vigil_host_run_command (f->host, "nosuch", 1, args, &status, &error));
    g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  g_assert_cmpuint (vigil_host_trigger_tasks (f->host, "on_start", &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (vigil_host_trigger_tasks (f->host, "sometimes", &error), ==, 0);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (vigil_host_set_plugin_enabled (f->host, "tasks-test", FALSE, &error));
  g_assert_no_error (error);
  {
    g_autoptr (VigilHost) again = open_host (f->dir);
    g_autoptr (JsonObject) p = vigil_host_plugin (again, "tasks-test", &error);
    g_assert_cmpstr (json_object_get_string_member (p, "state"), ==, "disabled");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/api/" path, Fixture, NULL, setup, fn, teardown)
  ADD ("inventory", test_inventory);
  ADD ("inventory/device-settings", test_device_settings);
  ADD ("events/emit-unknown-device-refused", test_emit_unknown_device_refused);
  ADD ("events/subscribe", test_subscribe_events);
  ADD ("tasks/run-and-notification", test_task_run_and_notification);
  ADD ("tasks/delete-protected", test_task_delete_protected);
  ADD ("policy/problems", test_policy_problems);
  ADD ("plugins", test_plugins);
  return g_test_run ();
}
