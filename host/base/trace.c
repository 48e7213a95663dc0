/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Trace files of failure diagnosis: one trace log is a set of at most
 * max_files files of at most max_bytes each in a folder the admin names.
 * As the product documentation describes it, when a file is full writing
 * continues in a new one, and when the number of files is reached the
 * oldest is overwritten (with one file, the file starts over). The folder
 * must already exist: like the product, Vigil does not create it, so that a
 * mistyped path in a policy does not scatter folders over devices.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <vigil/util/io.h>

struct _VhTrace {
  char    *folder;
  char    *name;
  guint64  max_bytes;
  guint    max_files;
  int      fd;
  guint64  size;
  dev_t    dev;    /* the file fd is open on, to notice another */
  ino_t    ino;    /* process rotating the same trace log */
};

static char *
file_path (VhTrace *trace, guint index)
{
  g_autofree char *base = index == 0
    ? g_strdup_printf ("%s.log", trace->name)
    : g_strdup_printf ("%s.%u.log", trace->name, index);

  return g_build_filename (trace->folder, base, NULL);
}

static gboolean
open_current (VhTrace *trace, gboolean truncate, GError **error)
{
  g_autofree char *path = file_path (trace, 0);
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
  struct stat st;

  if (truncate)
    flags |= O_TRUNC;
  /* 0600: debug traces may name files and users of the device. */
  trace->fd = open (path, flags, 0600);
  if (trace->fd < 0 || fstat (trace->fd, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open the trace file %s: %s", path, g_strerror (saved));
      if (trace->fd >= 0)
        close (trace->fd);
      trace->fd = -1;
      return FALSE;
    }
  trace->size = st.st_size;
  trace->dev = st.st_dev;
  trace->ino = st.st_ino;
  return TRUE;
}

/* Whether another process rotated the log since we opened it. */
static gboolean
rotated_elsewhere (VhTrace *trace)
{
  g_autofree char *path = file_path (trace, 0);
  struct stat st;

  return stat (path, &st) != 0 || st.st_dev != trace->dev || st.st_ino != trace->ino;
}

VhTrace *
vh_trace_open (const char *folder, const char *name, guint64 max_bytes,
               guint max_files, GError **error)
{
  g_autoptr (VhTrace) trace = NULL;

  g_return_val_if_fail (folder != NULL && name != NULL, NULL);

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the trace folder %s does not exist (create it first)", folder);
      return NULL;
    }
  trace = g_new0 (VhTrace, 1);
  trace->folder = g_strdup (folder);
  trace->name = g_strdup (name);
  trace->max_bytes = MAX (max_bytes, 2);
  trace->max_files = MAX (max_files, 1);
  trace->fd = -1;
  if (!open_current (trace, FALSE, error))
    return NULL;
  return g_steal_pointer (&trace);
}

/* Shifts <name>.log -> .1 -> .2 ...; the last one is overwritten. */
static gboolean
rotate (VhTrace *trace, GError **error)
{
  close (trace->fd);
  trace->fd = -1;
  for (guint i = trace->max_files - 1; i >= 1; i--)
    {
      g_autofree char *from = file_path (trace, i - 1);
      g_autofree char *to = file_path (trace, i);

      if (g_rename (from, to) != 0 && errno != ENOENT)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "cannot rotate the trace file %s: %s", from,
                       g_strerror (saved));
          /* Keep tracing into the current file rather than lose lines. */
          open_current (trace, FALSE, NULL);
          return FALSE;
        }
    }
  return open_current (trace, TRUE, error);
}

/* Other processes of the host may append to or rotate the same log:
 * write to the current file and count its real size. */
static gboolean
follow_current (VhTrace *trace, GError **error)
{
  struct stat st;

  if (trace->fd >= 0 && rotated_elsewhere (trace))
    {
      close (trace->fd);
      trace->fd = -1;
    }
  if (trace->fd < 0)
    return open_current (trace, FALSE, error);
  if (fstat (trace->fd, &st) == 0)
    trace->size = st.st_size;
  return TRUE;
}

gboolean
vh_trace_write (VhTrace *trace, const char *line, GError **error)
{
  gsize len = strlen (line);
  g_autofree char *buf = NULL;

  /* A line never exceeds a file, so a file never exceeds its maximum. */
  if (len + 1 > trace->max_bytes)
    len = trace->max_bytes - 1;
  if (!follow_current (trace, error))
    return FALSE;
  if (trace->size > 0 && trace->size + len + 1 > trace->max_bytes)
    if (!rotate (trace, error))
      return FALSE;
  if (trace->fd < 0 && !open_current (trace, FALSE, error))
    return FALSE;

  buf = g_malloc (len + 1);
  memcpy (buf, line, len);
  buf[len] = '\n';
  if (!vigil_write_all (trace->fd, buf, len + 1))
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot write the trace file in %s: %s", trace->folder,
                   g_strerror (saved));
      return FALSE;
    }
  trace->size += len + 1;
  return TRUE;
}

void
vh_trace_close (VhTrace *trace)
{
  if (trace == NULL)
    return;
  if (trace->fd >= 0)
    close (trace->fd);
  g_free (trace->folder);
  g_free (trace->name);
  g_free (trace);
}
