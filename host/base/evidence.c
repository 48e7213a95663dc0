/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The evidence store (base.h, format in evidence-format.h): opening it with
 * its key, and the writer, which hashes (SHA-256, MD5) and seals a file's
 * content one chunk at a time, so memory stays bounded whatever its size,
 * and puts the file in place only whole: a locked temporary file, fsynced,
 * renamed, the folder fsynced. A file whose content is not what the caller
 * expected (a transfer checked against its SHA-256) is never renamed.
 */
#include "evidence-format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vigil/util/io.h>
#include <vigil/util/keyfile.h>
#include <vigil/util/path.h>

G_DEFINE_QUARK (vigil-evidence-error-quark, vh_evidence_error)

struct _VhEvidenceWriter {
  VhEvidence  *ev;
  int          dir_fd;
  int          fd;
  char        *tmp;
  guint8       aad[EV_AAD_LEN];
  guint8       key[EV_KEY_LEN];
  EVP_MD_CTX  *sha256;
  EVP_MD_CTX  *md5;
  guint8      *buf;          /* the chunk being filled */
  gsize        buf_len;
  guint8      *sealed;       /* record + ciphertext + tag */
  guint64      index;
  guint64      total;
  goffset      offset;
};

/* ---- shared with the reader ------------------------------------------ */

void
ev_put_u32 (guint8 *p, guint32 v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (guint8) (v >> (8 * i));
}

guint32
ev_get_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

void
ev_put_u64 (guint8 *p, guint64 v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) (v >> (8 * i));
}

guint64
ev_get_u64 (const guint8 *p)
{
  return (guint64) ev_get_u32 (p) | (guint64) ev_get_u32 (p + 4) << 32;
}

gboolean
ev_set_errno (GError **error, int errsv, const char *what, const char *name)
{
  g_set_error (error, VH_EVIDENCE_ERROR,
               errsv == ENOENT ? VH_EVIDENCE_ERROR_NOT_FOUND : VH_EVIDENCE_ERROR_IO,
               "evidence store: %s %s: %s", what, name, g_strerror (errsv));
  return FALSE;
}

gboolean
ev_derive (const guint8 store_key[EV_KEY_LEN], const guint8 salt[EV_SALT_LEN],
           guint8 out[EV_KEY_LEN], GError **error)
{
  static char info[] = "vigil-evidence file v1";
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
  EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) store_key, EV_KEY_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt, EV_SALT_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, info, sizeof info - 1),
    OSSL_PARAM_construct_end (),
  };
  gboolean ok = ctx != NULL && EVP_KDF_derive (ctx, out, EV_KEY_LEN, params) == 1;

  EVP_KDF_CTX_free (ctx);
  EVP_KDF_free (kdf);
  if (!ok)
    g_set_error (error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_IO,
                 "evidence store: cannot derive a file key (OpenSSL HKDF)");
  return ok;
}

gboolean
ev_crypt (gboolean seal, const guint8 key[EV_KEY_LEN], const guint8 aad[EV_AAD_LEN],
          guint64 index, guint32 record, const guint8 *in, gsize len, guint8 *out,
          guint8 tag[EV_TAG_LEN], GError **error)
{
  guint8 nonce[12], extra[12];
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0, fin = 0;
  gboolean ok;

  if (index == EV_META_INDEX)
    memset (nonce, 0xff, sizeof nonce);
  else
    {
      ev_put_u64 (nonce, index);
      memset (nonce + 8, 0, 4);
    }
  ev_put_u64 (extra, index);
  ev_put_u32 (extra + 8, record);
  ok = ctx != NULL
       && EVP_CipherInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, nonce, seal ? 1 : 0) == 1
       && EVP_CipherUpdate (ctx, NULL, &n, aad, EV_AAD_LEN) == 1
       && EVP_CipherUpdate (ctx, NULL, &n, extra, sizeof extra) == 1
       && (len == 0 || EVP_CipherUpdate (ctx, out, &n, in, (int) len) == 1)
       && (seal || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, EV_TAG_LEN, tag) == 1)
       && EVP_CipherFinal_ex (ctx, out + (len == 0 ? 0 : n), &fin) == 1
       && (!seal || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, EV_TAG_LEN, tag) == 1);
  EVP_CIPHER_CTX_free (ctx);
  if (!ok)
    g_set_error (error, VH_EVIDENCE_ERROR, seal ? VH_EVIDENCE_ERROR_IO : VH_EVIDENCE_ERROR_DAMAGED,
                 seal ? "evidence store: encryption failed"
                      : "evidence store: a block does not verify (damaged, or another store's)");
  return ok;
}

int
ev_subdir (VhEvidence *ev, const char *subdir, gboolean create, GError **error)
{
  int fd;

  /* Opened anew, not dup()ed: a dup shares the offset, and a readdir of
   * one would leave the next at the end. */
  if (subdir == NULL)
    {
      fd = openat (ev->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        ev_set_errno (error, errno, "cannot open", "the store folder");
      return fd;
    }
  return vigil_path_open_dir (ev->dir_fd, subdir, create, error);
}

/* ---- the store --------------------------------------------------------- */

/* Temporary files of writers that died: no one holds their lock. */
static void
sweep (int dir_fd)
{
  int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *e;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((e = readdir (d)) != NULL)
    {
      int t;

      if (!g_str_has_prefix (e->d_name, ".tmp-"))
        continue;
      t = openat (dir_fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (t >= 0 && flock (t, LOCK_EX | LOCK_NB) == 0)
        unlinkat (dir_fd, e->d_name, 0);
      if (t >= 0)
        close (t);
    }
  closedir (d);
}

VhEvidence *
vh_evidence_open (const char *dir, GError **error)
{
  g_autoptr (VhEvidence) ev = g_new0 (VhEvidence, 1);

  ev->dir_fd = -1;
  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      ev_set_errno (error, errno, "cannot create", dir);
      return NULL;
    }
  ev->dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ev->dir_fd < 0)
    {
      ev_set_errno (error, errno, "cannot open", dir);
      return NULL;
    }
  if (!vigil_key_file_load_or_create (ev->dir_fd, "store.key", ev->key, EV_KEY_LEN, error))
    {
      g_prefix_error (error, "evidence store %s: ", dir);
      return NULL;
    }
  sweep (ev->dir_fd);
  return g_steal_pointer (&ev);
}

void
vh_evidence_close (VhEvidence *ev)
{
  if (ev == NULL)
    return;
  if (ev->dir_fd >= 0)
    close (ev->dir_fd);
  OPENSSL_cleanse (ev->key, sizeof ev->key);
  g_free (ev);
}

/* ---- the writer ---------------------------------------------------------- */

VhEvidenceWriter *
vh_evidence_writer_new (VhEvidence *ev, const char *subdir, GError **error)
{
  g_autoptr (VhEvidenceWriter) w = g_new0 (VhEvidenceWriter, 1);
  guint8 header[EV_HEADER_LEN] = { 0 };

  w->ev = ev;
  w->fd = -1;
  if ((w->dir_fd = ev_subdir (ev, subdir, TRUE, error)) < 0)
    return NULL;
  /* A crash may have left a temporary file here (the store's own folder
   * is swept at open). */
  if (subdir != NULL)
    sweep (w->dir_fd);
  w->tmp = g_strdup_printf (".tmp-%08x%08x", g_random_int (), g_random_int ());
  w->fd = openat (w->dir_fd, w->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (w->fd < 0)
    {
      ev_set_errno (error, errno, "cannot create", w->tmp);
      return NULL;
    }
  flock (w->fd, LOCK_EX);
  memcpy (w->aad, EV_MAGIC, EV_MAGIC_LEN);
  if (RAND_bytes (w->aad + EV_MAGIC_LEN, EV_SALT_LEN) != 1
      || !ev_derive (ev->key, w->aad + EV_MAGIC_LEN, w->key, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_IO,
                     "evidence store: no random bytes");
      return NULL;
    }
  memcpy (header, w->aad, EV_AAD_LEN);
  if (!vigil_write_all (w->fd, header, sizeof header))
    {
      ev_set_errno (error, errno, "cannot write", w->tmp);
      return NULL;
    }
  w->offset = EV_HEADER_LEN;
  w->sha256 = EVP_MD_CTX_new ();
  w->md5 = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (w->sha256, EVP_sha256 (), NULL);
  EVP_DigestInit_ex (w->md5, EVP_md5 (), NULL);
  w->buf = g_malloc (EV_CHUNK);
  w->sealed = g_malloc (4 + EV_CHUNK + EV_TAG_LEN);
  return g_steal_pointer (&w);
}

static gboolean
seal_chunk (VhEvidenceWriter *w, gboolean final, GError **error)
{
  guint32 record = (guint32) w->buf_len | (final ? EV_FINAL_BIT : 0);
  gsize n = 4 + w->buf_len + EV_TAG_LEN;

  ev_put_u32 (w->sealed, record);
  if (!ev_crypt (TRUE, w->key, w->aad, w->index, record, w->buf, w->buf_len, w->sealed + 4,
                 w->sealed + 4 + w->buf_len, error))
    return FALSE;
  if (!vigil_write_all (w->fd, w->sealed, n))
    return ev_set_errno (error, errno, "cannot write", w->tmp);
  w->offset += (goffset) n;
  w->index++;
  w->buf_len = 0;
  return TRUE;
}

gboolean
vh_evidence_writer_write (VhEvidenceWriter *w, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;

  EVP_DigestUpdate (w->sha256, data, len);
  EVP_DigestUpdate (w->md5, data, len);
  w->total += len;
  while (len > 0)
    {
      gsize take;

      /* A full chunk is sealed only when more comes: the last one must
       * carry the final bit. */
      if (w->buf_len == EV_CHUNK && !seal_chunk (w, FALSE, error))
        return FALSE;
      take = MIN (len, EV_CHUNK - w->buf_len);
      memcpy (w->buf + w->buf_len, p, take);
      w->buf_len += take;
      p += take;
      len -= take;
    }
  return TRUE;
}

static char *
digest_hex (EVP_MD_CTX *md)
{
  guint8 d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  GString *s = g_string_new (NULL);

  EVP_DigestFinal_ex (md, d, &n);
  for (unsigned int i = 0; i < n; i++)
    g_string_append_printf (s, "%02x", d[i]);
  return g_string_free (s, FALSE);
}

/* Whether the content is what @expect says (sha256, size). */
static gboolean
as_expected (JsonObject *meta, JsonObject *expect, GError **error)
{
  const char *sha = json_object_get_string_member_with_default (expect, "sha256", "");
  const char *md5 = json_object_get_string_member_with_default (expect, "md5", NULL);
  gint64 size = json_object_get_int_member_with_default (expect, "size", -1);

  if (g_ascii_strcasecmp (sha, json_object_get_string_member (meta, "sha256")) == 0
      && (md5 == NULL || g_ascii_strcasecmp (md5, json_object_get_string_member (meta, "md5")) == 0)
      && size == json_object_get_int_member (meta, "size"))
    return TRUE;
  g_set_error (error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_MISMATCH,
               "the content received (%" G_GINT64_FORMAT " bytes, SHA-256 %s) is not the "
               "file's (%" G_GINT64_FORMAT " bytes, SHA-256 %s): not stored",
               json_object_get_int_member (meta, "size"),
               json_object_get_string_member (meta, "sha256"), size, sha);
  return FALSE;
}

static gboolean
write_meta (VhEvidenceWriter *w, JsonObject *meta, GError **error)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), meta);
  g_autofree char *text = json_to_string (node, FALSE);
  gsize len = strlen (text);
  g_autofree guint8 *block = NULL;
  guint8 off[8];

  if (len > EV_META_MAX)
    {
      g_set_error (error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_INVALID,
                   "evidence store: metadata of %" G_GSIZE_FORMAT " bytes (at most %d)", len,
                   EV_META_MAX);
      return FALSE;
    }
  block = g_malloc (4 + len + EV_TAG_LEN);
  ev_put_u32 (block, (guint32) len);
  if (!ev_crypt (TRUE, w->key, w->aad, EV_META_INDEX, (guint32) len, (const guint8 *) text, len,
                 block + 4, block + 4 + len, error))
    return FALSE;
  ev_put_u64 (off, (guint64) w->offset);
  if (!vigil_write_all (w->fd, block, 4 + len + EV_TAG_LEN)
      || pwrite (w->fd, off, sizeof off, EV_AAD_LEN) != (ssize_t) sizeof off)
    return ev_set_errno (error, errno, "cannot write", w->tmp);
  return TRUE;
}

JsonObject *
vh_evidence_writer_commit (VhEvidenceWriter *w, JsonObject *meta, const char *name,
                           JsonObject *expect, GError **error)
{
  g_autoptr (JsonObject) m = json_object_new ();
  g_autofree char *sha = digest_hex (w->sha256), *md5 = digest_hex (w->md5);
  g_autoptr (GList) members = json_object_get_members (meta);

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (m, l->data, json_node_copy (json_object_get_member (meta, l->data)));
  json_object_set_int_member (m, "size", (gint64) w->total);
  json_object_set_string_member (m, "sha256", sha);
  json_object_set_string_member (m, "md5", md5);
  if ((expect != NULL && !as_expected (m, expect, error))
      || !vigil_path_check_component (name, "evidence file name", error)
      || !seal_chunk (w, TRUE, error) || !write_meta (w, m, error))
    return NULL;
  if (fsync (w->fd) < 0 || renameat (w->dir_fd, w->tmp, w->dir_fd, name) < 0)
    {
      ev_set_errno (error, errno, "cannot put in place", name);
      return NULL;
    }
  g_clear_pointer (&w->tmp, g_free);
  fsync (w->dir_fd);
  return g_steal_pointer (&m);
}

void
vh_evidence_writer_free (VhEvidenceWriter *w)
{
  if (w == NULL)
    return;
  if (w->tmp != NULL && w->dir_fd >= 0)
    unlinkat (w->dir_fd, w->tmp, 0);
  if (w->fd >= 0)
    close (w->fd);
  if (w->dir_fd >= 0)
    close (w->dir_fd);
  EVP_MD_CTX_free (w->sha256);
  EVP_MD_CTX_free (w->md5);
  if (w->buf != NULL)
    OPENSSL_cleanse (w->buf, EV_CHUNK);
  g_free (w->buf);
  g_free (w->sealed);
  g_free (w->tmp);
  OPENSSL_cleanse (w->key, sizeof w->key);
  g_free (w);
}
