/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugins' HTTPS client (vigil/util/https.h) on libcurl: one easy
 * handle per client, so that a kept connection serves the next request.
 * libcurl does the proxy CONNECT and its authentication, TLS with the
 * chain, host name or pinned-key check, the PKCS#12 client certificate,
 * timeouts and the framing of bodies; this file sets it up strictly
 * (HTTPS only, TLS 1.2+, no redirects, no proxy from the environment),
 * re-checks every reply head with vigil_https_parse_head(), bounds the
 * body, and turns libcurl's result into an error that names the stage
 * that failed and why. libcurl sends with MSG_NOSIGNAL, and SIGPIPE is
 * also blocked for the calling thread during a request, so a peer that
 * goes away cannot kill the process.
 */
#include "vigil/util/https.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_TOTAL_MS   30000
#define DEFAULT_MAX_BODY   (1024 * 1024)

struct _VigilHttpsClient {
  CURL       *curl;
  char       *proxy_name;     /* "host:port" of the proxy, or NULL */
  char       *proxy_password; /* wiped on free */
  char       *pfx_password;   /* wiped on free */
  gsize       max_body;
  guint       connect_ms, total_ms;
  gboolean    has_client_cert;
  GCancellable *cancellable;
  /* Per request: */
  const char *server;         /* "host:port", for messages */
  gboolean    cert_requested; /* the server asked for a client certificate */
  int         tls_version;    /* the version negotiated when it asked */
  GString    *head;           /* the current reply head, line by line */
  gboolean    head_done;
  VigilHttpsHead parsed;
  GByteArray *body;
  GError     *error;          /* set by a callback that stopped the transfer */
  char        errbuf[CURL_ERROR_SIZE];
};

static void
global_init (void)
{
  static gsize done = 0;

  /* Once per process and never undone: plugins are never unloaded, and
   * other users of libcurl in the process keep it initialized. */
  if (g_once_init_enter (&done))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&done, 1);
    }
}

static void
wipe (char *secret)
{
  if (secret != NULL)
    {
      memset (secret, 0, strlen (secret));
      g_free (secret);
    }
}

/* ---- set-up ---------------------------------------------------------- */

static gboolean
set_proxy (VigilHttpsClient *client, const char *proxy_uri, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autofree char *url = NULL;
  const char *host;
  int port;

  if (proxy_uri == NULL || *proxy_uri == '\0')
    {
      /* "" and not NULL: libcurl would take a proxy from the environment. */
      curl_easy_setopt (client->curl, CURLOPT_PROXY, "");
      return TRUE;
    }
  uri = g_uri_parse (proxy_uri, G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (uri == NULL || (host = g_uri_get_host (uri)) == NULL || *host == '\0' ||
      g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0)
    {
      /* The URI may hold a password: never quote it. */
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_INVALID,
                   "the proxy address is not an http://host[:port] URL");
      return FALSE;
    }
  port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 8080;
  client->proxy_name = g_strdup_printf (strchr (host, ':') ? "[%s]:%d" : "%s:%d",
                                        host, port);
  url = g_strdup_printf ("http://%s", client->proxy_name);
  curl_easy_setopt (client->curl, CURLOPT_PROXY, url);
  curl_easy_setopt (client->curl, CURLOPT_HTTPPROXYTUNNEL, 1L);
  curl_easy_setopt (client->curl, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  if (g_uri_get_user (uri) != NULL && *g_uri_get_user (uri) != '\0')
    {
      client->proxy_password = g_strdup (g_uri_get_password (uri) ? g_uri_get_password (uri) : "");
      curl_easy_setopt (client->curl, CURLOPT_PROXYUSERNAME, g_uri_get_user (uri));
      curl_easy_setopt (client->curl, CURLOPT_PROXYPASSWORD, client->proxy_password);
      /* Basic only: it goes with the first CONNECT, where "any" would
       * first ask without credentials and take a 407 for an answer. */
      curl_easy_setopt (client->curl, CURLOPT_PROXYAUTH, (long) CURLAUTH_BASIC);
    }
  return TRUE;
}

/* Under TLS 1.3 a server refuses a client certificate (or its absence)
 * after the handshake, and the client only learns it at its first read or
 * write, as an alert or as a reset, whichever arrives first: remember that
 * the server asked for one, and under which version, so that the error can
 * say what was refused and when. */
static int
on_cert_request (SSL *ssl, void *user_data)
{
  VigilHttpsClient *client = user_data;

  client->cert_requested = TRUE;
  client->tls_version = SSL_version (ssl);
  return 1;
}

static CURLcode
on_ssl_ctx (CURL *curl, void *ssl_ctx, void *user_data)
{
  (void) curl;
  SSL_CTX_set_cert_cb (ssl_ctx, on_cert_request, user_data);
  return CURLE_OK;
}

static void
set_tls (VigilHttpsClient *client, const VigilHttpsOptions *options)
{
  CURL *c = client->curl;

  curl_easy_setopt (c, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
  if (options->pin_sha256 != NULL)
    {
      /* The pinned key alone decides: a private node's certificate need
       * not chain to any CA nor carry its address. libcurl checks the pin
       * whether or not it verifies the chain. */
      curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 0L);
      curl_easy_setopt (c, CURLOPT_PINNEDPUBLICKEY, options->pin_sha256);
    }
  else
    {
      curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 2L);
      if (options->ca_file != NULL)
        curl_easy_setopt (c, CURLOPT_CAINFO, options->ca_file);
    }
  if (options->client_pfx != NULL)
    {
      gsize len = 0;
      struct curl_blob blob = {
        .data = (void *) g_bytes_get_data (options->client_pfx, &len),
        .flags = CURL_BLOB_COPY,
      };

      blob.len = len;
      client->pfx_password = g_strdup (options->client_pfx_password
                                       ? options->client_pfx_password : "");
      curl_easy_setopt (c, CURLOPT_SSLCERTTYPE, "P12");
      curl_easy_setopt (c, CURLOPT_SSLCERT_BLOB, &blob);
      curl_easy_setopt (c, CURLOPT_KEYPASSWD, client->pfx_password);
      client->has_client_cert = TRUE;
    }
  curl_easy_setopt (c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
  curl_easy_setopt (c, CURLOPT_SSL_CTX_DATA, client);
}

static size_t on_header (char *data, size_t size, size_t n, void *user_data);
static int    on_progress (void *user_data, curl_off_t dltotal, curl_off_t dlnow,
                           curl_off_t ultotal, curl_off_t ulnow);
static size_t on_body   (char *data, size_t size, size_t n, void *user_data);

VigilHttpsClient *
vigil_https_client_new (const VigilHttpsOptions *options, GError **error)
{
  g_autoptr (VigilHttpsClient) client = g_new0 (VigilHttpsClient, 1);
  CURL *c;

  g_return_val_if_fail (options != NULL, NULL);
  global_init ();
  c = client->curl = curl_easy_init ();
  if (c == NULL)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_INVALID,
                   "libcurl could not make a transfer handle");
      return NULL;
    }
  client->max_body = options->max_body ? options->max_body : DEFAULT_MAX_BODY;
  client->connect_ms = options->connect_timeout_ms ? options->connect_timeout_ms
                                                   : DEFAULT_CONNECT_MS;
  client->total_ms = options->total_timeout_ms ? options->total_timeout_ms
                                               : DEFAULT_TOTAL_MS;
  client->head = g_string_new (NULL);
  /* Never signals: no SIGALRM for name look-up timeouts in threads. */
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt (c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, (long) client->connect_ms);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, (long) client->total_ms);
  if (options->idle_timeout_s > 0)
    {
      /* Less than one byte a second for that long: the peer went quiet. */
      curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, (long) options->idle_timeout_s);
    }
  curl_easy_setopt (c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) client->max_body);
  curl_easy_setopt (c, CURLOPT_USERAGENT, options->user_agent ? options->user_agent : "vigil");
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, client->errbuf);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, client);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, client);
  if (options->cancellable != NULL)
    {
      client->cancellable = g_object_ref (options->cancellable);
      curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt (c, CURLOPT_XFERINFODATA, client);
    }
  if (!set_proxy (client, options->proxy_uri, error))
    return NULL;
  set_tls (client, options);
  return g_steal_pointer (&client);
}

void
vigil_https_client_free (VigilHttpsClient *client)
{
  if (client == NULL)
    return;
  if (client->curl != NULL)
    curl_easy_cleanup (client->curl);
  wipe (client->proxy_password);
  wipe (client->pfx_password);
  g_free (client->proxy_name);
  g_clear_object (&client->cancellable);
  if (client->head != NULL)
    g_string_free (client->head, TRUE);
  g_clear_pointer (&client->body, g_byte_array_unref);
  g_clear_error (&client->error);
  g_free (client);
}

void
vigil_https_reply_clear (VigilHttpsReply *reply)
{
  g_clear_pointer (&reply->body, g_bytes_unref);
  reply->status = 0;
  reply->closing = FALSE;
}

/* ---- callbacks --------------------------------------------------------- */

static size_t
stop (VigilHttpsClient *client, GError *error)
{
  g_clear_error (&client->error);
  client->error = error;
  return 0;   /* libcurl ends the transfer with CURLE_WRITE_ERROR */
}

/* A head is complete: check it as a whole; 1xx heads are followed by the
 * real one. */
static size_t
head_complete (VigilHttpsClient *client, size_t n)
{
  GError *error = NULL;
  int rc = vigil_https_parse_head (client->head->str, client->head->len,
                                   &client->parsed, &error);

  if (rc == 0)
    error = g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
                         "malformed HTTP reply: a NUL byte in its head");
  if (rc <= 0)
    {
      g_prefix_error (&error, "%s: ", client->server);
      return stop (client, error);
    }
  g_string_truncate (client->head, 0);
  if (client->parsed.status < 200)
    return n;
  if (!client->parsed.chunked && client->parsed.content_length < 0 &&
      client->parsed.status != 204 && client->parsed.status != 304)
    return stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
        "%s: malformed HTTP reply: neither Content-Length nor chunked, so a "
        "cut reply could not be told from a whole one", client->server));
  if (client->parsed.content_length > (gint64) client->max_body)
    return stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_TOO_LARGE,
        "%s: the reply body (%" G_GINT64_FORMAT " bytes) is larger than the "
        "limit of %" G_GSIZE_FORMAT, client->server,
        client->parsed.content_length, client->max_body));
  client->head_done = TRUE;
  return n;
}

static size_t
on_header (char *data, size_t size, size_t n, void *user_data)
{
  VigilHttpsClient *client = user_data;

  (void) size;   /* always 1 */
  if (client->head_done)
    return n;    /* trailers of a chunked body: nothing we use */
  if (client->head->len + n > VIGIL_HTTPS_MAX_HEAD)
    return stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
        "%s: malformed HTTP reply: head larger than %d bytes", client->server,
        VIGIL_HTTPS_MAX_HEAD));
  /* libcurl also takes bare LF line ends; the head parser splits on CRLF
   * only, so such a line could hide a second header inside a first. */
  if (n < 2 || data[n - 2] != '\r' || data[n - 1] != '\n')
    return stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
        "%s: malformed HTTP reply: a line not ended by CRLF", client->server));
  g_string_append_len (client->head, data, (gssize) n);
  if (n == 2)
    return head_complete (client, n);
  return n;
}

static size_t
on_body (char *data, size_t size, size_t n, void *user_data)
{
  VigilHttpsClient *client = user_data;

  (void) size;
  if (!client->head_done)
    return stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
        "%s: malformed HTTP reply: a body before a complete head", client->server));
  if (client->body->len + n > client->max_body)
    return stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_TOO_LARGE,
        "%s: the reply body is larger than the limit of %" G_GSIZE_FORMAT " bytes",
        client->server, client->max_body));
  g_byte_array_append (client->body, (const guint8 *) data, (guint) n);
  return n;
}

static int
on_progress (void *user_data, curl_off_t dltotal, curl_off_t dlnow,
             curl_off_t ultotal, curl_off_t ulnow)
{
  VigilHttpsClient *client = user_data;

  (void) dltotal;
  (void) dlnow;
  (void) ultotal;
  (void) ulnow;
  if (!g_cancellable_is_cancelled (client->cancellable))
    return 0;
  stop (client, g_error_new (VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_CANCELLED,
                             "%s: cancelled", client->server));
  return 1;
}

/* ---- SIGPIPE ------------------------------------------------------------ */

/* libcurl sends with MSG_NOSIGNAL, but a write by a TLS library or a
 * future backend must not be able to kill the host either: block SIGPIPE
 * for this thread during the request, and consume one that became pending
 * (a signal raised by a write stays with the writing thread). */
static void
sigpipe_block (sigset_t *old)
{
  sigset_t pipe_set;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, old);
}

static void
sigpipe_restore (const sigset_t *old)
{
  sigset_t pipe_set, pending;
  struct timespec zero = { 0, 0 };
  int saved = errno;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  if (sigpending (&pending) == 0 && sigismember (&pending, SIGPIPE) &&
      !sigismember (old, SIGPIPE))
    sigtimedwait (&pipe_set, NULL, &zero);
  pthread_sigmask (SIG_SETMASK, old, NULL);
  errno = saved;
}

/* ---- errors ------------------------------------------------------------- */

static const char *
why (VigilHttpsClient *client, CURLcode rc)
{
  return client->errbuf[0] ? client->errbuf : curl_easy_strerror (rc);
}

/* A TLS alert from the peer (bad certificate, unknown CA, …) refuses
 * the session; a reset or an end of stream is the connection breaking. */
static gboolean
is_tls_failure (const char *text)
{
  return strstr (text, "alert") != NULL;
}

/* (transfer full) the alert OpenSSL quotes in @text ("tlsv13 alert
 * certificate required" from "error:0A00045C:SSL routines::tlsv13 alert
 * certificate required, errno 0"), or NULL. */
static char *
alert_of (const char *text)
{
  const char *alert = strstr (text, "alert");
  const char *start = alert, *end;

  if (alert == NULL)
    return NULL;
  for (const char *p = text; (p = strstr (p, "::")) != NULL && p < alert; p += 2)
    start = p + 2;
  end = strchr (alert, ',');
  return g_strndup (start, end ? (gsize) (end - start) : strlen (start));
}

/* Whether the handshake was complete when the transfer failed. */
static gboolean
handshake_done (VigilHttpsClient *client)
{
  double tls_done = 0;

  curl_easy_getinfo (client->curl, CURLINFO_APPCONNECT_TIME, &tls_done);
  return tls_done > 0;
}

/* A server that asked for a client certificate and then broke off before
 * any reply refused ours, or our having none; say so, and at which stage.
 * Under TLS 1.3 that is after the handshake, at the first read or write
 * (an alert, or a reset that overtook it); under TLS 1.2 during the
 * handshake. Our own verification of the server is not such a refusal. */
static gboolean
client_cert_refused (VigilHttpsClient *client, CURLcode rc, GError **error)
{
  g_autofree char *alert = NULL;
  g_autofree char *detail = NULL;
  const char *what;

  if (!client->cert_requested || client->head->len > 0 || client->head_done)
    return FALSE;
  if (rc != CURLE_SSL_CONNECT_ERROR && rc != CURLE_SSL_CLIENTCERT &&
      rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING)
    return FALSE;
  alert = alert_of (why (client, rc));
  detail = alert ? g_strdup_printf ("the server's alert: %s", alert)
                 : g_strdup ("no alert arrived before the connection closed");
  what = client->has_client_cert
      ? "the server refused our client certificate"
      : "the server requires a client certificate and none is configured";
  if (handshake_done (client))
    g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_TLS,
                 "%s: TLS failed: %s (after the %s handshake, at the first %s; %s)",
                 client->server, what,
                 client->tls_version == TLS1_3_VERSION ? "TLS 1.3" : "TLS",
                 rc == CURLE_SEND_ERROR ? "write" : "read", detail);
  else
    g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_TLS,
                 "%s: TLS failed: %s (during the handshake; %s)",
                 client->server, what, detail);
  return TRUE;
}

/* Proxy trouble: the proxy is the peer until the tunnel is open. */
static gboolean
proxy_error (VigilHttpsClient *client, CURLcode rc, GError **error)
{
  long code = 0;

  if (client->proxy_name == NULL)
    return FALSE;
  curl_easy_getinfo (client->curl, CURLINFO_HTTP_CONNECTCODE, &code);
  if (code != 0 && code / 100 != 2)
    g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROXY,
                 "%s: the proxy %s refused the tunnel with HTTP %ld%s",
                 client->server, client->proxy_name, code,
                 code == 407 ? " (proxy authentication failed)" : "");
  else if (rc == CURLE_COULDNT_RESOLVE_PROXY ||
           (rc == CURLE_COULDNT_CONNECT && code == 0))
    g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_CONNECT,
                 "%s: cannot reach the proxy %s: %s", client->server,
                 client->proxy_name, why (client, rc));
  else if (code == 0 && (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                         rc == CURLE_GOT_NOTHING || rc == CURLE_WEIRD_SERVER_REPLY))
    /* The proxy answered the CONNECT with something other than a reply. */
    g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROXY,
                 "%s: the proxy %s did not open a tunnel: %s", client->server,
                 client->proxy_name, why (client, rc));
  else
    return FALSE;
  return TRUE;
}

static VigilHttpsError
stage_of (VigilHttpsClient *client, CURLcode rc)
{
  switch (rc)
    {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return VIGIL_HTTPS_ERROR_INVALID;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return VIGIL_HTTPS_ERROR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
      return VIGIL_HTTPS_ERROR_TIMEOUT;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return VIGIL_HTTPS_ERROR_PIN;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return VIGIL_HTTPS_ERROR_TLS;
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return VIGIL_HTTPS_ERROR_PROTOCOL;
    case CURLE_FILESIZE_EXCEEDED:
      return VIGIL_HTTPS_ERROR_TOO_LARGE;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      /* A peer refusing our client certificate says so in an alert at the
       * first read under TLS 1.3. */
      return is_tls_failure (why (client, rc)) ? VIGIL_HTTPS_ERROR_TLS
                                               : VIGIL_HTTPS_ERROR_SOCKET;
    default:
      return VIGIL_HTTPS_ERROR_SOCKET;
    }
}

static const char *
stage_text (VigilHttpsError stage)
{
  switch (stage)
    {
    case VIGIL_HTTPS_ERROR_INVALID:   return "unusable request";
    case VIGIL_HTTPS_ERROR_CONNECT:   return "cannot connect";
    case VIGIL_HTTPS_ERROR_PROXY:     return "proxy refused";
    case VIGIL_HTTPS_ERROR_TLS:       return "TLS failed";
    case VIGIL_HTTPS_ERROR_PIN:       return "the server's public key does not match the pinned key";
    case VIGIL_HTTPS_ERROR_TIMEOUT:   return "timed out";
    case VIGIL_HTTPS_ERROR_PROTOCOL:  return "malformed HTTP reply";
    case VIGIL_HTTPS_ERROR_TOO_LARGE: return "reply too large";
    case VIGIL_HTTPS_ERROR_CANCELLED: return "cancelled";
    case VIGIL_HTTPS_ERROR_SOCKET:
    default:                          return "connection failed";
    }
}

static void
set_curl_error (VigilHttpsClient *client, CURLcode rc, GError **error)
{
  VigilHttpsError stage;

  if (client->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&client->error));
      return;
    }
  if (proxy_error (client, rc, error))
    return;
  if (client_cert_refused (client, rc, error))
    return;
  stage = stage_of (client, rc);
  if (rc == CURLE_GOT_NOTHING)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_SOCKET,
                   "%s: the server closed the connection without a reply",
                   client->server);
      return;
    }
  if (stage == VIGIL_HTTPS_ERROR_TIMEOUT)
    {
      if (handshake_done (client))
        g_set_error (error, VIGIL_HTTPS_ERROR, stage,
                     "%s: timed out waiting for the reply (%s)", client->server,
                     why (client, rc));
      else
        g_set_error (error, VIGIL_HTTPS_ERROR, stage,
                     "%s: no connection within %u ms", client->server,
                     client->connect_ms);
      return;
    }
  if (stage == VIGIL_HTTPS_ERROR_TOO_LARGE)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, stage,
                   "%s: the reply body is larger than the limit of %"
                   G_GSIZE_FORMAT " bytes", client->server, client->max_body);
      return;
    }
  if (stage == VIGIL_HTTPS_ERROR_PROTOCOL && rc == CURLE_PARTIAL_FILE)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, stage,
                   "%s: malformed HTTP reply: truncated (%s)", client->server,
                   why (client, rc));
      return;
    }
  if (stage == VIGIL_HTTPS_ERROR_TLS &&
      (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) && handshake_done (client))
    {
      /* A TLS 1.3 server may refuse the session after the handshake: the
       * alert is what a read or write finds, not a broken socket. */
      g_set_error (error, VIGIL_HTTPS_ERROR, stage,
                   "%s: TLS failed after the handshake, while %s: %s",
                   client->server,
                   rc == CURLE_SEND_ERROR ? "sending the request" : "reading the reply",
                   why (client, rc));
      return;
    }
  g_set_error (error, VIGIL_HTTPS_ERROR, stage, "%s: %s: %s", client->server,
               rc == CURLE_PEER_FAILED_VERIFICATION
               ? "the server's certificate is not trusted" : stage_text (stage),
               why (client, rc));
}

/* ---- requests ------------------------------------------------------------ */

static char *
server_of (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *host;
  int port;

  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 ||
      (host = g_uri_get_host (uri)) == NULL || *host == '\0')
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_INVALID,
                   "not an https://host[:port]/path URL");
      return NULL;
    }
  port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 443;
  return g_strdup_printf (strchr (host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* What libcurl does not check: a Content-Length body that ended early is
 * its CURLE_PARTIAL_FILE, but say so again if a future version lets one
 * through. */
static gboolean
check_complete (VigilHttpsClient *client, GError **error)
{
  if (!client->head_done)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
                   "%s: malformed HTTP reply: no complete head", client->server);
      return FALSE;
    }
  if (!client->parsed.chunked && client->parsed.content_length >= 0 &&
      (gint64) client->body->len != client->parsed.content_length)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
                   "%s: malformed HTTP reply: truncated (%u of %" G_GINT64_FORMAT
                   " bytes)", client->server, client->body->len,
                   client->parsed.content_length);
      return FALSE;
    }
  return TRUE;
}

static void
reset_request (VigilHttpsClient *client)
{
  g_string_truncate (client->head, 0);
  client->head_done = FALSE;
  memset (&client->parsed, 0, sizeof client->parsed);
  g_clear_pointer (&client->body, g_byte_array_unref);
  client->body = g_byte_array_new ();
  g_clear_error (&client->error);
  client->errbuf[0] = '\0';
  client->cert_requested = FALSE;
  client->tls_version = 0;
}

static CURLcode
perform (VigilHttpsClient *client, const char *method, const char *url,
         const char *content_type, const void *body, gsize body_len)
{
  struct curl_slist *headers = NULL;
  g_autofree char *type = NULL;
  sigset_t old;
  CURLcode rc;
  CURL *c = client->curl;

  /* No "Expect: 100-continue" round trip before large bodies. */
  headers = curl_slist_append (headers, "Expect:");
  if (content_type != NULL)
    {
      type = g_strdup_printf ("Content-Type: %s", content_type);
      headers = curl_slist_append (headers, type);
    }
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, NULL);
  if (g_strcmp0 (method, "GET") == 0)
    curl_easy_setopt (c, CURLOPT_HTTPGET, 1L);
  else
    {
      curl_easy_setopt (c, CURLOPT_POST, 1L);
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, body ? body : "");
      if (g_strcmp0 (method, "POST") != 0)
        curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
    }
  sigpipe_block (&old);
  rc = curl_easy_perform (c);
  sigpipe_restore (&old);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all (headers);
  return rc;
}

gboolean
vigil_https_request (VigilHttpsClient *client, const char *method,
                     const char *url, const char *content_type,
                     const void *body, gsize body_len,
                     VigilHttpsReply *reply, GError **error)
{
  g_autofree char *server = NULL;
  CURLcode rc;
  long status = 0;

  g_return_val_if_fail (client != NULL && method != NULL && url != NULL, FALSE);
  g_return_val_if_fail (reply != NULL, FALSE);
  memset (reply, 0, sizeof *reply);
  if ((server = server_of (url, error)) == NULL)
    return FALSE;
  reset_request (client);
  client->server = server;
  rc = perform (client, method, url, content_type, body, body_len);
  if (rc != CURLE_OK || !check_complete (client, error))
    {
      if (rc != CURLE_OK)
        set_curl_error (client, rc, error);
      client->server = NULL;
      return FALSE;
    }
  client->server = NULL;
  curl_easy_getinfo (client->curl, CURLINFO_RESPONSE_CODE, &status);
  reply->status = (guint) status;
  reply->closing = client->parsed.closing;
  {
    /* A NUL after the body, not counted: text bodies read as strings. */
    guint len = client->body->len;
    g_autoptr (GBytes) whole = NULL;

    g_byte_array_append (client->body, (const guint8 *) "", 1);
    whole = g_byte_array_free_to_bytes (g_steal_pointer (&client->body));
    reply->body = g_bytes_new_from_bytes (whole, 0, len);
  }
  return TRUE;
}
