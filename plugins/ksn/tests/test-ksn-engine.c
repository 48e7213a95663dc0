/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ksn engine on its own: the privacy gate, the section's validation
 * rules, and look-ups against a loopback HTTPS service with a certificate
 * the test generates (trusted, untrusted, wrong name), through a loopback
 * CONNECT proxy, with malformed replies (HTTP and JSON), and the cache's time-to-live on a
 * fake clock.
 */
#include "ksn-private.h"
#include "ksn-test-service.h"

#include <string.h>
#include <glib/gstdio.h>

#define SHA_MAL   "a0000000000000000000000000000000000000000000000000000000000000aa"
#define SHA_CLEAN "c0000000000000000000000000000000000000000000000000000000000000cc"
#define SHA_NONE  "e0000000000000000000000000000000000000000000000000000000000000ee"
#define MD5_MAL   "a00000000000000000000000000000aa"

typedef struct {
  char *dir;
  char *cert;
  char *key;
} Certs;

static void
certs_setup (Certs *c, gconstpointer data)
{
  c->dir = g_dir_make_tmp ("ksn-test-XXXXXX", NULL);
  c->cert = g_build_filename (c->dir, "cert.pem", NULL);
  c->key = g_build_filename (c->dir, "key.pem", NULL);
  kt_make_cert (c->cert, c->key, data ? data : "IP:127.0.0.1,DNS:localhost");
}

static void
certs_teardown (Certs *c, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (c->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (c->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (c->dir);
  g_free (c->dir);
  g_free (c->cert);
  g_free (c->key);
}

static JsonObject *
obj (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static GPtrArray *
hashes_of (const char *type, ...)
{
  GPtrArray *hashes = g_ptr_array_new_with_free_func ((GDestroyNotify) ksn_verdict_free);
  va_list args;

  va_start (args, type);
  for (const char *t = type; t; t = va_arg (args, const char *))
    {
      KsnVerdict *v = g_new0 (KsnVerdict, 1);

      v->type = g_strdup (t);
      v->value = g_strdup (va_arg (args, const char *));
      g_ptr_array_add (hashes, v);
    }
  va_end (args);
  return hashes;
}

static KsnVerdict *
nth (GPtrArray *hashes, guint i)
{
  return hashes->pdata[i];
}

/* ------------------------------------------------------------------ */
/* Gate and validation                                                 */
/* ------------------------------------------------------------------ */

static void
test_gate (void)
{
  const char *closed[] = {
    "{}",
    "{\"statement\":{\"accepted\":false},\"usage\":{\"enabled\":true}}",
    "{\"statement\":{\"accepted\":true},\"usage\":{\"enabled\":false}}",
    "{\"statement\":{\"accepted\":\"yes\"},\"usage\":{\"enabled\":true}}",
  };
  g_autoptr (JsonObject) open = obj ("{\"statement\":{\"accepted\":true,\"version\":\"1.0\"},"
                                     "\"usage\":{\"enabled\":true}}");

  for (gsize i = 0; i < G_N_ELEMENTS (closed); i++)
    {
      g_autoptr (JsonObject) s = obj (closed[i]);
      g_assert_false (ksn_allowed (s));
    }
  g_assert_true (ksn_allowed (open));
}

static void
collect (VigilReport *report, VigilSeverity severity, const char *path,
         const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add ((GPtrArray *) report,
                   g_strdup_printf ("%s %s: %s", severity == VIGIL_SEVERITY_ERROR ? "error" : "warning",
                                    path, msg));
}

static GPtrArray *
validate (const char *json)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) values = obj (json);

  ksn_validate (values, (VigilReport *) problems, collect);
  return problems;
}

static void
assert_only (const char *json, const char *expected)
{
  g_autoptr (GPtrArray) problems = validate (json);

  if (expected == NULL && problems->len == 0)
    return;
  if (expected == NULL || problems->len != 1 || !g_str_has_prefix (problems->pdata[0], expected))
    g_error ("%s: expected only '%s', got %u problems, first '%s'", json,
             expected ? expected : "(none)", problems->len,
             problems->len ? (char *) problems->pdata[0] : "");
}

static void
test_validate_rules (void)
{
  const char *ok = "{\"statement\":{\"accepted\":true,\"version\":\"1.0\"},"
                   "\"usage\":{\"enabled\":true},\"service\":{\"endpoint\":\"https://ksn.example.com/v1\"}}";

  assert_only (ok, NULL);
  assert_only ("{}", NULL);
  assert_only ("{\"usage\":{\"enabled\":true},\"service\":{\"endpoint\":\"https://k.example/\"}}",
               "error usage.enabled: KSN usage cannot be enabled unless the KSN Statement is accepted");
  assert_only ("{\"statement\":{\"accepted\":true}}", "error statement.version:");
  assert_only ("{\"statement\":{\"accepted\":true,\"version\":\"0.9\"}}",
               "warning statement.version: version 0.9 was accepted");
  assert_only ("{\"statement\":{\"accepted\":true,\"version\":\"1.0\"},\"usage\":{\"enabled\":true}}",
               "error service.endpoint: required");
  assert_only ("{\"service\":{\"endpoint\":\"http://plain.example/\"}}",
               "error service.endpoint: 'http://plain.example/' is not an https:// URL");
  assert_only ("{\"service\":{\"endpoint\":\"https://bad host/\"}}",
               "error service.endpoint: 'https://bad host/' is not a valid URL");
  assert_only ("{\"service\":{\"endpoint\":\"https:///no-host\"}}",
               "error service.endpoint: 'https:///no-host' is not a valid URL");
  assert_only ("{\"usage\":{\"use_console_proxy\":true}}",
               "error service.console_proxy_address: required");
}

static void
test_hash_valid (void)
{
  g_assert_true (ksn_hash_valid ("sha256", SHA_MAL));
  g_assert_true (ksn_hash_valid ("md5", MD5_MAL));
  g_assert_false (ksn_hash_valid ("md5", SHA_MAL));
  g_assert_false (ksn_hash_valid ("sha256", "zz"));
  g_assert_false (ksn_hash_valid ("sha1", "00"));
  g_assert_false (ksn_hash_valid ("sha256", NULL));
}

/* ------------------------------------------------------------------ */
/* HTTPS                                                               */
/* ------------------------------------------------------------------ */

static KsnLookup
lookup_for (KtServer *server, const char *ca, char **url_out)
{
  KsnLookup lookup = { NULL };

  *url_out = g_strdup_printf ("https://127.0.0.1:%u/api/v1/reputation", kt_server_port (server));
  lookup.https.url = *url_out;
  lookup.https.ca_file = ca;
  lookup.https.timeout_s = 10;
  return lookup;
}

static void
test_lookup_verdicts (Certs *c, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);
  g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_MAL, "sha256", SHA_CLEAN,
                                            "sha256", SHA_NONE, "md5", MD5_MAL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;

  ksn_lookup (&lookup, hashes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nth (hashes, 0)->verdict, ==, "malicious");
  g_assert_cmpstr (nth (hashes, 0)->threat, ==, "HEUR:Trojan.Test.Generic");
  g_assert_cmpstr (nth (hashes, 1)->verdict, ==, "clean");
  g_assert_null (nth (hashes, 1)->threat);
  g_assert_cmpstr (nth (hashes, 2)->verdict, ==, "unknown");
  g_assert_cmpstr (nth (hashes, 3)->verdict, ==, "malicious");
  g_assert_cmpuint (kt_server_requests (server), ==, 1);
  /* Only hashes leave the device. */
  body = kt_server_last_body (server);
  g_assert_cmpstr (body, ==, "{\"protocol\":1,\"hashes\":[{\"type\":\"sha256\",\"value\":\"" SHA_MAL "\"},"
                   "{\"type\":\"sha256\",\"value\":\"" SHA_CLEAN "\"},{\"type\":\"sha256\",\"value\":\""
                   SHA_NONE "\"},{\"type\":\"md5\",\"value\":\"" MD5_MAL "\"}]}");
}

static void
test_lookup_chunked_reply (Certs *c, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_CHUNKED);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);
  g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_MAL, NULL);
  g_autoptr (GError) error = NULL;

  ksn_lookup (&lookup, hashes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nth (hashes, 0)->verdict, ==, "malicious");
}

static void
assert_lookup_fails (Certs *c, KtReply reply, const char *ca, const char *expected)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, reply);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, ca, &url);
  g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_MAL, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (ksn_lookup (&lookup, hashes, &error));
  g_assert_nonnull (error);
  if (!strstr (error->message, expected))
    g_error ("expected '%s' in '%s'", expected, error->message);
}

static void
test_untrusted_certificate (Certs *c, gconstpointer data)
{
  g_autofree char *other_cert = g_build_filename (c->dir, "other.pem", NULL);
  g_autofree char *other_key = g_build_filename (c->dir, "other.key", NULL);

  kt_make_cert (other_cert, other_key, "IP:127.0.0.1");
  assert_lookup_fails (c, KT_REPLY_VERDICTS, other_cert, "is not trusted");
}

static void
test_wrong_host_name (Certs *c, gconstpointer data)
{
  /* The fixture's certificate names only other.example. */
  assert_lookup_fails (c, KT_REPLY_VERDICTS, c->cert, "is not trusted");
}

static void
test_garbage_reply (Certs *c, gconstpointer data)
{
  assert_lookup_fails (c, KT_REPLY_GARBAGE, c->cert, "reputation reply: not a JSON document");
}

static void
test_bad_verdict_reply (Certs *c, gconstpointer data)
{
  assert_lookup_fails (c, KT_REPLY_BAD_VERDICT, c->cert, "$.results[0].verdict 'evil'");
}

static void
test_http_error_reply (Certs *c, gconstpointer data)
{
  assert_lookup_fails (c, KT_REPLY_ERROR, c->cert, "replied with HTTP status 503");
}

/* Replies the old hand-written client took: each refused now, saying what
 * was wrong, and no verdict taken from them. */
static void
test_malformed_http_refused (Certs *c, gconstpointer data)
{
  static const struct { const char *raw, *says; } bad[] = {
    { "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{\"results\":[]}", "Content-Length" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 3abc\r\n\r\n{\"results\":[]}", "Content-Length" },
    { "HTTP/1.1 200abc\r\nContent-Length: 14\r\n\r\n{\"results\":[]}", "status line" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"results\":[]}", "truncated" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 14\r\nContent-Length: 2\r\n\r\n{\"results\":[]}",
      "a second, different Content-Length" },
  };
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_MAL, NULL);
      g_autoptr (GError) error = NULL;

      vt_tls_server_script (kt_server_tls (server), bad[i].raw, -1, VT_ACTION_CLOSE);
      g_assert_false (ksn_lookup (&lookup, hashes, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      if (strstr (error->message, "malformed HTTP reply") == NULL ||
          strstr (error->message, bad[i].says) == NULL)
        g_error ("%s: expected '%s' in '%s'", bad[i].raw, bad[i].says, error->message);
      g_assert_null (nth (hashes, 0)->verdict);
    }
  g_assert_cmpuint (kt_server_requests (server), ==, G_N_ELEMENTS (bad));
}

static void
test_through_connect_proxy (Certs *c, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  g_autoptr (VtProxy) proxy = vt_proxy_start (NULL);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);
  g_autofree char *proxy_uri = g_strdup_printf ("http://ksn%%40corp:pa%%3Ass@127.0.0.1:%u",
                                                vt_proxy_port (proxy));
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", kt_server_port (server));
  g_autofree char *seen = NULL, *auth = NULL;
  g_autofree char *b64 = g_base64_encode ((const guchar *) "ksn@corp:pa:ss", 14);
  g_autofree char *expected_auth = g_strconcat ("Basic ", b64, NULL);
  g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_CLEAN, NULL);
  g_autoptr (GError) error = NULL;

  lookup.https.proxy_uri = proxy_uri;
  ksn_lookup (&lookup, hashes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nth (hashes, 0)->verdict, ==, "clean");
  g_assert_cmpuint (vt_proxy_accepted (proxy), ==, 1);
  seen = vt_proxy_last_target (proxy);
  auth = vt_proxy_last_auth (proxy);
  g_assert_cmpstr (seen, ==, target);
  g_assert_cmpstr (auth, ==, expected_auth);
}

static void
test_proxy_refusal_hides_credentials (Certs *c, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  /* A TLS server is no proxy: it drops the CONNECT. */
  g_autoptr (KtServer) not_proxy = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);
  g_autofree char *proxy_uri = g_strdup_printf ("http://bob:Sup3rSecret@127.0.0.1:%u",
                                                kt_server_port (not_proxy));
  g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_CLEAN, NULL);
  g_autoptr (GError) error = NULL;

  lookup.https.proxy_uri = proxy_uri;
  lookup.https.timeout_s = 2;
  g_assert_false (ksn_lookup (&lookup, hashes, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
  g_assert_null (strstr (error->message, "Sup3rSecret"));
  g_assert_cmpuint (kt_server_connections (server), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Cache                                                               */
/* ------------------------------------------------------------------ */

typedef struct {
  GHashTable *docs;
  gint64      now;
} FakeStore;

static JsonNode *
fake_get (gpointer data, const char *key)
{
  JsonNode *doc = g_hash_table_lookup (((FakeStore *) data)->docs, key);

  return doc ? json_node_copy (doc) : NULL;
}

static void
fake_put (gpointer data, const char *key, JsonNode *doc)
{
  g_hash_table_insert (((FakeStore *) data)->docs, g_strdup (key), json_node_copy (doc));
}

static gint64
fake_now (gpointer data)
{
  return ((FakeStore *) data)->now;
}

static JsonObject *
fake_list (gpointer data)
{
  JsonObject *all = json_object_new ();
  GHashTableIter iter;
  gpointer key, doc;

  g_hash_table_iter_init (&iter, ((FakeStore *) data)->docs);
  while (g_hash_table_iter_next (&iter, &key, &doc))
    json_object_set_member (all, key, json_node_copy (doc));
  return all;
}

static void
fake_remove (gpointer data, const char *key)
{
  g_hash_table_remove (((FakeStore *) data)->docs, key);
}

static void
lookup_once (KsnLookup *lookup, gboolean expect_cached)
{
  g_autoptr (GPtrArray) hashes = hashes_of ("sha256", SHA_MAL, NULL);
  g_autoptr (GError) error = NULL;

  ksn_lookup (lookup, hashes, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nth (hashes, 0)->verdict, ==, "malicious");
  g_assert_cmpstr (nth (hashes, 0)->threat, ==, "HEUR:Trojan.Test.Generic");
  g_assert_cmpint (nth (hashes, 0)->cached, ==, expect_cached);
}

static void
test_cache_ttl (Certs *c, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);
  FakeStore store = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) json_node_unref),
                      (gint64) 1000 * G_USEC_PER_SEC };
  KsnCache cache = { fake_get, fake_put, fake_now, &store, (gint64) 60 * 60 * G_USEC_PER_SEC,
                     fake_list, fake_remove };

  lookup.cache = &cache;
  lookup_once (&lookup, FALSE);
  g_assert_cmpuint (kt_server_connections (server), ==, 1);
  store.now += (gint64) 59 * 60 * G_USEC_PER_SEC;
  lookup_once (&lookup, TRUE);
  g_assert_cmpuint (kt_server_connections (server), ==, 1);
  store.now += (gint64) 60 * G_USEC_PER_SEC;
  lookup_once (&lookup, FALSE);
  g_assert_cmpuint (kt_server_connections (server), ==, 2);
  g_hash_table_unref (store.docs);
}

static void
test_cache_prune (void)
{
  FakeStore store = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) json_node_unref),
                      (gint64) 1000 * G_USEC_PER_SEC };
  KsnCache cache = { fake_get, fake_put, fake_now, &store, (gint64) 60 * G_USEC_PER_SEC,
                     fake_list, fake_remove };
  g_autoptr (JsonNode) old = json_from_string ("{\"verdict\":\"clean\",\"fetched_us\":900000000}", NULL);
  g_autoptr (JsonNode) fresh = json_from_string ("{\"verdict\":\"clean\",\"fetched_us\":990000000}", NULL);

  fake_put (&store, "sha256:old", old);
  fake_put (&store, "sha256:fresh", fresh);
  g_assert_cmpuint (ksn_cache_prune (&cache), ==, 1);
  g_assert_false (g_hash_table_contains (store.docs, "sha256:old"));
  g_assert_true (g_hash_table_contains (store.docs, "sha256:fresh"));
  /* With caching off, nothing is kept. */
  cache.ttl_us = 0;
  g_assert_cmpuint (ksn_cache_prune (&cache), ==, 1);
  g_assert_cmpuint (g_hash_table_size (store.docs), ==, 0);
  g_hash_table_unref (store.docs);
}

static void
test_cache_off (Certs *c, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (c->cert, c->key, KT_REPLY_VERDICTS);
  g_autofree char *url = NULL;
  KsnLookup lookup = lookup_for (server, c->cert, &url);
  FakeStore store = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) json_node_unref), 0 };
  KsnCache cache = { fake_get, fake_put, fake_now, &store, 0, fake_list, fake_remove };

  lookup.cache = &cache;
  lookup_once (&lookup, FALSE);
  lookup_once (&lookup, FALSE);
  g_assert_cmpuint (kt_server_connections (server), ==, 2);
  g_assert_cmpuint (g_hash_table_size (store.docs), ==, 0);
  g_hash_table_unref (store.docs);
}

/* A reply json-glib would misread (issue #14): a second "verdict" for the
 * hash would silently win, "\u0000" would cut a value short. Refused. */
static void
test_reply_strict (void)
{
  static const char *const cases[][2] = {
    { "{\"results\":[{\"type\":\"sha256\",\"value\":\"" SHA_MAL "\",\"verdict\":\"clean\","
      "\"verdict\":\"malicious\"}]}", "duplicate key \"verdict\" (at $.results[0])" },
    { "{\"results\":[{\"type\":\"sha256\",\"value\":\"" SHA_MAL "\\u0000x\",\"verdict\":\"clean\"}]}",
      "\\u0000 (NUL) in a string (at $.results[0].value)" },
    { "{\"protocol\":010,\"results\":[]}", "non-standard number '010'" },
    { "{\"protocol\":18446744073709551616,\"results\":[]}", "outside the 64-bit range" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) hashes = g_ptr_array_new_with_free_func ((GDestroyNotify) ksn_verdict_free);
      g_autoptr (GBytes) body = g_bytes_new_static (cases[i][0], strlen (cases[i][0]));
      g_autoptr (GError) error = NULL;
      KsnVerdict *v = g_new0 (KsnVerdict, 1);

      v->type = g_strdup ("sha256");
      v->value = g_strdup (SHA_MAL);
      g_ptr_array_add (hashes, v);
      g_assert_false (ksn_parse_reply (body, hashes, &error));
      g_test_message ("%s", error->message);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, cases[i][1]));
      g_assert_null (v->verdict);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ksn/gate", test_gate);
  g_test_add_func ("/ksn/validate-rules", test_validate_rules);
  g_test_add_func ("/ksn/hash-valid", test_hash_valid);
  g_test_add_func ("/ksn/reply-strict-json", test_reply_strict);
#define ADD(path, fn, san) g_test_add (path, Certs, san, certs_setup, fn, certs_teardown)
  ADD ("/ksn/lookup-verdicts", test_lookup_verdicts, NULL);
  ADD ("/ksn/lookup-chunked-reply", test_lookup_chunked_reply, NULL);
  ADD ("/ksn/untrusted-certificate", test_untrusted_certificate, NULL);
  ADD ("/ksn/wrong-host-name", test_wrong_host_name, "DNS:other.example");
  ADD ("/ksn/garbage-reply", test_garbage_reply, NULL);
  ADD ("/ksn/bad-verdict-reply", test_bad_verdict_reply, NULL);
  ADD ("/ksn/http-error-reply", test_http_error_reply, NULL);
  ADD ("/ksn/malformed-http-refused", test_malformed_http_refused, NULL);
  ADD ("/ksn/through-connect-proxy", test_through_connect_proxy, NULL);
  ADD ("/ksn/proxy-refusal-hides-credentials", test_proxy_refusal_hides_credentials, NULL);
  ADD ("/ksn/cache-ttl", test_cache_ttl, NULL);
  ADD ("/ksn/cache-off", test_cache_off, NULL);
#undef ADD
  g_test_add_func ("/ksn/cache-prune", test_cache_prune);
  return g_test_run ();
}
