/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet through the real `vigil` binary, each role in its own process
 * and state folder: the console sets the fleet up (`fleet init`) and runs
 * the broker (`fleet broker run`: Debian's nats-server on loopback with
 * real TLS) and `vigil serve`; an endpoint enrolls (`agent enroll`) and
 * runs `vigil agent`. Every wait is for a line a process prints (the
 * broker ready or reloaded, the console connected, a device online, the
 * agent cut off), never for a duration.
 */
#include "vt-cli.h"
#include "vt-proc.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  char   *dir;
  char   *console;   /* the console's state folder */
  VtProc *broker, *serve;
} Lab;

#define RELOADED "Reloaded server configuration"

/* ---- helpers ------------------------------------------------------------ */

static JsonObject *
stdout_object (const VtCli *r)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, r->out, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* `vigil --json --state-dir STATE ARGS...`, which must exit 0; its JSON. */
static JsonObject *
run_json (const char *state, ...) G_GNUC_NULL_TERMINATED;

static JsonObject *
run_json (const char *state, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (VtCli) r = { 0 };
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "--json");
  va_start (ap, state);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  vt_cli_runv (&r, state, NULL, NULL, (const char *const *) argv->pdata);
  if (r.status != 0)
    g_error ("vigil %s exited %d: %s", (char *) argv->pdata[1], r.status, r.err);
  return stdout_object (&r);
}

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
broker_start (Lab *lab)
{
  const char *argv[] = { "--state-dir", lab->console, "fleet", "broker", "run", NULL };
  VtProc *p = vt_proc_start ("broker", NULL, argv);

  vt_proc_wait (p, 0, "Server is ready");
  return p;
}

static VtProc *
serve_start (Lab *lab)
{
  g_autofree char *sock = g_build_filename (lab->dir, "serve.sock", NULL);
  const char *argv[] = { "--state-dir", lab->console, "serve", "--socket", sock, NULL };
  VtProc *p = vt_proc_start ("serve", NULL, argv);

  vt_proc_wait (p, 0, "fleet: connected to the broker");
  return p;
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
      fleet = run_json (lab->console, "fleet", "init", "--port", "0", "--ca-cert", crt,
                        "--ca-key", key, NULL);
      g_assert_true (json_object_get_boolean_member (fleet, "own_ca"));
    }
  else
    fleet = run_json (lab->console, "fleet", "init", "--port", "0", NULL);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (fleet, "broker_url"),
                                   "tls://127.0.0.1:"));
  vt_cli_ok (lab->console, "group", "add", "lab", NULL);
  if (data == NULL)
    return;
  lab->broker = broker_start (lab);
  lab->serve = serve_start (lab);
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  /* A clean stop: exit 0 (and, under ASan, no leak). */
  if (lab->serve)
    g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  if (lab->broker)
    vt_proc_stop (lab->broker);
  vt_rm_rf (lab->dir);
  g_free (lab->dir);
  g_free (lab->console);
}

/* `device enroll ID` on the console: the file's path. Waits for the broker
 * to have reloaded with the file's bootstrap identity; *@mark moves on. */
static char *
enroll_file (Lab *lab, const char *id, gsize *mark)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.enroll", lab->dir, id);
  g_autoptr (JsonObject) o = run_json (lab->console, "device", "enroll", id, "--group", "lab",
                                       "--output", file, NULL);

  g_assert_cmpstr (json_object_get_string_member (o, "device"), ==, id);
  g_assert_true (json_object_get_boolean_member (o, "broker_reloaded"));
  *mark = vt_proc_wait (lab->broker, *mark, RELOADED);
  return g_steal_pointer (&file);
}

static JsonObject *
agent_of (Lab *lab, const char *id)
{
  g_autoptr (JsonObject) d = run_json (lab->console, "device", "show", id, NULL);
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
  mb = vt_proc_wait (lab->broker, mb, RELOADED);

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
  mb = vt_proc_wait (lab->broker, mb, RELOADED);
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
  revoked = run_json (lab->console, "device", "revoke", "dev-1", NULL);
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

  lab->broker = broker_start (lab);
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
    again = run_json (lab->console, "device", "show", "dev-2", NULL);
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

  started = run_json (lab->console, "fleet", "broker", "start", NULL);
  g_assert_true (json_object_get_boolean_member (started, "broker_running"));
  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "broker", "start", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "already running"));
  status = run_json (lab->console, "fleet", "broker", "status", NULL);
  g_assert_cmpint (json_object_get_int_member (status, "broker_pid"), ==,
                   json_object_get_int_member (started, "broker_pid"));
  stopped = run_json (lab->console, "fleet", "broker", "stop", NULL);
  g_assert_false (json_object_get_boolean_member (stopped, "broker_running"));
  vt_cli_run (&r, lab->console, NULL, NULL, "fleet", "broker", "status", NULL);
  g_assert_cmpint (r.status, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn, running) \
  g_test_add ("/fleet/cli/" name, Lab, running, lab_setup, fn, lab_teardown)
  ADD ("enroll-heartbeat-revoke", test_enroll_heartbeat_revoke, "");
  ADD ("agent-waits-for-broker", test_agent_waits_for_broker, "");
  ADD ("own-ca", test_own_ca, "own-ca");
  ADD ("refusals", test_refusals, NULL);
  ADD ("broker-background", test_broker_background, NULL);
#undef ADD
  return g_test_run ();
}
