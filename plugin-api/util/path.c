/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Safe resolution of device paths inside a device's root (see
 * <vigil/util/path.h>). Moved here from the quarantine so that every
 * plugin that touches a device's files walks them the same way.
 */
#include <vigil/util/path.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

GQuark
vigil_path_error_quark (void)
{
  return g_quark_from_static_string ("vigil-path-error");
}

/* "what: path: strerror", NOT_FOUND for ENOENT. Returns -1. */
static int
set_errno (GError **error, int errsv, const char *what, const char *path)
{
  int code = errsv == ENOENT ? VIGIL_PATH_ERROR_NOT_FOUND : VIGIL_PATH_ERROR_IO;

  if (path != NULL)
    g_set_error (error, VIGIL_PATH_ERROR, code, "%s: %s: %s", what, path, g_strerror (errsv));
  else
    g_set_error (error, VIGIL_PATH_ERROR, code, "%s: %s", what, g_strerror (errsv));
  return -1;
}

#define PATH_MAX_LEN        4096
#define PATH_MAX_COMPONENTS 256

/* Splits @path into its components, refusing what cannot be walked safely.
 * Returns: (transfer full) a NULL-terminated vector, or NULL with @error. */
static GStrv
split_path (const char *path, GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  if (path == NULL || *path == '\0' || strlen (path) > PATH_MAX_LEN)
    {
      g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                   "path is empty or longer than %d bytes", PATH_MAX_LEN);
      return NULL;
    }
  parts = g_strsplit (path, "/", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      if (**p == '\0' || strcmp (*p, ".") == 0)
        continue;
      if (strcmp (*p, "..") == 0)
        {
          g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                       "path %s contains '..'; paths must stay inside the "
                       "device root", path);
          return NULL;
        }
      g_ptr_array_add (out, g_strdup (*p));
    }
  if (out->len > PATH_MAX_COMPONENTS)
    {
      g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                   "path %s has more than %d components", path,
                   PATH_MAX_COMPONENTS);
      return NULL;
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static int
open_component (int dir_fd, const char *name, const char *path,
                gboolean create, GError **error)
{
  int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat (dir_fd, name, flags);

  if (fd < 0 && errno == ENOENT && create)
    {
      if (mkdirat (dir_fd, name, 0755) < 0 && errno != EEXIST)
        {
          set_errno (error, errno, "cannot create folder", path);
          return -1;
        }
      fd = openat (dir_fd, name, flags);
    }
  if (fd >= 0)
    return fd;
  if (errno == ENOTDIR)
    {
      /* O_DIRECTORY wins over O_NOFOLLOW for the error code: ask lstat. */
      struct stat st;
      if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        errno = ELOOP;
      else
        errno = ENOTDIR;
    }
  if (errno == ELOOP)
    g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                 "path %s goes through a symbolic link (%s); refused", path, name);
  else if (errno == ENOTDIR)
    g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                 "path %s goes through %s, which is not a folder", path, name);
  else
    set_errno (error, errno, "cannot open folder", path);
  return -1;
}

static int
walk (int root_fd, char **parts, guint n, const char *path, gboolean create,
      GError **error)
{
  int fd = fcntl (root_fd, F_DUPFD_CLOEXEC, 0);

  if (fd < 0)
    {
      set_errno (error, errno, "cannot open the root", NULL);
      return -1;
    }
  for (guint i = 0; i < n; i++)
    {
      int next = open_component (fd, parts[i], path, create, error);
      close (fd);
      if (next < 0)
        return -1;
      fd = next;
    }
  return fd;
}

int
vigil_path_open_parent (int root_fd, const char *path, gboolean create,
                   char **leaf, GError **error)
{
  g_auto (GStrv) parts = split_path (path, error);
  guint n;
  int fd;

  if (parts == NULL)
    return -1;
  n = g_strv_length (parts);
  if (n == 0 || g_str_has_suffix (path, "/"))
    {
      g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                   "path %s names a folder, not a file", path);
      return -1;
    }
  fd = walk (root_fd, parts, n - 1, path, create, error);
  if (fd >= 0)
    *leaf = g_strdup (parts[n - 1]);
  return fd;
}

int
vigil_path_open_dir (int root_fd, const char *path, gboolean create, GError **error)
{
  g_auto (GStrv) parts = split_path (path, error);

  if (parts == NULL)
    return -1;
  return walk (root_fd, parts, g_strv_length (parts), path, create, error);
}

char *
vigil_path_normalize (const char *path, GError **error)
{
  g_auto (GStrv) parts = split_path (path, error);
  g_autofree char *joined = NULL;

  if (parts == NULL)
    return NULL;
  joined = g_strjoinv ("/", parts);
  return g_strconcat ("/", joined, NULL);
}

int
vigil_path_open_root (const char *host_path, GError **error)
{
  int fd = open (host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    set_errno (error, errno, "cannot open folder", host_path);
  return fd;
}

gboolean
vigil_path_check_component (const char *name, const char *what, GError **error)
{
  /* "." and ".." would name the folder itself or its parent, and a '/'
   * more than one folder: the path built from @name would leave the folder
   * it is meant to stay in. */
  if (name == NULL || *name == '\0' || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0 || strchr (name, '/') != NULL)
    {
      g_set_error (error, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_REFUSED,
                   "%s '%s' cannot name a folder (empty, '.', '..' or with a '/'); refused",
                   what, name != NULL ? name : "");
      return FALSE;
    }
  return TRUE;
}
