/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protected actions a plugin declares: the host keeps no list of plugin
 * actions, yet a test plugin's own actions are listed, accepted in the
 * `general` section, and enforced by `vigil password check`, by the
 * plugin's own command (api->protect_check), and, for the action named like
 * its task type, by creating and by running a task of that type. Every
 * check runs the real `vigil` in its own session, the password on a pipe.
 */
#include "core-test.h"

#include <unistd.h>

#define PASSWORD "Vault-Door-42"

/* Runs vigil --state-dir S --plugin-dir P ARGS..., with @password (or
 * none) on the fd named by VIGIL_PASSWORD_FD. */
static void
vigil (VtCli *r, CoreFixture *fx, const char *password, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  VtCliSpawn how = { .password = password };
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, fx->state);
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, fx->plugins);
  va_start (args, password);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (r, &how, (const char *const *) argv->pdata);
}

static void
assert_run (const VtCli *r, int status, const char *needle)
{
  if (r->status != status || (needle && !strstr (r->out, needle) && !strstr (r->err, needle)))
    g_error ("expected exit %d and \"%s\", got %d:\n%s%s", status, needle ? needle : "",
             r->status, r->out, r->err);
}

/* The guarded plugin, the machine's own device, and a root policy with
 * password protection over @actions_json (NULL: the list left unset). */
static void
setup_protected (CoreFixture *fx, const char *actions_json)
{
  g_autofree char *policy = NULL;
  g_autofree char *doc = NULL;
  g_auto(VtCli) r = { 0 };

  core_fixture_init (fx);
  g_free (core_copy_plugin ("guarded", fx->plugins));
  policy = g_build_filename (fx->root, "pw.json", NULL);
  doc = g_strdup_printf ("{\"name\":\"PW\",\"group\":\"root\",\"status\":\"active\","
                         "\"settings\":{\"general\":{\"schema_version\":1,"
                         "\"password_protection\":{\"locked\":true,\"values\":"
                         "{\"actions\":%s}}}}}", actions_json ? actions_json : "null");
  g_assert_true (g_file_set_contents (policy, doc, -1, NULL));
  vigil (&r, fx, NULL, "device", "add", "here", "--group", "root", NULL);
  assert_run (&r, 0, NULL);
  vigil (&r, fx, PASSWORD, "password", "set", "--policy", policy, "--iterations", "100000",
         NULL);
  assert_run (&r, 0, NULL);
  vigil (&r, fx, NULL, "policy", "apply", policy, NULL);
  assert_run (&r, 0, NULL);
}

static void
test_declared_actions_listed (void)
{
  CoreFixture fx;
  g_autoptr(JsonObject) info = NULL;
  JsonArray *actions;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("guarded", fx.plugins));
  core_open_host (&fx, NULL);
  info = core_plugin_info (fx.host, "guarded", 0);
  actions = json_object_get_array_member (info, "protected_actions");
  g_assert_cmpuint (json_array_get_length (actions), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (actions, 0), ==, "guarded.open");
  g_assert_cmpstr (json_array_get_string_element (actions, 1), ==, "guarded.peek");
  /* The host's own, declared the same way. */
  g_assert_nonnull (vh_registry_action (fx.host, "task.delete"));
  g_assert_true (vh_registry_action (fx.host, "plugins.disable")->plugin ==
                 vh_registry_host_plugin (fx.host));
  core_fixture_clear (&fx);
}

static void
test_password_check_enforces_plugin_action (void)
{
  CoreFixture fx;
  g_auto(VtCli) r = { 0 };

  setup_protected (&fx, NULL);
  vigil (&r, &fx, "not-it", "password", "check", "guarded.peek", NULL);
  assert_run (&r, 1, "wrong password: 'guarded.peek' is password-protected");
  vigil (&r, &fx, NULL, "password", "check", "guarded.peek", NULL);
  assert_run (&r, 1, "no terminal to ask it on");
  vigil (&r, &fx, PASSWORD, "password", "check", "guarded.peek", NULL);
  assert_run (&r, 0, "guarded.peek: allowed");
  core_fixture_clear (&fx);
}

static void
test_plugin_command_enforces_its_action (void)
{
  CoreFixture fx;
  g_auto(VtCli) r = { 0 };

  setup_protected (&fx, NULL);
  vigil (&r, &fx, "not-it", "guarded", "peek", NULL);
  assert_run (&r, 2, "wrong password: 'guarded.peek' is password-protected");
  g_assert_null (strstr (r.out, "peeked"));
  vigil (&r, &fx, PASSWORD, "guarded", "peek", NULL);
  assert_run (&r, 0, "peeked");
  core_fixture_clear (&fx);
}

/* A typo in a plugin's action must not turn into "not protected". */
static void
test_undeclared_action_refused (void)
{
  CoreFixture fx;
  g_auto(VtCli) r = { 0 };

  setup_protected (&fx, NULL);
  vigil (&r, &fx, PASSWORD, "guarded", "undeclared", NULL);
  assert_run (&r, 2, "'guarded.nothing' is not a protected action of the host or of a "
              "loaded plugin (plugins.disable, task.delete, guarded.open, guarded.peek)");
  vigil (&r, &fx, PASSWORD, "password", "check", "guarded.nothing", NULL);
  assert_run (&r, 1, "'guarded.nothing' is not a protected action");
  core_fixture_clear (&fx);
}

/* The action named like the task type guards creating and running it. */
static void
test_task_type_protected_on_create_and_run (void)
{
  CoreFixture fx;
  g_auto(VtCli) r = { 0 };
  g_autofree char *id = NULL;

  setup_protected (&fx, NULL);
  vigil (&r, &fx, "not-it", "task", "create", "--type", "guarded.open", "--device", "here",
         NULL);
  assert_run (&r, 2, "wrong password: 'guarded.open' is password-protected");
  vigil (&r, &fx, NULL, "task", "list", "--json", NULL);
  assert_run (&r, 0, "[");
  g_assert_null (strstr (r.out, "guarded.open"));

  vigil (&r, &fx, PASSWORD, "task", "create", "--type", "guarded.open", "--device", "here",
         "--json", NULL);
  assert_run (&r, 0, "guarded.open");
  id = vt_cli_json_id (&r);
  vigil (&r, &fx, "not-it", "task", "run", id, NULL);
  assert_run (&r, 2, "wrong password: 'guarded.open' is password-protected");
  vigil (&r, &fx, PASSWORD, "task", "run", id, "--json", NULL);
  assert_run (&r, 0, "\"opened\"");
  core_fixture_clear (&fx);
}

/* The policy's list: declared actions only; one left out is not asked. */
static void
test_policy_lists_declared_actions_only (void)
{
  CoreFixture fx;
  g_autofree char *bad = NULL;
  g_auto(VtCli) r = { 0 };

  setup_protected (&fx, "[\"guarded.open\"]");
  vigil (&r, &fx, NULL, "guarded", "peek", NULL);
  assert_run (&r, 0, "peeked");
  vigil (&r, &fx, "not-it", "password", "check", "guarded.open", NULL);
  assert_run (&r, 1, "wrong password");

  bad = g_build_filename (fx.root, "bad.json", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"name\":\"Bad\",\"group\":\"root\","
    "\"status\":\"active\",\"settings\":{\"general\":{\"schema_version\":1,"
    "\"password_protection\":{\"locked\":true,\"values\":{\"actions\":"
    "[\"guarded.peek\",\"quarantine.restore\"]}}}}}", -1, NULL));
  vigil (&r, &fx, NULL, "policy", "validate", bad, NULL);
  g_assert_cmpint (r.status, !=, 0);
  assert_run (&r, r.status, "general.password_protection.actions[1]: 'quarantine.restore' "
              "is not a protected action of the host or of a loaded plugin");
  g_assert_null (strstr (r.out, "actions[0]"));
  g_assert_null (strstr (r.err, "actions[0]"));
  core_fixture_clear (&fx);
}

/* In process, as a plugin's own create_task: the password from a pipe
 * named by VIGIL_PASSWORD_FD, as a script would give it. */
static char *
create_open_task (CoreFixture *fx, const char *password, GError **error)
{
  VigilTaskSpec spec = { .type = "guarded.open", .device_id = "here" };
  g_autofree char *fd_text = NULL;
  int fds[2];
  char *id;

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], password, strlen (password)), ==, (gssize) strlen (password));
  g_assert_cmpint (write (fds[1], "\n", 1), ==, 1);
  close (fds[1]);
  fd_text = g_strdup_printf ("%d", fds[0]);
  g_setenv ("VIGIL_PASSWORD_FD", fd_text, TRUE);
  id = vh_api ()->create_task (vh_registry_find_plugin (fx->host, "guarded"), &spec,
                               sizeof spec, error);
  g_unsetenv ("VIGIL_PASSWORD_FD");
  close (fds[0]);
  return id;
}

static void
test_plugin_create_task_asks_password (void)
{
  CoreFixture fx;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  setup_protected (&fx, NULL);
  core_open_host (&fx, NULL);
  g_assert_null (create_open_task (&fx, "not-it", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "wrong password: 'guarded.open'"));
  g_clear_error (&error);
  id = create_open_task (&fx, PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);
  core_fixture_clear (&fx);
}

static gpointer
create_from_worker (gpointer data)
{
  CoreFixture *fx = data;
  GError *error = NULL;
  char *id = create_open_task (fx, PASSWORD, &error);

  g_assert_null (id);
  return error;
}

/* A task run creating a protected task: no one to ask, so refused even
 * with the right password at hand. */
static void
test_worker_thread_refused (void)
{
  CoreFixture fx;
  g_autoptr(GError) error = NULL;

  setup_protected (&fx, NULL);
  core_open_host (&fx, NULL);
  error = g_thread_join (g_thread_new ("run", create_from_worker, &fx));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "can only be asked on the host's main thread"));
  core_fixture_clear (&fx);
}

static void
test_squatted_action_refused (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  g_free (core_copy_plugin ("guarded_squat", fx.plugins));
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "guarded_squat", "protected action 'basic.open' is in the "
                       "namespace 'basic' of the plugin 'basic' (");
  core_assert_refused (fx.host, "guarded_squat", "not of the plugin 'guarded_squat'");
  g_assert_null (vh_registry_action (fx.host, "basic.open"));
  core_fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_unsetenv ("VIGIL_PASSWORD_FD");
  g_unsetenv ("VIGIL_LOCAL_DEVICE");
  g_test_add_func ("/protect/declared-actions-listed", test_declared_actions_listed);
  g_test_add_func ("/protect/password-check-enforces-plugin-action",
                   test_password_check_enforces_plugin_action);
  g_test_add_func ("/protect/plugin-command-enforces-its-action",
                   test_plugin_command_enforces_its_action);
  g_test_add_func ("/protect/undeclared-action-refused", test_undeclared_action_refused);
  g_test_add_func ("/protect/task-type-protected-on-create-and-run",
                   test_task_type_protected_on_create_and_run);
  g_test_add_func ("/protect/policy-lists-declared-actions-only",
                   test_policy_lists_declared_actions_only);
  g_test_add_func ("/protect/plugin-create-task-asks-password",
                   test_plugin_create_task_asks_password);
  g_test_add_func ("/protect/worker-thread-refused", test_worker_thread_refused);
  g_test_add_func ("/protect/squatted-action-refused", test_squatted_action_refused);
  return g_test_run ();
}
