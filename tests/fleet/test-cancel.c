/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A run cancelled on the console while it executes on its agent (the
 * fleet, #13 requirement 1), with real processes: the broker, `vigil
 * serve` and `vigil agent`, each in its own state folder (vt-lab.c). The
 * runs are of the test plugin's `gate.wait`, which runs until the test
 * opens its gate, so the cancel always comes while a run is provably in
 * progress; its gate is never opened, so only the cancel can end it.
 *
 * - `vigil task cancel` reaches the agent through its cancel subject: the
 *   run ends `cancelled` once on the console, the agent's late report
 *   changes nothing, and the agent runs the next run;
 * - a watched run its agent completes gets no cancel;
 * - the task deleted: the same, the run gone with its task;
 * - the cancel made while the console is down (so no cancel message is
 *   ever sent): the agent's next check is answered "not current" and
 *   ends the run;
 * - a run cancelled while the console was down, so never withdrawn from
 *   the stream, reaches its agent later: the agent's check before the
 *   start keeps it from executing;
 * - the device revoked or removed: the command sends the cancel before
 *   the broker cuts the agent off;
 * - against a real broker (vt-fleet.c): a device may receive only its own
 *   cancels, send none, and ask about no other device's runs.
 */
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "vt-fleet.h"
#include "vt-lab.h"

#include <glib/gstdio.h>
#include <string.h>

#define GATE_PARAMS "{\"file\": \"/gate\"}"

typedef struct {
  char   *dir, *root, *task;
  VtProc *agent;
  gint64  run;
  gsize   mark;       /* in the console's log, after the run's `running` */
} Running;

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

static gsize
wait_run (VtLab *lab, gsize mark, gint64 run, const char *id, const char *state)
{
  g_autofree char *line = vt_lab_run_line (run, id, state);
  return vt_proc_wait (lab->serve, mark, line);
}

/* A new gate.wait task for @id, one round: its run executing on the
 * agent, its `running` stored and its first check answered. */
static void
run_watched (VtLab *lab, const char *id, Running *r)
{
  g_autofree char *watched = NULL, *target = g_strdup_printf ("device:%s", id);
  gsize ms = vt_proc_mark (lab->serve);

  g_free (r->task);
  r->task = vt_lab_task (lab, "gate.wait", target, GATE_PARAMS, NULL);
  vt_cli_ok (lab->console, "task", "run", r->task, NULL);
  r->run = newest_run (lab, r->task);
  watched = g_strdup_printf ("run %" G_GINT64_FORMAT " of device '%s' executing: watched for "
                             "a cancel", r->run, id);
  /* The check before the start and the `running` report: in either order. */
  r->mark = MAX (wait_run (lab, ms, r->run, id, "running"),
                 vt_proc_wait (lab->serve, ms, watched));
}

/* Device @id with its agent online, executing a watched run. */
static void
start_running (VtLab *lab, const char *id, Running *r)
{
  g_autofree char *online = g_strdup_printf ("device '%s' is online", id);
  gsize ms = vt_proc_mark (lab->serve);

  r->dir = vt_lab_enroll (lab, id, NULL);
  r->root = vt_lab_device_root (lab, id);
  r->agent = vt_lab_agent_start (r->dir, r->root, NULL);
  vt_proc_wait (lab->serve, ms, online);
  run_watched (lab, id, r);
}

static void
running_clear (Running *r)
{
  g_free (r->dir);
  g_free (r->root);
  g_free (r->task);
}

/* The agent's lines for a run the console cancelled, reached @how. */
static void
wait_agent_cancelled (Running *r, const char *how)
{
  g_autofree char *cancelled = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " cancelled by the "
                                                "console (%s)", r->task, r->run, how);
  g_autofree char *ended = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " failed: cancelled by "
                                            "the console while the agent ran it", r->task, r->run);
  gsize ma = vt_proc_wait (r->agent, 0, cancelled);

  vt_proc_wait (r->agent, ma, ended);
}

/* The run ended `cancelled` on the console, once: one task.failed (state
 * cancelled), no task.completed. */
static void
assert_cancelled_once (VtLab *lab, Running *r)
{
  g_autoptr (JsonArray) runs = vt_lab_runs (lab, r->task);
  JsonObject *run = json_array_get_object_element (runs, 0);

  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpint (json_object_get_int_member (run, "id"), ==, r->run);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "cancelled");
  g_assert_nonnull (strstr (json_object_get_string_member (run, "error"),
                            "cancelled while it ran on its device's agent"));
  g_assert_cmpuint (vt_lab_events (lab, "task.failed", r->task, NULL), ==, 1);
  g_assert_cmpuint (vt_lab_events (lab, "task.completed", r->task, NULL), ==, 0);
}

/* The agent is free again: a new task's run executes and completes. */
static void
assert_next_run_executes (VtLab *lab, const char *id, Running *r)
{
  g_autofree char *gate = g_build_filename (r->root, "gate", NULL);
  g_autofree char *task = NULL, *target = g_strdup_printf ("device:%s", id);
  gsize ms = vt_proc_mark (lab->serve);

  g_assert_true (g_file_set_contents (gate, "", 0, NULL));
  task = vt_lab_task (lab, "gate.wait", target, GATE_PARAMS, NULL);
  vt_cli_ok (lab->console, "task", "run", task, NULL);
  wait_run (lab, ms, newest_run (lab, task), id, "completed");
}

/* `vigil task cancel` while the agent runs the run: the console sends the
 * cancel, the agent stops the run, the console keeps it `cancelled`. */
static void
test_cancel_reaches_agent (VtLab *lab, gconstpointer data)
{
  Running r = { 0 };
  g_autofree char *sent = NULL;
  gsize ms;

  start_running (lab, "dev-c", &r);
  vt_cli_ok (lab->console, "task", "cancel", r.task, NULL);
  sent = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'dev-c' ended on the console "
                          "(cancelled) while its agent ran it: cancel sent", r.run);
  ms = vt_proc_wait (lab->serve, r.mark, sent);
  wait_agent_cancelled (&r, "its cancel message");
  /* The agent's end reached the console and changed nothing. */
  wait_run (lab, ms, r.run, "dev-c", "failed");
  assert_cancelled_once (lab, &r);
  assert_next_run_executes (lab, "dev-c", &r);
  g_assert_cmpint (vt_proc_stop (r.agent), ==, 0);
  running_clear (&r);
}

/* A watched run its agent ends is not cancelled: the console stops
 * watching it. The next watched run, cancelled, is the only cancel sent
 * (its cancel comes from a watch pass after the first run's end). */
static void
test_completed_run_not_cancelled (VtLab *lab, gconstpointer data)
{
  Running r = { 0 };
  g_autofree char *gate = NULL, *sent = NULL;
  gint64 first;

  start_running (lab, "dev-n", &r);
  first = r.run;
  gate = g_build_filename (r.root, "gate", NULL);
  g_assert_true (g_file_set_contents (gate, "", 0, NULL));
  wait_run (lab, r.mark, first, "dev-n", "completed");
  g_assert_cmpint (g_remove (gate), ==, 0);
  run_watched (lab, "dev-n", &r);
  vt_cli_ok (lab->console, "task", "cancel", r.task, NULL);
  sent = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'dev-n' ended on the console "
                          "(cancelled) while its agent ran it: cancel sent", r.run);
  vt_proc_wait (lab->serve, r.mark, sent);
  wait_agent_cancelled (&r, "its cancel message");
  g_assert_cmpuint (vt_lab_count (lab->serve, "cancel sent"), ==, 1);
  g_assert_cmpuint (vt_lab_count (r.agent, "cancelled by the console ("), ==, 1);
  g_assert_cmpint (vt_proc_stop (r.agent), ==, 0);
  running_clear (&r);
}

/* The task deleted while its run executes: the run is gone on the
 * console, and the agent is told to stop it. */
static void
test_delete_reaches_agent (VtLab *lab, gconstpointer data)
{
  Running r = { 0 };
  g_autofree char *sent = NULL;

  start_running (lab, "dev-d", &r);
  vt_cli_ok (lab->console, "task", "delete", r.task, NULL);
  sent = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'dev-d' ended on the console "
                          "(deleted) while its agent ran it: cancel sent", r.run);
  vt_proc_wait (lab->serve, r.mark, sent);
  wait_agent_cancelled (&r, "its cancel message");
  assert_next_run_executes (lab, "dev-d", &r);
  g_assert_cmpint (vt_proc_stop (r.agent), ==, 0);
  running_clear (&r);
}

/* The console is down when the task is cancelled, so no cancel message is
 * ever sent: the agent's next check, answered by the console once it is
 * back, ends the run. */
static void
test_lost_cancel_caught_by_check (VtLab *lab, gconstpointer data)
{
  Running r = { 0 };
  g_autofree char *told = NULL;

  start_running (lab, "dev-l", &r);
  g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  vt_cli_ok (lab->console, "task", "cancel", r.task, NULL);
  lab->serve = vt_lab_serve_start (lab);
  told = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'dev-l' is cancelled on the "
                          "console: its agent is told to stop it", r.run);
  vt_proc_wait (lab->serve, 0, told);
  wait_agent_cancelled (&r, "the run is not current any more on the console");
  assert_cancelled_once (lab, &r);
  g_assert_cmpuint (vt_lab_count (lab->serve, "cancel sent"), ==, 0);
  assert_next_run_executes (lab, "dev-l", &r);
  g_assert_cmpint (vt_proc_stop (r.agent), ==, 0);
  running_clear (&r);
}

/* The device revoked (or removed) while its agent runs the run: the
 * command sends the cancel before the broker's reload cuts the agent off,
 * so the run stops on the device; on the console it ended failed. */
static void
cut_off_while_running (VtLab *lab, const char *id, const char *command, const char *why)
{
  Running r = { 0 };
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *run;

  start_running (lab, id, &r);
  vt_cli_ok (lab->console, "device", command, id, NULL);
  wait_agent_cancelled (&r, "its cancel message");
  runs = vt_lab_runs (lab, r.task);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (run, "error"), ==, why);
  g_assert_cmpuint (vt_lab_events (lab, "task.failed", r.task, NULL), ==, 1);
  g_assert_cmpint (vt_proc_stop (r.agent), ==, 0);
  running_clear (&r);
}

static void
test_revoke_reaches_agent (VtLab *lab, gconstpointer data)
{
  cut_off_while_running (lab, "dev-r", "revoke", "the device's agent was revoked");
}

static void
test_remove_reaches_agent (VtLab *lab, gconstpointer data)
{
  cut_off_while_running (lab, "dev-m", "remove", "the device was removed");
}

/* A run the console could not withdraw (it was cancelled while the console
 * was down, so the restarted console does not know the run's place in the
 * stream) reaches its agent when the agent comes: the agent's check before
 * the start is answered "not current", and the run is not executed. */
static void
test_ended_run_not_started (VtLab *lab, gconstpointer data)
{
  g_autofree char *dir = vt_lab_enroll (lab, "dev-w", NULL);
  g_autofree char *root = vt_lab_device_root (lab, "dev-w");
  g_autofree char *task = vt_lab_task (lab, "gate.wait", "device:dev-w", GATE_PARAMS, NULL);
  g_autofree char *published = NULL, *refused = NULL, *told = NULL;
  g_autoptr (JsonArray) runs = NULL;
  VtProc *agent;
  gint64 run;
  gsize ms = vt_proc_mark (lab->serve);

  vt_cli_ok (lab->console, "task", "run", task, NULL);
  run = newest_run (lab, task);
  published = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " of task %s published to device "
                               "'dev-w'", task, run, task);
  vt_proc_wait (lab->serve, ms, published);
  g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  vt_cli_ok (lab->console, "task", "cancel", task, NULL);
  lab->serve = vt_lab_serve_start (lab);

  agent = vt_lab_agent_start (dir, root, NULL);
  refused = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " not executed: it ended on the console "
                             "before it started", task, run);
  vt_proc_wait (agent, 0, refused);
  told = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'dev-w' is cancelled on the "
                          "console: its agent is told to stop it", run);
  vt_proc_wait (lab->serve, 0, told);
  g_assert_cmpuint (vt_lab_count (agent, "(gate.wait) started"), ==, 0);
  runs = vt_lab_runs (lab, task);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (runs, 0),
                                                  "state"), ==, "cancelled");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* ---- permissions, against the broker ------------------------------------ */

/* Device A may subscribe to its own cancels only, and may publish none
 * (its own included): only the console cancels. Nor may it ask about
 * device B's runs. */
static void
test_only_own_cancels (VtFleet *f, gconstpointer data)
{
  VtClient *a = vt_client_connect (f, "dev-a");
  natsSubscription *own = NULL, *other = NULL;
  natsMsg *msg = NULL;
  g_autofree char *mine = vigil_fleet_subject_cancel ("dev-a");
  g_autofree char *theirs = vigil_fleet_subject_cancel ("dev-b");
  g_autofree char *check = vigil_fleet_subject_check ("dev-b");
  g_autofree char *no_sub = g_strdup_printf ("Permissions Violation for Subscription to \"%s\"",
                                             theirs);
  g_autofree char *no_pub = g_strdup_printf ("Permissions Violation for Publish to \"%s\"", mine);
  g_autofree char *no_check = g_strdup_printf ("Permissions Violation for Publish to \"%s\"",
                                               check);

  g_assert_cmpint (natsConnection_SubscribeSync (&other, a->nc, theirs), ==, NATS_OK);
  vt_client_wait_error (a, no_sub);
  g_assert_cmpint (natsConnection_SubscribeSync (&own, a->nc, mine), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (a->nc), ==, NATS_OK);
  natsConnection_PublishString (a->nc, mine, "{\"forged\": true}");
  vt_client_wait_error (a, no_pub);
  natsConnection_PublishRequestString (a->nc, check, "vigil.inbox.dev-a.x", "{}");
  vt_client_wait_error (a, no_check);
  /* The console's cancel arrives, and is the first message there: the
   * forged one never did. */
  g_assert_cmpint (natsConnection_PublishString (f->console->nc, mine, "{\"run\": 1}"), ==,
                   NATS_OK);
  g_assert_cmpint (natsSubscription_NextMsg (&msg, own, VT_BROKER_WAIT_S * 1000), ==, NATS_OK);
  g_assert_cmpstr (natsMsg_GetData (msg), ==, "{\"run\": 1}");
  natsMsg_Destroy (msg);
  /* B's subscription was refused: nothing arrives there. */
  g_assert_cmpint (natsConnection_PublishString (f->console->nc, theirs, "{\"run\": 2}"), ==,
                   NATS_OK);
  g_assert_cmpint (natsConnection_Flush (f->console->nc), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (a->nc), ==, NATS_OK);
  g_assert_cmpint (natsSubscription_NextMsg (&msg, other, 0), !=, NATS_OK);
  natsSubscription_Destroy (own);
  natsSubscription_Destroy (other);
  vt_client_free (a);
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/cancel/reaches-agent", VtLab, NULL, vt_lab_setup,
              test_cancel_reaches_agent, vt_lab_teardown);
  g_test_add ("/fleet/cancel/completed-run-not-cancelled", VtLab, NULL, vt_lab_setup,
              test_completed_run_not_cancelled, vt_lab_teardown);
  g_test_add ("/fleet/cancel/task-deleted", VtLab, NULL, vt_lab_setup,
              test_delete_reaches_agent, vt_lab_teardown);
  g_test_add ("/fleet/cancel/lost-cancel-caught-by-check", VtLab, NULL, vt_lab_setup,
              test_lost_cancel_caught_by_check, vt_lab_teardown);
  g_test_add ("/fleet/cancel/ended-run-not-started", VtLab, NULL, vt_lab_setup,
              test_ended_run_not_started, vt_lab_teardown);
  g_test_add ("/fleet/cancel/device-revoked", VtLab, NULL, vt_lab_setup,
              test_revoke_reaches_agent, vt_lab_teardown);
  g_test_add ("/fleet/cancel/device-removed", VtLab, NULL, vt_lab_setup,
              test_remove_reaches_agent, vt_lab_teardown);
  g_test_add ("/fleet/cancel/only-own-cancels", VtFleet, NULL, vt_fleet_fixture_setup,
              test_only_own_cancels, vt_fleet_fixture_teardown);
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
