/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store handle: the quarantine folder (mode 0700), its key and its lock.
 * The lock serializes the short critical sections that change which objects
 * exist (commit of a put, delete, the recovery sweep, key creation), so
 * that the store size measured before and after a change is exact and the
 * limit events fire once per crossing (the size itself is kept in a
 * ledger, qledger.c). It is an flock(2) on `.lock`
 * (between processes and store handles) plus a mutex (between threads
 * sharing one handle, since flock is per open file).
 */
#include "qstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#define QSTORE_KEY_NAME  "store.key"
#define QSTORE_LOCK_NAME ".lock"
#define QSTORE_LEDGER_NAME ".ledger"

struct _QStore {
  char   *dir;
  int     dir_fd;
  int     lock_fd;
  int     ledger_fd;  /* qledger.c */
  GMutex  mutex;
  QKey    key;
};

const char *qstore_dir (QStore *store) { return store->dir; }
int qstore_dir_fd (QStore *store) { return store->dir_fd; }
int qstore_ledger_fd (QStore *store) { return store->ledger_fd; }
const QKey *qstore_key (QStore *store) { return &store->key; }

void
qstore_free (QStore *store)
{
  if (store == NULL)
    return;
  if (store->dir_fd >= 0)
    close (store->dir_fd);
  if (store->lock_fd >= 0)
    close (store->lock_fd);
  if (store->ledger_fd >= 0)
    close (store->ledger_fd);
  g_mutex_clear (&store->mutex);
  qkey_clear (&store->key);
  g_free (store->dir);
  g_free (store);
}

gboolean
qstore_lock (QStore *store, GError **error)
{
  g_mutex_lock (&store->mutex);
  while (flock (store->lock_fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int errsv = errno;
        g_mutex_unlock (&store->mutex);
        return q_set_errno (error, errsv, "cannot lock the quarantine", store->dir);
      }
  return TRUE;
}

void
qstore_unlock (QStore *store)
{
  flock (store->lock_fd, LOCK_UN);
  g_mutex_unlock (&store->mutex);
}

static gboolean
open_folder (QStore *store, GError **error)
{
  struct stat st;

  if (g_mkdir_with_parents (store->dir, 0700) < 0)
    return q_set_errno (error, errno, "cannot create the quarantine folder", store->dir);
  store->dir_fd = open (store->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (store->dir_fd < 0)
    return q_set_errno (error, errno, "cannot open the quarantine folder", store->dir);
  /* Never chmod a folder we did not make (an admin may point the setting
   * at /tmp); refuse one that others can write to, where they could plant
   * or swap files. */
  if (fstat (store->dir_fd, &st) < 0)
    return q_set_errno (error, errno, "cannot stat the quarantine folder", store->dir);
  if ((st.st_mode & 022) != 0)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "quarantine folder %s is writable by others (mode %04o); "
                   "use a folder of its own", store->dir, (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  store->lock_fd = openat (store->dir_fd, QSTORE_LOCK_NAME,
                           O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (store->lock_fd < 0)
    return q_set_errno (error, errno, "cannot open the quarantine lock", store->dir);
  store->ledger_fd = openat (store->dir_fd, QSTORE_LEDGER_NAME,
                             O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (store->ledger_fd < 0)
    return q_set_errno (error, errno, "cannot open the quarantine size ledger", store->dir);
  return TRUE;
}

QStore *
qstore_open (const char *dir, GPtrArray **recovered, GError **error)
{
  g_autoptr (QStore) store = g_new0 (QStore, 1);
  g_autoptr (GPtrArray) swept = NULL;
  gboolean ok;

  store->dir = g_strdup (dir);
  store->dir_fd = store->lock_fd = store->ledger_fd = -1;
  g_mutex_init (&store->mutex);
  if (!open_folder (store, error) || !qstore_lock (store, error))
    return NULL;
  ok = qkey_load_or_create (store->dir_fd, QSTORE_KEY_NAME, &store->key, error);
  qstore_unlock (store);
  if (!ok)
    return NULL;
  swept = qstore_recover (store, error);
  if (swept == NULL)
    return NULL;
  if (recovered != NULL)
    *recovered = g_steal_pointer (&swept);
  return g_steal_pointer (&store);
}

guint64
qstore_total_size (QStore *store)
{
  int fd = openat (store->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  guint64 total = 0;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return 0;
    }
  while ((de = readdir (dir)) != NULL)
    {
      struct stat st;
      if (qobject_name_parse (de->d_name, NULL)
          && fstatat (store->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISREG (st.st_mode))
        total += st.st_size;
    }
  closedir (dir);
  return total;
}

static gboolean
valid_id (const char *id)
{
  g_autofree char *name = g_strconcat (id != NULL ? id : "", Q_OBJECT_SUFFIX, NULL);

  return id != NULL && qobject_name_parse (name, NULL);
}

int
qstore_open_object (QStore *store, const char *id, GError **error)
{
  g_autofree char *name = NULL;
  gboolean ended = FALSE;
  int fd;

  if (!valid_id (id))
    {
      g_set_error (error, Q_ERROR, Q_ERROR_NOT_FOUND,
                   "'%s' is not a quarantine object id (32 lower-case hex "
                   "characters)", id != NULL ? id : "");
      return -1;
    }
  if (!qended_contains (store, id, &ended, error))
    return -1;
  if (ended)
    {
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "object %s was restored or deleted; a copy of it put back in "
                   "the quarantine %s is refused", id, store->dir);
      return -1;
    }
  name = g_strconcat (id, Q_OBJECT_SUFFIX, NULL);
  fd = openat (store->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    g_set_error (error, Q_ERROR, Q_ERROR_NOT_FOUND,
                 "no object %s in the quarantine %s", id, store->dir);
  else if (fd < 0)
    q_set_errno (error, errno, "cannot open the object", name);
  return fd;
}

gboolean
qstore_is_store_dir (QStore *store, int dir_fd)
{
  struct stat a, b;

  return fstat (store->dir_fd, &a) == 0 && fstat (dir_fd, &b) == 0
         && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Delete and restore end here: the object leaves the folder and the ledger
 * under one lock, so the size before and after is exact. */
gboolean
qstore_remove_object (QStore *store, const char *name, const char *what,
                      guint64 *size_before, guint64 *size_after, GError **error)
{
  struct stat st;
  guint64 before, after;
  int errsv = 0;

  char id[2 * Q_ID_LEN + 1];
  g_autoptr (GError) local = NULL;

  if (!qstore_lock (store, error))
    return FALSE;
  /* The id is recorded as ended first, durably: after a crash before the
   * unlink, the object left behind is refused and swept (qended.c). */
  if (qobject_name_parse (name, id) && !qended_add (store, id, &local))
    {
      qstore_unlock (store);
      g_set_error (error, Q_ERROR, local->code, "%s: %s", what, local->message);
      return FALSE;
    }
  before = after = qledger_begin (store);
  if (fstatat (store->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0
      || unlinkat (store->dir_fd, name, 0) < 0)
    errsv = errno;
  else if (S_ISREG (st.st_mode))
    after = before - MIN (before, (guint64) st.st_size);
  qledger_end (store, after);
  if (errsv == 0)
    q_fsync (store->dir_fd);
  qstore_unlock (store);
  if (errsv != 0)
    return q_set_errno (error, errsv, what, name);
  if (size_before != NULL)
    *size_before = before;
  if (size_after != NULL)
    *size_after = after;
  return TRUE;
}
