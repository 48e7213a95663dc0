/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restore: decrypts an object back to a file inside an allowed root. The
 * plaintext goes to an unnamed O_TMPFILE in the destination folder (or, on
 * file systems without it, to a `.vigil-restore-*` file announced by a
 * journal in the store so the recovery sweep can find it), gets its mode,
 * times and (as root) owner, is fsynced, and gets a name only after the last
 * chunk's tag and the SHA-256 verified: linkat(2) or renameat2(2) with
 * RENAME_NOREPLACE, so an existing file is never replaced; a taken name
 * moves on to "name (1).ext". The object leaves the store only after the
 * restored file and its folder are durable.
 */
#define _GNU_SOURCE
#include "qstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define MAX_NAME_TRIES 1000

typedef struct {
  int   obj_fd;
  int   root_fd;
  int   dir_fd;
  int   tmp_fd;
  int   journal_fd;
  char *dir;            /* canonical device path of the folder */
  char *tmp_name;       /* named temp only */
  char *journal_name;
} Restore;

static void
restore_clear (QStore *store, Restore *r)
{
  int fds[] = { r->obj_fd, r->root_fd, r->dir_fd, r->tmp_fd, r->journal_fd };

  if (r->tmp_name != NULL && r->dir_fd >= 0)
    unlinkat (r->dir_fd, r->tmp_name, 0);
  if (r->journal_name != NULL)
    unlinkat (qstore_dir_fd (store), r->journal_name, 0);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    if (fds[i] >= 0)
      close (fds[i]);
  g_free (r->dir);
  g_free (r->tmp_name);
  g_free (r->journal_name);
}

static gboolean
valid_name (const char *name, GError **error)
{
  if (name[0] == '\0' || strchr (name, '/') != NULL || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0 || strlen (name) > 200)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "'%s' is not a usable file name", name);
      return FALSE;
    }
  return TRUE;
}

/* "name (k).ext" for k > 0; a leading dot does not start an extension. */
static char *
candidate_name (const char *name, guint k)
{
  const char *dot = strrchr (name, '.');

  if (k == 0)
    return g_strdup (name);
  if (dot == NULL || dot == name)
    return g_strdup_printf ("%s (%u)", name, k);
  return g_strdup_printf ("%.*s (%u)%s", (int) (dot - name), name, k, dot);
}

/* Announces a named temp file in a journal before creating it, so that a
 * crash between the two leaves nothing the sweep cannot find. */
static gboolean
open_named_temp (QStore *store, const QRestoreRequest *req, Restore *r,
                 GError **error)
{
  int store_fd = qstore_dir_fd (store);
  g_autofree char *host_path = NULL;
  guint32 tag = g_random_int ();

  int errsv;

  r->journal_name = g_strdup_printf (".restore-%08x.journal", tag);
  /* Created and locked under the store lock: a sweep never sees it unlocked. */
  if (!qstore_lock (store, error))
    return FALSE;
  r->journal_fd = openat (store_fd, r->journal_name,
                          O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  errsv = errno;
  if (r->journal_fd >= 0)
    flock (r->journal_fd, LOCK_EX);
  qstore_unlock (store);
  if (r->journal_fd < 0)
    {
      g_clear_pointer (&r->journal_name, g_free);
      return q_set_errno (error, errsv, "cannot create a restore journal", qstore_dir (store));
    }
  r->tmp_name = g_strdup_printf (".vigil-restore-%08x", tag);
  host_path = g_build_filename (req->root, r->dir, r->tmp_name, NULL);
  if (!vigil_write_all (r->journal_fd, host_path, strlen (host_path))
      || q_fsync (r->journal_fd) < 0 || q_fsync (store_fd) < 0)
    return q_set_errno (error, errno, "cannot write a restore journal", qstore_dir (store));
  r->tmp_fd = openat (r->dir_fd, r->tmp_name,
                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (r->tmp_fd < 0)
    {
      g_clear_pointer (&r->tmp_name, g_free);
      return q_set_errno (error, errno, "cannot create a file in", r->dir);
    }
  return TRUE;
}

static gboolean
open_temp (QStore *store, const QRestoreRequest *req, Restore *r, GError **error)
{
  if (!req->named_temp)
    {
      r->tmp_fd = openat (r->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (r->tmp_fd >= 0)
        return TRUE;
      if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return q_set_errno (error, errno, "cannot create a file in", r->dir);
    }
  return open_named_temp (store, req, r, error);
}

static void
apply_attributes (int fd, JsonObject *meta)
{
  gint64 atime = json_object_get_int_member_with_default (meta, "atime_ns", 0);
  gint64 mtime = json_object_get_int_member_with_default (meta, "mtime_ns", 0);
  struct timespec times[2] = {
    { atime / 1000000000, atime % 1000000000 },
    { mtime / 1000000000, mtime % 1000000000 },
  };

  if (geteuid () == 0)
    (void) !fchown (fd, json_object_get_int_member_with_default (meta, "uid", 0),
                    json_object_get_int_member_with_default (meta, "gid", 0));
  fchmod (fd, json_object_get_int_member_with_default (meta, "mode", 0600) & 07777);
  futimens (fd, times);
}

/* Gives the verified temp file a name that was free; never replaces. */
static int
link_free_name (Restore *r, const char *cand)
{
  if (r->tmp_name == NULL)
    {
      char proc[64];
      g_snprintf (proc, sizeof proc, "/proc/self/fd/%d", r->tmp_fd);
      return linkat (AT_FDCWD, proc, r->dir_fd, cand, AT_SYMLINK_FOLLOW);
    }
  if (renameat2 (r->dir_fd, r->tmp_name, r->dir_fd, cand, RENAME_NOREPLACE) == 0)
    {
      g_clear_pointer (&r->tmp_name, g_free);
      return 0;
    }
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  /* No RENAME_NOREPLACE on this file system: link(2) never replaces either. */
  if (linkat (r->dir_fd, r->tmp_name, r->dir_fd, cand, 0) < 0)
    return -1;
  unlinkat (r->dir_fd, r->tmp_name, 0);
  g_clear_pointer (&r->tmp_name, g_free);
  return 0;
}

static char *
publish (Restore *r, const char *name, GError **error)
{
  for (guint k = 0; k < MAX_NAME_TRIES; k++)
    {
      g_autofree char *cand = candidate_name (name, k);
      if (link_free_name (r, cand) == 0)
        return g_steal_pointer (&cand);
      if (errno != EEXIST)
        {
          q_set_errno (error, errno, "cannot name the restored file", r->dir);
          return NULL;
        }
    }
  g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
               "no free name for %s in %s after %d tries", name, r->dir,
               MAX_NAME_TRIES);
  return NULL;
}

static gboolean
remove_object (QStore *store, const char *id, GError **error)
{
  g_autofree char *name = g_strconcat (id, Q_OBJECT_SUFFIX, NULL);

  return qstore_remove_object (store, name, "restored, but cannot remove the object",
                               NULL, NULL, error);
}

static gboolean
open_destination (QStore *store, const QRestoreRequest *req, JsonObject *meta,
                  Restore *r, char **name, GError **error)
{
  const char *orig = json_object_get_string_member_with_default (meta, "path", "");
  g_autofree char *orig_dir = g_path_get_dirname (orig);

  *name = req->name != NULL ? g_strdup (req->name) : g_path_get_basename (orig);
  r->dir = qpath_normalize (req->dir != NULL ? req->dir : orig_dir, error);
  if (r->dir == NULL || !valid_name (*name, error)
      || (r->root_fd = qpath_open_root (req->root, error)) < 0
      || (r->dir_fd = qpath_open_dir (r->root_fd, r->dir, TRUE, error)) < 0)
    return FALSE;
  if (qstore_is_store_dir (store, r->dir_fd))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "cannot restore into the quarantine folder itself");
      return FALSE;
    }
  return TRUE;
}

gboolean
qstore_restore (QStore *store, const QRestoreRequest *req,
                GCancellable *cancellable, char **restored_to,
                JsonObject **meta_out, GError **error)
{
  Restore r = { -1, -1, -1, -1, -1, NULL, NULL, NULL };
  g_autoptr (JsonObject) meta = NULL;
  g_autofree char *name = NULL, *final = NULL;
  gboolean ok = FALSE;

  r.obj_fd = qstore_open_object (store, req->id, error);
  if (r.obj_fd >= 0 && (meta = qobject_read_meta (r.obj_fd, qstore_key (store), req->id, error)) != NULL
      && open_destination (store, req, meta, &r, &name, error)
      && open_temp (store, req, &r, error)
      && qobject_decrypt (r.obj_fd, qstore_key (store), req->id, r.tmp_fd, NULL, cancellable, error))
    {
      apply_attributes (r.tmp_fd, meta);
      if (q_fsync (r.tmp_fd) < 0)
        q_set_errno (error, errno, "cannot sync the restored file", r.dir);
      else if ((final = publish (&r, name, error)) != NULL)
        {
          q_fsync (r.dir_fd);
          ok = req->keep_object || remove_object (store, req->id, error);
        }
    }
  if (final != NULL && restored_to != NULL)
    *restored_to = g_build_filename (r.dir, final, NULL);
  if (ok && meta_out != NULL)
    *meta_out = g_steal_pointer (&meta);
  restore_clear (store, &r);
  return ok;
}
