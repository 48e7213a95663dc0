/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record of ended objects: the ids of objects that were restored or
 * deleted, so that a copy of an ended object put back into the folder
 * (from a backup, or by hand) is never restorable again. It is the file
 * `.ended` in the store, one id per line, append-only. Crash safety: the
 * id is appended and fsync-ed, under the store lock, BEFORE the object
 * file is unlinked; a crash in between leaves an object whose id is ended,
 * which every read refuses and the recovery sweep removes (finishing the
 * removal). A crash inside the append leaves a torn last line with no
 * newline: it is ignored (its object was not removed, so it is rightly
 * still restorable), and the next append starts a new line first. The
 * record is as trustworthy as the folder itself: whoever can edit it can
 * also read store.key beside it.
 */
#include "qstore.h"

#include <vigil/util/io.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define QENDED_NAME ".ended"
#define QENDED_LINE (2 * Q_ID_LEN + 1)
/* 2 million ended objects; a larger record is not ours. */
#define QENDED_MAX  (QENDED_LINE * 2 * 1024 * 1024)

gboolean
qended_contains (QStore *store, const char *id, gboolean *ended, GError **error)
{
  int fd = openat (qstore_dir_fd (store), QENDED_NAME,
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  g_autofree char *data = NULL;
  struct stat st;
  gssize n;

  *ended = FALSE;
  if (fd < 0 && errno == ENOENT)
    return TRUE;
  if (fd < 0)
    return q_set_errno (error, errno, "cannot read the record of ended objects", QENDED_NAME);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > QENDED_MAX)
    {
      close (fd);
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "the record of ended objects %s/%s is not a regular file of at "
                   "most %d bytes", qstore_dir (store), QENDED_NAME, QENDED_MAX);
      return FALSE;
    }
  data = g_malloc ((gsize) st.st_size + 1);
  n = q_read_full (fd, data, (gsize) st.st_size);
  close (fd);
  if (n < 0)
    return q_set_errno (error, errno, "cannot read the record of ended objects", QENDED_NAME);
  /* Whole lines only: a torn last line (no newline) does not count. */
  for (gssize off = 0; off + QENDED_LINE <= n; )
    {
      const char *nl = memchr (data + off, '\n', n - off);
      if (nl == NULL)
        break;
      if (nl - (data + off) == 2 * Q_ID_LEN && memcmp (data + off, id, 2 * Q_ID_LEN) == 0)
        {
          *ended = TRUE;
          return TRUE;
        }
      off = nl - data + 1;
    }
  return TRUE;
}

gboolean
qended_add (QStore *store, const char *id, GError **error)
{
  int dir_fd = qstore_dir_fd (store);
  int fd = openat (dir_fd, QENDED_NAME, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  gboolean created = FALSE;
  char line[QENDED_LINE + 2];
  struct stat st;
  char last = '\n';

  if (fd < 0 && errno == ENOENT)
    {
      fd = openat (dir_fd, QENDED_NAME,
                   O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      created = TRUE;
    }
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      return q_set_errno (error, errsv, "cannot write the record of ended objects",
                          QENDED_NAME);
    }
  /* A torn last line from a crash: start a new one. */
  if (st.st_size > 0)
    {
      int rfd = openat (dir_fd, QENDED_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (rfd < 0 || q_pread_full (rfd, &last, 1, st.st_size - 1) != 1)
        last = '\0';
      if (rfd >= 0)
        close (rfd);
    }
  g_snprintf (line, sizeof line, "%s%s\n", last == '\n' ? "" : "\n", id);
  if (!vigil_write_all (fd, line, strlen (line)) || q_fsync (fd) != 0
      || (created && q_fsync (dir_fd) != 0))
    {
      int errsv = errno;
      close (fd);
      return q_set_errno (error, errsv, "cannot write the record of ended objects",
                          QENDED_NAME);
    }
  close (fd);
  return TRUE;
}
