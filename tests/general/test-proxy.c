/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Proxy selection (host/settings/proxy.c): none, manual, from the
 * environment with no_proxy, bypass for local addresses; and the chosen
 * proxy URI really carries an HTTPS request of the plugins' client through
 * the project's loopback HTTP CONNECT proxy started by the test (with its
 * credentials) to its loopback TLS server, while a bypassed or no_proxy
 * destination is reached without it.
 */
#include "settings/general-private.h"

#include <string.h>

#include <vigil/util/https.h>

#include "vt-certs.h"
#include "vt-tls-server.h"

/* A fake environment for the "auto" mode. */
static GHashTable *fake_env;

static const char *
fake_getenv (const char *name)
{
  return fake_env ? g_hash_table_lookup (fake_env, name) : NULL;
}

static void
set_env (const char *name, const char *value)
{
  if (fake_env == NULL)
    fake_env = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (fake_env, g_strdup (name), g_strdup (value));
}

static void
clear_env (void)
{
  g_clear_pointer (&fake_env, g_hash_table_unref);
}

static JsonObject *
proxy_group (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static char *
select_for (const char *json, const char *url)
{
  g_autoptr (JsonObject) group = proxy_group (json);
  g_autoptr (GError) error = NULL;
  char *uri = vh_proxy_select (group, url, fake_getenv, &error);

  g_assert_no_error (error);
  return uri;
}

/* ------------------------------------------------------------------ */
/* Selection                                                           */
/* ------------------------------------------------------------------ */

static void
test_mode_none (void)
{
  set_env ("https_proxy", "http://envproxy:3128");
  g_assert_null (select_for ("{\"mode\":\"none\"}", "https://ksn.example.com/"));
  g_assert_null (select_for ("{}", "https://ksn.example.com/"));
  clear_env ();
}

static void
test_manual (void)
{
  g_autofree char *plain = select_for ("{\"mode\":\"manual\",\"address\":\"proxy.corp\",\"port\":8080}",
                                       "https://ksn.example.com/");
  g_autofree char *auth = select_for ("{\"mode\":\"manual\",\"address\":\"proxy.corp\",\"port\":3128,"
                                      "\"user\":\"bob\",\"password\":\"p@ss:w/rd\"}",
                                      "https://ksn.example.com/");
  g_autofree char *v6 = select_for ("{\"mode\":\"manual\",\"address\":\"fd00::1\",\"port\":8080}",
                                    "https://ksn.example.com/");

  g_assert_cmpstr (plain, ==, "http://proxy.corp:8080");
  /* Reserved characters of the credentials are escaped. */
  g_assert_cmpstr (auth, ==, "http://bob:p%40ss%3Aw%2Frd@proxy.corp:3128");
  g_assert_cmpstr (v6, ==, "http://[fd00::1]:8080");
}

static void
test_manual_default_port (void)
{
  g_autofree char *uri = select_for ("{\"mode\":\"manual\",\"address\":\"proxy.corp\"}",
                                     "https://ksn.example.com/");

  g_assert_cmpstr (uri, ==, "http://proxy.corp:8080");
}

static void
test_manual_without_address (void)
{
  g_autoptr (JsonObject) group = proxy_group ("{\"mode\":\"manual\"}");
  g_autoptr (GError) error = NULL;

  g_assert_null (vh_proxy_select (group, "https://a.example.com/", fake_getenv, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "general.proxy.address"));
}

static void
test_env_by_scheme (void)
{
  g_autofree char *https = NULL, *http = NULL, *upper = NULL;

  set_env ("https_proxy", "http://secure-proxy:3128");
  set_env ("http_proxy", "plain-proxy:8000");
  https = select_for ("{\"mode\":\"auto\"}", "https://ksn.example.com/x");
  http = select_for ("{\"mode\":\"auto\"}", "http://ksn.example.com/x");
  g_assert_cmpstr (https, ==, "http://secure-proxy:3128");
  /* No scheme means http, as curl reads it. */
  g_assert_cmpstr (http, ==, "http://plain-proxy:8000");
  clear_env ();

  set_env ("HTTPS_PROXY", "http://upper:1");
  upper = select_for ("{\"mode\":\"auto\"}", "https://ksn.example.com/");
  g_assert_cmpstr (upper, ==, "http://upper:1");
  clear_env ();
}

static void
test_env_no_proxy (void)
{
  const char *direct[] = { "https://ksn.example.com/", "https://a.b.corp.lan/",
                           "https://corp.lan/", "https://10.1.2.3/", "https://skip.me:8443/" };
  const char *proxied[] = { "https://example.com.evil/", "https://notcorp.lan/",
                            "https://11.0.0.1/" };

  set_env ("https_proxy", "http://p:3128");
  set_env ("no_proxy", "example.com, .corp.lan,10.0.0.0/8 skip.me:8443");
  for (gsize i = 0; i < G_N_ELEMENTS (direct); i++)
    {
      g_autofree char *uri = select_for ("{\"mode\":\"auto\"}", direct[i]);
      g_assert_null (uri);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (proxied); i++)
    {
      g_autofree char *uri = select_for ("{\"mode\":\"auto\"}", proxied[i]);
      g_assert_cmpstr (uri, ==, "http://p:3128");
    }
  clear_env ();
  set_env ("https_proxy", "http://p:3128");
  set_env ("NO_PROXY", "*");
  g_assert_null (select_for ("{\"mode\":\"auto\"}", "https://anything.example/"));
  clear_env ();
}

static void
test_env_unsupported_scheme (void)
{
  g_autoptr (JsonObject) group = proxy_group ("{\"mode\":\"auto\"}");
  g_autoptr (GError) error = NULL;

  set_env ("https_proxy", "socks5://p:1080");
  g_assert_null (vh_proxy_select (group, "https://a.example.com/", fake_getenv, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  clear_env ();
}

static void
test_bypass_local (void)
{
  const char *local[] = { "https://127.0.0.1:8443/", "https://[::1]/", "https://localhost/",
                          "https://fileserver/", "https://10.0.0.5/", "https://172.16.3.4/",
                          "https://192.168.1.1/", "https://169.254.10.10/", "https://[fe80::1]/",
                          "https://[fd12:3456::1]/", "https://db.localhost/" };
  const char *remote[] = { "https://8.8.8.8/", "https://ksn.example.com/",
                           "https://172.32.0.1/", "https://[2001:db8::1]/" };
  const char *json = "{\"mode\":\"manual\",\"address\":\"proxy.corp\",\"bypass_local\":true}";

  for (gsize i = 0; i < G_N_ELEMENTS (local); i++)
    {
      g_autofree char *uri = select_for (json, local[i]);

      if (uri)
        g_error ("%s was not bypassed", local[i]);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (remote); i++)
    {
      g_autofree char *uri = select_for (json, remote[i]);
      g_assert_cmpstr (uri, ==, "http://proxy.corp:8080");
    }
}

static void
test_no_bypass_by_default (void)
{
  g_autofree char *uri = select_for ("{\"mode\":\"manual\",\"address\":\"proxy.corp\"}",
                                     "https://127.0.0.1/");

  g_assert_cmpstr (uri, ==, "http://proxy.corp:8080");
}

/* ------------------------------------------------------------------ */
/* Through a real CONNECT proxy                                        */
/* ------------------------------------------------------------------ */

/* The shared loopback TLS server (plugin-api/util/tests) answering "pong"
 * to every request, with its certificates. */
typedef struct {
  VtCerts     *certs;
  VtTlsServer *server;
} Target;

static VtAction
pong (const VtRequest *request, GString *reply, gpointer user_data)
{
  vt_http_reply (reply, 200, NULL, "pong");
  return VT_ACTION_KEEP;
}

static void
target_start (Target *t)
{
  VtTlsServerOptions options = { 0 };

  t->certs = vt_certs_new ();
  options.cert_pem = t->certs->server_pem;
  options.key_pem = t->certs->server_key;
  options.handler = pong;
  t->server = vt_tls_server_start (&options);
}

static void
target_stop (Target *t)
{
  g_clear_pointer (&t->server, vt_tls_server_stop);
  g_clear_pointer (&t->certs, vt_certs_free);
}

static char *
target_url (Target *t)
{
  return g_strdup_printf ("https://127.0.0.1:%u/ping", vt_tls_server_port (t->server));
}

/* Requests @url with the HTTPS client the plugins use (the helper
 * library's, on libcurl), through @proxy_uri when not NULL, and checks
 * that the target's answer comes back. */
static void
round_trip (Target *t, const char *proxy_uri, const char *url)
{
  VigilHttpsOptions options = { .proxy_uri = proxy_uri, .ca_file = t->certs->ca_pem };
  g_autoptr (VigilHttpsClient) client = NULL;
  g_auto (VigilHttpsReply) reply = { 0 };
  g_autoptr (GError) error = NULL;

  client = vigil_https_client_new (&options, &error);
  g_assert_no_error (error);
  g_assert_true (vigil_https_request (client, "GET", url, NULL, NULL, 0, &reply, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (reply.status, ==, 200);
  g_assert_cmpstr (g_bytes_get_data (reply.body, NULL), ==, "pong");
}

static void
test_manual_through_connect_proxy (void)
{
  Target t;
  /* The proxy opens a tunnel only with these credentials. */
  g_autoptr (VtProxy) proxy = vt_proxy_start ("bob:s3cret");
  g_autofree char *json = g_strdup_printf ("{\"mode\":\"manual\",\"address\":\"127.0.0.1\","
                                           "\"port\":%u,\"user\":\"bob\",\"password\":\"s3cret\"}",
                                           vt_proxy_port (proxy));
  g_autofree char *url = NULL, *uri = NULL, *expected_target = NULL;
  g_autofree char *target_seen = NULL, *auth = NULL;
  g_autofree char *basic = g_base64_encode ((const guchar *) "bob:s3cret", 10);
  g_autofree char *expected_auth = g_strconcat ("Basic ", basic, NULL);

  target_start (&t);
  url = target_url (&t);
  uri = select_for (json, url);
  expected_target = g_strdup_printf ("127.0.0.1:%u", vt_tls_server_port (t.server));
  round_trip (&t, uri, url);
  g_assert_cmpuint (vt_proxy_tunnels (proxy), ==, 1);
  g_assert_cmpuint (vt_proxy_refused (proxy), ==, 0);
  target_seen = vt_proxy_last_target (proxy);
  auth = vt_proxy_last_auth (proxy);
  g_assert_cmpstr (target_seen, ==, expected_target);
  g_assert_cmpstr (auth, ==, expected_auth);
  target_stop (&t);
}

static void
test_env_through_connect_proxy (void)
{
  Target t;
  g_autoptr (VtProxy) proxy = vt_proxy_start (NULL);
  g_autofree char *env_proxy = g_strdup_printf ("http://127.0.0.1:%u", vt_proxy_port (proxy));
  g_autofree char *url = NULL, *uri = NULL, *none = NULL;

  target_start (&t);
  url = target_url (&t);
  set_env ("https_proxy", env_proxy);
  uri = select_for ("{\"mode\":\"auto\"}", url);
  g_assert_cmpstr (uri, ==, env_proxy);
  round_trip (&t, uri, url);
  g_assert_cmpuint (vt_proxy_accepted (proxy), ==, 1);

  /* Listed in no_proxy: direct, the proxy sees nothing more. */
  set_env ("no_proxy", "127.0.0.1");
  none = select_for ("{\"mode\":\"auto\"}", url);
  g_assert_null (none);
  round_trip (&t, none, url);
  g_assert_cmpuint (vt_proxy_accepted (proxy), ==, 1);
  g_assert_cmpuint (vt_tls_server_accepted (t.server), ==, 2);
  clear_env ();
  target_stop (&t);
}

static void
test_bypass_skips_connect_proxy (void)
{
  Target t;
  g_autoptr (VtProxy) proxy = vt_proxy_start (NULL);
  g_autofree char *json = g_strdup_printf ("{\"mode\":\"manual\",\"address\":\"127.0.0.1\","
                                           "\"port\":%u,\"bypass_local\":true}",
                                           vt_proxy_port (proxy));
  g_autofree char *url = NULL, *uri = NULL;

  target_start (&t);
  url = target_url (&t);
  uri = select_for (json, url);
  g_assert_null (uri);
  round_trip (&t, uri, url);
  g_assert_cmpuint (vt_proxy_accepted (proxy), ==, 0);
  g_assert_cmpuint (vt_tls_server_accepted (t.server), ==, 1);
  target_stop (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/proxy/mode-none", test_mode_none);
  g_test_add_func ("/proxy/manual", test_manual);
  g_test_add_func ("/proxy/manual-default-port", test_manual_default_port);
  g_test_add_func ("/proxy/manual-without-address", test_manual_without_address);
  g_test_add_func ("/proxy/env-by-scheme", test_env_by_scheme);
  g_test_add_func ("/proxy/env-no-proxy", test_env_no_proxy);
  g_test_add_func ("/proxy/env-unsupported-scheme", test_env_unsupported_scheme);
  g_test_add_func ("/proxy/bypass-local", test_bypass_local);
  g_test_add_func ("/proxy/no-bypass-by-default", test_no_bypass_by_default);
  g_test_add_func ("/proxy/manual-through-connect-proxy", test_manual_through_connect_proxy);
  g_test_add_func ("/proxy/env-through-connect-proxy", test_env_through_connect_proxy);
  g_test_add_func ("/proxy/bypass-skips-connect-proxy", test_bypass_skips_connect_proxy);
  return g_test_run ();
}
