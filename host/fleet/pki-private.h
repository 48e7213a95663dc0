/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the PKI files share: OpenSSL errors turned into GErrors, P-256 key
 * generation, PEM in and out, and the size limit on PEM input.
 */
#pragma once

#include "fleet-common.h"
#include "fleet-pki.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_REQ, X509_REQ_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_NAME, X509_NAME_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)

/* No certificate file, chain or request we accept is near this size. */
#define PKI_PEM_MAX (256 * 1024)

struct _VigilFleetCa {
  X509     *cert;
  EVP_PKEY *key;
};

/* Sets @error to "@what: <OpenSSL's reason>" and clears OpenSSL's queue. */
void pki_set_error (GError **error, const char *what);

EVP_PKEY *pki_new_key (GError **error);
gboolean  pki_key_is_p256 (EVP_PKEY *key);
/* (transfer full): free with pki_secret_free, which wipes it first. */
char     *pki_key_to_pem (EVP_PKEY *key, GError **error);
void      pki_secret_free (char *secret);
typedef char PkiSecret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PkiSecret, pki_secret_free)
char     *pki_cert_to_pem (X509 *cert, GError **error);

/* Reads a PEM file (at most PKI_PEM_MAX bytes) into a memory BIO. */
BIO      *pki_read_file (const char *path, GError **error);
X509     *pki_load_cert (const char *path, GError **error);
EVP_PKEY *pki_load_key (const char *path, GError **error);
