/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded reads of a file named by someone else: a command-line argument,
 * a file dropped in a folder. Only a regular file is read: the file is
 * opened without blocking (a FIFO would hang the reader) and checked with
 * fstat(2) on the open descriptor before a byte is read (a device such as
 * /dev/zero would never end), and the read itself stops at the limit,
 * since the file may grow after the check.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/util/io.h"

static gboolean
file_error (GError **error, int errsv, const char *where, const char *what)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv), "%s: %s",
               where, what != NULL ? what : g_strerror (errsv));
  return FALSE;
}

/* Reads all of @fd, known to be a regular file, refusing more than @max. */
static GByteArray *
read_bounded (int fd, const char *where, gsize max, GError **error)
{
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[8192];

  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return file_error (error, errno, where, NULL), NULL;
      if (n == 0)
        return g_steal_pointer (&buf);
      if (buf->len + (gsize) n > max)
        return file_error (error, EFBIG, where, "larger than the limit"), NULL;
      g_byte_array_append (buf, chunk, (guint) n);
    }
}

char *
vigil_fd_read_bounded (int fd, const char *where, gsize max_bytes, gsize *length,
                       GError **error)
{
  g_autoptr (GByteArray) data = NULL;
  g_autofree char *why = NULL;
  struct stat st;

  g_return_val_if_fail (fd >= 0 && where != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (fstat (fd, &st) != 0)
    return file_error (error, errno, where, NULL), NULL;
  if (!S_ISREG (st.st_mode))
    return file_error (error, EINVAL, where, "not a regular file (a FIFO, device or "
                       "folder is refused)"), NULL;
  if ((guint64) st.st_size > max_bytes)
    {
      why = g_strdup_printf ("%" G_GUINT64_FORMAT " bytes, more than the limit of %"
                             G_GSIZE_FORMAT, (guint64) st.st_size, max_bytes);
      return file_error (error, EFBIG, where, why), NULL;
    }
  if ((data = read_bounded (fd, where, max_bytes, error)) == NULL)
    return NULL;
  if (length != NULL)
    *length = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
}

char *
vigil_file_read_bounded (const char *path, gsize max_bytes, gsize *length, GError **error)
{
  int fd;
  char *data;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return file_error (error, errno, path, NULL), NULL;
  data = vigil_fd_read_bounded (fd, path, max_bytes, length, error);
  close (fd);
  return data;
}
