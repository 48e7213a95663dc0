/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clock skew between an agent and the console, with real processes: the
 * agent (`vigil agent enroll` and `vigil agent`) runs under libfaketime
 * (Debian's faketime) two days ahead or two days behind, while the broker
 * and the console keep the machine's clock. Enrollment, dispatch, results,
 * heartbeats and the online state, schedules and retention must all stay
 * right: the console keeps every time on its own clock. That the agent's
 * clock really is skewed is checked in the agent's own store, where its
 * local copy of the run carries the agent's times.
 */
#include "vt-lab.h"

#include <string.h>

#define SKEW_S     (2 * 24 * 3600)
#define SLACK_S    600          /* the test's own duration, generously */
#define GATE_PARAMS "{\"file\": \"/gate\"}"

/* Seconds between the ISO-8601 time @iso and the test's (the console's)
 * clock now. */
static gint64
offset_s (const char *iso)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_iso8601 (iso, NULL);

  g_assert_nonnull (t);
  return g_date_time_to_unix (t) - g_get_real_time () / G_USEC_PER_SEC;
}

static void
assert_now (const char *iso)
{
  gint64 off = offset_s (iso);
  g_assert_cmpint (off, >, -SLACK_S);
  g_assert_cmpint (off, <, SLACK_S);
}

static char *
iso_in (gint64 seconds)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) t = g_date_time_add_seconds (now, (double) seconds);
  return g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ");
}

static gint64
only_run (VtLab *lab, const char *task)
{
  g_autoptr (JsonArray) runs = vt_lab_runs (lab, task);

  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  return json_object_get_int_member (json_array_get_object_element (runs, 0), "id");
}

static void
test_skew (VtLab *lab, gconstpointer data)
{
  const char *skew = data;   /* "+2d" or "-2d" */
  gint64 sign = skew[0] == '-' ? -1 : 1;
  g_autofree char *lib = vt_lab_faketime_lib ();
  g_autofree char *preload = g_strconcat ("LD_PRELOAD=", lib, NULL);
  g_autofree char *faketime = g_strconcat ("FAKETIME=", skew, NULL);
  /* Monotonic time stays real: only the wall clock is wrong. ASan must
   * accept a library loaded before its runtime. */
  const char *env[] = { preload, faketime, "FAKETIME_DONT_FAKE_MONOTONIC=1",
                        "ASAN_OPTIONS=intercept_tls_get_addr=0:verify_asan_link_order=0", NULL };
  g_autofree char *agent_dir = vt_lab_enroll (lab, "dev-s", env);
  g_autofree char *root = vt_lab_device_root (lab, "dev-s");
  g_autofree char *gate = g_build_filename (root, "gate", NULL);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *done = NULL, *published = NULL;
  g_autofree char *past = iso_in (-60), *future = iso_in (24 * 3600), *once_past = NULL;
  g_autofree char *once_future = NULL, *params = g_build_filename (lab->dir, "gate.json", NULL);
  g_autoptr (JsonObject) shown = NULL, task = NULL;
  g_autoptr (JsonArray) results = NULL, later = NULL, none = NULL, local_results = NULL;
  JsonObject *agent, *r;
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *proc;
  gint64 run;

  g_assert_true (g_file_set_contents (gate, "", 0, NULL));
  g_assert_true (g_file_set_contents (params, GATE_PARAMS, -1, NULL));
  proc = vt_lab_agent_start (agent_dir, root, env);
  vt_proc_wait (lab->serve, ms, "device 'dev-s' is online");

  /* Online, last seen now on the console's clock. */
  shown = vt_lab_json (lab->console, "device", "show", "dev-s", NULL);
  agent = json_object_get_object_member (shown, "agent");
  g_assert_true (json_object_get_boolean_member (agent, "online"));
  {
    gint64 off = json_object_get_int_member (agent, "last_seen") / G_USEC_PER_SEC
                 - g_get_real_time () / G_USEC_PER_SEC;
    g_assert_cmpint (off, >, -SLACK_S);
    g_assert_cmpint (off, <, SLACK_S);
  }

  /* Dispatch and result: times on the console's clock. A retention of one
   * day would drop the result at once if the agent's time (two days
   * behind) were taken for its end. */
  task = vt_lab_json (lab->console, "task", "create", "--type", "gate.wait", "--device", "dev-s",
                      "--params", params, "--schedule", "{\"kind\": \"manual\"}",
                      "--retention-days", "1", NULL);
  t1 = g_strdup (json_object_get_string_member (task, "id"));
  vt_cli_ok (lab->console, "task", "run", t1, NULL);
  run = only_run (lab, t1);
  done = vt_lab_run_line (run, "dev-s", "completed");
  ms = vt_proc_wait (lab->serve, ms, done);
  results = vt_lab_results (lab, t1);
  g_assert_cmpuint (json_array_get_length (results), ==, 1);
  r = json_array_get_object_element (results, 0);
  g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "completed");
  assert_now (json_object_get_string_member (r, "started"));
  assert_now (json_object_get_string_member (r, "finished"));

  /* The agent's clock really is skewed: its own copy of the run has its
   * times. */
  {
    g_autoptr (JsonArray) tasks = vt_lab_json_array (agent_dir, "task", "list", NULL);
    g_autofree char *name = g_strdup_printf ("%s.%" G_GINT64_FORMAT, t1, run);
    const char *id = NULL;

    for (guint i = 0; i < json_array_get_length (tasks); i++)
      if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (tasks, i),
                                                    "name"), name) == 0)
        id = json_object_get_string_member (json_array_get_object_element (tasks, i), "id");
    g_assert_nonnull (id);
    local_results = vt_lab_json_array (agent_dir, "task", "results", id, NULL);
  }
  g_assert_cmpuint (json_array_get_length (local_results), ==, 1);
  {
    gint64 off = offset_s (json_object_get_string_member (
                             json_array_get_object_element (local_results, 0), "finished"));
    g_assert_cmpint (off * sign, >, SKEW_S - SLACK_S);
    g_assert_cmpint (off * sign, <, SKEW_S + SLACK_S);
  }

  /* Schedules are the console's: a task due a minute ago runs, one due
   * tomorrow does not, whatever the agent's clock says. */
  once_future = g_strdup_printf ("{\"kind\": \"once\", \"at\": \"%s\"}", future);
  once_past = g_strdup_printf ("{\"kind\": \"once\", \"at\": \"%s\"}", past);
  t3 = vt_lab_task (lab, "gate.wait", "device:dev-s", GATE_PARAMS, once_future);
  t2 = vt_lab_task (lab, "gate.wait", "device:dev-s", GATE_PARAMS, once_past);
  published = g_strdup_printf ("of task %s published to device 'dev-s'", t2);
  vt_proc_wait (lab->serve, ms, published);
  g_free (done);
  done = vt_lab_run_line (only_run (lab, t2), "dev-s", "completed");
  vt_proc_wait (lab->serve, ms, done);
  none = vt_lab_runs (lab, t3);
  g_assert_cmpuint (json_array_get_length (none), ==, 0);

  /* Retention ran since (before the second task was claimed): the first
   * result, one day's retention, is still there. */
  later = vt_lab_results (lab, t1);
  g_assert_cmpuint (json_array_get_length (later), ==, 1);
  g_assert_cmpint (vt_proc_stop (proc), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/faults/skew/agent-ahead", VtLab, "+2d", vt_lab_setup, test_skew,
              vt_lab_teardown);
  g_test_add ("/fleet/faults/skew/agent-behind", VtLab, "-2d", vt_lab_setup, test_skew,
              vt_lab_teardown);
  return g_test_run ();
}
