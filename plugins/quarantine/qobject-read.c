/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The authenticated object reader: the header and metadata block alone (for
 * listing), or the whole object chunk by chunk (for restore and verify).
 * Every failure says which kind it is, because an admin must be able to
 * tell a wrong key (restore the key backup) from tampering (investigate)
 * from truncation (disk full or a crash of an old version). The SHA-256
 * of full chunks runs on a helper thread (qhasher.c). Plaintext is
 * written out before the final tag is checked, so callers must treat the
 * output as garbage unless qobject_decrypt() returns TRUE.
 */
#include "qobject-private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static gboolean
read_header (int fd, const QKey *key, const char *id, QoHeader *h, GError **error)
{
  guint8 raw[QO_HEADER_LEN];
  char id_hex[2 * Q_ID_LEN + 1];
  gssize n = q_pread_full (fd, raw, sizeof raw, 0);

  if (n < 0)
    return q_set_errno (error, errno, "cannot read the object header", NULL);
  if (!qo_header_parse (h, raw, n, error))
    return FALSE;
  if (memcmp (h->key_id, key->id, Q_KEY_ID_LEN) != 0)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_WRONG_KEY,
                   "object was sealed with another store key (restore the "
                   "store.key backup of this quarantine folder)");
      return FALSE;
    }
  /* The header is the AAD of every block, so its id is authenticated as
   * soon as the metadata block is; checked here, before anything is
   * decrypted. */
  q_hex (h->id, Q_ID_LEN, id_hex);
  if (id != NULL && strcmp (id_hex, id) != 0)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_AUTH,
                   "object file %s%s holds object %s (a renamed or swapped "
                   "object file): refused", id, Q_OBJECT_SUFFIX, id_hex);
      return FALSE;
    }
  return TRUE;
}

static JsonObject *
parse_meta (const char *text, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, len, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    {
      /* Authenticated yet unreadable: written by a broken writer. */
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "object metadata is not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static JsonObject *
read_meta_block (int fd, const QKey *key, const char *id, QoHeader *h,
                 guint8 okey[Q_KEY_LEN], EVP_CIPHER_CTX *ctx, GError **error)
{
  gsize len;
  g_autofree guint8 *sealed = NULL;
  g_autofree char *text = NULL;
  gssize n;

  if (!read_header (fd, key, id, h, error) || !qo_derive_key (key, h->id, okey, error))
    return NULL;
  len = h->meta_len;
  sealed = g_malloc (len + QO_TAG_LEN);
  n = q_pread_full (fd, sealed, len + QO_TAG_LEN, QO_HEADER_LEN);
  if (n < 0)
    {
      q_set_errno (error, errno, "cannot read the object metadata", NULL);
      return NULL;
    }
  if ((gsize) n < len + QO_TAG_LEN)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_TRUNCATED,
                   "object is truncated inside its metadata block");
      return NULL;
    }
  text = g_malloc (len + 1);
  if (!qo_open (ctx, okey, h, QO_META_INDEX, 0, sealed, len,
                (guint8 *) text, sealed + len, error))
    return NULL;
  text[len] = '\0';
  return parse_meta (text, len, error);
}

JsonObject *
qobject_read_meta (int fd, const QKey *key, const char *id, GError **error)
{
  QoHeader h;
  guint8 okey[Q_KEY_LEN];
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  JsonObject *meta = read_meta_block (fd, key, id, &h, okey, ctx, error);

  EVP_CIPHER_CTX_free (ctx);
  OPENSSL_cleanse (okey, sizeof okey);
  return meta;
}

typedef struct {
  int             fd;
  int             out_fd;
  QoHeader        h;
  guint8          okey[Q_KEY_LEN];
  EVP_CIPHER_CTX *ctx;
  EVP_MD_CTX     *sha256;
  QHasher        *sha_thread;  /* started at the first full chunk */
  guint8         *sealed;
  guint8         *plain;
  guint64         total;
} Reader;

/* Reads one chunk record. Returns 1 for a chunk, 0 after the final one,
 * -1 on error. */
static int
read_chunk (Reader *r, guint64 index, gboolean *final, GError **error)
{
  guint8 rec[QO_RECORD_LEN];
  gssize n = q_read_full (r->fd, rec, sizeof rec);
  guint32 record, len;

  if (n < 0)
    {
      q_set_errno (error, errno, "cannot read the object", NULL);
      return -1;
    }
  if (n < QO_RECORD_LEN)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_TRUNCATED,
                   "object is truncated: it ends before its final chunk "
                   "(after %" G_GUINT64_FORMAT " chunks)", index);
      return -1;
    }
  record = qo_get_u32 (rec);
  len = record & ~QO_FINAL_BIT;
  *final = (record & QO_FINAL_BIT) != 0;
  if (len > r->h.chunk_size || (!*final && len != r->h.chunk_size))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_AUTH,
                   "chunk %" G_GUINT64_FORMAT " has a bad length %u "
                   "(tampered or corrupted)", index, len);
      return -1;
    }
  n = q_read_full (r->fd, r->sealed, len + QO_TAG_LEN);
  if (n < 0)
    {
      q_set_errno (error, errno, "cannot read the object", NULL);
      return -1;
    }
  if ((gsize) n < len + QO_TAG_LEN)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_TRUNCATED,
                   "object is truncated inside chunk %" G_GUINT64_FORMAT, index);
      return -1;
    }
  if (!qo_open (r->ctx, r->okey, &r->h, index, record, r->sealed, len,
                r->plain, r->sealed + len, error))
    return -1;
  /* Full chunks are hashed on the helper thread while this one writes. */
  if (len == r->h.chunk_size && r->sha_thread == NULL)
    r->sha_thread = qhasher_new (r->sha256);
  if (len == r->h.chunk_size)
    qhasher_post (r->sha_thread, r->plain, len);
  else
    EVP_DigestUpdate (r->sha256, r->plain, len);
  r->total += len;
  if (r->out_fd >= 0 && len > 0 && !vigil_write_all (r->out_fd, r->plain, len))
    {
      q_set_errno (error, errno, "cannot write the restored file", NULL);
      if (len == r->h.chunk_size)
        qhasher_wait (r->sha_thread);
      return -1;
    }
  if (len == r->h.chunk_size && !qhasher_wait (r->sha_thread))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "SHA-256 update failed");
      return -1;
    }
  return 1;
}

static gboolean
check_trailer (Reader *r, JsonObject *meta, GError **error)
{
  guint8 extra, digest[32];
  char hex[65];
  unsigned int n = 0;

  if (q_read_full (r->fd, &extra, 1) != 0)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_AUTH,
                   "object has data after its final chunk (tampered)");
      return FALSE;
    }
  g_clear_pointer (&r->sha_thread, qhasher_free);
  EVP_DigestFinal_ex (r->sha256, digest, &n);
  q_hex (digest, sizeof digest, hex);
  if (!json_object_has_member (meta, "size")
      || json_object_get_int_member (meta, "size") != (gint64) r->total
      || g_strcmp0 (json_object_get_string_member_with_default (meta, "sha256", ""),
                    hex) != 0)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_AUTH,
                   "object content does not match its recorded size and SHA-256");
      return FALSE;
    }
  return TRUE;
}

static gboolean
decrypt_chunks (Reader *r, JsonObject *meta, GCancellable *cancellable,
                GError **error)
{
  gboolean final = FALSE;

  if (lseek (r->fd, QO_HEADER_LEN + r->h.meta_len + QO_TAG_LEN, SEEK_SET) < 0)
    return q_set_errno (error, errno, "cannot seek in the object", NULL);
  for (guint64 index = 0; !final; index++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (read_chunk (r, index, &final, error) < 0)
        return FALSE;
    }
  return check_trailer (r, meta, error);
}

gboolean
qobject_decrypt (int fd, const QKey *key, const char *id, int out_fd,
                 JsonObject **meta_out, GCancellable *cancellable, GError **error)
{
  Reader r = { .fd = fd, .out_fd = out_fd };
  g_autoptr (JsonObject) meta = NULL;
  gboolean ok = FALSE;

  r.ctx = EVP_CIPHER_CTX_new ();
  r.sha256 = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (r.sha256, EVP_sha256 (), NULL);
  meta = read_meta_block (fd, key, id, &r.h, r.okey, r.ctx, error);
  if (meta != NULL)
    {
      r.sealed = g_malloc (r.h.chunk_size + QO_TAG_LEN);
      r.plain = g_malloc (r.h.chunk_size);
      ok = decrypt_chunks (&r, meta, cancellable, error);
    }
  qhasher_free (r.sha_thread);
  EVP_CIPHER_CTX_free (r.ctx);
  EVP_MD_CTX_free (r.sha256);
  OPENSSL_cleanse (r.okey, sizeof r.okey);
  g_free (r.sealed);
  if (r.plain != NULL)
    OPENSSL_cleanse (r.plain, r.h.chunk_size);
  g_free (r.plain);
  if (ok && meta_out != NULL)
    *meta_out = g_steal_pointer (&meta);
  return ok;
}
