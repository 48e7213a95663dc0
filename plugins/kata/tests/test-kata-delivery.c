/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Delivery of telemetry to a real TLS server on loopback, with certificates
 * the test makes: pinning (match, mismatch), client certificate, fail-over,
 * restart without loss or duplicates, package size and period, throttling
 * numbers over an hour of fake clock, TTL de-duplication, malformed server
 * replies, and synchronization creating tasks. The engine runs without the
 * host; its clock, events and task creation are the test's.
 */
#include "kata-test-engine.h"

#include <signal.h>
#include <string.h>

static VtCerts *certs;

/* Payload defaults of the older tests: every start has an image and hash. */
static void
fx_submit (KtFx *fx, const char *type, const char *image, const char *sha256)
{
  kt_fx_submit_with (fx, type, image ? image : "/usr/bin/x", sha256 ? sha256 : "00");
}

static void
fx_submit_n (KtFx *fx, guint n)
{
  for (guint i = 0; i < n; i++)
    fx_submit (fx, "process.started", NULL, NULL);
}

static KtServer *
good_server (void)
{
  return kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
}

/* ---- pinning -------------------------------------------------------- */

static void
test_pinned_match_delivers (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 5);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (r.events, ==, 5);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 5);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_pinned_mismatch_refused (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = kt_server_start (certs->other_pem, certs->other_key, NULL, 0);
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 3);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 3);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.connection_refused: "), >, 0);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.delivery_failed: {\"servers\":[\"127.0.0.1:"), >, 0);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_unpinned_needs_trusted_chain (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  /* Without pinning, a private CA that is not trusted is refused. */
  fx->settings->use_pinned = FALSE;
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 1);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* ---- client certificate --------------------------------------------- */

static void
test_client_certificate_required (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = kt_server_start (certs->server_pem, certs->server_key,
                                   certs->ca_pem, 0);
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 2);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);   /* no certificate: refused */
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);

  fx->settings->use_client_cert = TRUE;
  fx->settings->client_pfx = g_bytes_new_take (NULL, 0);
  {
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (certs->client_pfx, &data, &len, NULL));
    g_bytes_unref (fx->settings->client_pfx);
    fx->settings->client_pfx = g_bytes_new_take (g_steal_pointer (&data), len);
  }
  fx->settings->client_pfx_password = g_strdup ("s3cret");
  kata_engine_configure (fx->engine, fx->settings);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 2);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* A PFX of the older kind (RC2/3DES, `openssl pkcs12 -legacy`), as many
 * admins still have: libcurl reads it through the legacy provider the
 * plugin loads. */
static void
test_client_certificate_legacy_pfx (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = kt_server_start (certs->server_pem, certs->server_key,
                                   certs->ca_pem, 0);
  guint16 port = kt_server_port (srv);
  g_autofree char *data = NULL;
  gsize len = 0;
  KataCycleResult r;

  g_assert_true (g_file_get_contents (certs->client_pfx_legacy, &data, &len, NULL));
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 2);
  fx->settings->use_client_cert = TRUE;
  fx->settings->client_pfx = g_bytes_new_take (g_steal_pointer (&data), len);
  fx->settings->client_pfx_password = g_strdup ("s3cret");
  kata_engine_configure (fx->engine, fx->settings);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 2);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* ---- fail-over ------------------------------------------------------ */

static void
test_failover_to_third_server (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 ports[3] = { vt_free_port (), vt_free_port (), kt_server_port (srv) };
  KataCycleResult r;

  kt_fx_servers (fx, 3, ports);
  fx_submit_n (fx, 4);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 2);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 4);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_failover_returns_to_first (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *second = good_server ();
  guint16 first_port = vt_free_port ();
  guint16 ports[2] = { first_port, kt_server_port (second) };
  KtServer *first;
  KataCycleResult r;

  kt_fx_servers (fx, 2, ports);
  fx_submit_n (fx, 1);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 1);
  /* The first server comes back: the next period starts with it. */
  first = kt_server_start (certs->server_pem, certs->server_key, NULL, first_port);
  fx_submit_n (fx, 1);
  fx->now += 30 * G_USEC_PER_SEC;
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kt_server_unique_events (first), ==, 1);
  g_assert_cmpuint (kt_server_unique_events (second), ==, 1);
  kt_server_stop (first);
  kt_server_stop (second);
  kt_fx_free (fx);
}

/* ---- proxy --------------------------------------------------------- */

static void
test_proxy_used_when_set (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  VtProxy *px = vt_proxy_start ("edr:pr0xy pass");
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  fx->proxy_uri = g_strdup_printf ("http://edr:pr0xy%%20pass@127.0.0.1:%u", vt_proxy_port (px));
  fx->settings->use_proxy = TRUE;
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 3);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (vt_proxy_tunnels (px), ==, 1);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 3);
  vt_proxy_stop (px);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_proxy_not_used_by_default (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  VtProxy *px = vt_proxy_start (NULL);
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  /* A proxy is specified in the general settings, but the section's
   * use_proxy is off (the default): the connection is direct. */
  fx->proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", vt_proxy_port (px));
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 2);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (fx->proxy_asks, ==, 0);
  g_assert_cmpuint (vt_proxy_tunnels (px), ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 2);
  vt_proxy_stop (px);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_proxy_refusal_keeps_events (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  VtProxy *px = vt_proxy_start ("edr:right");
  guint16 port = kt_server_port (srv);
  KataCycleResult r;
  g_autoptr (JsonObject) st = NULL;

  fx->proxy_uri = g_strdup_printf ("http://edr:wrong@127.0.0.1:%u", vt_proxy_port (px));
  fx->settings->use_proxy = TRUE;
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 2);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (vt_proxy_refused (px), ==, 1);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 2);
  st = kata_engine_status (fx->engine);
  g_assert_nonnull (strstr (json_object_get_string_member (st, "last_error"), "407"));
  /* The proxy password never shows in an error. */
  g_assert_null (strstr (json_object_get_string_member (st, "last_error"), "wrong"));
  vt_proxy_stop (px);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* ---- durability ----------------------------------------------------- */

static void
test_down_then_restart_no_loss_no_duplicates (void)
{
  KtFx *fx = kt_fx_new (certs);
  guint16 port = vt_free_port ();
  KtServer *srv;
  KataCycleResult r;

  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 250);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 250);
  /* The host restarts: a new engine on the same folder. */
  fx->spool_max = 0;
  kt_fx_reopen (fx);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 250);
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, port);
  fx->settings->max_per_package = 100;
  kata_engine_configure (fx->engine, fx->settings);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 250);
  g_assert_cmpuint (kt_server_events_total (srv), ==, 250);
  g_assert_false (kt_server_saw_duplicate_event (srv));
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.delivery_restored: "), >, 0);
  /* The totals outlive the process, for `vigil kata status`. */
  fx->spool_max = 0;
  kt_fx_reopen (fx);
  {
    g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
    g_assert_cmpint (json_object_get_int_member (st, "sent_events"), ==, 250);
    g_assert_cmpint (json_object_get_int_member (st, "sent_packages"), ==, 3);
  }
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_lost_ack_resends_same_sequence (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 10);
  kt_server_set_reply (srv, KT_REPLY_DROP);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpuint (r.packages, ==, 0);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 10);
  fx_submit_n (fx, 5);
  kt_server_set_reply (srv, KT_REPLY_OK);
  kata_engine_send_now (fx->engine, &r);
  /* The unacknowledged package goes again with its sequence id, then the
   * new events in a package of their own. */
  g_assert_cmpuint (r.packages, ==, 2);
  g_assert_cmpuint (kt_server_events_total (srv), ==, 25);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 15);
  g_assert_false (kt_server_saw_duplicate_event (srv));
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_full_spool_drops_oldest_low_first (void)
{
  KtFx *fx = kt_fx_new (certs);
  guint16 port = vt_free_port ();
  KtServer *srv;
  KataCycleResult r;

  fx->spool_max = 10;
  kt_fx_reopen (fx);
  kt_fx_servers (fx, 1, &port);
  fx_submit (fx, "sandbox.threat_detected", NULL, NULL);
  fx_submit_n (fx, 12);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 10);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.events_dropped: {\"dropped\":3"), >, 0);
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, port);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpuint (kt_server_type_count (srv, "sandbox.threat_detected"), ==, 1);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 9);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_drops_reported_by_next_process (void)
{
  KtFx *fx = kt_fx_new (certs);
  guint16 port = vt_free_port ();
  KataCycleResult r;

  /* A one-shot `vigil event emit` fills the spool and exits before any
   * cycle: the next process using the spool reports the drops, once. */
  fx->spool_max = 5;
  kt_fx_reopen (fx);
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 9);
  fx->spool_max = 5;
  kt_fx_reopen (fx);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.events_dropped: {\"dropped\":4"), >, 0);
  g_ptr_array_set_size (fx->emitted, 0);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.events_dropped: "), ==, 0);
  kt_fx_free (fx);
}

/* ---- packages and period -------------------------------------------- */

static void
test_package_size_and_period (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  g_autoptr (GArray) sizes = NULL;

  fx->settings->max_per_package = 40;
  fx->settings->period_sec = 30;
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 100);
  kata_engine_tick (fx->engine);               /* first tick: due */
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 100);
  fx_submit_n (fx, 10);
  fx->now += 29 * G_USEC_PER_SEC;
  kata_engine_tick (fx->engine);               /* 29 s later: not yet */
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 100);
  fx->now += 1 * G_USEC_PER_SEC;
  kata_engine_tick (fx->engine);               /* 30 s: the next period */
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 110);
  sizes = kt_server_package_sizes (srv);
  g_assert_cmpuint (sizes->len, ==, 4);
  g_assert_cmpuint (g_array_index (sizes, guint, 0), ==, 40);
  g_assert_cmpuint (g_array_index (sizes, guint, 1), ==, 40);
  g_assert_cmpuint (g_array_index (sizes, guint, 2), ==, 20);
  g_assert_cmpuint (g_array_index (sizes, guint, 3), ==, 10);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_server_closing_connection_reconnects (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  /* "Connection: close" after each reply is not a failure: the next
   * package goes on a new connection to the same server. */
  kt_server_set_reply (srv, KT_REPLY_CLOSE);
  fx->settings->max_per_package = 2;
  kt_fx_servers (fx, 1, &port);
  fx_submit_n (fx, 5);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (r.packages, ==, 3);
  g_assert_cmpuint (kt_server_connections (srv), ==, 3);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 5);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* ---- throttling ----------------------------------------------------- */

static const char *
mixed_type (guint i)
{
  /* Per 100 events: 60 process starts, 20 quarantine restores, 10 quarantine
   * deletions, 5 response failures (low), 3 sandbox and 2 IOC detections. */
  guint k = i % 100;

  if (k < 60) return "process.started";
  if (k < 80) return "quarantine.restored";
  if (k < 90) return "quarantine.deleted";
  if (k < 95) return "response.failed";
  if (k < 98) return "sandbox.threat_detected";
  return "ioc.found";
}

static void
test_throttling_hour_of_mixed_events (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  guint low_sent;

  fx->settings->throttle_enabled = TRUE;   /* 3000/h, 15 % */
  fx->settings->max_per_package = 1024;
  kt_fx_servers (fx, 1, &port);
  fx->now = 1795000020LL * G_USEC_PER_SEC;  /* on a minute boundary */
  /* 10,000 events spread evenly over one hour of fake clock (one every
   * 359 ms), a transmission cycle every 30 s. */
  for (guint i = 0; i < 10000; i++)
    {
      fx->now += 359 * 1000;
      fx_submit (fx, mixed_type (i), NULL, NULL);
      kata_engine_tick (fx->engine);
    }
  kata_engine_send_now (fx->engine, NULL);
  /* Detections are never held back. */
  g_assert_cmpuint (kt_server_type_count (srv, "sandbox.threat_detected"), ==, 300);
  g_assert_cmpuint (kt_server_type_count (srv, "ioc.found"), ==, 200);
  /* 10,000 an hour tends to exceed 3000: the types above 15 % of the flow
   * (process starts 60 %, restores 20 %) are held to 15 % of 3000 each;
   * deletions (10 %) and response failures (5 %) all pass. */
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 450);
  g_assert_cmpuint (kt_server_type_count (srv, "quarantine.restored"), ==, 450);
  g_assert_cmpuint (kt_server_type_count (srv, "quarantine.deleted"), ==, 1000);
  g_assert_cmpuint (kt_server_type_count (srv, "response.failed"), ==, 500);
  low_sent = 450 + 450 + 1000 + 500;
  g_assert_cmpuint (low_sent, <=, 3000);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, low_sent + 500);
  {
    g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
    JsonObject *thr = json_object_get_object_member (st, "throttling");
    JsonObject *ps = json_object_get_object_member (
        json_object_get_object_member (thr, "types"), "process.started");
    g_assert_cmpint (json_object_get_int_member (thr, "offered"), ==, 10000);
    g_assert_cmpint (json_object_get_int_member (thr, "admitted"), ==, low_sent + 500);
    g_assert_cmpint (json_object_get_int_member (thr, "held_back"), ==,
                     10000 - (low_sent + 500));
    g_assert_cmpint (json_object_get_int_member (ps, "held_back"), ==, 6000 - 450);
  }
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_throttling_under_limit_passes_all (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);

  fx->settings->throttle_enabled = TRUE;
  kt_fx_servers (fx, 1, &port);
  /* 2,000 events in an hour stay under 3000: nothing is held back, even
   * though process starts are 60 % of them. */
  for (guint i = 0; i < 2000; i++)
    {
      fx->now += 1795 * 1000;
      fx_submit (fx, mixed_type (i), NULL, NULL);
    }
  kata_engine_send_now (fx->engine, NULL);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 2000);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 1200);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_throttling_window_shared_by_processes (void)
{
  KtFx *fx = kt_fx_new (certs);
  guint16 port = vt_free_port ();

  /* Thirty one-shot processes, one process start each, within a minute:
   * throttled as one flow (10 an hour, 15 %: a dominant type may use 1.5),
   * not as thirty flows of one event each. */
  fx->settings->throttle_enabled = TRUE;
  fx->settings->max_per_hour = 10;
  kt_fx_servers (fx, 1, &port);
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *sha = g_strdup_printf ("%02u", i);
      fx->spool_max = 0;
      kt_fx_reopen (fx);
      fx->now += G_USEC_PER_SEC;
      fx_submit (fx, "process.started", "/usr/bin/x", sha);
    }
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 2);
  {
    g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
    JsonObject *thr = json_object_get_object_member (st, "throttling");
    g_assert_cmpint (json_object_get_int_member (thr, "offered"), ==, 30);
    g_assert_cmpint (json_object_get_int_member (thr, "held_back"), ==, 28);
  }
  kt_fx_free (fx);
}

/* ---- TTL ------------------------------------------------------------ */

static void
test_ttl_ignores_starts_held_back (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  guint sent_before;

  /* A start held back by throttling was not sent: it opens no TTL period
   * (1440 min by default), so the next start of that process goes. */
  fx->settings->use_ttl = TRUE;
  fx->settings->throttle_enabled = TRUE;
  fx->settings->max_per_hour = 10;
  kt_fx_servers (fx, 1, &port);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *sha = g_strdup_printf ("%02u", i);
      fx_submit (fx, "process.started", "/usr/bin/noisy", sha);
    }
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");   /* held back */
  kata_engine_send_now (fx->engine, NULL);
  sent_before = kt_server_type_count (srv, "process.started");
  g_assert_cmpuint (sent_before, <, 41);
  fx->now += (gint64) 61 * 60 * G_USEC_PER_SEC;
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");
  kata_engine_send_now (fx->engine, NULL);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, sent_before + 1);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_ttl_deduplicates_process_starts (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);

  fx->settings->use_ttl = TRUE;
  fx->settings->ttl_min = 60;
  kt_fx_servers (fx, 1, &port);
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");
  fx->now += 30 * 60 * G_USEC_PER_SEC;
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");   /* repeat */
  fx_submit (fx, "process.started", "/usr/bin/ssh", "bb");   /* other hash */
  fx_submit (fx, "process.started", "/usr/bin/scp", "aa");   /* other image */
  fx->now += 31 * 60 * G_USEC_PER_SEC;
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");   /* TTL over */
  kata_engine_send_now (fx->engine, NULL);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 4);
  /* The period holds across a restart of the engine. */
  fx->spool_max = 0;
  kt_fx_reopen (fx);
  fx->now += 1 * 60 * G_USEC_PER_SEC;
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");
  kata_engine_send_now (fx->engine, NULL);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 4);
  {
    g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
    g_assert_cmpint (json_object_get_int_member (st, "ttl_suppressed"), ==, 2);
  }
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* ---- malformed replies ---------------------------------------------- */

static void
check_bad_reply (KtReplyMode mode)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *bad = good_server ();
  KtServer *good = good_server ();
  guint16 ports[2] = { kt_server_port (bad), kt_server_port (good) };
  KataCycleResult r;

  kt_server_set_reply (bad, mode);
  kt_fx_servers (fx, 2, ports);
  fx_submit_n (fx, 7);
  kata_engine_send_now (fx->engine, &r);
  /* The events stay until someone acknowledges them: the next server. */
  g_assert_cmpint (r.server_index, ==, 1);
  g_assert_cmpuint (kt_server_unique_events (good), ==, 7);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  kt_server_stop (bad);
  kt_server_stop (good);
  kt_fx_free (fx);
}

static void
test_response_timeout_fails_over (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *slow = good_server ();
  KtServer *good = good_server ();
  guint16 ports[2] = { kt_server_port (slow), kt_server_port (good) };
  KataCycleResult r;
  g_autoptr (JsonObject) st = NULL;

  /* The one test that waits: the response timeout, 1 s. */
  kt_server_set_reply (slow, KT_REPLY_STALL);
  fx->settings->timeout_sec = 1;
  kt_fx_servers (fx, 2, ports);
  fx_submit_n (fx, 3);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 1);
  g_assert_cmpuint (kt_server_packages (slow), ==, 1);   /* it got it, never answered */
  g_assert_cmpuint (kt_server_unique_events (good), ==, 3);
  st = kata_engine_status (fx->engine);
  g_assert_null (json_object_get_string_member (st, "last_error"));
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.delivery_failed: "), ==, 0);
  kt_server_stop (slow);
  kt_server_stop (good);
  kt_fx_free (fx);
}

static void test_reply_garbage (void) { check_bad_reply (KT_REPLY_GARBAGE); }
static void test_reply_wrong_ack (void) { check_bad_reply (KT_REPLY_WRONG_ACK); }
static void test_reply_http_500 (void) { check_bad_reply (KT_REPLY_HTTP_500); }

/* ---- synchronization ------------------------------------------------ */

static void
test_sync_creates_tasks_once (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);

  kt_server_set_sync_body (srv,
      "{\"settings\":{\"throttling\":{\"enabled\":true}},\"tasks\":[{\"id\":\"c-1\",\"type\":\"ioc.scan\","
      "\"name\":\"IOC from KATA\",\"params\":{\"iocs\":[]}},"
      "{\"id\":\"c-2\",\"type\":\"nope.none\"}]}");
  kt_fx_servers (fx, 1, &port);
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (kt_server_syncs (srv), ==, 2);
  g_assert_cmpuint (fx->tasks->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (fx->tasks, 0), "\"ioc.scan\""));
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_task_rejected: "), >, 0);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

static void
test_sync_garbage_reported (void)
{
  const char *bodies[] = { "<html>", "[]", "{\"tasks\":{}}",
                           "{\"tasks\":[{\"id\":5,\"type\":\"ioc.scan\"}]}",
                           "{\"tasks\":[{\"id\":\"x\",\"type\":\"noverb\"}]}" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      KtFx *fx = kt_fx_new (certs);
      KtServer *srv = good_server ();
      guint16 port = kt_server_port (srv);

      kt_server_set_sync_body (srv, bodies[i]);
      kt_fx_servers (fx, 1, &port);
      g_assert_false (kata_engine_sync_now (fx->engine));
      g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_failed: "), >, 0);
      g_assert_cmpuint (fx->tasks->len, ==, 0);
      kt_server_stop (srv);
      kt_fx_free (fx);
    }
}

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);   /* the test server writes to closed peers */
  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  g_test_add_func ("/kata/tls/pinned-match-delivers", test_pinned_match_delivers);
  g_test_add_func ("/kata/tls/pinned-mismatch-refused", test_pinned_mismatch_refused);
  g_test_add_func ("/kata/tls/unpinned-needs-trusted-chain", test_unpinned_needs_trusted_chain);
  g_test_add_func ("/kata/tls/client-certificate-required", test_client_certificate_required);
  g_test_add_func ("/kata/tls/client-certificate-legacy-pfx", test_client_certificate_legacy_pfx);
  g_test_add_func ("/kata/failover/third-server", test_failover_to_third_server);
  g_test_add_func ("/kata/failover/back-to-first-next-period", test_failover_returns_to_first);
  g_test_add_func ("/kata/proxy/used-when-set", test_proxy_used_when_set);
  g_test_add_func ("/kata/proxy/not-used-by-default", test_proxy_not_used_by_default);
  g_test_add_func ("/kata/proxy/refusal-keeps-events", test_proxy_refusal_keeps_events);
  g_test_add_func ("/kata/spool/down-restart-no-loss-no-duplicates",
                   test_down_then_restart_no_loss_no_duplicates);
  g_test_add_func ("/kata/spool/lost-ack-resends-same-sequence", test_lost_ack_resends_same_sequence);
  g_test_add_func ("/kata/spool/full-drops-oldest-low-first", test_full_spool_drops_oldest_low_first);
  g_test_add_func ("/kata/spool/drops-reported-by-next-process", test_drops_reported_by_next_process);
  g_test_add_func ("/kata/send/package-size-and-period", test_package_size_and_period);
  g_test_add_func ("/kata/send/server-closing-connection-reconnects",
                   test_server_closing_connection_reconnects);
  g_test_add_func ("/kata/throttle/hour-of-mixed-events", test_throttling_hour_of_mixed_events);
  g_test_add_func ("/kata/throttle/under-limit-passes-all", test_throttling_under_limit_passes_all);
  g_test_add_func ("/kata/ttl/deduplicates-process-starts", test_ttl_deduplicates_process_starts);
  g_test_add_func ("/kata/throttle/window-shared-by-processes",
                   test_throttling_window_shared_by_processes);
  g_test_add_func ("/kata/ttl/ignores-starts-held-back", test_ttl_ignores_starts_held_back);
  g_test_add_func ("/kata/reply/timeout-fails-over", test_response_timeout_fails_over);
  g_test_add_func ("/kata/reply/garbage-fails-over", test_reply_garbage);
  g_test_add_func ("/kata/reply/wrong-ack-fails-over", test_reply_wrong_ack);
  g_test_add_func ("/kata/reply/http-500-fails-over", test_reply_http_500);
  g_test_add_func ("/kata/sync/creates-tasks-once", test_sync_creates_tasks_once);
  g_test_add_func ("/kata/sync/garbage-reported", test_sync_garbage_reported);
  rc = g_test_run ();
  vt_certs_free (certs);
  kata_crypto_shutdown ();
  return rc;
}
