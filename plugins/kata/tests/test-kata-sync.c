/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Synchronization against a real TLS server on loopback: the settings the
 * central node may set override the policy's (and change what the engine
 * does), hold across a restart, are replaced by the next set and cleared by
 * an empty one; an invalid one applies nothing from that reply. Synced
 * tasks carry their schedule to the host; a schedule the host refuses is
 * reported.
 */
#include "kata-test-engine.h"

#include <signal.h>
#include <string.h>

static VtCerts *certs;

static KtFx *
fx_with_server (KtServer **srv)
{
  KtFx *fx = kt_fx_new (certs);
  guint16 port;

  *srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  port = kt_server_port (*srv);
  kt_fx_servers (fx, 1, &port);
  return fx;
}

#define PERIOD_120 "{\"settings\":{\"data_submission\":{\"transmission_period_sec\":120}," \
                   "\"throttling\":{\"max_events_per_hour\":50}}}"

static void
test_settings_override_policy (void)
{
  KtServer *srv;
  KtFx *fx = fx_with_server (&srv);

  kt_server_set_sync_body (srv, PERIOD_120);
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpint (kt_fx_status_int (fx, "settings/policy/data_submission/transmission_period_sec"), ==, 30);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/server/data_submission/transmission_period_sec"), ==, 120);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/data_submission/transmission_period_sec"), ==, 120);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/throttling/max_events_per_hour"), ==, 50);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/throttling/excess_percent"), ==, 15);

  /* The policy comes again (as every 10 s under `vigil serve`): the
   * override still wins. */
  kata_engine_configure (fx->engine, fx->settings);
  kata_engine_send_now (fx->engine, NULL);   /* the period starts now */
  kt_fx_submit (fx, "process.started");
  fx->now += 60 * G_USEC_PER_SEC;            /* the policy's 30 s are over */
  kata_engine_tick (fx->engine);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 0);
  fx->now += 60 * G_USEC_PER_SEC;            /* the server's 120 s are */
  kata_engine_tick (fx->engine);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 1);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_settings_survive_restart (void)
{
  KtServer *srv;
  KtFx *fx = fx_with_server (&srv);

  kt_server_set_sync_body (srv, PERIOD_120);
  g_assert_true (kata_engine_sync_now (fx->engine));
  kt_server_stop (srv);
  kt_fx_reopen (fx);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/data_submission/transmission_period_sec"), ==, 120);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/server/throttling/max_events_per_hour"), ==, 50);
  kt_fx_free (fx);
}

static void
test_settings_replaced_kept_cleared (void)
{
  KtServer *srv;
  KtFx *fx = fx_with_server (&srv);

  kt_server_set_sync_body (srv, PERIOD_120);
  g_assert_true (kata_engine_sync_now (fx->engine));
  /* No settings member: the server said nothing, the overrides stay. */
  kt_server_set_sync_body (srv, "{\"tasks\":[]}");
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/data_submission/transmission_period_sec"), ==, 120);
  /* A new set replaces the whole previous one. */
  kt_server_set_sync_body (srv, "{\"settings\":{\"connection\":{\"sync_period_min\":1}}}");
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/data_submission/transmission_period_sec"), ==, 30);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/throttling/max_events_per_hour"), ==, 3000);
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/connection/sync_period_min"), ==, 1);
  /* An empty object clears them. */
  kt_server_set_sync_body (srv, "{\"settings\":{}}");
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/connection/sync_period_min"), ==, 5);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_invalid_settings_apply_nothing (void)
{
  KtServer *srv;
  KtFx *fx = fx_with_server (&srv);

  kt_server_set_sync_body (srv,
      "{\"settings\":{\"data_submission\":{\"transmission_period_sec\":120},"
      "\"throttling\":{\"excess_percent\":101}},"
      "\"tasks\":[{\"id\":\"t-1\",\"type\":\"ioc.scan\"}]}");
  g_assert_false (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_failed: "), ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (fx->emitted, 0),
                            "$.settings.throttling.excess_percent: 101 is out of range 5–100"));
  g_assert_cmpint (kt_fx_status_int (fx, "settings/effective/data_submission/transmission_period_sec"), ==, 30);
  g_assert_cmpuint (fx->tasks->len, ==, 0);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_task_schedule_passed_through (void)
{
  KtServer *srv;
  KtFx *fx = fx_with_server (&srv);

  kt_server_set_sync_body (srv,
      "{\"tasks\":[{\"id\":\"t-1\",\"type\":\"ioc.scan\",\"schedule\":"
      "{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"07:00\"}},"
      "{\"id\":\"t-2\",\"type\":\"ioc.scan\"},"
      "{\"id\":\"t-3\",\"type\":\"ioc.scan\",\"schedule\":{\"kind\":\"refused\"}}]}");
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (fx->tasks->len, ==, 2);
  g_assert_nonnull (strstr (g_ptr_array_index (fx->tasks, 0),
      "\"schedule\":{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"07:00\"}"));
  g_assert_null (strstr (g_ptr_array_index (fx->tasks, 1), "schedule"));
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_task_rejected: {\"task\":\"t-3\""), ==, 1);
  g_assert_cmpint (kt_fx_status_int (fx, "tasks_created"), ==, 2);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* The node learns what became of the tasks it sent: a type the device
 * cannot run, and a schedule the host refuses, come back as task.rejected
 * records (the first marked unsupported) in the next package; a created
 * task is remembered with the node's id, for its outcome to go back. */
static void
test_rejections_reach_the_node (void)
{
  KtServer *srv;
  KtFx *fx = fx_with_server (&srv);
  g_autofree char *node_task = NULL;
  g_autofree char *rejected = NULL;
  KataCycleResult r;

  kt_server_set_sync_body (srv,
      "{\"tasks\":[{\"id\":\"n-1\",\"type\":\"ioc.scan\"},"
      "{\"id\":\"n-2\",\"type\":\"nope.none\"},"
      "{\"id\":\"n-3\",\"type\":\"ioc.scan\",\"schedule\":{\"kind\":\"refused\"}}]}");
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (fx->tasks->len, ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_task_rejected: {\"task\":\"n-2\","
                                       "\"type\":\"nope.none\",\"unsupported\":true,"
                                       "\"reason\":\"this device cannot run tasks of type"), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_task_rejected: {\"task\":\"n-3\","
                                       "\"type\":\"ioc.scan\",\"unsupported\":false,"), ==, 1);
  node_task = kata_engine_node_task (fx->engine, "task-1");
  g_assert_cmpstr (node_task, ==, "n-1");
  g_assert_null (kata_engine_node_task (fx->engine, "task-2"));
  /* Both rejections are spooled as high-importance records and sent. */
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 2);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "task.rejected"), ==, 2);
  rejected = kt_server_last_payload (srv, "task.rejected");
  g_assert_nonnull (strstr (rejected, "\"node_task_id\":\"n-3\""));
  g_assert_nonnull (strstr (rejected, "\"state\":\"rejected\""));
  /* Asked again, nothing new: ids are remembered. */
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  g_test_add_func ("/kata/sync/settings-override-policy", test_settings_override_policy);
  g_test_add_func ("/kata/sync/settings-survive-restart", test_settings_survive_restart);
  g_test_add_func ("/kata/sync/settings-replaced-kept-cleared", test_settings_replaced_kept_cleared);
  g_test_add_func ("/kata/sync/invalid-settings-apply-nothing", test_invalid_settings_apply_nothing);
  g_test_add_func ("/kata/sync/task-schedule-passed-through", test_task_schedule_passed_through);
  g_test_add_func ("/kata/sync/rejections-reach-the-node", test_rejections_reach_the_node);
  rc = g_test_run ();
  vt_certs_free (certs);
  return rc;
}
