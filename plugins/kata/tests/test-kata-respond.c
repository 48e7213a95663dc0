/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Response actions sent by the central node, end to end: this test's
 * node (kata-test-server.c, real TLS on loopback) lists a process.kill
 * of a real child process the test started, a file.delete of a real
 * file, and a type no plugin here provides; the built `vigil` synchronizes
 * (`kata flush`), runs what was created (`task run-due`), and sends the
 * outcomes (`kata flush`). The child dies of SIGKILL, the file is gone,
 * the node receives task.completed with its own task id and the run's
 * result (what was killed; what was deleted, with its SHA-256) and the
 * device's file.deleted, a delete of a protected path fails with the
 * reason, and the type the device cannot run comes back as task.rejected
 * marked unsupported.
 */
#include "kata-test-server.h"
#include "vt-cli.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONTENT "dropped by an attacker"

static VtCerts *certs;

typedef struct {
  char     *dir;     /* the files the node's task deletes */
  char     *state;
  KtServer *srv;
} Fx;

/* Runs `vigil ARGS...` and asserts its exit status. */
static void
vigil_expect (Fx *f, int status, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_auto (VtCli) r = { 0 };
  va_list ap;

  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  vt_cli_runv (&r, f->state, NULL, NULL, (const char *const *) args->pdata);
  if (r.status != status)
    g_error ("vigil %s: exit %d\nstdout: %s\nstderr: %s", first, r.status, r.out, r.err);
}

/* The kata integration on, towards this test's node, pinned to its
 * certificate; one device, this machine (no root folder). */
static void
setup (Fx *f, gconstpointer data)
{
  g_autofree char *pem = vt_read_text (certs->server_pem);
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;
  g_autofree char *policy = NULL;

  f->dir = g_dir_make_tmp ("kata-respond-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  f->srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  text = g_strdup_printf (
      "{\"name\":\"edr\",\"group\":\"root\",\"status\":\"active\",\"settings\":{"
      "\"kata\":{\"schema_version\":1,"
      "\"connection\":{\"locked\":true,\"values\":{\"enabled\":true,\"timeout_sec\":10,"
      "\"servers\":[{\"address\":\"127.0.0.1\",\"port\":%u}]}},"
      "\"trusted_connection\":{\"locked\":true,\"values\":{"
      "\"use_pinned_certificate\":true,\"pinned_certificate\":\"\"}}}}}",
      kt_server_port (f->srv));
  node = json_from_string (text, NULL);
  g_assert_nonnull (node);
  json_object_set_string_member (
      json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (
          json_object_get_object_member (json_node_get_object (node), "settings"), "kata"),
          "trusted_connection"), "values"), "pinned_certificate", pem);
  g_free (text);
  text = json_to_string (node, FALSE);
  policy = g_build_filename (f->dir, "policy.json", NULL);
  g_assert_true (g_file_set_contents (policy, text, -1, NULL));
  vigil_expect (f, 0, "device", "add", "pc1", "--group", "root", NULL);
  vigil_expect (f, 0, "policy", "apply", policy, NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  kt_server_stop (f->srv);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
}

/* The node's next synchronization lists @tasks; the device synchronizes,
 * runs what it created (`task run-due` exits @run_status: 1 when a run
 * failed), and reports back. */
static void
node_sends (Fx *f, const char *tasks, int run_status)
{
  g_autofree char *body = g_strdup_printf ("{\"tasks\":%s}", tasks);

  kt_server_set_sync_body (f->srv, body);
  vigil_expect (f, 0, "kata", "flush", "--device", "pc1", NULL);
  vigil_expect (f, run_status, "task", "run-due", NULL);
  vigil_expect (f, 0, "kata", "flush", "--device", "pc1", NULL);
}

static JsonObject *
last_payload (Fx *f, const char *type)
{
  g_autofree char *text = kt_server_last_payload (f->srv, type);
  g_autoptr (JsonNode) node = NULL;

  if (text == NULL)
    g_error ("the node received no %s", type);
  node = json_from_string (text, NULL);
  g_assert_true (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static void
test_node_kills_a_process (Fx *f, gconstpointer data)
{
  const char *argv[] = { "/bin/sleep", "1000", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) done = NULL;
  g_autofree char *tasks = NULL;
  JsonObject *result, *killed;
  GPid pid;
  int status = 0;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                NULL, &pid, &error));
  tasks = g_strdup_printf ("[{\"id\":\"k-kill\",\"type\":\"process.kill\",\"name\":\"node kill\","
                           "\"params\":{\"pid\":%d}}]", pid);
  node_sends (f, tasks, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

  g_assert_cmpuint (kt_server_type_count (f->srv, "task.completed"), ==, 1);
  g_assert_cmpuint (kt_server_type_count (f->srv, "task.failed"), ==, 0);
  done = last_payload (f, "task.completed");
  g_assert_cmpstr (json_object_get_string_member (done, "node_task_id"), ==, "k-kill");
  g_assert_cmpstr (json_object_get_string_member (done, "type"), ==, "process.kill");
  if (!json_object_has_member (done, "result"))
    g_error ("no result in %s", kt_server_last_payload (f->srv, "task.completed"));
  result = json_object_get_object_member (done, "result");
  g_assert_cmpint (json_object_get_int_member (result, "matched"), ==, 1);
  killed = json_array_get_object_element (json_object_get_array_member (result, "killed"), 0);
  g_assert_cmpint (json_object_get_int_member (killed, "pid"), ==, pid);
}

static void
test_node_deletes_a_file (Fx *f, gconstpointer data)
{
  g_autofree char *file = g_build_filename (f->dir, "dropper.bin", NULL);
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, CONTENT, -1);
  g_autofree char *tasks = NULL;
  g_autoptr (JsonObject) done = NULL;
  JsonObject *result, *rec;

  g_assert_true (g_file_set_contents (file, CONTENT, -1, NULL));
  tasks = g_strdup_printf ("[{\"id\":\"k-del\",\"type\":\"file.delete\",\"name\":\"node delete\","
                           "\"params\":{\"path\":\"%s\"}}]", file);
  node_sends (f, tasks, 0);
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));

  g_assert_cmpuint (kt_server_type_count (f->srv, "task.completed"), ==, 1);
  done = last_payload (f, "task.completed");
  g_assert_cmpstr (json_object_get_string_member (done, "node_task_id"), ==, "k-del");
  g_assert_cmpstr (json_object_get_string_member (done, "state"), ==, "completed");
  result = json_object_get_object_member (done, "result");
  g_assert_nonnull (result);
  rec = json_array_get_object_element (json_object_get_array_member (result, "deleted"), 0);
  g_assert_cmpstr (json_object_get_string_member (rec, "path"), ==, file);
  g_assert_cmpstr (json_object_get_string_member (rec, "sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (rec, "owner"), ==, "root");
  /* The device's own record of the deletion reaches the node too. */
  g_assert_cmpuint (kt_server_type_count (f->srv, "file.deleted"), ==, 1);
  g_clear_pointer (&done, json_object_unref);
  done = last_payload (f, "file.deleted");
  g_assert_cmpstr (json_object_get_string_member (done, "path"), ==, file);
  g_assert_cmpstr (json_object_get_string_member (done, "sha256"), ==, sha);
}

/* A node's delete of what the device protects fails, and says why. */
static void
test_node_delete_of_protected_path_fails (Fx *f, gconstpointer data)
{
  g_autoptr (JsonObject) failed = NULL;

  node_sends (f, "[{\"id\":\"k-etc\",\"type\":\"file.delete\",\"name\":\"node delete etc\","
                 "\"params\":{\"path\":\"/etc/hostname\"}}]", 1);
  g_assert_true (g_file_test ("/etc/hostname", G_FILE_TEST_EXISTS));
  g_assert_cmpuint (kt_server_type_count (f->srv, "task.completed"), ==, 0);
  failed = last_payload (f, "task.failed");
  g_assert_cmpstr (json_object_get_string_member (failed, "node_task_id"), ==, "k-etc");
  g_assert_nonnull (strstr (json_object_get_string_member (failed, "error"),
                            "protected with everything it holds"));
}

static void
test_unsupported_type_rejected (Fx *f, gconstpointer data)
{
  g_autoptr (JsonObject) rejected = NULL;

  node_sends (f, "[{\"id\":\"k-yara\",\"type\":\"yara.scan\",\"params\":{}}]", 0);
  g_assert_cmpuint (kt_server_type_count (f->srv, "task.rejected"), ==, 1);
  rejected = last_payload (f, "task.rejected");
  g_assert_cmpstr (json_object_get_string_member (rejected, "node_task_id"), ==, "k-yara");
  g_assert_true (json_object_get_boolean_member (rejected, "unsupported"));
  g_assert_nonnull (strstr (json_object_get_string_member (rejected, "reason"),
                            "cannot run tasks of type 'yara.scan'"));
}

#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  ADD ("/kata/respond/node-kills-a-process", test_node_kills_a_process);
  ADD ("/kata/respond/node-deletes-a-file", test_node_deletes_a_file);
  ADD ("/kata/respond/node-delete-of-protected-path-fails", test_node_delete_of_protected_path_fails);
  ADD ("/kata/respond/unsupported-type-rejected", test_unsupported_type_rejected);
  rc = g_test_run ();
  vt_certs_free (certs);
  return rc;
}
