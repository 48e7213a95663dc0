/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TLS client connection to one central-node server: TCP connect with a
 * timeout (directly, or through an HTTP CONNECT proxy), then a TLS 1.2+
 * handshake with OpenSSL. With pinning on, the chain is not trusted by
 * itself: the SHA-256 of the server certificate's SubjectPublicKeyInfo
 * must equal the pinned certificate's, compared in constant time, or the
 * connection is refused before a byte of telemetry is written. Without
 * pinning the chain and the host name are verified (system store or a CA
 * file). The client certificate from the PFX is presented when configured.
 */
#include "kata-engine.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

struct _KataConn {
  int      fd;
  SSL_CTX *ctx;
  SSL     *ssl;
  char    *where;              /* "host:port" for messages */
};

static gboolean
wait_connected (int fd, guint timeout_ms, GError **error)
{
  struct pollfd pfd = { .fd = fd, .events = POLLOUT };
  int err = 0;
  socklen_t len = sizeof err;
  int rc;

  do
    rc = poll (&pfd, 1, (int) timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (rc == 0)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_TIMEOUT, "connect timed out");
      return FALSE;
    }
  if (rc < 0 || getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_CONNECT, "%s",
                   g_strerror (err ? err : errno));
      return FALSE;
    }
  return TRUE;
}

static int
connect_one (const struct addrinfo *ai, guint timeout_ms, GError **error)
{
  struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
  int fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  int flags;

  if (fd < 0)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_CONNECT, "%s", g_strerror (errno));
      return -1;
    }
  flags = fcntl (fd, F_GETFL);
  fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  if (connect (fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
      (errno != EINPROGRESS || !wait_connected (fd, timeout_ms, error)))
    {
      if (errno != EINPROGRESS)
        g_set_error (error, KATA_ERROR, KATA_ERROR_CONNECT, "%s", g_strerror (errno));
      close (fd);
      return -1;
    }
  fcntl (fd, F_SETFL, flags);
  /* Blocking from here on; every read and write waits at most the timeout. */
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

int
kata_tcp_connect (const char *host, guint16 port, guint timeout_ms,
                  GError **error)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
  struct addrinfo *res = NULL;
  char service[8];
  int rc, fd = -1;
  g_autoptr (GError) last = NULL;

  g_snprintf (service, sizeof service, "%u", port);
  rc = getaddrinfo (host, service, &hints, &res);
  if (rc != 0)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_CONNECT, "%s:%u: %s", host,
                   port, gai_strerror (rc));
      return -1;
    }
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
    {
      g_clear_error (&last);
      fd = connect_one (ai, MAX (timeout_ms, 1), &last);
    }
  freeaddrinfo (res);
  if (fd < 0)
    g_set_error (error, KATA_ERROR, last ? last->code : KATA_ERROR_CONNECT,
                 "%s:%u: %s", host, port, last ? last->message : "no address");
  return fd;
}

/* Reads the proxy's reply head byte by byte: nothing after it may be
 * consumed, the TLS handshake follows on the same socket. */
static gboolean
proxy_read_head (int fd, GError **error)
{
  char buf[4096];
  gsize len = 0;
  KataHttpHead head;

  while (len < sizeof buf)
    {
      ssize_t n = recv (fd, buf + len, 1, 0);
      int rc;
      if (n <= 0)
        {
          g_set_error (error, KATA_ERROR, KATA_ERROR_PROXY,
                       "proxy closed the connection or timed out");
          return FALSE;
        }
      len++;
      rc = kata_http_parse_head (buf, len, &head, error);
      if (rc < 0)
        return FALSE;
      if (rc == 0)
        continue;
      if (head.status / 100 == 2)
        return TRUE;
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROXY,
                   "proxy refused the tunnel with status %u", head.status);
      return FALSE;
    }
  g_set_error (error, KATA_ERROR, KATA_ERROR_PROXY, "proxy reply too long");
  return FALSE;
}

static int
proxy_connect (const KataTlsConfig *config, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (config->proxy_uri, G_URI_FLAGS_ENCODED, NULL);
  g_autoptr (GString) req = g_string_new (NULL);
  const char *user;
  int fd;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    {
      /* The URI may hold a password: never quote it. */
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROXY, "malformed proxy address");
      return -1;
    }
  fd = kata_tcp_connect (g_uri_get_host (uri),
                         g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 8080,
                         config->timeout_ms, error);
  if (fd < 0)
    {
      g_prefix_error (error, "proxy: ");
      return -1;
    }
  g_string_printf (req, "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n",
                   config->host, config->port, config->host, config->port);
  if ((user = g_uri_get_userinfo (uri)) != NULL)
    {
      g_autofree char *plain = g_uri_unescape_string (user, NULL);
      g_autofree char *b64 = g_base64_encode ((const guchar *) plain, strlen (plain));
      g_string_append_printf (req, "Proxy-Authorization: Basic %s\r\n", b64);
      memset (plain, 0, strlen (plain));
    }
  g_string_append (req, "\r\n");
  if (send (fd, req->str, req->len, MSG_NOSIGNAL) != (ssize_t) req->len ||
      !proxy_read_head (fd, error))
    {
      if (error && *error == NULL)
        g_set_error (error, KATA_ERROR, KATA_ERROR_PROXY, "proxy write failed");
      close (fd);
      return -1;
    }
  return fd;
}

/* Writing to a peer that went away raises SIGPIPE, which would kill the
 * host: block it for this thread around every OpenSSL call that writes,
 * then consume one that became pending (a signal raised by a write stays
 * with the writing thread). */
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

static SSL_CTX *
make_ctx (const KataTlsConfig *config, GError **error)
{
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());

  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  SSL_CTX_set_options (ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (config->pin_spki != NULL)
    SSL_CTX_set_verify (ctx, SSL_VERIFY_NONE, NULL);
  else
    {
      SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
      if (config->ca_file ? SSL_CTX_load_verify_locations (ctx, config->ca_file, NULL) != 1
                          : SSL_CTX_set_default_verify_paths (ctx) != 1)
        g_debug ("kata: could not load the trust store");
    }
  if (config->client != NULL &&
      (SSL_CTX_use_certificate (ctx, config->client->cert) != 1 ||
       SSL_CTX_use_PrivateKey (ctx, config->client->key) != 1 ||
       (config->client->chain &&
        SSL_CTX_set1_chain (ctx, config->client->chain) != 1)))
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_TLS,
                   "the client certificate cannot be used");
      SSL_CTX_free (ctx);
      return NULL;
    }
  return ctx;
}

static char *
ssl_error_text (void)
{
  unsigned long e = ERR_get_error ();
  char buf[256];

  if (e == 0)
    return g_strdup (errno ? g_strerror (errno) : "connection closed");
  ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  return g_strdup (buf);
}

static gboolean
check_pin (KataConn *conn, const guint8 *pin, GError **error)
{
  X509 *peer = SSL_get1_peer_certificate (conn->ssl);
  guint8 spki[32];
  gboolean ok = peer != NULL && kata_cert_spki_sha256 (peer, spki) &&
                CRYPTO_memcmp (spki, pin, sizeof spki) == 0;

  X509_free (peer);
  if (!ok)
    g_set_error (error, KATA_ERROR, KATA_ERROR_PIN_MISMATCH,
                 "%s: the server's public key does not match the pinned "
                 "certificate", conn->where);
  return ok;
}

static gboolean
connect_nosigpipe (SSL *ssl)
{
  sigset_t old;
  gboolean ok;

  sigpipe_block (&old);
  ok = SSL_connect (ssl) == 1;
  sigpipe_restore (&old);
  return ok;
}

static gboolean
handshake (KataConn *conn, const KataTlsConfig *config, GError **error)
{
  gboolean is_ip = g_hostname_is_ip_address (config->host);

  conn->ssl = SSL_new (conn->ctx);
  SSL_set_fd (conn->ssl, conn->fd);
  if (!is_ip)
    SSL_set_tlsext_host_name (conn->ssl, config->host);
  if (config->pin_spki == NULL)
    {
      X509_VERIFY_PARAM *param = SSL_get0_param (conn->ssl);
      if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc (param, config->host);
      else
        X509_VERIFY_PARAM_set1_host (param, config->host, 0);
    }
  errno = 0;
  if (!connect_nosigpipe (conn->ssl))
    {
      long vr = SSL_get_verify_result (conn->ssl);
      g_autofree char *why = vr != X509_V_OK
          ? g_strdup (X509_verify_cert_error_string (vr)) : ssl_error_text ();
      g_set_error (error, KATA_ERROR,
                   errno == EAGAIN ? KATA_ERROR_TIMEOUT : KATA_ERROR_TLS,
                   "%s: TLS handshake failed: %s", conn->where, why);
      return FALSE;
    }
  return config->pin_spki == NULL || check_pin (conn, config->pin_spki, error);
}

KataConn *
kata_conn_open (const KataTlsConfig *config, GError **error)
{
  g_autoptr (KataConn) conn = g_new0 (KataConn, 1);

  kata_crypto_init ();
  conn->fd = -1;
  conn->where = g_strdup_printf ("%s:%u", config->host, config->port);
  conn->fd = config->proxy_uri
      ? proxy_connect (config, error)
      : kata_tcp_connect (config->host, config->port, config->timeout_ms, error);
  if (conn->fd < 0)
    return NULL;
  if ((conn->ctx = make_ctx (config, error)) == NULL ||
      !handshake (conn, config, error))
    return NULL;
  return g_steal_pointer (&conn);
}

void
kata_conn_close (KataConn *conn)
{
  if (conn == NULL)
    return;
  if (conn->ssl != NULL)
    {
      sigset_t old;

      sigpipe_block (&old);
      SSL_shutdown (conn->ssl);
      sigpipe_restore (&old);
      SSL_free (conn->ssl);
      ERR_clear_error ();
    }
  SSL_CTX_free (conn->ctx);
  if (conn->fd >= 0)
    close (conn->fd);
  g_free (conn->where);
  g_free (conn);
}

static gboolean
write_nosigpipe (SSL *ssl, const void *data, gsize len)
{
  sigset_t old;
  size_t written = 0;
  gboolean ok;

  sigpipe_block (&old);
  ok = SSL_write_ex (ssl, data, len, &written) == 1;
  sigpipe_restore (&old);
  return ok;
}

gboolean
kata_conn_write (KataConn *conn, const void *data, gsize len, GError **error)
{
  errno = 0;
  if (len > 0 && !write_nosigpipe (conn->ssl, data, len))
    {
      g_autofree char *why = ssl_error_text ();
      g_set_error (error, KATA_ERROR,
                   errno == EAGAIN ? KATA_ERROR_TIMEOUT : KATA_ERROR_SOCKET,
                   "%s: write failed: %s", conn->where, why);
      return FALSE;
    }
  return TRUE;
}

gssize
kata_conn_read (KataConn *conn, void *buf, gsize len, GError **error)
{
  size_t got = 0;
  int err;

  errno = 0;
  if (SSL_read_ex (conn->ssl, buf, len, &got) == 1)
    return (gssize) got;
  err = SSL_get_error (conn->ssl, 0);
  if (err == SSL_ERROR_ZERO_RETURN)
    return 0;
  if (err == SSL_ERROR_SYSCALL && errno == 0)
    return 0;   /* closed without close_notify: the length decides */
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    g_set_error (error, KATA_ERROR, KATA_ERROR_TIMEOUT,
                 "%s: no response within the timeout", conn->where);
  else
    {
      g_autofree char *why = ssl_error_text ();
      g_set_error (error, KATA_ERROR, KATA_ERROR_SOCKET, "%s: read failed: %s",
                   conn->where, why);
    }
  return -1;
}
