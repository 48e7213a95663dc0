/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The broker as the fleet configures it, against a real nats-server with
 * real TLS: who may connect, what a device may read and publish, what the
 * console may, runs kept for an offline device and stored once per
 * message id, and revocation while the broker keeps running.
 */
#include "fleet-broker.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-pki.h"
#include "fleet-subjects.h"
#include "vt-fleet.h"

#include <string.h>

#include <glib/gstdio.h>

static const char *const devices[] = { "dev-a", "dev-b", "dev-c", NULL };

static void
setup (VtFleet *f, gconstpointer data)
{
  vt_fleet_setup (f, devices);
}

static void
teardown (VtFleet *f, gconstpointer data)
{
  vt_fleet_teardown (f);
}

/* ---- helpers ------------------------------------------------------- */

static void
publish_run (VtFleet *f, const char *id, const char *run_id, const char *body,
             gboolean expect_duplicate)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *subject = vigil_fleet_subject_run (id);
  gboolean duplicate = !expect_duplicate;

  g_assert_true (vigil_fleet_publish (f->console->js, subject, run_id, body,
                                      (int) strlen (body), &duplicate, &error));
  g_assert_no_error (error);
  g_assert_cmpint (duplicate, ==, expect_duplicate);
}

static uint64_t
stream_msgs (VtFleet *f, const char *stream, const char *subject_filter)
{
  jsStreamInfo *si = NULL;
  jsOptions o;
  jsErrCode jerr = 0;
  uint64_t n = 0;

  jsOptions_Init (&o);
  o.Stream.Info.SubjectsFilter = subject_filter;
  g_assert_cmpint (js_GetStreamInfo (&si, f->console->js, stream, &o, &jerr),
                   ==, NATS_OK);
  if (subject_filter == NULL)
    n = si->State.Msgs;
  else
    for (int i = 0; si->State.Subjects && i < si->State.Subjects->Count; i++)
      n += si->State.Subjects->List[i].Msgs;
  jsStreamInfo_Destroy (si);
  return n;
}

static uint64_t
consumer_pending (VtFleet *f, const char *id)
{
  g_autofree char *consumer = vigil_fleet_consumer_runs (id);
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  uint64_t n;

  g_assert_cmpint (js_GetConsumerInfo (&ci, f->console->js,
                                       VIGIL_FLEET_STREAM_RUNS, consumer,
                                       NULL, &jerr), ==, NATS_OK);
  n = ci->NumPending + (uint64_t) ci->NumAckPending;
  jsConsumerInfo_Destroy (ci);
  return n;
}

/* Fetches exactly one message from @sub, acknowledges it and destroys
 * @sub; returns "SUBJECT BODY". */
static char *
fetch_one (natsSubscription *sub)
{
  natsMsgList list = { 0 };
  jsErrCode jerr = 0;
  char *got;

  g_assert_nonnull (sub);
  g_assert_cmpint (natsSubscription_Fetch (&list, sub, 1,
                                           VT_BROKER_WAIT_S * 1000, &jerr),
                   ==, NATS_OK);
  g_assert_cmpint (list.Count, ==, 1);
  got = g_strdup_printf ("%s %.*s", natsMsg_GetSubject (list.Msgs[0]),
                         natsMsg_GetDataLength (list.Msgs[0]),
                         natsMsg_GetData (list.Msgs[0]));
  g_assert_cmpint (natsMsg_AckSync (list.Msgs[0], NULL, &jerr), ==, NATS_OK);
  natsMsgList_Destroy (&list);
  natsSubscription_Destroy (sub);
  return got;
}

/* Fetches exactly one run as device @c and acknowledges it; returns its body. */
static char *
fetch_one_run (VtClient *c, const char *id)
{
  g_autoptr (GError) error = NULL;
  natsSubscription *sub = vigil_fleet_device_runs_subscribe (c->js, id, &error);
  g_autofree char *got = NULL;
  g_autofree char *subject = vigil_fleet_subject_run (id);

  g_assert_no_error (error);
  got = fetch_one (sub);
  g_assert_true (g_str_has_prefix (got, subject));
  return g_strdup (got + strlen (subject) + 1);
}

static void
reload (VtFleet *f)
{
  g_autoptr (GError) error = NULL;
  gsize mark = vt_broker_log_mark (f->broker);

  vt_fleet_write_config (f);
  g_assert_true (vigil_fleet_broker_reload (vt_broker_pid (f->broker), &error));
  vt_broker_wait_log (f->broker, mark, "Reloaded server configuration");
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (vigil_fleet_write_private_file (to, data, len, NULL));
}

/* ---- the configuration alone ---------------------------------------- */

/* What cannot be written safely into nats-server's configuration is
 * refused, naming what was wrong. */
static void
test_config_refuses_unsafe_values (void)
{
  const VigilFleetBrokerDevice bad_devices[] = {
    { "dev-a", "0123456789abcdef0123456789abcdef" },
    { "dev.b", "0123456789abcdef0123456789abcdef" },
  };
  const VigilFleetBrokerDevice bad_enrollment[] = { { "dev-a", "xyz" } };
  VigilFleetBrokerConfig c = {
    .server_name = "s", .host = "127.0.0.1", .store_dir = "/tmp/store",
    .ca_file = "/tmp/ca.crt", .cert_file = "/tmp/s.crt", .key_file = "/tmp/s.key",
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  c.devices = bad_devices;
  c.n_devices = G_N_ELEMENTS (bad_devices);
  g_assert_null (vigil_fleet_broker_config_render (&c, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "device 2"));
  g_clear_error (&error);
  c.devices = bad_enrollment;
  c.n_devices = 1;
  g_assert_null (vigil_fleet_broker_config_render (&c, &error));
  g_assert_nonnull (strstr (error->message, "enrollment"));
  g_clear_error (&error);
  c.n_devices = 0;
  c.store_dir = "/tmp/x\"\ninclude /etc/passwd";
  g_assert_null (vigil_fleet_broker_config_render (&c, &error));
  g_assert_nonnull (strstr (error->message, "store folder"));
  g_clear_error (&error);
  c.store_dir = "/tmp/store";
  text = vigil_fleet_broker_config_render (&c, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "verify_and_map: true"));
}

/* Only TLS, to one named host and port: a plain nats:// URL would send
 * the client's traffic in clear. */
static void
test_options_refuse_non_tls_url (void)
{
  const char *bad[] = { "nats://127.0.0.1:4222", "tls://127.0.0.1", "127.0.0.1:4222",
                        "tls://:4222", NULL };

  for (gsize i = 0; bad[i]; i++) {
    g_autoptr (GError) error = NULL;
    natsOptions *opts = vigil_fleet_options_new (bad[i], "ca", "crt", "key",
                                                 "dev-a", &error);
    g_assert_null (opts);
    g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, bad[i]));
  }
}

/* ---- against the broker ---------------------------------------------- */

static void
test_device_gets_its_run (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  g_autofree char *body = NULL;

  /* Setting up is idempotent: a console restart does it again. */
  vigil_fleet_layout_ensure (f->console->js, &error);
  g_assert_no_error (error);
  vigil_fleet_device_consumers_ensure (f->console->js, "dev-a", &error);
  g_assert_no_error (error);

  publish_run (f, "dev-a", "run-1", "{\"run\":1}", FALSE);
  body = fetch_one_run (a, "dev-a");
  g_assert_cmpstr (body, ==, "{\"run\":1}");
  /* Work queue: acknowledged, the run is gone from the stream. */
  g_assert_cmpuint (stream_msgs (f, VIGIL_FLEET_STREAM_RUNS, NULL), ==, 0);
  vt_client_free (a);
}

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

  publish_run (f, "dev-b", "run-b-1", "{\"for\":\"b\"}", FALSE);
  natsConnection_SubscribeSync (&sub, a->nc, "vigil.run.dev-b");
  vt_client_wait_error (a, "Permissions Violation for Subscription to \"vigil.run.dev-b\"");
  for (gsize i = 0; forbidden[i]; i++) {
    g_autofree char *needle =
      g_strdup_printf ("Permissions Violation for Publish to \"%s\"", forbidden[i]);
    natsConnection_PublishRequestString (a->nc, forbidden[i],
                                         "vigil.inbox.dev-a.steal", "{}");
    vt_client_wait_error (a, needle);
  }
  g_assert_cmpuint (consumer_pending (f, "dev-b"), ==, 1);
  b = vt_client_connect (f, "dev-b");
  body = fetch_one_run (b, "dev-b");
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
  g_assert_cmpuint (stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, forged), ==, 0);
  g_assert_cmpuint (stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, own), ==, 1);
  g_assert_true (vigil_fleet_publish (f->console->js, forged, "console-1",
                                      "{}", 2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, forged), ==, 1);
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
  got = fetch_one (vigil_fleet_device_settings_subscribe (a->js, "dev-a", &error));
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

/* The console reads every device's reports through its durable consumer. */
static void
test_console_reads_every_devices_reports (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  VtClient *b = vt_client_connect (f, "dev-b");
  g_autofree char *a_ev = vigil_fleet_subject_report ("dev-a", "event");
  g_autofree char *b_res = vigil_fleet_subject_report ("dev-b", "result");
  g_autofree char *first = NULL, *second = NULL;

  g_assert_true (vigil_fleet_publish (a->js, a_ev, "a-1", "A", 1, NULL, &error));
  g_assert_true (vigil_fleet_publish (b->js, b_res, "b-1", "B", 1, NULL, &error));
  g_assert_no_error (error);
  first = fetch_one (vigil_fleet_console_reports_subscribe (f->console->js, &error));
  second = fetch_one (vigil_fleet_console_reports_subscribe (f->console->js, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "vigil.dev.dev-a.out.event A");
  g_assert_cmpstr (second, ==, "vigil.dev.dev-b.out.result B");
  vt_client_free (a);
  vt_client_free (b);
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
  g_assert_cmpuint (stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, NULL), ==, 0);
  natsMsg_Destroy (msg);
  natsSubscription_Destroy (sub);
  vt_client_free (a);
}

/* A run published while its device is offline is kept and delivered
 * when the device connects. */
static void
test_offline_device_gets_run_on_connect (VtFleet *f, gconstpointer data)
{
  VtClient *c = NULL;
  g_autofree char *body = NULL;

  publish_run (f, "dev-c", "run-c-1", "{\"for\":\"c\"}", FALSE);
  g_assert_cmpuint (consumer_pending (f, "dev-c"), ==, 1);
  c = vt_client_connect (f, "dev-c");
  body = fetch_one_run (c, "dev-c");
  g_assert_cmpstr (body, ==, "{\"for\":\"c\"}");
  g_assert_cmpuint (consumer_pending (f, "dev-c"), ==, 0);
  vt_client_free (c);
}

/* The same run id published twice (a console retrying) is stored once. */
static void
test_run_deduplicated_by_id (VtFleet *f, gconstpointer data)
{
  VtClient *a = NULL;
  g_autofree char *body = NULL;

  publish_run (f, "dev-a", "task-7.round-3.dev-a", "{\"try\":1}", FALSE);
  publish_run (f, "dev-a", "task-7.round-3.dev-a", "{\"try\":2}", TRUE);
  g_assert_cmpuint (stream_msgs (f, VIGIL_FLEET_STREAM_RUNS, NULL), ==, 1);
  g_assert_cmpuint (consumer_pending (f, "dev-a"), ==, 1);
  a = vt_client_connect (f, "dev-a");
  body = fetch_one_run (a, "dev-a");
  g_assert_cmpstr (body, ==, "{\"try\":1}");
  g_assert_cmpuint (consumer_pending (f, "dev-a"), ==, 0);
  vt_client_free (a);
}

/* Revocation: the configuration is rewritten without the device and the
 * broker reloads it. The revoked device's live connection is closed, it
 * cannot connect again, the other devices stay connected, and the broker
 * is the same process throughout. */
static void
test_revocation_without_restart (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  VtClient *b = vt_client_connect (f, "dev-b");
  VtClient *again = NULL;
  g_autofree char *crt = vt_fleet_device_file (f, "dev-a", "crt");
  g_autofree char *key = vt_fleet_device_file (f, "dev-a", "key");
  g_autofree char *b_event = vigil_fleet_subject_report ("dev-b", "event");
  GPid pid = vt_broker_pid (f->broker);
  gsize mark;

  g_ptr_array_remove_index (f->devices, 0);
  g_assert_cmpstr (g_ptr_array_index (f->devices, 0), ==, "dev-b");
  mark = vt_broker_log_mark (f->broker);
  reload (f);
  /* Nothing else closes it: reconnection is off and the test did not. */
  vt_client_wait_closed (a);
  g_assert_cmpint (natsConnection_Status (a->nc), ==, NATS_CONN_STATUS_CLOSED);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &again), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "authentication error");
  g_assert_true (vigil_fleet_publish (b->js, b_event, "b-ev-1", "{}", 2, NULL,
                                      &error));
  g_assert_no_error (error);
  g_assert_cmpint (natsConnection_Status (b->nc), ==, NATS_CONN_STATUS_CONNECTED);
  g_assert_true (vt_broker_running (f->broker));
  g_assert_cmpint (vt_broker_pid (f->broker), ==, pid);
  vigil_fleet_device_consumers_delete (f->console->js, "dev-a", &error);
  g_assert_no_error (error);
  vt_client_free (again);
  vt_client_free (a);
  vt_client_free (b);
}

/* A revoked device enrolled again under the same id gets in with its new
 * certificate; the old certificate, with the same name, stays refused. */
static void
test_reenrolled_device_old_certificate_refused (VtFleet *f, gconstpointer data)
{
  g_autofree char *crt = vt_fleet_device_file (f, "dev-a", "crt");
  g_autofree char *key = vt_fleet_device_file (f, "dev-a", "key");
  g_autofree char *old_crt = vt_fleet_device_file (f, "dev-a", "old.crt");
  g_autofree char *old_key = vt_fleet_device_file (f, "dev-a", "old.key");
  VtClient *old = NULL, *renewed = NULL;
  gsize mark;

  copy_file (crt, old_crt);
  copy_file (key, old_key);
  g_ptr_array_remove_index (f->devices, 0);
  reload (f);
  vt_fleet_enroll (f, "dev-a");
  reload (f);
  mark = vt_broker_log_mark (f->broker);
  g_assert_cmpint (vt_client_try (f, NULL, old_crt, old_key, "dev-a", &old), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "authentication error");
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &renewed), ==, NATS_OK);
  vt_client_free (old);
  vt_client_free (renewed);
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
  reload (f);
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
  reload (f);
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

/* The console's side of enrollment, on a libnats thread: answers a request
 * for the pending enrollment its subject names. */
typedef struct {
  VtFleet *fleet;
  guint    answered;
} Enroller;

static void
on_enroll_request (natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                   void *closure)
{
  Enroller *e = closure;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert = NULL, *reply = NULL;
  VigilFleetPendingEnrollment *pending = NULL;
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, e->fleet->pending);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    g_autofree char *subject =
      vigil_fleet_subject_enroll (((VigilFleetPendingEnrollment *) value)->enrollment);
    if (g_str_equal (subject, natsMsg_GetSubject (msg)))
      pending = value;
  }
  if (pending != NULL)
    cert = vigil_fleet_enroll_answer (e->fleet->ca, pending, natsMsg_GetData (msg),
                                      natsMsg_GetDataLength (msg),
                                      g_get_real_time () / G_USEC_PER_SEC, &error);
  reply = vigil_fleet_enroll_reply_new (cert, error ? error->message
                                                    : "no such enrollment");
  /* Counted before replying: the agent may see the reply at once. */
  g_atomic_int_inc (&e->answered);
  natsConnection_PublishString (nc, natsMsg_GetReply (msg), reply);
  natsMsg_Destroy (msg);
}

/* Sends the enrollment request of @id's file; returns the reply body. */
static char *
request_enrollment (VtFleet *f, const char *id, const char *token_override)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = vt_fleet_device_file (f, id, "enroll");
  g_autofree char *key = vt_fleet_device_file (f, id, "key");
  g_autoptr (VigilFleetEnrollmentFile) file =
    vigil_fleet_enrollment_file_read (path, &error);
  g_autofree char *request = NULL, *subject = NULL;
  VtClient *boot = NULL;
  natsMsg *reply = NULL;
  char *body;

  g_assert_no_error (error);
  if (token_override) {
    g_free (file->token);
    file->token = g_strdup (token_override);
  }
  request = vigil_fleet_enroll_request_new (file, key, &error);
  g_assert_no_error (error);
  subject = vigil_fleet_subject_enroll (file->enrollment);
  g_assert_cmpint (vt_client_try_bootstrap (f, id, &boot), ==, NATS_OK);
  g_assert_cmpint (natsConnection_RequestString (&reply, boot->nc, subject, request,
                                                 VT_BROKER_WAIT_S * 1000), ==, NATS_OK);
  body = g_strndup (natsMsg_GetData (reply), natsMsg_GetDataLength (reply));
  natsMsg_Destroy (reply);
  vt_client_free (boot);
  return body;
}

/* Enrollment end to end: the console writes the file; the agent makes
 * its key and request and sends them over the bootstrap connection; a
 * wrong token is refused; the right one gets a certificate; once the
 * console switches the device to enrolled, the agent connects as itself
 * and gets its runs, and the spent file no longer connects. */
static void
test_enrollment_end_to_end (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Enroller e = { f, 0 };
  natsSubscription *answers = NULL;
  g_autofree char *refused = NULL, *granted = NULL, *cert = NULL, *body = NULL;
  g_autofree char *crt = vt_fleet_device_file (f, "dev-e", "crt");
  VtClient *device = NULL, *spent = NULL;

  vt_fleet_add_pending (f, "dev-e");
  reload (f);
  g_assert_cmpint (natsConnection_Subscribe (&answers, f->console->nc,
                                             "vigil.enroll.*.request",
                                             on_enroll_request, &e), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (f->console->nc), ==, NATS_OK);

  refused = request_enrollment (f, "dev-e", "00000000000000000000000000000000"
                                            "00000000000000000000000000000000");
  g_assert_null (vigil_fleet_enroll_reply_read (refused, strlen (refused), &error));
  g_assert_nonnull (strstr (error->message, "wrong token"));
  g_clear_error (&error);

  granted = request_enrollment (f, "dev-e", NULL);
  cert = vigil_fleet_enroll_reply_read (granted, strlen (granted), &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, &error));
  g_assert_cmpuint (g_atomic_int_get (&e.answered), ==, 2);
  natsSubscription_Destroy (answers);

  /* The console spends the token and lets the device in as itself. */
  g_hash_table_remove (f->pending, "dev-e");
  vigil_fleet_device_consumers_ensure (f->console->js, "dev-e", &error);
  g_assert_no_error (error);
  reload (f);
  g_assert_cmpint (vt_client_try_bootstrap (f, "dev-e", &spent), !=, NATS_OK);
  device = vt_client_connect (f, "dev-e");
  publish_run (f, "dev-e", "run-e-1", "{\"for\":\"e\"}", FALSE);
  body = fetch_one_run (device, "dev-e");
  g_assert_cmpstr (body, ==, "{\"for\":\"e\"}");
  vt_client_free (spent);
  vt_client_free (device);
}

/* The broker's certificate must name the host a client connects to (a
 * certificate of the same CA for another name does not do), and a new
 * broker certificate takes effect on reload. */
static void
test_broker_name_checked (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = vt_fleet_device_file (f, "dev-a", "crt");
  g_autofree char *key = vt_fleet_device_file (f, "dev-a", "key");
  const char *only_localhost[] = { "localhost", NULL };
  g_autofree char *by_name = g_strdup_printf ("tls://localhost:%s",
                                              strrchr (vt_broker_url (f->broker), ':') + 1);
  VtClient *by_ip = NULL, *named = NULL;

  g_assert_true (vigil_fleet_ca_issue_server (f->ca, only_localhost,
                                              f->server_crt, f->server_key,
                                              &error));
  g_assert_no_error (error);
  reload (f);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &by_ip), !=, NATS_OK);
  /* "IP address mismatch": the name, not anything else, was refused. */
  g_assert_nonnull (strstr (nats_GetLastError (NULL), "address mismatch"));
  g_assert_cmpint (vt_client_try (f, by_name, crt, key, "dev-a", &named), ==, NATS_OK);
  vt_client_free (by_ip);
  vt_client_free (named);
}

/* No client certificate, no connection: the TLS handshake fails. */
static void
test_connection_without_certificate_refused (VtFleet *f, gconstpointer data)
{
  VtClient *c = NULL;
  gsize mark = vt_broker_log_mark (f->broker);

  g_assert_cmpint (vt_client_try (f, NULL, NULL, NULL, NULL, &c), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "TLS handshake error");
  vt_client_free (c);
}

/* A certificate for an enrolled id but from another CA is refused too:
 * the name is nothing without the deployment's signature. */
static void
test_certificate_from_other_ca_refused (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (f->dir, "rogue", NULL);
  g_autofree char *ca_crt = g_build_filename (dir, "ca.crt", NULL);
  g_autofree char *ca_key = g_build_filename (dir, "ca.key", NULL);
  g_autofree char *key = g_build_filename (dir, "dev-a.key", NULL);
  g_autofree char *crt = g_build_filename (dir, "dev-a.crt", NULL);
  g_autoptr (VigilFleetCa) rogue = NULL;
  g_autofree char *csr = NULL, *cert = NULL;
  VtClient *c = NULL;
  gsize mark;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  rogue = vigil_fleet_ca_create ("rogue", ca_crt, ca_key, &error);
  csr = vigil_fleet_device_request_new ("dev-a", key, &error);
  cert = vigil_fleet_ca_sign_device (rogue, "dev-a", g_hash_table_lookup (f->enrollments, "dev-a"), csr, -1,
                                     &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, NULL));
  mark = vt_broker_log_mark (f->broker);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &c), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "TLS handshake error");
  vt_client_free (c);
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fleet/broker/config-refuses-unsafe-values",
                   test_config_refuses_unsafe_values);
  g_test_add_func ("/fleet/broker/options-refuse-non-tls-url",
                   test_options_refuse_non_tls_url);
#define ADD(name, fn) \
  g_test_add ("/fleet/broker/" name, VtFleet, NULL, setup, fn, teardown)
  ADD ("device-gets-its-run", test_device_gets_its_run);
  ADD ("device-cannot-take-anothers-runs", test_device_cannot_take_anothers_runs);
  ADD ("device-cannot-forge-anothers-events", test_device_cannot_forge_anothers_events);
  ADD ("device-reads-only-its-settings", test_device_reads_only_its_settings);
  ADD ("console-reads-every-devices-reports", test_console_reads_every_devices_reports);
  ADD ("heartbeats-live-not-stored", test_heartbeats_live_not_stored);
  ADD ("offline-device-gets-run-on-connect", test_offline_device_gets_run_on_connect);
  ADD ("run-deduplicated-by-id", test_run_deduplicated_by_id);
  ADD ("revocation-without-restart", test_revocation_without_restart);
  ADD ("reenrolled-device-old-certificate-refused", test_reenrolled_device_old_certificate_refused);
  ADD ("bootstrap-may-only-ask-to-enroll", test_bootstrap_may_only_ask_to_enroll);
  ADD ("enrollment-end-to-end", test_enrollment_end_to_end);
  ADD ("broker-name-checked", test_broker_name_checked);
  ADD ("connection-without-certificate-refused", test_connection_without_certificate_refused);
  ADD ("certificate-from-other-ca-refused", test_certificate_from_other_ca_refused);
#undef ADD
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
