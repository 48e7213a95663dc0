/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File owners for FileItem/Username. A device with a root folder is
 * another system's file tree: its uids mean what its own etc/passwd says,
 * not what the host's user database says, so when <root>/etc/passwd is
 * there the owner's name comes from it (a uid it does not list is shown as
 * the number). That file is device content, hence untrusted: it is
 * resolved inside the root (a link out of it is refused), opened without
 * blocking and read only when it is a regular file under a size limit,
 * and a line that is not `name:password:uid:...` with a sane name and a
 * decimal uid is skipped. A device without a root folder, or whose root
 * has no etc/passwd, uses the host's user database (getpwuid_r).
 */
#define _GNU_SOURCE
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
ioc_passwd_parse (const char *text, gsize len)
{
  GHashTable *users = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autofree char *copy = g_strndup (text, len);   /* stops at a NUL, too */
  g_auto (GStrv) lines = g_strsplit (copy, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    parse_line (users, g_strchomp (lines[i]));
  return users;
}

/* The whole of a regular file of at most MAX_PASSWD_SIZE bytes, or NULL. */
static char *
read_small_file (const char *path, gsize *len)
{
  struct stat st;
  char *data;
  gsize done = 0;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_PASSWD_SIZE)
    {
      close (fd);
      return NULL;
    }
  data = g_malloc ((gsize) st.st_size + 1);
  while (done < (gsize) st.st_size)
    {
      ssize_t n = read (fd, data + done, (gsize) st.st_size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      done += (gsize) n;
    }
  close (fd);
  data[done] = '\0';
  *len = done;
  return data;
}

GHashTable *
ioc_device_users_load (const char *root_real)
{
  g_autofree char *why = NULL;
  g_autofree char *host = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;

  if (root_real == NULL || strcmp (root_real, "/") == 0)
    return NULL;
  host = ioc_resolve_in_root (root_real, "/etc/passwd", &why);
  if (host == NULL || (text = read_small_file (host, &len)) == NULL)
    return NULL;
  return ioc_passwd_parse (text, len);
}

const char *
ioc_owner_name (GHashTable *device_users, GHashTable *cache, uid_t uid)
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
