/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The deployment PKI: a CA we create and one an admin brings (made with
 * the openssl tool, as an admin would), the broker's certificate and its
 * names, devices' certificates from their requests and the requests
 * refused, and the checks an admin's own certificates go through.
 */
#include "fleet-common.h"
#include "fleet-pki.h"
#include "vt-cli.h"

#include <string.h>

#include <glib/gstdio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define ENROLLMENT "0123456789abcdef0123456789abcdef"

typedef struct {
  char *dir;
  char *ca_crt, *ca_key;
} Fixture;

static char *
path_in (Fixture *fx, const char *name)
{
  return g_build_filename (fx->dir, name, NULL);
}

static void
setup (Fixture *fx, gconstpointer data)
{
  fx->dir = g_dir_make_tmp ("vigil-fleet-pki-XXXXXX", NULL);
  g_assert_nonnull (fx->dir);
  fx->ca_crt = path_in (fx, "ca.crt");
  fx->ca_key = path_in (fx, "ca.key");
}

static void
teardown (Fixture *fx, gconstpointer data)
{
  vt_rm_rf (fx->dir);
  g_free (fx->dir);
  g_free (fx->ca_crt);
  g_free (fx->ca_key);
}

static void
assert_mode_0600 (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
}

static VigilFleetCa *
new_ca (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  VigilFleetCa *ca = vigil_fleet_ca_create ("test", fx->ca_crt, fx->ca_key,
                                            &error);
  g_assert_no_error (error);
  g_assert_nonnull (ca);
  return ca;
}

/* Runs the openssl tool; asserts it succeeds. */
static void
run_openssl (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = -1;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (char *) "openssl");
  for (gsize i = 0; argv[i]; i++)
    g_ptr_array_add (args, (char *) argv[i]);
  g_ptr_array_add (args, NULL);
  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_SEARCH_PATH |
                G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status,
                &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("openssl %s failed: %s", argv[0], err);
}

/* ---- device ids --------------------------------------------------- */

static void
test_device_id_rules (void)
{
  const char *good[] = { "a", "dev-1", "web_01", "0abc", NULL };
  const char *bad[] = { "", "-a", "Dev", "a.b", "a*", "a>", "a b",
                        "vigil console", NULL };
  g_autofree char *long_id = g_strnfill (VIGIL_FLEET_DEVICE_ID_MAX + 1, 'a');

  for (gsize i = 0; good[i]; i++)
    g_assert_true (vigil_fleet_device_id_check (good[i], NULL));
  for (gsize i = 0; bad[i]; i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (vigil_fleet_device_id_check (bad[i], &error));
    g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  }
  g_assert_false (vigil_fleet_device_id_check (long_id, NULL));
  g_assert_false (vigil_fleet_device_id_check (NULL, NULL));
}

/* ---- our CA -------------------------------------------------------- */

static void
test_ca_files_private (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilFleetCa) again = NULL;

  vigil_fleet_ca_free (new_ca (fx));
  assert_mode_0600 (fx->ca_crt);
  assert_mode_0600 (fx->ca_key);
  again = vigil_fleet_ca_load (fx->ca_crt, fx->ca_key, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
}

static void
test_server_names (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = path_in (fx, "server.crt");
  g_autofree char *key = path_in (fx, "server.key");
  const char *names[] = { "127.0.0.1", "localhost", g_get_host_name (), NULL };

  g_assert_true (vigil_fleet_ca_issue_server (ca, names, crt, key, &error));
  g_assert_no_error (error);
  assert_mode_0600 (crt);
  assert_mode_0600 (key);
  for (gsize i = 0; names[i]; i++) {
    g_assert_true (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                          VIGIL_FLEET_CERT_SERVER, names[i],
                                          &error));
    g_assert_no_error (error);
  }
  g_assert_false (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                         VIGIL_FLEET_CERT_SERVER, "10.9.8.7",
                                         &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "10.9.8.7"));
  g_clear_error (&error);
  /* A server certificate is no client certificate. */
  g_assert_false (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                         VIGIL_FLEET_CERT_CLIENT, NULL, &error));
  g_assert_nonnull (strstr (error->message, "client"));
}

static void
test_server_name_injection_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = path_in (fx, "server.crt");
  g_autofree char *key = path_in (fx, "server.key");
  const char *names[] = { "localhost,DNS:evil.example", NULL };

  g_assert_false (vigil_fleet_ca_issue_server (ca, names, crt, key, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_false (g_file_test (crt, G_FILE_TEST_EXISTS));
}

/* ---- devices' certificates ------------------------------------------ */

/* The identity URIs in @cert_pem's subject alternative name, joined by ' '. */
static char *
cert_uris (const char *cert_pem)
{
  BIO *bio = BIO_new_mem_buf (cert_pem, -1);
  X509 *cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  GENERAL_NAMES *names = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, NULL);
  GString *out = g_string_new (NULL);

  for (int i = 0; names && i < sk_GENERAL_NAME_num (names); i++) {
    GENERAL_NAME *n = sk_GENERAL_NAME_value (names, i);
    if (n->type == GEN_URI)
      g_string_append_printf (out, "%s%.*s", out->len ? " " : "",
                              ASN1_STRING_length (n->d.uniformResourceIdentifier),
                              ASN1_STRING_get0_data (n->d.uniformResourceIdentifier));
  }
  GENERAL_NAMES_free (names);
  X509_free (cert);
  BIO_free (bio);
  return g_string_free (out, FALSE);
}

static void
test_enrollment_ids (void)
{
  g_autofree char *one = vigil_fleet_enrollment_new ();
  g_autofree char *two = vigil_fleet_enrollment_new ();

  g_assert_true (vigil_fleet_enrollment_check (one, NULL));
  g_assert_cmpstr (one, !=, two);
  g_assert_false (vigil_fleet_enrollment_check ("0123", NULL));
  g_assert_false (vigil_fleet_enrollment_check ("0123456789ABCDEF0123456789abcdef", NULL));
}

static void
test_device_certificate_from_request (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *key = path_in (fx, "dev-a.key");
  g_autofree char *crt = path_in (fx, "dev-a.crt");
  g_autofree char *csr = vigil_fleet_device_request_new ("dev-a", key, &error);
  g_autofree char *cert = NULL;

  g_assert_no_error (error);
  assert_mode_0600 (key);
  /* What travels to the console is a request, never a key. */
  g_assert_true (g_str_has_prefix (csr, "-----BEGIN CERTIFICATE REQUEST-----"));
  g_assert_null (strstr (csr, "PRIVATE KEY"));
  g_autofree char *uris = NULL;

  cert = vigil_fleet_ca_sign_device (ca, "dev-a", ENROLLMENT, csr, -1, &error);
  g_assert_no_error (error);
  /* The broker's user name for this enrollment, and nothing else. */
  uris = cert_uris (cert);
  g_assert_cmpstr (uris, ==, "urn:vigil:device:dev-a:" ENROLLMENT);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, &error));
  g_assert_true (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                        VIGIL_FLEET_CERT_CLIENT, "dev-a",
                                        &error));
  g_assert_no_error (error);
  g_assert_false (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                         VIGIL_FLEET_CERT_CLIENT, "dev-b",
                                         &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
}

/* An enrollment file's certificate: its own identity, and short-lived. */
static void
test_bootstrap_certificate (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *cert_pem = NULL, *key_pem = NULL, *uris = NULL;
  BIO *bio;
  X509 *cert;
  int days = -1, secs = -1;

  g_assert_true (vigil_fleet_ca_issue_bootstrap (ca, ENROLLMENT, 24, &cert_pem,
                                                 &key_pem, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (key_pem, "-----BEGIN PRIVATE KEY-----"));
  uris = cert_uris (cert_pem);
  g_assert_cmpstr (uris, ==, "urn:vigil:enroll:" ENROLLMENT);
  bio = BIO_new_mem_buf (cert_pem, -1);
  cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  /* From a week back (clock skew) to 24 hours ahead. */
  g_assert_true (ASN1_TIME_diff (&days, &secs, X509_get0_notBefore (cert),
                                 X509_get0_notAfter (cert)));
  g_assert_cmpint (days * 86400 + secs, ==, VIGIL_FLEET_BACKDATE_DAYS * 86400 + 24 * 3600);
  X509_free (cert);
  BIO_free (bio);
  g_assert_false (vigil_fleet_ca_issue_bootstrap (ca, "not-hex", 24, &cert_pem,
                                                  &key_pem, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
}

static void
test_request_for_another_id_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *key = path_in (fx, "dev-a.key");
  g_autofree char *csr = vigil_fleet_device_request_new ("dev-a", key, NULL);
  g_autofree char *cert = vigil_fleet_ca_sign_device (ca, "dev-b", ENROLLMENT, csr, -1,
                                                      &error);

  g_assert_null (cert);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "CN=dev-b"));
}

/* A request with more in its subject could map to another broker user. */
static void
test_request_with_extra_subject_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *key = path_in (fx, "x.key");
  g_autofree char *csr_path = path_in (fx, "x.csr");
  g_autofree char *csr = NULL;
  g_autofree char *cert = NULL;
  const char *argv[] = { "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                         "-out", csr_path, "-subj", "/O=Vigil/CN=dev-a", NULL };

  run_openssl (argv);
  g_assert_true (g_file_get_contents (csr_path, &csr, NULL, NULL));
  cert = vigil_fleet_ca_sign_device (ca, "dev-a", ENROLLMENT, csr, -1, &error);
  g_assert_null (cert);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
}

/* The request must be signed by the key it carries: proof of possession. */
static void
test_request_with_bad_signature_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *key = path_in (fx, "dev-a.key");
  g_autofree char *csr = vigil_fleet_device_request_new ("dev-a", key, NULL);
  g_autofree char *cert = NULL;
  char *body = strchr (csr, '\n') + 1;
  gsize len = strlen (body);
  /* Flip one base64 character near the end of the body: the signature. */
  char *victim = body + len - 40;

  while (*victim == '\n' || *victim == '=')
    victim--;
  *victim = *victim == 'A' ? 'B' : 'A';
  cert = vigil_fleet_ca_sign_device (ca, "dev-a", ENROLLMENT, csr, -1, &error);
  g_assert_null (cert);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_CRYPTO);
  g_assert_nonnull (strstr (error->message, "signature does not verify"));
}

static void
test_request_garbage_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *huge = g_strnfill (512 * 1024, 'A');
  char *cert = vigil_fleet_ca_sign_device (ca, "dev-a", ENROLLMENT, "not a request", -1,
                                           &error);

  g_assert_null (cert);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_CRYPTO);
  g_clear_error (&error);
  cert = vigil_fleet_ca_sign_device (ca, "dev-a", ENROLLMENT, huge, -1, &error);
  g_assert_null (cert);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
}

/* ---- bring your own ------------------------------------------------- */

/* An admin's CA made with the openssl tool (RSA, as many are) issues a
 * device certificate through us, and the result passes the check. */
static void
test_admin_ca_issues (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilFleetCa) ca = NULL;
  g_autofree char *key = path_in (fx, "dev-a.key");
  g_autofree char *crt = path_in (fx, "dev-a.crt");
  g_autofree char *csr = NULL, *cert = NULL;
  const char *argv[] = { "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                         "-keyout", fx->ca_key, "-out", fx->ca_crt, "-days",
                         "30", "-subj", "/O=Example/CN=Example Fleet CA",
                         "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                         NULL };

  run_openssl (argv);
  ca = vigil_fleet_ca_load (fx->ca_crt, fx->ca_key, &error);
  g_assert_no_error (error);
  csr = vigil_fleet_device_request_new ("dev-a", key, NULL);
  cert = vigil_fleet_ca_sign_device (ca, "dev-a", ENROLLMENT, csr, -1, &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, NULL));
  g_assert_true (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                        VIGIL_FLEET_CERT_CLIENT, "dev-a",
                                        &error));
  g_assert_no_error (error);
}

static void
test_leaf_is_no_ca (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = path_in (fx, "console.crt");
  g_autofree char *key = path_in (fx, "console.key");
  g_autoptr (VigilFleetCa) fake = NULL;

  g_assert_true (vigil_fleet_ca_issue_console (ca, crt, key, &error));
  fake = vigil_fleet_ca_load (crt, key, &error);
  g_assert_null (fake);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a CA"));
}

static void
test_check_refuses_other_ca (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *other_crt = path_in (fx, "other.crt");
  g_autofree char *other_key = path_in (fx, "other.key");
  g_autoptr (VigilFleetCa) other =
    vigil_fleet_ca_create ("other", other_crt, other_key, NULL);
  g_autofree char *crt = path_in (fx, "console.crt");
  g_autofree char *key = path_in (fx, "console.key");

  vigil_fleet_ca_free (new_ca (fx));
  g_assert_true (vigil_fleet_ca_issue_console (other, crt, key, &error));
  g_assert_false (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                         VIGIL_FLEET_CERT_CLIENT,
                                         VIGIL_FLEET_CONSOLE_CN, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "does not verify"));
}

static void
test_check_refuses_wrong_key_and_open_mode (Fixture *fx, gconstpointer data)
{
  g_autoptr (VigilFleetCa) ca = new_ca (fx);
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = path_in (fx, "console.crt");
  g_autofree char *key = path_in (fx, "console.key");
  g_autofree char *dev_key = path_in (fx, "dev.key");
  g_autofree char *csr = NULL;

  /* Making a device's request writes its key: a key of the wrong pair. */
  csr = vigil_fleet_device_request_new ("dev", dev_key, NULL);
  g_assert_nonnull (csr);
  g_assert_true (vigil_fleet_ca_issue_console (ca, crt, key, NULL));
  g_assert_true (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                        VIGIL_FLEET_CERT_CLIENT,
                                        VIGIL_FLEET_CONSOLE_CN, &error));
  g_assert_false (vigil_fleet_pki_check (fx->ca_crt, crt, dev_key,
                                         VIGIL_FLEET_CERT_CLIENT, NULL, &error));
  g_assert_nonnull (strstr (error->message, "is not the key of"));
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (key, 0644), ==, 0);
  g_assert_false (vigil_fleet_pki_check (fx->ca_crt, crt, key,
                                         VIGIL_FLEET_CERT_CLIENT, NULL, &error));
  g_assert_nonnull (strstr (error->message, "chmod 600"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fleet/pki/device-id-rules", test_device_id_rules);
  g_test_add_func ("/fleet/pki/enrollment-ids", test_enrollment_ids);
#define ADD(name, fn) \
  g_test_add ("/fleet/pki/" name, Fixture, NULL, setup, fn, teardown)
  ADD ("ca-files-private", test_ca_files_private);
  ADD ("server-names", test_server_names);
  ADD ("server-name-injection-refused", test_server_name_injection_refused);
  ADD ("device-certificate-from-request", test_device_certificate_from_request);
  ADD ("bootstrap-certificate", test_bootstrap_certificate);
  ADD ("request-for-another-id-refused", test_request_for_another_id_refused);
  ADD ("request-with-extra-subject-refused", test_request_with_extra_subject_refused);
  ADD ("request-with-bad-signature-refused", test_request_with_bad_signature_refused);
  ADD ("request-garbage-refused", test_request_garbage_refused);
  ADD ("admin-ca-issues", test_admin_ca_issues);
  ADD ("leaf-is-no-ca", test_leaf_is_no_ca);
  ADD ("check-refuses-other-ca", test_check_refuses_other_ca);
  ADD ("check-refuses-wrong-key-and-open-mode", test_check_refuses_wrong_key_and_open_mode);
#undef ADD
  return g_test_run ();
}
