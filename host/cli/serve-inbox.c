/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The serve inbox: every *.json file dropped in the folder holds one event
 * envelope. Files are taken in name order, read without following links
 * or blocking on a FIFO, and moved to processed/ or to failed/ next to a
 * NAME.error file that says why, so nothing is read twice and an admin can
 * see what went wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "serve.h"

/* A free name in @folder: NAME, else NAME.1, NAME.2, ... */
static char *
free_path (const char *folder, const char *name)
{
  char *path = g_build_filename (folder, name, NULL);

  for (int i = 1; g_file_test (path, G_FILE_TEST_EXISTS) && i < 10000; i++)
    {
      g_free (path);
      g_autofree char *numbered = g_strdup_printf ("%s.%d", name, i);
      path = g_build_filename (folder, numbered, NULL);
    }
  return path;
}

static void
file_away (Serve *serve, const char *path, const char *name, const char *reason)
{
  g_autofree char *folder = g_build_filename (serve->inbox, reason ? "failed" : "processed", NULL);
  g_autofree char *target = free_path (folder, name);

  if (g_rename (path, target) != 0)
    {
      g_printerr ("vigil serve: cannot move %s to %s: %s\n", path, target, g_strerror (errno));
      g_unlink (path);   /* never process the same file forever */
      return;
    }
  if (reason != NULL)
    {
      g_autofree char *error_path = g_strconcat (target, ".error", NULL);
      g_autofree char *text = g_strconcat (reason, "\n", NULL);
      g_file_set_contents (error_path, text, -1, NULL);
      g_printerr ("vigil serve: %s\n", reason);
    }
}

/* Reads a dropped file without following a link or blocking on a FIFO
 * swapped in, and never more than an envelope's limit. */
static char *
read_dropped_file (const char *path, const char *where, gsize *length, GError **error)
{
  g_autofree char *data = NULL;
  struct stat st;
  gssize n = 0;
  gsize got = 0;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: not a readable regular file (links are not followed)", where);
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  data = g_malloc (VIGIL_HOST_EVENT_MAX_ENVELOPE + 1);
  while (got <= VIGIL_HOST_EVENT_MAX_ENVELOPE
         && (n = read (fd, data + got, VIGIL_HOST_EVENT_MAX_ENVELOPE + 1 - got)) > 0)
    got += (gsize) n;
  close (fd);
  if (n < 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "%s: cannot read it: %s", where, g_strerror (errno));
      return NULL;
    }
  if (got > VIGIL_HOST_EVENT_MAX_ENVELOPE)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: more than %d bytes", where, VIGIL_HOST_EVENT_MAX_ENVELOPE);
      return NULL;
    }
  *length = got;
  return g_steal_pointer (&data);
}

static void
process_inbox_file (Serve *serve, const char *name)
{
  g_autofree char *path = g_build_filename (serve->inbox, name, NULL);
  g_autofree char *where = g_strconcat ("inbox/", name, NULL);
  g_autofree char *data = NULL;
  g_autofree char *id = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return;   /* gone meanwhile */
  data = read_dropped_file (path, where, &length, &error);
  if (data != NULL)
    id = serve_intake (serve, data, length, where, &error);
  file_away (serve, path, name, id ? NULL : error->message);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

void
serve_process_inbox (Serve *serve)
{
  g_autoptr (GDir) dir = g_dir_open (serve->inbox, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.' && g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  /* Oldest name first: writers that number their files keep their order. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    process_inbox_file (serve, names->pdata[i]);
}

gboolean
serve_make_inbox (const char *inbox, GError **error)
{
  const char *subs[] = { "", "processed", "failed" };

  for (gsize i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *path = g_build_filename (inbox, subs[i], NULL);
      if (g_mkdir_with_parents (path, 0700) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "cannot create %s: %s", path, g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}
