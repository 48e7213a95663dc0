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
 * managed device: an action is protected when the effective settings of
 * this machine's recorded device say so. A missing terminal, an undeclared
 * action or a check from a worker thread (no one to ask) is an error,
 * never a silent pass, and every refusal is recorded (host.password_refused).
 * The same password guards protection itself: the change guard the layers
 * below call (registry/guard.c) compares this machine's protection before
 * and after a change and asks the current password when the change turns
 * it off, changes the password or narrows the protected actions.
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

/* Records a refused check of @action (never the password given) and
 * returns FALSE with @why in @error. */
static gboolean
refused (VigilHost *host, const char *action, GError *why, GError **error)
{
  JsonObject *audit = json_object_new ();
  g_autoptr (GError) not_recorded = NULL;

  json_object_set_string_member (audit, "action", action);
  json_object_set_string_member (audit, "reason", why->message);
  if (!vh_audit (host, "host.password_refused", NULL, audit, &not_recorded))
    vh_log (host, "host", G_LOG_LEVEL_WARNING, not_recorded->message);
  g_propagate_error (error, why);
  return FALSE;
}

typedef enum { ASK_OK, ASK_WRONG, ASK_FAILED } AskResult;

/* Asks the password with @prompt and checks it against @hash. ASK_FAILED
 * with @error when it cannot be asked (no terminal, a worker thread, a bad
 * VIGIL_PASSWORD_FD) or the hash is unusable; ASK_WRONG (no error) for a
 * wrong password. The caller words the refusal. */
static AskResult
ask_and_verify (VigilHost *host, const char *prompt, const char *hash, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *password = NULL;
  gboolean ok;

  if (g_thread_self () != vh_context (host)->main_thread)
    {
      /* A worker (a task run creating a task) has no terminal of its own:
       * two runs asking at once would interleave on it. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the password can only be asked on the host's main thread, "
                   "not from a task run");
      return ASK_FAILED;
    }
  password = vh_password_read (prompt, error);
  if (password == NULL)
    return ASK_FAILED;
  ok = vh_password_verify (password, hash, &local);
  vh_password_free (g_steal_pointer (&password));
  if (local)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the stored hash is unusable: %s", local->message);
      return ASK_FAILED;
    }
  if (!ok)
    {
      vh_log (host, "host", G_LOG_LEVEL_WARNING, "wrong password for a protected action");
      return ASK_WRONG;
    }
  return ASK_OK;
}

gboolean
vh_protect_check (VigilHost *host, const char *action, GError **error)
{
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *prompt = NULL;
  JsonObject *protection;
  const char *hash;

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
  prompt = g_strdup_printf ("Password for %s: ", action);
  switch (ask_and_verify (host, prompt, hash, &local))
    {
    case ASK_OK:
      return TRUE;
    case ASK_WRONG:
      g_set_error (&local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "wrong password: '%s' is password-protected", action);
      break;
    case ASK_FAILED:
      g_prefix_error (&local, "'%s' is password-protected: ", action);
      break;
    }
  return refused (host, action, g_steal_pointer (&local), error);
}

/* ---- the change guard (registry/guard.c) ----------------------------- */

struct _VhProtection {
  char  *device;   /* this machine's device, or NULL */
  char  *hash;     /* NULL when protection is off (or has no hash) */
  GStrv  actions;  /* NULL: every declared action */
};

static void
protection_free (VhProtection *p)
{
  if (p == NULL)
    return;
  g_free (p->device);
  g_free (p->hash);
  g_strfreev (p->actions);
  g_free (p);
}

/* This machine's protection now; inside the caller's transaction it sees
 * the change being made. Never cached. */
static VhProtection *
protection_snapshot (VigilHost *host, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonObject) settings = NULL;
  g_autofree char *device = vh_inventory_machine (host, &local);
  VhProtection *p;
  JsonObject *protection;
  JsonArray *actions;
  const char *hash;

  if (local)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  settings = vh_general_settings (host, NULL, error);
  if (settings == NULL)
    return NULL;
  p = g_new0 (VhProtection, 1);
  p->device = g_steal_pointer (&device);
  protection = vigil_json_get_object (settings, "password_protection");
  hash = vigil_json_get_string (protection, "password_hash");
  if (!vigil_json_get_bool (protection, "enabled", FALSE) || hash == NULL || *hash == '\0')
    return p;
  p->hash = g_strdup (hash);
  actions = vigil_json_get_array (protection, "actions");
  if (actions != NULL)
    {
      g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

      for (guint i = 0; i < json_array_get_length (actions); i++)
        {
          const char *a = json_array_get_string_element (actions, i);
          if (a)
            g_strv_builder_add (b, a);
        }
      p->actions = g_strv_builder_end (b);
    }
  return p;
}

/* How @after is weaker than @before ("turn password protection off"), or
 * NULL when it protects all that @before did (a different password counts
 * as weaker: choosing it takes the current one). */
static const char *
weakened (const VhProtection *before, const VhProtection *after)
{
  if (before->hash == NULL)
    return NULL;
  if (after->hash == NULL)
    return "turn password protection off";
  if (strcmp (before->hash, after->hash) != 0)
    return "change the password";
  if (after->actions == NULL)
    return NULL;
  if (before->actions == NULL)
    return "narrow the protected actions";
  for (gsize i = 0; before->actions[i]; i++)
    if (!g_strv_contains ((const char *const *) after->actions, before->actions[i]))
      return "narrow the protected actions";
  return NULL;
}

/* A refusal is recorded by the guard (registry/guard.c) once the change's
 * transaction is rolled back, so that the record is not rolled back too. */
static gboolean
protection_authorize (VigilHost *host, const VhProtection *before,
                      const VhProtection *after, const char *change, GError **error)
{
  const char *how = weakened (before, after);
  g_autofree char *prompt = NULL;

  if (how == NULL)
    return TRUE;
  prompt = g_strdup_printf ("Password (%s would %s): ", change, how);
  switch (ask_and_verify (host, prompt, before->hash, error))
    {
    case ASK_OK:
      return TRUE;
    case ASK_WRONG:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "wrong password: %s would %s on this machine", change, how);
      return FALSE;
    case ASK_FAILED:
      g_prefix_error (error, "%s would %s on this machine and needs the current "
                      "password: ", change, how);
      return FALSE;
    }
  return FALSE;
}

void
vh_protect_install_guard (VigilHost *host)
{
  static const VhGuardFuncs funcs = {
    .snapshot = protection_snapshot,
    .authorize = protection_authorize,
    .free = protection_free,
  };

  vh_registry_set_guard (host, &funcs);
}
