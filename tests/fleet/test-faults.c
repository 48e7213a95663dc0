/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults in the middle of real runs, with real processes (the fleet, #13
 * requirement 5): the broker (Debian's nats-server through `vigil fleet
 * broker run`), `vigil serve` and several `vigil agent`s, each in its own
 * state folder. The runs are of the test plugin's `gate.wait`, which runs
 * until the test creates a file under the device's root, so a fault is
 * always injected while a run is provably in progress: after the console
 * printed the run's `running` state, before the test opens its gate.
 *
 * - an agent killed with SIGKILL during a run: started again, it ends the
 *   run failed ("the agent stopped during the run") and the next round runs;
 * - the broker restarted during a group run, with some agents' results
 *   stored and one agent still running: every run ends once, every result
 *   reaches the console;
 * - the console killed during a group run and started again after the
 *   agents finished: the results are stored once.
 */
#include "vt-lab.h"

#include <string.h>

#define GATE_PARAMS "{\"file\": \"/gate\"}"

/* Lets the run on the device rooted at @root end. */
static void
open_gate (const char *root)
{
  g_autofree char *gate = g_build_filename (root, "gate", NULL);
  g_assert_true (g_file_set_contents (gate, "", 0, NULL));
}

static void
wait_online (VtLab *lab, gsize mark, const char *id)
{
  g_autofree char *line = g_strdup_printf ("device '%s' is online", id);
  vt_proc_wait (lab->serve, mark, line);
}

static gint64
newest_run (VtLab *lab, const char *task)
{
  g_autoptr (JsonArray) runs = vt_lab_runs (lab, task);
  gint64 newest = 0;

  for (guint i = 0; i < json_array_get_length (runs); i++)
    newest = MAX (newest, json_object_get_int_member (json_array_get_object_element (runs, i),
                                                      "id"));
  return newest;
}

/* `task run ID`: the new round's run ids by device (dispatched, or
 * already further: the console and the agent do not wait for the test). */
static GHashTable *
run_round (VtLab *lab, const char *task)
{
  g_autoptr (JsonArray) runs = NULL;
  GHashTable *by_device = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 before = newest_run (lab, task);

  vt_cli_ok (lab->console, "task", "run", task, NULL);
  runs = vt_lab_runs (lab, task);
  for (guint i = 0; i < json_array_get_length (runs); i++)
    {
      JsonObject *run = json_array_get_object_element (runs, i);
      gint64 id = json_object_get_int_member (run, "id");

      if (id <= before)
        continue;
      g_assert_false (g_hash_table_contains (by_device,
                                             json_object_get_string_member (run, "device")));
      g_hash_table_insert (by_device, g_strdup (json_object_get_string_member (run, "device")),
                           GSIZE_TO_POINTER ((gsize) id));
    }
  return by_device;
}

static gint64
run_of (GHashTable *round, const char *id)
{
  gpointer v = g_hash_table_lookup (round, id);

  g_assert_nonnull (v);
  return (gint64) GPOINTER_TO_SIZE (v);
}

/* Waits for the console's line saying run @run of @id reached @state;
 * returns the mark after it. */
static gsize
wait_run (VtLab *lab, gsize mark, gint64 run, const char *id, const char *state)
{
  g_autofree char *line = vt_lab_run_line (run, id, state);
  return vt_proc_wait (lab->serve, mark, line);
}

/* The state and error of run @run in @results. */
static JsonObject *
result_of (JsonArray *results, gint64 run)
{
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *r = json_array_get_object_element (results, i);
      if (json_object_get_int_member (r, "id") == run)
        return r;
    }
  g_error ("no result of run %" G_GINT64_FORMAT, run);
  return NULL;
}

/* ---- an agent killed during a run -------------------------------------- */

static void
test_agent_killed (VtLab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = vt_lab_enroll (lab, "dev-k", NULL);
  g_autofree char *root = vt_lab_device_root (lab, "dev-k");
  g_autofree char *task = NULL, *journal = NULL;
  g_autoptr (GHashTable) first = NULL, second = NULL;
  g_autoptr (JsonArray) runs = NULL, results = NULL;
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *agent = vt_lab_agent_start (agent_dir, root, NULL);
  JsonObject *r;
  gint64 run;

  wait_online (lab, ms, "dev-k");
  task = vt_lab_task (lab, "gate.wait", "device:dev-k", GATE_PARAMS, NULL);
  first = run_round (lab, task);
  run = run_of (first, "dev-k");
  ms = wait_run (lab, ms, run, "dev-k", "running");

  /* Killed in the middle of the run: no stopping heartbeat, no report. */
  g_assert_cmpint (vt_proc_kill (agent), ==, -1);
  runs = vt_lab_runs (lab, task);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (runs, 0),
                                                  "state"), ==, "running");

  /* Started again: the run it was executing ends failed, saying why. */
  agent = vt_lab_agent_start (agent_dir, root, NULL);
  ms = wait_run (lab, ms, run, "dev-k", "failed");
  results = vt_lab_results (lab, task);
  r = result_of (results, run);
  g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (r, "error"), ==,
                   "the agent stopped during the run");
  g_assert_cmpuint (vt_lab_events (lab, "task.failed", task, "dev-k"), ==, 1);
  journal = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " was interrupted", task, run);
  vt_proc_wait (agent, 0, journal);

  /* The next round is not blocked, and runs. */
  open_gate (root);
  second = run_round (lab, task);
  g_assert_cmpint (run_of (second, "dev-k"), >, run);
  wait_run (lab, ms, run_of (second, "dev-k"), "dev-k", "completed");
  g_assert_cmpuint (vt_lab_events (lab, "task.completed", task, "dev-k"), ==, 1);
  g_assert_cmpuint (vt_lab_events (lab, "task.failed", task, "dev-k"), ==, 1);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* ---- the broker restarted during a group run --------------------------- */

#define N_GROUP 3
static const char *const group_ids[N_GROUP] = { "dev-a", "dev-b", "dev-c" };

typedef struct {
  char   *dir[N_GROUP], *root[N_GROUP];
  VtProc *agent[N_GROUP];
} Agents;

static void
agents_start (VtLab *lab, Agents *a)
{
  gsize ms = vt_proc_mark (lab->serve);

  for (guint i = 0; i < N_GROUP; i++)
    {
      a->dir[i] = vt_lab_enroll (lab, group_ids[i], NULL);
      a->root[i] = vt_lab_device_root (lab, group_ids[i]);
      a->agent[i] = vt_lab_agent_start (a->dir[i], a->root[i], NULL);
    }
  for (guint i = 0; i < N_GROUP; i++)
    wait_online (lab, ms, group_ids[i]);
}

static void
agents_stop (Agents *a)
{
  for (guint i = 0; i < N_GROUP; i++)
    {
      g_assert_cmpint (vt_proc_stop (a->agent[i]), ==, 0);
      g_free (a->dir[i]);
      g_free (a->root[i]);
    }
}

/* Every run of @round ended completed, once: one result each, one
 * task.completed each, one task.round_finished. */
static void
assert_round_completed_once (VtLab *lab, const char *task, GHashTable *round)
{
  g_autoptr (JsonArray) results = vt_lab_results (lab, task);

  g_assert_cmpuint (json_array_get_length (results), ==, N_GROUP);
  for (guint i = 0; i < N_GROUP; i++)
    {
      JsonObject *r = result_of (results, run_of (round, group_ids[i]));

      g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "completed");
      g_assert_cmpstr (json_object_get_string_member (r, "device"), ==, group_ids[i]);
      g_assert_cmpuint (vt_lab_events (lab, "task.completed", task, group_ids[i]), ==, 1);
    }
  g_assert_cmpuint (vt_lab_events (lab, "task.failed", task, NULL), ==, 0);
  g_assert_cmpuint (vt_lab_events (lab, "task.round_finished", task, NULL), ==, 1);
}

static void
test_broker_restart (VtLab *lab, gconstpointer data)
{
  Agents a = { 0 };
  g_autofree char *task = NULL, *ran = NULL;
  g_autoptr (GHashTable) round = NULL;
  gsize ms, mc;

  agents_start (lab, &a);
  task = vt_lab_task (lab, "gate.wait", "group:lab", GATE_PARAMS, NULL);
  ms = vt_proc_mark (lab->serve);
  round = run_round (lab, task);
  g_assert_cmpuint (g_hash_table_size (round), ==, N_GROUP);
  for (guint i = 0; i < N_GROUP; i++)
    wait_run (lab, ms, run_of (round, group_ids[i]), group_ids[i], "running");

  /* Two agents report; the third is still running. */
  open_gate (a.root[0]);
  open_gate (a.root[1]);
  for (guint i = 0; i < 2; i++)
    wait_run (lab, ms, run_of (round, group_ids[i]), group_ids[i], "completed");

  /* The broker goes away, the third run ends meanwhile: its report waits
   * in its agent's outbox. */
  mc = vt_proc_mark (a.agent[2]);
  vt_proc_stop (lab->broker);
  lab->broker = NULL;
  ms = vt_proc_wait (lab->serve, ms, "disconnected from the broker");
  vt_proc_wait (a.agent[2], mc, "disconnected from the broker");
  open_gate (a.root[2]);
  ran = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " completed", task,
                         run_of (round, group_ids[2]));
  vt_proc_wait (a.agent[2], mc, ran);

  /* Back: the last report reaches the console, every run ended once. */
  lab->broker = vt_lab_broker_start (lab);
  wait_run (lab, ms, run_of (round, group_ids[2]), group_ids[2], "completed");
  assert_round_completed_once (lab, task, round);

  /* And the task's next round goes out and comes back as usual. */
  {
    g_autoptr (GHashTable) next = NULL;

    ms = vt_proc_mark (lab->serve);
    next = run_round (lab, task);
    for (guint i = 0; i < N_GROUP; i++)
      wait_run (lab, ms, run_of (next, group_ids[i]), group_ids[i], "completed");
  }
  agents_stop (&a);
}

/* ---- the console killed during a group run ----------------------------- */

static void
test_console_restart (VtLab *lab, gconstpointer data)
{
  Agents a = { 0 };
  g_autofree char *task = NULL;
  g_autoptr (GHashTable) round = NULL;
  g_autoptr (JsonArray) waiting = NULL;
  gsize ms;

  agents_start (lab, &a);
  task = vt_lab_task (lab, "gate.wait", "group:lab", GATE_PARAMS, NULL);
  ms = vt_proc_mark (lab->serve);
  round = run_round (lab, task);
  for (guint i = 0; i < N_GROUP; i++)
    wait_run (lab, ms, run_of (round, group_ids[i]), group_ids[i], "running");

  /* The console crashes; the agents finish while it is away. */
  g_assert_cmpint (vt_proc_kill (lab->serve), ==, -1);
  lab->serve = NULL;
  for (guint i = 0; i < N_GROUP; i++)
    {
      g_autofree char *ran = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " completed", task,
                                              run_of (round, group_ids[i]));
      open_gate (a.root[i]);
      vt_proc_wait (a.agent[i], 0, ran);
    }
  waiting = vt_lab_runs (lab, task);
  for (guint i = 0; i < json_array_get_length (waiting); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (waiting, i),
                                                    "state"), ==, "running");

  /* Back: every result is stored, once. */
  lab->serve = vt_lab_serve_start (lab);
  for (guint i = 0; i < N_GROUP; i++)
    wait_run (lab, 0, run_of (round, group_ids[i]), group_ids[i], "completed");
  assert_round_completed_once (lab, task, round);
  agents_stop (&a);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/faults/agent-killed", VtLab, NULL, vt_lab_setup, test_agent_killed,
              vt_lab_teardown);
  g_test_add ("/fleet/faults/broker-restart", VtLab, NULL, vt_lab_setup, test_broker_restart,
              vt_lab_teardown);
  g_test_add ("/fleet/faults/console-restart", VtLab, NULL, vt_lab_setup, test_console_restart,
              vt_lab_teardown);
  return g_test_run ();
}
