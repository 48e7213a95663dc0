/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The loopback TLS test server and CONNECT proxy (vt-tls-server.h). Both
 * sit on one listener: an accept thread and a thread per connection, all
 * woken by one stop pipe, so that stopping never waits for a client.
 * Server and proxy threads block SIGPIPE for themselves: a client that
 * went away must not kill the test, while the code under test keeps the
 * default disposition (the client's SIGPIPE test relies on it).
 */
#define _GNU_SOURCE   /* accept4, pipe2 */
#include "vt-tls-server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* ---- listener ---------------------------------------------------------- */

typedef void (*ServeFunc) (gpointer owner, int fd);

typedef struct {
  int        fd;
  int        stop_pipe[2];
  guint16    port;
  GThread   *thread;
  GMutex     lock;
  GPtrArray *workers;       /* GThread * */
  guint      accepted;
  ServeFunc  serve;
  gpointer   owner;
} Listener;

typedef struct {
  Listener *l;
  int       fd;
} Work;

static void
block_sigpipe (void)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
}

static gpointer
worker (gpointer data)
{
  Work *w = data;

  block_sigpipe ();
  w->l->serve (w->l->owner, w->fd);
  close (w->fd);
  g_free (w);
  return NULL;
}

static gpointer
accept_loop (gpointer data)
{
  Listener *l = data;

  block_sigpipe ();
  for (;;)
    {
      struct pollfd p[2] = { { l->fd, POLLIN, 0 }, { l->stop_pipe[0], POLLIN, 0 } };
      Work *w;
      int fd;

      if (poll (p, 2, -1) < 0 && errno == EINTR)
        continue;
      if (p[1].revents)
        return NULL;
      if ((fd = accept4 (l->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        continue;
      w = g_new0 (Work, 1);
      w->l = l;
      w->fd = fd;
      g_mutex_lock (&l->lock);
      l->accepted++;
      g_ptr_array_add (l->workers, g_thread_new ("vt-conn", worker, w));
      g_mutex_unlock (&l->lock);
    }
}

static void
listener_start (Listener *l, guint16 port, ServeFunc serve, gpointer owner)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int one = 1;

  g_mutex_init (&l->lock);
  l->workers = g_ptr_array_new ();
  l->serve = serve;
  l->owner = owner;
  l->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  g_assert_cmpint (bind (l->fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (listen (l->fd, 64), ==, 0);
  g_assert_cmpint (getsockname (l->fd, (struct sockaddr *) &a, &len), ==, 0);
  l->port = ntohs (a.sin_port);
  g_assert_cmpint (pipe2 (l->stop_pipe, O_CLOEXEC), ==, 0);
  l->thread = g_thread_new ("vt-accept", accept_loop, l);
}

static void
listener_stop (Listener *l)
{
  /* Never read: the pipe stays readable and wakes every poll. */
  g_assert_cmpint (write (l->stop_pipe[1], "x", 1), ==, 1);
  g_thread_join (l->thread);
  for (guint i = 0; i < l->workers->len; i++)
    g_thread_join (g_ptr_array_index (l->workers, i));
  g_ptr_array_unref (l->workers);
  close (l->fd);
  close (l->stop_pipe[0]);
  close (l->stop_pipe[1]);
  g_mutex_clear (&l->lock);
}

/* Waits until @fd (or @ssl's buffer) has data; FALSE when stopping. */
static gboolean
wait_readable (Listener *l, int fd, SSL *ssl)
{
  struct pollfd p[2] = { { fd, POLLIN, 0 }, { l->stop_pipe[0], POLLIN, 0 } };

  if (ssl != NULL && SSL_has_pending (ssl))
    return TRUE;
  while (poll (p, 2, -1) < 0)
    if (errno != EINTR)
      return FALSE;
  return p[1].revents == 0;
}

guint16
vt_free_port (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (bind (fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &a, &len), ==, 0);
  close (fd);
  return ntohs (a.sin_port);
}

/* ---- TLS server ---------------------------------------------------------- */

typedef struct {
  GBytes  *raw;
  VtAction action;
} Scripted;

struct _VtTlsServer {
  Listener    l;
  SSL_CTX    *ctx;
  VtTlsServerOptions options;
  GQueue      script;       /* Scripted * */
  guint       handshakes, requests;
  char       *last_body;
};

static void
scripted_free (gpointer data)
{
  Scripted *s = data;

  g_bytes_unref (s->raw);
  g_free (s);
}

void
vt_http_reply (GString *reply, guint status, const char *headers, const char *body)
{
  g_string_append_printf (reply, "HTTP/1.1 %u X\r\n%sContent-Length: %zu\r\n\r\n%s",
                          status, headers ? headers : "", strlen (body), body);
}

/* Reads until @acc holds @want bytes; FALSE at EOF, error or stop. */
static gboolean
read_until (VtTlsServer *s, SSL *ssl, int fd, GString *acc, gsize want,
            gboolean head)
{
  char buf[16384];

  while (head ? strstr (acc->str, "\r\n\r\n") == NULL : acc->len < want)
    {
      int n;

      if (!wait_readable (&s->l, fd, ssl) || (n = SSL_read (ssl, buf, sizeof buf)) <= 0)
        return FALSE;
      g_string_append_len (acc, buf, n);
    }
  return TRUE;
}

static gsize
content_length (const char *head)
{
  g_autofree char *lower = g_ascii_strdown (head, -1);
  const char *cl = strstr (lower, "\r\ncontent-length:");

  return cl ? (gsize) g_ascii_strtoull (cl + 17, NULL, 10) : 0;
}

static void
reset (int fd)
{
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };

  /* close() after this sends RST: the peer's next write fails at once. */
  setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* Answers one request; FALSE when the connection is to end. */
static gboolean
answer (VtTlsServer *s, SSL *ssl, int fd, const VtRequest *req)
{
  g_autoptr (GString) out = g_string_new (NULL);
  Scripted *scripted;
  VtAction action;

  g_mutex_lock (&s->l.lock);
  s->requests++;
  g_free (s->last_body);
  s->last_body = g_strdup (req->body);
  scripted = g_queue_pop_head (&s->script);
  g_mutex_unlock (&s->l.lock);
  if (scripted != NULL)
    {
      gsize len = 0;
      const char *raw = g_bytes_get_data (scripted->raw, &len);
      g_string_append_len (out, raw, (gssize) len);
      action = scripted->action;
      scripted_free (scripted);
    }
  else if (s->options.handler != NULL)
    action = s->options.handler (req, out, s->options.user_data);
  else
    {
      vt_http_reply (out, 404, NULL, "{}");
      action = VT_ACTION_KEEP;
    }
  if (action == VT_ACTION_STALL)
    {
      /* Until the client gives up and closes (or the server stops). */
      char c;
      while (wait_readable (&s->l, fd, ssl) && SSL_read (ssl, &c, 1) > 0)
        ;
      return FALSE;
    }
  if (out->len > 0 && SSL_write (ssl, out->str, (int) out->len) <= 0)
    return FALSE;
  return action == VT_ACTION_KEEP;
}

static gboolean
serve_request (VtTlsServer *s, SSL *ssl, int fd)
{
  g_autoptr (GString) acc = g_string_new (NULL);
  g_autofree char *head = NULL;
  g_auto (GStrv) words = NULL;
  gsize head_len, body_len;
  VtRequest req = { 0 };

  if (!read_until (s, ssl, fd, acc, 0, TRUE))
    return FALSE;
  head_len = (gsize) (strstr (acc->str, "\r\n\r\n") - acc->str) + 4;
  head = g_strndup (acc->str, head_len);
  if (s->options.reset_after_head)
    {
      reset (fd);
      return FALSE;
    }
  body_len = content_length (head);
  if (!read_until (s, ssl, fd, acc, head_len + body_len, FALSE))
    return FALSE;
  words = g_strsplit (head, " ", 3);
  req.method = words[0];
  req.target = words[1] ? words[1] : "";
  req.head = head;
  req.body = acc->str + head_len;
  req.body_len = body_len;
  acc->str[head_len + body_len] = '\0';
  return answer (s, ssl, fd, &req);
}

/* Non-blocking during the handshake, so that a client that connects and
 * says nothing (or is no TLS client) cannot keep the server from stopping. */
static gboolean
handshake (VtTlsServer *s, SSL *ssl, int fd)
{
  int flags = fcntl (fd, F_GETFL);
  int rc;

  fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  while ((rc = SSL_accept (ssl)) != 1)
    {
      int err = SSL_get_error (ssl, rc);
      struct pollfd p[2] = { { fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0 },
                             { s->l.stop_pipe[0], POLLIN, 0 } };

      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        break;
      if ((poll (p, 2, -1) < 0 && errno != EINTR) || p[1].revents)
        break;
    }
  fcntl (fd, F_SETFL, flags);
  return rc == 1;
}

static void
serve_tls (gpointer owner, int fd)
{
  VtTlsServer *s = owner;
  SSL *ssl = SSL_new (s->ctx);

  SSL_set_fd (ssl, fd);
  if (handshake (s, ssl, fd))
    {
      g_mutex_lock (&s->l.lock);
      s->handshakes++;
      g_mutex_unlock (&s->l.lock);
      while (serve_request (s, ssl, fd))
        ;
      if (!s->options.reset_after_head)
        SSL_shutdown (ssl);
    }
  ERR_clear_error ();
  SSL_free (ssl);
}

static SSL_CTX *
server_ctx (const VtTlsServerOptions *o)
{
  SSL_CTX *ctx = SSL_CTX_new (TLS_server_method ());

  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  if (o->tls12_only)
    SSL_CTX_set_max_proto_version (ctx, TLS1_2_VERSION);
  g_assert_cmpint (SSL_CTX_use_certificate_chain_file (ctx, o->cert_pem), ==, 1);
  g_assert_cmpint (SSL_CTX_use_PrivateKey_file (ctx, o->key_pem, SSL_FILETYPE_PEM), ==, 1);
  if (o->client_ca != NULL)
    {
      g_assert_cmpint (SSL_CTX_load_verify_locations (ctx, o->client_ca, NULL), ==, 1);
      SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
  return ctx;
}

VtTlsServer *
vt_tls_server_start (const VtTlsServerOptions *options)
{
  VtTlsServer *s = g_new0 (VtTlsServer, 1);

  s->options = *options;
  s->ctx = server_ctx (options);
  g_queue_init (&s->script);
  listener_start (&s->l, options->port, serve_tls, s);
  return s;
}

void
vt_tls_server_stop (VtTlsServer *s)
{
  if (s == NULL)
    return;
  listener_stop (&s->l);
  SSL_CTX_free (s->ctx);
  g_queue_clear_full (&s->script, scripted_free);
  g_free (s->last_body);
  g_free (s);
}

guint16
vt_tls_server_port (VtTlsServer *s)
{
  return s->l.port;
}

void
vt_tls_server_script (VtTlsServer *s, const char *raw, gssize len, VtAction action)
{
  Scripted *sc = g_new0 (Scripted, 1);

  sc->raw = g_bytes_new (raw, len < 0 ? strlen (raw) : (gsize) len);
  sc->action = action;
  g_mutex_lock (&s->l.lock);
  g_queue_push_tail (&s->script, sc);
  g_mutex_unlock (&s->l.lock);
}

#define COUNTER(name, expr)                 \
  guint name (VtTlsServer *s)               \
  {                                         \
    guint v;                                \
    g_mutex_lock (&s->l.lock);              \
    v = (expr);                             \
    g_mutex_unlock (&s->l.lock);            \
    return v;                               \
  }
COUNTER (vt_tls_server_accepted, s->l.accepted)
COUNTER (vt_tls_server_handshakes, s->handshakes)
COUNTER (vt_tls_server_requests, s->requests)
#undef COUNTER

char *
vt_tls_server_last_body (VtTlsServer *s)
{
  char *v;

  g_mutex_lock (&s->l.lock);
  v = g_strdup (s->last_body);
  g_mutex_unlock (&s->l.lock);
  return v;
}

/* ---- CONNECT proxy ------------------------------------------------------ */

struct _VtProxy {
  Listener l;
  char    *auth;          /* "Basic …" or NULL */
  guint    tunnels, refused;
  char    *last_target, *last_auth;
};

static void
relay (Listener *l, int a, int b)
{
  char buf[16384];

  for (;;)
    {
      struct pollfd p[3] = { { a, POLLIN, 0 }, { b, POLLIN, 0 },
                             { l->stop_pipe[0], POLLIN, 0 } };
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      if (p[2].revents)
        return;
      for (int i = 0; i < 2; i++)
        if (p[i].revents)
          {
            ssize_t n = read (p[i].fd, buf, sizeof buf);
            if (n <= 0 || send (i ? a : b, buf, (size_t) n, MSG_NOSIGNAL) != n)
              return;
          }
    }
}

static int
connect_loopback (guint port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((guint16) port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static char *
header_value (const char *head, const char *name)
{
  g_auto (GStrv) lines = g_strsplit (head, "\r\n", -1);

  for (guint i = 1; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], name, strlen (name)) == 0 &&
        lines[i][strlen (name)] == ':')
      return g_strstrip (g_strdup (lines[i] + strlen (name) + 1));
  return NULL;
}

static void
serve_proxy (gpointer owner, int fd)
{
  VtProxy *px = owner;
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  static const char denied[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                               "Proxy-Authenticate: Basic realm=\"vt\"\r\n"
                               "Content-Length: 0\r\n\r\n";
  char head[4096];
  gsize len = 0;
  guint port = 0;
  char host[64];
  g_autofree char *auth = NULL;
  int target;

  /* Byte by byte: what follows the head belongs to the tunnel. */
  while (len < sizeof head - 1 && !g_strstr_len (head, (gssize) len, "\r\n\r\n"))
    {
      if (!wait_readable (&px->l, fd, NULL) || read (fd, head + len, 1) != 1)
        return;
      head[++len] = '\0';
    }
  head[len] = '\0';
  auth = header_value (head, "Proxy-Authorization");
  g_mutex_lock (&px->l.lock);
  g_free (px->last_auth);
  px->last_auth = g_strdup (auth);
  g_free (px->last_target);
  px->last_target = sscanf (head, "CONNECT %63s HTTP/1.", host) == 1 ? g_strdup (host) : NULL;
  g_mutex_unlock (&px->l.lock);
  if (px->auth && g_strcmp0 (auth, px->auth) != 0)
    {
      g_mutex_lock (&px->l.lock);
      px->refused++;
      g_mutex_unlock (&px->l.lock);
      send (fd, denied, strlen (denied), MSG_NOSIGNAL);
      return;
    }
  if (sscanf (head, "CONNECT 127.0.0.1:%u HTTP/1.", &port) != 1 ||
      (target = connect_loopback (port)) < 0)
    {
      static const char bad[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      send (fd, bad, strlen (bad), MSG_NOSIGNAL);
      return;
    }
  g_mutex_lock (&px->l.lock);
  px->tunnels++;
  g_mutex_unlock (&px->l.lock);
  if (send (fd, ok, strlen (ok), MSG_NOSIGNAL) == (ssize_t) strlen (ok))
    relay (&px->l, fd, target);
  close (target);
}

VtProxy *
vt_proxy_start (const char *auth)
{
  VtProxy *px = g_new0 (VtProxy, 1);

  if (auth != NULL)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) auth, strlen (auth));
      px->auth = g_strdup_printf ("Basic %s", b64);
    }
  listener_start (&px->l, 0, serve_proxy, px);
  return px;
}

void
vt_proxy_stop (VtProxy *px)
{
  if (px == NULL)
    return;
  listener_stop (&px->l);
  g_free (px->auth);
  g_free (px->last_target);
  g_free (px->last_auth);
  g_free (px);
}

guint16
vt_proxy_port (VtProxy *px)
{
  return px->l.port;
}

#define PCOUNTER(name, expr)                \
  guint name (VtProxy *px)                  \
  {                                         \
    guint v;                                \
    g_mutex_lock (&px->l.lock);             \
    v = (expr);                             \
    g_mutex_unlock (&px->l.lock);           \
    return v;                               \
  }
PCOUNTER (vt_proxy_accepted, px->l.accepted)
PCOUNTER (vt_proxy_tunnels, px->tunnels)
PCOUNTER (vt_proxy_refused, px->refused)
#undef PCOUNTER

char *
vt_proxy_last_target (VtProxy *px)
{
  char *v;

  g_mutex_lock (&px->l.lock);
  v = g_strdup (px->last_target);
  g_mutex_unlock (&px->l.lock);
  return v;
}

char *
vt_proxy_last_auth (VtProxy *px)
{
  char *v;

  g_mutex_lock (&px->l.lock);
  v = g_strdup (px->last_auth);
  g_mutex_unlock (&px->l.lock);
  return v;
}
