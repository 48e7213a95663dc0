/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a device's credentials can reach on a real nats-server with real
 * TLS: its own runs, reports, settings and heartbeats and nothing of
 * another device's, each refusal observed as the broker's permission
 * violation; and an enrollment file's bootstrap identity, which may only
 * ask to enroll. The console may do all of it.
 */
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "vt-fleet.h"

#include <string.h>

/* Device A's credentials cannot receive device B's runs by any route: not
 * by subscribing to B's subject, not by pulling from B's consumer, not by
 * making a consumer of its own, not by reading the stream. B's run stays
 * pending and B gets it. */
static void
test_device_cannot_take_anothers_runs (VtFleet *f, gconstpointer data)
{
  VtClient *a = vt_client_connect (f, "dev-a");
  VtClient *b = NULL;
  natsSubscription *sub = NULL;
  g_autofree char *body = NULL;
  const char *forbidden[] = {
    "$JS.API.CONSUMER.MSG.NEXT.VIGIL_RUNS.run-dev-b",
    "$JS.API.CONSUMER.CREATE.VIGIL_RUNS",
    "$JS.API.CONSUMER.DURABLE.CREATE.VIGIL_RUNS.mine",
    "$JS.API.STREAM.MSG.GET.VIGIL_RUNS",
    "$JS.API.CONSUMER.DELETE.VIGIL_RUNS.run-dev-b",
    /* Nor may it destroy its own queue of runs. */
    "$JS.API.CONSUMER.DELETE.VIGIL_RUNS.run-dev-a",
    "$JS.API.STREAM.PURGE.VIGIL_RUNS",
    NULL,
  };

  vt_fleet_publish_run (f, "dev-b", "run-b-1", "{\"for\":\"b\"}", FALSE);
  natsConnection_SubscribeSync (&sub, a->nc, "vigil.run.dev-b");
  vt_client_wait_error (a, "Permissions Violation for Subscription to \"vigil.run.dev-b\"");
  for (gsize i = 0; forbidden[i]; i++) {
    g_autofree char *needle =
      g_strdup_printf ("Permissions Violation for Publish to \"%s\"", forbidden[i]);
    natsConnection_PublishRequestString (a->nc, forbidden[i],
                                         "vigil.inbox.dev-a.steal", "{}");
    vt_client_wait_error (a, needle);
  }
  g_assert_cmpuint (vt_fleet_consumer_pending (f, "dev-b"), ==, 1);
  b = vt_client_connect (f, "dev-b");
  body = vt_fetch_one_run (b, "dev-b");
  g_assert_cmpstr (body, ==, "{\"for\":\"b\"}");
  natsSubscription_Destroy (sub);
  vt_client_free (a);
  vt_client_free (b);
}

/* Device A cannot publish B's events; its own are stored; the console
 * may publish for any device and reads every device's reports. */
static void
test_device_cannot_forge_anothers_events (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  g_autofree char *forged = vigil_fleet_subject_report ("dev-b", "event");
  g_autofree char *own = vigil_fleet_subject_report ("dev-a", "event");

  natsConnection_PublishString (a->nc, forged, "{\"forged\":true}");
  g_autofree char *needle =
    g_strdup_printf ("Permissions Violation for Publish to \"%s\"", forged);
  vt_client_wait_error (a, needle);
  g_assert_true (vigil_fleet_publish (a->js, own, "a-ev-1", "{}", 2, NULL, &error));
  g_assert_no_error (error);
  /* The stream acknowledged A's own event, published after the forgery
   * on the same connection: the forgery was refused, not late. */
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, forged), ==, 0);
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, own), ==, 1);
  g_assert_true (vigil_fleet_publish (f->console->js, forged, "console-1",
                                      "{}", 2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, forged), ==, 1);
  vt_client_free (a);
}

/* Settings: a device reads its own key (direct get, its own consumer),
 * another device's key not at all, and writes none, its own included. */
static void
test_device_reads_only_its_settings (VtFleet *f, gconstpointer data)
{
  VtClient *a = vt_client_connect (f, "dev-a");
  kvStore *kv = NULL;
  natsMsg *msg = NULL;
  jsDirectGetMsgOptions dg;
  g_autoptr (GError) error = NULL;
  g_autofree char *got = NULL;
  g_autofree char *own = vigil_fleet_subject_settings ("dev-a");
  const char *forbidden[] = {
    "$JS.API.DIRECT.GET." VIGIL_FLEET_STREAM_SETTINGS ".$KV."
      VIGIL_FLEET_SETTINGS_BUCKET ".dev-b",
    "$JS.API.DIRECT.GET." VIGIL_FLEET_STREAM_SETTINGS,
    "$JS.API.CONSUMER.MSG.NEXT." VIGIL_FLEET_STREAM_SETTINGS ".settings-dev-b",
    "$JS.API.CONSUMER.CREATE." VIGIL_FLEET_STREAM_SETTINGS,
    "$KV." VIGIL_FLEET_SETTINGS_BUCKET ".dev-a",
  };

  g_assert_cmpint (js_KeyValue (&kv, f->console->js,
                                VIGIL_FLEET_SETTINGS_BUCKET), ==, NATS_OK);
  g_assert_cmpint (kvStore_PutString (NULL, kv, "dev-a", "{\"a\":1}"), ==, NATS_OK);
  g_assert_cmpint (kvStore_PutString (NULL, kv, "dev-b", "{\"b\":1}"), ==, NATS_OK);
  jsDirectGetMsgOptions_Init (&dg);
  dg.LastBySubject = own;
  g_assert_cmpint (js_DirectGetMsg (&msg, a->js, VIGIL_FLEET_STREAM_SETTINGS,
                                    NULL, &dg), ==, NATS_OK);
  g_assert_cmpstr (natsMsg_GetData (msg), ==, "{\"a\":1}");
  natsMsg_Destroy (msg);
  got = vt_fetch_one (vigil_fleet_device_settings_subscribe (a->js, "dev-a", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, "$KV." VIGIL_FLEET_SETTINGS_BUCKET ".dev-a {\"a\":1}");
  for (gsize i = 0; i < G_N_ELEMENTS (forbidden); i++) {
    g_autofree char *needle =
      g_strdup_printf ("Permissions Violation for Publish to \"%s\"", forbidden[i]);
    natsConnection_PublishRequestString (a->nc, forbidden[i],
                                         "vigil.inbox.dev-a.x", "");
    vt_client_wait_error (a, needle);
  }
  kvStore_Destroy (kv);
  vt_client_free (a);
}

/* Heartbeats are plain NATS: nothing stores them, the console hears them
 * live, and a device sends them only under its own id. */
static void
test_heartbeats_live_not_stored (VtFleet *f, gconstpointer data)
{
  VtClient *a = vt_client_connect (f, "dev-a");
  natsSubscription *sub = NULL;
  natsMsg *msg = NULL;
  g_autofree char *own = vigil_fleet_subject_live ("dev-a", "heartbeat");
  g_autofree char *other = vigil_fleet_subject_live ("dev-b", "heartbeat");
  g_autofree char *needle =
    g_strdup_printf ("Permissions Violation for Publish to \"%s\"", other);

  g_assert_cmpint (natsConnection_SubscribeSync (&sub, f->console->nc,
                                                 "vigil.dev.*.live.>"), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (f->console->nc), ==, NATS_OK);
  natsConnection_PublishString (a->nc, other, "forged");
  vt_client_wait_error (a, needle);
  g_assert_cmpint (natsConnection_PublishString (a->nc, own, "alive"), ==, NATS_OK);
  g_assert_cmpint (natsSubscription_NextMsg (&msg, sub, VT_BROKER_WAIT_S * 1000),
                   ==, NATS_OK);
  /* The forged one, published first on the same connection, never came. */
  g_assert_cmpstr (natsMsg_GetSubject (msg), ==, own);
  g_assert_cmpstr (natsMsg_GetData (msg), ==, "alive");
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, NULL), ==, 0);
  natsMsg_Destroy (msg);
  natsSubscription_Destroy (sub);
  vt_client_free (a);
}

/* An enrollment file's bootstrap identity may ask for its certificate
 * once and hear the answer, and nothing else: not another enrollment's
 * requests (they carry one-time tokens), not the device's runs, not its
 * subjects. Once the device is enrolled, the bootstrap is closed out and
 * the device's own certificate gets in. */
static void
test_bootstrap_may_only_ask_to_enroll (VtFleet *f, gconstpointer data)
{
  VtClient *boot = NULL, *again = NULL, *device = NULL;
  natsSubscription *requests = NULL, *replies = NULL;
  natsMsg *request = NULL, *reply = NULL;
  g_autofree char *enrollment = NULL;
  g_autofree char *subject = NULL, *inbox = NULL;
  g_autofree char *reply_to = NULL;
  const char *forbidden_pub[] = {
    "vigil.enroll.0123456789abcdef0123456789abcdef.request",
    "vigil.dev.dev-d.out.event",
    "$JS.API.CONSUMER.MSG.NEXT.VIGIL_RUNS.run-dev-d",
    NULL,
  };
  const char *forbidden_sub[] = { "vigil.enroll.*.request", "vigil.inbox.dev-d.>", NULL };

  vt_fleet_add_pending (f, "dev-d");
  vt_fleet_reload (f);
  /* A copy: enrolling replaces the table's string. */
  enrollment = g_strdup (g_hash_table_lookup (f->enrollments, "dev-d"));
  subject = vigil_fleet_subject_enroll (enrollment);
  inbox = vigil_fleet_enroll_inbox_prefix (enrollment);
  reply_to = g_strdup_printf ("%s.1", inbox);
  g_assert_cmpint (vt_client_try_bootstrap (f, "dev-d", &boot), ==, NATS_OK);

  /* The exchange: the console hears the request and answers it. */
  g_assert_cmpint (natsConnection_SubscribeSync (&requests, f->console->nc,
                                                 "vigil.enroll.*.request"), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (f->console->nc), ==, NATS_OK);
  g_assert_cmpint (natsConnection_SubscribeSync (&replies, boot->nc, reply_to), ==, NATS_OK);
  g_assert_cmpint (natsConnection_PublishRequestString (boot->nc, subject, reply_to,
                                                        "{\"csr\":\"...\"}"), ==, NATS_OK);
  g_assert_cmpint (natsSubscription_NextMsg (&request, requests, VT_BROKER_WAIT_S * 1000),
                   ==, NATS_OK);
  g_assert_cmpstr (natsMsg_GetSubject (request), ==, subject);
  g_assert_cmpint (natsConnection_PublishString (f->console->nc, natsMsg_GetReply (request),
                                                 "{\"certificate\":\"...\"}"), ==, NATS_OK);
  g_assert_cmpint (natsSubscription_NextMsg (&reply, replies, VT_BROKER_WAIT_S * 1000),
                   ==, NATS_OK);
  g_assert_cmpstr (natsMsg_GetData (reply), ==, "{\"certificate\":\"...\"}");

  for (gsize i = 0; forbidden_pub[i]; i++) {
    g_autofree char *needle =
      g_strdup_printf ("Permissions Violation for Publish to \"%s\"", forbidden_pub[i]);
    natsConnection_PublishString (boot->nc, forbidden_pub[i], "x");
    vt_client_wait_error (boot, needle);
  }
  for (gsize i = 0; forbidden_sub[i]; i++) {
    g_autofree char *needle =
      g_strdup_printf ("Permissions Violation for Subscription to \"%s\"", forbidden_sub[i]);
    natsSubscription *sub = NULL;
    natsConnection_SubscribeSync (&sub, boot->nc, forbidden_sub[i]);
    vt_client_wait_error (boot, needle);
    natsSubscription_Destroy (sub);
  }

  vt_fleet_enroll (f, "dev-d");
  g_assert_cmpstr (g_hash_table_lookup (f->enrollments, "dev-d"), ==, enrollment);
  vt_fleet_reload (f);
  vt_client_wait_closed (boot);
  g_assert_cmpint (vt_client_try_bootstrap (f, "dev-d", &again), !=, NATS_OK);
  device = vt_client_connect (f, "dev-d");

  natsMsg_Destroy (request);
  natsMsg_Destroy (reply);
  natsSubscription_Destroy (requests);
  natsSubscription_Destroy (replies);
  vt_client_free (boot);
  vt_client_free (again);
  vt_client_free (device);
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add ("/fleet/isolation/" name, VtFleet, NULL, vt_fleet_fixture_setup, fn, \
              vt_fleet_fixture_teardown)
  ADD ("device-cannot-take-anothers-runs", test_device_cannot_take_anothers_runs);
  ADD ("device-cannot-forge-anothers-events", test_device_cannot_forge_anothers_events);
  ADD ("device-reads-only-its-settings", test_device_reads_only_its_settings);
  ADD ("heartbeats-live-not-stored", test_heartbeats_live_not_stored);
  ADD ("bootstrap-may-only-ask-to-enroll", test_bootstrap_may_only_ask_to_enroll);
#undef ADD
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
