/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connects to a user's D-Bus session bus. A session bus accepts only
 * connections from the user it belongs to, and the bus daemon learns who
 * connects from the socket's peer credentials (SO_PEERCRED), which the
 * kernel records at connect(). So when Vigil runs as root and the session
 * is another user's, only the connect() itself is made as that user:
 * the calling thread alone switches its real and effective uid with the raw
 * setresuid system call (Linux credentials are per thread; glibc's
 * setresuid() would switch every thread of the host), and switches back
 * right after, keeping root as the saved uid so that it can. The SASL
 * EXTERNAL handshake then claims that uid, and GDBus takes over the
 * authenticated socket. In every other case GDBus connects by itself.
 */
#include "notify-engine.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define AUTH_TIMEOUT_SEC 5
#define AUTH_LINE_MAX 512

/* The socket path of the first unix:path= entry of a D-Bus address. */
static char *
unix_socket_path (const char *address, GError **error)
{
  g_auto (GStrv) entries = g_strsplit (address, ";", 2);
  g_auto (GStrv) keys = NULL;

  if (entries[0] != NULL && g_str_has_prefix (entries[0], "unix:"))
    {
      keys = g_strsplit (entries[0] + strlen ("unix:"), ",", -1);
      for (guint i = 0; keys[i] != NULL; i++)
        if (g_str_has_prefix (keys[i], "path="))
          return g_uri_unescape_string (keys[i] + strlen ("path="), NULL);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "cannot reach another user's bus at '%s': only unix:path= "
               "addresses are supported", address);
  return NULL;
}

/* connect() as @uid, from this thread only. */
static int
connect_as (const char *path, uid_t uid, GError **error)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd, rc, saved;

  if (strlen (path) >= sizeof sa.sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG, "%s: path too long", path);
      return -1;
    }
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || syscall (SYS_setresuid, uid, uid, (uid_t) -1) != 0)
    {
      saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot connect as uid %u: %s", (guint) uid, g_strerror (saved));
      return -1;
    }
  rc = connect (fd, (struct sockaddr *) &sa, sizeof sa);
  saved = errno;
  /* Cannot fail: the saved uid is still 0. Going on as the user would be
   * far worse than stopping. */
  if (syscall (SYS_setresuid, (uid_t) 0, (uid_t) 0, (uid_t) -1) != 0)
    g_error ("notify: could not switch back to root after connecting as uid %u", (guint) uid);
  if (rc == 0)
    return fd;
  close (fd);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot connect to %s: %s",
               path, g_strerror (saved));
  return -1;
}

/* One "\r\n"-terminated line of the handshake, without it. */
static char *
read_line (int fd)
{
  GString *line = g_string_new (NULL);
  char c;

  while (line->len < AUTH_LINE_MAX && read (fd, &c, 1) == 1)
    {
      if (c == '\n' && line->len > 0 && line->str[line->len - 1] == '\r')
        {
          g_string_truncate (line, line->len - 1);
          return g_string_free (line, FALSE);
        }
      g_string_append_c (line, c);
    }
  g_string_free (line, TRUE);
  return NULL;
}

/* The D-Bus SASL EXTERNAL handshake, claiming @uid. */
static gboolean
authenticate_as (int fd, uid_t uid, GError **error)
{
  struct timeval tv = { AUTH_TIMEOUT_SEC, 0 };
  g_autofree char *uid_text = g_strdup_printf ("%u", (guint) uid);
  g_autoptr (GString) auth = g_string_new ("AUTH EXTERNAL ");
  g_autofree char *reply = NULL;

  for (const char *p = uid_text; *p; p++)
    g_string_append_printf (auth, "%02x", (guchar) *p);
  g_string_append (auth, "\r\n");
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!vigil_write_all (fd, "", 1) || !vigil_write_all (fd, auth->str, auth->len)
      || (reply = read_line (fd)) == NULL || !g_str_has_prefix (reply, "OK ")
      || !vigil_write_all (fd, "BEGIN\r\n", 7))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the session bus did not accept uid %u: %s", (guint) uid,
                   reply ? reply : "no answer");
      return FALSE;
    }
  return TRUE;
}

static GDBusConnection *
connect_other_user (const char *address, uid_t uid, GCancellable *cancellable,
                    GError **error)
{
  g_autofree char *path = unix_socket_path (address, error);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketConnection) stream = NULL;
  int fd;

  if (path == NULL || (fd = connect_as (path, uid, error)) < 0)
    return NULL;
  if (!authenticate_as (fd, uid, error) || (socket = g_socket_new_from_fd (fd, error)) == NULL)
    {
      close (fd);
      return NULL;
    }
  stream = g_socket_connection_factory_create_connection (socket);
  return g_dbus_connection_new_sync (G_IO_STREAM (stream), NULL,
                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, cancellable, error);
}

GDBusConnection *
vn_connect_session_bus (const char *address, gint64 uid, GCancellable *cancellable,
                        GError **error)
{
  if (geteuid () == 0 && uid > 0 && uid != (gint64) getuid ())
    return connect_other_user (address, (uid_t) uid, cancellable, error);
  return g_dbus_connection_new_for_address_sync (address,
           G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
           | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
           NULL, cancellable, error);
}
