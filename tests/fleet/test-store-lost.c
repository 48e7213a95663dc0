/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A broker that loses its store (the fleet, #13 requirement 5), with real
 * processes: the broker is stopped, its JetStream folder deleted, and it
 * is started again empty, while three devices are in three situations:
 *
 * - dev-o's run was published while its agent was offline: the console
 *   publishes it again after reconnecting (its store still says
 *   `dispatched`), and the agent executes it once when it comes;
 * - dev-s ended its run while the broker was down: its end waited in the
 *   agent's outbox and is published into the new stream;
 * - dev-u's end was stored in the old stream but never read by the
 *   console (it was down): that report is lost with the store. The
 *   console publishes the run again; the agent, whose journal says it
 *   ran, does not run it again and reports that its report was lost, so
 *   the run ends, once, saying so.
 *
 * The runs are of the test plugin's `gate.wait`, ended by the test.
 */
#include "vt-lab.h"

#include <string.h>

#define GATE_PARAMS "{\"file\": \"/gate\"}"
#define LOST_REASON "the agent ran it once already, and its report of that was lost " \
                    "(the broker lost its store): executed once, result unknown"

typedef struct {
  const char *id;
  char       *dir, *root, *task;
  gint64      run;
  VtProc     *agent;
} Device;

static void
open_gate (Device *d)
{
  g_autofree char *gate = g_build_filename (d->root, "gate", NULL);
  g_assert_true (g_file_set_contents (gate, "", 0, NULL));
}

static void
device_init (VtLab *lab, Device *d, const char *id)
{
  d->id = id;
  d->dir = vt_lab_enroll (lab, id, NULL);
  d->root = vt_lab_device_root (lab, id);
}

static void
device_clear (Device *d)
{
  if (d->agent != NULL)
    g_assert_cmpint (vt_proc_stop (d->agent), ==, 0);
  g_free (d->dir);
  g_free (d->root);
  g_free (d->task);
}

static void
agent_start (VtLab *lab, Device *d)
{
  g_autofree char *online = g_strdup_printf ("device '%s' is online", d->id);
  gsize ms = vt_proc_mark (lab->serve);

  d->agent = vt_lab_agent_start (d->dir, d->root, NULL);
  vt_proc_wait (lab->serve, ms, online);
}

/* A gate.wait task for @d, one round of it; its run id. */
static void
run_task (VtLab *lab, Device *d)
{
  g_autofree char *target = g_strdup_printf ("device:%s", d->id);
  g_autoptr (JsonArray) runs = NULL;

  d->task = vt_lab_task (lab, "gate.wait", target, GATE_PARAMS, NULL);
  vt_cli_ok (lab->console, "task", "run", d->task, NULL);
  runs = vt_lab_runs (lab, d->task);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  d->run = json_object_get_int_member (json_array_get_object_element (runs, 0), "id");
}

/* The console's line: the run published anew (not "the stream had it"). */
static char *
published_line (Device *d)
{
  return g_strdup_printf ("run %s.%" G_GINT64_FORMAT " of task %s published to device '%s'\n",
                          d->task, d->run, d->task, d->id);
}

static void
wait_console (VtLab *lab, gsize mark, Device *d, const char *state)
{
  g_autofree char *line = vt_lab_run_line (d->run, d->id, state);
  vt_proc_wait (lab->serve, mark, line);
}

static JsonObject *
only_result (VtLab *lab, Device *d)
{
  g_autoptr (JsonArray) results = vt_lab_results (lab, d->task);

  g_assert_cmpuint (json_array_get_length (results), ==, 1);
  return json_object_ref (json_array_get_object_element (results, 0));
}

/* Whether the agent's outbox holds a report not yet acknowledged. */
static gboolean
outbox_empty (Device *d)
{
  g_autofree char *path = g_build_filename (d->dir, "agent", "outbox", NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".report"))
      return FALSE;
  return TRUE;
}

static void
test_store_lost (VtLab *lab, gconstpointer data)
{
  Device s = { 0 }, o = { 0 }, u = { 0 };
  g_autofree char *store = g_build_filename (lab->console, "fleet", "jetstream", NULL);
  g_autofree char *ended_s = NULL, *ended_u = NULL, *again = NULL;
  g_autoptr (JsonObject) rs = NULL, ro = NULL, ru = NULL;
  gsize ms;

  device_init (lab, &s, "dev-s");
  device_init (lab, &o, "dev-o");
  device_init (lab, &u, "dev-u");
  open_gate (&o);
  open_gate (&u);

  /* dev-s executing its run; dev-o's and dev-u's runs waiting in the
   * stream for agents not running yet. */
  agent_start (lab, &s);
  ms = vt_proc_mark (lab->serve);
  run_task (lab, &s);
  wait_console (lab, ms, &s, "running");
  for (Device *d = &o; d != NULL; d = d == &o ? &u : NULL)
    {
      g_autofree char *published = NULL;

      run_task (lab, d);
      published = published_line (d);
      vt_proc_wait (lab->serve, ms, published);
    }

  /* dev-u ends its run while the console is down: its end is in the
   * stream (the agent's outbox is empty once it stopped), unread. */
  g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  lab->serve = NULL;
  u.agent = vt_lab_agent_start (u.dir, u.root, NULL);
  ended_u = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " completed", u.task, u.run);
  vt_proc_wait (u.agent, 0, ended_u);
  g_assert_cmpint (vt_proc_stop (u.agent), ==, 0);
  u.agent = NULL;
  g_assert_true (outbox_empty (&u));

  /* The broker stops; dev-s ends its run meanwhile (kept in its outbox);
   * the broker's store is deleted, and it starts again empty. */
  vt_proc_stop (lab->broker);   /* nats-server exits 1 on SIGTERM */
  open_gate (&s);
  ended_s = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " completed", s.task, s.run);
  vt_proc_wait (s.agent, 0, ended_s);
  g_assert_false (outbox_empty (&s));
  g_assert_true (g_file_test (store, G_FILE_TEST_IS_DIR));
  vt_rm_rf (store);
  lab->broker = vt_lab_broker_start (lab);
  lab->serve = vt_lab_serve_start (lab);

  /* The console sets the streams up again and publishes what its store
   * says is still dispatched; dev-s's outbox reaches the new stream. */
  {
    g_autofree char *po = published_line (&o), *pu = published_line (&u);

    vt_proc_wait (lab->serve, 0, po);
    vt_proc_wait (lab->serve, 0, pu);
  }
  wait_console (lab, 0, &s, "completed");
  agent_start (lab, &o);
  wait_console (lab, 0, &o, "completed");
  agent_start (lab, &u);
  again = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " delivered again: not executed again",
                           u.task, u.run);
  vt_proc_wait (u.agent, 0, again);
  wait_console (lab, 0, &u, "failed");

  rs = only_result (lab, &s);
  ro = only_result (lab, &o);
  ru = only_result (lab, &u);
  g_assert_cmpstr (json_object_get_string_member (rs, "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (ro, "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (ru, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (ru, "error"), ==, LOST_REASON);
  g_assert_cmpuint (vt_lab_events (lab, "task.completed", s.task, NULL), ==, 1);
  g_assert_cmpuint (vt_lab_events (lab, "task.completed", o.task, NULL), ==, 1);
  g_assert_cmpuint (vt_lab_events (lab, "task.failed", u.task, NULL), ==, 1);
  /* Executed once each: dev-o's agent ran its run once, dev-u's second
   * agent process not at all. */
  g_assert_cmpuint (vt_lab_count (o.agent, "(gate.wait) started"), ==, 1);
  g_assert_cmpuint (vt_lab_count (u.agent, "(gate.wait) started"), ==, 0);
  device_clear (&s);
  device_clear (&o);
  device_clear (&u);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/faults/broker-store-lost", VtLab, NULL, vt_lab_setup, test_store_lost,
              vt_lab_teardown);
  return g_test_run ();
}
