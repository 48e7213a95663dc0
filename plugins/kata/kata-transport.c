/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine's HTTPS requests to a central node, through the plugins'
 * HTTPS client (vigil/util/https.h, on libcurl): one client per server per
 * cycle, so that every package of a cycle goes on one kept connection (a
 * new one after a reply that said "Connection: close"). With pinning on,
 * the SHA-256 of the server's SubjectPublicKeyInfo must equal the pinned
 * certificate's and the chain is not trusted by itself; without it the
 * chain and the host name are verified (system store or a CA file). The
 * client certificate from the PFX is presented when configured, the
 * proxy from the general section is used when the settings say so.
 * The client's error stages become KATA_ERROR codes, whose stage names
 * (kata-server-failures.c) the kata.server_failed events carry.
 */
#include "kata-engine-private.h"

#include <string.h>

static void
report_refusal (KataEngine *engine, const char *server, const GError *error)
{
  g_autoptr (JsonObject) p = json_object_new ();
  gboolean repeat;

  g_mutex_lock (&engine->lock);
  repeat = g_strcmp0 (engine->last_refusal, error->message) == 0;
  if (!repeat)
    {
      g_free (engine->last_refusal);
      engine->last_refusal = g_strdup (error->message);
    }
  g_mutex_unlock (&engine->lock);
  if (repeat)
    return;
  json_object_set_string_member (p, "server", server);
  json_object_set_string_member (p, "reason", "pinned certificate mismatch");
  json_object_set_string_member (p, "message", error->message);
  kata_engine_emit (engine, "kata.connection_refused", p);
}

static KataError
kata_code (const GError *error)
{
  if (error->domain != VIGIL_HTTPS_ERROR)
    return KATA_ERROR_PROTOCOL;
  switch ((VigilHttpsError) error->code)
    {
    case VIGIL_HTTPS_ERROR_CONNECT:   return KATA_ERROR_CONNECT;
    case VIGIL_HTTPS_ERROR_INVALID:   /* a proxy address that does not parse */
    case VIGIL_HTTPS_ERROR_PROXY:     return KATA_ERROR_PROXY;
    case VIGIL_HTTPS_ERROR_TLS:       return KATA_ERROR_TLS;
    case VIGIL_HTTPS_ERROR_PIN:       return KATA_ERROR_PIN_MISMATCH;
    case VIGIL_HTTPS_ERROR_TIMEOUT:   return KATA_ERROR_TIMEOUT;
    case VIGIL_HTTPS_ERROR_SOCKET:    return KATA_ERROR_SOCKET;
    case VIGIL_HTTPS_ERROR_PROTOCOL:
    case VIGIL_HTTPS_ERROR_TOO_LARGE:
    default:                          return KATA_ERROR_PROTOCOL;
    }
}

/* The same message in the KATA_ERROR domain, so that the stages and the
 * events stay what docs/kata.md says. */
static void
set_kata_error (GError **error, GError *https)
{
  g_set_error_literal (error, KATA_ERROR, kata_code (https), https->message);
  g_error_free (https);
}

static char *
proxy_for (KataEngine *engine, KataSnapshot *snap, const char *name, GError **error)
{
  g_autofree char *url = NULL;
  g_autoptr (GError) perr = NULL;
  char *proxy;

  if (!snap->settings->use_proxy || engine->hooks.resolve_proxy == NULL)
    return NULL;
  url = g_strdup_printf ("https://%s/", name);
  proxy = engine->hooks.resolve_proxy (engine->hooks.user_data, url, &perr);
  if (perr != NULL)
    g_set_error (error, KATA_ERROR, KATA_ERROR_PROXY,
                 "proxy settings unusable: %s", perr->message);
  return proxy;
}

VigilHttpsClient *
kata_snapshot_client (KataEngine *engine, KataSnapshot *snap, guint index,
                      GError **error)
{
  const KataServer *server = g_ptr_array_index (snap->settings->servers, index);
  g_autofree char *name = kata_server_name (server);
  g_autofree char *proxy = NULL;
  g_autofree char *pin = NULL;
  guint timeout_ms = snap->settings->timeout_sec * 1000;
  VigilHttpsOptions options = {
    .ca_file = engine->ca_file,
    .connect_timeout_ms = timeout_ms,
    /* "Each read" waits at most the timeout: an idle timeout, and a bound
     * on the whole exchange so that a trickling server cannot hold the
     * cycle for ever. */
    .idle_timeout_s = snap->settings->timeout_sec,
    .total_timeout_ms = timeout_ms * 4,
    .max_body = KATA_MAX_REPLY_BODY,
    .user_agent = "vigil-kata/1",
  };
  GError *https = NULL;
  VigilHttpsClient *client;

  if (snap->config_error != NULL)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_TLS, "%s", snap->config_error);
      return NULL;
    }
  proxy = proxy_for (engine, snap, name, &https);
  if (https != NULL)
    {
      g_propagate_error (error, https);
      return NULL;
    }
  if (snap->pinned)
    {
      g_autofree char *b64 = g_base64_encode (snap->pin, sizeof snap->pin);
      pin = g_strconcat ("sha256//", b64, NULL);
    }
  options.proxy_uri = proxy;
  options.pin_sha256 = pin;
  if (snap->client != NULL)
    {
      options.client_pfx = snap->settings->client_pfx;
      options.client_pfx_password = snap->settings->client_pfx_password;
    }
  client = vigil_https_client_new (&options, &https);
  if (client == NULL)
    set_kata_error (error, https);
  return client;
}

gboolean
kata_request (KataEngine *engine, VigilHttpsClient *client, const char *server,
              const char *method, const char *path, const char *body,
              VigilHttpsReply *reply, GError **error)
{
  g_autofree char *url = g_strdup_printf ("https://%s%s", server, path);
  GError *https = NULL;
  GError *local = NULL;

  if (vigil_https_request (client, method, url, body ? "application/json" : NULL,
                           body, body ? strlen (body) : 0, reply, &https))
    return TRUE;
  set_kata_error (&local, https);
  if (g_error_matches (local, KATA_ERROR, KATA_ERROR_PIN_MISMATCH))
    report_refusal (engine, server, local);
  g_propagate_error (error, local);
  return FALSE;
}
