/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.delete: deletes a file, a symbolic link or, only when asked to, a
 * folder with everything it holds, on a device. The path is walked from
 * the device's root one component at a time (<vigil/util/path.h>): `..`
 * and a symbolic link on the way are refused, and inside a folder being
 * deleted a link is deleted itself, never followed. Before anything is
 * touched, the path is checked against the policy's protected paths and
 * the agent's own state folder. Each object is examined through its own
 * fd (a regular file is hashed, SHA-256 and MD5, from an fd opened without
 * following links and checked to be the same file), optionally copied
 * into the quarantine first, and deleted only if it is still the object
 * that was examined. A folder is not crossed into another file system (a
 * mount inside it is left alone). What could not be deleted is listed
 * with the reason, beside what was.
 */
#include "resp-file-delete.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <vigil/util/path.h>
#include <vigil/util/users.h>

/* As deep as the path walk goes: each level holds an open folder. */
#define MAX_DEPTH 256

const VigilField resp_delete_params[RESP_N_DELETE_PARAMS] = {
  { .key = "path", .type = VIGIL_FIELD_PATH, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "The file, link or folder to delete (absolute, on the device)." },
  { .key = "recursive", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Needed to delete a folder: the folder and everything it holds." },
  { .key = "quarantine", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Copy each file into the device's quarantine before it is deleted "
                   "(needs the quarantine plugin)." },
};

const VigilField resp_delete_settings[RESP_N_DELETE_SETTINGS] = {
  { .key = "protected_paths", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .has_range = TRUE, .min = 0, .max = 1024,
    .default_json = "[\"/\", \"/bin/**\", \"/boot/**\", \"/dev/**\", \"/etc/**\", "
                    "\"/lib/**\", \"/lib32/**\", \"/lib64/**\", \"/libx32/**\", \"/proc/**\", "
                    "\"/root\", \"/run/**\", \"/sbin/**\", \"/sys/**\", \"/usr/bin/**\", "
                    "\"/usr/lib/**\", \"/usr/lib32/**\", \"/usr/lib64/**\", "
                    "\"/usr/libexec/**\", \"/usr/sbin/**\", "
                    "\"/var/lib/vigil/**\"]",
    .description = "Device paths file.delete refuses: \"/p\" protects /p itself, \"/p/**\" "
                   "also everything under it; a folder that holds a protected path is "
                   "refused too." },
};

/* ---- protected paths ------------------------------------------------ */

char *
resp_delete_protected_check (const char *entry)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = NULL;
  const char *star;

  if (entry == NULL || entry[0] != '/')
    return g_strdup ("must be an absolute path");
  star = strchr (entry, '*');
  if (star != NULL && !(g_str_has_suffix (entry, "/**") && star == entry + strlen (entry) - 2))
    return g_strdup ("'*' is allowed only as a final \"/**\" (everything under the folder)");
  base = g_strndup (entry, star != NULL ? (gsize) (star - entry) : strlen (entry));
  g_autofree char *norm = vigil_path_normalize (base, &error);
  if (norm == NULL)
    return g_strdup (error->message);
  return NULL;
}

/* Whether @path lies strictly under @base (both normalized). */
static gboolean
is_under (const char *path, const char *base)
{
  gsize n = strlen (base);

  if (strcmp (base, "/") == 0)
    return path[1] != '\0';
  return strncmp (path, base, n) == 0 && path[n] == '/';
}

/* The refusal of @path by @base ("protects itself") or, with @subtree,
 * by everything under it; NULL when @base does not protect @path. */
static char *
refusal_by (const char *path, const char *base, gboolean subtree, const char *what)
{
  if (strcmp (path, base) == 0)
    return g_strdup_printf ("%s is protected (%s)", path, what);
  if (is_under (base, path))
    return g_strdup_printf ("%s holds %s, which is protected (%s)", path, base, what);
  if (subtree && is_under (path, base))
    return g_strdup_printf ("%s is under %s, protected with everything it holds (%s)",
                            path, base, what);
  return NULL;
}

/* The state folder as a device path of @root, or NULL when it is not
 * inside the device's root (a lab device elsewhere on the machine). */
static char *
state_in_device (const char *root, const char *state_dir)
{
  g_autofree char *real_root = realpath (root, NULL);
  g_autofree char *real_state = state_dir != NULL ? realpath (state_dir, NULL) : NULL;

  if (real_root == NULL || real_state == NULL)
    return NULL;
  if (strcmp (real_root, "/") == 0)
    return g_steal_pointer (&real_state);
  if (strcmp (real_state, real_root) == 0)
    return g_strdup ("/");
  if (is_under (real_state, real_root))
    return g_strdup (real_state + strlen (real_root));
  return NULL;
}

char *
resp_delete_refusal (const RespDelete *req, const char *path)
{
  g_autofree char *state = state_in_device (req->root, req->state_dir);
  char *why;

  if (strcmp (path, "/") == 0)
    return g_strdup ("the device's root folder is never deleted");
  if (state != NULL
      && (why = refusal_by (path, state, TRUE, "the agent's own state folder")) != NULL)
    return why;
  for (guint i = 0; req->protected_paths != NULL && req->protected_paths[i] != NULL; i++)
    {
      const char *entry = req->protected_paths[i];
      gboolean subtree = g_str_has_suffix (entry, "/**");
      g_autofree char *raw = g_strndup (entry, strlen (entry) - (subtree ? 3 : 0));
      g_autofree char *bad = resp_delete_protected_check (entry);
      g_autofree char *base = NULL;
      g_autofree char *what = NULL;

      /* The policy check refuses a bad entry before it gets here. */
      if (bad != NULL
          || (base = vigil_path_normalize (*raw != '\0' ? raw : "/", NULL)) == NULL)
        continue;
      what = g_strdup_printf ("policy respond.file_deletion.protected_paths: \"%s\"", entry);
      if ((why = refusal_by (path, base, subtree, what)) != NULL)
        return why;
    }
  return NULL;
}

/* ---- one walk ------------------------------------------------------- */

typedef struct {
  const RespDelete *req;
  GCancellable     *cancellable;
  dev_t             top_dev;
  GHashTable       *users;       /* the device's etc/passwd, or NULL */
  GHashTable       *names;       /* uid -> name cache */
  JsonArray        *deleted;
  JsonArray        *not_deleted;
} Walk;

static const char *
type_name (mode_t mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFREG:  return "file";
    case S_IFDIR:  return "folder";
    case S_IFLNK:  return "symlink";
    case S_IFIFO:  return "fifo";
    case S_IFSOCK: return "socket";
    case S_IFCHR:  return "char_device";
    case S_IFBLK:  return "block_device";
    default:       return "other";
    }
}

/* File names need not be UTF-8; JSON strings must be. */
static JsonObject *
describe (Walk *w, const char *dpath, const struct stat *st)
{
  JsonObject *o = json_object_new ();
  g_autofree char *shown = g_utf8_make_valid (dpath, -1);
  g_autofree char *mode = g_strdup_printf ("%04o", (guint) (st->st_mode & 07777));

  json_object_set_string_member (o, "path", shown);
  json_object_set_string_member (o, "type", type_name (st->st_mode));
  json_object_set_int_member (o, "size", S_ISREG (st->st_mode) ? (gint64) st->st_size : 0);
  json_object_set_int_member (o, "uid", st->st_uid);
  json_object_set_string_member (o, "owner", vigil_users_name (w->users, w->names, st->st_uid));
  json_object_set_int_member (o, "gid", st->st_gid);
  json_object_set_string_member (o, "mode", mode);
  json_object_set_int_member (o, "mtime", (gint64) st->st_mtim.tv_sec);
  return o;
}

static void
not_deleted (Walk *w, JsonObject *rec, const char *reason)
{
  json_object_set_string_member (rec, "reason", reason);
  json_array_add_object_element (w->not_deleted, rec);
}

static gboolean
same_object (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
         && (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

/* Whether @name in @dir_fd is still the object examined as @st, with the
 * same size and modification time. */
static gboolean
unchanged (int dir_fd, const char *name, const struct stat *st)
{
  struct stat now;

  return fstatat (dir_fd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && same_object (&now, st)
         && now.st_size == st->st_size && now.st_mtim.tv_sec == st->st_mtim.tv_sec
         && now.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* SHA-256 and MD5 of the regular file @name, read through an fd opened
 * without following a link or blocking on a FIFO swapped in, checked to
 * be the file examined. */
static char *
hash_file (Walk *w, int dir_fd, const char *name, const struct stat *st, JsonObject *rec)
{
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  guint8 buf[65536];
  struct stat fst;
  ssize_t n;
  int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

  if (fd < 0)
    return g_strdup_printf ("cannot be read to record its hashes: %s", g_strerror (errno));
  if (fstat (fd, &fst) != 0 || !same_object (&fst, st))
    {
      close (fd);
      return g_strdup ("was replaced while it was examined");
    }
  while ((n = read (fd, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          close (fd);
          return g_strdup_printf ("cannot be read to record its hashes: %s", g_strerror (e));
        }
      g_checksum_update (sha, buf, n);
      g_checksum_update (md5, buf, n);
      if (g_cancellable_is_cancelled (w->cancellable))
        {
          close (fd);
          return g_strdup ("cancelled while it was hashed");
        }
    }
  close (fd);
  json_object_set_string_member (rec, "sha256", g_checksum_get_string (sha));
  json_object_set_string_member (rec, "md5", g_checksum_get_string (md5));
  return NULL;
}

/* A file, link or other non-folder: examined, copied if asked, deleted. */
static void
delete_entry (Walk *w, int dir_fd, const char *name, const char *dpath, const struct stat *st)
{
  JsonObject *rec = describe (w, dpath, st);
  g_autofree char *why = NULL;

  if (S_ISREG (st->st_mode) && (why = hash_file (w, dir_fd, name, st, rec)) != NULL)
    return not_deleted (w, rec, why);
  if (S_ISLNK (st->st_mode))
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (dir_fd, name, target, sizeof target - 1);

      if (n >= 0)
        {
          g_autofree char *shown = NULL;
          target[n] = '\0';
          shown = g_utf8_make_valid (target, -1);
          json_object_set_string_member (rec, "target", shown);
        }
    }
  if (w->req->quarantine != NULL && S_ISREG (st->st_mode))
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *object = NULL;

      if (!w->req->quarantine (dpath, json_object_get_string_member (rec, "sha256"),
                               w->req->quarantine_data, &object, &error))
        {
          why = g_strdup_printf ("not deleted: the copy into the quarantine failed: %s",
                                 error->message);
          return not_deleted (w, rec, why);
        }
      json_object_set_string_member (rec, "quarantine_id", object);
    }
  if (!unchanged (dir_fd, name, st))
    return not_deleted (w, rec, "changed while it was examined: not deleted");
  if (unlinkat (dir_fd, name, 0) != 0)
    {
      why = g_strdup_printf ("cannot be deleted: %s", g_strerror (errno));
      return not_deleted (w, rec, why);
    }
  json_array_add_object_element (w->deleted, rec);
}

/* The names in the folder @fd, read before anything is deleted. */
static GPtrArray *
list_names (int fd, int *errsv)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  int dup_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  struct dirent *d;

  *errsv = 0;
  if (dir == NULL)
    {
      *errsv = errno;
      if (dup_fd >= 0)
        close (dup_fd);
      return names;
    }
  while ((d = readdir (dir)) != NULL)
    if (strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (d->d_name));
  closedir (dir);
  return names;
}

static void walk_object (Walk *w, int dir_fd, const char *name, const char *dpath,
                         guint depth);

/* A folder: what it holds first (depth first), then the folder itself. */
static void
delete_tree (Walk *w, int parent_fd, const char *name, const char *dpath,
             const struct stat *st, guint depth)
{
  JsonObject *rec = describe (w, dpath, st);
  g_autoptr (GPtrArray) names = NULL;
  g_autofree char *why = NULL;
  struct stat fst;
  int fd, errsv;

  if (st->st_dev != w->top_dev)
    return not_deleted (w, rec, "another file system is mounted here: it is not crossed");
  if (depth >= MAX_DEPTH)
    return not_deleted (w, rec, "nested deeper than 256 folders: not deleted");
  fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &fst) != 0 || !same_object (&fst, st))
    {
      why = g_strdup_printf ("cannot be opened as the folder examined: %s",
                             fd < 0 ? g_strerror (errno) : "it was replaced");
      if (fd >= 0)
        close (fd);
      return not_deleted (w, rec, why);
    }
  names = list_names (fd, &errsv);
  for (guint i = 0; i < names->len && !g_cancellable_is_cancelled (w->cancellable); i++)
    {
      g_autofree char *child = g_strconcat (dpath, "/", (const char *) names->pdata[i], NULL);
      walk_object (w, fd, names->pdata[i], child, depth + 1);
    }
  close (fd);
  if (errsv != 0)
    why = g_strdup_printf ("cannot be listed: %s", g_strerror (errsv));
  else if (g_cancellable_is_cancelled (w->cancellable))
    why = g_strdup ("cancelled before the folder was deleted");
  else if (unlinkat (parent_fd, name, AT_REMOVEDIR) != 0)
    why = errno == ENOTEMPTY || errno == EEXIST
            ? g_strdup ("not empty: something inside was not deleted (see not_deleted)")
            : g_strdup_printf ("cannot be deleted: %s", g_strerror (errno));
  if (why != NULL)
    return not_deleted (w, rec, why);
  json_array_add_object_element (w->deleted, rec);
}

static void
walk_object (Walk *w, int dir_fd, const char *name, const char *dpath, guint depth)
{
  struct stat st;

  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      JsonObject *rec = json_object_new ();
      g_autofree char *shown = g_utf8_make_valid (dpath, -1);
      g_autofree char *why = g_strdup_printf ("cannot be examined: %s", g_strerror (errno));

      json_object_set_string_member (rec, "path", shown);
      return not_deleted (w, rec, why);
    }
  if (S_ISDIR (st.st_mode))
    delete_tree (w, dir_fd, name, dpath, &st, depth);
  else
    delete_entry (w, dir_fd, name, dpath, &st);
}

/* ---- the task's action ---------------------------------------------- */

/* The parent folder of @path inside the root, and the object's stat. */
static int
open_target (const RespDelete *req, const char *path, char **leaf, struct stat *st,
             GError **error)
{
  g_autoptr (GError) local = NULL;
  int root_fd = vigil_path_open_root (req->root, &local);
  int dir_fd = root_fd >= 0 ? vigil_path_open_parent (root_fd, path, FALSE, leaf, &local) : -1;

  if (root_fd >= 0)
    close (root_fd);
  if (dir_fd < 0)
    {
      g_set_error (error, G_IO_ERROR,
                   g_error_matches (local, VIGIL_PATH_ERROR, VIGIL_PATH_ERROR_NOT_FOUND)
                     ? G_IO_ERROR_NOT_FOUND : G_IO_ERROR_PERMISSION_DENIED,
                   "params.path: %s", local->message);
      return -1;
    }
  if (fstatat (dir_fd, *leaf, st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "params.path: %s: %s",
                   path, e == ENOENT ? "no such file or folder on the device" : g_strerror (e));
      close (dir_fd);
      return -1;
    }
  return dir_fd;
}

JsonObject *
resp_file_delete (const RespDelete *req, const char *path, GCancellable *cancellable,
                  gboolean *all_deleted, GError **error)
{
  g_autoptr (GHashTable) names = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr (GHashTable) users = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *norm = vigil_path_normalize (path, &local);
  g_autofree char *why = NULL;
  g_autofree char *leaf = NULL;
  JsonObject *result;
  struct stat st;
  Walk w = { .req = req, .cancellable = cancellable, .names = names };
  int dir_fd;

  *all_deleted = FALSE;
  if (norm == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "params.path: %s",
                   local->message);
      return NULL;
    }
  if ((why = resp_delete_refusal (req, norm)) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "params.path: refused: %s", why);
      return NULL;
    }
  dir_fd = open_target (req, norm, &leaf, &st, error);
  if (dir_fd < 0)
    return NULL;
  if (S_ISDIR (st.st_mode) && !req->recursive)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY,
                   "params.path: %s is a folder: deleting a folder and all it holds "
                   "needs recursive", norm);
      close (dir_fd);
      return NULL;
    }
  users = vigil_users_load (req->root);
  w.users = users;
  w.top_dev = st.st_dev;
  w.deleted = json_array_new ();
  w.not_deleted = json_array_new ();
  walk_object (&w, dir_fd, leaf, norm, 0);
  close (dir_fd);
  result = json_object_new ();
  json_object_set_string_member (result, "path", norm);
  json_object_set_string_member (result, "type", type_name (st.st_mode));
  json_object_set_boolean_member (result, "recursive", req->recursive);
  json_object_set_boolean_member (result, "quarantine", req->quarantine != NULL);
  *all_deleted = json_array_get_length (w.not_deleted) == 0
                 && !g_cancellable_is_cancelled (cancellable);
  json_object_set_array_member (result, "deleted", w.deleted);
  json_object_set_array_member (result, "not_deleted", w.not_deleted);
  return result;
}
