/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reputation service's transport: one POST per look-up through the
 * plugins' HTTPS client (vigil/util/https.h, on libcurl), TLS 1.2 or
 * later with the server's certificate checked against the system's CAs
 * (or a configured PEM file) and its host name or IP address, directly or
 * through an HTTP CONNECT proxy so that TLS stays end to end. Replies are
 * read with a size limit and checked strictly; only a 200 reply's body is
 * returned. Errors keep the GIO codes the plugin reports and name the
 * server, and for proxy trouble the proxy, never its credentials.
 */
#include "ksn-private.h"

#include <string.h>
#include <vigil/util/https.h>

static int
io_code (const GError *https)
{
  switch ((VigilHttpsError) https->code)
    {
    case VIGIL_HTTPS_ERROR_INVALID:   return G_IO_ERROR_INVALID_ARGUMENT;
    case VIGIL_HTTPS_ERROR_PROXY:     return G_IO_ERROR_PROXY_FAILED;
    case VIGIL_HTTPS_ERROR_TLS:
    case VIGIL_HTTPS_ERROR_PIN:       return G_IO_ERROR_CONNECTION_REFUSED;
    case VIGIL_HTTPS_ERROR_TIMEOUT:   return G_IO_ERROR_TIMED_OUT;
    case VIGIL_HTTPS_ERROR_PROTOCOL:  return G_IO_ERROR_INVALID_DATA;
    case VIGIL_HTTPS_ERROR_TOO_LARGE: return G_IO_ERROR_MESSAGE_TOO_LARGE;
    case VIGIL_HTTPS_ERROR_CANCELLED: return G_IO_ERROR_CANCELLED;
    case VIGIL_HTTPS_ERROR_CONNECT:
    case VIGIL_HTTPS_ERROR_SOCKET:
    default:                          return G_IO_ERROR_FAILED;
    }
}

/* The client's message (it names the server, the stage and why) under
 * the GIO code the look-up task reports. */
static void
set_io_error (GError **error, GError *https)
{
  g_set_error_literal (error, G_IO_ERROR, io_code (https), https->message);
  g_error_free (https);
}

GBytes *
ksn_https_post (const KsnHttpsRequest *req, GError **error)
{
  guint timeout_ms = MAX (req->timeout_s, 1) * 1000;
  VigilHttpsOptions options = {
    .proxy_uri = req->proxy_uri,
    .ca_file = req->ca_file,
    .connect_timeout_ms = timeout_ms,
    .total_timeout_ms = timeout_ms,
    .max_body = KSN_MAX_REPLY,
    .user_agent = "vigil-ksn/1",
    .cancellable = req->cancellable,
  };
  g_autoptr (VigilHttpsClient) client = NULL;
  g_auto (VigilHttpsReply) reply = { 0 };
  const char *body = req->body ? req->body : "";
  GError *https = NULL;

  client = vigil_https_client_new (&options, &https);
  if (client == NULL ||
      !vigil_https_request (client, "POST", req->url, "application/json", body,
                            strlen (body), &reply, &https))
    {
      if (https->code == VIGIL_HTTPS_ERROR_INVALID && client == NULL)
        g_prefix_error (&https, "the proxy is unusable: ");
      set_io_error (error, https);
      return NULL;
    }
  if (reply.status != 200)
    {
      g_autoptr (GUri) uri = g_uri_parse (req->url, G_URI_FLAGS_NONE, NULL);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s replied with HTTP status %u",
                   uri ? g_uri_get_host (uri) : "the reputation service", reply.status);
      return NULL;
    }
  return g_steal_pointer (&reply.body);
}
