/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small HTTPS client for the reputation service: one HTTP/1.1 POST per
 * connection ("Connection: close"), TLS 1.2 or later with OpenSSL, the
 * server's certificate checked against the system's CAs (or a configured
 * PEM file) and its host name or IP address. The TCP connection goes to the
 * server, or to an HTTP proxy that is asked to CONNECT to it, so TLS stays
 * end to end. OpenSSL is used directly because GIO's TLS backend
 * (glib-networking) is not a dependency of Vigil. Replies are read with a
 * size limit; errors name the server, never the proxy's credentials.
 */
#include "ksn-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HEAD_MAX 16384

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SSL_CTX, SSL_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SSL, SSL_free)

typedef struct {
  char    *host;   /* no brackets */
  guint16  port;
  char    *path;   /* path and query */
} Endpoint;

static void
endpoint_clear (Endpoint *e)
{
  g_free (e->host);
  g_free (e->path);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Endpoint, endpoint_clear)

static gboolean
parse_endpoint (const char *url, const char *scheme, guint16 default_port,
                GUriFlags flags, Endpoint *e, GUri **uri_out, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, flags, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || g_ascii_strcasecmp (g_uri_get_scheme (uri), scheme) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not a %s:// URL", scheme);
      return FALSE;
    }
  e->host = g_strdup (g_uri_get_host (uri));
  e->port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : default_port;
  e->path = g_strconcat (*g_uri_get_path (uri) ? g_uri_get_path (uri) : "/",
                         g_uri_get_query (uri) ? "?" : "",
                         g_uri_get_query (uri) ? g_uri_get_query (uri) : "", NULL);
  if (uri_out)
    *uri_out = g_steal_pointer (&uri);
  return TRUE;
}

static char *
host_port (const Endpoint *e)
{
  return strchr (e->host, ':') ? g_strdup_printf ("[%s]:%u", e->host, e->port)
                               : g_strdup_printf ("%s:%u", e->host, e->port);
}

/* ------------------------------------------------------------------ */
/* TCP and the proxy tunnel                                            */
/* ------------------------------------------------------------------ */

static GSocketConnection *
tcp_connect (const Endpoint *e, guint timeout_s, GCancellable *cancellable,
             GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnectable) addr = g_network_address_new (e->host, e->port);
  GSocketConnection *conn;
  struct timeval tv = { .tv_sec = timeout_s };
  int fd;

  g_socket_client_set_timeout (client, timeout_s);
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect (client, addr, cancellable, error);
  if (conn == NULL)
    return NULL;
  /* OpenSSL reads the descriptor itself: give it blocking I/O with the
   * same timeout (GSocket keeps its descriptors non-blocking). */
  fd = g_socket_get_fd (g_socket_connection_get_socket (conn));
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return conn;
}

static gboolean
send_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      gssize n = send (fd, data, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Reads the proxy's reply head byte by byte: what follows belongs to TLS. */
static char *
read_proxy_head (int fd)
{
  GString *head = g_string_new (NULL);
  char c;

  while (head->len < HEAD_MAX && !g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      gssize n = recv (fd, &c, 1, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n != 1)
        break;
      g_string_append_c (head, c);
    }
  return g_string_free (head, FALSE);
}

static gboolean
tunnel (int fd, GUri *proxy, const Endpoint *proxy_ep, const Endpoint *target,
        GError **error)
{
  g_autofree char *authority = host_port (target);
  g_autofree char *proxy_name = host_port (proxy_ep);
  g_autoptr (GString) req = g_string_new (NULL);
  g_autofree char *head = NULL;
  int status = 0;

  g_string_append_printf (req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", authority, authority);
  if (g_uri_get_user (proxy) && *g_uri_get_user (proxy))
    {
      g_autofree char *cred = g_strdup_printf ("%s:%s", g_uri_get_user (proxy),
                                               g_uri_get_password (proxy) ? g_uri_get_password (proxy) : "");
      g_autofree char *b64 = g_base64_encode ((const guchar *) cred, strlen (cred));

      g_string_append_printf (req, "Proxy-Authorization: Basic %s\r\n", b64);
      memset (cred, 0, strlen (cred));
    }
  g_string_append (req, "\r\n");
  if (!send_all (fd, req->str, req->len))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cannot send CONNECT to the proxy %s", proxy_name);
      return FALSE;
    }
  head = read_proxy_head (fd);
  if (sscanf (head, "HTTP/1.%*d %d", &status) != 1 || status != 200)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED,
                   status == 407 ? "the proxy %s refused the credentials (407)"
                                 : "the proxy %s did not open a tunnel to %s (status %d)",
                   proxy_name, authority, status);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* TLS                                                                 */
/* ------------------------------------------------------------------ */

static void
set_ssl_error (GError **error, SSL *ssl, const char *what, const char *host)
{
  long verify = ssl ? SSL_get_verify_result (ssl) : X509_V_OK;
  unsigned long code = ERR_get_error ();
  char buf[256] = "";

  if (verify != X509_V_OK)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                 "the certificate of %s is not trusted: %s", host,
                 X509_verify_cert_error_string (verify));
  else
    {
      if (code)
        ERR_error_string_n (code, buf, sizeof buf);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s failed%s%s", what,
                   host, code ? ": " : "", buf);
    }
  ERR_clear_error ();
}

static SSL_CTX *
make_context (const char *ca_file, GError **error)
{
  g_autoptr (SSL_CTX) ctx = SSL_CTX_new (TLS_client_method ());

  if (ctx == NULL || !SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION))
    {
      set_ssl_error (error, NULL, "TLS setup for", "the reputation service");
      return NULL;
    }
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
  /* A close without close_notify ends the reply like a clean one; the
   * body's framing (Content-Length, chunks) still catches truncation. */
  SSL_CTX_set_options (ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (ca_file ? SSL_CTX_load_verify_locations (ctx, ca_file, NULL) != 1
              : SSL_CTX_set_default_verify_paths (ctx) != 1)
    {
      ERR_clear_error ();
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cannot load the CA certificates from %s",
                   ca_file ? ca_file : "the system's default locations");
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

static SSL *
handshake (SSL_CTX *ctx, int fd, const char *host, GError **error)
{
  g_autoptr (SSL) ssl = SSL_new (ctx);
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);

  SSL_set_fd (ssl, fd);
  /* The name (or address) in the certificate must be the one asked for. */
  if (ip)
    X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (ssl), host);
  else
    {
      SSL_set_tlsext_host_name (ssl, host);
      SSL_set1_host (ssl, host);
    }
  if (SSL_connect (ssl) != 1)
    {
      set_ssl_error (error, ssl, "TLS handshake with", host);
      return NULL;
    }
  return g_steal_pointer (&ssl);
}

static gboolean
ssl_write_all (SSL *ssl, const char *data, gsize len)
{
  while (len > 0)
    {
      int n = SSL_write (ssl, data, (int) MIN (len, G_MAXINT));

      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Reads until the server closes, at most @limit bytes. */
static GByteArray *
ssl_read_all (SSL *ssl, gsize limit, const char *host, GError **error)
{
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[16384];

  for (;;)
    {
      int n = SSL_read (ssl, chunk, sizeof chunk);

      if (n > 0)
        {
          if (buf->len + n > limit)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                           "the reply of %s is larger than %" G_GSIZE_FORMAT " bytes",
                           host, limit);
              return NULL;
            }
          g_byte_array_append (buf, chunk, n);
          continue;
        }
      switch (SSL_get_error (ssl, n))
        {
        case SSL_ERROR_ZERO_RETURN:
          return g_steal_pointer (&buf);
        default:
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "no complete reply from %s (timed out or reset)", host);
          ERR_clear_error ();
          return NULL;
        }
    }
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

static gboolean
dechunk (const char *data, gsize len, GByteArray *out)
{
  gsize pos = 0;

  for (;;)
    {
      const char *eol = g_strstr_len (data + pos, len - pos, "\r\n");
      char *end = NULL;
      guint64 size;

      /* strtoull skips white space, which could walk past the buffer. */
      if (eol == NULL || !g_ascii_isxdigit (data[pos]))
        return FALSE;
      size = g_ascii_strtoull (data + pos, &end, 16);
      if (end == data + pos)
        return FALSE;
      pos = eol - data + 2;
      if (size == 0)
        return TRUE;
      if (size > len - pos || len - pos - size < 2)
        return FALSE;
      g_byte_array_append (out, (const guint8 *) data + pos, size);
      pos += size + 2;
    }
}

GBytes *
ksn_http_parse_reply (const char *data, gsize len, const char *host, GError **error)
{
  const char *end = g_strstr_len (data, MIN (len, HEAD_MAX), "\r\n\r\n");
  g_autofree char *head = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GByteArray) body = g_byte_array_new ();
  const char *payload;
  gsize payload_len;
  gint64 length = -1;
  gboolean chunked = FALSE;
  int status = 0;

  if (end == NULL)
    goto malformed;
  /* The reply is not NUL-terminated: parse a copy of its head. */
  head = g_strndup (data, end - data);
  if (sscanf (head, "HTTP/1.%*d %d", &status) != 1)
    goto malformed;
  lines = g_strsplit (head, "\r\n", -1);
  for (gsize i = 1; lines[i]; i++)
    {
      if (g_ascii_strncasecmp (lines[i], "Content-Length:", 15) == 0)
        length = g_ascii_strtoll (lines[i] + 15, NULL, 10);
      else if (g_ascii_strncasecmp (lines[i], "Transfer-Encoding:", 18) == 0)
        chunked = strstr (lines[i] + 18, "chunked") != NULL;
    }
  if (status != 200)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s replied with HTTP status %d",
                   host, status);
      return NULL;
    }
  payload = end + 4;
  payload_len = len - (payload - data);
  if (chunked)
    {
      if (!dechunk (payload, payload_len, body))
        goto malformed;
    }
  else if (length >= 0)
    {
      if ((guint64) length > payload_len)
        goto malformed;
      g_byte_array_append (body, (const guint8 *) payload, length);
    }
  else
    g_byte_array_append (body, (const guint8 *) payload, payload_len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&body));

malformed:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "%s sent a malformed HTTP reply", host);
  return NULL;
}

static char *
request_text (const Endpoint *target, const char *body)
{
  g_autofree char *authority = target->port == 443 ? g_strdup (target->host) : host_port (target);

  return g_strdup_printf ("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vigil-ksn/1\r\n"
                          "Content-Type: application/json\r\nAccept: application/json\r\n"
                          "Content-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n%s",
                          target->path, authority, strlen (body), body);
}

GBytes *
ksn_https_post (const KsnHttpsRequest *req, GError **error)
{
  g_auto (Endpoint) target = { 0 };
  g_auto (Endpoint) proxy_ep = { 0 };
  g_autoptr (GUri) proxy = NULL;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (SSL_CTX) ctx = NULL;
  g_autoptr (SSL) ssl = NULL;
  g_autoptr (GByteArray) raw = NULL;
  g_autofree char *request = NULL;
  int fd;

  ERR_clear_error ();
  if (!parse_endpoint (req->url, "https", 443, G_URI_FLAGS_NONE, &target, NULL, error))
    return NULL;
  if (req->proxy_uri && !parse_endpoint (req->proxy_uri, "http", 8080,
                                         G_URI_FLAGS_HAS_PASSWORD, &proxy_ep, &proxy, error))
    {
      g_prefix_error (error, "the proxy is ");
      return NULL;
    }
  if ((ctx = make_context (req->ca_file, error)) == NULL)
    return NULL;
  conn = tcp_connect (proxy ? &proxy_ep : &target, MAX (req->timeout_s, 1),
                      req->cancellable, error);
  if (conn == NULL)
    return NULL;
  fd = g_socket_get_fd (g_socket_connection_get_socket (conn));
  if (proxy && !tunnel (fd, proxy, &proxy_ep, &target, error))
    return NULL;
  if ((ssl = handshake (ctx, fd, target.host, error)) == NULL)
    return NULL;
  request = request_text (&target, req->body ? req->body : "");
  if (!ssl_write_all (ssl, request, strlen (request)))
    {
      set_ssl_error (error, ssl, "sending the request to", target.host);
      return NULL;
    }
  raw = ssl_read_all (ssl, KSN_MAX_REPLY + HEAD_MAX, target.host, error);
  SSL_shutdown (ssl);
  if (raw == NULL)
    return NULL;
  return ksn_http_parse_reply ((const char *) raw->data, raw->len, target.host, error);
}
