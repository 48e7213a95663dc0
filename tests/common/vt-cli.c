/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CLI runner of the tests (vt-cli.h). The binary's path comes from the
 * build (VT_VIGIL_CLI, set by meson); plugins from the environment the test
 * runs in (VIGIL_PLUGIN_PATH) unless a caller changes it.
 */
#include "vt-cli.h"

#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

const char *
vt_cli_path (void)
{
  return VT_VIGIL_CLI;
}

void
vt_cli_clear (VtCli *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

static void
no_terminal (gpointer data)
{
  setsid ();
}

static void
apply_env (GSubprocessLauncher *launcher, const char *const *env)
{
  for (gsize i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto (GStrv) kv = g_strsplit (env[i], "=", 2);

      if (kv[1] != NULL)
        g_subprocess_launcher_setenv (launcher, kv[0], kv[1], TRUE);
      else
        g_subprocess_launcher_unsetenv (launcher, kv[0]);
    }
}

static void
pass_password (GSubprocessLauncher *launcher, const char *password)
{
  g_autofree char *line = g_strconcat (password, "\n", NULL);
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], line, strlen (line)), ==, (gssize) strlen (line));
  close (fds[1]);
  g_subprocess_launcher_take_fd (launcher, fds[0], 3);
  g_subprocess_launcher_setenv (launcher, "VIGIL_PASSWORD_FD", "3", TRUE);
}

/* The output as a string ("" for none; a NUL in it ends it). */
static char *
bytes_to_string (GBytes *bytes)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);

  return data != NULL ? g_strndup (data, size) : g_strdup ("");
}

void
vt_cli_spawn (VtCli *result, const VtCliSpawn *how, const char *const *args)
{
  static const VtCliSpawn plain = { 0 };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                               | G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) stdin_bytes = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;

  if (how == NULL)
    how = &plain;
  vt_cli_clear (result);
  g_ptr_array_add (argv, (gpointer) VT_VIGIL_CLI);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_child_setup (launcher, no_terminal, NULL, NULL);
  g_subprocess_launcher_unsetenv (launcher, "VIGIL_PASSWORD_FD");
  if (how->cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, how->cwd);
  apply_env (launcher, how->env);
  if (how->password != NULL)
    pass_password (launcher, how->password);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  /* Bytes, not UTF-8: what a command prints is under test, invalid UTF-8
   * included. */
  g_subprocess_communicate (proc, stdin_bytes, NULL, &out, &err, &error);
  g_assert_no_error (error);
  result->out = bytes_to_string (out);
  result->err = bytes_to_string (err);
  result->status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

void
vt_cli_runv (VtCli *result, const char *state_dir, const char *password,
             const char *const *env, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  VtCliSpawn how = { NULL, password, env };

  g_ptr_array_add (argv, (gpointer) "--state-dir");
  g_ptr_array_add (argv, (gpointer) state_dir);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (result, &how, (const char *const *) argv->pdata);
}

static void
run_va (VtCli *result, const char *state_dir, const char *password,
        const char *const *env, va_list args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *arg;

  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);
  vt_cli_runv (result, state_dir, password, env, (const char *const *) argv->pdata);
}

void
vt_cli_run (VtCli *result, const char *state_dir, const char *password,
            const char *const *env, ...)
{
  va_list args;

  va_start (args, env);
  run_va (result, state_dir, password, env, args);
  va_end (args);
}

void
vt_cli_ok (const char *state_dir, ...)
{
  g_auto (VtCli) r = { 0 };
  va_list args;

  va_start (args, state_dir);
  run_va (&r, state_dir, NULL, NULL, args);
  va_end (args);
  if (r.status != 0)
    g_error ("vigil exited with %d: %s%s", r.status, r.out, r.err);
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
vt_cli_expect (const VtCli *result, int status, const char *needle)
{
  if (result->status != status
      || (needle != NULL && strstr (result->out, needle) == NULL
          && strstr (result->err, needle) == NULL))
    g_error ("expected exit %d and \"%s\", got %d:\nstdout: %s\nstderr: %s", status,
             needle ? needle : "", result->status, result->out, result->err);
}

char *
vt_write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

void
vt_rm_rf (const char *path)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      /* A test may have made a folder unreadable on purpose. */
      g_chmod (path, 0700);
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          vt_rm_rf (child);
        }
    }
  g_remove (path);
}
