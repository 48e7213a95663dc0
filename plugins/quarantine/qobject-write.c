/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streaming object writer: takes a file's bytes in any slices, hashes
 * them (MD5, SHA-256), encrypts them one chunk at a time and writes each
 * sealed chunk out, so memory stays bounded whatever the file size. The
 * caller may read straight into the writer's buffer (buffer() then
 * commit()) instead of copying through write().
 *
 * MD5 is the slowest of the three passes, so from the first chunk of
 * QW_THREAD_MIN bytes on it runs on a helper thread (qhasher.c) fed with a
 * ring of QW_RING chunk buffers: while the helper hashes chunk k, this
 * thread reads chunk k+1 and does SHA-256, AES-GCM and the write of chunk
 * k; a buffer is refilled only once its MD5 is done. Smaller files never
 * start the thread (starting it costs more than it saves).
 *
 * A full chunk is sealed only when more data arrives, since the last chunk
 * must carry the final bit; its MD5 can start at once. The metadata block
 * sits at the front (so listing never reads the content) but holds the
 * digests known only at the end: the writer reserves its exact length
 * using same-length placeholders and seals it last.
 */
#include "qobject-private.h"

#include <errno.h>
#include <string.h>

/* One buffer being filled, one full chunk held back for its final bit,
 * two in the MD5 queue: enough for the helper never to wait for a buffer. */
#define QW_RING       4
#define QW_THREAD_MIN (256 * 1024)

struct _QObjectWriter {
  int              fd;
  QoHeader         header;
  guint8           okey[Q_KEY_LEN];
  EVP_CIPHER_CTX  *ctx;
  EVP_MD_CTX      *md5;
  EVP_MD_CTX      *sha256;
  QHasher         *md5_thread;        /* NULL: MD5 is computed inline */
  JsonObject      *meta;
  guint8          *ring[QW_RING];     /* chunk buffers, allocated on use */
  gsize            ring_used[QW_RING];/* high-water marks, wiped at free */
  guint64          ticket[QW_RING];   /* MD5 ticket of each buffer's chunk */
  guint            cur;               /* the buffer being filled */
  gsize            cur_len;
  gboolean         held;              /* the previous buffer holds a full,
                                       * unsealed chunk */
  guint8          *sealed;            /* record word + ciphertext + tag */
  gsize            sealed_cap;
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
  /* Joined first: the helper may still be reading a ring buffer. */
  qhasher_free (w->md5_thread);
  EVP_CIPHER_CTX_free (w->ctx);
  EVP_MD_CTX_free (w->md5);
  EVP_MD_CTX_free (w->sha256);
  g_clear_pointer (&w->meta, json_object_unref);
  OPENSSL_cleanse (w->okey, sizeof w->okey);
  for (guint i = 0; i < QW_RING; i++)
    {
      if (w->ring[i] != NULL)
        OPENSSL_cleanse (w->ring[i], w->ring_used[i]);
      g_free (w->ring[i]);
    }
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
  /* Header now, metadata space zeroed: an object whose metadata block was
   * never sealed fails authentication, it is never mistaken for valid. */
  reserve = g_malloc0 (QO_HEADER_LEN + meta_len + QO_TAG_LEN);
  memcpy (reserve, w->header.raw, QO_HEADER_LEN);
  if (!vigil_write_all (out_fd, reserve, QO_HEADER_LEN + meta_len + QO_TAG_LEN))
    {
      q_set_errno (error, errno, "cannot write the object header", NULL);
      return NULL;
    }
  return g_steal_pointer (&w);
}

/* The MD5 of one complete chunk, in order: queued to the helper thread
 * (started by the first chunk big enough to be worth it), or inline. */
static gboolean
md5_chunk (QObjectWriter *w, guint slot, gsize len, GError **error)
{
  if (w->md5_thread == NULL && len >= QW_THREAD_MIN)
    w->md5_thread = qhasher_new (w->md5);
  if (w->md5_thread != NULL)
    w->ticket[slot] = qhasher_post (w->md5_thread, w->ring[slot], len);
  else if (len > 0 && EVP_DigestUpdate (w->md5, w->ring[slot], len) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "MD5 update failed");
      return FALSE;
    }
  return TRUE;
}

/* SHA-256, seal and write one chunk; its MD5 was queued already. */
static gboolean
seal_chunk (QObjectWriter *w, guint slot, gsize len, gboolean final,
            GError **error)
{
  static const guint8 empty[1];
  const guint8 *plain = w->ring[slot] != NULL ? w->ring[slot] : empty;
  guint32 record = (guint32) len | (final ? QO_FINAL_BIT : 0);
  gsize need = QO_RECORD_LEN + len + QO_TAG_LEN;
  guint8 *ct;

  if (w->index >= G_MAXUINT32)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED, "file too large to quarantine");
      return FALSE;
    }
  if (need > w->sealed_cap)
    {
      /* Sized to the data: a small file never allocates a whole chunk. */
      w->sealed = g_realloc (w->sealed, need);
      w->sealed_cap = need;
    }
  ct = w->sealed + QO_RECORD_LEN;
  qo_put_u32 (w->sealed, record);
  if (EVP_DigestUpdate (w->sha256, plain, len) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "SHA-256 update failed");
      return FALSE;
    }
  if (!qo_seal (w->ctx, w->okey, &w->header, w->index, record, plain, len,
                ct, ct + len, error))
    return FALSE;
  if (!vigil_write_all (w->fd, w->sealed, need))
    return q_set_errno (error, errno, "cannot write the object", NULL);
  w->index++;
  return TRUE;
}

guint8 *
qobject_writer_buffer (QObjectWriter *w, gsize *space)
{
  if (w->cur_len == QO_CHUNK_SIZE)
    {
      /* Full: hold it back (it is the final chunk if nothing follows) and
       * move on to the next buffer once the helper is done with it. A
       * failed MD5 update is sticky and reported by finish(). */
      g_assert (!w->held);
      w->held = TRUE;
      w->cur = (w->cur + 1) % QW_RING;
      w->cur_len = 0;
      if (w->md5_thread != NULL && w->ticket[w->cur] != 0)
        qhasher_wait_for (w->md5_thread, w->ticket[w->cur]);
    }
  if (w->ring[w->cur] == NULL)
    w->ring[w->cur] = g_malloc (QO_CHUNK_SIZE);
  *space = QO_CHUNK_SIZE - w->cur_len;
  return w->ring[w->cur] + w->cur_len;
}

gboolean
qobject_writer_commit (QObjectWriter *w, gsize len, GError **error)
{
  guint prev = (w->cur + QW_RING - 1) % QW_RING;

  g_return_val_if_fail (len <= QO_CHUNK_SIZE - w->cur_len, FALSE);
  if (len == 0)
    return TRUE;
  /* More data: the held chunk was not the last one. */
  if (w->held && !seal_chunk (w, prev, QO_CHUNK_SIZE, FALSE, error))
    return FALSE;
  w->held = FALSE;
  w->cur_len += len;
  w->total += len;
  w->ring_used[w->cur] = MAX (w->ring_used[w->cur], w->cur_len);
  if (w->cur_len == QO_CHUNK_SIZE)
    return md5_chunk (w, w->cur, w->cur_len, error);
  return TRUE;
}

gboolean
qobject_writer_write (QObjectWriter *w, const guint8 *data, gsize len,
                      GError **error)
{
  while (len > 0)
    {
      gsize space;
      guint8 *buf = qobject_writer_buffer (w, &space);
      gsize take = MIN (len, space);

      memcpy (buf, data, take);
      if (!qobject_writer_commit (w, take, error))
        return FALSE;
      data += take;
      len -= take;
    }
  return TRUE;
}

/* Seals what is left: the held chunk (final when nothing followed it) and
 * the partial last one, then waits for the helper's MD5. */
static gboolean
seal_last (QObjectWriter *w, GError **error)
{
  guint prev = (w->cur + QW_RING - 1) % QW_RING;
  gboolean ok;

  if (w->held && w->cur_len == 0)
    ok = seal_chunk (w, prev, QO_CHUNK_SIZE, TRUE, error);
  else
    {
      ok = !w->held || seal_chunk (w, prev, QO_CHUNK_SIZE, FALSE, error);
      /* A full current chunk had its MD5 queued by commit(). */
      ok = ok && (w->cur_len == QO_CHUNK_SIZE
                  || md5_chunk (w, w->cur, w->cur_len, error));
      ok = ok && seal_chunk (w, w->cur, w->cur_len, TRUE, error);
    }
  w->held = FALSE;
  if (ok && w->md5_thread != NULL && !qhasher_wait (w->md5_thread))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "MD5 update failed");
      ok = FALSE;
    }
  /* The digests are complete: the helper thread is done with the MD5. */
  g_clear_pointer (&w->md5_thread, qhasher_free);
  return ok;
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

  if (!seal_last (w, error))
    return FALSE;
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
