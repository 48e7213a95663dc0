/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checking certificates before a deployment uses them, above all an
 * admin's own ("bring your own"): the chain to the trusted CA file, the
 * validity dates, the role (extended key usage), the name, the key pair
 * and the key file's mode. Each failure names the file and what to fix,
 * so an admin finds out at setup and not from a broker that refuses
 * every device. Also when a certificate ends (the agent's renewal).
 */
#include "pki-private.h"

#include <errno.h>

#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE_CTX, X509_STORE_CTX_free)

static void
free_cert_stack (STACK_OF (X509) *stack)
{
  sk_X509_pop_free (stack, X509_free);
}

/* The first certificate of @path, and any after it as the chain. */
static X509 *
load_leaf_and_chain (const char *path, STACK_OF (X509) **chain, GError **error)
{
  g_autoptr (BIO) bio = pki_read_file (path, error);
  X509 *leaf, *next;

  if (bio == NULL)
    return NULL;
  leaf = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  if (leaf == NULL) {
    g_autofree char *what = g_strdup_printf ("%s: no PEM certificate", path);
    pki_set_error (error, what);
    return NULL;
  }
  *chain = sk_X509_new_null ();
  while ((next = PEM_read_bio_X509 (bio, NULL, NULL, NULL)) != NULL)
    sk_X509_push (*chain, next);
  ERR_clear_error (); /* the end of the file reads as an error */
  return leaf;
}

static gboolean
check_chain (const char *ca_path, const char *cert_path, X509 *leaf,
             STACK_OF (X509) *chain, VigilFleetCertRole role, GError **error)
{
  g_autoptr (X509_STORE) store = X509_STORE_new ();
  g_autoptr (X509_STORE_CTX) ctx = X509_STORE_CTX_new ();
  int purpose = role == VIGIL_FLEET_CERT_SERVER ? X509_PURPOSE_SSL_SERVER
                                                : X509_PURPOSE_SSL_CLIENT;

  if (X509_STORE_load_file (store, ca_path) != 1) {
    g_autofree char *what = g_strdup_printf ("%s: cannot load as CA "
                                             "certificates", ca_path);
    pki_set_error (error, what);
    return FALSE;
  }
  if (!X509_STORE_CTX_init (ctx, store, leaf, chain) ||
      !X509_STORE_CTX_set_purpose (ctx, purpose)) {
    pki_set_error (error, "cannot set up certificate verification");
    return FALSE;
  }
  if (X509_verify_cert (ctx) != 1) {
    int err = X509_STORE_CTX_get_error (ctx);
    ERR_clear_error ();
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s does not verify against %s for use as a %s "
                 "certificate: %s", cert_path, ca_path,
                 role == VIGIL_FLEET_CERT_SERVER ? "server" : "client",
                 X509_verify_cert_error_string (err));
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_name (const char *cert_path, X509 *leaf, VigilFleetCertRole role,
            const char *name, GError **error)
{
  gboolean ok;

  if (name == NULL)
    return TRUE;
  if (role == VIGIL_FLEET_CERT_SERVER) {
    ok = g_hostname_is_ip_address (name)
           ? X509_check_ip_asc (leaf, name, 0) == 1
           : X509_check_host (leaf, name, 0, 0, NULL) == 1;
  } else {
    char cn[256] = "";
    int len = X509_NAME_get_text_by_NID (X509_get_subject_name (leaf),
                                         NID_commonName, cn, sizeof cn);
    ok = len >= 0 && (size_t) len == strlen (name) && g_str_equal (cn, name);
  }
  if (!ok)
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s is not for \"%s\" (%s)", cert_path, name,
                 role == VIGIL_FLEET_CERT_SERVER
                   ? "no matching subject alternative name"
                   : "its common name differs");
  return ok;
}

/* A key others can read is a key others may have copied. */
static gboolean
check_key_file (const char *key_path, GError **error)
{
  GStatBuf st;

  if (g_stat (key_path, &st) != 0) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: %s", key_path, g_strerror (errno));
    return FALSE;
  }
  if (st.st_mode & 077) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: private key readable by others (mode %04o); "
                 "chmod 600 it", key_path, (unsigned) (st.st_mode & 07777));
    return FALSE;
  }
  return TRUE;
}

gboolean
vigil_fleet_pki_check (const char *ca_path, const char *cert_path,
                       const char *key_path, VigilFleetCertRole role,
                       const char *name, GError **error)
{
  g_autoptr (X509) leaf = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  STACK_OF (X509) *chain = NULL;
  gboolean ok;

  g_return_val_if_fail (ca_path && cert_path && key_path, FALSE);
  if (!check_key_file (key_path, error) ||
      (key = pki_load_key (key_path, error)) == NULL ||
      (leaf = load_leaf_and_chain (cert_path, &chain, error)) == NULL)
    return FALSE;
  ok = check_chain (ca_path, cert_path, leaf, chain, role, error) &&
       check_name (cert_path, leaf, role, name, error);
  free_cert_stack (chain);
  if (ok && X509_check_private_key (leaf, key) != 1) {
    ERR_clear_error ();
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s is not the key of %s", key_path, cert_path);
    ok = FALSE;
  }
  return ok;
}

/* The broker maps a client certificate by its identity URIs before its
 * subject: a console certificate carrying a device's URI would be that
 * device. */
static gboolean
has_vigil_uri (X509 *leaf)
{
  GENERAL_NAMES *sans = X509_get_ext_d2i (leaf, NID_subject_alt_name, NULL, NULL);
  gboolean found = FALSE;

  for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num (sans); i++)
    {
      const GENERAL_NAME *san = sk_GENERAL_NAME_value (sans, i);
      const unsigned char *uri;

      if (san->type != GEN_URI)
        continue;
      uri = ASN1_STRING_get0_data (san->d.uniformResourceIdentifier);
      found |= g_ascii_strncasecmp ((const char *) uri, "urn:vigil:", 10) == 0;
    }
  GENERAL_NAMES_free (sans);
  return found;
}

gboolean
vigil_fleet_pki_check_console (const char *ca_path, const char *cert_path,
                               const char *key_path, GError **error)
{
  g_autoptr (X509) leaf = NULL;
  STACK_OF (X509) *chain = NULL;

  if (!vigil_fleet_pki_check (ca_path, cert_path, key_path, VIGIL_FLEET_CERT_CLIENT,
                              VIGIL_FLEET_CONSOLE_CN, error) ||
      (leaf = load_leaf_and_chain (cert_path, &chain, error)) == NULL)
    return FALSE;
  free_cert_stack (chain);
  if (X509_NAME_entry_count (X509_get_subject_name (leaf)) != 1)
    {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "%s: the subject must be exactly CN=%s, with no other attribute "
                   "(the broker knows the console by it)", cert_path, VIGIL_FLEET_CONSOLE_CN);
      return FALSE;
    }
  if (has_vigil_uri (leaf))
    {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "%s: a console certificate must not carry a urn:vigil: identity URI "
                   "(the broker would take it for a device)", cert_path);
      return FALSE;
    }
  return TRUE;
}

gboolean
vigil_fleet_cert_not_after (const char *cert_path, gint64 *not_after, GError **error)
{
  g_autoptr (X509) leaf = NULL;
  STACK_OF (X509) *chain = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  int days = 0, secs = 0;

  if ((leaf = load_leaf_and_chain (cert_path, &chain, error)) == NULL)
    return FALSE;
  free_cert_stack (chain);
  /* From now (NULL) to the end: OpenSSL does the calendar. */
  if (ASN1_TIME_diff (&days, &secs, NULL, X509_get0_notAfter (leaf)) != 1)
    {
      g_autofree char *what = g_strdup_printf ("%s: unreadable end of validity", cert_path);
      pki_set_error (error, what);
      return FALSE;
    }
  *not_after = now + (gint64) days * 86400 + secs;
  return TRUE;
}
