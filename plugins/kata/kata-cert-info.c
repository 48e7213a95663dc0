/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates for the trusted connection: the pinned server certificate
 * (PEM; its SubjectPublicKeyInfo hash is what a server must match), the
 * details shown to admins (subject, issuer, validity, SHA-256 fingerprint),
 * and the client certificate from a PFX archive. Opening a PFX tells a
 * wrong password apart from a format OpenSSL cannot read: the MAC is
 * checked first, so a failure after it passed means an unsupported
 * algorithm. OpenSSL's legacy provider is loaded for RC2/3DES archives.
 */
#include "kata-engine.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

/* Loaded once per process and kept (kata_crypto_shutdown is for tests). */
static OSSL_PROVIDER *default_provider;
static OSSL_PROVIDER *legacy_provider;

static gpointer
load_providers (gpointer data)
{
  /* Loading "legacy" disables the implicit default provider: load both. */
  default_provider = OSSL_PROVIDER_load (NULL, "default");
  legacy_provider = OSSL_PROVIDER_load (NULL, "legacy");
  return NULL;
}

void
kata_crypto_shutdown (void)
{
  g_clear_pointer (&legacy_provider, OSSL_PROVIDER_unload);
  g_clear_pointer (&default_provider, OSSL_PROVIDER_unload);
}

void
kata_crypto_init (void)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, load_providers, NULL);
}

X509 *
kata_cert_from_pem (const char *pem, GError **error)
{
  BIO *bio;
  X509 *cert;

  if (pem == NULL || *pem == '\0')
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_INVALID, "no certificate given");
      return NULL;
    }
  kata_crypto_init ();
  bio = BIO_new_mem_buf (pem, -1);
  cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  BIO_free (bio);
  ERR_clear_error ();
  if (cert == NULL)
    g_set_error (error, KATA_ERROR, KATA_ERROR_INVALID,
                 "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)");
  return cert;
}

gboolean
kata_cert_spki_sha256 (X509 *cert, guint8 out[32])
{
  unsigned char *der = NULL;
  int len = i2d_X509_PUBKEY (X509_get_X509_PUBKEY (cert), &der);
  unsigned int md_len = 0;
  gboolean ok;

  if (len <= 0)
    return FALSE;
  ok = EVP_Digest (der, (size_t) len, out, &md_len, EVP_sha256 (), NULL) == 1 &&
       md_len == 32;
  OPENSSL_free (der);
  return ok;
}

static char *
hex_colon (const guint8 *data, gsize len)
{
  GString *s = g_string_sized_new (len * 3);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, i ? ":%02X" : "%02X", data[i]);
  return g_string_free (s, FALSE);
}

static char *
name_text (const X509_NAME *name)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data = NULL;
  long len;
  char *text;

  X509_NAME_print_ex (bio, name, 0, XN_FLAG_RFC2253);
  len = BIO_get_mem_data (bio, &data);
  text = g_strndup (data, (gsize) MAX (len, 0));
  BIO_free (bio);
  return text;
}

static char *
time_text (const ASN1_TIME *t)
{
  struct tm tm = { 0 };

  if (ASN1_TIME_to_tm (t, &tm) != 1)
    return g_strdup ("invalid");
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec);
}

static void
set_take (JsonObject *o, const char *key, char *value)
{
  json_object_set_string_member (o, key, value);
  g_free (value);
}

JsonObject *
kata_cert_info (X509 *cert)
{
  JsonObject *o = json_object_new ();
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  guint8 spki[32];

  set_take (o, "subject", name_text (X509_get_subject_name (cert)));
  set_take (o, "issuer", name_text (X509_get_issuer_name (cert)));
  set_take (o, "not_before", time_text (X509_get0_notBefore (cert)));
  set_take (o, "not_after", time_text (X509_get0_notAfter (cert)));
  if (X509_digest (cert, EVP_sha256 (), md, &md_len) == 1)
    set_take (o, "sha256_fingerprint", hex_colon (md, md_len));
  if (kata_cert_spki_sha256 (cert, spki))
    set_take (o, "spki_sha256", hex_colon (spki, sizeof spki));
  return o;
}

void
kata_client_cert_free (KataClientCert *cc)
{
  if (cc == NULL)
    return;
  X509_free (cc->cert);
  EVP_PKEY_free (cc->key);
  sk_X509_pop_free (cc->chain, X509_free);
  g_free (cc);
}

static PKCS12 *
read_pkcs12 (GBytes *der, GError **error)
{
  gsize len = 0;
  const unsigned char *p = g_bytes_get_data (der, &len);
  PKCS12 *p12 = len > 0 ? d2i_PKCS12 (NULL, &p, (long) len) : NULL;

  if (p12 == NULL)
    g_set_error (error, KATA_ERROR, KATA_ERROR_INVALID,
                 "not a PFX (PKCS#12) archive");
  return p12;
}

static gboolean
check_mac (PKCS12 *p12, const char *password, GError **error)
{
  if (!PKCS12_mac_present (p12))
    return TRUE;
  if (PKCS12_verify_mac (p12, password, -1) == 1)
    return TRUE;
  /* An empty password may be encoded as NULL or as "". */
  if ((password == NULL || *password == '\0') &&
      PKCS12_verify_mac (p12, NULL, 0) == 1)
    return TRUE;
  g_set_error (error, KATA_ERROR, KATA_ERROR_BAD_PASSWORD,
               "the PFX password is wrong");
  return FALSE;
}

KataClientCert *
kata_pfx_open (GBytes *der, const char *password, GError **error)
{
  g_autoptr (KataClientCert) cc = g_new0 (KataClientCert, 1);
  PKCS12 *p12;
  unsigned long err;
  gboolean ok;

  kata_crypto_init ();
  ERR_clear_error ();
  if ((p12 = read_pkcs12 (der, error)) == NULL)
    return NULL;
  if (!check_mac (p12, password, error))
    {
      PKCS12_free (p12);
      ERR_clear_error ();
      return NULL;
    }
  ok = PKCS12_parse (p12, password ? password : "", &cc->key, &cc->cert,
                     &cc->chain) == 1;
  PKCS12_free (p12);
  err = ERR_peek_last_error ();
  ERR_clear_error ();
  if (!ok)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_UNSUPPORTED,
                   "the PFX archive uses a format or algorithm that cannot be "
                   "read (%s)", err && ERR_reason_error_string (err)
                   ? ERR_reason_error_string (err) : "unknown reason");
      return NULL;
    }
  if (cc->cert == NULL || cc->key == NULL)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_INVALID,
                   "the PFX archive holds no certificate with its private key");
      return NULL;
    }
  return g_steal_pointer (&cc);
}
