/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The recovery sweep, run whenever a store is opened (so at start-up and
 * before each operation of a new process). A put writes `.tmp-*` in the
 * store and a restore without O_TMPFILE support writes `.vigil-restore-*`
 * beside its destination, announced first by a `.restore-*.journal` in the
 * store. A process killed mid-way leaves those behind; the sweep removes
 * them and returns what it removed so the caller can report it; it also
 * removes objects whose id is recorded as ended (qended.c). Every live
 * writer holds an flock on its temporary file (or journal) for its whole
 * life and the kernel drops it when the process dies, so a temporary file
 * that can be locked belongs to nobody and one that cannot is left alone.
 */
#include "qstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define RESTORE_TEMP_PREFIX ".vigil-restore-"

/* Opens @name in the store and takes its lock without waiting. Returns the
 * fd, or -1 when the file is gone or a live process holds it. */
static int
claim (int dir_fd, const char *name)
{
  int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  struct stat st;

  if (fd < 0)
    return -1;
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* A journal names one restore temp file by its host path; only a file whose
 * name has the restore prefix is ever removed, whatever the journal says. */
static void
sweep_journal (int dir_fd, const char *name, GPtrArray *removed)
{
  int fd = claim (dir_fd, name);
  char buf[4097];
  gssize n;

  if (fd < 0)
    return;
  n = q_read_full (fd, buf, sizeof buf - 1);
  if (n > 0)
    {
      g_autofree char *base = NULL;
      struct stat st;

      buf[n] = '\0';
      base = g_path_get_basename (buf);
      if (g_path_is_absolute (buf) && g_str_has_prefix (base, RESTORE_TEMP_PREFIX)
          && lstat (buf, &st) == 0 && S_ISREG (st.st_mode) && unlink (buf) == 0)
        g_ptr_array_add (removed, g_strdup (buf));
    }
  unlinkat (dir_fd, name, 0);
  close (fd);
}

static void
sweep_temp (int dir_fd, const char *name, GPtrArray *removed)
{
  int fd = claim (dir_fd, name);

  if (fd < 0)
    return;
  if (unlinkat (dir_fd, name, 0) == 0)
    g_ptr_array_add (removed, g_strdup (name));
  close (fd);
}

/* An object whose id is recorded as ended: a restore or delete killed
 * between the record and the unlink, or a copy put back. Removed (the
 * ledger is recounted below). */
static void
sweep_ended (QStore *store, const char *name, GPtrArray *removed)
{
  char id[2 * Q_ID_LEN + 1];
  gboolean ended = FALSE;

  if (qobject_name_parse (name, id) && qended_contains (store, id, &ended, NULL) && ended
      && unlinkat (qstore_dir_fd (store), name, 0) == 0)
    {
      g_ptr_array_add (removed, g_strdup (name));
      qledger_begin (store);   /* the size changed: recount it */
    }
}

GPtrArray *
qstore_recover (QStore *store, GError **error)
{
  g_autoptr (GPtrArray) removed = g_ptr_array_new_with_free_func (g_free);
  int dir_fd = qstore_dir_fd (store);
  int fd;
  DIR *dir;
  struct dirent *de;

  if (!qstore_lock (store, error))
    return NULL;
  fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      qstore_unlock (store);
      q_set_errno (error, errsv, "cannot read the quarantine folder", qstore_dir (store));
      return NULL;
    }
  while ((de = readdir (dir)) != NULL)
    {
      if (g_str_has_prefix (de->d_name, ".tmp-"))
        sweep_temp (dir_fd, de->d_name, removed);
      else if (g_str_has_prefix (de->d_name, ".restore-")
               && g_str_has_suffix (de->d_name, ".journal"))
        sweep_journal (dir_fd, de->d_name, removed);
      else
        sweep_ended (store, de->d_name, removed);
    }
  closedir (dir);
  if (removed->len > 0)
    q_fsync (dir_fd);
  /* A ledger left dirty by a killed process, or written before a reboot,
   * is recounted here rather than in the middle of the next put. */
  qledger_size (store);
  qstore_unlock (store);
  return g_steal_pointer (&removed);
}
