/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device paths resolved safely inside a device's root folder. A path from
 * a task, an event or the command line is never trusted: the walk starts
 * at the root's fd and opens one component at a time with O_NOFOLLOW and
 * O_DIRECTORY, so `..`, a symbolic link anywhere on the way and a file
 * where a folder should be are refused, and a folder swapped for a link
 * between two checks cannot lead the walk out of the root. The quarantine
 * and the response actions both go through it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  VIGIL_PATH_ERROR_REFUSED = 1,   /* a path the walk will not follow */
  VIGIL_PATH_ERROR_NOT_FOUND,     /* a component does not exist */
  VIGIL_PATH_ERROR_IO,            /* another system call failure */
} VigilPathError;

#define VIGIL_PATH_ERROR (vigil_path_error_quark ())
GQuark vigil_path_error_quark (void);

/**
 * vigil_path_open_root:
 * @host_path: the device's root folder on this machine
 *
 * Returns: an O_DIRECTORY fd of @host_path, or -1 with @error.
 */
int vigil_path_open_root (const char *host_path, GError **error);

/**
 * vigil_path_open_parent:
 * @root_fd: from vigil_path_open_root()
 * @path: a device path ("/home/a/x.doc"; relative paths are read from the
 *   root too); at most 4096 bytes and 256 components, no `..`
 * @create: create missing folders on the way (mode 0755)
 * @leaf: (out): the last component
 *
 * Returns: an fd of the folder that holds @path's last component, or -1
 *   with @error (REFUSED for `..`, a link, a non-folder on the way, or a
 *   path that names a folder).
 */
int vigil_path_open_parent (int root_fd, const char *path, gboolean create, char **leaf,
                            GError **error);

/**
 * vigil_path_open_dir:
 * Like vigil_path_open_parent() for a folder: returns an fd of @path itself.
 */
int vigil_path_open_dir (int root_fd, const char *path, gboolean create, GError **error);

/**
 * vigil_path_normalize:
 * Returns: (transfer full) @path as "/a/b" (no empty or "." components),
 *   or %NULL with @error when it could not be walked.
 */
char *vigil_path_normalize (const char *path, GError **error);

/**
 * vigil_path_check_component:
 * @name: one file name that must stay inside its folder
 * @what: what it is, for the error ("object id")
 *
 * Returns: %FALSE with REFUSED for an empty name, ".", ".." or a '/'.
 */
gboolean vigil_path_check_component (const char *name, const char *what, GError **error);

G_END_DECLS
