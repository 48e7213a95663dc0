/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The response task types through the built `vigil`, as an admin uses
 * them: parameters checked at creation with errors that name the
 * parameter, a process.kill task that ends a real process the test
 * started, and process.run refused without the password once protection
 * is on, then run with it and its output in the task's results.
 */
#include "vt-cli.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#define PASSWORD "Vigil-Response-2026!"

typedef struct {
  char *dir;
  char *state;
} Fx;

static void
setup (Fx *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-response-cli-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  vt_cli_ok (f->state, "group", "add", "office", NULL);
  vt_cli_ok (f->state, "device", "add", "here", "--group", "office", NULL);
  vt_cli_ok (f->state, "device", "set-machine", "here", NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
}

/* Creates a manual task of @type on "here" and runs it; returns the run's
 * result object from `task results --json` (transfer full). */
static JsonObject *
create_and_run (Fx *f, const char *password, const char *type, const char *params,
                int expect_run_status)
{
  g_autofree char *file = vt_write_file (f->dir, "params.json", params);
  g_autofree char *id = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_auto (VtCli) r = { 0 };
  JsonArray *runs;
  JsonObject *run;

  vt_cli_run (&r, f->state, password, NULL, "task", "create", "--type", type, "--device",
              "here", "--params", file, "--schedule", "{\"kind\":\"manual\"}", "--json", NULL);
  vt_cli_expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, password, NULL, "task", "run", id, NULL);
  vt_cli_expect (&r, expect_run_status, NULL);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "results", id, "--json", NULL);
  vt_cli_expect (&r, 0, NULL);
  node = json_from_string (r.out, NULL);
  g_assert_nonnull (node);
  runs = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node)
                                      : json_object_get_array_member (json_node_get_object (node), "runs");
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_true (json_object_has_member (run, "result"));
  return json_object_ref (json_object_get_object_member (run, "result"));
}

static void
test_params_checked_at_creation (Fx *f, gconstpointer data)
{
  g_autofree char *both = vt_write_file (f->dir, "both.json",
                                         "{\"pid\": 5, \"path\": \"/bin/sleep\"}");
  g_autofree char *init = vt_write_file (f->dir, "init.json", "{\"pid\": 1}");
  g_autofree char *env = vt_write_file (f->dir, "env.json",
                                        "{\"path\": \"/bin/true\", \"env\": [\"1X=y\"]}");
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "task", "create", "--type", "process.kill", "--device",
              "here", "--params", both, NULL);
  g_assert_cmpint (r.status, !=, 0);
  vt_cli_expect (&r, r.status, "exactly one of pid, path and sha256");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "create", "--type", "process.kill", "--device",
              "here", "--params", init, NULL);
  g_assert_cmpint (r.status, !=, 0);
  vt_cli_expect (&r, r.status, "PID 1");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "create", "--type", "process.run", "--device",
              "here", "--params", env, NULL);
  g_assert_cmpint (r.status, !=, 0);
  vt_cli_expect (&r, r.status, "env");
}

static void
test_kill_task_ends_a_process (Fx *f, gconstpointer data)
{
  const char *argv[] = { "/bin/sleep", "1000", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autofree char *params = NULL;
  GPid pid;
  int status = 0;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, &error));
  params = g_strdup_printf ("{\"pid\": %d}", pid);
  result = create_and_run (f, NULL, "process.kill", params, 0);
  g_assert_cmpint (json_object_get_int_member (result, "matched"), ==, 1);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
}

/* `vigil respond kill` creates the same task an admin would write by hand. */
static void
test_response_command (Fx *f, gconstpointer data)
{
  const char *argv[] = { "/bin/sleep", "1000", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *id = NULL;
  g_auto (VtCli) r = { 0 };
  GPid pid;
  int status = 0;

  vt_cli_run (&r, f->state, NULL, NULL, "respond", "kill", "--device", "here", NULL);
  g_assert_cmpint (r.status, ==, 2);
  vt_cli_expect (&r, 2, "exactly one of pid, path and sha256");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "run", "--device", "here", NULL);
  vt_cli_expect (&r, 2, "give either --command or -- PROGRAM");
  vt_cli_clear (&r);
  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, &error));
  pid_text = g_strdup_printf ("%d", pid);
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "kill", "--device", "here", "--pid",
              pid_text, "--json", NULL);
  vt_cli_expect (&r, 0, "process.kill");
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "run", id, NULL);
  vt_cli_expect (&r, 0, NULL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
}

static void
test_run_task_protected (Fx *f, gconstpointer data)
{
  g_autofree char *policy = vt_write_file (f->dir, "pw.json",
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1}}}");
  g_autofree char *params = vt_write_file (f->dir, "run.json",
    "{\"path\": \"/bin/echo\", \"args\": [\"hello from the device\"]}");
  g_autoptr (JsonObject) result = NULL;
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, PASSWORD, NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  vt_cli_expect (&r, 0, NULL);
  vt_cli_clear (&r);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "create", "--type", "process.run", "--device",
              "here", "--params", params, NULL);
  g_assert_cmpint (r.status, !=, 0);
  vt_cli_expect (&r, r.status, "password");
  vt_cli_clear (&r);
  result = create_and_run (f, PASSWORD, "process.run",
                           "{\"path\": \"/bin/echo\", \"args\": [\"hello from the device\"]}", 0);
  g_assert_cmpstr (json_object_get_string_member (result, "stdout"), ==, "hello from the device\n");
  g_assert_cmpint (json_object_get_int_member (result, "exit_status"), ==, 0);
}

#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/respond/cli/params-checked-at-creation", test_params_checked_at_creation);
  ADD ("/respond/cli/kill-task-ends-a-process", test_kill_task_ends_a_process);
  ADD ("/respond/cli/response-command", test_response_command);
  ADD ("/respond/cli/run-task-protected", test_run_task_protected);
  return g_test_run ();
}
