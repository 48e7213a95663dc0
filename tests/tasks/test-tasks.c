/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tasks through the real host: creation checks, runs with progress,
 * findings and results, failures, group expansion, schedules and start
 * windows driven by a fake clock, triggers, retention, cancel (in process
 * and from another `vigil` process), delete, and a task run inside another
 * run (task_run_nested).
 */
#include <string.h>
#include <sys/wait.h>
#include "fixture.h"
#include "tasks/tasks-private.h"
#include "host-private.h"

static JsonObject *
params_with (const char *key, const char *value)
{
  JsonObject *params = json_object_new ();
  json_object_set_string_member (params, key, value);
  return params;
}

/* ---- creation checks ------------------------------------------------- */

static void
test_unknown_type_names_the_plugin (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VigilTaskSpec spec = { .type = "quarantine.put", .device_id = "a" };
  g_autofree char *id = vh_tasks_create (f->host, "test", &spec, &error);

  g_assert_null (id);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "'quarantine'"));
}

static void
test_invalid_params_lists_every_problem (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = json_object_new ();
  VigilTaskSpec spec = { .type = "tasks-test.record", .device_id = "a", .params = params };
  g_autofree char *id = NULL;

  json_object_set_int_member (params, "count", 99);
  json_object_set_int_member (params, "colour", 1);
  id = vh_tasks_create (f->host, "test", &spec, &error);
  g_assert_null (id);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "params.count"));
  g_assert_nonnull (strstr (error->message, "params.colour"));
}

static void
test_validate_callback_problem_has_path (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = params_with ("label", "bad");
  VigilTaskSpec spec = { .type = "tasks-test.record", .device_id = "a", .params = params };
  g_autofree char *id = vh_tasks_create (f->host, "test", &spec, &error);

  g_assert_null (id);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "params.label: 'bad' is not a good label"));
}

static void
test_unknown_target_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VigilTaskSpec spec = { .type = "tasks-test.record", .device_id = "nobody" };
  g_autofree char *id = vh_tasks_create (f->host, "test", &spec, &error);

  g_assert_null (id);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  spec = (VigilTaskSpec) { .type = "tasks-test.record", .group_id = "nowhere" };
  g_assert_null (vh_tasks_create (f->host, "test", &spec, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

static void
test_bad_schedule_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VigilTaskSpec spec = { .type = "tasks-test.record", .device_id = "a",
                         .schedule = "{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"20:00\"}" };

  g_assert_null (vh_tasks_create (f->host, "test", &spec, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "empty"));
}

static void
test_default_retention_is_seven_days (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "a", NULL, NULL, NULL);
  g_autoptr (JsonObject) task = vh_tasks_get (f->host, id, NULL);

  g_assert_cmpint (json_object_get_int_member (task, "retention_days"), ==, 7);
  g_assert_cmpstr (json_object_get_string_member (task, "state"), ==, "due");
}

/* A plugin reads its own tasks through the API, parameters included; a
 * task of another plugin's type is NOT_FOUND like a missing one. */
static void
test_get_task_own_types_only (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *id = NULL;
  g_autoptr (JsonObject) own = NULL;
  g_autoptr (JsonObject) foreign = NULL;
  g_autoptr (GError) error = NULL;
  VigilPlugin *owner = vh_registry_task_type (f->host, "tasks-test.record")->plugin;

  json_object_set_int_member (params, "count", 3);
  id = create_task (f, "tasks-test.record", "a", NULL, NULL, params);
  own = vh_api ()->get_task (owner, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (own, "type"), ==, "tasks-test.record");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (own, "params"),
                                               "count"), ==, 3);
  foreign = vh_api ()->get_task (vh_registry_host_plugin (f->host), id, &error);
  g_assert_null (foreign);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (vh_api ()->get_task (owner, "no-such-task", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* ---- runs ------------------------------------------------------------ */

static void
test_run_stores_progress_findings_result (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *id = NULL;
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *run, *result;

  json_object_set_int_member (params, "count", 2);
  id = create_task (f, "tasks-test.record", "a", NULL, NULL, params);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);

  runs = runs_of (f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = run_at (runs, 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "completed");
  g_assert_cmpfloat (json_object_get_double_member (run, "progress"), ==, 1.0);
  g_assert_cmpstr (json_object_get_string_member (run, "message"), ==, "halfway");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (run, "findings")), ==, 2);
  result = json_object_get_object_member (run, "result");
  g_assert_cmpstr (json_object_get_string_member (result, "root"), ==, f->root_a);
  g_assert_cmpstr (json_object_get_string_member (result, "label"), ==, "plain");
}

/* The result of tasks-test.nest with @step, run on device a. */
static JsonObject *
nest (Fixture *f, const char *step)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *id = NULL;
  g_autoptr (JsonArray) runs = NULL;

  json_object_set_string_member (params, "step", step);
  id = create_task (f, "tasks-test.nest", "a", NULL, NULL, params);
  vigil_host_run_until_idle (f->host, NULL);
  runs = runs_of (f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "completed");
  return json_object_ref (json_object_get_object_member (run_at (runs, 0), "result"));
}

/* A run runs another task inside it: created for the same device, run at
 * once, recorded like any run, its result handed back. */
static void
test_nested_run_returns_its_result (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) outer = nest (f, "record");
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *inner = json_object_get_object_member (outer, "result");

  g_assert_nonnull (inner);
  g_assert_cmpstr (json_object_get_string_member (inner, "device"), ==, "a");
  g_assert_cmpstr (json_object_get_string_member (inner, "root"), ==, f->root_a);
  g_assert_cmpstr (json_object_get_string_member (inner, "label"), ==, "nested");
  runs = runs_of (f, json_object_get_string_member (outer, "task"));
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "device"), ==, "a");
}

static void
test_nested_run_failure_reaches_the_caller (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) outer = nest (f, "fail");
  g_autoptr (JsonArray) runs = NULL;

  g_assert_false (json_object_has_member (outer, "result"));
  g_assert_cmpstr (json_object_get_string_member (outer, "error"), ==, "asked to fail");
  runs = runs_of (f, json_object_get_string_member (outer, "task"));
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "failed");
}

static void
test_nested_run_stays_on_the_device (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) outer = nest (f, "group");

  g_assert_false (json_object_has_member (outer, "task"));
  g_assert_nonnull (strstr (json_object_get_string_member (outer, "error"),
                            "runs on the run's own device"));
}

static void
test_device_without_root_is_slash (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "b", NULL, NULL, NULL);
  g_autoptr (JsonArray) runs = NULL;

  vigil_host_run_until_idle (f->host, NULL);
  runs = runs_of (f, id);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (run_at (runs, 0),
                                                                                 "result"), "root"),
                   ==, "/");
}

static void
test_now_task_runs_once (Fixture *f, gconstpointer data)
{
  g_free (create_task (f, "tasks-test.record", "a", NULL, NULL, NULL));

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  f->now += DAYS (1);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
}

static void
test_failure_recorded_with_event (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.fail", "b", NULL, NULL, NULL);
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (JsonArray) events = NULL;
  JsonObject *payload;

  vigil_host_run_until_idle (f->host, NULL);
  runs = runs_of (f, id);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "error"), ==, "asked to fail");
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "message"), ==, "about to fail");

  events = vh_events_list (f->host, 0, "task.failed", NULL, 0, NULL);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (events, 0), "payload");
  g_assert_cmpstr (json_object_get_string_member (payload, "task_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (payload, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (payload, "error"), ==, "asked to fail");
}

static void
test_completed_event_emitted (Fixture *f, gconstpointer data)
{
  g_free (create_task (f, "tasks-test.record", "a", NULL, NULL, NULL));
  g_autoptr (JsonArray) events = NULL;
  JsonObject *event;

  vigil_host_run_until_idle (f->host, NULL);
  events = vh_events_list (f->host, 0, "task.completed", NULL, 0, NULL);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  event = json_array_get_object_element (events, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "device"), ==, "a");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "payload"),
                                                  "type"), ==, "tasks-test.record");
  /* The run's result travels with its end, for whoever sent the task. */
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
                     json_object_get_object_member (event, "payload"), "result"), "label"),
                   ==, "plain");
}

/* A result too large for an event stays with the run; the event says how
 * large it was. */
static void
test_completed_event_large_result_left_out (Fixture *f, gconstpointer data)
{
  g_autofree char *label = g_strnfill (70000, 'x');
  g_autoptr (JsonObject) params = params_with ("label", label);
  g_autoptr (JsonArray) events = NULL;
  JsonObject *payload;

  g_free (create_task (f, "tasks-test.record", "a", NULL, NULL, params));
  vigil_host_run_until_idle (f->host, NULL);
  events = vh_events_list (f->host, 0, "task.completed", NULL, 0, NULL);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (events, 0), "payload");
  g_assert_false (json_object_has_member (payload, "result"));
  g_assert_cmpint (json_object_get_int_member (payload, "result_bytes"), >, 70000);
}

/* ---- groups ---------------------------------------------------------- */

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static char *
devices_of (JsonArray *runs)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (runs); i++)
    g_ptr_array_add (names, (char *) json_object_get_string_member (run_at (runs, i), "device"));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static void
test_group_expands_subgroups_minus_exclusions (Fixture *f, gconstpointer data)
{
  const char *exclude[] = { "b", NULL };
  VigilTaskSpec spec = { .type = "tasks-test.record", .group_id = "lab",
                         .exclude_devices = exclude };
  g_autoptr (GError) error = NULL;
  g_autofree char *id = vh_tasks_create (f->host, "test", &spec, &error);
  g_autoptr (JsonArray) runs = NULL;
  g_autofree char *devices = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 2);
  runs = runs_of (f, id);
  devices = devices_of (runs);
  g_assert_cmpstr (devices, ==, "a,c");
}

static void
test_group_round_finished_once_after_every_run (Fixture *f, gconstpointer data)
{
  VigilTaskSpec spec = { .type = "tasks-test.record", .group_id = "lab" };
  g_autoptr (GError) error = NULL;
  g_autofree char *id = vh_tasks_create (f->host, "test", &spec, &error);
  g_autoptr (JsonArray) rounds = NULL;
  g_autoptr (JsonArray) all = NULL;
  JsonObject *payload;
  guint last_completed = 0, round_at = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), >=, 3);
  rounds = vh_events_list (f->host, 0, "task.round_finished", NULL, 0, NULL);
  g_assert_cmpuint (json_array_get_length (rounds), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (rounds, 0), "payload");
  g_assert_cmpstr (json_object_get_string_member (payload, "task_id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (payload, "type"), ==, "tasks-test.record");

  /* It comes after the last per-device outcome of the round. */
  all = vh_events_list (f->host, 0, NULL, NULL, 0, NULL);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      const char *type = json_object_get_string_member (json_array_get_object_element (all, i),
                                                        "type");
      if (g_strcmp0 (type, "task.completed") == 0)
        last_completed = i;
      else if (g_strcmp0 (type, "task.round_finished") == 0)
        round_at = i;
    }
  g_assert_cmpuint (round_at, >, last_completed);
}

static void
test_group_expands_when_the_round_starts (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", NULL, "lab-east",
                                     "{\"kind\":\"once\",\"at\":\"2026-11-22T12:00:00Z\"}", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autofree char *devices = NULL;

  g_assert_true (vh_inventory_device_add (f->host, "e", NULL, "lab-east", NULL, &error));
  f->now = T0 + HOURS (2);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 2);
  runs = runs_of (f, id);
  devices = devices_of (runs);
  g_assert_cmpstr (devices, ==, "c,e");
}

static void
test_device_removed_before_run_fails_clearly (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "d", NULL,
                                     "{\"kind\":\"once\",\"at\":\"2026-11-22T12:00:00Z\"}", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;

  g_assert_true (vh_inventory_device_remove (f->host, "d", &error));
  f->now = T0 + HOURS (2);
  vigil_host_run_until_idle (f->host, NULL);
  runs = runs_of (f, id);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "failed");
  g_assert_nonnull (strstr (json_object_get_string_member (run_at (runs, 0), "error"), "d"));
}

/* ---- schedules with the fake clock ----------------------------------- */

#define NIGHT "{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"07:00\"}"

/* Creates a window task at @created and returns how many runs happen at
 * each of the two later clock readings. */
static void
window_case (Fixture *f, gint64 created, gint64 first_look, guint runs_then,
             gint64 second_look, guint runs_later)
{
  g_autofree char *id = NULL;

  f->now = created;
  id = create_task (f, "tasks-test.record", "a", NULL, NIGHT, NULL);
  f->now = first_look;
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, runs_then);
  f->now = second_look;
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, runs_later);
}

static void
test_window_created_before_starts_at_window_start (Fixture *f, gconstpointer data)
{
  gint64 day = T0 - HOURS (10);   /* 2026-11-22 00:00 UTC */
  window_case (f, day + HOURS (19), day + HOURS (19) + MINUTES (59), 0, day + HOURS (20), 1);
}

static void
test_window_created_inside_starts_at_once (Fixture *f, gconstpointer data)
{
  gint64 day = T0 - HOURS (10);
  window_case (f, day + HOURS (21), day + HOURS (21), 1, day + HOURS (23), 0);
}

static void
test_window_created_after_starts_in_next_window (Fixture *f, gconstpointer data)
{
  gint64 day = T0 - HOURS (10);
  window_case (f, day + HOURS (8), day + HOURS (19), 0, day + HOURS (20) + MINUTES (30), 1);
}

static void
test_window_task_listed_with_next_start (Fixture *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autoptr (JsonObject) task = NULL;

  f->now = T0 - HOURS (2);   /* 08:00 */
  id = create_task (f, "tasks-test.record", "a", NULL, NIGHT, NULL);
  task = vh_tasks_get (f->host, id, NULL);
  g_assert_cmpstr (json_object_get_string_member (task, "state"), ==, "scheduled");
  g_assert_cmpstr (json_object_get_string_member (task, "next_start"), ==, "2026-11-22T20:00:00Z");
}

static void
test_daily_runs_again_next_day (Fixture *f, gconstpointer data)
{
  g_free (create_task (f, "tasks-test.record", "a", NULL,
                       "{\"kind\":\"daily\",\"at\":\"2026-11-22T10:00:00Z\"}", NULL));

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  f->now = T0 + HOURS (23);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
  f->now = T0 + DAYS (1);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
}

static void
test_hourly_runs_each_hour (Fixture *f, gconstpointer data)
{
  g_free (create_task (f, "tasks-test.record", "a", NULL,
                       "{\"kind\":\"hourly\"}", NULL));

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  f->now = T0 + MINUTES (59);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
  f->now = T0 + MINUTES (60);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
}

static void
test_once_in_the_past_runs (Fixture *f, gconstpointer data)
{
  g_free (create_task (f, "tasks-test.record", "a", NULL,
                       "{\"kind\":\"once\",\"at\":\"2026-11-21T10:00:00Z\"}", NULL));

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
}

static void
test_manual_waits_for_run_now (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "a", NULL, "{\"kind\":\"manual\"}", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
  g_assert_cmpuint (vh_tasks_run_now (f->host, id, NULL, &error), ==, 1);
  g_assert_no_error (error);
}

static void
test_on_start_and_after_update_triggers (Fixture *f, gconstpointer data)
{
  g_autofree char *start = create_task (f, "tasks-test.record", "a", NULL, "{\"kind\":\"on_start\"}", NULL);
  g_autofree char *update = create_task (f, "tasks-test.record", "b", NULL, "{\"kind\":\"after_update\"}", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *event = NULL;
  g_autoptr (JsonArray) start_runs = NULL;
  g_autoptr (JsonArray) update_runs = NULL;

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
  g_assert_cmpuint (vh_tasks_trigger (f->host, VH_SCHEDULE_ON_START), ==, 1);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  event = vigil_host_emit_event (f->host, "test", "host.database_updated", NULL, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  start_runs = runs_of (f, start);
  update_runs = runs_of (f, update);
  g_assert_cmpuint (json_array_get_length (start_runs), ==, 1);
  g_assert_cmpuint (json_array_get_length (update_runs), ==, 1);
}

/* ---- retention ------------------------------------------------------- */

static void
test_results_purged_after_retention (Fixture *f, gconstpointer data)
{
  g_autofree char *week = create_task (f, "tasks-test.record", "a", NULL, NULL, NULL);
  VigilTaskSpec spec = { .type = "tasks-test.record", .device_id = "b", .retention_days = 30 };
  g_autofree char *month = vh_tasks_create (f->host, "test", &spec, NULL);
  g_autoptr (JsonArray) week_runs = NULL;
  g_autoptr (JsonArray) month_runs = NULL;

  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 2);
  f->now += DAYS (6);
  g_assert_cmpuint (vh_tasks_purge (f->host), ==, 0);
  f->now += DAYS (2);
  g_assert_cmpuint (vh_tasks_purge (f->host), ==, 1);
  week_runs = runs_of (f, week);
  month_runs = runs_of (f, month);
  g_assert_cmpuint (json_array_get_length (week_runs), ==, 0);
  g_assert_cmpuint (json_array_get_length (month_runs), ==, 1);
}

/* ---- cancel ---------------------------------------------------------- */

typedef struct {
  Fixture    *f;
  const char *task_id;
  char       *marker;
  gboolean    other_process;
  int         exit_status;
} Canceller;

static gboolean
wait_for_file (const char *path)
{
  for (int i = 0; i < 3000; i++)
    {
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return TRUE;
      g_usleep (10 * 1000);
    }
  return FALSE;
}

static gpointer
cancel_when_started (gpointer data)
{
  Canceller *c = data;
  g_autofree char *started = g_strconcat (c->marker, ".a", NULL);

  if (!wait_for_file (started))
    return NULL;
  if (!c->other_process)
    vh_tasks_cancel (c->f->host, c->task_id, NULL);
  else
    {
      const char *argv[] = { g_getenv ("VIGIL_CLI"), "--state-dir", c->f->dir, "task",
                             "cancel", c->task_id, NULL };
      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                    NULL, NULL, &c->exit_status, NULL);
    }
  return NULL;
}

static void
run_and_cancel (Fixture *f, gboolean other_process)
{
  g_autofree char *marker = g_build_filename (f->dir, "started", NULL);
  g_autoptr (JsonObject) params = params_with ("marker", marker);
  g_autofree char *id = create_task (f, "tasks-test.wait", "a", NULL, NULL, params);
  Canceller c = { f, id, marker, other_process, -1 };
  GThread *thread = g_thread_new ("canceller", cancel_when_started, &c);
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (JsonObject) task = NULL;

  vigil_host_run_until_idle (f->host, NULL);
  g_thread_join (thread);
  if (other_process)
    g_assert_true (g_spawn_check_wait_status (c.exit_status, NULL));
  runs = runs_of (f, id);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "cancelled");
  task = vh_tasks_get (f->host, id, NULL);
  g_assert_cmpstr (json_object_get_string_member (task, "state"), ==, "cancelled");
}

static void
test_cancel_in_process (Fixture *f, gconstpointer data)
{
  run_and_cancel (f, FALSE);
}

static void
test_cancel_from_another_process (Fixture *f, gconstpointer data)
{
  if (g_getenv ("VIGIL_CLI") == NULL)
    {
      g_test_skip ("VIGIL_CLI is not set");
      return;
    }
  run_and_cancel (f, TRUE);
}

static void
test_cancelled_task_never_starts (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "a", NULL, NIGHT, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (vh_tasks_cancel (f->host, id, &error));
  f->now = T0 + HOURS (11);   /* 21:00, inside the window */
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);
  g_assert_cmpuint (vh_tasks_run_now (f->host, id, NULL, &error), ==, 0);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED);
}

/* No password can be asked from inside a run. */
static void
test_nested_run_refuses_a_protected_type (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonObject) outer = nest (f, "guarded");

  g_assert_false (json_object_has_member (outer, "task"));
  g_assert_nonnull (strstr (json_object_get_string_member (outer, "error"),
                            "'tasks-test.guarded' is a protected action"));
}

/* A cancel of the outer task reaches the run inside it. */
static void
test_nested_run_cancelled_with_its_caller (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "nested-started", NULL);
  g_autoptr (JsonObject) params = params_with ("marker", marker);
  g_autofree char *id = NULL;
  Canceller c = { f, NULL, marker, FALSE, -1 };
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (JsonArray) inner = NULL;
  JsonObject *result;
  GThread *thread;

  json_object_set_string_member (params, "step", "wait");
  id = create_task (f, "tasks-test.nest", "a", NULL, NULL, params);
  c.task_id = id;
  thread = g_thread_new ("canceller", cancel_when_started, &c);
  vigil_host_run_until_idle (f->host, NULL);
  g_thread_join (thread);
  runs = runs_of (f, id);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "cancelled");
  result = json_object_get_object_member (run_at (runs, 0), "result");
  g_assert_nonnull (strstr (json_object_get_string_member (result, "error"), "cancelled"));
  inner = runs_of (f, json_object_get_string_member (result, "task"));
  g_assert_cmpstr (json_object_get_string_member (run_at (inner, 0), "state"), ==, "cancelled");
}

static void
test_delete_removes_task_and_runs (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "a", NULL, NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;

  vigil_host_run_until_idle (f->host, NULL);
  g_assert_true (vh_tasks_delete (f->host, id, &error));
  g_assert_null (vh_tasks_get (f->host, id, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  runs = runs_of (f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 0);
}

static void
test_tasks_survive_reopen (Fixture *f, gconstpointer data)
{
  g_free (create_task (f, "tasks-test.record", "a", NULL, NIGHT, NULL));

  vigil_host_free (f->host);
  f->host = fixture_open_host (f);
  f->now = T0 + HOURS (10);   /* 20:00 */
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
}

static void
test_round_claimed_once_by_two_hosts (Fixture *f, gconstpointer data)
{
  VigilHost *other = fixture_open_host (f);
  g_autoptr (GPtrArray) mine = NULL;
  g_autoptr (GPtrArray) theirs = NULL;

  g_free (create_task (f, "tasks-test.record", NULL, "lab", NULL, NULL));
  theirs = vh_tasks_claim_due (other, NULL);
  mine = vh_tasks_claim_due (f->host, NULL);
  g_assert_cmpuint (theirs->len, ==, 3);
  g_assert_cmpuint (mine->len, ==, 0);
  g_assert_cmpuint (vh_runner_execute (other, theirs, NULL), ==, 3);
  vigil_host_free (other);
}

static gint64
dead_pid (void)
{
  const char *argv[] = { "/bin/true", NULL };
  GPid pid;
  int status;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, NULL));
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return pid;
}

static void
test_run_of_a_dead_process_is_closed (Fixture *f, gconstpointer data)
{
  g_autofree char *id = create_task (f, "tasks-test.record", "a", NULL, "{\"kind\":\"hourly\"}", NULL);
  g_autoptr (GPtrArray) jobs = vh_tasks_claim_due (f->host, NULL);
  g_autoptr (JsonArray) runs = NULL;
  sqlite3 *db;

  /* As if a serve claimed the round and was killed before finishing. */
  g_assert_cmpuint (jobs->len, ==, 1);
  db = vh_store_lock (vh_context (f->host)->store);
  g_assert_true (vh_sql_exec (db, "UPDATE runs SET runner_pid = ?", NULL, "i", dead_pid ()));
  vh_store_unlock (vh_context (f->host)->store);

  f->now += HOURS (1);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 1);
  runs = runs_of (f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "failed");
  g_assert_nonnull (strstr (json_object_get_string_member (run_at (runs, 0), "error"), "interrupted"));
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 1), "state"), ==, "completed");
}

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main (int argc, char **argv)
{
  fixture_init_env ();
  g_test_init (&argc, &argv, NULL);

  ADD ("/tasks/create/unknown-type-names-the-plugin", test_unknown_type_names_the_plugin);
  ADD ("/tasks/create/invalid-params-lists-every-problem", test_invalid_params_lists_every_problem);
  ADD ("/tasks/create/validate-callback-problem-has-path", test_validate_callback_problem_has_path);
  ADD ("/tasks/create/unknown-target-refused", test_unknown_target_refused);
  ADD ("/tasks/create/bad-schedule-refused", test_bad_schedule_refused);
  ADD ("/tasks/create/default-retention-is-seven-days", test_default_retention_is_seven_days);
  ADD ("/tasks/api/get-task-own-types-only", test_get_task_own_types_only);
  ADD ("/tasks/run/stores-progress-findings-result", test_run_stores_progress_findings_result);
  ADD ("/tasks/run/device-without-root-is-slash", test_device_without_root_is_slash);
  ADD ("/tasks/run/now-task-runs-once", test_now_task_runs_once);
  ADD ("/tasks/run/failure-recorded-with-event", test_failure_recorded_with_event);
  ADD ("/tasks/run/completed-event-emitted", test_completed_event_emitted);
  ADD ("/tasks/run/device-removed-before-run-fails-clearly", test_device_removed_before_run_fails_clearly);
  ADD ("/tasks/group/expands-subgroups-minus-exclusions", test_group_expands_subgroups_minus_exclusions);
  ADD ("/tasks/group/expands-when-the-round-starts", test_group_expands_when_the_round_starts);
  ADD ("/tasks/group/round-finished-once-after-every-run", test_group_round_finished_once_after_every_run);
  ADD ("/tasks/window/created-before-starts-at-window-start", test_window_created_before_starts_at_window_start);
  ADD ("/tasks/window/created-inside-starts-at-once", test_window_created_inside_starts_at_once);
  ADD ("/tasks/window/created-after-starts-in-next-window", test_window_created_after_starts_in_next_window);
  ADD ("/tasks/window/listed-with-next-start", test_window_task_listed_with_next_start);
  ADD ("/tasks/schedule/daily-runs-again-next-day", test_daily_runs_again_next_day);
  ADD ("/tasks/schedule/hourly-runs-each-hour", test_hourly_runs_each_hour);
  ADD ("/tasks/schedule/once-in-the-past-runs", test_once_in_the_past_runs);
  ADD ("/tasks/schedule/manual-waits-for-run-now", test_manual_waits_for_run_now);
  ADD ("/tasks/schedule/on-start-and-after-update-triggers", test_on_start_and_after_update_triggers);
  ADD ("/tasks/retention/results-purged-after-retention", test_results_purged_after_retention);
  ADD ("/tasks/cancel/in-process", test_cancel_in_process);
  ADD ("/tasks/cancel/from-another-process", test_cancel_from_another_process);
  ADD ("/tasks/cancel/cancelled-task-never-starts", test_cancelled_task_never_starts);
  ADD ("/tasks/delete/removes-task-and-runs", test_delete_removes_task_and_runs);
  ADD ("/tasks/run/completed-event-large-result-left-out", test_completed_event_large_result_left_out);
  ADD ("/tasks/nested/returns-its-result", test_nested_run_returns_its_result);
  ADD ("/tasks/nested/failure-reaches-the-caller", test_nested_run_failure_reaches_the_caller);
  ADD ("/tasks/nested/stays-on-the-device", test_nested_run_stays_on_the_device);
  ADD ("/tasks/nested/refuses-a-protected-type", test_nested_run_refuses_a_protected_type);
  ADD ("/tasks/nested/cancelled-with-its-caller", test_nested_run_cancelled_with_its_caller);
  ADD ("/tasks/store/survive-reopen", test_tasks_survive_reopen);
  ADD ("/tasks/store/run-of-a-dead-process-is-closed", test_run_of_a_dead_process_is_closed);
  ADD ("/tasks/store/round-claimed-once-by-two-hosts", test_round_claimed_once_by_two_hosts);
  return g_test_run ();
}
