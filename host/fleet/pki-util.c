/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PKI helpers shared by issuing, requesting and checking: OpenSSL's error
 * queue as a GError, P-256 keys, and PEM files read with a size limit
 * (the files may be an admin's, so they are input like any other).
 */
#include "pki-private.h"

#include <openssl/err.h>
#include <openssl/pem.h>

void
pki_set_error (GError **error, const char *what)
{
  char reason[256] = "unknown OpenSSL error";
  unsigned long e = ERR_peek_last_error ();

  if (e != 0)
    ERR_error_string_n (e, reason, sizeof reason);
  ERR_clear_error ();
  g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_CRYPTO,
               "%s: %s", what, reason);
}

EVP_PKEY *
pki_new_key (GError **error)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");

  if (key == NULL)
    pki_set_error (error, "cannot generate a P-256 key");
  return key;
}

gboolean
pki_key_is_p256 (EVP_PKEY *key)
{
  char group[64] = "";
  size_t len = 0;

  if (!EVP_PKEY_is_a (key, "EC"))
    return FALSE;
  if (!EVP_PKEY_get_utf8_string_param (key, "group", group, sizeof group, &len))
    return FALSE;
  return g_str_equal (group, "prime256v1") || g_str_equal (group, "P-256");
}

static char *
bio_to_string (BIO *bio)
{
  char *data = NULL;
  long len = BIO_get_mem_data (bio, &data);

  return g_strndup (data, len);
}

char *
pki_key_to_pem (EVP_PKEY *key, GError **error)
{
  /* secmem: the BIO's buffer is wiped when freed; the caller wipes the copy. */
  g_autoptr (BIO) bio = BIO_new (BIO_s_secmem ());

  if (!PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL)) {
    pki_set_error (error, "cannot encode a private key");
    return NULL;
  }
  return bio_to_string (bio);
}

void
pki_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  OPENSSL_cleanse (secret, strlen (secret));
  g_free (secret);
}

char *
pki_cert_to_pem (X509 *cert, GError **error)
{
  g_autoptr (BIO) bio = BIO_new (BIO_s_mem ());

  if (!PEM_write_bio_X509 (bio, cert)) {
    pki_set_error (error, "cannot encode a certificate");
    return NULL;
  }
  return bio_to_string (bio);
}

BIO *
pki_read_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  if (len > PKI_PEM_MAX) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: %zu bytes, more than any PEM file we accept (%d)",
                 path, (size_t) len, PKI_PEM_MAX);
    return NULL;
  }
  /* A copy: the memory BIO must not point into data freed on return. */
  BIO *bio = BIO_new (BIO_s_mem ());
  BIO_write (bio, data, (int) len);
  return bio;
}

X509 *
pki_load_cert (const char *path, GError **error)
{
  g_autoptr (BIO) bio = pki_read_file (path, error);
  X509 *cert;

  if (bio == NULL)
    return NULL;
  cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  if (cert == NULL) {
    g_autofree char *what = g_strdup_printf ("%s: no PEM certificate", path);
    pki_set_error (error, what);
  }
  return cert;
}

EVP_PKEY *
pki_load_key (const char *path, GError **error)
{
  g_autoptr (BIO) bio = pki_read_file (path, error);
  EVP_PKEY *key;

  if (bio == NULL)
    return NULL;
  /* No passphrase callback: an encrypted key fails here rather than prompt. */
  key = PEM_read_bio_PrivateKey (bio, NULL, NULL, (void *) "");
  if (key == NULL) {
    g_autofree char *what =
      g_strdup_printf ("%s: no unencrypted PEM private key", path);
    pki_set_error (error, what);
  }
  return key;
}
