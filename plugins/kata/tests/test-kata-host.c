/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata plugin through the host: the built `vigil` CLI runs as a child
 * process (VIGIL_CLI) with a temporary state folder, a policy enables the
 * integration towards a real TLS server on loopback started by this test,
 * and events emitted with `vigil event emit` reach it through
 * `vigil kata flush`, also across a server outage and a restart of the
 * process, with the general section's telemetry exclusions applied.
 */
#include "kata-test-server.h"
#include "vt-cli.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static VtCerts *certs;

typedef struct {
  char *state;
  char *out;
  char *err;
} Cli;

static int
vigil (Cli *cli, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_auto (VtCli) r = { 0 };
  const char *arg;
  va_list ap;

  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  vt_cli_runv (&r, cli->state, NULL, NULL, (const char *const *) args->pdata);
  g_free (cli->out);
  g_free (cli->err);
  cli->out = g_steal_pointer (&r.out);
  cli->err = g_steal_pointer (&r.err);
  return r.status;
}

static char *
write_tmp (Cli *cli, const char *name, const char *text)
{
  char *path = g_build_filename (cli->state, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static JsonObject *
kata_policy (guint16 port, gboolean pinned)
{
  g_autofree char *pem = vt_read_text (certs->server_pem);
  g_autofree char *text = g_strdup_printf (
      "{\"name\":\"edr\",\"group\":\"root\",\"status\":\"active\",\"settings\":{"
      "\"kata\":{\"schema_version\":1,"
      "\"connection\":{\"locked\":true,\"values\":{\"enabled\":true,\"timeout_sec\":10,"
      "\"servers\":[{\"address\":\"127.0.0.1\",\"port\":%u}]}},"
      "\"trusted_connection\":{\"locked\":true,\"values\":{"
      "\"use_pinned_certificate\":%s}}}}}", port, pinned ? "true" : "false");
  g_autoptr (JsonNode) n = json_from_string (text, NULL);
  JsonObject *policy = json_object_ref (json_node_get_object (n));
  JsonObject *tc = json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (
          json_object_get_object_member (policy, "settings"), "kata"),
          "trusted_connection"), "values");

  json_object_set_string_member (tc, "pinned_certificate", pem);
  return policy;
}

static char *
to_text (JsonObject *o)
{
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), o);

  return json_to_string (n, TRUE);
}

static Cli *
cli_new (void)
{
  Cli *cli = g_new0 (Cli, 1);

  cli->state = g_dir_make_tmp ("kata-host-XXXXXX", NULL);
  return cli;
}

static void
cli_free (Cli *cli)
{
  vt_rm_rf (cli->state);
  g_free (cli->state);
  g_free (cli->out);
  g_free (cli->err);
  g_free (cli);
}

static void
setup_device (Cli *cli, JsonObject *policy)
{
  g_autofree char *text = to_text (policy);
  g_autofree char *file = write_tmp (cli, "policy.json", text);

  g_assert_cmpint (vigil (cli, "device", "add", "pc1", "--group", "root", NULL), ==, 0);
  g_assert_cmpint (vigil (cli, "policy", "apply", file, NULL), ==, 0);
}

static void
emit_process (Cli *cli, const char *image)
{
  g_autofree char *payload = g_strdup_printf (
      "{\"image\":\"%s\",\"sha256\":\"%s\",\"cmdline\":\"%s -x\",\"user\":\"alice\","
      "\"pid\":42}", image,
      "9b2c2f5d8d0c5ad3c3b1c8a1fb0a8f0e2cf6b5f3b8b1f3b0f4a3c1d9e8f7a6b5", image);
  g_autofree char *file = write_tmp (cli, "event.json", payload);

  g_assert_cmpint (vigil (cli, "event", "emit", "process.started", file,
                          "--device", "pc1", NULL), ==, 0);
}

static void
skip_without_cli (void)
{
  if (g_getenv ("VIGIL_CLI") == NULL)
    g_test_skip ("VIGIL_CLI is not set");
}

static void
test_emit_then_flush_delivers (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/curl");
  emit_process (cli, "/usr/bin/wget");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 2);
  g_assert_cmpint (vigil (cli, "kata", "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"sent_events\" : 2"));
  /* Counted by the two `event emit` processes, shown by a third. */
  g_assert_nonnull (strstr (cli->out, "\"submitted\" : 2"));
  g_assert_nonnull (strstr (cli->out, "\"offered\" : 2"));
  kt_server_stop (srv);
  cli_free (cli);
}

static GPid
spawn_serve (Cli *cli)
{
  const char *argv[] = { g_getenv ("VIGIL_CLI"), "--state-dir", cli->state, "serve", NULL };
  g_autoptr (GError) error = NULL;
  GPid pid = 0;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  return pid;
}

static void
test_serve_sends_without_flush (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  GPid serve;
  int status = 0;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/curl");
  emit_process (cli, "/usr/bin/wget");
  /* `vigil serve` reopens the spool and its one-second timer hands the
   * due transmission to the worker thread: no flush needed. The loop only
   * bounds the wait (at most 60 s), it measures nothing. */
  serve = spawn_serve (cli);
  for (guint i = 0; i < 600 && kt_server_unique_events (srv) < 2; i++)
    g_usleep (100 * 1000);
  kill (serve, SIGTERM);
  g_assert_cmpint (waitpid (serve, &status, 0), ==, serve);
  g_spawn_close_pid (serve);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 2);
  g_assert_false (kt_server_saw_duplicate_event (srv));
  kt_server_stop (srv);
  cli_free (cli);
}

static void
test_outage_then_restart_no_loss (void)
{
  guint16 port = vt_free_port ();
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  cli = cli_new ();
  policy = kata_policy (port, TRUE);
  setup_device (cli, policy);
  for (guint i = 0; i < 3; i++)
    emit_process (cli, "/usr/bin/ssh");
  /* The server is down: the events stay in the spool, exit code 1. */
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 1);
  g_assert_nonnull (strstr (cli->out, "3 still spooled"));
  g_assert_cmpint (vigil (cli, "events", "--type", "kata.delivery_failed", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "kata.delivery_failed"));
  /* A new process (the host restarted) delivers them once the server is up. */
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, port);
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 3);
  g_assert_cmpuint (kt_server_events_total (srv), ==, 3);
  g_assert_false (kt_server_saw_duplicate_event (srv));
  kt_server_stop (srv);
  cli_free (cli);
}

static void
test_pinned_mismatch_reported_as_event (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->other_pem, certs->other_key, NULL, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/curl");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 1);
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);
  g_assert_cmpint (vigil (cli, "events", "--type", "kata.connection_refused", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "kata.connection_refused"));
  g_assert_cmpint (vigil (cli, "events", "--type", "kata.server_failed", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "kata.server_failed"));
  /* The status counts the failures per server and stage (the flush's send
   * and its synchronization), and lists the settings the central node may
   * set. */
  g_assert_cmpint (vigil (cli, "kata", "status", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "failed 2 times: pin 2"));
  g_assert_nonnull (strstr (cli->out, "data_submission.transmission_period_sec"));
  kt_server_stop (srv);
  cli_free (cli);
}

static void
test_exclusions_applied (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  g_autoptr (JsonNode) general = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  general = json_from_string (
      "{\"schema_version\":1,\"telemetry_exclusions\":{\"locked\":true,\"values\":{"
      "\"use_exclusions\":true,\"processes\":[{\"image\":\"/opt/backup/*\"}]}}}", NULL);
  json_object_set_member (json_object_get_object_member (policy, "settings"),
                          "general", g_steal_pointer (&general));
  setup_device (cli, policy);
  emit_process (cli, "/opt/backup/agent");
  emit_process (cli, "/usr/bin/curl");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 1);
  g_assert_cmpint (vigil (cli, "kata", "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"excluded\" : 1"));
  kt_server_stop (srv);
  cli_free (cli);
}

static void
emit_connection (Cli *cli, const char *address, guint port)
{
  g_autofree char *payload = g_strdup_printf (
      "{\"image\":\"/usr/bin/curl\",\"sha256\":\"%s\",\"user\":\"alice\",\"pid\":42,"
      "\"direction\":\"outbound\",\"local_address\":\"192.0.2.10\",\"local_port\":50000,"
      "\"remote_address\":\"%s\",\"remote_port\":%u,\"protocol\":\"tcp\"}",
      "9b2c2f5d8d0c5ad3c3b1c8a1fb0a8f0e2cf6b5f3b8b1f3b0f4a3c1d9e8f7a6b5", address, port);
  g_autofree char *file = write_tmp (cli, "connection.json", payload);

  g_assert_cmpint (vigil (cli, "event", "emit", "network.connection", file,
                          "--device", "pc1", NULL), ==, 0);
}

/* Network connections are telemetry like process starts: forwarded, and
 * the network exclusion rules and "optimize telemetry" (SMB) keep out the
 * ones they match. */
static void
test_network_events_forwarded (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  g_autoptr (JsonNode) general = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  general = json_from_string (
      "{\"schema_version\":1,\"telemetry_exclusions\":{\"locked\":true,\"values\":{"
      "\"use_exclusions\":true,\"optimize_telemetry\":true,"
      "\"networks\":[{\"address\":\"10.0.0.0/8\",\"direction\":\"outbound\"}]}}}", NULL);
  json_object_set_member (json_object_get_object_member (policy, "settings"),
                          "general", g_steal_pointer (&general));
  setup_device (cli, policy);
  emit_connection (cli, "198.51.100.7", 443);
  emit_connection (cli, "10.1.2.3", 443);      /* the network rule */
  emit_connection (cli, "198.51.100.8", 445);  /* SMB: optimized away */
  emit_process (cli, "/usr/bin/curl");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "network.connection"), ==, 1);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 1);
  g_assert_cmpint (vigil (cli, "kata", "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"excluded\" : 2"));
  g_assert_nonnull (strstr (cli->out, "\"sent_events\" : 2"));
  kt_server_stop (srv);
  cli_free (cli);
}

static void
apply_policy (Cli *cli, JsonObject *policy)
{
  g_autofree char *text = to_text (policy);
  g_autofree char *file = write_tmp (cli, "policy.json", text);

  g_assert_cmpint (vigil (cli, "policy", "apply", file, NULL), ==, 0);
}

static void
set_enabled (JsonObject *policy, gboolean enabled)
{
  JsonObject *conn = json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (
          json_object_get_object_member (policy, "settings"), "kata"),
          "connection"), "values");

  json_object_set_boolean_member (conn, "enabled", enabled);
}

/* `kata flush` on a device whose integration was turned off: it says so,
 * exits 0, shows no error of the settings before, and leaves the spool
 * as it was (nothing sent, synchronized or dropped), so that the events
 * go out once the integration is on again. */
static void
test_flush_when_disabled (void)
{
  guint16 port = vt_free_port ();
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  cli = cli_new ();
  policy = kata_policy (port, TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/ssh");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 1);   /* server down */
  g_assert_nonnull (strstr (cli->out, "1 still spooled: "));
  g_assert_cmpint (vigil (cli, "kata", "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"sync_failures\" : 1"));

  set_enabled (policy, FALSE);
  apply_policy (cli, policy);
  if (vigil (cli, "kata", "flush", NULL) != 0)
    g_error ("flush with the integration off exited non-zero: %s%s", cli->out, cli->err);
  g_assert_cmpstr (cli->out, ==, "device pc1: integration disabled, nothing sent; "
                                 "1 events stay spooled\n");
  g_assert_cmpint (vigil (cli, "kata", "flush", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"skipped\" : true"));
  g_assert_cmpint (vigil (cli, "kata", "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"spooled\" : 1"));
  g_assert_nonnull (strstr (cli->out, "\"sync_failures\" : 1"));   /* no new attempt */

  /* On again, with the node up: the kept event goes out. */
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, port);
  set_enabled (policy, TRUE);
  apply_policy (cli, policy);
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_unique_events (srv), ==, 1);
  kt_server_stop (srv);
  cli_free (cli);
}

/* With pinning on, a node that demands a client certificate the device
 * does not have: `kata flush` and `kata status` say that, at the `tls`
 * stage, not a verdict on the node's chain nor a connection failure. */
static void
test_client_certificate_demand_reported (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  const char *says = "TLS failed: the server requires a client certificate and "
                     "none is configured (after the TLS 1.3 handshake, at the first ";

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, certs->ca_pem, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/curl");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 1);
  if (strstr (cli->out, says) == NULL || strstr (cli->out, "self-signed") != NULL)
    g_error ("flush does not say '%s': %s", says, cli->out);
  g_assert_cmpint (vigil (cli, "kata", "status", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, says));
  g_assert_nonnull (strstr (cli->out, "failed 2 times: tls 2"));   /* send and sync */
  g_assert_cmpuint (kt_server_packages (srv), ==, 0);
  kt_server_stop (srv);
  cli_free (cli);
}

static void
test_policy_errors_name_fields (void)
{
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  g_autofree char *pfx = NULL;
  g_autofree char *text = NULL;
  g_autofree char *file = NULL;
  JsonObject *kata, *conn, *trust;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  cli = cli_new ();
  policy = kata_policy (443, TRUE);
  kata = json_object_get_object_member (json_object_get_object_member (policy, "settings"), "kata");
  conn = json_object_get_object_member (json_object_get_object_member (kata, "connection"), "values");
  trust = json_object_get_object_member (json_object_get_object_member (kata, "trusted_connection"), "values");
  /* The host's range checks come first: a policy with a range error is
   * reported without the plugin's own checks. */
  json_object_set_int_member (conn, "sync_period_min", 90);
  text = to_text (policy);
  file = write_tmp (cli, "range.json", text);
  g_assert_cmpint (vigil (cli, "policy", "validate", file, NULL), ==, 1);
  g_assert_nonnull (strstr (cli->out, "kata.connection.sync_period_min: 90 is out of range 1–60"));
  json_object_set_int_member (conn, "sync_period_min", 5);
  {
    g_autoptr (JsonObject) group = json_object_new ();
    g_autoptr (JsonObject) values = json_object_new ();
    g_autofree char *bound_text = NULL;
    g_autofree char *bound_file = NULL;
    json_object_set_int_member (values, "spool_max_events", 500);
    json_object_set_object_member (group, "values", g_steal_pointer (&values));
    json_object_set_object_member (kata, "data_submission", g_steal_pointer (&group));
    bound_text = to_text (policy);
    bound_file = write_tmp (cli, "bound.json", bound_text);
    g_assert_cmpint (vigil (cli, "policy", "validate", bound_file, NULL), ==, 1);
    g_assert_nonnull (strstr (cli->out,
        "kata.data_submission.spool_max_events: 500 is out of range 1000–1000000"));
    json_object_remove_member (kata, "data_submission");
  }
  json_object_set_int_member (json_array_get_object_element (
      json_object_get_array_member (conn, "servers"), 0), "port", 70000);
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&file, g_free);
  text = to_text (policy);
  file = write_tmp (cli, "port.json", text);
  g_assert_cmpint (vigil (cli, "policy", "validate", file, NULL), ==, 1);
  g_assert_nonnull (strstr (cli->out, "kata.connection.servers[0].port: must be an integer in the range 1–65535"));
  /* Then what needs OpenSSL, each under its own field. */
  json_object_set_int_member (json_array_get_object_element (
      json_object_get_array_member (conn, "servers"), 0), "port", 443);
  json_object_set_string_member (trust, "pinned_certificate", "not a certificate");
  pfx = vt_read_b64 (certs->client_pfx);
  json_object_set_boolean_member (trust, "use_client_certificate", TRUE);
  json_object_set_string_member (trust, "client_pfx", pfx);
  json_object_set_string_member (trust, "client_pfx_password", "Wr0ngPassw0rd");
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&file, g_free);
  text = to_text (policy);
  file = write_tmp (cli, "tls.json", text);
  g_assert_cmpint (vigil (cli, "policy", "validate", file, NULL), ==, 1);
  {
    g_autofree char *all = g_strconcat (cli->out, cli->err, NULL);
    g_assert_nonnull (strstr (all, "kata.trusted_connection.pinned_certificate: not a PEM certificate"));
    g_assert_nonnull (strstr (all, "kata.trusted_connection.client_pfx_password: the PFX password is wrong"));
    g_assert_null (strstr (all, "Wr0ngPassw0rd"));
  }
  cli_free (cli);
}

static void
test_ttl_across_processes (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  JsonObject *conn;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  conn = json_object_get_object_member (json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (policy, "settings"),
                                     "kata"), "connection"), "values");
  json_object_set_boolean_member (conn, "use_ttl", TRUE);
  setup_device (cli, policy);
  /* Each `vigil event emit` is a process of its own: the TTL period is
   * remembered in the spool, not in memory. */
  emit_process (cli, "/usr/bin/ssh");
  emit_process (cli, "/usr/bin/ssh");
  emit_process (cli, "/usr/bin/scp");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 2);
  g_assert_cmpint (vigil (cli, "kata", "status", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"ttl_suppressed\" : 1"));
  kt_server_stop (srv);
  cli_free (cli);
}

static void
test_cert_info_without_secrets (void)
{
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  g_autofree char *pfx = NULL;
  JsonObject *trust;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  cli = cli_new ();
  policy = kata_policy (443, TRUE);
  trust = json_object_get_object_member (json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (policy, "settings"),
                                     "kata"), "trusted_connection"), "values");
  pfx = vt_read_b64 (certs->client_pfx_legacy);
  json_object_set_boolean_member (trust, "use_client_certificate", TRUE);
  json_object_set_string_member (trust, "client_pfx", pfx);
  json_object_set_string_member (trust, "client_pfx_password", "s3cret");
  setup_device (cli, policy);
  g_assert_cmpint (vigil (cli, "kata", "cert-info", "--device", "pc1", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"subject\" : \"CN=kata-central-node\""));
  g_assert_nonnull (strstr (cli->out, "\"issuer\" : \"CN=Test-CA\""));
  g_assert_nonnull (strstr (cli->out, "\"sha256_fingerprint\""));
  g_assert_nonnull (strstr (cli->out, "\"not_after\""));
  g_assert_nonnull (strstr (cli->out, "\"subject\" : \"CN=device-a\""));
  g_assert_null (strstr (cli->out, "s3cret"));
  g_assert_null (strstr (cli->out, pfx));
  g_assert_cmpint (vigil (cli, "kata", "cert-info", certs->other_pem, NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "CN=impostor"));
  g_assert_cmpint (vigil (cli, "policy", "show", "edr", NULL), ==, 0);
  g_assert_null (strstr (cli->out, "s3cret"));
  cli_free (cli);
}

static void
test_sync_task_rejected_is_an_event (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  kt_server_set_sync_body (srv, "{\"tasks\":[{\"id\":\"k-1\",\"type\":\"nope.none\"},"
      "{\"id\":\"k-2\",\"type\":\"quarantine.delete\",\"name\":\"from KATA\","
      "\"params\":{\"id\":\"0123456789abcdef0123456789abcdef\"}},"
      "{\"id\":\"k-3\",\"type\":\"quarantine.delete\",\"schedule\":{\"kind\":\"hourlyy\"},"
      "\"params\":{\"id\":\"0123456789abcdef0123456789abcdef\"}},"
      "{\"id\":\"k-4\",\"type\":\"quarantine.delete\",\"name\":\"manual from KATA\","
      "\"schedule\":{\"kind\":\"manual\"},"
      "\"params\":{\"id\":\"fedcba9876543210fedcba9876543210\"}}]}");
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/curl");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_syncs (srv), ==, 1);
  g_assert_cmpint (vigil (cli, "events", "--type", "kata.sync_task_rejected", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "kata.sync_task_rejected"));
  /* The valid one became a task of the device, once. */
  g_assert_cmpint (vigil (cli, "plugins", NULL), ==, 0);
  if (strstr (cli->out, "quarantine ") != NULL)
    {
      g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
      g_assert_cmpint (vigil (cli, "task", "list", "--json", NULL), ==, 0);
      g_assert_nonnull (strstr (cli->out, "\"from KATA\""));
      g_assert_null (strstr (strstr (cli->out, "\"from KATA\"") + 1, "\"from KATA\""));
      /* The server's schedule reached the host: manual, never started. */
      g_assert_nonnull (strstr (cli->out, "\"manual from KATA\""));
      g_assert_nonnull (strstr (cli->out, "\"schedule_text\" : \"manual start\""));
      /* A schedule the host refuses is reported with the host's reason. */
      g_assert_cmpint (vigil (cli, "events", "--type", "kata.sync_task_rejected",
                              "--json", NULL), ==, 0);
      g_assert_nonnull (strstr (cli->out, "k-3"));
      g_assert_nonnull (strstr (cli->out, "schedule"));
    }
  kt_server_stop (srv);
  cli_free (cli);
}

/* `kata flush --device D` synchronizes a device that has sent no
 * telemetry yet, so the node's tasks reach it. */
static void
test_flush_device_syncs_before_telemetry (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  kt_server_set_sync_body (srv, "{\"tasks\":[{\"id\":\"k-1\",\"type\":\"quarantine.delete\","
      "\"name\":\"early\",\"schedule\":{\"kind\":\"manual\"},"
      "\"params\":{\"id\":\"0123456789abcdef0123456789abcdef\"}}]}");
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  g_assert_cmpint (vigil (cli, "kata", "flush", "--device", "pc1", NULL), ==, 0);
  g_assert_cmpuint (kt_server_syncs (srv), ==, 1);
  g_assert_cmpint (vigil (cli, "task", "list", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"early\""));
  kt_server_stop (srv);
  cli_free (cli);
}

/* The id of the task named @name in `vigil task list --json`. */
static char *
task_id_named (Cli *cli, const char *name)
{
  g_autoptr (JsonNode) root = NULL;
  JsonArray *tasks;

  g_assert_cmpint (vigil (cli, "task", "list", "--json", NULL), ==, 0);
  root = json_from_string (cli->out, NULL);
  g_assert_true (root != NULL && JSON_NODE_HOLDS_ARRAY (root));
  tasks = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      if (g_strcmp0 (json_object_get_string_member (t, "name"), name) == 0)
        return g_strdup (json_object_get_string_member (t, "id"));
    }
  g_error ("no task named %s in %s", name, cli->out);
  return NULL;
}

/* The node learns what became of the tasks it sent, through the real
 * host: a type no plugin here provides comes back as task.rejected marked
 * unsupported, with a reason that says so; a task the host created runs
 * (here it fails: no such quarantined object) and its task.failed goes
 * back with the node's task id. A task created by an admin does not. */
static void
test_node_learns_task_outcomes (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;
  g_autofree char *id = NULL;
  g_autofree char *rejected = NULL;
  g_autofree char *failed = NULL;
  g_autofree char *params = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  kt_server_set_sync_body (srv, "{\"tasks\":[{\"id\":\"k-yara\",\"type\":\"yara.scan\"},"
      "{\"id\":\"k-del\",\"type\":\"quarantine.delete\",\"name\":\"node delete\","
      "\"schedule\":{\"kind\":\"manual\"},"
      "\"params\":{\"id\":\"0123456789abcdef0123456789abcdef\"}}]}");
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  params = write_tmp (cli, "params.json", "{\"id\":\"fedcba9876543210fedcba9876543210\"}");
  g_assert_cmpint (vigil (cli, "task", "create", "--type", "quarantine.delete",
                          "--device", "pc1", "--params", params, "--name", "admin delete",
                          "--schedule", "{\"kind\":\"manual\"}", NULL), ==, 0);
  emit_process (cli, "/usr/bin/curl");   /* the device's engine starts with its telemetry */
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);   /* sync: creates, rejects */
  g_assert_cmpint (vigil (cli, "events", "--type", "kata.sync_task_rejected", "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (cli->out, "\"unsupported\" : true"));
  g_assert_nonnull (strstr (cli->out, "this device cannot run tasks of type 'yara.scan'"));

  id = task_id_named (cli, "node delete");
  g_assert_cmpint (vigil (cli, "task", "run", id, NULL), ==, 1);   /* fails: no object */
  g_free (id);
  id = task_id_named (cli, "admin delete");
  g_assert_cmpint (vigil (cli, "task", "run", id, NULL), ==, 1);
  g_assert_cmpint (vigil (cli, "task", "run-due", NULL), ==, 0);  /* dispatches what is left */
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);

  g_assert_cmpuint (kt_server_type_count (srv, "task.rejected"), ==, 1);
  rejected = kt_server_last_payload (srv, "task.rejected");
  g_assert_nonnull (strstr (rejected, "\"node_task_id\":\"k-yara\""));
  g_assert_nonnull (strstr (rejected, "\"unsupported\":true"));
  g_assert_nonnull (strstr (rejected, "cannot run tasks of type 'yara.scan'"));
  /* Only the node's task's end went back. */
  g_assert_cmpuint (kt_server_type_count (srv, "task.failed"), ==, 1);
  failed = kt_server_last_payload (srv, "task.failed");
  g_assert_nonnull (strstr (failed, "\"node_task_id\":\"k-del\""));
  g_assert_nonnull (strstr (failed, "\"state\":\"failed\""));
  g_assert_cmpuint (kt_server_type_count (srv, "task.completed"), ==, 0);
  kt_server_stop (srv);
  cli_free (cli);
}

/* The central node's settings, applied by one process (`kata flush`), are
 * kept in the spool: the next process (`kata status`) shows them in force
 * over the policy's. */
static void
test_server_settings_kept_across_processes (void)
{
  KtServer *srv;
  Cli *cli;
  g_autoptr (JsonObject) policy = NULL;

  if (g_getenv ("VIGIL_CLI") == NULL)
    return skip_without_cli ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  kt_server_set_sync_body (srv, "{\"settings\":{\"data_submission\":"
                           "{\"transmission_period_sec\":120}}}");
  cli = cli_new ();
  policy = kata_policy (kt_server_port (srv), TRUE);
  setup_device (cli, policy);
  emit_process (cli, "/usr/bin/curl");
  g_assert_cmpint (vigil (cli, "kata", "flush", NULL), ==, 0);
  g_assert_cmpuint (kt_server_syncs (srv), ==, 1);
  kt_server_stop (srv);
  g_assert_cmpint (vigil (cli, "kata", "status", NULL), ==, 0);
  g_assert_true (g_regex_match_simple (
      "data_submission\\.transmission_period_sec +30 +120 +120\n", cli->out, 0, 0));
  g_assert_true (g_regex_match_simple (
      "data_submission\\.max_events_per_package +1024 +- +1024\n", cli->out, 0, 0));
  cli_free (cli);
}

int
main (int argc, char **argv)
{
  int rc;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  certs = vt_certs_new ();
  g_test_add_func ("/kata/host/emit-then-flush-delivers", test_emit_then_flush_delivers);
  g_test_add_func ("/kata/host/serve-sends-without-flush", test_serve_sends_without_flush);
  g_test_add_func ("/kata/host/outage-then-restart-no-loss", test_outage_then_restart_no_loss);
  g_test_add_func ("/kata/host/pinned-mismatch-reported-as-event",
                   test_pinned_mismatch_reported_as_event);
  g_test_add_func ("/kata/host/exclusions-applied", test_exclusions_applied);
  g_test_add_func ("/kata/host/network-events-forwarded", test_network_events_forwarded);
  g_test_add_func ("/kata/host/flush-when-disabled", test_flush_when_disabled);
  g_test_add_func ("/kata/host/client-certificate-demand-reported",
                   test_client_certificate_demand_reported);
  g_test_add_func ("/kata/host/ttl-across-processes", test_ttl_across_processes);
  g_test_add_func ("/kata/host/cert-info-without-secrets", test_cert_info_without_secrets);
  g_test_add_func ("/kata/host/policy-errors-name-fields", test_policy_errors_name_fields);
  g_test_add_func ("/kata/host/sync-creates-tasks-and-reports-rejects", test_sync_task_rejected_is_an_event);
  g_test_add_func ("/kata/host/node-learns-task-outcomes", test_node_learns_task_outcomes);
  g_test_add_func ("/kata/host/flush-device-syncs-before-telemetry",
                   test_flush_device_syncs_before_telemetry);
  g_test_add_func ("/kata/host/server-settings-kept-across-processes",
                   test_server_settings_kept_across_processes);
  rc = g_test_run ();
  vt_certs_free (certs);
  return rc;
}
