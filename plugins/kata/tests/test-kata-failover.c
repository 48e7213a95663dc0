/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fail-over is not silent: across three real TLS servers on loopback, the
 * first answering 503 and the second garbage, the third acknowledges; the
 * events reach it once, and each failed server gets one kata.server_failed
 * event per cycle with the stage that failed, counted per server in the
 * status. A pin mismatch still gives its kata.connection_refused event. A
 * malformed HTTP reply fails its server at the protocol stage. A
 * synchronization that fails over reports the failed server as well.
 */
#include "kata-test-engine.h"

#include <signal.h>
#include <string.h>

static VtCerts *certs;

static KtServer *
server (KtReplyMode mode)
{
  KtServer *srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);

  kt_server_set_reply (srv, mode);
  return srv;
}

static void
test_each_failed_server_reported (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *busy = server (KT_REPLY_HTTP_503);
  KtServer *junk = server (KT_REPLY_GARBAGE);
  KtServer *good = server (KT_REPLY_OK);
  guint16 ports[3] = { kt_server_port (busy), kt_server_port (junk), kt_server_port (good) };
  g_autofree char *busy_name = g_strdup_printf ("127.0.0.1:%u", ports[0]);
  g_autofree char *junk_name = g_strdup_printf ("127.0.0.1:%u", ports[1]);
  g_autofree char *busy_event = g_strdup_printf (
      "kata.server_failed: {\"server\":\"%s\",\"stage\":\"http\",\"reason\":", busy_name);
  g_autofree char *junk_event = g_strdup_printf (
      "kata.server_failed: {\"server\":\"%s\",\"stage\":\"protocol\",\"reason\":", junk_name);
  g_autofree char *busy_count = g_strdup_printf ("server_failures/%s/http", busy_name);
  KataCycleResult r;

  kt_fx_servers (fx, 3, ports);
  for (guint i = 0; i < 5; i++)
    kt_fx_submit (fx, "process.started");
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 2);
  g_assert_cmpuint (kt_server_unique_events (good), ==, 5);
  g_assert_cmpuint (kt_server_events_total (good), ==, 5);    /* once */
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.server_failed: "), ==, 2);
  g_assert_cmpuint (kt_fx_emitted (fx, busy_event), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, junk_event), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.delivery_failed: "), ==, 0);
  /* The next cycle fails over again: reported again, counted. */
  kt_fx_submit (fx, "process.started");
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 2);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.server_failed: "), ==, 4);
  g_assert_cmpint (kt_fx_status_int (fx, busy_count), ==, 2);
  g_assert_cmpint (kt_fx_status_int (fx, "sent_events"), ==, 6);
  /* The counts are the spool's: a new process sees them. */
  kt_fx_reopen (fx);
  g_assert_cmpint (kt_fx_status_int (fx, busy_count), ==, 2);
  kt_server_stop (busy);
  kt_server_stop (junk);
  kt_server_stop (good);
  kt_fx_free (fx);
}

static void
test_connect_and_pin_stages (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *impostor = kt_server_start (certs->other_pem, certs->other_key, NULL, 0);
  guint16 ports[2] = { vt_free_port (), kt_server_port (impostor) };
  g_autofree char *down = g_strdup_printf (
      "kata.server_failed: {\"server\":\"127.0.0.1:%u\",\"stage\":\"connect\"", ports[0]);
  g_autofree char *pin = g_strdup_printf (
      "kata.server_failed: {\"server\":\"127.0.0.1:%u\",\"stage\":\"pin\"", ports[1]);
  KataCycleResult r;

  kt_fx_servers (fx, 2, ports);
  kt_fx_submit (fx, "process.started");
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, -1);
  g_assert_cmpuint (kt_fx_emitted (fx, down), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, pin), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.connection_refused: "), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.delivery_failed: "), ==, 1);
  kt_server_stop (impostor);
  kt_fx_free (fx);
}

/* Replies the old hand-written client took or guessed at: each one fails
 * the server at the protocol stage with a reason saying what was wrong,
 * and the events stay spooled until a proper acknowledgement. */
static void
test_malformed_http_refused (void)
{
  static const struct { const char *raw, *says; } bad[] = {
    { "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{\"ack\":1}", "Content-Length" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 3abc\r\n\r\n{\"ack\":1}", "Content-Length" },
    { "HTTP/1.1 200abc\r\nContent-Length: 9\r\n\r\n{\"ack\":1}", "status line" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n{\"ack\":1}", "truncated" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Length: 5\r\n\r\n{\"ack\":1}",
      "a second, different Content-Length" },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"ack\":1}",
      "truncated" },
  };
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = server (KT_REPLY_OK);
  guint16 port = kt_server_port (srv);
  g_autofree char *failed = g_strdup_printf (
      "kata.server_failed: {\"server\":\"127.0.0.1:%u\",\"stage\":\"protocol\","
      "\"reason\":\"127.0.0.1:%u: malformed HTTP reply: ", port, port);
  KataCycleResult r;

  kt_fx_servers (fx, 1, &port);
  kt_fx_submit (fx, "process.started");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      guint before = fx->emitted->len;
      gboolean said = FALSE;

      vt_tls_server_script (kt_server_tls (srv), bad[i].raw, -1, VT_ACTION_CLOSE);
      kata_engine_send_now (fx->engine, &r);
      g_assert_cmpint (r.server_index, ==, -1);
      g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1);
      g_assert_cmpuint (kt_fx_emitted (fx, failed), ==, i + 1);
      for (guint e = before; e < fx->emitted->len; e++)
        said |= strstr (g_ptr_array_index (fx->emitted, e), bad[i].says) != NULL;
      if (!said)
        g_error ("%s: no event says '%s'", bad[i].raw, bad[i].says);
    }
  /* A proper acknowledgement takes the event, once. */
  kata_engine_send_now (fx->engine, &r);
  g_assert_cmpint (r.server_index, ==, 0);
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 1);
  kt_server_stop (srv);
  kt_fx_free (fx);
}

/* A synchronization that fails over says so too, marked "sync". */
static void
test_sync_failover_reported (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *good = server (KT_REPLY_OK);
  guint16 ports[2] = { vt_free_port (), kt_server_port (good) };
  g_autofree char *down = g_strdup_printf (
      "kata.server_failed: {\"server\":\"127.0.0.1:%u\",\"stage\":\"connect\"", ports[0]);

  kt_fx_servers (fx, 2, ports);
  g_assert_true (kata_engine_sync_now (fx->engine));
  g_assert_cmpuint (kt_server_syncs (good), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.server_failed: "), ==, 1);
  g_assert_cmpuint (kt_fx_emitted (fx, down), ==, 1);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (fx->emitted, 0), ",\"during\":\"sync\"}"));
  g_assert_cmpuint (kt_fx_emitted (fx, "kata.sync_failed: "), ==, 0);
  kt_server_stop (good);
  kt_fx_free (fx);
}


static void
use_client_pfx (KtFx *fx)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (certs->client_pfx, &data, &len, NULL));
  fx->settings->use_client_cert = TRUE;
  g_clear_pointer (&fx->settings->client_pfx, g_bytes_unref);
  fx->settings->client_pfx = g_bytes_new_take (g_steal_pointer (&data), len);
  g_free (fx->settings->client_pfx_password);
  fx->settings->client_pfx_password = g_strdup ("s3cret");
  kata_engine_configure (fx->engine, fx->settings);
}

/* A node that demands a client certificate, with pinning on: the device
 * without one, and the device whose certificate the node does not trust,
 * each get a kata.server_failed at the `tls` stage whose reason says what
 * the node refused and that it did so after the TLS 1.3 handshake, for
 * sends and synchronizations alike. The refusal reaches the device as an
 * alert or as a reset, whichever comes first: several cycles meet both. */
static void
assert_tls_refusals (KtFx *fx, guint16 port, const char *says)
{
  g_autofree char *prefix = g_strdup_printf (
      "kata.server_failed: {\"server\":\"127.0.0.1:%u\",\"stage\":\"tls\","
      "\"reason\":\"127.0.0.1:%u: TLS failed: %s (after the TLS 1.3 handshake, at the first ",
      port, port, says);
  KataCycleResult r;

  for (guint i = 0; i < 4; i++)
    {
      guint before = kt_fx_emitted (fx, prefix);

      kata_engine_send_now (fx->engine, &r);
      g_assert_cmpint (r.server_index, ==, -1);
      g_assert_false (kata_engine_sync_now (fx->engine));
      if (kt_fx_emitted (fx, prefix) != before + 2)
        g_error ("expected two events starting '%s', the last one is: %s", prefix,
                 (char *) g_ptr_array_index (fx->emitted, fx->emitted->len - 1));
    }
  g_assert_cmpuint (kata_engine_spooled (fx->engine), ==, 1);
}

static void
test_client_certificate_refusal_stage (void)
{
  KtFx *fx = kt_fx_new (certs);
  KtServer *srv = kt_server_start (certs->server_pem, certs->server_key,
                                   certs->ca_pem, 0);
  KtServer *strict = kt_server_start (certs->server_pem, certs->server_key,
                                      certs->other_pem, 0);
  guint16 port = kt_server_port (srv);
  guint16 strict_port = kt_server_port (strict);

  g_assert_true (fx->settings->use_pinned);
  kt_fx_servers (fx, 1, &port);
  kt_fx_submit (fx, "process.started");
  assert_tls_refusals (fx, port, "the server requires a client certificate and none is configured");
  use_client_pfx (fx);
  kt_fx_servers (fx, 1, &strict_port);
  assert_tls_refusals (fx, strict_port, "the server refused our client certificate");
  g_assert_cmpuint (kt_server_packages (srv) + kt_server_packages (strict), ==, 0);
  kt_server_stop (srv);
  kt_server_stop (strict);
  kt_fx_free (fx);
}

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  g_test_add_func ("/kata/failover/sync-failover-reported", test_sync_failover_reported);
  g_test_add_func ("/kata/failover/each-failed-server-reported", test_each_failed_server_reported);
  g_test_add_func ("/kata/failover/connect-and-pin-stages", test_connect_and_pin_stages);
  g_test_add_func ("/kata/failover/malformed-http-refused", test_malformed_http_refused);
  g_test_add_func ("/kata/failover/client-certificate-refusal-stage",
                   test_client_certificate_refusal_stage);
  rc = g_test_run ();
  vt_certs_free (certs);
  return rc;
}
