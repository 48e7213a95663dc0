/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CLI runner of the tests (cli-fixture.h). The binary comes from the
 * build (VIGIL_CLI_PATH, set by meson); plugins from VIGIL_PLUGIN_PATH.
 */
#include "cli-fixture.h"

#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

void
vt_cli_clear (VtCli *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

/* A session of its own: no controlling terminal, so that a password
 * prompt can never wait on the terminal of whoever runs the tests. */
static void
no_terminal (gpointer data)
{
  setsid ();
}

static void
run_array (VtCli *result, const char *state_dir, const char *password,
           const char *const *env, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                               | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  const char *arg;

  g_ptr_array_add (argv, (gpointer) VIGIL_CLI_PATH);
  g_ptr_array_add (argv, (gpointer) "--state-dir");
  g_ptr_array_add (argv, (gpointer) state_dir);
  for (gsize i = 0; (arg = args[i]); i++)
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_child_setup (launcher, no_terminal, NULL, NULL);
  g_subprocess_launcher_unsetenv (launcher, "VIGIL_PASSWORD_FD");
  for (gsize i = 0; env && env[i]; i++)
    {
      g_auto (GStrv) kv = g_strsplit (env[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1], TRUE);
    }
  if (password)
    {
      int fds[2];
      g_autofree char *line = g_strconcat (password, "\n", NULL);

      g_assert_cmpint (pipe (fds), ==, 0);
      g_assert_cmpint (write (fds[1], line, strlen (line)), ==, (gssize) strlen (line));
      close (fds[1]);
      g_subprocess_launcher_take_fd (launcher, fds[0], 3);
      g_subprocess_launcher_setenv (launcher, "VIGIL_PASSWORD_FD", "3", TRUE);
    }
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, "", NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  result->status = g_subprocess_get_exit_status (proc);
}

static void
run_argv (VtCli *result, const char *state_dir, const char *password,
          const char *const *env, va_list args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *arg;

  while ((arg = va_arg (args, const char *)))
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);
  run_array (result, state_dir, password, env, (const char *const *) argv->pdata);
}

void
vt_cli_runv (VtCli *result, const char *state_dir, const char *password,
             const char *const *env, const char *const *argv)
{
  run_array (result, state_dir, password, env, argv);
}

char *
vt_cli_json_id (const VtCli *result)
{
  g_autoptr (JsonNode) node = json_from_string (result->out, NULL);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "id"));
}

void
vt_cli_run (VtCli *result, const char *state_dir, const char *password,
            const char *const *env, ...)
{
  va_list args;

  va_start (args, env);
  run_argv (result, state_dir, password, env, args);
  va_end (args);
}

void
vt_cli_ok (const char *state_dir, ...)
{
  g_auto (VtCli) r = { 0 };
  va_list args;

  va_start (args, state_dir);
  run_argv (&r, state_dir, NULL, NULL, args);
  va_end (args);
  if (r.status != 0)
    g_error ("vigil exited with %d: %s%s", r.status, r.out, r.err);
}
