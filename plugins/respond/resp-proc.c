/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the response actions know about a process, read from /proc: its
 * parent, its start time (so that a PID reused between reading and acting
 * is told apart) and its executable. /proc files are read with bounded
 * reads; a process that exits while being read is simply gone.
 */
#include "resp-engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

void
resp_proc_clear (RespProc *p)
{
  g_clear_pointer (&p->exe, g_free);
}

/* /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...". comm may
 * hold spaces and parentheses, so fields are counted after the last ')'. */
static gboolean
parse_stat (const char *text, int *ppid, guint64 *start_time)
{
  const char *p = strrchr (text, ')');
  int field = 2;

  if (p == NULL)
    return FALSE;
  for (p++; *p != '\0'; p++)
    {
      if (*p != ' ')
        continue;
      field++;
      if (field == 4)
        *ppid = (int) strtol (p + 1, NULL, 10);
      else if (field == 22)
        {
          *start_time = g_ascii_strtoull (p + 1, NULL, 10);
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
resp_proc_read (int pid, RespProc *out, GError **error)
{
  char path[64], buf[1024], exe[4096];
  ssize_t n;
  int fd;

  memset (out, 0, sizeof *out);
  out->pid = pid;
  g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, e == ENOENT ? G_IO_ERROR_NOT_FOUND : g_io_error_from_errno (e),
                   "no process with PID %d", pid);
      return FALSE;
    }
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no process with PID %d", pid);
      return FALSE;
    }
  buf[n] = '\0';
  if (!parse_stat (buf, &out->ppid, &out->start_time))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: unexpected format", path);
      return FALSE;
    }
  g_snprintf (path, sizeof path, "/proc/%d/exe", pid);
  n = readlink (path, exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      out->exe = g_strdup (exe);
    }
  return TRUE;
}

GArray *
resp_proc_list (void)
{
  GArray *procs = g_array_new (FALSE, TRUE, sizeof (RespProc));
  g_autoptr (GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_array_set_clear_func (procs, (GDestroyNotify) resp_proc_clear);
  if (dir == NULL)
    return procs;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      RespProc p;
      guint64 pid;

      if (!g_ascii_string_to_unsigned (name, 10, 1, G_MAXINT, &pid, NULL))
        continue;
      if (resp_proc_read ((int) pid, &p, NULL))
        g_array_append_val (procs, p);
    }
  return procs;
}

char *
resp_file_sha256 (const char *path, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 buf[65536];
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  while ((n = read (fd, buf, sizeof buf)) > 0)
    g_checksum_update (sum, buf, n);
  if (n < 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  close (fd);
  return g_strdup (g_checksum_get_string (sum));
}
