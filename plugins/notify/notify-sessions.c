/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finds whether a user account is logged in on a device, and the address of
 * that user's D-Bus session bus. On the machine itself the answer comes from
 * utmp (USER_PROCESS records, read with getutxent under a lock because the
 * utmp functions share static state) and the bus is the standard per-user
 * socket /run/user/<uid>/bus. A lab device (one with a root folder) has no
 * utmp of its own: it lists its sessions in <root>/var/lib/vigil/sessions.json,
 * read defensively (size limit, no symlinks, every field type-checked).
 */
#include "notify-engine.h"

#include <vigil/util/json.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmpx.h>

static GMutex utmp_lock;

void
vn_session_free (VnSession *session)
{
  if (session == NULL)
    return;
  g_free (session->user);
  g_free (session->bus_address);
  g_free (session->source);
  g_free (session);
}

static gboolean
is_machine_root (const char *root)
{
  return root == NULL || *root == '\0' || g_strcmp0 (root, "/") == 0;
}

/* Joins @rel below @root, refusing ".." and symlinked components so that a
 * lab device's files can never point the host at files outside its root. */
static char *
path_in_root (const char *root, const char *rel, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (rel, "/", -1);
  g_autofree char *path = g_strdup (root);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      struct stat st;
      char *next;

      if (*parts[i] == '\0' || g_strcmp0 (parts[i], ".") == 0)
        continue;
      if (g_strcmp0 (parts[i], "..") == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "path '%s' leaves the device root", rel);
          return NULL;
        }
      next = g_build_filename (path, parts[i], NULL);
      g_free (path);
      path = next;
      if (lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "refusing symlink %s inside the device root", path);
          return NULL;
        }
    }
  return g_steal_pointer (&path);
}

/* Reads a small file without following a final symlink. Returns NULL with
 * @error unset when the file does not exist. */
static char *
read_small_file (const char *path, gsize limit, GError **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  g_autofree char *data = NULL;
  gssize n;

  if (fd < 0)
    {
      if (errno != ENOENT)
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                     "cannot open %s: %s", path, g_strerror (errno));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || (gsize) st.st_size > limit)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s is not a regular file of at most %" G_GSIZE_FORMAT " bytes",
                   path, limit);
      close (fd);
      return NULL;
    }
  data = g_malloc0 (st.st_size + 1);
  n = read (fd, data, st.st_size);
  close (fd);
  if (n != st.st_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "short read on %s", path);
      return NULL;
    }
  return g_steal_pointer (&data);
}

static gboolean
session_entry_matches (JsonNode *node, const char *file, guint i,
                       const char *user, GError **error)
{
  JsonObject *entry;
  JsonNode *name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  entry = json_node_get_object (node);
  name = json_object_get_member (entry, "user");
  if (name == NULL || json_node_get_value_type (name) != G_TYPE_STRING)
    goto bad;
  return g_strcmp0 (json_node_get_string (name), user) == 0;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "%s: sessions[%u] must be an object with a string \"user\"", file, i);
  return FALSE;
}

static VnSession *
session_from_entry (JsonObject *entry, const char *root, const char *file,
                    guint i, GError **error)
{
  g_autoptr (VnSession) s = g_new0 (VnSession, 1);
  JsonNode *uid = json_object_get_member (entry, "uid");
  JsonNode *bus = json_object_get_member (entry, "bus");

  s->user = g_strdup (json_object_get_string_member (entry, "user"));
  s->source = g_strdup (file);
  s->uid = -1;
  if (uid != NULL && json_node_get_value_type (uid) == G_TYPE_INT64)
    s->uid = json_node_get_int (uid);
  if (bus != NULL && json_node_get_value_type (bus) == G_TYPE_STRING)
    s->bus_address = g_strdup (json_node_get_string (bus));
  else if (bus != NULL && !JSON_NODE_HOLDS_NULL (bus))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: sessions[%u].bus must be a D-Bus address string", file, i);
      return NULL;
    }
  else if (s->uid >= 0)
    {
      /* Like a real machine: the per-user socket, inside the lab root. */
      g_autofree char *rel = g_strdup_printf ("run/user/%" G_GINT64_FORMAT "/bus", s->uid);
      g_autofree char *sock = path_in_root (root, rel, NULL);
      if (sock != NULL && g_file_test (sock, G_FILE_TEST_EXISTS))
        s->bus_address = g_strdup_printf ("unix:path=%s", sock);
    }
  return g_steal_pointer (&s);
}

static VnSession *
find_in_sessions_file (const char *root, const char *user, char **why,
                       GError **error)
{
  g_autofree char *path = path_in_root (root, VN_SESSIONS_FILE, error);
  g_autofree char *data = NULL;
  g_autoptr (JsonNode) top = NULL;
  JsonArray *list;
  GError *local = NULL;

  if (path == NULL)
    return NULL;
  data = read_small_file (path, VN_SESSIONS_MAX_BYTES, &local);
  if (data == NULL && local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  if (data == NULL)
    {
      *why = g_strdup_printf ("user '%s' is not logged in on this device "
                              "(no sessions are recorded in %s)", user, path);
      return NULL;
    }
  /* The device writes this file: the strict reader, so a second entry
   * for a user or a "\u0000" in a name is refused, not misread. */
  top = vigil_json_parse (data, -1, VIGIL_JSON_STRICT, path, &local);
  if (top == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", local->message);
      g_error_free (local);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (top)
      || !json_object_has_member (json_node_get_object (top), "sessions")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (top), "sessions")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: expected an object with an array \"sessions\"", path);
      return NULL;
    }
  list = json_object_get_array_member (json_node_get_object (top), "sessions");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      gboolean match = session_entry_matches (node, path, i, user, &local);

      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      if (match)
        return session_from_entry (json_node_get_object (node), root, path, i, error);
    }
  *why = g_strdup_printf ("user '%s' is not logged in on this device "
                          "(not among the sessions in %s)", user, path);
  return NULL;
}

static gboolean
utmp_has_user (const char *user)
{
  struct utmpx *ut;
  gboolean found = FALSE;

  g_mutex_lock (&utmp_lock);
  setutxent ();
  while (!found && (ut = getutxent ()) != NULL)
    found = ut->ut_type == USER_PROCESS
            && strncmp (ut->ut_user, user, sizeof ut->ut_user) == 0;
  endutxent ();
  g_mutex_unlock (&utmp_lock);
  return found;
}

static char *
machine_bus_address (gint64 uid)
{
  const char *env = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  g_autofree char *sock = g_strdup_printf ("/run/user/%" G_GINT64_FORMAT "/bus", uid);

  /* Our own session: the environment knows best. */
  if (env != NULL && *env != '\0' && (gint64) getuid () == uid)
    return g_strdup (env);
  if (g_file_test (sock, G_FILE_TEST_EXISTS))
    return g_strdup_printf ("unix:path=%s", sock);
  return NULL;
}

static VnSession *
find_in_utmp (const char *user, char **why)
{
  struct passwd pw, *res = NULL;
  char buf[4096];
  VnSession *s;

  if (strlen (user) > sizeof ((struct utmpx *) NULL)->ut_user || !utmp_has_user (user))
    {
      *why = g_strdup_printf ("user '%s' is not logged in on this device (utmp)", user);
      return NULL;
    }
  s = g_new0 (VnSession, 1);
  s->user = g_strdup (user);
  s->source = g_strdup ("utmp");
  s->uid = -1;
  if (getpwnam_r (user, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
    {
      s->uid = pw.pw_uid;
      s->bus_address = machine_bus_address (s->uid);
    }
  return s;
}

VnSession *
vn_find_session (const char *root, const char *user, char **why,
                 GError **error)
{
  g_return_val_if_fail (user != NULL && why != NULL, NULL);

  if (is_machine_root (root))
    return find_in_utmp (user, why);
  return find_in_sessions_file (root, user, why, error);
}
