/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the response actions with real processes: the engine driven
 * directly (processes the test starts and then kills, programs it runs,
 * lab roots in temporary folders), and the task types through the built
 * `vigil` (validation, password protection, a run end to end).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "resp-engine.h"
#include "vt-cli.h"

static JsonObject *
params_of (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

/* Starts @argv (no reaping by GLib: the test waits itself). */
static GPid
start (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  GPid pid;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  return pid;
}

/* The process's executable, once exec has happened (a condition, not a
 * duration: the child is polled until /proc shows the new program). */
static void
wait_exec (GPid pid, const char *exe)
{
  for (int tries = 0; tries < 100000; tries++)
    {
      RespProc p;
      gboolean same = FALSE;

      if (resp_proc_read (pid, &p, NULL))
        {
          same = g_strcmp0 (p.exe, exe) == 0;
          resp_proc_clear (&p);
        }
      if (same)
        return;
      g_usleep (1000);
    }
  g_error ("process %d never ran %s", pid, exe);
}

static int
reap (GPid pid)
{
  int status = 0;

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return status;
}

static gboolean
alive (GPid pid)
{
  int status;

  return waitpid (pid, &status, WNOHANG) == 0;
}

/* A lab root with a copy of sleep at /usr/bin/vt-sleeper, made unique by
 * trailing bytes (an ELF file runs with them) so its SHA-256 matches no
 * other program on the machine. */
static char *
lab_with_sleeper (char **exe)
{
  g_autofree char *dir = g_dir_make_tmp ("vt-response-XXXXXX", NULL);
  g_autofree char *bin = g_build_filename (dir, "usr", "bin", NULL);
  g_autofree char *data = NULL;
  g_autofree char *unique = NULL;
  gsize len;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_true (g_file_get_contents ("/bin/sleep", &data, &len, NULL));
  unique = g_strdup_printf ("vigil-test-%d-%s", getpid (), dir);
  *exe = g_build_filename (bin, "vt-sleeper", NULL);
  {
    g_autoptr (GByteArray) b = g_byte_array_new ();
    g_byte_array_append (b, (guint8 *) data, len);
    g_byte_array_append (b, (guint8 *) unique, strlen (unique));
    g_assert_true (g_file_set_contents (*exe, (char *) b->data, b->len, NULL));
  }
  g_assert_cmpint (g_chmod (*exe, 0755), ==, 0);
  return g_steal_pointer (&dir);
}

static void
test_kill_by_pid (void)
{
  const char *argv[] = { "/bin/sleep", "1000", NULL };
  g_autofree char *sleep_exe = realpath ("/bin/sleep", NULL);
  GPid pid = start (argv);
  g_autofree char *json = NULL;
  g_autoptr (JsonObject) params = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean all = FALSE;
  int status;

  wait_exec (pid, sleep_exe);
  json = g_strdup_printf ("{\"pid\": %d, \"signal\": \"KILL\"}", pid);
  params = params_of (json);
  result = resp_kill ("/", params, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_true (all);
  g_assert_cmpint (json_object_get_int_member (result, "matched"), ==, 1);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (result, "killed")), ==, 1);
  status = reap (pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
}

static void
test_kill_by_path_and_hash_in_lab (void)
{
  g_autofree char *exe = NULL;
  g_autofree char *lab = lab_with_sleeper (&exe);
  g_autofree char *sleep_exe = realpath ("/bin/sleep", NULL);
  const char *inside[] = { exe, "1000", NULL };
  const char *outside[] = { "/bin/sleep", "1000", NULL };
  GPid a = start (inside), b = start (inside), c = start (outside);
  g_autofree char *sum = resp_file_sha256 (exe, NULL);
  g_autofree char *json = g_strdup_printf ("{\"sha256\": \"%s\"}", sum);
  g_autoptr (JsonObject) by_path = params_of ("{\"path\": \"/usr/bin/vt-sleeper\"}");
  g_autoptr (JsonObject) by_hash = params_of (json);
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (JsonObject) again = NULL;
  g_autoptr (GError) error = NULL;
  gboolean all = FALSE;

  wait_exec (a, exe);
  wait_exec (b, exe);
  wait_exec (c, sleep_exe);
  /* The lab device sees only processes whose program lies in its root. */
  result = resp_kill (lab, by_path, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_true (all);
  g_assert_cmpint (json_object_get_int_member (result, "matched"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (
                     json_array_get_object_element (json_object_get_array_member (result, "killed"), 0),
                     "exe"), ==, "/usr/bin/vt-sleeper");
  reap (a);
  reap (b);
  g_assert_true (alive (c));
  /* By hash: nothing left with that program, so nothing matched. */
  again = resp_kill (lab, by_hash, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_false (all);
  g_assert_cmpint (json_object_get_int_member (again, "matched"), ==, 0);
  g_clear_pointer (&again, json_object_unref);
  a = start (inside);
  wait_exec (a, exe);
  again = resp_kill ("/", by_hash, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_true (all);
  g_assert_cmpint (json_object_get_int_member (again, "matched"), ==, 1);
  reap (a);
  g_assert_true (alive (c));
  /* Nor by PID: a process outside the lab root is not the lab device's. */
  {
    g_autofree char *pid_json = g_strdup_printf ("{\"pid\": %d}", c);
    g_autoptr (JsonObject) by_pid = params_of (pid_json);
    g_autoptr (JsonObject) none = resp_kill (lab, by_pid, NULL, &all, &error);

    g_assert_no_error (error);
    g_assert_cmpint (json_object_get_int_member (none, "matched"), ==, 0);
    g_assert_true (alive (c));
  }
  kill (c, SIGKILL);
  reap (c);
  vt_rm_rf (lab);
}

static void
test_kill_with_children (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vt-response-XXXXXX", NULL);
  g_autofree char *ready = g_build_filename (dir, "ready", NULL);
  g_autofree char *script = g_strdup_printf ("sleep 1000 & sleep 1000 & echo x > %s; wait", ready);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  GPid sh = start (argv);
  g_autofree char *json = g_strdup_printf ("{\"pid\": %d, \"children\": true}", sh);
  g_autoptr (JsonObject) params = params_of (json);
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean all = FALSE;

  for (int tries = 0; tries < 100000 && !g_file_test (ready, G_FILE_TEST_EXISTS); tries++)
    g_usleep (1000);
  g_assert_true (g_file_test (ready, G_FILE_TEST_EXISTS));
  result = resp_kill ("/", params, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_true (all);
  g_assert_cmpint (json_object_get_int_member (result, "matched"), ==, 1);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (result, "killed")), ==, 3);
  g_assert_true (WIFSIGNALED (reap (sh)));
  vt_rm_rf (dir);
}

static void
test_kill_refusals (void)
{
  g_autofree char *self_json = g_strdup_printf ("{\"pid\": %d}", getpid ());
  g_autoptr (JsonObject) init = params_of ("{\"pid\": 1}");
  g_autoptr (JsonObject) two = params_of ("{\"pid\": 5, \"path\": \"/bin/sleep\"}");
  g_autoptr (JsonObject) bad_hash = params_of ("{\"sha256\": \"abc\"}");
  g_autoptr (JsonObject) self = params_of (self_json);
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (GError) error = NULL;
  const char *key = NULL;
  g_autofree char *p1 = resp_kill_check (init, &key);
  g_autofree char *p2 = NULL;
  g_autofree char *p3 = NULL;
  gboolean all = TRUE;

  g_assert_nonnull (strstr (p1, "PID 1"));
  p2 = resp_kill_check (two, &key);
  g_assert_nonnull (strstr (p2, "exactly one"));
  p3 = resp_kill_check (bad_hash, &key);
  g_assert_cmpstr (key, ==, "sha256");
  g_assert_null (resp_kill ("/", init, NULL, &all, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* The agent (here: this test) is never killed, and the result says so. */
  result = resp_kill ("/", self, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_false (all);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member (result, "killed")), ==, 0);
  g_assert_nonnull (strstr (json_object_get_string_member (
                              json_array_get_object_element (
                                json_object_get_array_member (result, "not_killed"), 0),
                              "reason"), "own process"));
}

static JsonObject *
run_ok (const char *root, const char *json, gboolean expect_success)
{
  g_autoptr (JsonObject) params = params_of (json);
  g_autoptr (GError) error = NULL;
  gboolean ok = !expect_success;
  JsonObject *result = resp_run (root, params, NULL, &ok, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpint (ok, ==, expect_success);
  return result;
}

static void
test_run_program (void)
{
  g_autoptr (JsonObject) echo = run_ok ("/", "{\"path\": \"/bin/echo\", \"args\": [\"a b\", \"$HOME;\"]}", TRUE);
  g_autoptr (JsonObject) shell = NULL;
  g_autoptr (JsonObject) big = NULL;
  g_autoptr (JsonObject) env = NULL;

  /* No shell: arguments arrive as given. */
  g_assert_cmpstr (json_object_get_string_member (echo, "stdout"), ==, "a b $HOME;\n");
  g_assert_cmpint (json_object_get_int_member (echo, "exit_status"), ==, 0);
  shell = run_ok ("/", "{\"command\": \"echo out; echo err >&2; exit 3\"}", FALSE);
  g_assert_cmpint (json_object_get_int_member (shell, "exit_status"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (shell, "stdout"), ==, "out\n");
  g_assert_cmpstr (json_object_get_string_member (shell, "stderr"), ==, "err\n");
  big = run_ok ("/", "{\"command\": \"head -c 100000 /dev/zero | tr '\\\\000' a\", "
                     "\"max_output_bytes\": 1000}", TRUE);
  g_assert_cmpint (json_object_get_int_member (big, "stdout_bytes"), ==, 100000);
  g_assert_true (json_object_get_boolean_member (big, "stdout_truncated"));
  g_assert_cmpint (strlen (json_object_get_string_member (big, "stdout")), ==, 1000);
  /* A clean environment: the agent's own variables never reach it. */
  g_setenv ("VT_AGENT_SECRET", "s3cret", TRUE);
  env = run_ok ("/", "{\"command\": \"echo $FOO ${VT_AGENT_SECRET-unset}\", "
                     "\"env\": [\"FOO=bar\"]}", TRUE);
  g_assert_cmpstr (json_object_get_string_member (env, "stdout"), ==, "bar unset\n");
}

static void
test_run_timeout_and_cancel (void)
{
  g_autoptr (JsonObject) slow = run_ok ("/", "{\"command\": \"sleep 1000 & sleep 1000; wait\", "
                                             "\"timeout_seconds\": 1}", FALSE);
  g_autoptr (JsonObject) params = params_of ("{\"path\": \"/bin/sleep\", \"args\": [\"1000\"]}");
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (JsonObject) cancelled = NULL;
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  g_assert_true (json_object_get_boolean_member (slow, "timed_out"));
  g_assert_true (json_object_get_null_member (slow, "exit_status"));
  g_cancellable_cancel (cancel);
  cancelled = resp_run ("/", params, cancel, &ok, &error);
  g_assert_no_error (error);
  g_assert_false (ok);
  g_assert_true (json_object_get_boolean_member (cancelled, "cancelled"));
}

static void
test_run_confined_to_lab_root (void)
{
  g_autofree char *lab = g_dir_make_tmp ("vt-response-XXXXXX", NULL);
  g_autofree char *sub = g_build_filename (lab, "work", NULL);
  g_autofree char *link = g_build_filename (lab, "escape", NULL);
  g_autofree char *real_sub = NULL;
  g_autoptr (JsonObject) pwd = NULL;
  g_autoptr (JsonObject) dotdot = params_of ("{\"command\": \"pwd\", \"cwd\": \"/../..\"}");
  g_autoptr (JsonObject) via_link = params_of ("{\"command\": \"pwd\", \"cwd\": \"/escape\"}");
  g_autoptr (GError) error = NULL;
  g_autofree char *expected = NULL;
  gboolean ok;

  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_cmpint (symlink ("/etc", link), ==, 0);
  real_sub = realpath (sub, NULL);
  expected = g_strdup_printf ("%s\n", real_sub);
  pwd = run_ok (lab, "{\"command\": \"pwd\", \"cwd\": \"/work\"}", TRUE);
  g_assert_cmpstr (json_object_get_string_member (pwd, "stdout"), ==, expected);
  /* Neither ".." nor a symlink leads out of the root. */
  g_assert_null (resp_run (lab, dotdot, NULL, &ok, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_null (resp_run (lab, via_link, NULL, &ok, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  vt_rm_rf (lab);
}

static void
test_run_as_user (void)
{
  g_autoptr (JsonObject) as_nobody = NULL;

  if (getuid () != 0)
    {
      g_test_skip ("switching users needs root");
      return;
    }
  as_nobody = run_ok ("/", "{\"path\": \"/usr/bin/id\", \"args\": [\"-u\"], \"user\": \"nobody\"}", TRUE);
  g_assert_cmpstr (json_object_get_string_member (as_nobody, "stdout"), ==, "65534\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/respond/kill/by-pid", test_kill_by_pid);
  g_test_add_func ("/respond/kill/by-path-and-hash-in-lab", test_kill_by_path_and_hash_in_lab);
  g_test_add_func ("/respond/kill/children", test_kill_with_children);
  g_test_add_func ("/respond/kill/refusals", test_kill_refusals);
  g_test_add_func ("/respond/run/program", test_run_program);
  g_test_add_func ("/respond/run/timeout-and-cancel", test_run_timeout_and_cancel);
  g_test_add_func ("/respond/run/confined-to-lab-root", test_run_confined_to_lab_root);
  g_test_add_func ("/respond/run/as-user", test_run_as_user);
  return g_test_run ();
}
