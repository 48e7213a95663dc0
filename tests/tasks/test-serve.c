/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil serve` as a real child process on a temporary state folder: events
 * arrive on its Unix socket (one JSON line each, one reply line each) and
 * as files dropped in its inbox (moved to processed/ or failed/ with the
 * reason; links are not followed); on-start tasks run when it starts; SIGTERM cancels a running
 * run, records it, and the process exits with 0.
 */
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gio/gunixsocketaddress.h>
#include "fixture.h"

typedef struct {
  Fixture      f;
  char        *socket_path;
  char        *inbox;
  GSubprocess *serve;
} ServeFixture;

static gboolean
wait_for_path (const char *path)
{
  /* Polls with a generous bound: the bound fails a hung test, it does not
   * time anything. */
  for (int i = 0; i < 3000; i++)
    {
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return TRUE;
      g_usleep (10 * 1000);
    }
  return FALSE;
}

/* The socket file appears when serve binds it, a moment before it listens;
 * a client connecting in between is refused. So the condition waited for
 * is that a connection is accepted (the probe sends nothing, which serve
 * takes as a client that left). */
static gboolean
wait_for_listening (const char *path)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);

  if (!wait_for_path (path))
    return FALSE;
  for (int i = 0; i < 3000; i++)
    {
      g_autoptr (GSocketConnection) probe = NULL;
      g_autoptr (GError) error = NULL;

      probe = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
      if (probe != NULL)
        return g_io_stream_close (G_IO_STREAM (probe), NULL, NULL);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        return FALSE;
      g_usleep (10 * 1000);
    }
  return FALSE;
}

static void
start_serve (ServeFixture *s)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree char *log = g_build_filename (s->f.dir, "serve.log", NULL);
  g_autoptr (GError) error = NULL;

  g_subprocess_launcher_set_stdout_file_path (launcher, log);
  s->serve = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("VIGIL_CLI"),
                                          "--state-dir", s->f.dir,
                                          "--plugin-dir", g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"),
                                          "serve", "--socket", s->socket_path,
                                          "--inbox", s->inbox, NULL);
  g_assert_no_error (error);
  g_assert_true (wait_for_listening (s->socket_path));
}

/* SIGTERM, then the exit status must be a clean 0. */
static void
stop_serve (ServeFixture *s)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_send_signal (s->serve, SIGTERM);
  g_assert_true (g_subprocess_wait (s->serve, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (s->serve));
  g_assert_cmpint (g_subprocess_get_exit_status (s->serve), ==, 0);
  g_assert_false (g_file_test (s->socket_path, G_FILE_TEST_EXISTS));
}

static void
serve_setup (ServeFixture *s, gconstpointer data)
{
  fixture_setup (&s->f, data);
  /* serve runs on the real clock; so must the tasks the test creates. */
  s->f.now = g_get_real_time ();
  s->socket_path = g_build_filename (s->f.dir, "vigil.sock", NULL);
  s->inbox = g_build_filename (s->f.dir, "inbox", NULL);
}

static void
serve_teardown (ServeFixture *s, gconstpointer data)
{
  if (s->serve != NULL && !g_subprocess_get_if_exited (s->serve)
      && !g_subprocess_get_if_signaled (s->serve))
    {
      g_subprocess_force_exit (s->serve);
      g_subprocess_wait (s->serve, NULL, NULL);
    }
  g_clear_object (&s->serve);
  g_free (s->socket_path);
  g_free (s->inbox);
  fixture_teardown (&s->f, data);
}

static char *
send_line (GDataInputStream *in, GOutputStream *out, const char *line)
{
  g_autoptr (GError) error = NULL;
  char *reply;

  g_assert_true (g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &error));
  reply = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  return reply;
}

static void
write_inbox_file (ServeFixture *s, const char *name, const char *content)
{
  g_autofree char *tmp = g_build_filename (s->inbox, ".partial", NULL);
  g_autofree char *path = g_build_filename (s->inbox, name, NULL);

  /* Writers drop a whole file by renaming it into place. */
  g_assert_true (g_file_set_contents (tmp, content, -1, NULL));
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

/* Events of @type, or with NULL every event but the host's own audit
 * events (host.inventory_changed of the fixture's devices, ...). */
static guint
count_events (ServeFixture *s, const char *type)
{
  g_autoptr (JsonArray) events = vigil_host_events (s->f.host, 0, type, NULL, 0, NULL);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (events); i++)
    if (type || !g_str_has_prefix (json_object_get_string_member (
                    json_array_get_object_element (events, i), "type"), "host."))
      n++;
  return n;
}

static void
test_socket_and_inbox_events_stored (ServeFixture *s, gconstpointer data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (s->socket_path);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *ok_reply = NULL, *bad_reply = NULL;
  g_autofree char *processed = g_build_filename (s->inbox, "processed", "001-added.json", NULL);
  g_autofree char *failed = g_build_filename (s->inbox, "failed", "002-bad.json", NULL);
  g_autofree char *reason = g_strconcat (failed, ".error", NULL);
  g_autofree char *reason_text = NULL;
  g_autofree char *link_path = g_build_filename (s->inbox, "003-link.json", NULL);
  g_autofree char *link_reason = g_build_filename (s->inbox, "failed", "003-link.json.error", NULL);
  GStatBuf st;

  start_serve (s);
  g_assert_cmpint (g_stat (s->socket_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  ok_reply = send_line (in, g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                        "{\"type\":\"sandbox.threat_detected\",\"device\":\"a\","
                        "\"payload\":{\"user\":\"alice\"}}\n");
  g_assert_nonnull (strstr (ok_reply, "\"ok\":true"));
  bad_reply = send_line (in, g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                         "{\"type\":\"sandbox.threat_detected\",\"device\":\"nobody\"}\n");
  g_assert_nonnull (strstr (bad_reply, "\"ok\":false"));
  g_assert_nonnull (strstr (bad_reply, "socket line 2"));
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

  write_inbox_file (s, "001-added.json", "{\"type\":\"quarantine.added\",\"device\":\"b\","
                                         "\"payload\":{\"id\":\"q1\"}}");
  write_inbox_file (s, "002-bad.json", "{\"type\":\"quarantine.added\",");
  g_assert_cmpint (symlink (processed, link_path), ==, 0);
  g_assert_true (wait_for_path (processed));
  g_assert_true (wait_for_path (reason));
  g_assert_true (wait_for_path (link_reason));
  g_assert_true (g_file_test (failed, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (reason, &reason_text, NULL, NULL));
  g_assert_nonnull (strstr (reason_text, "inbox/002-bad.json"));

  stop_serve (s);
  g_assert_cmpuint (count_events (s, "sandbox.threat_detected"), ==, 1);
  g_assert_cmpuint (count_events (s, "quarantine.added"), ==, 1);
}

static void
test_socket_line_too_long_refused (ServeFixture *s, gconstpointer data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (s->socket_path);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  gsize size = VIGIL_HOST_EVENT_MAX_ENVELOPE + 16384;
  g_autofree char *junk = g_malloc (size);
  g_autofree char *reply = NULL;
  g_autofree char *after = NULL;

  start_serve (s);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  memset (junk, ' ', size);
  /* serve may close the connection before it has read all of it. */
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             junk, size, NULL, NULL, NULL);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  reply = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (reply, "line too long"));
  after = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  g_assert_null (after);   /* closed */
  stop_serve (s);
  g_assert_cmpuint (count_events (s, NULL), ==, 0);
}

static void
test_on_start_task_runs (ServeFixture *s, gconstpointer data)
{
  g_autofree char *id = create_task (&s->f, "tasks-test.record", "a", NULL,
                                     "{\"kind\":\"on_start\"}", NULL);
  g_autoptr (JsonArray) runs = NULL;

  start_serve (s);
  for (int i = 0; i < 3000; i++)
    {
      g_clear_pointer (&runs, json_array_unref);
      runs = runs_of (&s->f, id);
      if (json_array_get_length (runs) == 1
          && g_str_equal (json_object_get_string_member (run_at (runs, 0), "state"), "completed"))
        break;
      g_usleep (10 * 1000);
    }
  stop_serve (s);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "completed");
}

static void
test_sigterm_cancels_running_run (ServeFixture *s, gconstpointer data)
{
  g_autofree char *marker = g_build_filename (s->f.dir, "waiting", NULL);
  g_autofree char *started = g_strconcat (marker, ".a", NULL);
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *id = NULL;
  g_autoptr (JsonArray) runs = NULL;

  json_object_set_string_member (params, "marker", marker);
  id = create_task (&s->f, "tasks-test.wait", "a", NULL, NULL, params);
  start_serve (s);
  g_assert_true (wait_for_path (started));
  stop_serve (s);
  runs = runs_of (&s->f, id);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "cancelled");
}

/* Runs serve, which must refuse to start: exit 2 with @expected on stderr. */
static void
assert_serve_refuses (ServeFixture *s, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) child = NULL;
  g_autofree char *out = NULL, *err = NULL;

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error, g_getenv ("VIGIL_CLI"), "--state-dir", s->f.dir,
                            "--plugin-dir", g_getenv ("VIGIL_TASKS_TEST_PLUGIN_DIR"),
                            "serve", "--socket", s->socket_path, "--inbox", s->inbox, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (child, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 2);
  if (strstr (err, expected) == NULL)
    g_error ("expected \"%s\" in:\n%s", expected, err);
}

/* Runs @script with sh as the unprivileged user nobody (uid and gid
 * 65534, no supplementary groups); fails the test when it fails. */
static void
run_as_nobody (const char *script)
{
  const char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         "sh", "-ec", script, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("as nobody: %s: %s", script, err);
}

/* An inbox everyone may write to without the sticky bit lets anyone swap
 * its subfolders: refused. With the sticky bit (like /tmp) it is fine. */
static void
test_inbox_world_writable_refused (ServeFixture *s, gconstpointer data)
{
  g_assert_cmpint (g_mkdir (s->inbox, 0700), ==, 0);
  g_assert_cmpint (chmod (s->inbox, 0777), ==, 0);
  assert_serve_refuses (s, "is writable by everyone without the sticky bit (mode 0777)");
  g_assert_false (g_file_test (s->socket_path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (chmod (s->inbox, 01777), ==, 0);
  start_serve (s);
  stop_serve (s);
}

/* processed/ or failed/ that is a link (here to a folder of our own) is
 * never followed: serve refuses to start and says what to do. */
static void
test_inbox_linked_subfolder_refused (ServeFixture *s, gconstpointer data)
{
  g_autofree char *elsewhere = g_build_filename (s->f.dir, "elsewhere", NULL);
  g_autofree char *failed = g_build_filename (s->inbox, "failed", NULL);

  g_assert_cmpint (g_mkdir (s->inbox, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (elsewhere, 0700), ==, 0);
  g_assert_cmpint (symlink (elsewhere, failed), ==, 0);
  assert_serve_refuses (s, "/failed is a link or not a folder: refused");
}

/* An inbox owned by another user is that user's to rearrange: refused. */
static void
test_inbox_owned_by_other_refused (ServeFixture *s, gconstpointer data)
{
  if (geteuid () != 0)
    {
      g_test_skip ("giving a folder to another user needs root");
      return;
    }
  g_assert_cmpint (g_mkdir (s->inbox, 0700), ==, 0);
  g_assert_cmpint (chown (s->inbox, 65534, 65534), ==, 0);
  assert_serve_refuses (s, "is owned by uid 65534, not by the user running vigil serve");
}

/* The attack of #14: a producer who may write to the inbox (here nobody,
 * through the folder's group) swaps processed/ and failed/ for links to a
 * root-only folder while the root service runs. Files keep going to the
 * real folders, opened when serve started; nothing lands in the
 * root-only folder. */
static void
test_inbox_swapped_subfolders_not_followed (ServeFixture *s, gconstpointer data)
{
  g_autofree char *secret = g_build_filename (s->f.dir, "root-only", NULL);
  g_autofree char *moved_ok = g_build_filename (s->inbox, "old-processed", "001-ok.json", NULL);
  g_autofree char *moved_bad = g_build_filename (s->inbox, "old-failed", "002-bad.json.error",
                                                 NULL);
  g_autofree char *script = NULL;
  g_autoptr (GDir) dir = NULL;

  if (geteuid () != 0)
    {
      g_test_skip ("a service and a producer of different users needs root");
      return;
    }
  g_assert_cmpint (chmod (s->f.dir, 0711), ==, 0);
  g_assert_cmpint (g_mkdir (secret, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (s->inbox, 0700), ==, 0);
  g_assert_cmpint (chown (s->inbox, 0, 65534), ==, 0);
  g_assert_cmpint (chmod (s->inbox, 0770), ==, 0);
  start_serve (s);
  script = g_strdup_printf (
    "cd '%s'\n"
    "mv processed old-processed && ln -s '%s' processed\n"
    "mv failed old-failed && ln -s '%s' failed\n"
    "printf '{\"type\":\"quarantine.added\",\"device\":\"b\"}' > .t && mv .t 001-ok.json\n"
    "printf '{\"type\":' > .t && mv .t 002-bad.json\n", s->inbox, secret, secret);
  run_as_nobody (script);
  g_assert_true (wait_for_path (moved_ok));
  g_assert_true (wait_for_path (moved_bad));
  stop_serve (s);
  dir = g_dir_open (secret, 0, NULL);
  g_assert_nonnull (dir);
  g_assert_null (g_dir_read_name (dir));
  g_assert_cmpuint (count_events (s, "quarantine.added"), ==, 1);
}

/* Waits until serve's log (stdout and stderr) contains @text. */
static gboolean
wait_for_log (ServeFixture *s, const char *text)
{
  g_autofree char *log = g_build_filename (s->f.dir, "serve.log", NULL);

  for (int i = 0; i < 3000; i++)
    {
      g_autofree char *data = NULL;
      if (g_file_get_contents (log, &data, NULL, NULL) && strstr (data, text) != NULL)
        return TRUE;
      g_usleep (10 * 1000);
    }
  return FALSE;
}

/* A second serve on the same state folder used to take the socket over:
 * it is refused, naming the first one's pid, and the first keeps its
 * socket. */
static void
test_second_serve_refused (ServeFixture *s, gconstpointer data)
{
  g_autofree char *first_socket = g_strdup (s->socket_path);
  g_autofree char *expected = NULL;

  start_serve (s);
  expected = g_strdup_printf ("another vigil serve (pid %s) is running on the state folder",
                              g_subprocess_get_identifier (s->serve));
  g_free (s->socket_path);
  s->socket_path = g_build_filename (s->f.dir, "second.sock", NULL);
  assert_serve_refuses (s, expected);
  g_assert_false (g_file_test (s->socket_path, G_FILE_TEST_EXISTS));
  g_free (s->socket_path);
  s->socket_path = g_steal_pointer (&first_socket);
  g_assert_true (wait_for_listening (s->socket_path));
  stop_serve (s);
}

/* SIGHUP used to kill serve and leave its socket behind: it reloads and
 * goes on taking events. */
static void
test_sighup_reloads (ServeFixture *s, gconstpointer data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (s->socket_path);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *reply = NULL;

  start_serve (s);
  g_subprocess_send_signal (s->serve, SIGHUP);
  g_assert_true (wait_for_log (s, "vigil serve: reloaded (SIGHUP)"));
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  reply = send_line (in, g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                     "{\"type\":\"quarantine.added\",\"device\":\"b\"}\n");
  g_assert_nonnull (strstr (reply, "\"ok\":true"));
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  stop_serve (s);
  g_assert_cmpuint (count_events (s, "quarantine.added"), ==, 1);
}

#define ADD(path, fn) g_test_add (path, ServeFixture, NULL, serve_setup, fn, serve_teardown)

int
main (int argc, char **argv)
{
  fixture_init_env ();
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("VIGIL_CLI") == NULL)
    {
      g_printerr ("VIGIL_CLI is not set: run through meson test\n");
      return 77;
    }
  ADD ("/serve/socket-and-inbox-events-stored", test_socket_and_inbox_events_stored);
  ADD ("/serve/socket-line-too-long-refused", test_socket_line_too_long_refused);
  ADD ("/serve/on-start-task-runs", test_on_start_task_runs);
  ADD ("/serve/sigterm-cancels-running-run", test_sigterm_cancels_running_run);
  ADD ("/serve/second-serve-refused", test_second_serve_refused);
  ADD ("/serve/sighup-reloads", test_sighup_reloads);
  ADD ("/serve/inbox-world-writable-refused", test_inbox_world_writable_refused);
  ADD ("/serve/inbox-linked-subfolder-refused", test_inbox_linked_subfolder_refused);
  ADD ("/serve/inbox-owned-by-other-refused", test_inbox_owned_by_other_refused);
  ADD ("/serve/inbox-swapped-subfolders-not-followed", test_inbox_swapped_subfolders_not_followed);
  return g_test_run ();
}
