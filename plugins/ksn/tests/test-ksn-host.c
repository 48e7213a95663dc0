/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ksn plugin in the real host, with every built plugin loaded and
 * policies applied through the `vigil` CLI. With usage off or the statement
 * not accepted, a run of detections and look-ups makes no connection at all
 * (a listening loopback server counts them). With usage on, detections are
 * enriched with ksn.verdict events from a loopback HTTPS service, verdicts
 * are cached for the configured time on the host's (fake) clock, and
 * traffic goes through the general proxy or the console's KSN proxy.
 */
#include "host-private.h"
#include "vt-cli.h"
#include "ksn-test-service.h"

#include <string.h>
#include <glib/gstdio.h>

#define SHA_MAL "a0000000000000000000000000000000000000000000000000000000000000aa"
#define MD5_CLEAN "c00000000000000000000000000000cc"

typedef struct {
  char      *dir;
  char      *state;
  char      *cert;
  char      *key;
  VigilHost *host;
  gint64     now;
} Fx;

static void
setup (Fx *f, gconstpointer data)
{
  g_autofree char *root = NULL;

  f->dir = g_dir_make_tmp ("vigil-ksn-host-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  f->cert = g_build_filename (f->dir, "cert.pem", NULL);
  f->key = g_build_filename (f->dir, "key.pem", NULL);
  root = g_build_filename (f->dir, "pc1-root", NULL);
  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  kt_make_cert (f->cert, f->key, "IP:127.0.0.1");
  f->now = g_get_real_time ();
  vt_cli_ok (f->state, "group", "add", "lab", NULL);
  vt_cli_ok (f->state, "device", "add", "pc1", "--group", "lab", "--root", root, NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  g_clear_pointer (&f->host, vigil_host_free);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
  g_free (f->cert);
  g_free (f->key);
}

static void
apply (Fx *f, const char *settings_json)
{
  g_autofree char *doc = g_strdup_printf ("{\"name\":\"Lab\",\"group\":\"lab\",\"status\":\"active\","
                                          "\"settings\":{%s}}", settings_json);
  g_autofree char *path = g_build_filename (f->dir, "policy.json", NULL);

  g_assert_true (g_file_set_contents (path, doc, -1, NULL));
  vt_cli_ok (f->state, "policy", "apply", path, NULL);
}

static gint64
fake_clock (gpointer data)
{
  return ((Fx *) data)->now;
}

static VigilHost *
open_host (Fx *f)
{
  VigilHostOptions options = { sizeof options, .state_dir = f->state, .skip_install_dir = TRUE };
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&f->host, vigil_host_free);
  f->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_set_clock (f->host, fake_clock, f);
  vigil_host_load_plugins (f->host);
  return f->host;
}

static char *
emit (VigilHost *host, const char *type, const char *payload_json)
{
  g_autoptr (JsonNode) payload = json_from_string (payload_json, NULL);
  g_autoptr (GError) error = NULL;
  char *id = vigil_host_emit_event (host, "test", type, "pc1", 1,
                                    json_node_get_object (payload), &error);

  g_assert_no_error (error);
  return id;
}

static void
create_lookup (VigilHost *host)
{
  g_autoptr (JsonNode) params = json_from_string ("{\"sha256\":[\"" SHA_MAL "\"],"
                                                  "\"md5\":[\"" MD5_CLEAN "\"]}", NULL);
  VigilTaskSpec spec = { .type = "ksn.lookup", .device_id = "pc1",
                         .params = json_node_get_object (params) };
  g_autoptr (GError) error = NULL;
  g_autofree char *id = vh_tasks_create (host, "cli", &spec, &error);

  g_assert_no_error (error);
  g_assert_nonnull (id);
}

static const char *detection =
  "{\"user\":\"alice\",\"path\":\"/home/alice/Downloads/invoice.exe\","
  "\"md5\":\"" MD5_CLEAN "\",\"sha256\":\"" SHA_MAL "\",\"size\":12345,"
  "\"threat\":\"HEUR:Trojan.Win32.Generic\",\"riskware\":false,"
  "\"detected_at\":\"2026-11-22T10:00:00Z\"}";

static const char *ioc_found =
  "{\"task_id\":\"t1\",\"ioc_id\":\"i1\",\"ioc_name\":\"x.ioc\",\"path\":\"/tmp/x\",\"size\":1,"
  "\"md5\":\"" MD5_CLEAN "\",\"sha256\":\"" SHA_MAL "\",\"matched\":\"FileItem/Md5sum\"}";

/* ------------------------------------------------------------------ */
/* Zero connections                                                    */
/* ------------------------------------------------------------------ */

static void
run_everything (Fx *f)
{
  VigilHost *host = open_host (f);

  g_free (emit (host, "sandbox.threat_detected", detection));
  g_free (emit (host, "ioc.found", ioc_found));
  create_lookup (host);
  vigil_host_run_until_idle (host, NULL);
  g_clear_pointer (&f->host, vigil_host_free);
}

static void apply_on (Fx *f, guint16 port, const char *usage_extra,
                      const char *service_extra, const char *general);

static void
apply_on_endpoint (Fx *f, guint16 port)
{
  apply_on (f, port, NULL, ",\"timeout_s\":2", NULL);
}

static void
test_zero_connections_when_off (Fx *f, gconstpointer data)
{
  g_autoptr (KtServer) listener = kt_server_start (f->cert, f->key, KT_REPLY_VERDICTS);
  g_autofree char *service = g_strdup_printf ("\"service\":{\"values\":{\"endpoint\":"
                                              "\"https://127.0.0.1:%u/api/v1/reputation\"}}",
                                              kt_server_port (listener));
  g_autofree char *defaults = g_strdup_printf ("\"ksn\":{\"schema_version\":1,%s}", service);
  g_autofree char *accepted_only = g_strdup_printf (
    "\"ksn\":{\"schema_version\":1,\"statement\":{\"locked\":true,\"values\":{\"accepted\":true,"
    "\"version\":\"1.0\"}},\"usage\":{\"locked\":true,\"values\":{\"enabled\":false}},%s}", service);
  g_autofree char *local = g_build_filename (f->dir, "local.json", NULL);
  g_auto (VtCli) local_result = { 0 };

  /* The defaults: statement not accepted, usage off. */
  apply (f, defaults);
  run_everything (f);
  /* The statement accepted, usage off. */
  apply (f, accepted_only);
  run_everything (f);
  /* Usage switched on locally while no policy accepted the statement:
   * whether or not the CLI takes such local settings, the gate holds. */
  apply (f, defaults);
  g_assert_true (g_file_set_contents (local, "{\"ksn\":{\"usage\":{\"enabled\":true}}}", -1, NULL));
  vt_cli_run (&local_result, f->state, NULL, NULL, "device", "settings", "pc1", local, NULL);
  run_everything (f);
  g_assert_cmpuint (kt_server_connections (listener), ==, 0);

  /* The control: once allowed, the same run does reach the listener
   * (whose certificate no CA vouches for, so the look-ups fail after
   * connecting). */
  apply_on_endpoint (f, kt_server_port (listener));
  run_everything (f);
  g_assert_cmpuint (kt_server_connections (listener), >, 0);
}

/* The demo of scripts/demo (examples/lab), with a KSN endpoint configured
 * on every lab device but usage off: the whole threat response plays out
 * (quarantine, notifications, IOC scans, finds) without one connection. */
static void
test_zero_connections_in_demo_run (Fx *f, gconstpointer data)
{
  g_autofree char *lab_sh = g_build_filename (VIGIL_SOURCE_ROOT, "examples", "lab", "lab.sh", NULL);
  g_autoptr (KtServer) listener = kt_server_start (f->cert, f->key, KT_REPLY_VERDICTS);
  g_autofree char *lab = g_build_filename (f->dir, "lab", NULL);
  g_autofree char *state = g_build_filename (f->dir, "demo-state", NULL);
  g_autofree char *ksn_policies = NULL;
  g_autofree char *script = NULL;
  g_auto (VtCli) events = { 0 };
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (!g_file_test (lab_sh, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("examples/lab is not in the source tree");
      return;
    }
  ksn_policies = g_strdup_printf (
    "for g in sales engineering; do cat > \"$LAB/ksn-$g.json\" <<JSON\n"
    "{\"name\":\"KSN $g\",\"group\":\"$g\",\"status\":\"active\",\"settings\":{\"ksn\":"
    "{\"schema_version\":1,\"statement\":{\"locked\":true,\"values\":{\"accepted\":true,"
    "\"version\":\"1.0\"}},\"service\":{\"locked\":true,\"values\":{\"endpoint\":"
    "\"https://127.0.0.1:%u/api/v1/reputation\"}}}}}\nJSON\n"
    "v policy apply \"$LAB/ksn-$g.json\" >/dev/null; done\n", kt_server_port (listener));
  /* The set-up of scripts/demo, then its detection. */
  script = g_strdup_printf (
    "set -e\n. \"$SRC/examples/lab/lab.sh\"\nmkdir -p \"$LAB\"\n"
    "lab_make_roots \"$LAB\"; lab_epp_policy \"$LAB\"\n"
    "v() { \"$VIGIL\" --state-dir \"$STATE\" \"$@\"; }\n"
    "while read -r id parent name; do v group add \"$id\" --parent \"$parent\" --name \"$name\" >/dev/null; done <<< \"$lab_groups\"\n"
    "while read -r id group _u; do v device add \"$id\" --group \"$group\" --root \"$LAB/devices/$id\" >/dev/null; done <<< \"$lab_devices\"\n"
    "v policy apply \"$LAB/lab-epp.json\" >/dev/null\n"
    "v policy apply \"$SRC/examples/policies/lab-response.json\" >/dev/null\n"
    "%s"
    "v event emit sandbox.threat_detected \"$SRC/examples/lab/detection.json\" --device pc-alice >/dev/null\n",
    ksn_policies);
  {
    const char *argv[] = { "bash", "-c", script, NULL };
    g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
    g_autoptr (GSubprocess) proc = NULL;

    g_subprocess_launcher_setenv (launcher, "SRC", VIGIL_SOURCE_ROOT, TRUE);
    g_subprocess_launcher_setenv (launcher, "LAB", lab, TRUE);
    g_subprocess_launcher_setenv (launcher, "STATE", state, TRUE);
    g_subprocess_launcher_setenv (launcher, "VIGIL", vt_cli_path (), TRUE);
    proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
    g_assert_no_error (error);
    g_subprocess_wait (proc, NULL, &error);
    g_assert_no_error (error);
    status = g_subprocess_get_exit_status (proc);
  }
  g_assert_cmpint (status, ==, 0);
  /* The response did run: IOC finds on the other lab devices. */
  vt_cli_run (&events, state, NULL, NULL, "events", "--type", "ioc.found", "--limit", "0", NULL);
  g_assert_cmpint (events.status, ==, 0);
  g_assert_nonnull (strstr (events.out, "pc-bob"));
  g_assert_cmpuint (kt_server_connections (listener), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Look-ups when allowed                                               */
/* ------------------------------------------------------------------ */

static void
apply_on (Fx *f, guint16 port, const char *usage_extra, const char *service_extra,
          const char *general)
{
  g_autofree char *settings = g_strdup_printf (
    "\"ksn\":{\"schema_version\":1,"
    "\"statement\":{\"locked\":true,\"values\":{\"accepted\":true,\"version\":\"1.0\"}},"
    "\"usage\":{\"locked\":true,\"values\":{\"enabled\":true%s}},"
    "\"service\":{\"locked\":true,\"values\":{\"endpoint\":\"https://127.0.0.1:%u/api/v1/reputation\","
    "\"ca_file\":\"%s\",\"cache_ttl_min\":30%s}}}%s%s",
    usage_extra ? usage_extra : "", port, f->cert, service_extra ? service_extra : "",
    general ? "," : "", general ? general : "");

  apply (f, settings);
}

static JsonArray *
stored_verdicts (Fx *f)
{
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonNode) node = NULL;

  g_clear_pointer (&f->host, vigil_host_free);
  vt_cli_run (&r, f->state, NULL, NULL, "--json", "events", "--type", "ksn.verdict", NULL);
  g_assert_cmpint (r.status, ==, 0);
  node = json_from_string (r.out, NULL);
  g_assert_true (node && JSON_NODE_HOLDS_ARRAY (node));
  return json_array_ref (json_node_get_array (node));
}

static JsonObject *
verdict_for (JsonArray *events, const char *value)
{
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *payload = json_object_get_object_member (json_array_get_object_element (events, i),
                                                           "payload");

      if (g_strcmp0 (json_object_get_string_member (payload, "value"), value) == 0)
        return payload;
    }
  g_error ("no ksn.verdict for %s", value);
  return NULL;
}

static void
test_enriches_detection (Fx *f, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (f->cert, f->key, KT_REPLY_VERDICTS);
  g_autoptr (JsonArray) events = NULL;
  g_autofree char *event_id = NULL;
  JsonObject *mal, *clean;

  apply_on (f, kt_server_port (server), NULL, NULL, NULL);
  event_id = emit (open_host (f), "sandbox.threat_detected", detection);
  vigil_host_run_until_idle (f->host, NULL);
  g_assert_cmpuint (kt_server_requests (server), ==, 1);

  events = stored_verdicts (f);
  g_assert_cmpuint (json_array_get_length (events), ==, 2);
  mal = verdict_for (events, SHA_MAL);
  clean = verdict_for (events, MD5_CLEAN);
  g_assert_cmpstr (json_object_get_string_member (mal, "verdict"), ==, "malicious");
  g_assert_cmpstr (json_object_get_string_member (mal, "threat"), ==, "HEUR:Trojan.Test.Generic");
  g_assert_cmpstr (json_object_get_string_member (mal, "event_id"), ==, event_id);
  g_assert_cmpstr (json_object_get_string_member (mal, "event_type"), ==, "sandbox.threat_detected");
  g_assert_cmpstr (json_object_get_string_member (clean, "verdict"), ==, "clean");
  g_assert_cmpstr (json_object_get_string_member (clean, "type"), ==, "md5");
}

static void
test_cache_ttl_on_host_clock (Fx *f, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (f->cert, f->key, KT_REPLY_VERDICTS);
  VigilHost *host;

  apply_on (f, kt_server_port (server), NULL, NULL, NULL);
  host = open_host (f);
  create_lookup (host);
  vigil_host_run_until_idle (host, NULL);
  g_assert_cmpuint (kt_server_connections (server), ==, 1);

  f->now += (gint64) 29 * 60 * G_USEC_PER_SEC;
  create_lookup (host);
  vigil_host_run_until_idle (host, NULL);
  g_assert_cmpuint (kt_server_connections (server), ==, 1);

  f->now += (gint64) 2 * 60 * G_USEC_PER_SEC;
  create_lookup (host);
  vigil_host_run_until_idle (host, NULL);
  g_assert_cmpuint (kt_server_connections (server), ==, 2);
}

static void
test_through_general_proxy (Fx *f, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (f->cert, f->key, KT_REPLY_VERDICTS);
  g_autoptr (VtProxy) proxy = vt_proxy_start (NULL);
  g_autofree char *general = g_strdup_printf (
    "\"general\":{\"schema_version\":1,\"proxy\":{\"locked\":true,\"values\":{\"mode\":\"manual\","
    "\"address\":\"127.0.0.1\",\"port\":%u}}}", vt_proxy_port (proxy));
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", kt_server_port (server));
  g_autofree char *seen = NULL;

  apply_on (f, kt_server_port (server), NULL, NULL, general);
  create_lookup (open_host (f));
  vigil_host_run_until_idle (f->host, NULL);
  g_assert_cmpuint (vt_proxy_accepted (proxy), ==, 1);
  seen = vt_proxy_last_target (proxy);
  g_assert_cmpstr (seen, ==, target);
  g_assert_cmpuint (kt_server_requests (server), ==, 1);
}

static void
test_through_console_proxy (Fx *f, gconstpointer data)
{
  g_autoptr (KtServer) server = kt_server_start (f->cert, f->key, KT_REPLY_VERDICTS);
  g_autoptr (VtProxy) console = vt_proxy_start (NULL);
  g_autoptr (VtProxy) general_proxy = vt_proxy_start (NULL);
  g_autofree char *general = g_strdup_printf (
    "\"general\":{\"schema_version\":1,\"proxy\":{\"locked\":true,\"values\":{\"mode\":\"manual\","
    "\"address\":\"127.0.0.1\",\"port\":%u}}}", vt_proxy_port (general_proxy));
  g_autofree char *service = g_strdup_printf (",\"console_proxy_address\":\"127.0.0.1\","
                                              "\"console_proxy_port\":%u", vt_proxy_port (console));

  apply_on (f, kt_server_port (server), ",\"use_console_proxy\":true", service, general);
  create_lookup (open_host (f));
  vigil_host_run_until_idle (f->host, NULL);
  /* The console's proxy carries KSN traffic; the general proxy sees none. */
  g_assert_cmpuint (vt_proxy_accepted (console), ==, 1);
  g_assert_cmpuint (vt_proxy_accepted (general_proxy), ==, 0);
  g_assert_cmpuint (kt_server_requests (server), ==, 1);
}

static void
test_lookup_params_checked (Fx *f, gconstpointer data)
{
  const char *bad[][2] = {
    { "{\"sha256\":[\"xyz\"]}", "sha256[0]" },
    { "{\"md5\":[\"" SHA_MAL "\"]}", "md5[0]" },
    { "{}", "sha256" },
  };
  VigilHost *host = open_host (f);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonNode) params = json_from_string (bad[i][0], NULL);
      VigilTaskSpec spec = { .type = "ksn.lookup", .device_id = "pc1",
                             .params = json_node_get_object (params) };
      g_autoptr (GError) error = NULL;
      g_autofree char *id = vh_tasks_create (host, "cli", &spec, &error);

      g_assert_null (id);
      g_assert_nonnull (error);
      if (!strstr (error->message, bad[i][1]))
        g_error ("%s: expected '%s' in '%s'", bad[i][0], bad[i][1], error->message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTPS_PROXY");
#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)
  ADD ("/ksn/host/zero-connections-when-off", test_zero_connections_when_off);
  ADD ("/ksn/host/zero-connections-in-demo-run", test_zero_connections_in_demo_run);
  ADD ("/ksn/host/lookup-params-checked", test_lookup_params_checked);
  ADD ("/ksn/host/enriches-detection", test_enriches_detection);
  ADD ("/ksn/host/cache-ttl-on-host-clock", test_cache_ttl_on_host_clock);
  ADD ("/ksn/host/through-general-proxy", test_through_general_proxy);
  ADD ("/ksn/host/through-console-proxy", test_through_console_proxy);
#undef ADD
  return g_test_run ();
}
