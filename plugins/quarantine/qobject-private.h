/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared between the object format's three files (qobject-format.c: layout,
 * header, key derivation and AEAD primitives; qobject-write.c: the streaming
 * writer; qobject-read.c: the authenticated reader). Layout, version 1, all
 * integers little-endian:
 *
 *   header (64 bytes, authenticated as AAD of every block)
 *     0  magic "VIGILQ\x1a\n"     8  u16 version (1)   10 u16 header length (64)
 *     12 u32 flags (0)            16 object id (16 random bytes)
 *     32 key id (8 bytes)         40 u32 chunk size    44 u32 metadata length
 *     48 reserved (16 zero bytes)
 *   metadata block: AES-256-GCM(JSON) of `metadata length` bytes + 16-byte tag
 *   chunks: u32 record (plaintext length | 1 << 31 on the final chunk),
 *           ciphertext, 16-byte tag; every chunk but the final is full
 *
 * Each object is sealed with its own key, HKDF-SHA256(store key, salt =
 * object id, info = "vigil-quarantine object v1"); the metadata nonce is
 * twelve 0xff bytes, chunk i's nonce is u64 i || four zero bytes, and a
 * chunk's AAD is the header || u64 i || its record word. So a reordered,
 * dropped, duplicated or transplanted chunk fails its tag, and a file cut
 * at a chunk boundary lacks its final chunk.
 */
#pragma once

#include "qstore.h"

#include <openssl/evp.h>

#define QO_MAGIC          "VIGILQ\x1a\n"
#define QO_MAGIC_LEN      8
#define QO_VERSION        1
#define QO_HEADER_LEN     64
#define QO_TAG_LEN        16
#define QO_NONCE_LEN      12
#define QO_RECORD_LEN     4
#define QO_FINAL_BIT      0x80000000u
#define QO_CHUNK_SIZE     (1024 * 1024)
#define QO_CHUNK_MIN      4096
#define QO_CHUNK_MAX      (16 * 1024 * 1024)
#define QO_META_MAX       (64 * 1024)
#define QO_META_INDEX     G_MAXUINT64

typedef struct {
  guint8  raw[QO_HEADER_LEN];
  guint16 version;
  guint8  id[Q_ID_LEN];
  guint8  key_id[Q_KEY_ID_LEN];
  guint32 chunk_size;
  guint32 meta_len;
} QoHeader;

void     qo_header_build (QoHeader *h, const guint8 id[Q_ID_LEN],
                          const QKey *key, guint32 chunk_size,
                          guint32 meta_len);
gboolean qo_header_parse (QoHeader *h, const guint8 *data, gsize len,
                          GError **error);

/* The per-object key. */
gboolean qo_derive_key (const QKey *key, const guint8 id[Q_ID_LEN],
                        guint8 out[Q_KEY_LEN], GError **error);

/* One AEAD block: encrypt @len bytes of @in to @out and the tag, or decrypt
 * and verify. @index is the chunk number or QO_META_INDEX. @record is the
 * chunk's record word (ignored for the metadata). */
gboolean qo_seal (EVP_CIPHER_CTX *ctx, const guint8 okey[Q_KEY_LEN],
                  const QoHeader *h, guint64 index, guint32 record,
                  const guint8 *in, gsize len, guint8 *out,
                  guint8 tag[QO_TAG_LEN], GError **error);
gboolean qo_open (EVP_CIPHER_CTX *ctx, const guint8 okey[Q_KEY_LEN],
                  const QoHeader *h, guint64 index, guint32 record,
                  const guint8 *in, gsize len, guint8 *out,
                  const guint8 tag[QO_TAG_LEN], GError **error);

/* A digest running on a helper thread (qhasher.c). post() queues @data
 * (which must stay unchanged until its ticket is done; it blocks while the
 * short queue is full) and returns its ticket; wait_for() waits until that
 * item is hashed, wait() until all are; both return FALSE when an update
 * failed. free() drains the queue and joins the thread. */
typedef struct _QHasher QHasher;
QHasher *qhasher_new      (EVP_MD_CTX *md);
guint64  qhasher_post     (QHasher *h, const guint8 *data, gsize len);
gboolean qhasher_wait_for (QHasher *h, guint64 ticket);
gboolean qhasher_wait     (QHasher *h);
void     qhasher_free     (QHasher *h);

void qo_put_u32 (guint8 *p, guint32 v);
guint32 qo_get_u32 (const guint8 *p);
