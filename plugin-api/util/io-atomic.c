/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vigil_file_write_atomic(): replace a file so that a crash leaves the old
 * or the new contents. The order is what makes it safe: the data reaches
 * the disk (fsync of the temporary file) before the rename makes it
 * visible, and the folder is fsynced after, so the rename itself survives
 * a power cut. g_file_set_contents() does the first two but not the last.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vigil/util/io.h"

static gboolean
fail (GError **error, int errsv, const char *step, const char *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv),
               "%s %s: %s", step, path, g_strerror (errsv));
  return FALSE;
}

static gboolean
sync_folder (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int errsv;

  if (fd < 0)
    return fail (error, errno, "cannot open the folder", dir);
  if (fsync (fd) == 0)
    return close (fd), TRUE;
  errsv = errno;
  close (fd);
  return fail (error, errsv, "cannot sync the folder", dir);
}

/* Writes and syncs the open temporary file; closes it either way. */
static gboolean
fill (int fd, const char *tmp, const void *data, gsize len, int mode, GError **error)
{
  int errsv = 0;
  const char *step = NULL;

  if (fchmod (fd, (mode_t) mode) != 0)
    errsv = errno, step = "cannot set the mode of";
  else if (!vigil_write_all (fd, data, len))
    errsv = errno, step = "cannot write";
  else if (fsync (fd) != 0)
    errsv = errno, step = "cannot sync";
  if (close (fd) != 0 && step == NULL)
    errsv = errno, step = "cannot write";
  return step == NULL || fail (error, errsv, step, tmp);
}

gboolean
vigil_file_write_atomic (const char *path, const void *data, gsize len,
                         int mode, GError **error)
{
  g_autofree char *tmp = NULL;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  tmp = g_strconcat (path, ".XXXXXX", NULL);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail (error, errno, "cannot create a temporary file for", path);
  if (!fill (fd, tmp, data, len, mode, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  if (rename (tmp, path) != 0)
    {
      int errsv = errno;
      g_unlink (tmp);
      return fail (error, errsv, "cannot replace", path);
    }
  return sync_folder (path, error);
}
