/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata suite's central node: see kata-test-server.h. Certificates come
 * from the openssl command (EC P-256 keys, quick to make); the server is
 * OpenSSL on a plain socket, one connection at a time, keep-alive HTTP/1.1.
 */
#include "kata-test-server.h"
#include "vt-cli.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* ---- certificates ---------------------------------------------------- */

static void
run_openssl (const char *dir, const char *args)
{
  g_autofree char *cmd = g_strdup_printf ("openssl %s", args);
  g_auto (GStrv) argv = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_shell_parse_argv (cmd, NULL, &argv, NULL));
  if (!g_spawn_sync (dir, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    g_error ("openssl %s failed: %s", args, error ? error->message : err);
}

static void
make_signed (const char *dir, const char *name, const char *cn, const char *ext)
{
  g_autofree char *a = g_strdup_printf (
      "req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout %s.key -out %s.csr -subj /CN=%s", name, name, cn);
  g_autofree char *b = g_strdup_printf (
      "x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-out %s.pem -extfile %s.ext", name, name, name);
  g_autofree char *extfile = g_strdup_printf ("%s/%s.ext", dir, name);

  g_assert_true (g_file_set_contents (extfile, ext, -1, NULL));
  run_openssl (dir, a);
  run_openssl (dir, b);
}

/* An archive OpenSSL cannot read whatever the password: the key bag's
 * cipher OID (aes-256-cbc, 2.16.840.1.101.3.4.1.42) is changed to an
 * unassigned one (….1.127); without a MAC nothing notices the change. */
static void
make_unsupported_pfx (const char *dir)
{
  static const guint8 aes256cbc[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                      0x03, 0x04, 0x01, 0x2a };
  g_autofree char *path = g_build_filename (dir, "client-unsupported.pfx", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean patched = FALSE;

  run_openssl (dir, "pkcs12 -export -in client.pem -inkey client.key -nomac "
                    "-keypbe AES-256-CBC -certpbe NONE "
                    "-out client-unsupported.pfx -passout pass:s3cret");
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  for (gsize i = 0; i + sizeof aes256cbc <= len && !patched; i++)
    if (memcmp (data + i, aes256cbc, sizeof aes256cbc) == 0)
      {
        data[i + sizeof aes256cbc - 1] = 0x7f;
        patched = TRUE;
      }
  g_assert_true (patched);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

KtCerts *
kt_certs_new (void)
{
  KtCerts *c = g_new0 (KtCerts, 1);
  const char *server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\n";

  c->dir = g_dir_make_tmp ("kata-certs-XXXXXX", NULL);
  g_assert_nonnull (c->dir);
  run_openssl (c->dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                       "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=Test-CA");
  make_signed (c->dir, "server", "kata-central-node", server_ext);
  make_signed (c->dir, "other", "impostor", server_ext);
  make_signed (c->dir, "client", "device-a", "extendedKeyUsage=clientAuth\n");
  run_openssl (c->dir, "pkcs12 -export -in client.pem -inkey client.key "
                       "-out client.pfx -passout pass:s3cret");
  run_openssl (c->dir, "pkcs12 -export -legacy -in client.pem -inkey client.key "
                       "-out client-legacy.pfx -passout pass:s3cret");
  make_unsupported_pfx (c->dir);
#define P(f, n) c->f = g_build_filename (c->dir, n, NULL)
  P (ca_pem, "ca.pem");
  P (server_pem, "server.pem");
  P (server_key, "server.key");
  P (other_pem, "other.pem");
  P (other_key, "other.key");
  P (client_pem, "client.pem");
  P (client_key, "client.key");
  P (client_pfx, "client.pfx");
  P (client_pfx_legacy, "client-legacy.pfx");
  P (client_pfx_unsupported, "client-unsupported.pfx");
#undef P
  return c;
}

void
kt_certs_free (KtCerts *c)
{
  vt_rm_rf (c->dir);
  g_free (c->dir);
  g_free (c->ca_pem);
  g_free (c->server_pem);
  g_free (c->server_key);
  g_free (c->other_pem);
  g_free (c->other_key);
  g_free (c->client_pem);
  g_free (c->client_key);
  g_free (c->client_pfx);
  g_free (c->client_pfx_legacy);
  g_free (c->client_pfx_unsupported);
  g_free (c);
}

char *
kt_read_text (const char *path)
{
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

char *
kt_read_b64 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_base64_encode ((const guchar *) data, len);
}

/* ---- server ---------------------------------------------------------- */

struct _KtServer {
  GThread     *thread;
  GMutex       lock;
  SSL_CTX     *ctx;
  int          listen_fd;
  int          stop_pipe[2];
  guint16      port;
  KtReplyMode  mode;
  char        *sync_body;
  guint        packages, connections, syncs, events_total;
  GHashTable  *seqs;          /* "agent/seq" seen */
  GHashTable  *event_ids;     /* event id -> "agent/seq" of first package */
  GHashTable  *types;         /* type -> count (distinct packages) */
  GArray      *sizes;
  gboolean     duplicate;
};

guint16
kt_free_port (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (bind (fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &a, &len), ==, 0);
  close (fd);
  return ntohs (a.sin_port);
}

static void
record_package (KtServer *s, JsonObject *pkg)
{
  g_autofree char *key = g_strdup_printf ("%s/%" G_GINT64_FORMAT,
      json_object_get_string_member (pkg, "agent_id"),
      json_object_get_int_member (pkg, "seq"));
  JsonArray *events = json_object_get_array_member (pkg, "events");
  guint n = json_array_get_length (events);

  s->packages++;
  s->events_total += n;
  if (g_hash_table_contains (s->seqs, key))
    return;   /* a re-sent package: de-duplicated by its sequence id */
  g_hash_table_add (s->seqs, g_strdup (key));
  g_array_append_val (s->sizes, n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      const char *id = json_object_get_string_member (e, "id");
      const char *type = json_object_get_string_member (e, "type");
      guint c = GPOINTER_TO_UINT (g_hash_table_lookup (s->types, type));
      if (g_hash_table_contains (s->event_ids, id))
        s->duplicate = TRUE;
      g_hash_table_insert (s->event_ids, g_strdup (id), g_strdup (key));
      g_hash_table_insert (s->types, g_strdup (type), GUINT_TO_POINTER (c + 1));
    }
}

/* Reads one request; returns its body (or "" for GET), NULL at EOF. */
static char *
read_request (SSL *ssl, char **path)
{
  g_autoptr (GString) acc = g_string_new (NULL);
  char buf[16384];
  char *end, *cl;
  gsize head_len, body_len = 0;

  while ((end = strstr (acc->str, "\r\n\r\n")) == NULL)
    {
      int n = SSL_read (ssl, buf, sizeof buf);
      if (n <= 0)
        return NULL;
      g_string_append_len (acc, buf, n);
    }
  head_len = (gsize) (end - acc->str) + 4;
  cl = g_strstr_len (acc->str, (gssize) head_len, "Content-Length: ");
  if (cl)
    body_len = g_ascii_strtoull (cl + 16, NULL, 10);
  while (acc->len < head_len + body_len)
    {
      int n = SSL_read (ssl, buf, sizeof buf);
      if (n <= 0)
        return NULL;
      g_string_append_len (acc, buf, n);
    }
  *path = g_strndup (acc->str, strcspn (acc->str, "\r\n"));
  return g_strndup (acc->str + head_len, body_len);
}

static void
reply_full (SSL *ssl, guint status, const char *body, gboolean closing)
{
  g_autofree char *msg = g_strdup_printf (
      "HTTP/1.1 %u X\r\nContent-Type: application/json\r\n%s"
      "Content-Length: %zu\r\n\r\n%s", status,
      closing ? "Connection: close\r\n" : "", strlen (body), body);

  SSL_write (ssl, msg, (int) strlen (msg));
}

static void
reply (SSL *ssl, guint status, const char *body)
{
  reply_full (ssl, status, body, FALSE);
}

static gboolean
handle_post (KtServer *s, SSL *ssl, const char *body)
{
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  JsonObject *pkg;
  g_autofree char *ack = NULL;
  gint64 seq;

  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  pkg = json_node_get_object (root);
  seq = json_object_get_int_member (pkg, "seq");
  g_mutex_lock (&s->lock);
  record_package (s, pkg);
  g_mutex_unlock (&s->lock);
  switch (s->mode)
    {
    case KT_REPLY_DROP:
      return FALSE;
    case KT_REPLY_GARBAGE:
      reply (ssl, 200, "this is not json");
      return TRUE;
    case KT_REPLY_WRONG_ACK:
      ack = g_strdup_printf ("{\"ack\":%" G_GINT64_FORMAT "}", seq + 1000);
      reply (ssl, 200, ack);
      return TRUE;
    case KT_REPLY_HTTP_500:
      reply (ssl, 500, "{}");
      return TRUE;
    case KT_REPLY_HTTP_503:
      reply (ssl, 503, "{}");
      return TRUE;
    case KT_REPLY_STALL:
      {
        /* Returns when the client closes its end (its timeout), at most 10 s. */
        struct pollfd pfd = { SSL_get_fd (ssl), POLLIN, 0 };
        poll (&pfd, 1, 10000);
        return FALSE;
      }
    case KT_REPLY_CLOSE:
      ack = g_strdup_printf ("{\"ack\":%" G_GINT64_FORMAT "}", seq);
      reply_full (ssl, 200, ack, TRUE);
      return FALSE;
    case KT_REPLY_OK:
    default:
      ack = g_strdup_printf ("{\"ack\":%" G_GINT64_FORMAT "}", seq);
      reply (ssl, 200, ack);
      return TRUE;
    }
}

static void
serve_connection (KtServer *s, int fd)
{
  SSL *ssl = SSL_new (s->ctx);

  SSL_set_fd (ssl, fd);
  if (SSL_accept (ssl) == 1)
    {
      g_mutex_lock (&s->lock);
      s->connections++;
      g_mutex_unlock (&s->lock);
      for (;;)
        {
          g_autofree char *path = NULL;
          g_autofree char *body = read_request (ssl, &path);
          if (body == NULL)
            break;
          if (g_str_has_prefix (path, "POST /kata/v1/events "))
            {
              if (!handle_post (s, ssl, body))
                break;
            }
          else if (g_str_has_prefix (path, "GET /kata/v1/sync?"))
            {
              g_mutex_lock (&s->lock);
              s->syncs++;
              g_mutex_unlock (&s->lock);
              reply (ssl, 200, s->sync_body);
            }
          else
            reply (ssl, 404, "{}");
        }
    }
  ERR_clear_error ();
  SSL_free (ssl);
  close (fd);
}

static gpointer
server_thread (gpointer data)
{
  KtServer *s = data;

  for (;;)
    {
      struct pollfd p[2] = { { s->listen_fd, POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };
      int fd;
      if (poll (p, 2, -1) < 0 && errno == EINTR)
        continue;
      if (p[1].revents)
        break;
      fd = accept (s->listen_fd, NULL, NULL);
      if (fd >= 0)
        serve_connection (s, fd);
    }
  return NULL;
}

static SSL_CTX *
server_ctx (const char *cert, const char *key, const char *client_ca)
{
  SSL_CTX *ctx = SSL_CTX_new (TLS_server_method ());

  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  g_assert_cmpint (SSL_CTX_use_certificate_chain_file (ctx, cert), ==, 1);
  g_assert_cmpint (SSL_CTX_use_PrivateKey_file (ctx, key, SSL_FILETYPE_PEM), ==, 1);
  if (client_ca)
    {
      g_assert_cmpint (SSL_CTX_load_verify_locations (ctx, client_ca, NULL), ==, 1);
      SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
  return ctx;
}

KtServer *
kt_server_start (const char *cert_pem, const char *key_pem,
                 const char *client_ca, guint16 port)
{
  KtServer *s = g_new0 (KtServer, 1);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int one = 1;

  g_mutex_init (&s->lock);
  s->ctx = server_ctx (cert_pem, key_pem, client_ca);
  s->sync_body = g_strdup ("{\"tasks\":[]}");
  s->seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->event_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  s->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  g_assert_cmpint (bind (s->listen_fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (listen (s->listen_fd, 16), ==, 0);
  getsockname (s->listen_fd, (struct sockaddr *) &a, &len);
  s->port = ntohs (a.sin_port);
  g_assert_cmpint (pipe (s->stop_pipe), ==, 0);
  s->thread = g_thread_new ("kt-server", server_thread, s);
  return s;
}

void
kt_server_stop (KtServer *s)
{
  if (s == NULL)
    return;
  g_assert_cmpint (write (s->stop_pipe[1], "x", 1), ==, 1);
  g_thread_join (s->thread);
  close (s->listen_fd);
  close (s->stop_pipe[0]);
  close (s->stop_pipe[1]);
  SSL_CTX_free (s->ctx);
  g_hash_table_unref (s->seqs);
  g_hash_table_unref (s->event_ids);
  g_hash_table_unref (s->types);
  g_array_unref (s->sizes);
  g_free (s->sync_body);
  g_mutex_clear (&s->lock);
  g_free (s);
}

guint16 kt_server_port (KtServer *s) { return s->port; }

void
kt_server_set_reply (KtServer *s, KtReplyMode mode)
{
  g_mutex_lock (&s->lock);
  s->mode = mode;
  g_mutex_unlock (&s->lock);
}

void
kt_server_set_sync_body (KtServer *s, const char *body)
{
  g_mutex_lock (&s->lock);
  g_free (s->sync_body);
  s->sync_body = g_strdup (body);
  g_mutex_unlock (&s->lock);
}

#define GETTER(name, expr)               \
  guint name (KtServer *s)               \
  {                                      \
    guint v;                             \
    g_mutex_lock (&s->lock);             \
    v = (expr);                          \
    g_mutex_unlock (&s->lock);           \
    return v;                            \
  }
GETTER (kt_server_packages, s->packages)
GETTER (kt_server_connections, s->connections)
GETTER (kt_server_syncs, s->syncs)
GETTER (kt_server_unique_events, g_hash_table_size (s->event_ids))
GETTER (kt_server_events_total, s->events_total)
#undef GETTER

GArray *
kt_server_package_sizes (KtServer *s)
{
  GArray *copy;

  g_mutex_lock (&s->lock);
  copy = g_array_copy (s->sizes);
  g_mutex_unlock (&s->lock);
  return copy;
}

guint
kt_server_type_count (KtServer *s, const char *type)
{
  guint v;

  g_mutex_lock (&s->lock);
  v = GPOINTER_TO_UINT (g_hash_table_lookup (s->types, type));
  g_mutex_unlock (&s->lock);
  return v;
}

gboolean
kt_server_saw_duplicate_event (KtServer *s)
{
  gboolean v;

  g_mutex_lock (&s->lock);
  v = s->duplicate;
  g_mutex_unlock (&s->lock);
  return v;
}

/* ---- CONNECT proxy --------------------------------------------------- */

struct _KtProxy {
  GThread *thread;
  GMutex   lock;
  int      listen_fd;
  int      stop_pipe[2];
  guint16  port;
  char    *auth_header;   /* "Proxy-Authorization: Basic ..." or NULL */
  guint    tunnels, refused;
};

static void
relay (int a, int b)
{
  char buf[16384];

  for (;;)
    {
      struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
      if (poll (p, 2, 5000) <= 0)
        return;
      for (int i = 0; i < 2; i++)
        if (p[i].revents)
          {
            ssize_t n = read (p[i].fd, buf, sizeof buf);
            if (n <= 0 || write (i ? a : b, buf, (size_t) n) != n)
              return;
          }
    }
}

static int
connect_target (const char *request)
{
  guint port = 0;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fd;

  if (sscanf (request, "CONNECT 127.0.0.1:%u HTTP/1.1", &port) != 1)
    return -1;
  a.sin_port = htons ((guint16) port);
  fd = socket (AF_INET, SOCK_STREAM, 0);
  if (connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void
proxy_serve (KtProxy *px, int fd)
{
  char head[4096];
  gsize len = 0;
  int target;
  const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
  const char *denied = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";

  while (len < sizeof head - 1 && !g_strstr_len (head, (gssize) len, "\r\n\r\n"))
    {
      ssize_t n = read (fd, head + len, 1);
      if (n <= 0)
        return;
      len += (gsize) n;
    }
  head[len] = '\0';
  if (px->auth_header && !strstr (head, px->auth_header))
    {
      g_mutex_lock (&px->lock);
      px->refused++;
      g_mutex_unlock (&px->lock);
      if (write (fd, denied, strlen (denied)) < 0)
        return;
      return;
    }
  if ((target = connect_target (head)) < 0)
    return;
  g_mutex_lock (&px->lock);
  px->tunnels++;
  g_mutex_unlock (&px->lock);
  if (write (fd, ok, strlen (ok)) == (ssize_t) strlen (ok))
    relay (fd, target);
  close (target);
}

static gpointer
proxy_thread (gpointer data)
{
  KtProxy *px = data;

  for (;;)
    {
      struct pollfd p[2] = { { px->listen_fd, POLLIN, 0 }, { px->stop_pipe[0], POLLIN, 0 } };
      int fd;
      if (poll (p, 2, -1) < 0 && errno == EINTR)
        continue;
      if (p[1].revents)
        break;
      if ((fd = accept (px->listen_fd, NULL, NULL)) >= 0)
        {
          proxy_serve (px, fd);
          close (fd);
        }
    }
  return NULL;
}

KtProxy *
kt_proxy_start (const char *auth)
{
  KtProxy *px = g_new0 (KtProxy, 1);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;

  g_mutex_init (&px->lock);
  if (auth)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) auth, strlen (auth));
      px->auth_header = g_strdup_printf ("Proxy-Authorization: Basic %s\r\n", b64);
    }
  px->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (px->listen_fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (listen (px->listen_fd, 8), ==, 0);
  getsockname (px->listen_fd, (struct sockaddr *) &a, &len);
  px->port = ntohs (a.sin_port);
  g_assert_cmpint (pipe (px->stop_pipe), ==, 0);
  px->thread = g_thread_new ("kt-proxy", proxy_thread, px);
  return px;
}

void
kt_proxy_stop (KtProxy *px)
{
  g_assert_cmpint (write (px->stop_pipe[1], "x", 1), ==, 1);
  g_thread_join (px->thread);
  close (px->listen_fd);
  close (px->stop_pipe[0]);
  close (px->stop_pipe[1]);
  g_free (px->auth_header);
  g_mutex_clear (&px->lock);
  g_free (px);
}

guint16 kt_proxy_port (KtProxy *px) { return px->port; }

guint
kt_proxy_tunnels (KtProxy *px)
{
  guint v;

  g_mutex_lock (&px->lock);
  v = px->tunnels;
  g_mutex_unlock (&px->lock);
  return v;
}

guint
kt_proxy_refused (KtProxy *px)
{
  guint v;

  g_mutex_lock (&px->lock);
  v = px->refused;
  g_mutex_unlock (&px->lock);
  return v;
}
