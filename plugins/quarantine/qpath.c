/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The quarantine's device paths: the helper library's safe walk
 * (<vigil/util/path.h>), with its errors in the quarantine's own domain
 * (Q_ERROR_REFUSED, Q_ERROR_NOT_FOUND, Q_ERROR_IO) as the engine and its
 * callers expect them.
 */
#include "qstore.h"

#include <vigil/util/path.h>

/* Re-homes a path error in Q_ERROR, message unchanged. */
static void
translate (GError **error, GError *path_error)
{
  int code = path_error->code == VIGIL_PATH_ERROR_REFUSED     ? Q_ERROR_REFUSED
             : path_error->code == VIGIL_PATH_ERROR_NOT_FOUND ? Q_ERROR_NOT_FOUND
                                                              : Q_ERROR_IO;

  g_set_error_literal (error, Q_ERROR, code, path_error->message);
  g_error_free (path_error);
}

int
qpath_open_parent (int root_fd, const char *path, gboolean create,
                   char **leaf, GError **error)
{
  GError *local = NULL;
  int fd = vigil_path_open_parent (root_fd, path, create, leaf, &local);

  if (fd < 0)
    translate (error, local);
  return fd;
}

int
qpath_open_dir (int root_fd, const char *path, gboolean create, GError **error)
{
  GError *local = NULL;
  int fd = vigil_path_open_dir (root_fd, path, create, &local);

  if (fd < 0)
    translate (error, local);
  return fd;
}

char *
qpath_normalize (const char *path, GError **error)
{
  GError *local = NULL;
  char *normal = vigil_path_normalize (path, &local);

  if (normal == NULL)
    translate (error, local);
  return normal;
}

int
qpath_open_root (const char *host_path, GError **error)
{
  GError *local = NULL;
  int fd = vigil_path_open_root (host_path, &local);

  if (fd < 0)
    translate (error, local);
  return fd;
}

gboolean
qpath_check_component (const char *name, const char *what, GError **error)
{
  GError *local = NULL;

  if (vigil_path_check_component (name, what, &local))
    return TRUE;
  translate (error, local);
  return FALSE;
}
