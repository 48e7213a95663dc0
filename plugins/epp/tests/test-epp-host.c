/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The epp.update task in the real host with every built plugin loaded, a
 * lab device made with the `vigil` CLI and the source set by a policy:
 * freshclam fetches a custom signature file from a loopback HTTP server
 * started here, the run's result says what changed, the host learns of
 * the completed update (host.database_updated from the epp plugin, through
 * the database_updated slot), so the critical-areas scan scheduled
 * after_update runs, with the new
 * signature, and finds the planted object. A source that is down fails
 * the run clearly and starts nothing; a bad URL is refused when the task
 * is created.
 */
#include "vigil-host.h"
#include "vt-cli.h"
#include "epp-test-http.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static const char planted[] = "X5O-vigil-test-planted-object\n";

typedef struct {
  char      *dir;
  char      *state;
  char      *root;
  char      *www;
  EtHttp    *http;
  VigilHost *host;
} Fx;

static void
put_file (const char *dir, const char *rel, const char *content)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, content, -1, NULL));
}

static void
setup (Fx *f, gconstpointer data)
{
  g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, planted, -1);
  g_autofree char *sig = g_strdup_printf ("%s:%zu:Vigil.Lab.Planted\n", md5, strlen (planted));

  f->dir = g_dir_make_tmp ("vigil-epp-host-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  f->root = g_build_filename (f->dir, "pc1-root", NULL);
  f->www = g_build_filename (f->dir, "www", NULL);
  put_file (f->root, "etc/systemd/system/evil.service", planted);
  put_file (f->root, "etc/cron.d/backup", "0 3 * * * root /usr/local/bin/backup\n");
  put_file (f->www, "vigil-lab.hdb", sig);
  f->http = et_http_start (f->www);
  vt_cli_ok (f->state, "group", "add", "lab", NULL);
  vt_cli_ok (f->state, "device", "add", "pc1", "--group", "lab", "--root", f->root, NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  g_clear_pointer (&f->host, vigil_host_free);
  g_clear_pointer (&f->http, et_http_stop);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
  g_free (f->root);
  g_free (f->www);
}

/* The lab policy: the update takes only @url (custom source), one attempt. */
static void
apply_source (Fx *f, const char *url)
{
  g_autofree char *doc = g_strdup_printf (
    "{\"name\":\"Lab\",\"group\":\"lab\",\"status\":\"active\",\"settings\":{\"epp\":"
    "{\"schema_version\":1,\"update\":{\"locked\":false,\"values\":{\"source\":\"custom\","
    "\"custom_urls\":[\"%s\"],\"attempts\":1}}}}}", url);
  g_autofree char *path = g_build_filename (f->dir, "policy.json", NULL);

  g_assert_true (g_file_set_contents (path, doc, -1, NULL));
  vt_cli_ok (f->state, "policy", "apply", path, NULL);
}

static void
open_host (Fx *f)
{
  VigilHostOptions options = { sizeof options, .state_dir = f->state, .skip_install_dir = TRUE };
  g_autoptr (GError) error = NULL;

  f->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_load_plugins (f->host);
}

static char *
create (Fx *f, const char *type, const char *params_json, const char *schedule, GError **error)
{
  g_autoptr (JsonNode) params = json_from_string (params_json, NULL);
  VigilTaskSpec spec = { .type = type, .device_id = "pc1",
                         .params = json_node_get_object (params), .schedule = schedule };

  return vigil_host_create_task (f->host, "test", &spec, error);
}

static char *
create_ok (Fx *f, const char *type, const char *params_json, const char *schedule)
{
  g_autoptr (GError) error = NULL;
  char *id = create (f, type, params_json, schedule, &error);

  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

/* The only run of task @id (newest first), with findings. */
static JsonArray *
runs_of (Fx *f, const char *id)
{
  g_autoptr (GError) error = NULL;
  JsonArray *runs = vigil_host_task_runs (f->host, id, TRUE, &error);

  g_assert_no_error (error);
  return runs;
}

static void
test_update_fires_after_update_scan (Fx *f, gconstpointer data)
{
  g_autofree char *url = et_http_url (f->http, "vigil-lab.hdb");
  g_autofree char *scan = NULL;
  g_autofree char *update = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (JsonArray) scan_runs = NULL;
  g_autoptr (JsonArray) events = NULL;
  JsonObject *run, *result, *change, *finding, *scan_run, *event;

  apply_source (f, url);
  open_host (f);
  scan = create_ok (f, "epp.critical_scan", "{}", "{\"kind\":\"after_update\"}");
  update = create_ok (f, "epp.update", "{\"reason\":\"lab signatures\"}", "{\"kind\":\"manual\"}");
  /* Nothing has updated yet: the scan waits. */
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 0);

  runs = vigil_host_run_task (f->host, update, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "completed");
  g_assert_cmpuint (et_http_served (f->http), >=, 1);
  result = json_object_get_object_member (run, "result");
  g_assert_true (json_object_get_boolean_member (result, "changed"));
  g_assert_cmpstr (json_object_get_string_member (result, "reason"), ==, "lab signatures");
  change = json_array_get_object_element (json_object_get_array_member (result, "changes"), 0);
  g_assert_cmpstr (json_object_get_string_member (change, "file"), ==, "vigil-lab.hdb");
  g_assert_cmpstr (json_object_get_string_member (change, "change"), ==, "added");
  g_assert_cmpint (json_object_get_int_member (change, "signatures_after"), ==, 1);
  /* freshclam said nothing was wrong. */
  for (guint i = 0; i < json_array_get_length (json_object_get_array_member (result, "output")); i++)
    g_assert_false (g_str_has_prefix (json_array_get_string_element (
                      json_object_get_array_member (result, "output"), i), "ERROR"));
  /* The lab device's databases are the plugin's, not the machine's. */
  g_assert_true (g_str_has_prefix (json_object_get_string_member (result, "database_dir"),
                                   f->state));

  /* The plugin told the host, for this device and this task. */
  events = vigil_host_events (f->host, 0, "host.database_updated", "pc1", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  event = json_array_get_object_element (events, 0);
  g_assert_cmpstr (json_object_get_string_member (event, "source"), ==, "epp");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "payload"),
                                                  "task_id"), ==, update);

  /* host.database_updated started the after_update scan, which used the
   * new signature. */
  scan_runs = runs_of (f, scan);
  g_assert_cmpuint (json_array_get_length (scan_runs), ==, 1);
  scan_run = json_array_get_object_element (scan_runs, 0);
  g_assert_cmpstr (json_object_get_string_member (scan_run, "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (
                     json_object_get_object_member (scan_run, "result"), "database"), ==,
                   json_object_get_string_member (result, "database_dir"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (scan_run, "findings")), ==, 1);
  finding = json_array_get_object_element (json_object_get_array_member (scan_run, "findings"), 0);
  g_assert_cmpstr (json_object_get_string_member (finding, "path"), ==,
                   "/etc/systemd/system/evil.service");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (finding, "threat"),
                                   "Vigil.Lab.Planted"));
}

/* A loopback port where nothing listens. */
static guint16
closed_port (void)
{
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (sock, addr, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_source_down_fails_and_starts_nothing (Fx *f, gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/vigil-lab.hdb", closed_port ());
  g_autofree char *scan = NULL;
  g_autofree char *update = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (JsonArray) scan_runs = NULL;
  g_autoptr (JsonArray) events = NULL;
  JsonObject *run;
  const char *why;

  apply_source (f, url);
  open_host (f);
  scan = create_ok (f, "epp.critical_scan", "{}", "{\"kind\":\"after_update\"}");
  update = create_ok (f, "epp.update", "{}", "{\"kind\":\"manual\"}");
  runs = vigil_host_run_task (f->host, update, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  run = json_array_get_object_element (runs, 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "failed");
  why = json_object_get_string_member (run, "error");
  g_assert_nonnull (strstr (why, "database update from the custom source failed"));
  g_assert_nonnull (strstr (why, url));
  scan_runs = runs_of (f, scan);
  g_assert_cmpuint (json_array_get_length (scan_runs), ==, 0);
  events = vigil_host_events (f->host, 0, "host.database_updated", NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (events), ==, 0);
}

static void
test_bad_url_refused_at_creation (Fx *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  open_host (f);
  id = create (f, "epp.update",
               "{\"source\":\"custom\",\"custom_urls\":[\"ftp://sigs.lan/lab.hdb\"]}",
               "{\"kind\":\"manual\"}", &error);
  g_assert_null (id);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "custom_urls[0]"));
  g_assert_nonnull (strstr (error->message, "ftp://sigs.lan/lab.hdb"));
  g_clear_error (&error);
  id = create (f, "epp.update", "{\"source\":\"nearby\"}", NULL, &error);
  g_assert_null (id);
  g_assert_nonnull (strstr (error->message, "source"));
}

int
main (int argc, char **argv)
{
  g_autofree char *freshclam = g_find_program_in_path ("freshclam");
  g_autofree char *clamscan = g_find_program_in_path ("clamscan");

  g_test_init (&argc, &argv, NULL);
  if (freshclam == NULL || clamscan == NULL)
    g_error ("freshclam and clamscan are needed (Debian packages clamav, clamav-freshclam; "
             "scripts/deps.sh)");
#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)
  ADD ("/epp-host/update/fires-after-update-scan", test_update_fires_after_update_scan);
  ADD ("/epp-host/update/source-down-fails-and-starts-nothing",
       test_source_down_fails_and_starts_nothing);
  ADD ("/epp-host/update/bad-url-refused-at-creation", test_bad_url_refused_at_creation);
  return g_test_run ();
}
