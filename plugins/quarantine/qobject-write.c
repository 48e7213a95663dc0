/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streaming object writer: takes a file's bytes in any slices, hashes
 * them (MD5, SHA-256; the MD5 of full chunks on a helper thread, see
 * qhasher.c), encrypts them one chunk at a time and writes each sealed
 * chunk out, so memory stays at two chunk buffers whatever the file
 * size. The metadata block sits at the front (so listing never reads the
 * content) but holds the digests known only at the end: the writer reserves
 * its exact length using same-length placeholders and seals it last.
 */
#include "qobject-private.h"

#include <errno.h>
#include <string.h>

struct _QObjectWriter {
  int              fd;
  QoHeader         header;
  guint8           okey[Q_KEY_LEN];
  EVP_CIPHER_CTX  *ctx;
  EVP_MD_CTX      *md5;
  EVP_MD_CTX      *sha256;
  QHasher         *md5_thread;  /* started at the first full chunk */
  JsonObject      *meta;
  guint8          *plain;     /* the pending chunk */
  gsize            plain_len;
  guint8          *sealed;    /* record word + ciphertext + tag */
  guint64          index;
  guint64          total;
};

static char *
meta_text (JsonObject *meta)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, meta);
  return json_to_string (node, FALSE);
}

void
qobject_writer_free (QObjectWriter *w)
{
  if (w == NULL)
    return;
  qhasher_free (w->md5_thread);
  EVP_CIPHER_CTX_free (w->ctx);
  EVP_MD_CTX_free (w->md5);
  EVP_MD_CTX_free (w->sha256);
  g_clear_pointer (&w->meta, json_object_unref);
  OPENSSL_cleanse (w->okey, sizeof w->okey);
  if (w->plain != NULL)
    OPENSSL_cleanse (w->plain, QO_CHUNK_SIZE);
  g_free (w->plain);
  g_free (w->sealed);
  g_free (w);
}

QObjectWriter *
qobject_writer_new (int out_fd, const QKey *key, const guint8 id[Q_ID_LEN],
                    JsonObject *meta, GError **error)
{
  g_autoptr (QObjectWriter) w = g_new0 (QObjectWriter, 1);
  g_autofree char *text = meta_text (meta);
  gsize meta_len = strlen (text);
  g_autofree guint8 *reserve = NULL;

  if (meta_len > QO_META_MAX)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "object metadata is %" G_GSIZE_FORMAT " bytes, above %d "
                   "(path or detection name too long)", meta_len, QO_META_MAX);
      return NULL;
    }
  w->fd = out_fd;
  w->meta = json_object_ref (meta);
  qo_header_build (&w->header, id, key, QO_CHUNK_SIZE, meta_len);
  if (!qo_derive_key (key, id, w->okey, error))
    return NULL;
  w->ctx = EVP_CIPHER_CTX_new ();
  w->md5 = EVP_MD_CTX_new ();
  w->sha256 = EVP_MD_CTX_new ();
  if (w->ctx == NULL || w->md5 == NULL || w->sha256 == NULL
      || EVP_DigestInit_ex (w->md5, EVP_md5 (), NULL) != 1
      || EVP_DigestInit_ex (w->sha256, EVP_sha256 (), NULL) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "OpenSSL digest setup failed");
      return NULL;
    }
  w->plain = g_malloc (QO_CHUNK_SIZE);
  w->sealed = g_malloc (QO_RECORD_LEN + QO_CHUNK_SIZE + QO_TAG_LEN);
  /* Header now, metadata space zeroed: an object whose metadata block was
   * never sealed fails authentication, it is never mistaken for valid. */
  reserve = g_malloc0 (QO_HEADER_LEN + meta_len + QO_TAG_LEN);
  memcpy (reserve, w->header.raw, QO_HEADER_LEN);
  if (!q_write_full (out_fd, reserve, QO_HEADER_LEN + meta_len + QO_TAG_LEN))
    {
      q_set_errno (error, errno, "cannot write the object header", NULL);
      return NULL;
    }
  return g_steal_pointer (&w);
}

/* Hashes and seals the pending chunk. For full chunks the MD5 runs on the
 * helper thread while this one does SHA-256 and AES-GCM on the same bytes;
 * small files never start the thread. */
static gboolean
hash_and_seal (QObjectWriter *w, guint32 record, guint8 *ct, GError **error)
{
  gboolean threaded = w->plain_len == QO_CHUNK_SIZE;
  gboolean ok;

  if (threaded && w->md5_thread == NULL)
    w->md5_thread = qhasher_new (w->md5);
  if (threaded)
    qhasher_post (w->md5_thread, w->plain, w->plain_len);
  else if (EVP_DigestUpdate (w->md5, w->plain, w->plain_len) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "MD5 update failed");
      return FALSE;
    }
  ok = EVP_DigestUpdate (w->sha256, w->plain, w->plain_len) == 1;
  if (!ok)
    g_set_error (error, Q_ERROR, Q_ERROR_IO, "SHA-256 update failed");
  ok = ok && qo_seal (w->ctx, w->okey, &w->header, w->index, record, w->plain,
                      w->plain_len, ct, ct + w->plain_len, error);
  if (threaded && !qhasher_wait (w->md5_thread) && ok)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "MD5 update failed");
      ok = FALSE;
    }
  return ok;
}

static gboolean
flush_chunk (QObjectWriter *w, gboolean final, GError **error)
{
  guint32 record = (guint32) w->plain_len | (final ? QO_FINAL_BIT : 0);
  guint8 *ct = w->sealed + QO_RECORD_LEN;

  if (w->index >= G_MAXUINT32)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED, "file too large to quarantine");
      return FALSE;
    }
  qo_put_u32 (w->sealed, record);
  if (!hash_and_seal (w, record, ct, error))
    return FALSE;
  if (!q_write_full (w->fd, w->sealed,
                     QO_RECORD_LEN + w->plain_len + QO_TAG_LEN))
    return q_set_errno (error, errno, "cannot write the object", NULL);
  w->index++;
  w->plain_len = 0;
  return TRUE;
}

gboolean
qobject_writer_write (QObjectWriter *w, const guint8 *data, gsize len,
                      GError **error)
{
  w->total += len;
  while (len > 0)
    {
      gsize take;

      /* A full chunk is flushed only once more data arrives: the last
       * chunk must carry the final bit, so it waits for finish(). */
      if (w->plain_len == QO_CHUNK_SIZE && !flush_chunk (w, FALSE, error))
        return FALSE;
      take = MIN (len, QO_CHUNK_SIZE - w->plain_len);
      memcpy (w->plain + w->plain_len, data, take);
      w->plain_len += take;
      data += take;
      len -= take;
    }
  return TRUE;
}

static gboolean
set_digest (JsonObject *meta, const char *member, EVP_MD_CTX *md,
            GError **error)
{
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];

  if (EVP_DigestFinal_ex (md, digest, &n) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "digest failed");
      return FALSE;
    }
  q_hex (digest, n, hex);
  json_object_set_string_member (meta, member, hex);
  return TRUE;
}

gboolean
qobject_writer_finish (QObjectWriter *w, guint64 *size, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree guint8 *sealed = NULL;
  gsize len;

  if (!flush_chunk (w, TRUE, error))
    return FALSE;
  /* The digests are complete: the helper thread is done with the MD5. */
  g_clear_pointer (&w->md5_thread, qhasher_free);
  if (!set_digest (w->meta, "md5", w->md5, error)
      || !set_digest (w->meta, "sha256", w->sha256, error))
    return FALSE;
  text = meta_text (w->meta);
  len = strlen (text);
  if (len != w->header.meta_len)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO,
                   "metadata length changed while sealing (%" G_GSIZE_FORMAT
                   " != %u); the digests need placeholders", len,
                   w->header.meta_len);
      return FALSE;
    }
  sealed = g_malloc (len + QO_TAG_LEN);
  if (!qo_seal (w->ctx, w->okey, &w->header, QO_META_INDEX, 0,
                (const guint8 *) text, len, sealed, sealed + len, error))
    return FALSE;
  if (!q_pwrite_full (w->fd, sealed, len + QO_TAG_LEN, QO_HEADER_LEN))
    return q_set_errno (error, errno, "cannot write the object metadata", NULL);
  if (size != NULL)
    *size = w->total;
  return TRUE;
}
