/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vigil_write_all(): the one loop that keeps calling write(2) until every
 * byte is out. A write may stop short (a signal, a pipe, a nearly full
 * disk) and a plugin that trusts one call loses the tail of its output.
 */
#include "io-private.h"

#include <errno.h>
#include <unistd.h>

#include "vigil/util/io.h"

gboolean
vigil_write_all_with (VigilWriteFunc write_fn, int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write_fn (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          /* write(2) answering 0 for a non-empty buffer would loop forever. */
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
vigil_write_all (int fd, const void *data, gsize len)
{
  return vigil_write_all_with (write, fd, data, len);
}
