/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.get's engine: the parameters, and opening the file to retrieve
 * safely inside the device's root. The path is walked from the root's fd
 * one component at a time (<vigil/util/path.h>), so `..`, a symbolic link
 * anywhere on the way or as the file itself, and a file where a folder
 * should be are refused; the file is opened without blocking (a FIFO
 * swapped in cannot hang the agent) and checked on its fd: only a regular
 * file is retrieved, never a folder, FIFO, socket or device, and never
 * one over the size limit. What is read is what was checked: the same fd
 * goes to the evidence store.
 */
#include "resp-engine.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <vigil/util/path.h>

const VigilField resp_get_params[RESP_N_GET_PARAMS] = {
  { .key = "path", .type = VIGIL_FIELD_PATH,
    .description = "The file to retrieve (absolute, on the device): a regular file, reached "
                   "without a symbolic link or '..'." },
};

char *
resp_get_check (JsonObject *params, const char **key)
{
  JsonNode *n = json_object_get_member (params, "path");
  const char *path = n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : NULL;
  g_auto (GStrv) parts = NULL;

  *key = "path";
  if (path == NULL)
    return g_strdup ("is required: the file to retrieve");
  if (path[0] != '/')
    return g_strdup_printf ("'%s' is not an absolute path", path);
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".."))
      return g_strdup_printf ("'%s' has a '..' component: give the file's own path", path);
  if (g_str_has_suffix (path, "/"))
    return g_strdup_printf ("'%s' names a folder: give a file", path);
  return NULL;
}

static const char *
kind_of (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device";
  return "not a regular file";
}

int
resp_file_open (const char *root, const char *path, gint64 max_bytes, gint64 *size,
                GError **error)
{
  g_autofree char *leaf = NULL;
  struct stat st;
  int root_fd, dir_fd, fd, errsv;

  if ((root_fd = vigil_path_open_root (root, error)) < 0)
    return -1;
  dir_fd = vigil_path_open_parent (root_fd, path, FALSE, &leaf, error);
  close (root_fd);
  if (dir_fd < 0)
    {
      g_prefix_error (error, "params.path: ");
      return -1;
    }
  fd = openat (dir_fd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  errsv = errno;
  close (dir_fd);
  if (fd < 0)
    {
      if (errsv == ELOOP)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                     "params.path: %s is a symbolic link: refused (give the file it leads to, "
                     "inside the device's root)", path);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "params.path: %s: %s",
                     path, g_strerror (errsv));
      return -1;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "params.path: %s is %s: only a regular file is retrieved", path,
                   kind_of (st.st_mode));
      close (fd);
      return -1;
    }
  if (st.st_size > max_bytes)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "params.path: %s is %" G_GINT64_FORMAT " bytes, over the limit of %"
                   G_GINT64_FORMAT " bytes (policy respond, get_file.max_size_mb): not retrieved",
                   path, (gint64) st.st_size, max_bytes);
      close (fd);
      return -1;
    }
  /* Reads of a regular file never block; the flag only guarded the open. */
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  *size = st.st_size;
  return fd;
}
