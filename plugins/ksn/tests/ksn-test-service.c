/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ksn tests' reputation service (ksn-test-service.h): the verdict
 * logic and the broken replies, as a handler of the shared loopback TLS
 * server, one request per connection as the plugin sends them.
 */
#include "ksn-test-service.h"

#include <string.h>
#include <json-glib/json-glib.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

struct _KtServer {
  VtTlsServer *tls;
  KtReply      reply;
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

static VtAction
handle (const VtRequest *request, GString *reply, gpointer user_data)
{
  KtServer *server = user_data;
  g_autofree char *text = reply_text (server->reply, request->body);

  g_string_append (reply, text);
  return VT_ACTION_CLOSE;
}

KtServer *
kt_server_start (const char *cert_path, const char *key_path, KtReply reply)
{
  KtServer *server = g_new0 (KtServer, 1);
  VtTlsServerOptions options = { .cert_pem = cert_path, .key_pem = key_path,
                                 .handler = handle, .user_data = server };

  server->reply = reply;
  server->tls = vt_tls_server_start (&options);
  return server;
}

void
kt_server_stop (KtServer *server)
{
  if (server == NULL)
    return;
  vt_tls_server_stop (server->tls);
  g_free (server);
}

guint16
kt_server_port (KtServer *server)
{
  return vt_tls_server_port (server->tls);
}

VtTlsServer *
kt_server_tls (KtServer *server)
{
  return server->tls;
}

guint
kt_server_connections (KtServer *server)
{
  return vt_tls_server_accepted (server->tls);
}

guint
kt_server_requests (KtServer *server)
{
  return vt_tls_server_requests (server->tls);
}

char *
kt_server_last_body (KtServer *server)
{
  return vt_tls_server_last_body (server->tls);
}
