/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet's workflow across real processes (#13 requirement 4): Debian's
 * nats-server on loopback with real TLS (`vigil fleet broker run`), the
 * console (`vigil serve`) and one `vigil agent` per device, each in its own
 * state folder and under its own --root. A sandbox detection emitted on
 * agent A reaches the console's sandbox-response handler, which
 * quarantines the object on A (executed by agent A) and dispatches the
 * group's IOC scan to every agent of the group; agent B finds its copy,
 * quarantines it, and the console's events and common quarantine list
 * show both devices. Also: an agent's events are forwarded once and
 * handled on the console only, and a run carries its device's effective
 * settings, secrets included, to the agent without them reaching any log.
 * Runs that stop being current: a cancelled task's or a removed device's
 * run is withdrawn from the stream before the agent comes, and a run past
 * its valid_until is refused by the agent. Progress ticks of a device's
 * run (plain NATS) become the run's progress; another device's are
 * refused. Every wait is for a line a process prints or for a state the
 * console shows, never for a duration.
 */
#define _GNU_SOURCE   /* memmem */
#include "vt-lab.h"
#include "fleet-connect.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define SECRET    "wf-s3cret-account-pw"
#define LAB_SHA256 "90bc0bd03c16bf8c0e74688bb3e6fe2e24e67be7d8acbaa7140865f9c2d75309"
/* The sandbox's verdict on A's invoice.exe (examples/lab/detection.json). */
#define DETECTION \
  "{\"user\": \"alice\", \"path\": \"/home/alice/Downloads/invoice.exe\"," \
  " \"md5\": \"b9b46ce0576176de63b15b7d2782f9fb\", \"sha256\": \"" LAB_SHA256 "\"," \
  " \"size\": 206, \"threat\": \"HEUR:Trojan.Win32.Generic\", \"riskware\": false," \
  " \"detected_at\": \"2026-11-22T10:00:00Z\"}"

/* The lab of vt-lab.h: the console's folder, its broker and `vigil serve`. */
typedef VtLab Lab;

/* ---- helpers ------------------------------------------------------------ */

static const char *
source_dir (void)
{
  const char *dir = g_getenv ("VIGIL_SOURCE_DIR");

  g_assert_nonnull (dir);
  return dir;
}

/* @text into @path (its folders made as needed). */
static void
write_file (const char *path, const char *text)
{
  g_free (vt_write_file (path, NULL, text));
}

/* A device's file system under the lab, with the lab's invoice.exe at
 * @relative (when given). */
static char *
device_root (Lab *lab, const char *id, const char *relative)
{
  g_autofree char *root = g_strdup_printf ("%s/%s-root", lab->dir, id);
  g_autofree char *sample = g_build_filename (source_dir (), "examples/lab/files/invoice.exe",
                                              NULL);
  g_autofree char *bytes = NULL, *copy = NULL, *notes = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;

  notes = g_build_filename (root, "home", "notes.txt", NULL);
  write_file (notes, "nothing to see\n");
  if (relative != NULL)
    {
      copy = g_build_filename (root, relative, NULL);
      g_file_get_contents (sample, &bytes, &length, &error);
      g_assert_no_error (error);
      write_file (copy, "");
      g_file_set_contents (copy, bytes, (gssize) length, &error);
      g_assert_no_error (error);
    }
  return g_steal_pointer (&root);
}

/* Enrolls @id into group lab and starts its agent under @root, waiting
 * until the console shows it online; (transfer full) the agent. */
static VtProc *
agent_up (Lab *lab, const char *id, const char *root, char **state)
{
  g_autofree char *online = g_strdup_printf ("device '%s' is online", id);
  const char *argv[] = { "agent", "--state-dir", NULL, "--root", root, NULL };
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *agent;

  *state = vt_lab_enroll (lab, id, NULL);
  argv[2] = *state;
  agent = vt_proc_start (id, NULL, argv);
  vt_proc_wait (lab->serve, ms, online);
  return agent;
}

/* The console's events of @type (and @device), as `vigil events` lists them. */
static JsonArray *
events_of (Lab *lab, const char *type, const char *device)
{
  g_autoptr (JsonNode) node = device
      ? vt_lab_json_node (lab->console, "events", "--type", type, "--device", device, NULL)
      : vt_lab_json_node (lab->console, "events", "--type", type, NULL);

  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_ref (json_node_get_array (node));
}

static char *
stored_line (const char *type, const char *device)
{
  return g_strdup_printf ("(%s) of device '%s' stored", type, device);
}

/* Whether any file directly in @dir (the store and its journal) holds
 * @needle: a secret that reached the agent's own store. */
static gboolean
folder_holds (const char *dir, const char *needle)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *bytes = NULL;
      gsize length = 0;

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR)
          && g_file_get_contents (path, &bytes, &length, NULL)
          && memmem (bytes, length, needle, strlen (needle)) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
apply_response_policy (Lab *lab)
{
  g_autofree char *path = g_build_filename (lab->dir, "response.json", NULL);
  const char *policy =
    "{\"name\": \"Fleet response\", \"group\": \"lab\", \"status\": \"active\","
    " \"settings\": {\"sandbox_response\": {\"schema_version\": 1,"
    "  \"threat_response\": {\"locked\": true, \"values\": {\"enabled\": true}},"
    "  \"local_actions\": {\"locked\": true, \"values\": {\"quarantine\": true,"
    "    \"notify_user\": false, \"critical_scan\": false}},"
    "  \"group_actions\": {\"locked\": true, \"values\": {\"ioc_scan\": true,"
    "    \"quarantine_when_found\": true, \"critical_scan_when_found\": false}},"
    "  \"ioc_scanning\": {\"locked\": true, \"values\": {\"scope\": \"system_drives\","
    "    \"start\": \"immediately\"}},"
    "  \"account\": {\"locked\": true, \"values\": {\"user\": \"svc-ioc-scan\","
    "    \"password\": \"" SECRET "\"}}}}}";

  write_file (path, policy);
  vt_cli_ok (lab->console, "policy", "apply", path, NULL);
}


#define EVIL_IOC \
  "<?xml version=\\\"1.0\\\"?><OpenIOC xmlns=\\\"http://openioc.org/schemas/OpenIOC_1.1\\\" " \
  "id=\\\"t\\\"><criteria><Indicator operator=\\\"OR\\\" id=\\\"i\\\"><IndicatorItem id=\\\"a\\\" " \
  "condition=\\\"is\\\"><Context document=\\\"FileItem\\\" search=\\\"FileItem/FileName\\\" " \
  "type=\\\"mir\\\"/><Content type=\\\"string\\\">evil.exe</Content></IndicatorItem>" \
  "</Indicator></criteria></OpenIOC>"

/* A manual IOC scan of @device on the console; (transfer full) its id. */
static char *
scan_task (Lab *lab, const char *device)
{
  g_autofree char *params = g_strdup_printf ("%s/scan-%s-%d.json", lab->dir, device,
                                             g_random_int ());
  g_autoptr (JsonNode) task = NULL;

  write_file (params, "{\"iocs\": [{\"name\": \"evil.ioc\", \"xml\": \"" EVIL_IOC "\"}],"
                      " \"scope\": {\"kind\": \"custom\", \"paths\": [\"/\"]}}");
  task = vt_lab_json_node (lab->console, "task", "create", "--type", "ioc.scan", "--device", device,
                           "--params", params, "--schedule", "{\"kind\": \"manual\"}", NULL);
  return g_strdup (json_object_get_string_member (json_node_get_object (task), "id"));
}

/* The task's only run as `task show` has it. */
static JsonObject *
only_run (Lab *lab, const char *task)
{
  g_autoptr (JsonNode) shown = vt_lab_json_node (lab->console, "task", "show", task, NULL);
  JsonArray *runs = json_object_get_array_member (json_node_get_object (shown), "runs");

  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  return json_object_ref (json_array_get_object_element (runs, 0));
}

/* `task run` on the console, and the console's line saying it published
 * the run; the run's id. */
static gint64
dispatch (Lab *lab, const char *task)
{
  g_autofree char *line = g_strdup_printf ("of task %s published", task);
  gsize ms = vt_proc_mark (lab->serve);
  /* The state `task run` returned: a running agent may end it at once. */
  g_autoptr (JsonNode) runs = vt_lab_json_node (lab->console, "task", "run", task, NULL);
  JsonObject *run;

  g_assert_cmpuint (json_array_get_length (json_node_get_array (runs)), ==, 1);
  run = json_array_get_object_element (json_node_get_array (runs), 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "dispatched");
  vt_proc_wait (lab->serve, ms, line);
  return json_object_get_int_member (run, "id");
}


static VtProc *
agent_start (const char *id, const char *state, const char *root)
{
  const char *argv[] = { "agent", "--state-dir", state, "--root", root, NULL };
  return vt_proc_start (id, NULL, argv);
}

/* A connection with the credentials in @state (an agent's, or the
 * console's fleet folder when @console). */
static natsConnection *
connect_as (Lab *lab, const char *state, const char *device)
{
  g_autoptr (JsonNode) fleet = vt_lab_json_node (lab->console, "fleet", "show", NULL);
  const char *sub = device ? "agent" : "fleet";
  g_autofree char *ca = g_build_filename (state, sub, "ca.crt", NULL);
  g_autofree char *crt = g_build_filename (state, sub, device ? "device.crt" : "console.crt",
                                           NULL);
  g_autofree char *key = g_build_filename (state, sub, device ? "device.key" : "console.key",
                                           NULL);
  g_autoptr (GError) error = NULL;
  natsOptions *opts = vigil_fleet_options_new (
      json_object_get_string_member (json_node_get_object (fleet), "broker_url"), ca, crt, key,
      device, &error);
  natsConnection *nc = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (natsConnection_Connect (&nc, opts), ==, NATS_OK);
  natsOptions_Destroy (opts);
  return nc;
}

/* No handler answered on the agent of @state: its store has no task of
 * the sandbox response (the console's response dispatches runs, which the
 * agent keeps as tasks named <task>.<run>). */
static void
assert_no_local_response (const char *state)
{
  g_autoptr (JsonNode) tasks = vt_lab_json_node (state, "task", "list", NULL);

  for (guint i = 0; i < json_array_get_length (json_node_get_array (tasks)); i++)
    {
      JsonObject *t = json_array_get_object_element (json_node_get_array (tasks), i);
      g_assert_false (g_str_has_prefix (json_object_get_string_member (t, "name"),
                                        "Sandbox response"));
    }
}

/* ---- tests -------------------------------------------------------------- */

/* An event emitted in an agent's state folder (local intake) is forwarded
 * once and stored on the console as the event of the agent's device. No
 * handler runs for it on the agent, also once a run has given the agent
 * the console's settings, the sandbox response's included. */
static void
test_agent_event (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "pc-a", NULL);
  g_autofree char *state = NULL, *payload = NULL, *line = NULL, *log = NULL, *task = NULL;
  g_autofree char *detection = NULL, *done = NULL, *seen = NULL;
  g_autoptr (JsonNode) emitted = NULL, detected = NULL;
  g_autoptr (JsonArray) events = NULL;
  JsonObject *e;
  VtProc *agent;
  gint64 run;
  gsize ms;

  apply_response_policy (lab);
  agent = agent_up (lab, "pc-a", root, &state);
  payload = g_build_filename (lab->dir, "seen.json", NULL);
  write_file (payload, "{\"path\": \"/home/notes.txt\"}");
  ms = vt_proc_mark (lab->serve);
  emitted = vt_lab_json_node (state, "event", "emit", "lab.seen", payload, "--device", "self",
                              NULL);
  line = stored_line ("lab.seen", "pc-a");
  vt_proc_wait (lab->serve, ms, line);

  events = events_of (lab, "lab.seen", NULL);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  e = json_array_get_object_element (events, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "device"), ==, "pc-a");
  g_assert_cmpstr (json_object_get_string_member (e, "source"), ==, "agent:cli");
  g_assert_cmpstr (json_object_get_string_member (e, "id"), ==,
                   json_object_get_string_member (json_node_get_object (emitted), "event"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (e, "payload"),
                                                  "path"), ==, "/home/notes.txt");
  log = vt_proc_log (agent);
  g_assert_nonnull (strstr (log, "(lab.seen) queued for the console"));

  /* A run gives the agent the console's settings (sandbox response on);
   * a detection on the agent then still sets nothing off there. */
  task = scan_task (lab, "pc-a");
  ms = vt_proc_mark (lab->serve);
  run = dispatch (lab, task);
  done = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'pc-a' completed", run);
  vt_proc_wait (lab->serve, ms, done);
  detection = g_build_filename (lab->dir, "detection.json", NULL);
  write_file (detection, DETECTION);
  ms = vt_proc_mark (lab->serve);
  detected = vt_lab_json_node (state, "event", "emit", "sandbox.threat_detected", detection,
                               "--device", "self", NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_node_get_object (detected), "runs")), ==, 0);
  seen = stored_line ("sandbox.threat_detected", "pc-a");
  vt_proc_wait (lab->serve, ms, seen);
  assert_no_local_response (state);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* The whole response across processes. */
static void
test_sandbox_response (Lab *lab, gconstpointer data)
{
  g_autofree char *root_a = device_root (lab, "pc-a", "home/alice/Downloads/invoice.exe");
  g_autofree char *root_b = device_root (lab, "pc-b", "home/bob/Downloads/invoice.exe");
  g_autofree char *state_a = NULL, *state_b = NULL, *detection = NULL, *serve_log = NULL;
  g_autofree char *file_a = g_build_filename (root_a, "home/alice/Downloads/invoice.exe", NULL);
  g_autofree char *file_b = g_build_filename (root_b, "home/bob/Downloads/invoice.exe", NULL);
  g_autofree char *seen = stored_line ("sandbox.threat_detected", "pc-a");
  g_autofree char *q_a = stored_line ("quarantine.added", "pc-a");
  g_autofree char *found_b = stored_line ("ioc.found", "pc-b");
  g_autofree char *q_b = stored_line ("quarantine.added", "pc-b");
  g_autofree char *log_a = NULL, *log_b = NULL;
  g_autoptr (JsonArray) found = NULL, added_b = NULL, added_a = NULL;
  g_autoptr (JsonNode) list = NULL, emitted = NULL;
  gboolean row_a = FALSE, row_b = FALSE;
  JsonObject *e;
  VtProc *a, *b;
  gsize ms;

  apply_response_policy (lab);
  a = agent_up (lab, "pc-a", root_a, &state_a);
  b = agent_up (lab, "pc-b", root_b, &state_b);

  /* The sandbox's verdict, as the local intake on A takes it. */
  detection = g_build_filename (lab->dir, "detection.json", NULL);
  write_file (detection, DETECTION);
  ms = vt_proc_mark (lab->serve);
  emitted = vt_lab_json_node (state_a, "event", "emit", "sandbox.threat_detected", detection,
                              "--device", "self", NULL);
  /* Handled on the console only: the agent's own emit set nothing off. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_node_get_object (emitted), "runs")), ==, 0);
  vt_proc_wait (lab->serve, ms, seen);
  vt_proc_wait (lab->serve, ms, q_a);
  vt_proc_wait (lab->serve, ms, found_b);
  vt_proc_wait (lab->serve, ms, q_b);

  /* Executed on the agents' own devices. */
  g_assert_false (g_file_test (file_a, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (file_b, G_FILE_TEST_EXISTS));

  /* The console's events: B's find, and both quarantines. */
  found = events_of (lab, "ioc.found", "pc-b");
  g_assert_cmpuint (json_array_get_length (found), ==, 1);
  e = json_object_get_object_member (json_array_get_object_element (found, 0), "payload");
  g_assert_cmpstr (json_object_get_string_member (e, "path"), ==,
                   "/home/bob/Downloads/invoice.exe");
  g_assert_cmpstr (json_object_get_string_member (e, "sha256"), ==, LAB_SHA256);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (found, 0),
                                                  "source"), ==, "agent:ioc-scan");
  added_b = events_of (lab, "quarantine.added", "pc-b");
  g_assert_cmpuint (json_array_get_length (added_b), ==, 1);
  added_a = events_of (lab, "quarantine.added", "pc-a");
  g_assert_cmpuint (json_array_get_length (added_a), >=, 1);

  /* The console's common quarantine list, fed by the agents' reports. */
  list = vt_lab_json_node (lab->console, "quarantine", "list", NULL);
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      JsonObject *row = json_array_get_object_element (json_node_get_array (list), i);
      const char *device = json_object_get_string_member (row, "device");

      g_assert_cmpstr (json_object_get_string_member (row, "sha256"), ==, LAB_SHA256);
      row_a = row_a || g_strcmp0 (device, "pc-a") == 0;
      row_b = row_b || g_strcmp0 (device, "pc-b") == 0;
    }
  g_assert_true (row_a);
  g_assert_true (row_b);

  /* The response happened once: no sandbox-response task on agent A. */
  assert_no_local_response (state_a);

  /* The runs carried the device's settings, the account's password too:
   * it reached the agents' stores, and no process printed it. */
  log_a = vt_proc_log (a);
  log_b = vt_proc_log (b);
  serve_log = vt_proc_log (lab->serve);
  g_assert_cmpint (vt_proc_stop (a), ==, 0);
  g_assert_cmpint (vt_proc_stop (b), ==, 0);
  g_assert_true (folder_holds (state_b, SECRET));
  g_assert_null (strstr (log_a, SECRET));
  g_assert_null (strstr (log_b, SECRET));
  g_assert_null (strstr (serve_log, SECRET));
  g_assert_null (strstr (log_b, "cannot apply"));
}


/* A run whose task is cancelled, and a run of a device that is removed,
 * end on the console at once and are withdrawn from the stream: the agent
 * that comes later never executes them, and runs the next run it gets. */
static void
test_withdrawn (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "pc-a", NULL);
  g_autofree char *state = vt_lab_enroll (lab, "pc-a", NULL);
  g_autofree char *state_b = vt_lab_enroll (lab, "pc-b", NULL);
  g_autofree char *cancelled = scan_task (lab, "pc-a"), *later = scan_task (lab, "pc-a");
  g_autofree char *removed = scan_task (lab, "pc-b");
  g_autofree char *b_key = g_build_filename (state_b, "agent", "device.key", NULL);
  g_autofree char *withdrawn = NULL, *withdrawn_b = NULL, *done = NULL, *log = NULL;
  g_autofree char *not_started = NULL;
  g_autoptr (JsonObject) run = NULL, run_b = NULL;
  gint64 id, id_b, id_later;
  VtProc *agent;
  gsize ms;

  /* pc-b's agent is enrolled (its key is there) but never started. */
  g_assert_true (g_file_test (b_key, G_FILE_TEST_IS_REGULAR));
  id = dispatch (lab, cancelled);
  id_b = dispatch (lab, removed);
  ms = vt_proc_mark (lab->serve);
  vt_cli_ok (lab->console, "task", "cancel", cancelled, NULL);
  vt_cli_ok (lab->console, "device", "remove", "pc-b", NULL);
  withdrawn = g_strdup_printf ("run %" G_GINT64_FORMAT " withdrawn", id);
  withdrawn_b = g_strdup_printf ("run %" G_GINT64_FORMAT " withdrawn", id_b);
  vt_proc_wait (lab->serve, ms, withdrawn);
  vt_proc_wait (lab->serve, ms, withdrawn_b);
  run = only_run (lab, cancelled);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "cancelled");
  run_b = only_run (lab, removed);
  g_assert_cmpstr (json_object_get_string_member (run_b, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (run_b, "error"), ==, "the device was removed");

  /* The agent comes: the next run is the first it gets. */
  id_later = dispatch (lab, later);
  ms = vt_proc_mark (lab->serve);
  agent = agent_start ("pc-a", state, root);
  done = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'pc-a' completed", id_later);
  vt_proc_wait (lab->serve, ms, done);
  log = vt_proc_log (agent);
  not_started = g_strdup_printf ("run %s.%" G_GINT64_FORMAT, cancelled, id);
  g_assert_null (strstr (log, not_started));
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* A run that reaches its agent after its valid_until (here: published so
 * while the console was stopped) is not executed: it ends failed, saying
 * why. */
static void
test_late_run (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "pc-a", NULL);
  g_autofree char *state = vt_lab_enroll (lab, "pc-a", NULL);
  g_autofree char *task = scan_task (lab, "pc-a");
  g_autofree char *body = NULL, *msg_id = NULL, *failed = NULL;
  g_autofree char *subject = vigil_fleet_subject_run ("pc-a");
  g_autofree char *sock = g_build_filename (lab->dir, "serve.sock", NULL);
  const char *serve[] = { "--state-dir", lab->console, "serve", "--socket", sock, NULL };
  g_autoptr (JsonObject) run = NULL;
  g_autoptr (GError) error = NULL;
  natsConnection *nc;
  jsCtx *js = NULL;
  VtProc *agent;
  gint64 id;
  gsize ms;

  g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  vt_cli_ok (lab->console, "task", "run", task, NULL);
  run = only_run (lab, task);
  id = json_object_get_int_member (run, "id");
  /* Published as the console would, a day past its validity. */
  body = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"task\": \"%s\", \"type\": "
                          "\"ioc.scan\", \"device\": \"pc-a\", \"params\": {}, \"settings\": {},"
                          " \"valid_until\": %" G_GINT64_FORMAT "}", id, task,
                          g_get_real_time () - G_TIME_SPAN_DAY);
  msg_id = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task, id);
  nc = connect_as (lab, lab->console, NULL);
  g_assert_cmpint (natsConnection_JetStream (&js, nc, NULL), ==, NATS_OK);
  g_assert_true (vigil_fleet_publish (js, subject, msg_id, body, (int) strlen (body), NULL,
                                      &error));
  g_assert_no_error (error);
  jsCtx_Destroy (js);
  natsConnection_Destroy (nc);

  lab->serve = vt_proc_start ("serve", NULL, serve);
  vt_proc_wait (lab->serve, 0, "fleet: connected to the broker");
  ms = vt_proc_mark (lab->serve);
  agent = agent_start ("pc-a", state, root);
  failed = g_strdup_printf ("run %" G_GINT64_FORMAT " of device 'pc-a' failed", id);
  vt_proc_wait (lab->serve, ms, failed);
  g_clear_pointer (&run, json_object_unref);
  run = only_run (lab, task);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "failed");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (run, "error"),
                                   "the run came too late: it was valid until "));
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* Progress ticks of a device (plain NATS) become its run's progress; a
 * tick another device sends about that run is refused. */
static void
test_progress (Lab *lab, gconstpointer data)
{
  g_autofree char *state = vt_lab_enroll (lab, "pc-a", NULL);
  g_autofree char *state_b = vt_lab_enroll (lab, "pc-b", NULL);
  g_autofree char *task = scan_task (lab, "pc-a");
  g_autofree char *tick = NULL, *subject_a = vigil_fleet_subject_live ("pc-a", "progress");
  g_autofree char *subject_b = vigil_fleet_subject_live ("pc-b", "progress");
  gint64 id = dispatch (lab, task);
  gint64 deadline = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;
  natsConnection *nc_a, *nc_b;
  gsize ms;

  nc_a = connect_as (lab, state, "pc-a");
  nc_b = connect_as (lab, state_b, "pc-b");
  ms = vt_proc_mark (lab->serve);
  tick = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"progress\": 0.25}", id);
  g_assert_cmpint (natsConnection_PublishString (nc_b, subject_b, tick), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (nc_b), ==, NATS_OK);
  vt_proc_wait (lab->serve, ms, "progress of device 'pc-b' refused");
  g_free (tick);
  tick = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"progress\": 0.5,"
                          " \"message\": \"halfway\"}", id);
  /* Plain NATS: the console stores it when it comes. Waited for as the
   * state it shows, with the tests' deadline. */
  for (;;)
    {
      g_autoptr (JsonObject) run = NULL;

      g_assert_cmpint (natsConnection_PublishString (nc_a, subject_a, tick), ==, NATS_OK);
      g_assert_cmpint (natsConnection_Flush (nc_a), ==, NATS_OK);
      run = only_run (lab, task);
      if (g_strcmp0 (json_object_get_string_member (run, "state"), "running") == 0)
        {
          g_assert_cmpfloat (json_object_get_double_member (run, "progress"), ==, 0.5);
          g_assert_cmpstr (json_object_get_string_member (run, "message"), ==, "halfway");
          break;
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  natsConnection_Destroy (nc_a);
  natsConnection_Destroy (nc_b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/workflow/agent-event", Lab, NULL, vt_lab_setup, test_agent_event,
              vt_lab_teardown);
  g_test_add ("/fleet/workflow/sandbox-response", Lab, NULL, vt_lab_setup,
              test_sandbox_response, vt_lab_teardown);
  g_test_add ("/fleet/workflow/withdrawn", Lab, NULL, vt_lab_setup, test_withdrawn,
              vt_lab_teardown);
  g_test_add ("/fleet/workflow/late-run", Lab, NULL, vt_lab_setup, test_late_run, vt_lab_teardown);
  g_test_add ("/fleet/workflow/progress", Lab, NULL, vt_lab_setup, test_progress, vt_lab_teardown);
  return g_test_run ();
}
