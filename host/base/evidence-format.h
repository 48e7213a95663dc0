/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The evidence store's file format, shared by its writer (evidence.c) and
 * reader (evidence-read.c). Version 1, integers little-endian:
 *
 *   0   magic "VIGILEV1"        8  salt (16 random bytes)
 *   24  u64 offset of the metadata block (written last)
 *   32  chunks: u32 record (plaintext length | 1 << 31 on the final one),
 *       ciphertext, 16-byte tag; every chunk but the final one is full
 *   metadata block: u32 length, AES-256-GCM(JSON), 16-byte tag
 *
 * Each file is sealed with its own key, HKDF-SHA256(store key, salt, info
 * "vigil-evidence file v1"). Chunk i's nonce is u64 i || four zero bytes
 * and its AAD the first 24 bytes || u64 i || its record, so a reordered,
 * dropped or transplanted chunk fails its tag and a file cut short lacks
 * its final chunk; the metadata's nonce is twelve 0xff bytes.
 */
#pragma once

#include "base.h"

#include <openssl/evp.h>

#define EV_MAGIC       "VIGILEV1"
#define EV_MAGIC_LEN   8
#define EV_SALT_LEN    16
#define EV_AAD_LEN     24      /* magic + salt */
#define EV_HEADER_LEN  32
#define EV_KEY_LEN     32
#define EV_TAG_LEN     16
#define EV_CHUNK       (256 * 1024)
#define EV_FINAL_BIT   0x80000000u
#define EV_META_MAX    (64 * 1024)
#define EV_META_INDEX  G_MAXUINT64

struct _VhEvidence {
  int    dir_fd;
  guint8 key[EV_KEY_LEN];
};

/* The file's own key from the store key and its salt. */
gboolean ev_derive (const guint8 store_key[EV_KEY_LEN], const guint8 salt[EV_SALT_LEN],
                    guint8 out[EV_KEY_LEN], GError **error);
/* Seals (or opens and verifies) @len bytes of block @index. */
gboolean ev_crypt (gboolean seal, const guint8 key[EV_KEY_LEN], const guint8 aad[EV_AAD_LEN],
                   guint64 index, guint32 record, const guint8 *in, gsize len, guint8 *out,
                   guint8 tag[EV_TAG_LEN], GError **error);
/* An fd of @subdir in the store (NULL: the store), created if @create. */
int      ev_subdir (VhEvidence *ev, const char *subdir, gboolean create, GError **error);
void     ev_put_u32 (guint8 *p, guint32 v);
guint32  ev_get_u32 (const guint8 *p);
void     ev_put_u64 (guint8 *p, guint64 v);
guint64  ev_get_u64 (const guint8 *p);
gboolean ev_set_errno (GError **error, int errsv, const char *what, const char *name);
