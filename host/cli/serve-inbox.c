/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The serve inbox: every *.json file dropped in the folder holds one event
 * envelope. Files are taken in name order, read without following links
 * or blocking on a FIFO, and moved to processed/ or to failed/ next to a
 * NAME.error file that says why, so nothing is read twice and an admin can
 * see what went wrong. Producers may be other, less privileged users, so
 * the folders are checked once when serve starts (ours, not writable by
 * everyone without the sticky bit, subfolders real folders and not links)
 * and then used only through the descriptors opened then: every open,
 * rename and write is relative to a folder's fd and never follows a link,
 * so a producer who swaps processed/ or failed/ for a link cannot make
 * the service move or write a file anywhere else.
 */
#define _GNU_SOURCE   /* renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <vigil/util/io.h>
#include "serve.h"

/* ---- the folders ----------------------------------------------------- */

/* Why @st, the folder @what, must not be trusted by the service, or NULL. */
static char *
folder_problem (const struct stat *st, const char *what)
{
  if (!S_ISDIR (st->st_mode))
    return g_strdup_printf ("%s is not a folder", what);
  if (st->st_uid != geteuid ())
    return g_strdup_printf ("%s is owned by uid %u, not by the user running vigil serve "
                            "(uid %u): refused; chown it to that user", what,
                            (unsigned) st->st_uid, (unsigned) geteuid ());
  if ((st->st_mode & S_IWOTH) != 0 && (st->st_mode & S_ISVTX) == 0)
    return g_strdup_printf ("%s is writable by everyone without the sticky bit (mode %04o): "
                            "anyone could replace what is in it; refused; fix with "
                            "chmod o-w or chmod +t", what, (unsigned) (st->st_mode & 07777));
  return NULL;
}

static gboolean
fail_errno (GError **error, int errsv, const char *what, const char *doing)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: cannot %s: %s",
               what, doing, g_strerror (errsv));
  return FALSE;
}

/* Opens @fd's subfolder @name, creating it first (0700), without
 * following a link, and checks it. Returns the fd or -1 with @error. */
static int
open_subfolder (int fd, const char *inbox, const char *name, GError **error)
{
  g_autofree char *what = g_build_filename (inbox, name, NULL);
  g_autofree char *problem = NULL;
  struct stat st;
  int sub;

  if (mkdirat (fd, name, 0700) != 0 && errno != EEXIST)
    return fail_errno (error, errno, what, "create it"), -1;
  sub = openat (fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sub < 0 && (errno == ELOOP || errno == ENOTDIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   "%s is a link or not a folder: refused (links are never followed; "
                   "remove it and vigil serve creates the folder)", what);
      return -1;
    }
  if (sub < 0)
    return fail_errno (error, errno, what, "open it"), -1;
  if (fstat (sub, &st) != 0 || (problem = folder_problem (&st, what)) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "%s",
                   problem ? problem : g_strerror (errno));
      close (sub);
      return -1;
    }
  return sub;
}

gboolean
serve_open_inbox (Serve *serve, GError **error)
{
  g_autofree char *problem = NULL;
  struct stat st;

  serve->inbox_fd = serve->processed_fd = serve->failed_fd = -1;
  if (g_mkdir_with_parents (serve->inbox, 0700) != 0)
    return fail_errno (error, errno, serve->inbox, "create it");
  serve->inbox_fd = open (serve->inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (serve->inbox_fd < 0)
    return fail_errno (error, errno, serve->inbox, "open it");
  if (fstat (serve->inbox_fd, &st) != 0)
    return fail_errno (error, errno, serve->inbox, "check it");
  if ((problem = folder_problem (&st, serve->inbox)) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "inbox %s", problem);
      return FALSE;
    }
  serve->processed_fd = open_subfolder (serve->inbox_fd, serve->inbox, "processed", error);
  if (serve->processed_fd < 0)
    return FALSE;
  serve->failed_fd = open_subfolder (serve->inbox_fd, serve->inbox, "failed", error);
  return serve->failed_fd >= 0;
}

void
serve_close_inbox (Serve *serve)
{
  int *fds[] = { &serve->inbox_fd, &serve->processed_fd, &serve->failed_fd };

  for (gsize i = 0; i < G_N_ELEMENTS (fds); i++)
    if (*fds[i] >= 0)
      close (*fds[i]), *fds[i] = -1;
}

/* ---- filing a file away ---------------------------------------------- */

/* Moves inbox/@name into @dir_fd under a free name (NAME, else NAME.1,
 * NAME.2, ...), never replacing a file there. Returns the name used. */
static char *
move_to_free_name (Serve *serve, const char *name, int dir_fd)
{
  for (int i = 0; i < 10000; i++)
    {
      g_autofree char *target = i ? g_strdup_printf ("%s.%d", name, i) : g_strdup (name);
      int rc = renameat2 (serve->inbox_fd, name, dir_fd, target, RENAME_NOREPLACE);
      struct stat st;

      /* A file system without RENAME_NOREPLACE: look first, then rename. */
      if (rc != 0 && errno == EINVAL)
        rc = fstatat (dir_fd, target, &st, AT_SYMLINK_NOFOLLOW) == 0
             ? (errno = EEXIST, -1) : renameat (serve->inbox_fd, name, dir_fd, target);
      if (rc == 0)
        return g_steal_pointer (&target);
      if (errno != EEXIST)
        return NULL;
    }
  errno = EEXIST;
  return NULL;
}

static void
write_reason (int dir_fd, const char *target, const char *reason)
{
  g_autofree char *name = g_strconcat (target, ".error", NULL);
  g_autofree char *text = g_strconcat (reason, "\n", NULL);
  int fd = openat (dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 || !vigil_write_all (fd, text, strlen (text)))
    g_printerr ("vigil serve: cannot write failed/%s: %s\n", name, g_strerror (errno));
  if (fd >= 0)
    close (fd);
}

static void
file_away (Serve *serve, const char *name, const char *reason)
{
  const char *sub = reason ? "failed" : "processed";
  g_autofree char *target = move_to_free_name (serve, name,
                                               reason ? serve->failed_fd : serve->processed_fd);

  if (target == NULL)
    {
      g_printerr ("vigil serve: cannot move %s/%s to %s/: %s; removed\n", serve->inbox, name,
                  sub, g_strerror (errno));
      unlinkat (serve->inbox_fd, name, 0);   /* never process the same file forever */
    }
  else if (reason != NULL)
    write_reason (serve->failed_fd, target, reason);
  if (reason != NULL)
    g_printerr ("vigil serve: %s\n", reason);
}

/* ---- taking the files ------------------------------------------------ */

/* Reads a dropped file without following a link or blocking on a FIFO
 * swapped in, and never more than an envelope's limit. NULL with @error,
 * or NULL without one when the file is gone meanwhile. */
static char *
read_dropped_file (Serve *serve, const char *name, const char *where, gsize *length,
                   GError **error)
{
  int fd = openat (serve->inbox_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                                          | O_CLOEXEC);
  char *data;

  if (fd < 0 && errno == ENOENT)
    return NULL;
  if (fd < 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: not a readable regular file (links are not followed): %s", where,
                   g_strerror (errno));
      return NULL;
    }
  data = vigil_fd_read_bounded (fd, where, VIGIL_HOST_EVENT_MAX_ENVELOPE, length, error);
  close (fd);
  return data;
}

static void
process_inbox_file (Serve *serve, const char *name)
{
  g_autofree char *where = g_strconcat ("inbox/", name, NULL);
  g_autofree char *data = NULL;
  g_autofree char *id = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;

  data = read_dropped_file (serve, name, where, &length, &error);
  if (data == NULL && error == NULL)
    return;   /* gone meanwhile */
  if (data != NULL)
    id = serve_intake (serve, data, length, where, &error);
  file_away (serve, name, id ? NULL : error->message);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* The *.json names in the inbox, oldest name first: writers that number
 * their files keep their order. */
static GPtrArray *
list_names (Serve *serve)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  int fd = dup (serve->inbox_fd);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *entry;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return names;
    }
  rewinddir (dir);   /* the dup shares the offset of the last listing */
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.' && g_str_has_suffix (entry->d_name, ".json"))
      g_ptr_array_add (names, g_strdup (entry->d_name));
  closedir (dir);
  g_ptr_array_sort (names, compare_names);
  return names;
}

void
serve_process_inbox (Serve *serve)
{
  g_autoptr (GPtrArray) names = list_names (serve);

  for (guint i = 0; i < names->len; i++)
    process_inbox_file (serve, names->pdata[i]);
}
