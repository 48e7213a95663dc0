/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store key: 32 random bytes in `store.key` inside the store folder,
 * mode 0600, created on first use by the helper library's key files
 * (<vigil/util/keyfile.h>: created atomically, never short, refused when
 * others could read it), and its public id, which each object's header
 * carries so that an object sealed under another key is told apart.
 */
#include "qstore.h"

#include <openssl/evp.h>
#include <string.h>
#include <vigil/util/keyfile.h>

void
qkey_clear (QKey *key)
{
  OPENSSL_cleanse (key, sizeof *key);
}

static void
compute_id (QKey *key)
{
  static const char label[] = "vigil-quarantine key id v1";
  guint8 digest[32];
  unsigned int n = 0;
  EVP_MD_CTX *md = EVP_MD_CTX_new ();

  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  EVP_DigestUpdate (md, label, sizeof label - 1);
  EVP_DigestUpdate (md, key->key, Q_KEY_LEN);
  EVP_DigestFinal_ex (md, digest, &n);
  EVP_MD_CTX_free (md);
  memcpy (key->id, digest, Q_KEY_ID_LEN);
}

void
qkey_from_bytes (const guint8 raw[Q_KEY_LEN], QKey *key)
{
  memcpy (key->key, raw, Q_KEY_LEN);
  compute_id (key);
}

/* The key file's errors in the quarantine's domain, with the same codes. */
static int
q_code (const GError *e)
{
  switch (e->code)
    {
    case VIGIL_KEY_FILE_ERROR_NOT_FOUND: return Q_ERROR_NOT_FOUND;
    case VIGIL_KEY_FILE_ERROR_FORMAT:    return Q_ERROR_FORMAT;
    case VIGIL_KEY_FILE_ERROR_REFUSED:   return Q_ERROR_REFUSED;
    default:                             return Q_ERROR_IO;
    }
}

gboolean
qkey_load_or_create (int dir_fd, const char *name, QKey *key, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!vigil_key_file_load_or_create (dir_fd, name, key->key, Q_KEY_LEN, &local))
    {
      g_set_error_literal (error, Q_ERROR, q_code (local), local->message);
      return FALSE;
    }
  compute_id (key);
  return TRUE;
}
