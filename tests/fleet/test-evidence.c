/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Get file over the fleet with real processes (vt-lab.c: Debian's
 * nats-server over TLS on loopback, `vigil serve`, `vigil agent`): the
 * console dispatches file.get to an agent, the agent retrieves a file of a
 * few MiB, sends it in 512 KiB parts through its durable outbox, and the
 * console puts it together, checks it and lists it: same bytes, same
 * hashes, the agent's copy gone, the file.retrieved event on the console.
 * And with the console and the agent both killed (SIGKILL) once the agent
 * has queued the parts, wherever the transfer was, nothing is lost after
 * they start again and no partial evidence is ever listed. Every wait is
 * for a line a process prints, never for a duration (one of them may take
 * the consumer's ack wait of 60 s).
 */
#include "vt-lab.h"

#include <string.h>

#define SIZE  (3 * 1024 * 1024 + 777)   /* seven parts */
#define PATH  "/var/log/big.bin"

/* A file of SIZE pseudo-random bytes at PATH under @root. */
static GBytes *
device_file (const char *root)
{
  g_autofree char *path = g_build_filename (root, PATH, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  guint8 *data = g_malloc (SIZE);

  for (gsize i = 0; i < SIZE; i++)
    data[i] = (guint8) g_rand_int (rand);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, (const char *) data, SIZE, NULL));
  return g_bytes_new_take (data, SIZE);
}

/* Like vt_proc_wait, for longer than its 30 s: reports a killed console
 * had fetched but not acknowledged come again only after the consumer's
 * ack wait (60 s, host/fleet/fleet-jetstream.c). Looks at the log again
 * every 50 ms until the line is there. */
static void
wait_long (VtProc *proc, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + 150 * G_USEC_PER_SEC;

  while (vt_lab_count (proc, needle) == 0)
    {
      g_assert_true (vt_proc_running (proc));
      if (g_get_monotonic_time () > deadline)
        g_error ("no \"%s\" within 150 s: the evidence was lost", needle);
      g_usleep (50 * 1000);
    }
}

/* The console's one evidence, checked against @content and exported. */
static void
assert_stored (VtLab *lab, GBytes *content, const char *device)
{
  g_autoptr (JsonArray) list = vt_lab_json_array (lab->console, "evidence", "list", NULL);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);
  g_autofree char *md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, content);
  g_autofree char *out = g_build_filename (lab->dir, "exported.bin", NULL);
  g_autofree char *incoming = g_build_filename (lab->console, "evidence", "incoming", NULL);
  g_autofree char *back = NULL;
  g_autoptr (GDir) left = NULL;
  gsize len = 0;
  JsonObject *e;

  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  e = json_array_get_object_element (list, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "device"), ==, device);
  g_assert_cmpstr (json_object_get_string_member (e, "path"), ==, PATH);
  g_assert_cmpint (json_object_get_int_member (e, "size"), ==, SIZE);
  g_assert_cmpstr (json_object_get_string_member (e, "sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (e, "md5"), ==, md5);
  vt_cli_ok (lab->console, "evidence", "export", json_object_get_string_member (e, "id"),
             "--output", out, NULL);
  g_assert_true (g_file_get_contents (out, &back, &len, NULL));
  g_assert_cmpmem (back, len, g_bytes_get_data (content, NULL), SIZE);
  /* No parts left waiting. */
  left = g_dir_open (incoming, 0, NULL);
  g_assert_true (left == NULL || g_dir_read_name (left) == NULL);
}

static void
test_get_file (VtLab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = vt_lab_enroll (lab, "dev-e", NULL);
  g_autofree char *root = vt_lab_device_root (lab, "dev-e");
  g_autoptr (GBytes) content = device_file (root);
  g_autofree char *task = NULL, *done = NULL;
  g_autoptr (JsonArray) runs = NULL, mine = NULL, events = NULL, results = NULL;
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *agent = vt_lab_agent_start (agent_dir, root, NULL);
  JsonObject *payload;

  vt_proc_wait (lab->serve, ms, "device 'dev-e' is online");
  task = vt_lab_task (lab, "file.get", "device:dev-e", "{\"path\": \"" PATH "\"}", NULL);
  vt_cli_ok (lab->console, "task", "run", task, NULL);
  ms = vt_proc_wait (lab->serve, ms, "bytes) of device 'dev-e' stored");
  runs = vt_lab_runs (lab, task);
  done = vt_lab_run_line (json_object_get_int_member (json_array_get_object_element (runs, 0),
                                                      "id"), "dev-e", "completed");
  vt_proc_wait (lab->serve, ms, done);
  g_assert_cmpuint (vt_lab_count (agent, "queued for the console in 7 part(s)"), ==, 1);
  assert_stored (lab, content, "dev-e");

  /* The result and the event carry the hashes; the agent keeps no copy. */
  results = vt_lab_results (lab, task);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
                     json_array_get_object_element (results, 0), "result"), "size"), ==, SIZE);
  events = vt_lab_json_array (lab->console, "events", "--type", "file.retrieved", "--device",
                              "dev-e", NULL);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (events, 0), "payload");
  g_assert_cmpstr (json_object_get_string_member (payload, "path"), ==, PATH);
  g_assert_cmpint (strlen (json_object_get_string_member (payload, "sha256")), ==, 64);
  mine = vt_lab_json_array (agent_dir, "evidence", "list", NULL);
  g_assert_cmpuint (json_array_get_length (mine), ==, 0);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

static void
test_both_killed_midway (VtLab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = vt_lab_enroll (lab, "dev-k", NULL);
  g_autofree char *root = vt_lab_device_root (lab, "dev-k");
  g_autoptr (GBytes) content = device_file (root);
  g_autofree char *task = NULL;
  g_autoptr (JsonArray) partial = NULL;
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *agent = vt_lab_agent_start (agent_dir, root, NULL);

  vt_proc_wait (lab->serve, ms, "device 'dev-k' is online");
  task = vt_lab_task (lab, "file.get", "device:dev-k", "{\"path\": \"" PATH "\"}", NULL);
  vt_cli_ok (lab->console, "task", "run", task, NULL);
  /* The parts are in the agent's outbox: both sides crash, wherever the
   * transfer was. */
  vt_proc_wait (agent, 0, "queued for the console in 7 part(s)");
  vt_proc_kill (agent);
  vt_proc_kill (lab->serve);
  lab->serve = NULL;
  /* Whatever arrived so far, nothing partial is listed. */
  partial = vt_lab_json_array (lab->console, "evidence", "list", NULL);
  g_assert_cmpuint (json_array_get_length (partial), <=, 1);
  for (guint i = 0; i < json_array_get_length (partial); i++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (partial, i),
                                                 "size"), ==, SIZE);
  lab->serve = vt_lab_serve_start (lab);
  agent = vt_lab_agent_start (agent_dir, root, NULL);
  /* From the new console's first line: it may take the parts the stream
   * kept before the agent is back. */
  if (json_array_get_length (partial) == 0)
    wait_long (lab->serve, "bytes) of device 'dev-k' stored");
  assert_stored (lab, content, "dev-k");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/evidence/get-file-from-an-agent", VtLab, NULL, vt_lab_setup,
              test_get_file, vt_lab_teardown);
  g_test_add ("/fleet/evidence/console-and-agent-killed-midway", VtLab, NULL, vt_lab_setup,
              test_both_killed_midway, vt_lab_teardown);
  return g_test_run ();
}
