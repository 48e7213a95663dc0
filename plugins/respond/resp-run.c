/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * process.run: runs a program on the device with its arguments, working
 * folder, environment and user, with a timeout, and captures its exit
 * status and the first max_output_bytes of stdout and stderr (the byte
 * counts say how much there was). No shell is involved unless the task
 * gives a `command` instead of a `path`. The program starts in a session
 * of its own, so a timeout or a cancel ends it with everything it
 * started. It gets a small clean environment (PATH, HOME, USER, LOGNAME,
 * LANG) plus the task's `env`, never the agent's (which may hold secrets).
 */
#include "resp-engine.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <vigil/util/settings.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

const VigilField resp_run_params[RESP_N_RUN_PARAMS] = {
  { .key = "path", .type = VIGIL_FIELD_PATH,
    .description = "The program to run (absolute, on the device); run directly, no shell." },
  { .key = "args", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 1024,
    .description = "Its arguments, each passed as is." },
  { .key = "command", .type = VIGIL_FIELD_STRING,
    .description = "Instead of path: a command line run by /bin/sh -c (asking for a shell)." },
  { .key = "cwd", .type = VIGIL_FIELD_PATH,
    .description = "The working folder on the device (default: the device's root)." },
  { .key = "env", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 256,
    .description = "NAME=VALUE pairs added to the program's small clean environment." },
  { .key = "user", .type = VIGIL_FIELD_STRING,
    .description = "The account to run it as, by name or uid (default: the agent's)." },
  { .key = "timeout_seconds", .type = VIGIL_FIELD_INT, .default_json = "60",
    .has_range = TRUE, .min = 1, .max = 86400,
    .description = "The program and all it started are killed after this long." },
  { .key = "max_output_bytes", .type = VIGIL_FIELD_INT, .default_json = "65536",
    .has_range = TRUE, .min = 0, .max = 16777216,
    .description = "How much of stdout and of stderr the result keeps, each." },
};

static gboolean
has (JsonObject *params, const char *key)
{
  return json_object_has_member (params, key) && !json_object_get_null_member (params, key);
}

/* Lists absent from @params (a caller that filled no defaults) are empty. */
static JsonArray *
list_param (JsonObject *params, const char *key)
{
  return has (params, key) ? json_object_get_array_member (params, key) : NULL;
}

static gboolean
env_name_ok (const char *entry)
{
  const char *eq = strchr (entry, '=');

  if (eq == NULL || eq == entry || g_ascii_isdigit (entry[0]))
    return FALSE;
  for (const char *p = entry; p < eq; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

char *
resp_run_check (JsonObject *params, const char **key)
{
  if (has (params, "path") == has (params, "command"))
    {
      *key = "path";
      return g_strdup ("give exactly one of path (run directly) and command (run by /bin/sh -c)");
    }
  if (has (params, "command") && *json_object_get_string_member (params, "command") == '\0')
    {
      *key = "command";
      return g_strdup ("is empty");
    }
  {
      JsonArray *env = list_param (params, "env");

      for (guint i = 0; env != NULL && i < json_array_get_length (env); i++)
        {
          const char *e = json_array_get_string_element (env, i);

          if (e == NULL || !env_name_ok (e))
            {
              *key = "env";
              return g_strdup_printf ("item %u is not NAME=VALUE with a name of letters, "
                                      "digits and '_'", i);
            }
        }
    }
  return NULL;
}

/* A device path inside the device's root, checked to stay inside it once
 * every symlink is resolved. */
static char *
in_root (const char *root, const char *path, const char *key, GError **error)
{
  g_autofree char *joined = NULL;
  g_autofree char *real_root = NULL;
  char *real;
  gsize n;

  if (strcmp (root, "/") == 0)
    return g_strdup (path);
  joined = g_build_filename (root, path, NULL);
  real_root = realpath (root, NULL);
  real = realpath (joined, NULL);
  if (real == NULL || real_root == NULL)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "params.%s: %s: %s",
                   key, path, g_strerror (e));
      free (real);
      return NULL;
    }
  n = strlen (real_root);
  if (strcmp (real, real_root) != 0 && (strncmp (real, real_root, n) != 0 || real[n] != '/'))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "params.%s: %s leads outside the device's root", key, path);
      free (real);
      return NULL;
    }
  return real;
}

typedef struct {
  gboolean switch_user;
  uid_t    uid;
  gid_t    gid;
  gid_t    groups[256];
  int      n_groups;
} Identity;

/* Resolved before the fork: getpwnam and getgrouplist are not safe in the
 * child of a threaded process. */
static gboolean
resolve_user (const char *user, Identity *id, char **home, char **name, GError **error)
{
  struct passwd pw, *found = NULL;
  char buf[4096];
  guint64 uid;

  if (user == NULL)
    {
      getpwuid_r (getuid (), &pw, buf, sizeof buf, &found);
      *home = g_strdup (found != NULL ? found->pw_dir : "/");
      *name = g_strdup (found != NULL ? found->pw_name : "");
      return TRUE;
    }
  if (g_ascii_string_to_unsigned (user, 10, 0, G_MAXUINT32 - 1, &uid, NULL))
    getpwuid_r ((uid_t) uid, &pw, buf, sizeof buf, &found);
  else
    getpwnam_r (user, &pw, buf, sizeof buf, &found);
  if (found == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "params.user: no account '%s' on the device", user);
      return FALSE;
    }
  if (getuid () != 0 && found->pw_uid != getuid ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "params.user: running as '%s' needs the agent to run as root", user);
      return FALSE;
    }
  id->switch_user = TRUE;
  id->uid = found->pw_uid;
  id->gid = found->pw_gid;
  id->n_groups = G_N_ELEMENTS (id->groups);
  if (getgrouplist (found->pw_name, found->pw_gid, id->groups, &id->n_groups) < 0)
    id->n_groups = 1, id->groups[0] = found->pw_gid;
  *home = g_strdup (found->pw_dir);
  *name = g_strdup (found->pw_name);
  return TRUE;
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
child_setup (gpointer data)
{
  const Identity *id = data;

  setsid ();
  if (id->switch_user
      && (setgroups (id->n_groups, id->groups) != 0 || setgid (id->gid) != 0
          || setuid (id->uid) != 0))
    _exit (126);
}

typedef struct {
  int         fd;
  GByteArray *kept;
  guint64     total;
  gsize       max;
} Capture;

/* Reads what is there; FALSE at end of file. */
static gboolean
capture_read (Capture *c)
{
  guint8 buf[16384];
  ssize_t n;

  while ((n = read (c->fd, buf, sizeof buf)) > 0)
    {
      gsize room = c->max > c->kept->len ? c->max - c->kept->len : 0;

      g_byte_array_append (c->kept, buf, MIN ((gsize) n, room));
      c->total += (guint64) n;
    }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

static void
capture_to_result (Capture *c, JsonObject *result, const char *name)
{
  g_autofree char *text = c->kept->len == 0 ? g_strdup ("")
                        : g_utf8_make_valid ((const char *) c->kept->data, c->kept->len);
  g_autofree char *bytes = g_strdup_printf ("%s_bytes", name);
  g_autofree char *truncated = g_strdup_printf ("%s_truncated", name);

  json_object_set_string_member (result, name, text);
  json_object_set_int_member (result, bytes, (gint64) c->total);
  json_object_set_boolean_member (result, truncated, c->total > c->kept->len);
}

static void
add_printf (GStrvBuilder *b, const char *format, const char *value)
{
  g_autofree char *s = g_strdup_printf (format, value);

  g_strv_builder_add (b, s);
}

static char **
build_env (JsonObject *params, const char *home, const char *user)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonArray *env = list_param (params, "env");

  g_strv_builder_add (b, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  add_printf (b, "HOME=%s", home);
  add_printf (b, "USER=%s", user);
  add_printf (b, "LOGNAME=%s", user);
  g_strv_builder_add (b, "LANG=C.UTF-8");
  for (guint i = 0; env != NULL && i < json_array_get_length (env); i++)
    g_strv_builder_add (b, json_array_get_string_element (env, i));
  return g_strv_builder_end (b);
}

static char **
build_argv (JsonObject *params, const char *program)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonArray *args = list_param (params, "args");

  if (has (params, "command"))
    {
      g_strv_builder_add_many (b, "/bin/sh", "-c", json_object_get_string_member (params, "command"),
                               "sh", NULL);
    }
  else
    g_strv_builder_add (b, program);
  for (guint i = 0; args != NULL && i < json_array_get_length (args); i++)
    g_strv_builder_add (b, json_array_get_string_element (args, i));
  return g_strv_builder_end (b);
}

/* Waits for the program to exit and its output to end, ending the whole
 * session at the deadline or on cancel. */
static void
supervise (GPid pid, Capture out[2], gint64 deadline, GCancellable *cancellable,
           int *status, gboolean *timed_out, gboolean *cancelled)
{
  GPollFD cancel_fd = { -1 };
  gboolean exited = FALSE, open_fds[2] = { TRUE, TRUE };
  int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);

  g_cancellable_make_pollfd (cancellable, &cancel_fd);
  while (!exited || open_fds[0] || open_fds[1])
    {
      struct pollfd p[4];
      int n = 0, left;
      gint64 now = g_get_monotonic_time ();

      if (now >= deadline || g_cancellable_is_cancelled (cancellable))
        {
          *timed_out = now >= deadline;
          *cancelled = !*timed_out;
          kill (-pid, SIGKILL);
          kill (pid, SIGKILL);
          break;
        }
      left = (int) MIN ((deadline - now) / 1000 + 1, 1000);
      for (int i = 0; i < 2; i++)
        if (open_fds[i])
          p[n++] = (struct pollfd){ .fd = out[i].fd, .events = POLLIN };
      if (!exited && pidfd >= 0)
        p[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
      if (cancel_fd.fd >= 0)
        p[n++] = (struct pollfd){ .fd = cancel_fd.fd, .events = POLLIN };
      poll (p, n, left);
      for (int i = 0; i < 2; i++)
        if (open_fds[i])
          open_fds[i] = capture_read (&out[i]);
      if (!exited)
        exited = waitpid (pid, status, WNOHANG) == pid;
    }
  if (!exited)
    waitpid (pid, status, 0);
  for (int i = 0; i < 2; i++)
    if (open_fds[i])
      capture_read (&out[i]);
  if (pidfd >= 0)
    close (pidfd);
  g_cancellable_release_fd (cancellable);
}

JsonObject *
resp_run (const char *root, JsonObject *params, GCancellable *cancellable,
          gboolean *succeeded, GError **error)
{
  const char *key = NULL;
  g_autofree char *problem = resp_run_check (params, &key);
  g_autofree char *program = NULL, *cwd = NULL, *home = NULL, *user = NULL;
  g_autofree char *user_param = vigil_field_dup_string (&resp_run_params[5], params);
  g_auto (GStrv) argv = NULL;
  g_auto (GStrv) envp = NULL;
  Identity id = { 0 };
  Capture out[2];
  GPid pid;
  int fds[2], status = 0;
  gboolean timed_out = FALSE, cancelled = FALSE;
  gint64 started, timeout = json_object_get_int_member_with_default (params, "timeout_seconds", 60);
  gsize max = (gsize) json_object_get_int_member_with_default (params, "max_output_bytes", 65536);
  JsonObject *result;

  *succeeded = FALSE;
  if (problem != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "params.%s: %s", key, problem);
      return NULL;
    }
  if (has (params, "path")
      && (program = in_root (root, json_object_get_string_member (params, "path"), "path", error)) == NULL)
    return NULL;
  cwd = in_root (root, has (params, "cwd") ? json_object_get_string_member (params, "cwd") : "/",
                 "cwd", error);
  if (cwd == NULL || !resolve_user (user_param, &id, &home, &user, error))
    return NULL;
  argv = build_argv (params, program);
  envp = build_env (params, home, user);
  started = g_get_monotonic_time ();
  if (!g_spawn_async_with_pipes_and_fds (cwd, (const char *const *) argv, (const char *const *) envp,
                                         G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_CLOEXEC_PIPES,
                                         child_setup, &id, -1, -1, -1, NULL, NULL, 0, &pid,
                                         NULL, &fds[0], &fds[1], error))
    return NULL;
  for (int i = 0; i < 2; i++)
    {
      out[i] = (Capture){ .fd = fds[i], .kept = g_byte_array_new (), .max = max };
      g_unix_set_fd_nonblocking (fds[i], TRUE, NULL);
    }
  supervise (pid, out, started + timeout * G_USEC_PER_SEC, cancellable, &status, &timed_out,
             &cancelled);
  result = json_object_new ();
  json_object_set_int_member (result, "pid", pid);
  if (WIFEXITED (status) && !timed_out && !cancelled)
    json_object_set_int_member (result, "exit_status", WEXITSTATUS (status));
  else
    json_object_set_null_member (result, "exit_status");
  if (WIFSIGNALED (status))
    json_object_set_int_member (result, "signal", WTERMSIG (status));
  json_object_set_boolean_member (result, "timed_out", timed_out);
  json_object_set_boolean_member (result, "cancelled", cancelled);
  json_object_set_int_member (result, "duration_ms", (g_get_monotonic_time () - started) / 1000);
  capture_to_result (&out[0], result, "stdout");
  capture_to_result (&out[1], result, "stderr");
  for (int i = 0; i < 2; i++)
    {
      close (out[i].fd);
      g_byte_array_unref (out[i].kept);
    }
  *succeeded = !timed_out && !cancelled && WIFEXITED (status) && WEXITSTATUS (status) == 0;
  return result;
}
