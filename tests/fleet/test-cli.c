/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet through the real `vigil` binary, each role in its own process
 * and state folder: the console sets the fleet up (`fleet init`) and runs
 * the broker (`fleet broker run`: Debian's nats-server on loopback with
 * real TLS) and `vigil serve`; an endpoint enrolls (`agent enroll`) and
 * runs `vigil agent`. Every wait is for a line a process prints (the
 * broker ready or reloaded, the console connected, a device online, the
 * agent cut off, a run ended), never for a duration.
 *
 * Runs of an agent's device (the runs tests): `vigil task run` on the
 * console stores the run "dispatched", `vigil serve` publishes it, the
 * agent executes it on its own device `self` (rooted at --root) and its
 * reports reach the console's task, once, whenever the agent comes.
 */
#include "vt-lab.h"
#include "fleet-jetstream.h"
#include "fleet-outbox.h"
#include "fleet-subjects.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

/* The lab of vt-lab.h: the console's folder, its broker and `vigil serve`. */
typedef VtLab Lab;

/* ---- helpers ------------------------------------------------------------ */

/* `vigil ARGS...` with no global --state-dir (the agent's commands take
 * theirs after the command, as an endpoint's service line would). */
static void
run_plain (VtCli *r, ...) G_GNUC_NULL_TERMINATED;

static void
run_plain (VtCli *r, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (r, NULL, (const char *const *) argv->pdata);
}

static void
assert_private (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static VtProc *
agent_start (const char *state)
{
  const char *argv[] = { "agent", "--state-dir", state, NULL };
  return vt_proc_start ("agent", NULL, argv);
}

static void
lab_setup (Lab *lab, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) fleet = NULL;

  lab->dir = g_dir_make_tmp ("vigil-fleet-cli-XXXXXX", &error);
  g_assert_no_error (error);
  lab->console = g_build_filename (lab->dir, "console", NULL);
  if (g_strcmp0 (data, "own-ca") == 0)
    {
      /* The admin's own issuing CA, made with the openssl tool (RSA). */
      g_autofree char *crt = g_build_filename (lab->dir, "admin-ca.crt", NULL);
      g_autofree char *key = g_build_filename (lab->dir, "admin-ca.key", NULL);
      const char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                             "-keyout", key, "-out", crt, "-days", "30",
                             "-subj", "/O=Example/CN=Example Fleet CA",
                             "-addext", "basicConstraints=critical,CA:TRUE",
                             "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL };
      int status = -1;

      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                    | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error);
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      fleet = vt_lab_json (lab->console, "fleet", "init", "--port", "0", "--ca-cert", crt,
                           "--ca-key", key, NULL);
      g_assert_true (json_object_get_boolean_member (fleet, "own_ca"));
    }
  else
    fleet = vt_lab_json (lab->console, "fleet", "init", "--port", "0", NULL);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (fleet, "broker_url"),
                                   "tls://127.0.0.1:"));
  vt_cli_ok (lab->console, "group", "add", "lab", NULL);
  if (data == NULL)
    return;
  lab->broker = vt_lab_broker_start (lab);
  lab->serve = vt_lab_serve_start (lab);
}

/* `device enroll ID` on the console: the file's path. Waits for the broker
 * to have reloaded with the file's bootstrap identity; *@mark moves on. */
static char *
enroll_file (Lab *lab, const char *id, gsize *mark)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.enroll", lab->dir, id);
  g_autoptr (JsonObject) o = vt_lab_json (lab->console, "device", "enroll", id, "--group", "lab",
                                          "--output", file, NULL);

  g_assert_cmpstr (json_object_get_string_member (o, "device"), ==, id);
  g_assert_true (json_object_get_boolean_member (o, "broker_reloaded"));
  *mark = vt_proc_wait (lab->broker, *mark, VT_LAB_RELOADED);
  return g_steal_pointer (&file);
}

static JsonObject *
agent_of (Lab *lab, const char *id)
{
  g_autoptr (JsonObject) d = vt_lab_json (lab->console, "device", "show", id, NULL);
  g_assert_true (json_object_has_member (d, "agent"));
  return json_object_ref (json_object_get_object_member (d, "agent"));
}

static char *
online_line (const char *id, gboolean online)
{
  return g_strdup_printf ("device '%s' is %s", id, online ? "online" : "offline");
}

/* ---- tests -------------------------------------------------------------- */

/* The whole life of an agent: enrolled from a one-time file (spent, then
 * refused), online with its version and plugins, offline when stopped,
 * and cut off by revocation while the broker keeps running. */
static void
test_enroll_heartbeat_revoke (Lab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = g_build_filename (lab->dir, "endpoint", NULL);
  g_autofree char *other_dir = g_build_filename (lab->dir, "other", NULL);
  g_autofree char *copy = g_build_filename (lab->dir, "copy.enroll", NULL);
  g_autofree char *key = g_build_filename (agent_dir, "agent", "device.key", NULL);
  g_autofree char *online = online_line ("dev-1", TRUE);
  g_autofree char *offline = online_line ("dev-1", FALSE);
  g_autofree char *file = NULL, *text = NULL;
  g_autoptr (JsonObject) pending = NULL, enrolled = NULL, seen = NULL, gone = NULL, revoked = NULL;
  g_autoptr (JsonObject) cut = NULL;
  g_auto (VtCli) r = { 0 };
  JsonArray *plugins;
  gboolean has_ioc = FALSE;
  gsize mb = 0, ms, ma;
  GPid broker_pid = vt_proc_pid (lab->broker);
  VtProc *agent;

  file = enroll_file (lab, "dev-1", &mb);
  assert_private (file);
  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  pending = agent_of (lab, "dev-1");
  g_assert_cmpstr (json_object_get_string_member (pending, "state"), ==, "pending");
  g_assert_false (json_object_has_member (pending, "token_sha256"));
  g_assert_false (json_object_get_boolean_member (pending, "online"));

  /* The endpoint: its own key, the console's certificate; the file goes. */
  run_plain (&r, "agent", "enroll", file, "--state-dir", agent_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "enrolled as device 'dev-1'"));
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
  assert_private (key);
  enrolled = agent_of (lab, "dev-1");
  g_assert_cmpstr (json_object_get_string_member (enrolled, "state"), ==, "enrolled");
  g_assert_true (json_object_get_null_member (enrolled, "last_seen"));
  mb = vt_proc_wait (lab->broker, mb, VT_LAB_RELOADED);

  /* The token is spent: the same file again is refused by the console. */
  run_plain (&r, "agent", "enroll", copy, "--keep-file",
              "--state-dir", other_dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "not pending any more"));

  /* The agent connects as itself and reports. */
  ms = vt_proc_mark (lab->serve);
  agent = agent_start (agent_dir);
  ms = vt_proc_wait (lab->serve, ms, online);
  seen = agent_of (lab, "dev-1");
  g_assert_true (json_object_get_boolean_member (seen, "online"));
  g_assert_false (json_object_get_null_member (seen, "last_seen"));
  g_assert_cmpstr (json_object_get_string_member (seen, "agent_version"), !=, NULL);
  plugins = json_object_get_array_member (seen, "plugins");
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    has_ioc |= g_strcmp0 (json_object_get_string_member (
                            json_array_get_object_element (plugins, i), "name"), "ioc-scan") == 0;
  g_assert_true (has_ioc);
  vt_cli_run (&r, lab->console, NULL, NULL, "device", "list", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "online"));

  /* Its first heartbeat proves it holds its certificate: the bootstrap
   * identity leaves the broker, and the spent file no longer connects. */
  mb = vt_proc_wait (lab->broker, mb, VT_LAB_RELOADED);
  run_plain (&r, "agent", "enroll", copy, "--keep-file",
              "--state-dir", other_dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "connecting to the broker with the enrollment file"));

  /* Stopped, it says so: offline at once. */
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
  ms = vt_proc_wait (lab->serve, ms, offline);
  gone = agent_of (lab, "dev-1");
  g_assert_false (json_object_get_boolean_member (gone, "online"));

  /* Revoked while connected: the broker closes its connection and
   * refuses it since, without a restart. */
  agent = agent_start (agent_dir);
  ms = vt_proc_wait (lab->serve, ms, online);
  ma = vt_proc_mark (agent);
  mb = vt_proc_mark (lab->broker);
  revoked = vt_lab_json (lab->console, "device", "revoke", "dev-1", NULL);
  g_assert_true (json_object_get_boolean_member (revoked, "broker_reloaded"));
  g_assert_true (json_object_get_boolean_member (revoked, "runs_deleted"));
  vt_proc_wait (agent, ma, "disconnected from the broker");
  vt_proc_wait (lab->broker, mb, "authentication error");
  g_assert_true (vt_proc_running (lab->broker));
  g_assert_cmpint (vt_proc_pid (lab->broker), ==, broker_pid);
  cut = agent_of (lab, "dev-1");
  g_assert_cmpstr (json_object_get_string_member (cut, "state"), ==, "revoked");
  g_assert_false (json_object_get_boolean_member (cut, "online"));
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* An agent started while the broker is down keeps trying, and is online
 * once the broker is back (on the same URL). */
static void
test_agent_waits_for_broker (Lab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = g_build_filename (lab->dir, "endpoint", NULL);
  g_autofree char *online = online_line ("dev-2", TRUE);
  g_autofree char *file = NULL;
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonObject) seen = NULL;
  gsize mb = 0, ms;
  VtProc *agent;

  file = enroll_file (lab, "dev-2", &mb);
  run_plain (&r, "agent", "enroll", file, "--state-dir", agent_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);

  ms = vt_proc_mark (lab->serve);
  vt_proc_stop (lab->broker);
  lab->broker = NULL;
  ms = vt_proc_wait (lab->serve, ms, "disconnected from the broker");
  agent = agent_start (agent_dir);
  vt_proc_wait (agent, 0, "not reachable yet; retrying");

  lab->broker = vt_lab_broker_start (lab);
  vt_proc_wait (agent, 0, "connected to tls://");
  vt_proc_wait (lab->serve, ms, online);
  seen = agent_of (lab, "dev-2");
  g_assert_true (json_object_get_boolean_member (seen, "online"));

  /* Removed from the inventory: cut off like a revoked one, and added
   * again it has no agent (the old certificate does not come back). */
  {
    gsize ma = vt_proc_mark (agent);
    g_autoptr (JsonObject) again = NULL;

    mb = vt_proc_mark (lab->broker);
    vt_cli_ok (lab->console, "device", "remove", "dev-2", NULL);
    vt_proc_wait (agent, ma, "disconnected from the broker");
    vt_proc_wait (lab->broker, mb, "authentication error");
    vt_cli_ok (lab->console, "device", "add", "dev-2", "--group", "lab", NULL);
    again = vt_lab_json (lab->console, "device", "show", "dev-2", NULL);
    g_assert_true (json_object_get_null_member (again, "agent"));
  }
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* With the admin's own CA: the console issues the broker's, its own and
 * the devices' certificates from it, and an agent enrolls and reports. */
static void
test_own_ca (Lab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = g_build_filename (lab->dir, "endpoint", NULL);
  g_autofree char *online = online_line ("dev-3", TRUE);
  g_autofree char *admin_ca = NULL, *fleet_ca = NULL, *file = NULL;
  g_autofree char *admin_path = g_build_filename (lab->dir, "admin-ca.crt", NULL);
  g_autofree char *fleet_path = g_build_filename (lab->console, "fleet", "ca.crt", NULL);
  g_autofree char *agent_ca = g_build_filename (agent_dir, "agent", "ca.crt", NULL);
  g_autofree char *trusted = NULL;
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonObject) seen = NULL;
  gsize mb = 0, ms = vt_proc_mark (lab->serve);
  VtProc *agent;

  g_assert_true (g_file_get_contents (admin_path, &admin_ca, NULL, NULL));
  g_assert_true (g_file_get_contents (fleet_path, &fleet_ca, NULL, NULL));
  g_assert_cmpstr (admin_ca, ==, fleet_ca);
  file = enroll_file (lab, "dev-3", &mb);
  run_plain (&r, "agent", "enroll", file, "--state-dir", agent_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* The agent trusts the admin's CA, from the file. */
  g_assert_true (g_file_get_contents (agent_ca, &trusted, NULL, NULL));
  g_assert_cmpstr (trusted, ==, admin_ca);
  agent = agent_start (agent_dir);
  vt_proc_wait (lab->serve, ms, online);
  seen = agent_of (lab, "dev-3");
  g_assert_true (json_object_get_boolean_member (seen, "online"));
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* Wrong uses fail with exit 2 and say what to do; nothing half-done. */
static void
test_refusals (Lab *lab, gconstpointer data)
{
  g_autofree char *bare = g_build_filename (lab->dir, "bare", NULL);
  g_autofree char *bad = g_build_filename (lab->dir, "bad.enroll", NULL);
  g_autofree char *bare_json = g_build_filename (bare, "agent", "agent.json", NULL);
  g_autofree char *ca_key = g_build_filename (lab->console, "fleet", "ca.key", NULL);
  g_autofree char *console_key = g_build_filename (lab->console, "fleet", "console.key", NULL);
  g_autofree char *conf = g_build_filename (lab->console, "fleet", "nats-server.conf", NULL);
  g_auto (VtCli) r = { 0 };

  assert_private (ca_key);
  assert_private (console_key);
  assert_private (conf);

  vt_cli_run (&r, bare, NULL, NULL, "device", "enroll", "dev-1", "--group", "lab", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "vigil fleet init"));
  vt_cli_run (&r, bare, NULL, NULL, "agent", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "vigil agent enroll FILE"));

  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "init", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "already configured"));
  vt_cli_run (&r, lab->console, NULL, NULL, "device", "enroll", "Dev.1", "--group", "lab", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "Dev.1"));
  vt_cli_run (&r, lab->console, NULL, NULL, "device", "enroll", "dev-9", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--group"));
  vt_cli_run (&r, lab->console, NULL, NULL, "device", "enroll", "dev-9", "--group", "lab",
              "--hours", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  vt_cli_run (&r, lab->console, NULL, NULL, "device", "show", "dev-9", NULL);
  g_assert_cmpint (r.status, ==, 2);
  vt_cli_run (&r, lab->console, NULL, NULL, "device", "revoke", "lab-pc", NULL);
  g_assert_cmpint (r.status, ==, 2);

  g_assert_true (g_file_set_contents (bad, "{\"vigil-enrollment\": 1, \"device\": \"x\"}", -1, NULL));
  run_plain (&r, "agent", "enroll", bad, "--state-dir", bare, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, bad));
  g_assert_false (g_file_test (bare_json, G_FILE_TEST_EXISTS));

  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "broker", "status", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "not running"));
  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "broker", "restart", NULL);
  g_assert_cmpint (r.status, ==, 2);
  for (const char *const *cmd = (const char *const[]) { "fleet", "agent", "device", NULL };
       *cmd; cmd++)
    {
      vt_cli_run (&r, lab->console, NULL, NULL, *cmd, "--help", NULL);
      g_assert_cmpint (r.status, ==, 0);
    }
}

/* `fleet broker start|stop` for a lab: in the background, found by its
 * pid file, stopped by it. */
static void
test_broker_background (Lab *lab, gconstpointer data)
{
  g_autoptr (JsonObject) started = NULL, status = NULL, stopped = NULL;
  g_auto (VtCli) r = { 0 };

  started = vt_lab_json (lab->console, "fleet", "broker", "start", NULL);
  g_assert_true (json_object_get_boolean_member (started, "broker_running"));
  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "broker", "start", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "already running"));
  status = vt_lab_json (lab->console, "fleet", "broker", "status", NULL);
  g_assert_cmpint (json_object_get_int_member (status, "broker_pid"), ==,
                   json_object_get_int_member (started, "broker_pid"));
  stopped = vt_lab_json (lab->console, "fleet", "broker", "stop", NULL);
  g_assert_false (json_object_get_boolean_member (stopped, "broker_running"));
  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "broker", "status", NULL);
  g_assert_cmpint (r.status, ==, 1);
}

/* ---- runs of agents' devices -------------------------------------------- */

#define EVIL_IOC \
  "<?xml version=\"1.0\"?><OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" " \
  "id=\"t\"><criteria><Indicator operator=\"OR\" id=\"i\"><IndicatorItem id=\"a\" " \
  "condition=\"is\"><Context document=\"FileItem\" search=\"FileItem/FileName\" type=\"mir\"/>" \
  "<Content type=\"string\">evil.exe</Content></IndicatorItem></Indicator></criteria></OpenIOC>"

/* Enrolls @id with an agent folder under the lab; (transfer full) it. */
static char *
enrolled_agent (Lab *lab, const char *id, gsize *mb)
{
  g_autofree char *dir = g_build_filename (lab->dir, id, NULL);
  g_autofree char *file = enroll_file (lab, id, mb);
  g_auto (VtCli) r = { 0 };

  run_plain (&r, "agent", "enroll", file, "--state-dir", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  return g_steal_pointer (&dir);
}

/* A lab folder standing for a device's file system, with evil.exe in it. */
static char *
device_root (Lab *lab, const char *id)
{
  g_autofree char *root = g_strdup_printf ("%s/%s-root", lab->dir, id);
  g_autofree char *evil = g_build_filename (root, "evil.exe", NULL);

  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  g_assert_true (g_file_set_contents (evil, "not really evil", -1, NULL));
  return g_steal_pointer (&root);
}

/* The agent of @state with --root @root; @plugin_dir alone as its plugins
 * when given. */
static VtProc *
agent_start_at (const char *state, const char *root, const char *plugin_dir)
{
  g_autofree char *path = plugin_dir ? g_strconcat ("VIGIL_PLUGIN_PATH=", plugin_dir, NULL) : NULL;
  const char *env[] = { path, NULL };
  const char *argv[] = { "agent", "--state-dir", state, "--root", root, NULL };

  return vt_proc_start ("agent", plugin_dir ? env : NULL, argv);
}

/* Creates a manual task on the console; (transfer full) its id. */
static char *
create_task (Lab *lab, const char *type, const char *device, const char *params_json)
{
  g_autofree char *params = g_strdup_printf ("%s/params-%s-%s.json", lab->dir, type, device);
  g_autoptr (JsonObject) task = NULL;

  g_assert_true (g_file_set_contents (params, params_json, -1, NULL));
  task = vt_lab_json (lab->console, "task", "create", "--type", type, "--device", device,
                      "--params", params, "--schedule", "{\"kind\": \"manual\"}", NULL);
  return g_strdup (json_object_get_string_member (task, "id"));
}

static char *
scan_params (void)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *ioc = json_object_new (), *scope = json_object_new ();
  JsonArray *iocs = json_array_new (), *paths = json_array_new ();

  json_object_set_string_member (ioc, "name", "evil.ioc");
  json_object_set_string_member (ioc, "xml", EVIL_IOC);
  json_array_add_object_element (iocs, ioc);
  json_object_set_array_member (o, "iocs", iocs);
  json_object_set_string_member (scope, "kind", "custom");
  json_array_add_string_element (paths, "/");
  json_object_set_array_member (scope, "paths", paths);
  json_object_set_object_member (o, "scope", scope);
  json_node_set_object (node, json_object_ref (o));
  return json_to_string (node, FALSE);
}

/* `task run ID` on the console: the run is stored "dispatched" at once
 * (not executed by the CLI); its id. */
static gint64
dispatch (Lab *lab, const char *task)
{
  g_autoptr (JsonNode) node = NULL;
  g_auto (VtCli) r = { 0 };
  JsonObject *run;

  /* The state `task run` returned, not a later `task show`: by then a
   * running agent may have ended the run already. */
  vt_cli_run (&r, lab->console, NULL, NULL, "--json", "task", "run", task, NULL);
  g_assert_cmpint (r.status, ==, 0);
  node = json_from_string (r.out, NULL);
  g_assert_nonnull (node);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 1);
  run = json_array_get_object_element (json_node_get_array (node), 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "dispatched");
  return json_object_get_int_member (run, "id");
}

/* The task's only run as `task results --json` shows it. */
static JsonObject *
only_result (Lab *lab, const char *task)
{
  g_autoptr (JsonNode) node = NULL;
  g_auto (VtCli) r = { 0 };
  JsonArray *runs;

  vt_cli_run (&r, lab->console, NULL, NULL, "--json", "task", "results", task, NULL);
  g_assert_cmpint (r.status, ==, 0);
  node = json_from_string (r.out, NULL);
  g_assert_nonnull (node);
  runs = json_node_get_array (node);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  return json_object_ref (json_array_get_object_element (runs, 0));
}

static char *
ended_line (gint64 run, const char *id, const char *state)
{
  return g_strdup_printf ("run %" G_GINT64_FORMAT " of device '%s' %s", run, id, state);
}

/* Publishes @run again as the console would, under another message id:
 * the stream stores it a second time and the agent gets it twice. */
static void
publish_again (Lab *lab, const char *device, const char *task, gint64 run)
{
  g_autoptr (JsonObject) fleet = vt_lab_json (lab->console, "fleet", "show", NULL);
  g_autofree char *ca = g_build_filename (lab->console, "fleet", "ca.crt", NULL);
  g_autofree char *crt = g_build_filename (lab->console, "fleet", "console.crt", NULL);
  g_autofree char *key = g_build_filename (lab->console, "fleet", "console.key", NULL);
  g_autofree char *subject = vigil_fleet_subject_run (device);
  g_autofree char *body = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"task\": \"%s\","
                                           " \"type\": \"ioc.scan\", \"device\": \"%s\","
                                           " \"params\": {}}", run, task, device);
  g_autoptr (GError) error = NULL;
  natsOptions *opts = vigil_fleet_options_new (json_object_get_string_member (fleet, "broker_url"),
                                               ca, crt, key, NULL, &error);
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  gboolean duplicate = TRUE;

  g_assert_no_error (error);
  g_assert_cmpint (natsConnection_Connect (&nc, opts), ==, NATS_OK);
  g_assert_cmpint (natsConnection_JetStream (&js, nc, NULL), ==, NATS_OK);
  g_assert_true (vigil_fleet_publish (js, subject, "a-late-duplicate", body, (int) strlen (body),
                                      &duplicate, &error));
  g_assert_no_error (error);
  g_assert_false (duplicate);
  jsCtx_Destroy (js);
  natsConnection_Destroy (nc);
  natsOptions_Destroy (opts);
}

/* An agent online when the run is dispatched executes it under its own
 * root; the result and the finding reach the console's task, once, also
 * when the run is delivered to the agent a second time. */
static void
test_run_on_agent (Lab *lab, gconstpointer data)
{
  g_autofree char *online = online_line ("dev-1", TRUE);
  g_autofree char *root = device_root (lab, "dev-1");
  g_autofree char *params = scan_params ();
  g_autofree char *agent_dir = NULL, *task = NULL, *done = NULL, *key = NULL, *again = NULL;
  g_autofree char *started = NULL, *log = NULL, *finding = NULL;
  g_autoptr (JsonObject) result = NULL, after = NULL;
  gsize mb = 0, ms = 0, ma;
  JsonArray *findings;
  VtProc *agent;
  gint64 run;

  agent_dir = enrolled_agent (lab, "dev-1", &mb);
  ms = vt_proc_mark (lab->serve);
  agent = agent_start_at (agent_dir, root, NULL);
  ms = vt_proc_wait (lab->serve, ms, online);

  task = create_task (lab, "ioc.scan", "dev-1", params);
  run = dispatch (lab, task);
  done = ended_line (run, "dev-1", "completed");
  ms = vt_proc_wait (lab->serve, ms, done);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (result, "device"), ==, "dev-1");
  findings = json_object_get_array_member (result, "findings");
  g_assert_cmpuint (json_array_get_length (findings), ==, 1);
  finding = json_to_string (json_array_get_element (findings, 0), FALSE);
  g_assert_nonnull (strstr (finding, "evil.exe"));

  /* Delivered again (a late duplicate under another message id): the
   * journal says it ran, and it does not run again. */
  key = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task, run);
  again = g_strdup_printf ("run %s delivered again: not executed again", key);
  started = g_strdup_printf ("run %s (ioc.scan) started", key);
  ma = vt_proc_mark (agent);
  publish_again (lab, "dev-1", task, run);
  vt_proc_wait (agent, ma, again);
  log = vt_proc_log (agent);
  g_assert_nonnull (strstr (log, started));
  g_assert_null (strstr (strstr (log, started) + 1, started));
  after = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (after, "state"), ==, "completed");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (after, "findings")), ==, 1);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* A run dispatched while the device's agent is not running waits in the
 * stream and executes when the agent starts. */
static void
test_run_waits_for_agent (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "dev-2");
  g_autofree char *params = scan_params ();
  g_autofree char *agent_dir = NULL, *task = NULL, *done = NULL, *published = NULL;
  g_autoptr (JsonObject) result = NULL, pending = NULL;
  gsize mb = 0, ms = 0;
  VtProc *agent;
  gint64 run;

  agent_dir = enrolled_agent (lab, "dev-2", &mb);
  task = create_task (lab, "ioc.scan", "dev-2", params);
  ms = vt_proc_mark (lab->serve);
  run = dispatch (lab, task);
  published = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " of task %s published to device 'dev-2'",
                               task, run, task);
  ms = vt_proc_wait (lab->serve, ms, published);
  pending = vt_lab_json (lab->console, "task", "show", task, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (pending, "runs"), 0), "state"), ==, "dispatched");

  agent = agent_start_at (agent_dir, root, NULL);
  done = ended_line (run, "dev-2", "completed");
  ms = vt_proc_wait (lab->serve, ms, done);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "state"), ==, "completed");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "findings")), ==, 1);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* The build folder of one plugin, from the test's VIGIL_PLUGIN_PATH. */
static char *
plugin_dir (const char *name)
{
  g_auto (GStrv) dirs = g_strsplit (g_getenv ("VIGIL_PLUGIN_PATH"), ":", -1);

  for (guint i = 0; dirs[i] != NULL; i++)
    if (g_str_has_suffix (dirs[i], name))
      return g_strdup (dirs[i]);
  g_error ("no %s in VIGIL_PLUGIN_PATH", name);
  return NULL;
}

/* An agent without the task type's plugin fails the run, saying so. */
static void
test_run_missing_plugin (Lab *lab, gconstpointer data)
{
  g_autofree char *online = online_line ("dev-3", TRUE);
  g_autofree char *root = device_root (lab, "dev-3");
  g_autofree char *only_ioc = plugin_dir ("ioc-scan");
  g_autofree char *agent_dir = NULL, *task = NULL, *failed = NULL;
  g_autoptr (JsonObject) result = NULL;
  gsize mb = 0, ms = 0;
  VtProc *agent;
  gint64 run;

  agent_dir = enrolled_agent (lab, "dev-3", &mb);
  ms = vt_proc_mark (lab->serve);
  agent = agent_start_at (agent_dir, root, only_ioc);
  ms = vt_proc_wait (lab->serve, ms, online);
  task = create_task (lab, "epp.critical_scan", "dev-3", "{}");
  run = dispatch (lab, task);
  failed = ended_line (run, "dev-3", "failed");
  ms = vt_proc_wait (lab->serve, ms, failed);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (result, "error"), ==,
                   "the agent has no plugin for task type epp.critical_scan");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* An agent killed during a run leaves the run claimed in its journal and
 * never ended. Set up as such a kill leaves it (the claim, made with the
 * agent's own journal call, and no end), the agent reports the run failed
 * when it starts again, does not execute it although it is delivered,
 * and the task's next round runs. */
static void
test_run_agent_died (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "dev-4");
  g_autofree char *params = scan_params ();
  g_autofree char *agent_dir = NULL, *task = NULL, *failed = NULL, *journal = NULL, *key = NULL;
  g_autofree char *published = NULL, *done = NULL, *again = NULL;
  g_autoptr (JsonObject) result = NULL, shown = NULL;
  g_autoptr (GError) error = NULL;
  gsize mb = 0, ms = 0;
  VtProc *agent;
  gint64 run, next;

  agent_dir = enrolled_agent (lab, "dev-4", &mb);
  task = create_task (lab, "ioc.scan", "dev-4", params);
  ms = vt_proc_mark (lab->serve);
  run = dispatch (lab, task);
  key = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task, run);
  published = g_strdup_printf ("run %s of task %s published to device 'dev-4'", key, task);
  ms = vt_proc_wait (lab->serve, ms, published);
  journal = g_build_filename (agent_dir, "agent", "runs", NULL);
  g_assert_cmpint (vigil_fleet_run_claim (journal, key, &error), ==, VIGIL_FLEET_CLAIM_NEW);
  g_assert_no_error (error);

  agent = agent_start_at (agent_dir, root, NULL);
  failed = ended_line (run, "dev-4", "failed");
  ms = vt_proc_wait (lab->serve, ms, failed);
  again = g_strdup_printf ("run %s delivered again: not executed again", key);
  vt_proc_wait (agent, 0, again);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (result, "error"), ==,
                   "the agent stopped during the run");

  /* The next round is not blocked. */
  vt_cli_ok (lab->console, "task", "run", task, NULL);
  shown = vt_lab_json (lab->console, "task", "show", task, NULL);
  next = json_object_get_int_member (json_array_get_object_element (
           json_object_get_array_member (shown, "runs"), 0), "id");
  g_assert_cmpint (next, >, run);
  done = ended_line (next, "dev-4", "completed");
  ms = vt_proc_wait (lab->serve, ms, done);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* The console is stopped between publishing a run and the agent's report:
 * the report waits in the stream (the console's durable consumer) and is
 * stored when the console is back, once. */
static void
test_run_console_restart (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "dev-5");
  g_autofree char *params = scan_params ();
  g_autofree char *agent_dir = NULL, *task = NULL, *published = NULL, *done = NULL;
  g_autofree char *ran = NULL;
  g_autoptr (JsonObject) result = NULL, waiting = NULL;
  gsize mb = 0, ms;
  VtProc *agent;
  gint64 run;

  agent_dir = enrolled_agent (lab, "dev-5", &mb);
  task = create_task (lab, "ioc.scan", "dev-5", params);
  ms = vt_proc_mark (lab->serve);
  run = dispatch (lab, task);
  published = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " of task %s published to device 'dev-5'",
                               task, run, task);
  vt_proc_wait (lab->serve, ms, published);
  g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  lab->serve = NULL;

  agent = agent_start_at (agent_dir, root, NULL);
  ran = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " completed", task, run);
  vt_proc_wait (agent, 0, ran);
  waiting = vt_lab_json (lab->console, "task", "show", task, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                     json_object_get_array_member (waiting, "runs"), 0), "state"), ==, "dispatched");

  lab->serve = vt_lab_serve_start (lab);
  done = ended_line (run, "dev-5", "completed");
  vt_proc_wait (lab->serve, 0, done);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "state"), ==, "completed");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "findings")), ==, 1);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* Reports wait in the agent's outbox on disk while the broker is down, and
 * reach the console once it is back: an agent that died during a run
 * starts again while the broker is down (its "failed" end goes to the
 * outbox), then the broker comes back. */
static void
test_run_report_waits_for_broker (Lab *lab, gconstpointer data)
{
  g_autofree char *root = device_root (lab, "dev-6");
  g_autofree char *params = scan_params ();
  g_autofree char *agent_dir = NULL, *task = NULL, *published = NULL, *journal = NULL;
  g_autofree char *key = NULL, *kept = NULL, *failed = NULL, *outbox = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = NULL;
  gsize mb = 0, ms;
  VtProc *agent;
  gint64 run;

  agent_dir = enrolled_agent (lab, "dev-6", &mb);
  task = create_task (lab, "ioc.scan", "dev-6", params);
  ms = vt_proc_mark (lab->serve);
  run = dispatch (lab, task);
  key = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task, run);
  published = g_strdup_printf ("run %s of task %s published to device 'dev-6'", key, task);
  ms = vt_proc_wait (lab->serve, ms, published);
  journal = g_build_filename (agent_dir, "agent", "runs", NULL);
  g_assert_cmpint (vigil_fleet_run_claim (journal, key, &error), ==, VIGIL_FLEET_CLAIM_NEW);

  vt_proc_stop (lab->broker);
  lab->broker = NULL;
  ms = vt_proc_wait (lab->serve, ms, "disconnected from the broker");
  agent = agent_start_at (agent_dir, root, NULL);
  kept = g_strdup_printf ("run %s was interrupted: reported failed", key);
  vt_proc_wait (agent, 0, kept);
  outbox = g_build_filename (agent_dir, "agent", "outbox", NULL);
  dir = g_dir_open (outbox, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g_dir_read_name (dir));

  lab->broker = vt_lab_broker_start (lab);
  failed = ended_line (run, "dev-6", "failed");
  vt_proc_wait (lab->serve, ms, failed);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "error"), ==,
                   "the agent stopped during the run");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

/* Revoking a device ends its runs still out: its agent will never report
 * them, and they must not hold up their task. */
static void
test_run_revoked (Lab *lab, gconstpointer data)
{
  g_autofree char *params = scan_params ();
  g_autofree char *agent_dir = NULL, *task = NULL, *published = NULL;
  g_autoptr (JsonObject) revoked = NULL, result = NULL;
  gsize mb = 0, ms;
  gint64 run;

  agent_dir = enrolled_agent (lab, "dev-7", &mb);
  task = create_task (lab, "ioc.scan", "dev-7", params);
  ms = vt_proc_mark (lab->serve);
  run = dispatch (lab, task);
  published = g_strdup_printf ("run %s.%" G_GINT64_FORMAT " of task %s published to device 'dev-7'",
                               task, run, task);
  vt_proc_wait (lab->serve, ms, published);
  revoked = vt_lab_json (lab->console, "device", "revoke", "dev-7", NULL);
  g_assert_cmpint (json_object_get_int_member (revoked, "runs_failed"), ==, 1);
  result = only_result (lab, task);
  g_assert_cmpstr (json_object_get_string_member (result, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (result, "error"), ==,
                   "the device's agent was revoked");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn, running) \
  g_test_add ("/fleet/cli/" name, Lab, running, lab_setup, fn, vt_lab_teardown)
  ADD ("enroll-heartbeat-revoke", test_enroll_heartbeat_revoke, "");
  ADD ("agent-waits-for-broker", test_agent_waits_for_broker, "");
  ADD ("own-ca", test_own_ca, "own-ca");
  ADD ("refusals", test_refusals, NULL);
  ADD ("broker-background", test_broker_background, NULL);
  ADD ("run-on-agent", test_run_on_agent, "");
  ADD ("run-waits-for-agent", test_run_waits_for_agent, "");
  ADD ("run-missing-plugin", test_run_missing_plugin, "");
  ADD ("run-agent-died", test_run_agent_died, "");
  ADD ("run-console-restart", test_run_console_restart, "");
  ADD ("run-report-waits-for-broker", test_run_report_waits_for_broker, "");
  ADD ("run-revoked", test_run_revoked, "");
#undef ADD
  return g_test_run ();
}
