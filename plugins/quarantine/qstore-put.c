/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Put: moves one file of a device into the store. The order of steps is the
 * crash-safety argument (docs/quarantine.md): the object is written to a
 * locked `.tmp-<id>` in the store, fsynced, renamed to `<id>.vqo` and the
 * folder fsynced; only then, and only if the file on disk is still the one
 * that was read (device, inode, size, mtime), is the original unlinked. At
 * every instant the original, or a complete sealed object, or both exist.
 */
#define _GNU_SOURCE
#include "qstore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct {
  int         root_fd;
  int         parent_fd;
  int         fd;
  int         tmp_fd;
  char       *leaf;
  char       *path;        /* canonical device path */
  char        id[2 * Q_ID_LEN + 1];
  guint8      id_raw[Q_ID_LEN];
  char        tmp_name[64];
  struct stat st;
} Put;

static void
put_clear (Put *p)
{
  if (p->tmp_fd >= 0)
    close (p->tmp_fd);
  if (p->fd >= 0)
    close (p->fd);
  if (p->parent_fd >= 0)
    close (p->parent_fd);
  if (p->root_fd >= 0)
    close (p->root_fd);
  g_free (p->leaf);
  g_free (p->path);
}

void
qput_result_clear (QPutResult *result)
{
  g_clear_pointer (&result->id, g_free);
  g_clear_pointer (&result->meta, json_object_unref);
  g_clear_pointer (&result->original_kept, g_free);
}

static gboolean
refuse_type (const struct stat *st, const char *path, GError **error)
{
  const char *what = S_ISLNK (st->st_mode)  ? "a symbolic link"
                   : S_ISDIR (st->st_mode)  ? "a folder"
                   : S_ISFIFO (st->st_mode) ? "a FIFO"
                   : S_ISCHR (st->st_mode)  ? "a character device"
                   : S_ISBLK (st->st_mode)  ? "a block device"
                   : S_ISSOCK (st->st_mode) ? "a socket"
                   : S_ISREG (st->st_mode)  ? NULL : "not a regular file";

  if (what == NULL)
    return TRUE;
  g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
               "%s is %s; only regular files are quarantined", path, what);
  return FALSE;
}

/* Opens the original without following anything and checks that the fd is
 * the regular file the path named a moment before (no swap in between). */
static gboolean
open_original (QStore *store, const QPutRequest *req, Put *p, GError **error)
{
  struct stat lst;

  p->path = qpath_normalize (req->path, error);
  if (p->path == NULL || (p->root_fd = qpath_open_root (req->root, error)) < 0)
    return FALSE;
  p->parent_fd = qpath_open_parent (p->root_fd, p->path, FALSE, &p->leaf, error);
  if (p->parent_fd < 0)
    return FALSE;
  if (qstore_is_store_dir (store, p->parent_fd))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "%s is inside the quarantine folder itself", p->path);
      return FALSE;
    }
  if (fstatat (p->parent_fd, p->leaf, &lst, AT_SYMLINK_NOFOLLOW) < 0)
    return q_set_errno (error, errno, "cannot quarantine", p->path);
  if (!refuse_type (&lst, p->path, error))
    return FALSE;
  /* O_NOATIME keeps the evidence's access time as it was; only the owner
   * (or root) may ask for it, so fall back without it. */
  p->fd = openat (p->parent_fd, p->leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK
                  | O_NOCTTY | O_CLOEXEC | O_NOATIME);
  if (p->fd < 0 && errno == EPERM)
    p->fd = openat (p->parent_fd, p->leaf,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (p->fd < 0)
    return q_set_errno (error, errno, "cannot open", p->path);
  if (fstat (p->fd, &p->st) < 0)
    return q_set_errno (error, errno, "cannot stat", p->path);
  if (!refuse_type (&p->st, p->path, error))
    return FALSE;
  if (p->st.st_dev != lst.st_dev || p->st.st_ino != lst.st_ino)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_CHANGED,
                   "%s was replaced while it was being opened", p->path);
      return FALSE;
    }
  return TRUE;
}

static gint64
ts_ns (const struct timespec *ts)
{
  return (gint64) ts->tv_sec * G_GINT64_CONSTANT (1000000000) + ts->tv_nsec;
}

static void
set_opt_string (JsonObject *o, const char *member, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, member, value);
  else
    json_object_set_null_member (o, member);
}

static JsonObject *
build_meta (const QPutRequest *req, const Put *p)
{
  JsonObject *meta = json_object_new ();
  JsonObject *origin = json_object_new ();
  g_autoptr (GDateTime) when =
      g_date_time_new_from_unix_utc (req->now_us / G_USEC_PER_SEC);
  g_autofree char *iso = g_date_time_format_iso8601 (when);

  json_object_set_int_member (meta, "format", 1);
  json_object_set_string_member (meta, "id", p->id);
  set_opt_string (meta, "device", req->device_id);
  json_object_set_string_member (meta, "path", p->path);
  json_object_set_int_member (meta, "size", p->st.st_size);
  json_object_set_int_member (meta, "mode", p->st.st_mode & 07777);
  json_object_set_int_member (meta, "uid", p->st.st_uid);
  json_object_set_int_member (meta, "gid", p->st.st_gid);
  json_object_set_int_member (meta, "atime_ns", ts_ns (&p->st.st_atim));
  json_object_set_int_member (meta, "mtime_ns", ts_ns (&p->st.st_mtim));
  json_object_set_int_member (meta, "ctime_ns", ts_ns (&p->st.st_ctim));
  /* Same-length placeholders: the writer seals the real digests last. */
  json_object_set_string_member (meta, "md5", "00000000000000000000000000000000");
  json_object_set_string_member (meta, "sha256",
      "0000000000000000000000000000000000000000000000000000000000000000");
  set_opt_string (meta, "detection", req->detection);
  set_opt_string (meta, "reason", req->reason);
  json_object_set_string_member (meta, "quarantined_at", iso);
  json_object_set_int_member (meta, "quarantined_at_us", req->now_us);
  set_opt_string (origin, "task", req->origin_task);
  set_opt_string (origin, "event", req->origin_event);
  set_opt_string (origin, "user", req->origin_user);
  json_object_set_object_member (meta, "origin", origin);
  return meta;
}

static gboolean
create_temp (QStore *store, Put *p, GError **error)
{
  int errsv;

  if (RAND_bytes (p->id_raw, Q_ID_LEN) != 1)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_IO, "no random bytes for an object id");
      return FALSE;
    }
  q_hex (p->id_raw, Q_ID_LEN, p->id);
  g_snprintf (p->tmp_name, sizeof p->tmp_name, ".tmp-%s", p->id);
  /* Created and locked under the store lock, so a sweep never sees it
   * unlocked; the flock is held until the process ends and tells the
   * recovery sweep its writer is alive. */
  if (!qstore_lock (store, error))
    return FALSE;
  p->tmp_fd = openat (qstore_dir_fd (store), p->tmp_name,
                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  errsv = errno;
  if (p->tmp_fd >= 0)
    flock (p->tmp_fd, LOCK_EX);
  qstore_unlock (store);
  if (p->tmp_fd < 0)
    return q_set_errno (error, errsv, "cannot create a temporary object in",
                        qstore_dir (store));
  return TRUE;
}

static gboolean
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
         && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static gboolean
stream (QStore *store, const QPutRequest *req, Put *p, JsonObject *meta,
        GCancellable *cancellable, GError **error)
{
  g_autoptr (QObjectWriter) w = qobject_writer_new (p->tmp_fd, qstore_key (store),
                                                    p->id_raw, meta, error);
  struct stat after;
  guint64 size = 0, done = 0;
  gssize n;

  if (w == NULL)
    return FALSE;
  /* Read straight into the writer's chunk buffers (up to a chunk at a
   * time): the content is copied once, by the kernel. */
  for (;;)
    {
      gsize space;
      guint8 *buf = qobject_writer_buffer (w, &space);

      if ((n = q_read_full (p->fd, buf, space)) <= 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || !qobject_writer_commit (w, n, error))
        return FALSE;
      done += n;
      if (done > (guint64) p->st.st_size)
        break;  /* growing while read: stop now rather than chase it */
      if (req->progress != NULL && p->st.st_size > 0)
        req->progress (MIN (1.0, (double) done / p->st.st_size), req->progress_data);
    }
  if (n < 0)
    return q_set_errno (error, errno, "cannot read", p->path);
  if (done == (guint64) p->st.st_size && !qobject_writer_finish (w, &size, error))
    return FALSE;
  if (fstat (p->fd, &after) < 0 || !same_file (&p->st, &after)
      || done != (guint64) p->st.st_size || size != done)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_CHANGED,
                   "%s changed while it was being read; it was left in place",
                   p->path);
      return FALSE;
    }
  if (q_fsync (p->tmp_fd) < 0)
    return q_set_errno (error, errno, "cannot sync the object", qstore_dir (store));
  return TRUE;
}

/* The commit point: after the rename and the folder fsync, the object is
 * durable and listed. The size ledger is updated under the same lock, so
 * the sizes before and after are exact for the limit events. */
static gboolean
commit (QStore *store, Put *p, QPutResult *result, GError **error)
{
  char name[2 * Q_ID_LEN + sizeof Q_OBJECT_SUFFIX];
  struct stat st;
  int dir_fd = qstore_dir_fd (store);

  g_snprintf (name, sizeof name, "%s%s", p->id, Q_OBJECT_SUFFIX);
  if (fstat (p->tmp_fd, &st) < 0)
    return q_set_errno (error, errno, "cannot stat the object", p->tmp_name);
  if (!qstore_lock (store, error))
    return FALSE;
  result->size_before = qledger_begin (store);
  if (renameat (dir_fd, p->tmp_name, dir_fd, name) < 0)
    {
      int errsv = errno;
      qledger_end (store, result->size_before);
      qstore_unlock (store);
      return q_set_errno (error, errsv, "cannot commit the object", name);
    }
  p->tmp_name[0] = '\0';
  result->size_after = result->size_before + st.st_size;
  qledger_end (store, result->size_after);
  if (q_fsync (dir_fd) < 0)
    {
      int errsv = errno;
      qstore_unlock (store);
      return q_set_errno (error, errsv, "cannot sync the quarantine folder",
                          qstore_dir (store));
    }
  qstore_unlock (store);
  return TRUE;
}

static void
delete_original (Put *p, QPutResult *result)
{
  struct stat now;

  if (fstatat (p->parent_fd, p->leaf, &now, AT_SYMLINK_NOFOLLOW) < 0)
    result->original_kept = g_strdup_printf ("%s is already gone", p->path);
  else if (!same_file (&p->st, &now))
    result->original_kept = g_strdup_printf (
        "%s changed after it was quarantined; the new file was left in place",
        p->path);
  else if (unlinkat (p->parent_fd, p->leaf, 0) < 0)
    result->original_kept = g_strdup_printf ("cannot delete %s: %s", p->path,
                                             g_strerror (errno));
  else
    {
      q_fsync (p->parent_fd);
      result->original_deleted = TRUE;
    }
}

gboolean
qstore_put (QStore *store, const QPutRequest *req, GCancellable *cancellable,
            QPutResult *result, GError **error)
{
  Put p = { .root_fd = -1, .parent_fd = -1, .fd = -1, .tmp_fd = -1 };
  g_autoptr (JsonObject) meta = NULL;
  gboolean ok;

  memset (result, 0, sizeof *result);
  ok = open_original (store, req, &p, error) && create_temp (store, &p, error);
  if (ok)
    {
      meta = build_meta (req, &p);
      ok = stream (store, req, &p, meta, cancellable, error)
           && commit (store, &p, result, error);
    }
  if (!ok && p.tmp_fd >= 0 && p.tmp_name[0] != '\0')
    unlinkat (qstore_dir_fd (store), p.tmp_name, 0);
  if (ok)
    {
      if (req->delete_original)
        delete_original (&p, result);
      result->id = g_strdup (p.id);
      result->meta = g_steal_pointer (&meta);
    }
  put_clear (&p);
  return ok;
}
