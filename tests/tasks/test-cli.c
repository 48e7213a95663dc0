/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The event and task commands as an admin or a script runs them: the real
 * `vigil` binary as a child process on the fixture's state folder, checked
 * by exit code, --json output and error text.
 */
#include "fixture.h"

#include <signal.h>
#include <sys/stat.h>

typedef struct {
  int   status;
  char *out;
  char *err;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Runs `vigil --state-dir DIR --plugin-dir P ARGS...`, with @input on stdin. */
static Result
vigil (Fixture *f, const char *input, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) child = NULL;
  g_autoptr (GError) error = NULL;
  Result r = { 0 };
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (char *) g_getenv ("VIGIL_CLI"));
  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, f->dir);
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"));
  va_start (ap, input);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  child = g_subprocess_newv ((const char *const *) argv->pdata,
                             G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                             | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (child, input, NULL, &r.out, &r.err, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (child));
  r.status = g_subprocess_get_exit_status (child);
  return r;
}

static JsonNode *
parse_json (const char *text)
{
  JsonNode *node = json_from_string (text, NULL);
  if (node == NULL)
    g_error ("not JSON: %s", text);
  return node;
}

static void
test_event_emit_runs_the_chain (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, "{\"note\":\"hello\"}", "event", "emit", "tasks-test.ping", "-",
                    "--device", "a", "--json", NULL);
  g_autoptr (JsonNode) node = NULL;
  JsonObject *o;

  g_assert_cmpint (r.status, ==, 0);
  node = parse_json (r.out);
  o = json_node_get_object (node);
  g_assert_cmpuint (strlen (json_object_get_string_member (o, "event")), ==, 36);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "runs")), ==, 2);
  /* ping, pong, and for each of the two tasks task.completed then
   * task.round_finished */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "events")), ==, 6);
  result_clear (&r);
}

static void
test_event_emit_no_run_only_stores (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, NULL, "event", "emit", "tasks-test.ping", "--device", "a", "--no-run",
                    "--json", NULL);
  g_autoptr (JsonNode) node = NULL;

  g_assert_cmpint (r.status, ==, 0);
  node = parse_json (r.out);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (node),
                                                                         "runs")), ==, 0);
  result_clear (&r);
}

static void
test_event_emit_bad_payload_names_stdin (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, "{\n  \"note\": ]\n}", "event", "emit", "a.b", "-", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "vigil event emit: stdin: the payload is not valid JSON: "
                                   "line 2, column"));
  result_clear (&r);
}

/* A payload file must be a regular file: /dev/zero (size 0 by stat, no
 * end) and a FIFO without a writer fail at once with the reason. */
static void
test_event_emit_payload_not_regular (Fixture *f, gconstpointer data)
{
  g_autofree char *fifo = g_build_filename (f->dir, "payload.json", NULL);
  const char *paths[] = { "/dev/zero", fifo };

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      Result r = vigil (f, NULL, "event", "emit", "a.b", paths[i], NULL);
      g_autofree char *expected = g_strconcat (paths[i], ": not a regular file", NULL);

      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, expected));
      result_clear (&r);
    }
}

/* Ctrl-C during `task run` used to kill it with its run left "running":
 * the run is cancelled, recorded as such, and task run exits 1. */
static void
test_task_run_sigint_cancels (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "waiting", NULL);
  g_autofree char *started = g_strconcat (marker, ".a", NULL);
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (GSubprocess) child = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  int i;

  json_object_set_string_member (params, "marker", marker);
  id = create_task (f, "tasks-test.wait", "a", NULL, NULL, params);
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            &error, g_getenv ("VIGIL_CLI"), "--state-dir", f->dir,
                            "--plugin-dir", g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"),
                            "task", "run", id, NULL);
  g_assert_no_error (error);
  /* A bounded poll for the run to start: it fails a hung test only. */
  for (i = 0; i < 3000 && !g_file_test (started, G_FILE_TEST_EXISTS); i++)
    g_usleep (10 * 1000);
  g_assert_true (g_file_test (started, G_FILE_TEST_EXISTS));
  g_subprocess_send_signal (child, SIGINT);
  g_assert_true (g_subprocess_wait (child, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 1);
  runs = runs_of (f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "cancelled");
}

/* A run whose plugin ignores the cancel used to hold `task run` until the
 * plugin returned: it is ended (recorded cancelled, saying so) a grace
 * period after the cancel while the plugin still runs, and what the
 * plugin returns later is ignored. */
static void
test_run_ignoring_cancel_ended (Fixture *f, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (f->dir, "stubborn", NULL);
  g_autofree char *started = g_strconcat (marker, ".a", NULL);
  g_autofree char *release = g_strconcat (marker, ".release", NULL);
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (GSubprocess) child = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  int i;

  json_object_set_string_member (params, "marker", marker);
  id = create_task (f, "tasks-test.stubborn", "a", NULL, NULL, params);
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            &error, g_getenv ("VIGIL_CLI"), "--state-dir", f->dir,
                            "--plugin-dir", g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"),
                            "task", "run", id, NULL);
  g_assert_no_error (error);
  for (i = 0; i < 3000 && !g_file_test (started, G_FILE_TEST_EXISTS); i++)
    g_usleep (10 * 1000);
  g_assert_true (g_file_test (started, G_FILE_TEST_EXISTS));
  g_subprocess_send_signal (child, SIGINT);
  /* The plugin is still waiting for its release file: only the host can
   * end the run. Bounded poll; the condition is the run's recorded end. */
  for (i = 0; i < 3000; i++)
    {
      g_clear_pointer (&runs, json_array_unref);
      runs = runs_of (f, id);
      if (g_str_equal (json_object_get_string_member (run_at (runs, 0), "state"), "cancelled"))
        break;
      g_usleep (10 * 1000);
    }
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "cancelled");
  g_assert_nonnull (strstr (json_object_get_string_member (run_at (runs, 0), "error"),
                            "run of plugin tasks-test did not stop within 3 s of the cancel"));
  g_assert_true (g_file_set_contents (release, "go", -1, NULL));
  g_assert_true (g_subprocess_wait (child, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 1);
  g_clear_pointer (&runs, json_array_unref);
  runs = runs_of (f, id);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "cancelled");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (run_at (runs, 0),
                                                                          "findings")), ==, 0);
}

static void
test_event_emit_unknown_device_refused (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, NULL, "event", "emit", "a.b", "--device", "nobody", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "nobody"));
  result_clear (&r);
}

static void
test_events_filters (Fixture *f, gconstpointer data)
{
  Result a = vigil (f, NULL, "event", "emit", "quarantine.added", "--device", "a", "--no-run", NULL);
  Result b = vigil (f, NULL, "event", "emit", "ioc.found", "--device", "b", "--no-run", NULL);
  Result r = vigil (f, NULL, "events", "--since", "30m", "--type", "quarantine.*", "--json", NULL);
  g_autoptr (JsonNode) node = NULL;
  Result bad = vigil (f, NULL, "events", "--since", "yesterday", NULL);

  g_assert_cmpint (r.status, ==, 0);
  node = parse_json (r.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 1);
  g_assert_cmpint (bad.status, ==, 2);
  g_assert_nonnull (strstr (bad.err, "--since 'yesterday'"));
  result_clear (&a);
  result_clear (&b);
  result_clear (&r);
  result_clear (&bad);
}

static void
test_task_create_reports_every_problem (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, "{\"count\":50,\"zz\":1}", "task", "create", "--type", "tasks-test.record",
                    "--device", "a", "--params", "-", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "params.zz"));
  g_assert_nonnull (strstr (r.err, "params.count"));
  result_clear (&r);
}

static void
test_task_run_and_results (Fixture *f, gconstpointer data)
{
  Result created = vigil (f, NULL, "task", "create", "--type", "tasks-test.record", "--group", "lab",
                          "--exclude", "b", "--schedule", "{\"kind\":\"manual\"}", "--json", NULL);
  g_autoptr (JsonNode) task = parse_json (created.out);
  const char *id = json_object_get_string_member (json_node_get_object (task), "id");
  Result run = vigil (f, NULL, "task", "run", id, NULL);
  Result results = vigil (f, NULL, "task", "results", id, "--json", NULL);
  g_autoptr (JsonNode) runs = parse_json (results.out);

  g_assert_cmpint (created.status, ==, 0);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "2 runs"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 2);
  result_clear (&created);
  result_clear (&run);
  result_clear (&results);
}

static void
test_task_run_failure_exits_1 (Fixture *f, gconstpointer data)
{
  Result created = vigil (f, NULL, "task", "create", "--type", "tasks-test.fail", "--device", "b",
                          "--schedule", "{\"kind\":\"manual\"}", "--json", NULL);
  g_autoptr (JsonNode) task = parse_json (created.out);
  const char *id = json_object_get_string_member (json_node_get_object (task), "id");
  Result run = vigil (f, NULL, "task", "run", id, NULL);

  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.out, "asked to fail"));
  result_clear (&created);
  result_clear (&run);
}

static void
test_task_unknown_id (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, NULL, "task", "show", "nope", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "vigil task show: no task 'nope'"));
  result_clear (&r);
}

static void
test_event_emit_failed_run_exits_1 (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, NULL, "event", "emit", "tasks-test.doom", "--device", "a", NULL);
  Result ok = vigil (f, NULL, "event", "emit", "tasks-test.ping", "--device", "a", NULL);

  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "asked to fail"));
  g_assert_cmpint (ok.status, ==, 0);
  result_clear (&r);
  result_clear (&ok);
}

/* The devices of a task's first round. */
static guint
round_devices (Fixture *f, const char *id, GHashTable *devices)
{
  Result run = vigil (f, NULL, "task", "run", id, NULL);
  Result results = vigil (f, NULL, "task", "results", id, "--json", NULL);
  g_autoptr (JsonNode) runs = parse_json (results.out);
  JsonArray *list = json_node_get_array (runs);

  g_assert_cmpint (run.status, ==, 0);
  for (guint i = 0; i < json_array_get_length (list); i++)
    g_hash_table_add (devices, g_strdup (json_object_get_string_member (
                                  json_array_get_object_element (list, i), "device")));
  result_clear (&run);
  result_clear (&results);
  return g_hash_table_size (devices);
}

static void
test_task_create_excludes_a_group (Fixture *f, gconstpointer data)
{
  const char *forms[] = { "lab-east", "group:lab-east" };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      Result created = vigil (f, NULL, "task", "create", "--type", "tasks-test.record",
                              "--group", "root", "--exclude", forms[i], "--exclude", "d",
                              "--schedule", "{\"kind\":\"manual\"}", "--json", NULL);
      g_autoptr (JsonNode) task = parse_json (created.out);
      g_autoptr (GHashTable) devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      JsonArray *exclude = json_object_get_array_member (json_node_get_object (task), "exclude");

      g_assert_cmpint (created.status, ==, 0);
      g_assert_cmpstr (json_array_get_string_element (exclude, 0), ==, "group:lab-east");
      g_assert_cmpstr (json_array_get_string_element (exclude, 1), ==, "d");
      /* c is in lab-east, d excluded by name: a and b remain. */
      g_assert_cmpuint (round_devices (f, json_object_get_string_member (json_node_get_object (task), "id"),
                                       devices), ==, 2);
      g_assert_true (g_hash_table_contains (devices, "a"));
      g_assert_true (g_hash_table_contains (devices, "b"));
      result_clear (&created);
    }
}

static void
test_task_create_unknown_exclusion_refused (Fixture *f, gconstpointer data)
{
  Result r = vigil (f, NULL, "task", "create", "--type", "tasks-test.record", "--group", "lab",
                    "--exclude", "nobody", NULL);
  Result g = vigil (f, NULL, "task", "create", "--type", "tasks-test.record", "--group", "lab",
                    "--exclude", "group:a", NULL);
  Result list = vigil (f, NULL, "task", "list", "--json", NULL);
  g_autoptr (JsonNode) tasks = parse_json (list.out);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "exclusion 'nobody': no device or group with that id"));
  /* a is a device, not a group. */
  g_assert_cmpint (g.status, ==, 2);
  g_assert_nonnull (strstr (g.err, "exclusion 'group:a': no group with that id"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (tasks)), ==, 0);
  result_clear (&r);
  result_clear (&g);
  result_clear (&list);
}

static void
test_task_create_retention_zero_refused (Fixture *f, gconstpointer data)
{
  Result zero = vigil (f, NULL, "task", "create", "--type", "tasks-test.record", "--device", "a",
                       "--retention-days", "0", NULL);
  Result one = vigil (f, NULL, "task", "create", "--type", "tasks-test.record", "--device", "a",
                      "--retention-days", "1", "--json", NULL);
  g_autoptr (JsonNode) task = parse_json (one.out);

  g_assert_cmpint (zero.status, ==, 2);
  g_assert_nonnull (strstr (zero.err, "--retention-days 0: results are kept 1 to 3650 days"));
  g_assert_cmpint (one.status, ==, 0);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (task), "retention_days"), ==, 1);
  result_clear (&zero);
  result_clear (&one);
}

static void
test_task_create_prints_warnings (Fixture *f, gconstpointer data)
{
  Result text = vigil (f, "{\"label\":\"odd\"}", "task", "create", "--type", "tasks-test.record",
                       "--device", "a", "--params", "-", NULL);
  Result json = vigil (f, "{\"label\":\"odd\"}", "task", "create", "--type", "tasks-test.record",
                       "--device", "a", "--params", "-", "--json", NULL);
  g_autoptr (JsonNode) task = parse_json (json.out);
  JsonArray *warnings = json_object_get_array_member (json_node_get_object (task), "warnings");

  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.err, "warning: params.label: 'odd' is an odd label"));
  g_assert_cmpint (json.status, ==, 0);
  g_assert_cmpuint (json_array_get_length (warnings), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (warnings, 0),
                                                  "path"), ==, "params.label");
  result_clear (&text);
  result_clear (&json);
}

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main (int argc, char **argv)
{
  fixture_init_env ();
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("VIGIL_CLI") == NULL)
    {
      g_printerr ("VIGIL_CLI is not set: run through meson test\n");
      return 77;
    }
  ADD ("/cli/event-emit/runs-the-chain", test_event_emit_runs_the_chain);
  ADD ("/cli/event-emit/no-run-only-stores", test_event_emit_no_run_only_stores);
  ADD ("/cli/event-emit/bad-payload-names-stdin", test_event_emit_bad_payload_names_stdin);
  ADD ("/cli/event-emit/unknown-device-refused", test_event_emit_unknown_device_refused);
  ADD ("/cli/event-emit/payload-not-regular", test_event_emit_payload_not_regular);
  ADD ("/cli/task-run/sigint-cancels", test_task_run_sigint_cancels);
  ADD ("/cli/task-run/run-ignoring-cancel-ended", test_run_ignoring_cancel_ended);
  ADD ("/cli/events/filters", test_events_filters);
  ADD ("/cli/task/create-reports-every-problem", test_task_create_reports_every_problem);
  ADD ("/cli/task/run-and-results", test_task_run_and_results);
  ADD ("/cli/task/run-failure-exits-1", test_task_run_failure_exits_1);
  ADD ("/cli/task/unknown-id", test_task_unknown_id);
  ADD ("/cli/event-emit/failed-run-exits-1", test_event_emit_failed_run_exits_1);
  ADD ("/cli/task/create-excludes-a-group", test_task_create_excludes_a_group);
  ADD ("/cli/task/create-unknown-exclusion-refused", test_task_create_unknown_exclusion_refused);
  ADD ("/cli/task/create-retention-zero-refused", test_task_create_retention_zero_refused);
  ADD ("/cli/task/create-prints-warnings", test_task_create_prints_warnings);
  return g_test_run ();
}
