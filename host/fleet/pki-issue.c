/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The deployment CA and what it issues: its own self-signed certificate,
 * the broker's server certificate, the console's client certificate and
 * devices' client certificates from their requests. Every certificate is
 * built here from the CA's choices (subject, validity, extensions); a
 * device's request contributes its public key and nothing else.
 */
#include "pki-private.h"
#include "fleet-subjects.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* ---- building a certificate --------------------------------------- */

static X509_NAME *
name_new (const char *cn, const char *org)
{
  X509_NAME *name = X509_NAME_new ();

  if (org != NULL)
    X509_NAME_add_entry_by_txt (name, "O", MBSTRING_UTF8,
                                (const unsigned char *) org, -1, -1, 0);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                              (const unsigned char *) cn, -1, -1, 0);
  return name;
}

/* 159 random bits: unique without a serial database, positive in DER. */
static gboolean
set_random_serial (X509 *cert)
{
  unsigned char bytes[20];
  BIGNUM *bn;
  gboolean ok;

  if (RAND_bytes (bytes, sizeof bytes) != 1)
    return FALSE;
  bytes[0] &= 0x7f;
  bn = BN_bin2bn (bytes, sizeof bytes, NULL);
  ok = bn != NULL && BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (cert));
  BN_free (bn);
  return ok;
}

static gboolean
add_ext (X509 *cert, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  gboolean ok;

  X509V3_set_ctx (&ctx, issuer, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  if (ext == NULL)
    return FALSE;
  ok = X509_add_ext (cert, ext, -1);
  X509_EXTENSION_free (ext);
  return ok;
}

/* A certificate for @key named @subject, valid from
 * VIGIL_FLEET_BACKDATE_DAYS ago for @days and @hours from now, not yet signed and without the extensions of its role. @issuer NULL means
 * self-signed. */
static X509 *
cert_new_for (X509_NAME *subject, EVP_PKEY *key, X509 *issuer, long days,
              long hours)
{
  g_autoptr (X509) cert = X509_new ();

  if (!X509_set_version (cert, X509_VERSION_3) || !set_random_serial (cert) ||
      !X509_set_subject_name (cert, subject) ||
      !X509_set_issuer_name (cert, issuer ? X509_get_subject_name (issuer)
                                          : subject) ||
      !X509_set_pubkey (cert, key) ||
      !X509_time_adj_ex (X509_getm_notBefore (cert), -VIGIL_FLEET_BACKDATE_DAYS, 0, NULL) ||
      !X509_time_adj_ex (X509_getm_notAfter (cert), days, hours * 3600, NULL))
    return NULL;
  if (!add_ext (cert, issuer ? issuer : cert, NID_subject_key_identifier, "hash"))
    return NULL;
  return g_steal_pointer (&cert);
}

static X509 *
cert_new (X509_NAME *subject, EVP_PKEY *key, X509 *issuer, long days)
{
  return cert_new_for (subject, key, issuer, days, 0);
}

/* End-entity extensions, then the CA's signature. */
static gboolean
finish_leaf (X509 *cert, VigilFleetCa *ca, const char *eku, const char *san)
{
  if (!add_ext (cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext (cert, ca->cert, NID_key_usage, "critical,digitalSignature") ||
      !add_ext (cert, ca->cert, NID_ext_key_usage, eku) ||
      !add_ext (cert, ca->cert, NID_authority_key_identifier, "keyid:always"))
    return FALSE;
  if (san != NULL && !add_ext (cert, ca->cert, NID_subject_alt_name, san))
    return FALSE;
  return X509_sign (cert, ca->key, EVP_sha256 ()) > 0;
}

static gboolean
write_pair (X509 *cert, EVP_PKEY *key, const char *cert_path,
            const char *key_path, GError **error)
{
  g_autofree char *cert_pem = pki_cert_to_pem (cert, error);
  g_autoptr (PkiSecret) key_pem = NULL;

  if (cert_pem == NULL || (key_pem = pki_key_to_pem (key, error)) == NULL)
    return FALSE;
  /* Key first: a certificate on disk without its key would be useless. */
  return vigil_fleet_write_private_file (key_path, key_pem, -1, error) &&
         vigil_fleet_write_private_file (cert_path, cert_pem, -1, error);
}

/* ---- the CA -------------------------------------------------------- */

void
vigil_fleet_ca_free (VigilFleetCa *ca)
{
  if (ca == NULL)
    return;
  X509_free (ca->cert);
  EVP_PKEY_free (ca->key);
  g_free (ca);
}

char *
vigil_fleet_ca_cert_pem (VigilFleetCa *ca, GError **error)
{
  g_return_val_if_fail (ca != NULL, NULL);
  return pki_cert_to_pem (ca->cert, error);
}

VigilFleetCa *
vigil_fleet_ca_create (const char *deployment, const char *cert_path,
                       const char *key_path, GError **error)
{
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (X509_NAME) name = NULL;
  g_autoptr (X509) cert = NULL;
  g_autofree char *cn = NULL;
  VigilFleetCa *ca;

  g_return_val_if_fail (deployment && cert_path && key_path, NULL);
  if ((key = pki_new_key (error)) == NULL)
    return NULL;
  cn = g_strdup_printf ("Vigil deployment CA %s", deployment);
  name = name_new (cn, "Vigil");
  cert = cert_new (name, key, NULL, VIGIL_FLEET_CA_DAYS);
  /* pathlen 0: this CA signs end entities only, never another CA. */
  if (cert == NULL ||
      !add_ext (cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ext (cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      X509_sign (cert, key, EVP_sha256 ()) <= 0) {
    pki_set_error (error, "cannot build the deployment CA certificate");
    return NULL;
  }
  if (!write_pair (cert, key, cert_path, key_path, error))
    return NULL;
  ca = g_new0 (VigilFleetCa, 1);
  ca->cert = g_steal_pointer (&cert);
  ca->key = g_steal_pointer (&key);
  return ca;
}

VigilFleetCa *
vigil_fleet_ca_load (const char *cert_path, const char *key_path,
                     GError **error)
{
  g_autoptr (X509) cert = pki_load_cert (cert_path, error);
  g_autoptr (EVP_PKEY) key = NULL;
  VigilFleetCa *ca;

  if (cert == NULL || (key = pki_load_key (key_path, error)) == NULL)
    return NULL;
  if (X509_check_ca (cert) == 0 ||
      !(X509_get_key_usage (cert) & KU_KEY_CERT_SIGN)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: not a CA certificate allowed to sign certificates",
                 cert_path);
    return NULL;
  }
  if (X509_check_private_key (cert, key) != 1) {
    ERR_clear_error ();
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s is not the key of the CA certificate %s",
                 key_path, cert_path);
    return NULL;
  }
  ca = g_new0 (VigilFleetCa, 1);
  ca->cert = g_steal_pointer (&cert);
  ca->key = g_steal_pointer (&key);
  return ca;
}

/* ---- what the CA issues -------------------------------------------- */

/* "IP:127.0.0.1,DNS:localhost,...", refusing names that would inject
 * another entry into the list. */
static char *
san_list (const char *const *names, GError **error)
{
  g_autoptr (GString) san = g_string_new (NULL);

  for (gsize i = 0; names && names[i]; i++) {
    const char *n = names[i];
    gboolean is_ip = g_hostname_is_ip_address (n);

    if (!is_ip && (!*n || strspn (n, "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
                           != strlen (n))) {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "broker name \"%s\" is neither an IP address nor a DNS name",
                   n);
      return NULL;
    }
    g_string_append_printf (san, "%s%s:%s", san->len ? "," : "",
                            is_ip ? "IP" : "DNS", n);
  }
  if (san->len == 0) {
    g_set_error_literal (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                         "the broker's certificate needs at least one name");
    return NULL;
  }
  return g_string_free (g_steal_pointer (&san), FALSE);
}

gboolean
vigil_fleet_ca_issue_server (VigilFleetCa *ca, const char *const *names,
                             const char *cert_path, const char *key_path,
                             GError **error)
{
  g_autofree char *san = san_list (names, error);
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (X509_NAME) subject = NULL;
  g_autoptr (X509) cert = NULL;

  if (san == NULL || (key = pki_new_key (error)) == NULL)
    return FALSE;
  subject = name_new (names[0], "Vigil broker");
  cert = cert_new (subject, key, ca->cert, VIGIL_FLEET_CERT_DAYS);
  if (cert == NULL || !finish_leaf (cert, ca, "serverAuth", san)) {
    pki_set_error (error, "cannot issue the broker's certificate");
    return FALSE;
  }
  return write_pair (cert, key, cert_path, key_path, error);
}

gboolean
vigil_fleet_ca_issue_console (VigilFleetCa *ca, const char *cert_path,
                              const char *key_path, GError **error)
{
  g_autoptr (EVP_PKEY) key = pki_new_key (error);
  g_autoptr (X509_NAME) subject = NULL;
  g_autoptr (X509) cert = NULL;

  if (key == NULL)
    return FALSE;
  /* CN only: the broker maps the whole subject string to the user. */
  subject = name_new (VIGIL_FLEET_CONSOLE_CN, NULL);
  cert = cert_new (subject, key, ca->cert, VIGIL_FLEET_CERT_DAYS);
  if (cert == NULL || !finish_leaf (cert, ca, "clientAuth", NULL)) {
    pki_set_error (error, "cannot issue the console's certificate");
    return FALSE;
  }
  return write_pair (cert, key, cert_path, key_path, error);
}

gboolean
vigil_fleet_ca_issue_bootstrap (VigilFleetCa *ca, const char *enrollment,
                                guint hours, char **cert_pem, char **key_pem,
                                GError **error)
{
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (X509_NAME) subject = NULL;
  g_autoptr (X509) cert = NULL;
  g_autofree char *identity = NULL, *san = NULL;

  g_return_val_if_fail (ca && cert_pem && key_pem && hours > 0, FALSE);
  if (!vigil_fleet_enrollment_check (enrollment, error) ||
      (key = pki_new_key (error)) == NULL)
    return FALSE;
  subject = name_new ("vigil enrollment", NULL);
  identity = vigil_fleet_bootstrap_identity (enrollment);
  san = g_strdup_printf ("URI:%s", identity);
  cert = cert_new_for (subject, key, ca->cert, 0, hours);
  if (cert == NULL || !finish_leaf (cert, ca, "clientAuth", san)) {
    pki_set_error (error, "cannot issue the bootstrap certificate");
    return FALSE;
  }
  if ((*cert_pem = pki_cert_to_pem (cert, error)) == NULL)
    return FALSE;
  if ((*key_pem = pki_key_to_pem (key, error)) == NULL) {
    g_clear_pointer (cert_pem, g_free);
    return FALSE;
  }
  return TRUE;
}

/* The request's subject must be exactly one CN equal to @device_id. */
static gboolean
check_request_subject (X509_REQ *req, const char *device_id, GError **error)
{
  X509_NAME *subject = X509_REQ_get_subject_name (req);
  char cn[VIGIL_FLEET_DEVICE_ID_MAX + 2] = "";
  int len = X509_NAME_get_text_by_NID (subject, NID_commonName, cn, sizeof cn);

  if (X509_NAME_entry_count (subject) != 1 || len < 0 ||
      (size_t) len != strlen (device_id) || !g_str_equal (cn, device_id)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "certificate request: the subject must be exactly "
                 "\"CN=%s\"", device_id);
    return FALSE;
  }
  return TRUE;
}

static X509_REQ *
parse_request (const char *csr_pem, gssize csr_len, GError **error)
{
  size_t len = csr_len < 0 ? strlen (csr_pem) : (size_t) csr_len;
  g_autoptr (BIO) bio = NULL;
  X509_REQ *req;

  if (len > PKI_PEM_MAX) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "certificate request: %zu bytes, more than %d", len,
                 PKI_PEM_MAX);
    return NULL;
  }
  bio = BIO_new_mem_buf (csr_pem, (int) len);
  req = PEM_read_bio_X509_REQ (bio, NULL, NULL, NULL);
  if (req == NULL)
    pki_set_error (error, "certificate request: not a PEM CERTIFICATE REQUEST");
  return req;
}

char *
vigil_fleet_enrollment_new (void)
{
  unsigned char bytes[16];
  GString *hex = g_string_sized_new (2 * sizeof bytes);

  /* RAND_bytes only fails without an entropy source: nothing to run on. */
  if (RAND_bytes (bytes, sizeof bytes) != 1)
    g_error ("OpenSSL has no randomness for an enrollment id");
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);
  return g_string_free (hex, FALSE);
}

gboolean
vigil_fleet_enrollment_check (const char *enrollment, GError **error)
{
  if (enrollment == NULL || strlen (enrollment) != 32 ||
      strspn (enrollment, "0123456789abcdef") != 32) {
    g_set_error_literal (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                         "an enrollment id is 32 lower-case hex digits");
    return FALSE;
  }
  return TRUE;
}

char *
vigil_fleet_ca_sign_device (VigilFleetCa *ca, const char *device_id,
                            const char *enrollment, const char *csr_pem,
                            gssize csr_len, GError **error)
{
  g_autoptr (X509_REQ) req = NULL;
  g_autoptr (X509_NAME) subject = NULL;
  g_autoptr (X509) cert = NULL;
  g_autofree char *identity = NULL, *san = NULL;
  EVP_PKEY *key; /* owned by req */

  g_return_val_if_fail (ca != NULL && csr_pem != NULL, NULL);
  if (!vigil_fleet_device_id_check (device_id, error) ||
      !vigil_fleet_enrollment_check (enrollment, error) ||
      (req = parse_request (csr_pem, csr_len, error)) == NULL)
    return NULL;
  key = X509_REQ_get0_pubkey (req);
  if (key == NULL || X509_REQ_verify (req, key) != 1) {
    pki_set_error (error, "certificate request: its signature does not "
                          "verify with its own key");
    return NULL;
  }
  if (!pki_key_is_p256 (key)) {
    g_set_error_literal (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                         "certificate request: the key must be EC P-256");
    return NULL;
  }
  if (!check_request_subject (req, device_id, error))
    return NULL;
  subject = name_new (device_id, NULL);
  identity = vigil_fleet_device_identity (device_id, enrollment);
  san = g_strdup_printf ("URI:%s", identity);
  cert = cert_new (subject, key, ca->cert, VIGIL_FLEET_CERT_DAYS);
  if (cert == NULL || !finish_leaf (cert, ca, "clientAuth", san)) {
    pki_set_error (error, "cannot issue the device's certificate");
    return NULL;
  }
  return pki_cert_to_pem (cert, error);
}
