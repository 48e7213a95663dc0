/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transmission cycle: take a snapshot of the settings, then walk the
 * ordered server list from the first: POST the spool's packages one after
 * the other on one kept connection (kata-transport.c: TLS, pinning, client
 * certificate, proxy), and delete a package only when the server acknowledged
 * its sequence id. A server that cannot be reached, refuses, or answers
 * garbage hands over to the next one; the next cycle starts from the first
 * again. Each failed server gets a kata.server_failed event per cycle
 * (kata-server-failures.c); the outage as a whole (every server failed) is
 * reported on a change of state only.
 */
#include "kata-engine-private.h"

#include <string.h>

char *
kata_server_name (const KataServer *server)
{
  return g_strdup_printf (strchr (server->address, ':') ? "[%s]:%u" : "%s:%u",
                          server->address, server->port);
}

static void
load_tls_material (KataSnapshot *snap)
{
  const KataSettings *s = snap->settings;
  g_autoptr (GError) error = NULL;

  if (s->use_pinned)
    {
      X509 *cert = kata_cert_from_pem (s->pinned_pem, &error);
      snap->pinned = cert != NULL && kata_cert_spki_sha256 (cert, snap->pin);
      X509_free (cert);
      if (!snap->pinned)
        snap->config_error = g_strdup_printf (
            "the pinned certificate is unusable: %s",
            error ? error->message : "no public key");
    }
  if (s->use_client_cert && snap->config_error == NULL)
    {
      snap->client = s->client_pfx
          ? kata_pfx_open (s->client_pfx, s->client_pfx_password, &error) : NULL;
      if (snap->client == NULL)
        snap->config_error = g_strdup_printf (
            "the client certificate is unusable: %s",
            error ? error->message : "no PFX archive");
    }
}

KataSnapshot *
kata_snapshot_take (KataEngine *engine)
{
  KataSnapshot *snap = g_new0 (KataSnapshot, 1);

  g_mutex_lock (&engine->lock);
  snap->settings = kata_settings_copy (engine->settings);
  g_mutex_unlock (&engine->lock);
  load_tls_material (snap);
  return snap;
}

void
kata_snapshot_free (KataSnapshot *snap)
{
  if (snap == NULL)
    return;
  kata_settings_free (snap->settings);
  kata_client_cert_free (snap->client);
  g_free (snap->config_error);
  g_free (snap);
}

static char *
package_body (KataEngine *engine, KataPackage *pkg)
{
  GString *b = g_string_sized_new (256 + pkg->bodies->len * 256);
  g_autofree char *sent_at = kata_iso_time (engine->hooks.now
      ? engine->hooks.now (engine->hooks.user_data) : g_get_real_time ());
  g_autoptr (JsonNode) device = json_node_new (JSON_NODE_VALUE);
  g_autofree char *device_json = NULL;

  json_node_set_string (device, engine->device_id ? engine->device_id : "");
  device_json = json_to_string (device, FALSE);
  g_string_append_printf (b, "{\"protocol\":1,\"agent_id\":\"%s\",\"device\":%s,"
                          "\"seq\":%" G_GUINT64_FORMAT ",\"sent_at\":\"%s\","
                          "\"count\":%u,\"events\":[",
                          kata_spool_agent_id (engine->spool), device_json,
                          pkg->seq, sent_at, pkg->bodies->len);
  /* The stored records are JSON objects we wrote ourselves: splice them. */
  for (guint i = 0; i < pkg->bodies->len; i++)
    {
      if (i)
        g_string_append_c (b, ',');
      g_string_append (b, g_ptr_array_index (pkg->bodies, i));
    }
  g_string_append (b, "]}");
  return g_string_free (b, FALSE);
}

static gboolean
post_package (KataEngine *engine, VigilHttpsClient *client, const char *host,
              KataPackage *pkg, GError **error)
{
  g_autofree char *body = package_body (engine, pkg);
  g_auto (VigilHttpsReply) reply = { 0 };
  guint64 acked = 0;
  gsize len = 0;
  const char *data;

  if (!kata_request (engine, client, host, "POST", "/kata/v1/events", body,
                     &reply, error))
    return FALSE;
  if (reply.status / 100 != 2)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_HTTP_STATUS,
                   "%s: the server answered HTTP %u to package %" G_GUINT64_FORMAT,
                   host, reply.status, pkg->seq);
      return FALSE;
    }
  data = g_bytes_get_data (reply.body, &len);
  if (!kata_reply_parse_ack (data, len, &acked, error))
    {
      g_prefix_error (error, "%s: package %" G_GUINT64_FORMAT ": ", host, pkg->seq);
      return FALSE;
    }
  if (acked != pkg->seq)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "%s: acknowledged package %" G_GUINT64_FORMAT " instead of %"
                   G_GUINT64_FORMAT, host, acked, pkg->seq);
      return FALSE;
    }
  return kata_spool_ack (engine->spool, pkg->seq, error);
}

static void
count_sent (KataEngine *engine, KataPackage *pkg, KataCycleResult *result)
{
  result->packages++;
  result->events += pkg->bodies->len;
  g_mutex_lock (&engine->lock);
  engine->sent_packages++;
  engine->sent_events += pkg->bodies->len;
  engine->last_delivery_us = engine->hooks.now
      ? engine->hooks.now (engine->hooks.user_data) : g_get_real_time ();
  g_mutex_unlock (&engine->lock);
}

/* Whether a request failed before any byte of it reached the server: the
 * connection, the proxy, TLS or the pin check refused it. */
static gboolean
never_sent (const GError *error)
{
  return g_error_matches (error, KATA_ERROR, KATA_ERROR_CONNECT) ||
         g_error_matches (error, KATA_ERROR, KATA_ERROR_PROXY) ||
         g_error_matches (error, KATA_ERROR, KATA_ERROR_TLS) ||
         g_error_matches (error, KATA_ERROR, KATA_ERROR_PIN_MISMATCH);
}

/* Sends every waiting package to server @i, on one kept connection (the
 * client opens a new one after a reply that said "Connection: close"). The
 * connection opens with the first request: a package formed for a server
 * that turns out unreachable is dissolved again, so that the packages
 * formed later follow the settings of that time. */
static gboolean
send_packages (KataEngine *engine, KataSnapshot *snap, guint i,
               const char *host, KataCycleResult *result, GError **error)
{
  g_autoptr (VigilHttpsClient) client = NULL;
  gboolean sent_any = FALSE;

  if (kata_spool_count (engine->spool) == 0)
    return TRUE;
  if ((client = kata_snapshot_client (engine, snap, i, error)) == NULL)
    return FALSE;
  for (;;)
    {
      g_autoptr (KataPackage) pkg = NULL;

      pkg = kata_spool_next_package (engine->spool, snap->settings->max_per_package, error);
      if (pkg == NULL)
        return error == NULL || *error == NULL;
      /* A package goes on the wire only once it is durable: a power loss
       * that rolled back its forming could give its sequence id to other
       * events, which the server would then take for a duplicate. */
      if (!kata_spool_make_durable (engine->spool, error))
        return FALSE;
      if (!post_package (engine, client, host, pkg, error))
        {
          if (!sent_any && never_sent (*error))
            kata_spool_release (engine->spool, pkg->seq, NULL);
          return FALSE;
        }
      sent_any = TRUE;
      count_sent (engine, pkg, result);
    }
}

/* Drops may have happened in any process using the spool (a one-shot
 * `vigil event emit` exits before any cycle): the counters, synchronized
 * through the spool, say how many were not reported yet. */
static void
report_dropped (KataEngine *engine)
{
  g_autoptr (JsonObject) p = NULL;
  guint64 n;

  kata_engine_save_counters (engine);
  g_mutex_lock (&engine->lock);
  n = engine->dropped_low + engine->dropped_high - engine->dropped_reported;
  engine->dropped_reported += n;
  g_mutex_unlock (&engine->lock);
  if (n == 0)
    return;
  kata_engine_save_counters (engine);
  p = json_object_new ();
  json_object_set_int_member (p, "dropped", (gint64) n);
  json_object_set_string_member (p, "reason", "the spool is full");
  kata_engine_emit (engine, "kata.events_dropped", p);
}

static void
report_state (KataEngine *engine, gboolean ok, GPtrArray *failures)
{
  g_autoptr (JsonObject) p = NULL;
  gboolean was_failing;

  g_mutex_lock (&engine->lock);
  was_failing = engine->delivery_failing;
  engine->delivery_failing = !ok;
  if (ok)
    g_clear_pointer (&engine->last_refusal, g_free);
  else
    engine->failed_cycles++;
  g_mutex_unlock (&engine->lock);
  if (ok == !was_failing)
    return;
  /* Kept across restarts, so that an outage reported before a restart is
   * reported as over after it. */
  kata_spool_meta_set (engine->spool, "delivery_failing", ok ? "0" : "1", NULL);
  p = json_object_new ();
  if (ok)
    {
      kata_engine_emit (engine, "kata.delivery_restored", p);
      return;
    }
  /* failures holds server, error, server, error, ... */
  json_object_set_array_member (p, "servers", json_array_new ());
  json_object_set_array_member (p, "errors", json_array_new ());
  for (guint i = 0; i + 1 < failures->len; i += 2)
    {
      json_array_add_string_element (json_object_get_array_member (p, "servers"),
                                     g_ptr_array_index (failures, i));
      json_array_add_string_element (json_object_get_array_member (p, "errors"),
                                     g_ptr_array_index (failures, i + 1));
    }
  json_object_set_int_member (p, "spooled", (gint64) kata_spool_count (engine->spool));
  kata_engine_emit (engine, "kata.delivery_failed", p);
}

static gboolean
try_server (KataEngine *engine, KataSnapshot *snap, guint i,
            KataCycleResult *result, GPtrArray *failures)
{
  const KataServer *server = g_ptr_array_index (snap->settings->servers, i);
  g_autofree char *name = kata_server_name (server);
  g_autoptr (GError) error = NULL;

  if (send_packages (engine, snap, i, name, result, &error))
    {
      result->server_index = (int) i;
      kata_engine_set_error (engine, name, NULL);
      return TRUE;
    }
  kata_engine_set_error (engine, name, error);
  /* The spool failing is this device's problem, not the server's. */
  if (!g_error_matches (error, KATA_ERROR, KATA_ERROR_IO))
    kata_engine_server_failed (engine, name, "send", error);
  g_ptr_array_add (failures, g_strdup (name));
  g_ptr_array_add (failures, g_strdup (error->message));
  return FALSE;
}

void
kata_engine_send_now (KataEngine *engine, KataCycleResult *result)
{
  KataCycleResult local = { 0, 0, -1 };
  g_autoptr (KataSnapshot) snap = NULL;
  g_autoptr (GPtrArray) failures = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = FALSE;

  result = result ? result : &local;
  *result = local;
  g_mutex_lock (&engine->cycle_lock);
  g_mutex_lock (&engine->lock);
  engine->ever_sent = TRUE;
  engine->last_send_us = engine->hooks.now
      ? engine->hooks.now (engine->hooks.user_data) : g_get_real_time ();
  g_mutex_unlock (&engine->lock);
  report_dropped (engine);
  snap = kata_snapshot_take (engine);
  if (snap->settings->enabled && kata_spool_count (engine->spool) > 0)
    {
      for (guint i = 0; !ok && i < snap->settings->servers->len; i++)
        ok = try_server (engine, snap, i, result, failures);
      report_state (engine, ok, failures);
      kata_engine_save_counters (engine);
    }
  g_mutex_unlock (&engine->cycle_lock);
}
