/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The loopback HTTPS reputation service of the ksn tests (tls-server.h).
 * Connections are served one at a time on the server thread, which is all
 * the client under test needs; the listening socket is shut down to stop.
 */
#include "tls-server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct _KtServer {
  KtReply   reply;
  SSL_CTX  *ctx;
  int       listen_fd;
  guint16   port;
  GThread  *thread;
  gint      connections;
  gint      requests;
  GMutex    lock;
  char     *last_body;
};

void
kt_make_cert (const char *cert_path, const char *key_path, const char *san)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *x = X509_new ();
  X509_NAME *name;
  X509V3_CTX v3;
  X509_EXTENSION *ext;
  FILE *f;

  g_assert_nonnull (key);
  X509_set_version (x, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (x), g_random_int_range (1, G_MAXINT));
  X509_gmtime_adj (X509_getm_notBefore (x), -3600);
  X509_gmtime_adj (X509_getm_notAfter (x), 86400);
  X509_set_pubkey (x, key);
  name = X509_get_subject_name (x);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const guchar *) "vigil-test", -1, -1, 0);
  X509_set_issuer_name (x, name);
  X509V3_set_ctx_nodb (&v3);
  X509V3_set_ctx (&v3, x, x, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &v3, NID_subject_alt_name, san);
  g_assert_nonnull (ext);
  X509_add_ext (x, ext, -1);
  X509_EXTENSION_free (ext);
  g_assert_cmpint (X509_sign (x, key, EVP_sha256 ()), >, 0);

  f = fopen (cert_path, "w");
  g_assert_nonnull (f);
  PEM_write_X509 (f, x);
  fclose (f);
  f = fopen (key_path, "w");
  g_assert_nonnull (f);
  PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL);
  fclose (f);
  X509_free (x);
  EVP_PKEY_free (key);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

static char *
verdicts_for (const char *body)
{
  g_autoptr (JsonNode) req = json_from_string (body, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  JsonArray *hashes = NULL;

  if (req && JSON_NODE_HOLDS_OBJECT (req))
    hashes = json_object_get_array_member (json_node_get_object (req), "hashes");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "protocol");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "results");
  json_builder_begin_array (b);
  for (guint i = 0; hashes && i < json_array_get_length (hashes); i++)
    {
      JsonObject *h = json_array_get_object_element (hashes, i);
      const char *value = json_object_get_string_member (h, "value");

      if (value[0] != 'a' && value[0] != 'c')
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, json_object_get_string_member (h, "type"));
      json_builder_set_member_name (b, "value");
      json_builder_add_string_value (b, value);
      json_builder_set_member_name (b, "verdict");
      json_builder_add_string_value (b, value[0] == 'a' ? "malicious" : "clean");
      if (value[0] == 'a')
        {
          json_builder_set_member_name (b, "threat");
          json_builder_add_string_value (b, "HEUR:Trojan.Test.Generic");
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char *
reply_text (KtReply mode, const char *body)
{
  g_autofree char *json = verdicts_for (body);

  switch (mode)
    {
    case KT_REPLY_VERDICTS:
      return g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                              strlen (json), json);
    case KT_REPLY_CHUNKED:
      {
        gsize half = strlen (json) / 2;

        return g_strdup_printf ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n", half, (int) half,
                                json, strlen (json) - half, json + half);
      }
    case KT_REPLY_GARBAGE:
      return g_strdup ("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n<html>hi");
    case KT_REPLY_BAD_VERDICT:
      {
        const char *bad = "{\"results\":[{\"type\":\"sha256\",\"value\":\"x\",\"verdict\":\"evil\"}]}";

        return g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                                strlen (bad), bad);
      }
    case KT_REPLY_ERROR:
    default:
      return g_strdup ("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    }
}

/* ------------------------------------------------------------------ */
/* Serving                                                             */
/* ------------------------------------------------------------------ */

/* Reads the head and a Content-Length body; NULL on any trouble. */
static char *
read_request (SSL *ssl)
{
  g_autoptr (GString) data = g_string_new (NULL);
  char buf[4096];
  const char *end, *cl;
  gsize length = 0;

  while ((end = strstr (data->str, "\r\n\r\n")) == NULL)
    {
      int n = SSL_read (ssl, buf, sizeof buf);

      if (n <= 0 || data->len > 65536)
        return NULL;
      g_string_append_len (data, buf, n);
    }
  cl = g_strstr_len (data->str, end - data->str, "Content-Length:");
  if (cl)
    length = g_ascii_strtoull (cl + 15, NULL, 10);
  while (data->len - (end - data->str + 4) < length)
    {
      gsize head = end - data->str;
      int n = SSL_read (ssl, buf, sizeof buf);

      if (n <= 0)
        return NULL;
      g_string_append_len (data, buf, n);
      end = data->str + head;
    }
  return g_strndup (end + 4, length);
}

static void
serve_one (KtServer *server, int fd)
{
  SSL *ssl = SSL_new (server->ctx);
  g_autofree char *body = NULL;
  g_autofree char *reply = NULL;

  SSL_set_fd (ssl, fd);
  if (SSL_accept (ssl) == 1 && (body = read_request (ssl)) != NULL)
    {
      g_atomic_int_inc (&server->requests);
      g_mutex_lock (&server->lock);
      g_free (server->last_body);
      server->last_body = g_strdup (body);
      g_mutex_unlock (&server->lock);
      reply = reply_text (server->reply, body);
      SSL_write (ssl, reply, strlen (reply));
      SSL_shutdown (ssl);
    }
  ERR_clear_error ();
  SSL_free (ssl);
}

static gpointer
serve (gpointer data)
{
  KtServer *server = data;

  for (;;)
    {
      int fd = accept (server->listen_fd, NULL, NULL);

      if (fd < 0 && errno == EINTR)
        continue;
      if (fd < 0)
        break;
      g_atomic_int_inc (&server->connections);
      serve_one (server, fd);
      close (fd);
    }
  return NULL;
}

KtServer *
kt_server_start (const char *cert_path, const char *key_path, KtReply reply)
{
  KtServer *server = g_new0 (KtServer, 1);
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t len = sizeof addr;

  server->reply = reply;
  g_mutex_init (&server->lock);
  server->ctx = SSL_CTX_new (TLS_server_method ());
  g_assert_cmpint (SSL_CTX_use_certificate_file (server->ctx, cert_path, SSL_FILETYPE_PEM), ==, 1);
  g_assert_cmpint (SSL_CTX_use_PrivateKey_file (server->ctx, key_path, SSL_FILETYPE_PEM), ==, 1);

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  server->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (server->listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (server->listen_fd, 16), ==, 0);
  getsockname (server->listen_fd, (struct sockaddr *) &addr, &len);
  server->port = ntohs (addr.sin_port);
  server->thread = g_thread_new ("kt-server", serve, server);
  return server;
}

void
kt_server_stop (KtServer *server)
{
  if (server == NULL)
    return;
  shutdown (server->listen_fd, SHUT_RDWR);
  g_thread_join (server->thread);
  close (server->listen_fd);
  SSL_CTX_free (server->ctx);
  g_free (server->last_body);
  g_mutex_clear (&server->lock);
  g_free (server);
}

guint16
kt_server_port (KtServer *server)
{
  return server->port;
}

guint
kt_server_connections (KtServer *server)
{
  return g_atomic_int_get (&server->connections);
}

guint
kt_server_requests (KtServer *server)
{
  return g_atomic_int_get (&server->requests);
}

char *
kt_server_last_body (KtServer *server)
{
  char *body;

  g_mutex_lock (&server->lock);
  body = g_strdup (server->last_body);
  g_mutex_unlock (&server->lock);
  return body;
}
