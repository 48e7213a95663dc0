/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device's side of enrollment: it makes its own key, keeps it (0600,
 * never sent anywhere) and sends only a certificate request signed with
 * it, which proves to the console that the device holds the key.
 */
#include "pki-private.h"

#include <openssl/pem.h>

char *
vigil_fleet_device_request_new (const char *device_id, const char *key_path,
                                GError **error)
{
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (X509_REQ) req = NULL;
  g_autoptr (BIO) bio = NULL;
  g_autoptr (PkiSecret) key_pem = NULL;
  char *data = NULL;
  long len;

  g_return_val_if_fail (key_path != NULL, NULL);
  if (!vigil_fleet_device_id_check (device_id, error) ||
      (key = pki_new_key (error)) == NULL)
    return NULL;
  req = X509_REQ_new ();
  if (!X509_NAME_add_entry_by_txt (X509_REQ_get_subject_name (req), "CN",
                                   MBSTRING_UTF8,
                                   (const unsigned char *) device_id, -1, -1, 0) ||
      !X509_REQ_set_pubkey (req, key) ||
      X509_REQ_sign (req, key, EVP_sha256 ()) <= 0) {
    pki_set_error (error, "cannot build the certificate request");
    return NULL;
  }
  if ((key_pem = pki_key_to_pem (key, error)) == NULL ||
      !vigil_fleet_write_private_file (key_path, key_pem, -1, error))
    return NULL;
  bio = BIO_new (BIO_s_mem ());
  if (!PEM_write_bio_X509_REQ (bio, req)) {
    pki_set_error (error, "cannot encode the certificate request");
    return NULL;
  }
  len = BIO_get_mem_data (bio, &data);
  return g_strndup (data, len);
}
