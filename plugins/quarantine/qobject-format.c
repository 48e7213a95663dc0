/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The quarantine object format, version 1: the fixed header (build and a
 * defensive parse), the per-object key derivation and the AES-256-GCM
 * block primitives that the writer and the reader share. The layout is
 * described in qobject-private.h and docs/quarantine.md; this file is the
 * only place that knows byte offsets.
 */
#include "qobject-private.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <string.h>

void
qo_put_u32 (guint8 *p, guint32 v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

guint32
qo_get_u32 (const guint8 *p)
{
  return p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static void
put_u64 (guint8 *p, guint64 v)
{
  qo_put_u32 (p, (guint32) v);
  qo_put_u32 (p + 4, (guint32) (v >> 32));
}

void
qo_header_build (QoHeader *h, const guint8 id[Q_ID_LEN], const QKey *key,
                 guint32 chunk_size, guint32 meta_len)
{
  memset (h, 0, sizeof *h);
  memcpy (h->raw, QO_MAGIC, QO_MAGIC_LEN);
  h->raw[8] = QO_VERSION;
  h->raw[10] = QO_HEADER_LEN;
  memcpy (h->raw + 16, id, Q_ID_LEN);
  memcpy (h->raw + 32, key->id, Q_KEY_ID_LEN);
  qo_put_u32 (h->raw + 40, chunk_size);
  qo_put_u32 (h->raw + 44, meta_len);
  h->version = QO_VERSION;
  memcpy (h->id, id, Q_ID_LEN);
  memcpy (h->key_id, key->id, Q_KEY_ID_LEN);
  h->chunk_size = chunk_size;
  h->meta_len = meta_len;
}

static gboolean
all_zero (const guint8 *p, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (p[i] != 0)
      return FALSE;
  return TRUE;
}

/* Every field is range-checked here so that nothing downstream allocates or
 * seeks by an unchecked number taken from the file. */
gboolean
qo_header_parse (QoHeader *h, const guint8 *data, gsize len, GError **error)
{
  if (len < QO_HEADER_LEN)
    {
      g_set_error (error, Q_ERROR, len < QO_MAGIC_LEN ? Q_ERROR_FORMAT
                                                      : Q_ERROR_TRUNCATED,
                   "object header is %" G_GSIZE_FORMAT " bytes, expected %d",
                   len, QO_HEADER_LEN);
      return FALSE;
    }
  if (memcmp (data, QO_MAGIC, QO_MAGIC_LEN) != 0)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "not a quarantine object (bad magic)");
      return FALSE;
    }
  memcpy (h->raw, data, QO_HEADER_LEN);
  h->version = data[8] | data[9] << 8;
  if (h->version != QO_VERSION)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "object format version %u is not supported (this build "
                   "reads version %d)", h->version, QO_VERSION);
      return FALSE;
    }
  if ((data[10] | data[11] << 8) != QO_HEADER_LEN || qo_get_u32 (data + 12) != 0
      || !all_zero (data + 48, 16))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "object header has unknown flags or a bad length");
      return FALSE;
    }
  memcpy (h->id, data + 16, Q_ID_LEN);
  memcpy (h->key_id, data + 32, Q_KEY_ID_LEN);
  h->chunk_size = qo_get_u32 (data + 40);
  h->meta_len = qo_get_u32 (data + 44);
  if (h->chunk_size < QO_CHUNK_MIN || h->chunk_size > QO_CHUNK_MAX)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "object chunk size %u is out of range %d–%d",
                   h->chunk_size, QO_CHUNK_MIN, QO_CHUNK_MAX);
      return FALSE;
    }
  if (h->meta_len < 2 || h->meta_len > QO_META_MAX)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "object metadata length %u is out of range 2–%d",
                   h->meta_len, QO_META_MAX);
      return FALSE;
    }
  return TRUE;
}

gboolean
qobject_header_check (const guint8 *data, gsize len, GError **error)
{
  QoHeader h;

  return qo_header_parse (&h, data, len, error);
}

gboolean
qo_derive_key (const QKey *key, const guint8 id[Q_ID_LEN],
               guint8 out[Q_KEY_LEN], GError **error)
{
  static const char info[] = "vigil-quarantine object v1";
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
  EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) key->key, Q_KEY_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) id, Q_ID_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, (void *) info, sizeof info - 1),
    OSSL_PARAM_construct_end (),
  };
  gboolean ok = kctx != NULL && EVP_KDF_derive (kctx, out, Q_KEY_LEN, params) == 1;

  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  if (!ok)
    g_set_error (error, Q_ERROR, Q_ERROR_IO, "HKDF-SHA256 key derivation failed");
  return ok;
}

static void
make_nonce_and_aad (const QoHeader *h, guint64 index, guint32 record,
                    guint8 nonce[QO_NONCE_LEN], guint8 aad[QO_HEADER_LEN + 12])
{
  if (index == QO_META_INDEX)
    memset (nonce, 0xff, QO_NONCE_LEN);
  else
    {
      put_u64 (nonce, index);
      memset (nonce + 8, 0, 4);
    }
  memcpy (aad, h->raw, QO_HEADER_LEN);
  put_u64 (aad + QO_HEADER_LEN, index);
  qo_put_u32 (aad + QO_HEADER_LEN + 8, index == QO_META_INDEX ? 0 : record);
}

gboolean
qo_seal (EVP_CIPHER_CTX *ctx, const guint8 okey[Q_KEY_LEN], const QoHeader *h,
         guint64 index, guint32 record, const guint8 *in, gsize len,
         guint8 *out, guint8 tag[QO_TAG_LEN], GError **error)
{
  guint8 nonce[QO_NONCE_LEN], aad[QO_HEADER_LEN + 12];
  int n = 0;

  make_nonce_and_aad (h, index, record, nonce, aad);
  if (EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, okey, nonce) != 1
      || EVP_EncryptUpdate (ctx, NULL, &n, aad, sizeof aad) != 1
      || (len > 0 && EVP_EncryptUpdate (ctx, out, &n, in, (int) len) != 1)
      || EVP_EncryptFinal_ex (ctx, out + (len > 0 ? n : 0), &n) != 1
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, QO_TAG_LEN, tag) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "AES-256-GCM encryption failed");
      return FALSE;
    }
  return TRUE;
}

gboolean
qo_open (EVP_CIPHER_CTX *ctx, const guint8 okey[Q_KEY_LEN], const QoHeader *h,
         guint64 index, guint32 record, const guint8 *in, gsize len,
         guint8 *out, const guint8 tag[QO_TAG_LEN], GError **error)
{
  guint8 nonce[QO_NONCE_LEN], aad[QO_HEADER_LEN + 12];
  int n = 0;

  make_nonce_and_aad (h, index, record, nonce, aad);
  if (EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, okey, nonce) != 1
      || EVP_DecryptUpdate (ctx, NULL, &n, aad, sizeof aad) != 1
      || (len > 0 && EVP_DecryptUpdate (ctx, out, &n, in, (int) len) != 1)
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, QO_TAG_LEN,
                              (void *) tag) != 1
      || EVP_DecryptFinal_ex (ctx, out + (len > 0 ? n : 0), &n) != 1)
    {
      if (index == QO_META_INDEX)
        g_set_error (error, Q_ERROR, Q_ERROR_AUTH,
                     "metadata block failed authentication (tampered or corrupted)");
      else
        g_set_error (error, Q_ERROR, Q_ERROR_AUTH,
                     "chunk %" G_GUINT64_FORMAT " failed authentication "
                     "(tampered, reordered or corrupted)", index);
      return FALSE;
    }
  return TRUE;
}

gboolean
qobject_name_parse (const char *name, char id_hex[2 * Q_ID_LEN + 1])
{
  gsize len = strlen (name);

  if (len != 2 * Q_ID_LEN + strlen (Q_OBJECT_SUFFIX)
      || !g_str_has_suffix (name, Q_OBJECT_SUFFIX))
    return FALSE;
  for (int i = 0; i < 2 * Q_ID_LEN; i++)
    if (!g_ascii_isxdigit (name[i]) || g_ascii_isupper (name[i]))
      return FALSE;
  if (id_hex != NULL)
    {
      memcpy (id_hex, name, 2 * Q_ID_LEN);
      id_hex[2 * Q_ID_LEN] = '\0';
    }
  return TRUE;
}
