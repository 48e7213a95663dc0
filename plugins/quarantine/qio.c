/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Low-level I/O for the quarantine engine: full reads and writes that retry
 * interrupted and short system calls, the error helpers of the Q_ERROR
 * domain, the bench-only fsync switch and hex encoding. Everything that
 * touches a file descriptor byte by byte goes through here, so the rest of
 * the engine never has to think about EINTR or short counts.
 */
#include "qstore.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

VIGIL_ERROR_DOMAIN_DEFINE (quarantine, q)

gboolean qstore_no_fsync = FALSE;

gboolean
q_set_errno (GError **error, int errsv, const char *what, const char *path)
{
  int code = errsv == ENOENT ? Q_ERROR_NOT_FOUND : Q_ERROR_IO;

  if (path != NULL)
    g_set_error (error, Q_ERROR, code, "%s: %s: %s", what, path,
                 g_strerror (errsv));
  else
    g_set_error (error, Q_ERROR, code, "%s: %s", what, g_strerror (errsv));
  return FALSE;
}

gssize
q_read_full (int fd, void *buf, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = read (fd, (guint8 *) buf + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += n;
    }
  return done;
}

gssize
q_pread_full (int fd, void *buf, gsize len, goffset offset)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = pread (fd, (guint8 *) buf + done, len - done, offset + done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += n;
    }
  return done;
}

gboolean
q_pwrite_full (int fd, const void *buf, gsize len, goffset offset)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = pwrite (fd, (const guint8 *) buf + done, len - done,
                          offset + done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

int
q_fsync (int fd)
{
  if (qstore_no_fsync)
    return 0;
  return fsync (fd);
}

void
q_hex (const guint8 *data, gsize len, char *out)
{
  static const char digits[] = "0123456789abcdef";

  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 0xf];
    }
  out[2 * len] = '\0';
}
