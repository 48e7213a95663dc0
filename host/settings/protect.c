/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Password protection of actions: the host's own (disabling a plugin,
 * deleting a task) and those the loaded plugins declare (restoring from
 * quarantine, ...); the host keeps no list of plugin actions. An action is
 * protected when the local policy's list names it, or leaves the list
 * unset (every declared action). The password is read from the file
 * descriptor named by env VIGIL_PASSWORD_FD (scripts, tests) or else from
 * the terminal with echo off, compared in constant time with the salted
 * hash of the local machine's `general` settings, and wiped from memory.
 * Protection belongs to the machine where the command runs, not to a
 * managed device: an action is protected when the policy that reaches this
 * machine (the root group's, and the defaults) says so. A missing terminal,
 * an undeclared action or a check from a worker thread (no one to ask) is
 * an error, never a silent pass.
 */
#include "general.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/crypto.h>

void
vh_password_free (char *password)
{
  if (password == NULL)
    return;
  OPENSSL_cleanse (password, strlen (password));
  g_free (password);
}

/* Reads one line (without its end) of at most VH_PASSWORD_MAX_LEN bytes. */
static char *
read_line (int fd, GError **error)
{
  char *buf = g_malloc0 (VH_PASSWORD_MAX_LEN + 2);
  gsize len = 0;

  while (len < VH_PASSWORD_MAX_LEN + 1)
    {
      char c;
      gssize n = read (fd, &c, 1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "cannot read the password: %s", g_strerror (errno));
          vh_password_free (buf);
          return NULL;
        }
      if (n == 0 || c == '\n')
        break;
      buf[len++] = c;
    }
  if (len > VH_PASSWORD_MAX_LEN)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the password is longer than %d bytes", VH_PASSWORD_MAX_LEN);
      vh_password_free (buf);
      return NULL;
    }
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  return buf;
}

static char *
read_from_fd (const char *fd_text, GError **error)
{
  char *end = NULL;
  gint64 fd = g_ascii_strtoll (fd_text, &end, 10);

  if (end == fd_text || *end != '\0' || fd < 0 || fd > G_MAXINT)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "VIGIL_PASSWORD_FD is '%s', not a file descriptor number", fd_text);
      return NULL;
    }
  return read_line ((int) fd, error);
}

static char *
read_from_terminal (const char *prompt, GError **error)
{
  struct termios saved, quiet;
  char *password;
  int fd = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

  if (fd < 0 || tcgetattr (fd, &saved) != 0)
    {
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "a password is required but there is no terminal to ask it "
                   "on: pass it on a file descriptor named by VIGIL_PASSWORD_FD");
      return NULL;
    }
  quiet = saved;
  quiet.c_lflag &= ~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  tcsetattr (fd, TCSAFLUSH, &quiet);
  if (write (fd, prompt, strlen (prompt)) < 0)
    g_debug ("cannot write the password prompt");
  password = read_line (fd, error);
  tcsetattr (fd, TCSAFLUSH, &saved);
  if (write (fd, "\n", 1) < 0)
    g_debug ("cannot end the password prompt");
  close (fd);
  return password;
}

char *
vh_password_read (const char *prompt, GError **error)
{
  const char *fd_text = g_getenv ("VIGIL_PASSWORD_FD");

  if (fd_text && *fd_text)
    return read_from_fd (fd_text, error);
  return read_from_terminal (prompt, error);
}

char *
vh_protected_action_list (VigilHost *host)
{
  GPtrArray *actions = vh_registry_actions (host);
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < actions->len; i++)
    g_string_append_printf (out, "%s%s", i ? ", " : "",
                            ((const VhAction *) g_ptr_array_index (actions, i))->action.id);
  return g_strdup (out->len ? out->str : "none");
}

/* Unset (null) protects every declared action. */
static gboolean
action_protected (JsonObject *protection, const char *action)
{
  JsonArray *actions = vigil_json_get_array (protection, "actions");

  if (actions == NULL)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (actions); i++)
    if (g_strcmp0 (json_array_get_string_element (actions, i), action) == 0)
      return TRUE;
  return FALSE;
}

gboolean
vh_protect_check (VigilHost *host, const char *action, GError **error)
{
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *prompt = NULL;
  g_autofree char *password = NULL;
  JsonObject *protection;
  const char *hash;
  gboolean ok;

  g_return_val_if_fail (action != NULL, FALSE);

  if (vh_registry_action (host, action) == NULL)
    {
      g_autofree char *known = vh_protected_action_list (host);
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "'%s' is not a protected action of the host or of a loaded "
                   "plugin (%s)", action, known);
      return FALSE;
    }
  settings = vh_general_settings (host, NULL, &local);
  if (settings == NULL)
    {
      /* Fail closed: unknown settings must not unlock a protected action. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cannot tell whether '%s' is password-protected: %s",
                   action, local->message);
      return FALSE;
    }
  protection = vigil_json_get_object (settings, "password_protection");
  hash = vigil_json_get_string (protection, "password_hash");
  if (!vigil_json_get_bool (protection, "enabled", FALSE) || !action_protected (protection, action))
    return TRUE;
  if (hash == NULL || *hash == '\0')
    {
      vh_log (host, "host", G_LOG_LEVEL_WARNING,
              "password protection is enabled without a password hash; "
              "the action is allowed");
      return TRUE;
    }

  if (g_thread_self () != vh_context (host)->main_thread)
    {
      /* A worker (a task run creating a task) has no terminal of its own:
       * two runs asking at once would interleave on it. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "'%s' is password-protected and the password can only be asked "
                   "on the host's main thread, not from a task run", action);
      return FALSE;
    }
  prompt = g_strdup_printf ("Password for %s: ", action);
  password = vh_password_read (prompt, error);
  if (password == NULL)
    return FALSE;
  ok = vh_password_verify (password, hash, &local);
  vh_password_free (g_steal_pointer (&password));
  if (local)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "'%s' is password-protected but the stored hash is unusable: %s",
                   action, local->message);
      return FALSE;
    }
  if (!ok)
    {
      vh_log (host, "host", G_LOG_LEVEL_WARNING, "wrong password for a protected action");
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "wrong password: '%s' is password-protected", action);
      return FALSE;
    }
  return TRUE;
}
