/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates and the `kata` section's validation with OpenSSL: the pinned
 * PEM, the details shown to admins, PFX archives (right and wrong password,
 * a legacy RC2/3DES archive made with `openssl pkcs12 -export -legacy`, not
 * a PFX at all) and the problems reported for each field.
 */
#include "kata-engine.h"
#include "kata-test-server.h"

#include <string.h>

static VtCerts *certs;

static GBytes *
read_bytes (const char *path)
{
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

static void
test_pem_parses_and_describes (void)
{
  g_autofree char *pem = vt_read_text (certs->server_pem);
  g_autoptr (GError) error = NULL;
  X509 *cert = kata_cert_from_pem (pem, &error);
  g_autoptr (JsonObject) info = NULL;

  g_assert_no_error (error);
  info = kata_cert_info (cert);
  g_assert_cmpstr (json_object_get_string_member (info, "subject"), ==, "CN=kata-central-node");
  g_assert_cmpstr (json_object_get_string_member (info, "issuer"), ==, "CN=Test-CA");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (info, "not_after"), "Z"));
  g_assert_cmpuint (strlen (json_object_get_string_member (info, "sha256_fingerprint")), ==, 95);
  X509_free (cert);
}

static void
test_pem_garbage_rejected (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (kata_cert_from_pem ("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                     "-----END CERTIFICATE-----\n", &error));
  g_assert_error (error, KATA_ERROR, KATA_ERROR_INVALID);
}

static void
test_spki_differs_between_keys (void)
{
  g_autofree char *a = vt_read_text (certs->server_pem);
  g_autofree char *b = vt_read_text (certs->other_pem);
  X509 *ca = kata_cert_from_pem (a, NULL), *cb = kata_cert_from_pem (b, NULL);
  guint8 ha[32], hb[32], ha2[32];

  g_assert_true (kata_cert_spki_sha256 (ca, ha));
  g_assert_true (kata_cert_spki_sha256 (ca, ha2));
  g_assert_true (kata_cert_spki_sha256 (cb, hb));
  g_assert_cmpmem (ha, 32, ha2, 32);
  g_assert_true (memcmp (ha, hb, 32) != 0);
  X509_free (ca);
  X509_free (cb);
}

static void
test_pfx_right_password (void)
{
  g_autoptr (GBytes) der = read_bytes (certs->client_pfx);
  g_autoptr (GError) error = NULL;
  g_autoptr (KataClientCert) cc = kata_pfx_open (der, "s3cret", &error);

  g_assert_no_error (error);
  g_assert_nonnull (cc->cert);
  g_assert_nonnull (cc->key);
}

static void
test_pfx_wrong_password (void)
{
  g_autoptr (GBytes) der = read_bytes (certs->client_pfx);
  g_autoptr (GError) error = NULL;

  g_assert_null (kata_pfx_open (der, "wrong", &error));
  g_assert_error (error, KATA_ERROR, KATA_ERROR_BAD_PASSWORD);
}

static void
test_pfx_legacy_opens (void)
{
  g_autoptr (GBytes) der = read_bytes (certs->client_pfx_legacy);
  g_autoptr (GError) error = NULL;
  g_autoptr (KataClientCert) cc = kata_pfx_open (der, "s3cret", &error);

  g_assert_no_error (error);
  g_assert_nonnull (cc->key);
}

static void
test_pfx_legacy_wrong_password (void)
{
  g_autoptr (GBytes) der = read_bytes (certs->client_pfx_legacy);
  g_autoptr (GError) error = NULL;

  g_assert_null (kata_pfx_open (der, "nope", &error));
  g_assert_error (error, KATA_ERROR, KATA_ERROR_BAD_PASSWORD);
}

static void
test_pfx_unsupported_apart_from_password (void)
{
  g_autoptr (GBytes) der = read_bytes (certs->client_pfx_unsupported);
  g_autoptr (GError) error = NULL;

  g_assert_null (kata_pfx_open (der, "s3cret", &error));
  g_assert_error (error, KATA_ERROR, KATA_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "cannot be read"));
}

static void
test_pfx_not_an_archive (void)
{
  g_autoptr (GBytes) der = read_bytes (certs->server_pem);
  g_autoptr (GError) error = NULL;

  g_assert_null (kata_pfx_open (der, "s3cret", &error));
  g_assert_error (error, KATA_ERROR, KATA_ERROR_INVALID);
}

/* ---- validation ------------------------------------------------------ */

static JsonObject *
values_from (const char *json)
{
  g_autoptr (JsonNode) n = json_from_string (json, NULL);

  g_assert_nonnull (n);
  return json_object_ref (json_node_get_object (n));
}

static void
collect (const char *path, const char *message, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("%s: %s", path, message));
}

static GPtrArray *
validate (JsonObject *values)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);

  kata_settings_validate (values, collect, problems);
  return problems;
}

static gboolean
has_problem (GPtrArray *problems, const char *prefix)
{
  for (guint i = 0; i < problems->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (problems, i), prefix))
      return TRUE;
  return FALSE;
}

static void
test_validate_server_fields (void)
{
  g_autoptr (JsonObject) v = values_from (
      "{\"connection\":{\"enabled\":true,\"servers\":["
      "{\"address\":\"kata.example.com\",\"port\":443,\"prot\":1},"
      "{\"address\":\"10.0.0.2\",\"port\":70000},"
      "{\"address\":\"\",\"port\":443},"
      "\"not an object\"]}}");
  g_autoptr (GPtrArray) p = validate (v);

  g_assert_cmpuint (p->len, ==, 4);
  g_assert_true (has_problem (p, "connection.servers[0].prot: unknown key"));
  g_assert_true (has_problem (p, "connection.servers[1].port: "));
  g_assert_true (has_problem (p, "connection.servers[2].address: "));
  g_assert_true (has_problem (p, "connection.servers[3]: "));
}

static void
test_validate_enabled_without_servers (void)
{
  g_autoptr (JsonObject) v = values_from ("{\"connection\":{\"enabled\":true,\"servers\":[]}}");
  g_autoptr (GPtrArray) p = validate (v);

  g_assert_cmpuint (p->len, ==, 1);
  g_assert_true (has_problem (p, "connection.servers: "));
}

static void
test_validate_pinned_certificate (void)
{
  g_autofree char *pem = vt_read_text (certs->server_pem);
  g_autoptr (JsonObject) good = values_from ("{\"trusted_connection\":"
                                             "{\"use_pinned_certificate\":true}}");
  g_autoptr (JsonObject) bad = values_from ("{\"trusted_connection\":{\"use_pinned_certificate\":true,"
                                            "\"pinned_certificate\":\"hello\"}}");
  g_autoptr (GPtrArray) pg = NULL;
  g_autoptr (GPtrArray) pb = validate (bad);
  g_autoptr (GPtrArray) pm = NULL;

  json_object_set_string_member (json_object_get_object_member (good, "trusted_connection"),
                                 "pinned_certificate", pem);
  pg = validate (good);
  g_assert_cmpuint (pg->len, ==, 0);
  g_assert_true (has_problem (pb, "trusted_connection.pinned_certificate: not a PEM"));
  json_object_remove_member (json_object_get_object_member (bad, "trusted_connection"),
                             "pinned_certificate");
  pm = validate (bad);
  g_assert_true (has_problem (pm, "trusted_connection.pinned_certificate: pinning is on"));
}

static GPtrArray *
validate_pfx (const char *file, const char *password)
{
  g_autofree char *b64 = vt_read_b64 (file);
  g_autoptr (JsonObject) v = values_from ("{\"trusted_connection\":{\"use_client_certificate\":true}}");
  JsonObject *t = json_object_get_object_member (v, "trusted_connection");

  json_object_set_string_member (t, "client_pfx", b64);
  json_object_set_string_member (t, "client_pfx_password", password);
  return validate (v);
}

static void
test_validate_pfx_password (void)
{
  g_autoptr (GPtrArray) ok = validate_pfx (certs->client_pfx, "s3cret");
  g_autoptr (GPtrArray) legacy = validate_pfx (certs->client_pfx_legacy, "s3cret");
  g_autoptr (GPtrArray) wrong = validate_pfx (certs->client_pfx, "guess");
  g_autoptr (GPtrArray) garbage = validate_pfx (certs->server_pem, "s3cret");
  g_autoptr (GPtrArray) unsupported = validate_pfx (certs->client_pfx_unsupported, "s3cret");

  g_assert_cmpuint (ok->len, ==, 0);
  g_assert_cmpuint (legacy->len, ==, 0);
  g_assert_cmpuint (wrong->len, ==, 1);
  g_assert_true (has_problem (wrong, "trusted_connection.client_pfx_password: the PFX password is wrong"));
  g_assert_cmpuint (garbage->len, ==, 1);
  g_assert_true (has_problem (garbage, "trusted_connection.client_pfx: not a PFX"));
  g_assert_cmpuint (unsupported->len, ==, 1);
  g_assert_true (has_problem (unsupported, "trusted_connection.client_pfx: the PFX archive "
                                           "uses a format or algorithm that cannot be read"));
  /* The password never appears in a problem. */
  for (guint i = 0; i < wrong->len; i++)
    g_assert_null (strstr (g_ptr_array_index (wrong, i), "guess"));
}

static void
test_settings_defaults_and_reading (void)
{
  g_autoptr (KataSettings) d = kata_settings_new_default ();
  g_autoptr (JsonObject) v = values_from (
      "{\"connection\":{\"enabled\":true,\"servers\":[{\"address\":\"::1\",\"port\":8443}],"
      "\"sync_period_min\":7},\"data_submission\":{\"max_events_per_package\":10},"
      "\"throttling\":{\"excess_percent\":50}}");
  g_autoptr (KataSettings) s = kata_settings_from_json (v, NULL);
  const KataServer *srv;

  g_assert_false (d->enabled);
  g_assert_false (d->use_proxy);
  g_assert_cmpuint (d->timeout_sec, ==, 10);
  g_assert_cmpuint (d->sync_period_min, ==, 5);
  g_assert_false (d->use_ttl);
  g_assert_cmpuint (d->ttl_min, ==, 1440);
  g_assert_cmpuint (d->period_sec, ==, 30);
  g_assert_cmpuint (d->max_per_package, ==, 1024);
  g_assert_true (d->throttle_enabled);
  g_assert_cmpuint (d->max_per_hour, ==, 3000);
  g_assert_cmpuint (d->excess_percent, ==, 15);
  g_assert_true (s->enabled);
  g_assert_cmpuint (s->servers->len, ==, 1);
  srv = g_ptr_array_index (s->servers, 0);
  g_assert_cmpstr (srv->address, ==, "::1");
  g_assert_cmpuint (srv->port, ==, 8443);
  g_assert_cmpuint (s->sync_period_min, ==, 7);
  g_assert_cmpuint (s->max_per_package, ==, 10);
  g_assert_cmpuint (s->excess_percent, ==, 50);
  g_assert_cmpuint (s->timeout_sec, ==, 10);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  g_test_add_func ("/kata/cert/pem-parses-and-describes", test_pem_parses_and_describes);
  g_test_add_func ("/kata/cert/pem-garbage-rejected", test_pem_garbage_rejected);
  g_test_add_func ("/kata/cert/spki-differs-between-keys", test_spki_differs_between_keys);
  g_test_add_func ("/kata/pfx/right-password", test_pfx_right_password);
  g_test_add_func ("/kata/pfx/wrong-password", test_pfx_wrong_password);
  g_test_add_func ("/kata/pfx/legacy-opens", test_pfx_legacy_opens);
  g_test_add_func ("/kata/pfx/legacy-wrong-password", test_pfx_legacy_wrong_password);
  g_test_add_func ("/kata/pfx/unsupported-apart-from-password",
                   test_pfx_unsupported_apart_from_password);
  g_test_add_func ("/kata/pfx/not-an-archive", test_pfx_not_an_archive);
  g_test_add_func ("/kata/settings/server-fields", test_validate_server_fields);
  g_test_add_func ("/kata/settings/enabled-without-servers", test_validate_enabled_without_servers);
  g_test_add_func ("/kata/settings/pinned-certificate", test_validate_pinned_certificate);
  g_test_add_func ("/kata/settings/pfx-password", test_validate_pfx_password);
  g_test_add_func ("/kata/settings/defaults-and-reading", test_settings_defaults_and_reading);
  rc = g_test_run ();
  vt_certs_free (certs);
  kata_crypto_shutdown ();
  return rc;
}
