/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The evidence store's reader (format in evidence-format.h) and the
 * store's folder operations: a file's metadata alone (for listing), or its
 * content, chunk by chunk, every chunk authenticated before a byte of it
 * is handed on, the chunk sizes and the metadata bounded before anything
 * is allocated, and the whole checked against the metadata's SHA-256 and
 * size at the end. A file cut short, a reordered chunk or another store's
 * file is DAMAGED, never read as content.
 */
#include "evidence-format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vigil/util/path.h>

static gboolean
damaged (GError **error, const char *name, const char *why)
{
  g_set_error (error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_DAMAGED,
               "evidence file %s is damaged: %s", name, why);
  return FALSE;
}

static gboolean
pread_full (int fd, void *buf, gsize len, goffset off)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = pread (fd, (guint8 *) buf + done, len - done, off + (goffset) done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += (gsize) n;
    }
  return TRUE;
}

static JsonObject *
read_meta (int fd, const guint8 key[EV_KEY_LEN], const guint8 aad[EV_AAD_LEN], goffset off,
           goffset size, const char *name, GError **error)
{
  guint8 word[4];
  guint32 len;
  g_autofree guint8 *block = NULL, *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (off < EV_HEADER_LEN || off + 4 > size || !pread_full (fd, word, 4, off))
    return damaged (error, name, "no metadata (written only partly?)"), NULL;
  len = ev_get_u32 (word);
  if (len > EV_META_MAX || off + 4 + (goffset) len + EV_TAG_LEN != size)
    return damaged (error, name, "bad metadata length"), NULL;
  block = g_malloc (len + EV_TAG_LEN);
  text = g_malloc (len + 1);
  if (!pread_full (fd, block, len + EV_TAG_LEN, off + 4)
      || !ev_crypt (FALSE, key, aad, EV_META_INDEX, len, block, len, text, block + len, error))
    {
      g_clear_error (error);
      return damaged (error, name, "the metadata does not verify (another store's key?)"), NULL;
    }
  text[len] = 0;
  if (!json_parser_load_from_data (parser, (const char *) text, len, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return damaged (error, name, "its metadata is not a JSON object"), NULL;
  return json_object_ref (json_node_get_object (root));
}

typedef struct {
  int               fd;
  const char       *name;
  guint8            key[EV_KEY_LEN];
  guint8            aad[EV_AAD_LEN];
  goffset           end;          /* where the metadata starts */
} Reader;

static gboolean
read_content (Reader *r, JsonObject *meta, VhEvidenceFunc func, gpointer user_data,
              GError **error)
{
  g_autofree guint8 *in = g_malloc (EV_CHUNK + EV_TAG_LEN), *out = g_malloc (EV_CHUNK);
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  goffset off = EV_HEADER_LEN;
  guint64 total = 0, index = 0;
  gboolean final = FALSE;

  while (!final)
    {
      guint8 word[4];
      guint32 record, len;

      if (off + 4 > r->end || !pread_full (r->fd, word, 4, off))
        return damaged (error, r->name, "it ends before its final chunk");
      record = ev_get_u32 (word);
      len = record & ~EV_FINAL_BIT;
      final = (record & EV_FINAL_BIT) != 0;
      if (len > EV_CHUNK || (!final && len != EV_CHUNK)
          || off + 4 + (goffset) len + EV_TAG_LEN > r->end
          || !pread_full (r->fd, in, len + EV_TAG_LEN, off + 4))
        return damaged (error, r->name, "a chunk has a bad length");
      if (!ev_crypt (FALSE, r->key, r->aad, index, record, in, len, out, in + len, NULL))
        return damaged (error, r->name, "a chunk does not verify");
      g_checksum_update (sha, out, len);
      if (func != NULL && !func (out, len, user_data, error))
        return FALSE;
      total += len;
      off += 4 + (goffset) len + EV_TAG_LEN;
      index++;
    }
  if (off != r->end)
    return damaged (error, r->name, "bytes after its final chunk");
  if ((gint64) total != json_object_get_int_member_with_default (meta, "size", -1)
      || g_strcmp0 (g_checksum_get_string (sha),
                    json_object_get_string_member_with_default (meta, "sha256", "")) != 0)
    return damaged (error, r->name, "its content is not what its metadata says");
  return TRUE;
}

gboolean
vh_evidence_read (VhEvidence *ev, const char *subdir, const char *name, JsonObject **meta,
                  VhEvidenceFunc func, gpointer user_data, GError **error)
{
  Reader r = { .fd = -1, .name = name };
  guint8 header[EV_HEADER_LEN];
  g_autoptr (JsonObject) m = NULL;
  struct stat st;
  int dir_fd;
  gboolean ok = FALSE;

  if (!vigil_path_check_component (name, "evidence file name", error)
      || (dir_fd = ev_subdir (ev, subdir, FALSE, error)) < 0)
    return FALSE;
  r.fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  close (dir_fd);
  if (r.fd < 0)
    return ev_set_errno (error, errno, "cannot open", name);
  if (fstat (r.fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size < EV_HEADER_LEN
      || !pread_full (r.fd, header, sizeof header, 0)
      || memcmp (header, EV_MAGIC, EV_MAGIC_LEN) != 0)
    {
      damaged (error, name, "not an evidence file");
      goto out;
    }
  memcpy (r.aad, header, EV_AAD_LEN);
  r.end = (goffset) ev_get_u64 (header + EV_AAD_LEN);
  if (!ev_derive (ev->key, r.aad + EV_MAGIC_LEN, r.key, error)
      || (m = read_meta (r.fd, r.key, r.aad, r.end, st.st_size, name, error)) == NULL
      || (func != NULL && !read_content (&r, m, func, user_data, error)))
    goto out;
  if (meta != NULL)
    *meta = g_steal_pointer (&m);
  ok = TRUE;
out:
  close (r.fd);
  memset (r.key, 0, sizeof r.key);
  return ok;
}

gboolean
vh_evidence_exists (VhEvidence *ev, const char *subdir, const char *name)
{
  struct stat st;
  int dir_fd = ev_subdir (ev, subdir, FALSE, NULL);
  gboolean there = dir_fd >= 0 && fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

  if (dir_fd >= 0)
    close (dir_fd);
  return there;
}

gboolean
vh_evidence_remove (VhEvidence *ev, const char *subdir, const char *name, GError **error)
{
  int dir_fd;
  gboolean ok;

  if (!vigil_path_check_component (name, "evidence file name", error)
      || (dir_fd = ev_subdir (ev, subdir, FALSE, error)) < 0)
    return FALSE;
  ok = unlinkat (dir_fd, name, 0) == 0 || ev_set_errno (error, errno, "cannot remove", name);
  if (ok)
    fsync (dir_fd);
  close (dir_fd);
  return ok;
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
vh_evidence_names (VhEvidence *ev, const char *subdir, const char *suffix)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  int fd = ev_subdir (ev, subdir, FALSE, NULL);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *e;

  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return names;
    }
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] != '.' && g_str_has_suffix (e->d_name, suffix))
      g_ptr_array_add (names, g_strdup (e->d_name));
  closedir (d);
  g_ptr_array_sort (names, by_name);
  return names;
}

gboolean
vh_evidence_remove_dir (VhEvidence *ev, const char *subdir, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (subdir), *leaf = g_path_get_basename (subdir);
  int dir_fd = ev_subdir (ev, subdir, FALSE, NULL), fd, up;
  DIR *d;
  struct dirent *e;

  if (dir_fd < 0)
    return TRUE;
  /* Every entry, a writer's temporary file too. */
  fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd >= 0 ? fdopendir (fd) : NULL;
  while (d != NULL && (e = readdir (d)) != NULL)
    if (!g_str_equal (e->d_name, ".") && !g_str_equal (e->d_name, ".."))
      unlinkat (dir_fd, e->d_name, 0);
  if (d != NULL)
    closedir (d);
  else if (fd >= 0)
    close (fd);
  close (dir_fd);
  up = ev_subdir (ev, g_str_equal (parent, ".") ? NULL : parent, FALSE, error);
  if (up < 0)
    return FALSE;
  if (unlinkat (up, leaf, AT_REMOVEDIR) < 0 && errno != ENOENT)
    {
      close (up);
      return ev_set_errno (error, errno, "cannot remove", subdir);
    }
  fsync (up);
  close (up);
  return TRUE;
}
