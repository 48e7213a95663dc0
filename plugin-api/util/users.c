/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A device's user names (see <vigil/util/users.h>). Moved here from the
 * IOC scan when the response actions needed the same owners.
 */
#include "vigil/util/users.h"

#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "vigil/util/io.h"
#include "vigil/util/path.h"

/* Far more than any real passwd (about 100 bytes a user). */
#define MAX_PASSWD_SIZE (8 * 1024 * 1024)
#define MAX_NAME_LEN 256

static gboolean
sane_name (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > MAX_NAME_LEN || !g_utf8_validate (name, (gssize) len, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* One line: the first entry for a uid wins, as getpwuid finds it. */
static void
parse_line (GHashTable *users, const char *line)
{
  g_auto (GStrv) fields = NULL;
  guint64 uid;

  if (line[0] == '\0' || line[0] == '#' || line[0] == '+' || line[0] == '-')
    return;
  fields = g_strsplit (line, ":", 4);
  if (g_strv_length (fields) < 3 || !sane_name (fields[0])
      || !g_ascii_string_to_unsigned (fields[2], 10, 0, G_MAXUINT32 - 1, &uid, NULL)
      || g_hash_table_contains (users, GUINT_TO_POINTER ((guint) uid)))
    return;
  g_hash_table_insert (users, GUINT_TO_POINTER ((guint) uid), g_strdup (fields[0]));
}

GHashTable *
vigil_users_parse (const char *text, gsize len)
{
  GHashTable *users = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autofree char *copy = g_strndup (text, len);   /* stops at a NUL, too */
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    parse_line (users, g_strchomp (lines[i]));
  return users;
}

GHashTable *
vigil_users_load (const char *root)
{
  g_autofree char *leaf = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  int root_fd, dir_fd, fd;

  if (root == NULL || strcmp (root, "/") == 0)
    return NULL;
  root_fd = vigil_path_open_root (root, NULL);
  if (root_fd < 0)
    return NULL;
  dir_fd = vigil_path_open_parent (root_fd, "/etc/passwd", FALSE, &leaf, NULL);
  close (root_fd);
  if (dir_fd < 0)
    return NULL;
  /* O_NOFOLLOW: a link, even one inside the root, is not followed;
   * O_NONBLOCK: a FIFO put there cannot hang the open. */
  fd = openat (dir_fd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  close (dir_fd);
  if (fd < 0)
    return NULL;
  text = vigil_fd_read_bounded (fd, "etc/passwd", MAX_PASSWD_SIZE, &len, NULL);
  close (fd);
  return text != NULL ? vigil_users_parse (text, len) : NULL;
}

const char *
vigil_users_name (GHashTable *device_users, GHashTable *cache, uid_t uid)
{
  const char *name = g_hash_table_lookup (cache, GUINT_TO_POINTER (uid));
  struct passwd pw, *res = NULL;
  char buf[1024];

  if (name != NULL)
    return name;
  if (device_users != NULL)
    name = g_strdup (g_hash_table_lookup (device_users, GUINT_TO_POINTER (uid)));
  else if (getpwuid_r (uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
    name = g_strdup (pw.pw_name);
  if (name == NULL)
    name = g_strdup_printf ("%u", (guint) uid);
  g_hash_table_insert (cache, GUINT_TO_POINTER (uid), (char *) name);
  return name;
}
