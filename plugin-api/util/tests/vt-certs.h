/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Certificates for TLS tests, made with the `openssl` command (Debian
 * package openssl) in a temporary folder: a CA, a server certificate for
 * 127.0.0.1 and localhost signed by it, an impostor with another key, a
 * client certificate and PKCS#12 archives of it (modern, legacy RC2/3DES,
 * and one no provider can decrypt).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *dir;
  char *ca_pem;           /* CA that signs the server and client certs */
  char *server_pem, *server_key;
  char *other_pem, *other_key;   /* a different key: pin mismatch */
  char *client_pem, *client_key;
  char *client_pfx;       /* AES, password "s3cret" */
  char *client_pfx_legacy;/* RC2/3DES (-legacy), password "s3cret" */
  char *client_pfx_unsupported; /* key encrypted with a cipher OID no
                                 * provider knows, no MAC */
} VtCerts;

VtCerts *vt_certs_new  (void);
void     vt_certs_free (VtCerts *certs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VtCerts, vt_certs_free)
/* File contents as a string (PEM) or base64 (PFX). */
char    *vt_read_text  (const char *path);
char    *vt_read_b64   (const char *path);
/* "sha256//<base64>" of the public key in the PEM certificate @path. */
char    *vt_pin_of     (const char *path);

G_END_DECLS
