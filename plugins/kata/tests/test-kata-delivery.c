/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Delivery of telemetry to a real TLS server on loopback, with certificates
 * the test makes: pinning (match, mismatch), client certificate, fail-over,
 * restart without loss or duplicates, package size and period, throttling
 * numbers over an hour of fake clock, TTL de-duplication, malformed server
 * replies, and synchronization creating tasks. The engine runs without the
 * host; its clock, events and task creation are the test's.
 */
#include "kata-engine.h"
#include "kata-test-server.h"

#include <signal.h>
#include <string.h>

static KtCerts *certs;

typedef struct {
  gint64      now;
  GPtrArray  *emitted;      /* "type: payload json" */
  GPtrArray  *tasks;        /* JSON of created tasks */
  char       *dir;
  KataEngine *engine;
  KataSettings *settings;
  guint       next_id;
  char       *proxy_uri;    /* what resolve_proxy answers */
  guint       proxy_asks;
} Fx;

static gint64
fx_now (gpointer data)
{
  return ((Fx *) data)->now;
}

static void
fx_emit (gpointer data, const char *type, JsonObject *payload)
{
  Fx *fx = data;
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), payload);
  g_autofree char *text = json_to_string (n, FALSE);

  g_ptr_array_add (fx->emitted, g_strdup_printf ("%s: %s", type, text));
}

static char *
fx_create_task (gpointer data, JsonObject *task, GError **error)
{
  Fx *fx = data;
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), task);

  if (g_strcmp0 (json_object_get_string_member (task, "type"), "nope.none") == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "unknown task type");
      return NULL;
    }
  g_ptr_array_add (fx->tasks, json_to_string (n, FALSE));
  return g_strdup_printf ("task-%u", fx->tasks->len);
}

static char *
fx_resolve_proxy (gpointer data, const char *url, GError **error)
{
  Fx *fx = data;

  fx->proxy_asks++;
  return g_strdup (fx->proxy_uri);
}

static void
fx_open_engine (Fx *fx, guint64 spool_max)
{
  KataHooks hooks = { fx_now, fx_emit, fx_create_task, fx_resolve_proxy, fx };
  KataEngineOptions opts = { fx->dir, "device-a", spool_max, FALSE, NULL };
  g_autoptr (GError) error = NULL;

  fx->engine = kata_engine_new (&opts, &hooks, &error);
  g_assert_no_error (error);
  kata_engine_configure (fx->engine, fx->settings);
}

static Fx *
fx_new (void)
{
  Fx *fx = g_new0 (Fx, 1);
  g_autofree char *pem = kt_read_text (certs->server_pem);

  fx->now = 1795000000LL * G_USEC_PER_SEC;
  fx->emitted = g_ptr_array_new_with_free_func (g_free);
  fx->tasks = g_ptr_array_new_with_free_func (g_free);
  fx->dir = g_dir_make_tmp ("kata-engine-XXXXXX", NULL);
  fx->settings = kata_settings_new_default ();
  fx->settings->enabled = TRUE;
  fx->settings->use_pinned = TRUE;
  fx->settings->pinned_pem = g_strdup (pem);
  fx->settings->timeout_sec = 10;   /* never waited for: no test server stalls */
  fx->settings->throttle_enabled = FALSE;
  fx_open_engine (fx, 0);
  return fx;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static void
fx_free (Fx *fx)
{
  kata_engine_free (fx->engine);
  kata_settings_free (fx->settings);
  remove_dir (fx->dir);
  g_free (fx->dir);
  g_ptr_array_unref (fx->emitted);
  g_ptr_array_unref (fx->tasks);
  g_free (fx->proxy_uri);
  g_free (fx);
}

static void
fx_servers (Fx *fx, guint n, const guint16 *ports)
{
  g_ptr_array_set_size (fx->settings->servers, 0);
  for (guint i = 0; i < n; i++)
    kata_settings_add_server (fx->settings, "127.0.0.1", ports[i]);
  kata_engine_configure (fx->engine, fx->settings);
}

static void
fx_submit (Fx *fx, const char *type, const char *image, const char *sha256)
{
  g_autoptr (JsonObject) rec = json_object_new ();
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autofree char *id = g_strdup_printf ("ev-%06u", fx->next_id++);
  g_autoptr (GError) error = NULL;

  json_object_set_string_member (payload, "image", image ? image : "/usr/bin/x");
  json_object_set_string_member (payload, "sha256", sha256 ? sha256 : "00");
  json_object_set_string_member (rec, "id", id);
  json_object_set_string_member (rec, "type", type);
  json_object_set_string_member (rec, "device", "device-a");
  json_object_set_object_member (rec, "payload", g_steal_pointer (&payload));
  g_assert_true (kata_engine_submit (fx->engine, type, rec, &error));
  g_assert_no_error (error);
}

static void
fx_submit_n (Fx *fx, guint n)
{
  for (guint i = 0; i < n; i++)
    fx_submit (fx, "process.started", NULL, NULL);
}

static gboolean
fx_emitted (Fx *fx, const char *prefix)
{
  for (guint i = 0; i < fx->emitted->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (fx->emitted, i), prefix))
      return TRUE;
  return FALSE;
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
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 5);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (r.events, ==, 5);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 5);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_pinned_mismatch_refused (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = kt_server_start (certs->other_pem, certs->other_key, NULL, 0);
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 3);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 3);
  g_assert_true (fx_emitted (fx, "kata.connection_refused: "));
  g_assert_true (fx_emitted (fx, "kata.delivery_failed: {\"servers\":[\"127.0.0.1:"));
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_unpinned_needs_trusted_chain (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  /* Without pinning, a private CA that is not trusted is refused. */
  fx->settings->use_pinned = FALSE;
  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 1);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);
  kt_server_stop (srv);
  fx_free (fx);
}

/* ---- client certificate --------------------------------------------- */

static void
test_client_certificate_required (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = kt_server_start (certs->server_pem, certs->server_key,
                                   certs->ca_pem, 0);
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  fx_servers (fx, 1, &port);
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
  fx_free (fx);
}

/* ---- fail-over ------------------------------------------------------ */

static void
test_failover_to_third_server (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 ports[3] = { kt_free_port (), kt_free_port (), kt_server_port (srv) };
  KataCycleResult r;

  fx_servers (fx, 3, ports);
  fx_submit_n (fx, 4);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 2);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 4);
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_failover_returns_to_first (void)
{
  Fx *fx = fx_new ();
  KtServer *second = good_server ();
  guint16 first_port = kt_free_port ();
  guint16 ports[2] = { first_port, kt_server_port (second) };
  KtServer *first;
  KataCycleResult r;

  fx_servers (fx, 2, ports);
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
  fx_free (fx);
}

/* ---- proxy --------------------------------------------------------- */

static void
test_proxy_used_when_set (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  KtProxy *px = kt_proxy_start ("edr:pr0xy pass");
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  fx->proxy_uri = g_strdup_printf ("http://edr:pr0xy%%20pass@127.0.0.1:%u", kt_proxy_port (px));
  fx->settings->use_proxy = TRUE;
  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 3);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kt_proxy_tunnels (px), ==, 1);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 3);
  kt_proxy_stop (px);
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_proxy_not_used_by_default (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  KtProxy *px = kt_proxy_start (NULL);
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  /* A proxy is specified in the general settings, but the section's
   * use_proxy is off (the default): the connection is direct. */
  fx->proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", kt_proxy_port (px));
  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 2);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (fx->proxy_asks, ==, 0);
  g_assert_cmpuint (kt_proxy_tunnels (px), ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 2);
  kt_proxy_stop (px);
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_proxy_refusal_keeps_events (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  KtProxy *px = kt_proxy_start ("edr:right");
  guint16 port = kt_server_port (srv);
  KataCycleResult r;
  g_autoptr (JsonObject) st = NULL;

  fx->proxy_uri = g_strdup_printf ("http://edr:wrong@127.0.0.1:%u", kt_proxy_port (px));
  fx->settings->use_proxy = TRUE;
  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 2);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kt_proxy_refused (px), ==, 1);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 2);
  st = kata_engine_status (fx->engine);
  g_assert_nonnull (strstr (json_object_get_string_member (st, "last_error"), "407"));
  /* The proxy password never shows in an error. */
  g_assert_null (strstr (json_object_get_string_member (st, "last_error"), "wrong"));
  kt_proxy_stop (px);
  kt_server_stop (srv);
  fx_free (fx);
}

/* ---- durability ----------------------------------------------------- */

static void
test_down_then_restart_no_loss_no_duplicates (void)
{
  Fx *fx = fx_new ();
  guint16 port = kt_free_port ();
  KtServer *srv;
  KataCycleResult r;

  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 250);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 250);
  /* The host restarts: a new engine on the same folder. */
  kata_engine_free (fx->engine);
  fx_open_engine (fx, 0);
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
  g_assert_true (fx_emitted (fx, "kata.delivery_restored: "));
  /* The totals outlive the process, for `vigil kata status`. */
  kata_engine_free (fx->engine);
  fx_open_engine (fx, 0);
  {
    g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
    g_assert_cmpint (json_object_get_int_member (st, "sent_events"), ==, 250);
    g_assert_cmpint (json_object_get_int_member (st, "sent_packages"), ==, 3);
  }
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_lost_ack_resends_same_sequence (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  fx_servers (fx, 1, &port);
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
  fx_free (fx);
}

static void
test_full_spool_drops_oldest_low_first (void)
{
  Fx *fx = fx_new ();
  guint16 port = kt_free_port ();
  KtServer *srv;
  KataCycleResult r;

  kata_engine_free (fx->engine);
  fx_open_engine (fx, 10);
  fx_servers (fx, 1, &port);
  fx_submit (fx, "sandbox.threat_detected", NULL, NULL);
  fx_submit_n (fx, 12);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 10);
  kata_engine_send_now (fx->engine, &r);
  g_assert_true (fx_emitted (fx, "kata.events_dropped: {\"dropped\":3"));
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, port);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpuint (kt_server_type_count (srv, "sandbox.threat_detected"), ==, 1);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 9);
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_drops_reported_by_next_process (void)
{
  Fx *fx = fx_new ();
  guint16 port = kt_free_port ();
  KataCycleResult r;

  /* A one-shot `vigil event emit` fills the spool and exits before any
   * cycle: the next process using the spool reports the drops, once. */
  kata_engine_free (fx->engine);
  fx_open_engine (fx, 5);
  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 9);
  kata_engine_free (fx->engine);
  fx_open_engine (fx, 5);
  kata_engine_send_now (fx->engine, &r);
  g_assert_true (fx_emitted (fx, "kata.events_dropped: {\"dropped\":4"));
  g_ptr_array_set_size (fx->emitted, 0);
  kata_engine_send_now (fx->engine, &r);
  g_assert_false (fx_emitted (fx, "kata.events_dropped: "));
  fx_free (fx);
}

/* ---- packages and period -------------------------------------------- */

static void
test_package_size_and_period (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  g_autoptr (GArray) sizes = NULL;

  fx->settings->max_per_package = 40;
  fx->settings->period_sec = 30;
  fx_servers (fx, 1, &port);
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
  fx_free (fx);
}

static void
test_server_closing_connection_reconnects (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  KataCycleResult r;

  /* "Connection: close" after each reply is not a failure: the next
   * package goes on a new connection to the same server. */
  kt_server_set_reply (srv, KT_REPLY_CLOSE);
  fx->settings->max_per_package = 2;
  fx_servers (fx, 1, &port);
  fx_submit_n (fx, 5);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (r.packages, ==, 3);
  g_assert_cmpuint (kt_server_connections (srv), ==, 3);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 5);
  kt_server_stop (srv);
  fx_free (fx);
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
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  guint low_sent;

  fx->settings->throttle_enabled = TRUE;   /* 3000/h, 15 % */
  fx->settings->max_per_package = 1024;
  fx_servers (fx, 1, &port);
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
  fx_free (fx);
}

static void
test_throttling_under_limit_passes_all (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);

  fx->settings->throttle_enabled = TRUE;
  fx_servers (fx, 1, &port);
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
  fx_free (fx);
}

static void
test_throttling_window_shared_by_processes (void)
{
  Fx *fx = fx_new ();
  guint16 port = kt_free_port ();

  /* Thirty one-shot processes, one process start each, within a minute:
   * throttled as one flow (10 an hour, 15 %: a dominant type may use 1.5),
   * not as thirty flows of one event each. */
  fx->settings->throttle_enabled = TRUE;
  fx->settings->max_per_hour = 10;
  fx_servers (fx, 1, &port);
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *sha = g_strdup_printf ("%02u", i);
      kata_engine_free (fx->engine);
      fx_open_engine (fx, 0);
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
  fx_free (fx);
}

/* ---- TTL ------------------------------------------------------------ */

static void
test_ttl_ignores_starts_held_back (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);
  guint sent_before;

  /* A start held back by throttling was not sent: it opens no TTL period
   * (1440 min by default), so the next start of that process goes. */
  fx->settings->use_ttl = TRUE;
  fx->settings->throttle_enabled = TRUE;
  fx->settings->max_per_hour = 10;
  fx_servers (fx, 1, &port);
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
  fx_free (fx);
}

static void
test_ttl_deduplicates_process_starts (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);

  fx->settings->use_ttl = TRUE;
  fx->settings->ttl_min = 60;
  fx_servers (fx, 1, &port);
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
  kata_engine_free (fx->engine);
  fx_open_engine (fx, 0);
  fx->now += 1 * 60 * G_USEC_PER_SEC;
  fx_submit (fx, "process.started", "/usr/bin/ssh", "aa");
  kata_engine_send_now (fx->engine, NULL);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 4);
  {
    g_autoptr (JsonObject) st = kata_engine_status (fx->engine);
    g_assert_cmpint (json_object_get_int_member (st, "ttl_suppressed"), ==, 2);
  }
  kt_server_stop (srv);
  fx_free (fx);
}

/* ---- malformed replies ---------------------------------------------- */

static void
check_bad_reply (KtReplyMode mode)
{
  Fx *fx = fx_new ();
  KtServer *bad = good_server ();
  KtServer *good = good_server ();
  guint16 ports[2] = { kt_server_port (bad), kt_server_port (good) };
  KataCycleResult r;

  kt_server_set_reply (bad, mode);
  fx_servers (fx, 2, ports);
  fx_submit_n (fx, 7);
  kata_engine_send_now (fx->engine, &r);
  /* The events stay until someone acknowledges them: the next server. */
  g_assert_cmpint (r.server_index, ==, 1);
  g_assert_cmpuint (kt_server_unique_events (good), ==, 7);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  kt_server_stop (bad);
  kt_server_stop (good);
  fx_free (fx);
}

static void
test_response_timeout_fails_over (void)
{
  Fx *fx = fx_new ();
  KtServer *slow = good_server ();
  KtServer *good = good_server ();
  guint16 ports[2] = { kt_server_port (slow), kt_server_port (good) };
  KataCycleResult r;
  g_autoptr (JsonObject) st = NULL;

  /* The one test that waits: the response timeout, 1 s. */
  kt_server_set_reply (slow, KT_REPLY_STALL);
  fx->settings->timeout_sec = 1;
  fx_servers (fx, 2, ports);
  fx_submit_n (fx, 3);
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 1);
  g_assert_cmpuint (kt_server_packages (slow), ==, 1);   /* it got it, never answered */
  g_assert_cmpuint (kt_server_unique_events (good), ==, 3);
  st = kata_engine_status (fx->engine);
  g_assert_null (json_object_get_string_member (st, "last_error"));
  g_assert_false (fx_emitted (fx, "kata.delivery_failed: "));
  kt_server_stop (slow);
  kt_server_stop (good);
  fx_free (fx);
}

static void test_reply_garbage (void) { check_bad_reply (KT_REPLY_GARBAGE); }
static void test_reply_wrong_ack (void) { check_bad_reply (KT_REPLY_WRONG_ACK); }
static void test_reply_http_500 (void) { check_bad_reply (KT_REPLY_HTTP_500); }

/* ---- synchronization ------------------------------------------------ */

static void
test_sync_creates_tasks_once (void)
{
  Fx *fx = fx_new ();
  KtServer *srv = good_server ();
  guint16 port = kt_server_port (srv);

  kt_server_set_sync_body (srv,
      "{\"settings\":{\"throttling\":{\"enabled\":true}},\"tasks\":[{\"id\":\"c-1\",\"type\":\"ioc.scan\","
      "\"name\":\"IOC from KATA\",\"params\":{\"iocs\":[]}},"
      "{\"id\":\"c-2\",\"type\":\"nope.none\"}]}");
  fx_servers (fx, 1, &port);
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (kt_server_syncs (srv), ==, 2);
  g_assert_cmpuint (fx->tasks->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (fx->tasks, 0), "\"ioc.scan\""));
  g_assert_true (fx_emitted (fx, "kata.sync_task_rejected: "));
  kt_server_stop (srv);
  fx_free (fx);
}

static void
test_sync_garbage_reported (void)
{
  const char *bodies[] = { "<html>", "[]", "{\"tasks\":{}}",
                           "{\"tasks\":[{\"id\":5,\"type\":\"ioc.scan\"}]}",
                           "{\"tasks\":[{\"id\":\"x\",\"type\":\"noverb\"}]}" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      Fx *fx = fx_new ();
      KtServer *srv = good_server ();
      guint16 port = kt_server_port (srv);

      kt_server_set_sync_body (srv, bodies[i]);
      fx_servers (fx, 1, &port);
      g_assert_false (kata_engine_sync_now (fx->engine));
      g_assert_true (fx_emitted (fx, "kata.sync_failed: "));
      g_assert_cmpuint (fx->tasks->len, ==, 0);
      kt_server_stop (srv);
      fx_free (fx);
    }
}

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);   /* the test server writes to closed peers */
  g_test_init (&argc, &argv, NULL);
  certs = kt_certs_new ();
  g_test_add_func ("/kata/tls/pinned-match-delivers", test_pinned_match_delivers);
  g_test_add_func ("/kata/tls/pinned-mismatch-refused", test_pinned_mismatch_refused);
  g_test_add_func ("/kata/tls/unpinned-needs-trusted-chain", test_unpinned_needs_trusted_chain);
  g_test_add_func ("/kata/tls/client-certificate-required", test_client_certificate_required);
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
  kt_certs_free (certs);
  kata_crypto_shutdown ();
  return rc;
}
