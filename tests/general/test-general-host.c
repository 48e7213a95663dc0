/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `general` section in the real host: policies applied with the `vigil`
 * CLI, then a host opened on the same state folder. Trace files follow the
 * failure diagnosis settings and really rotate; the proxy and telemetry
 * exclusions follow each device's policy through the host API that plugins
 * call; password protection reads the password from VIGIL_PASSWORD_FD.
 */
#include "host-private.h"
#include "vt-cli.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct {
  char      *dir;
  char      *state;
  VigilHost *host;
} Fx;

static void
setup (Fx *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-general-host-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  vt_cli_ok (f->state, "device", "add", "here", "--group", "root", NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  g_clear_pointer (&f->host, vigil_host_free);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
}

static void
apply (Fx *f, const char *group, const char *general_json)
{
  g_autofree char *doc = g_strdup_printf (
    "{\"name\":\"P-%s\",\"group\":\"%s\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,%s}}}", group, group, general_json);
  g_autofree char *path = g_build_filename (f->dir, "policy.json", NULL);

  g_assert_true (g_file_set_contents (path, doc, -1, NULL));
  vt_cli_ok (f->state, "policy", "apply", path, NULL);
}

static VigilHost *
open_host (Fx *f)
{
  VigilHostOptions options = { sizeof options, .state_dir = f->state, .skip_install_dir = TRUE };
  g_autoptr (GError) error = NULL;

  f->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  return f->host;
}

/* ------------------------------------------------------------------ */
/* Trace files                                                         */
/* ------------------------------------------------------------------ */

static goffset
file_size (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  return g_stat (path, &st) == 0 ? st.st_size : -1;
}

static void
test_trace_files_rotate (Fx *f, gconstpointer data)
{
  g_autofree char *traces = g_build_filename (f->dir, "traces", NULL);
  g_autofree char *json = g_strdup_printf ("\"failure_diagnosis\":{\"locked\":true,\"values\":"
                                           "{\"enabled\":true,\"folder\":\"%s\","
                                           "\"max_file_size_mb\":1,\"max_files\":2}}", traces);
  g_autofree char *line = g_strnfill (1000, 'x');
  g_autofree char *content = NULL;
  VigilHost *host;

  g_assert_cmpint (g_mkdir (traces, 0700), ==, 0);
  apply (f, "root", json);
  host = open_host (f);
  /* About 2.5 MB of debug lines: three files' worth with two allowed. */
  for (int i = 0; i < 2500; i++)
    vh_log (host, "test", G_LOG_LEVEL_DEBUG, line);
  vh_log (host, "test", G_LOG_LEVEL_DEBUG, "via http://svc:Pr0xy-S3cret@proxy.corp:8080 done");
  g_assert_cmpint (file_size (traces, "vigil.log"), >, 0);
  g_assert_cmpint (file_size (traces, "vigil.log"), <=, 1024 * 1024);
  g_assert_cmpint (file_size (traces, "vigil.1.log"), >, 1024 * 1024 - 1100);
  g_assert_cmpint (file_size (traces, "vigil.1.log"), <=, 1024 * 1024);
  g_assert_cmpint (file_size (traces, "vigil.2.log"), ==, -1);
  {
    g_autofree char *path = g_build_filename (traces, "vigil.log", NULL);

    g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
  }
  g_assert_nonnull (strstr (content, "DEBUG [test] via http://svc:********@proxy.corp:8080 done"));
  g_assert_null (strstr (content, "Pr0xy-S3cret"));
}

static void
test_trace_off_by_default (Fx *f, gconstpointer data)
{
  g_autofree char *traces = g_build_filename (f->dir, "traces", NULL);
  g_autofree char *json = g_strdup_printf ("\"failure_diagnosis\":{\"values\":"
                                           "{\"enabled\":false,\"folder\":\"%s\"}}", traces);
  VigilHost *host;

  g_assert_cmpint (g_mkdir (traces, 0700), ==, 0);
  apply (f, "root", json);
  host = open_host (f);
  vh_log (host, "test", G_LOG_LEVEL_WARNING, "not traced");
  g_assert_cmpint (file_size (traces, "vigil.log"), ==, -1);
}

/* ------------------------------------------------------------------ */
/* Proxy and exclusions per device                                     */
/* ------------------------------------------------------------------ */

static void
test_proxy_per_device (Fx *f, gconstpointer data)
{
  VigilHost *host;
  g_autoptr (GError) error = NULL;
  g_autofree char *lab = NULL;
  g_autofree char *here = NULL;
  g_autofree char *local = NULL;

  vt_cli_ok (f->state, "group", "add", "lab", NULL);
  vt_cli_ok (f->state, "device", "add", "pc1", "--group", "lab", NULL);
  apply (f, "lab", "\"proxy\":{\"locked\":true,\"values\":{\"mode\":\"manual\","
                   "\"address\":\"proxy.lab\",\"port\":3128,\"bypass_local\":true}}");
  host = open_host (f);
  lab = vh_api ()->resolve_proxy (vh_registry_host_plugin (host), "pc1",
                                  "https://ksn.example.com/", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lab, ==, "http://proxy.lab:3128");
  local = vh_general_resolve_proxy (host, "pc1", "https://10.1.1.1/", &error);
  g_assert_no_error (error);
  g_assert_null (local);
  here = vh_general_resolve_proxy (host, "here", "https://ksn.example.com/", &error);
  g_assert_no_error (error);
  g_assert_null (here);
}

static gboolean
excluded (VigilHost *host, const char *device, const char *type, const char *payload_json)
{
  g_autoptr (JsonNode) payload = json_from_string (payload_json, NULL);
  VigilEvent event = { sizeof event, "e1", type, device, 0, 1,
                       json_node_get_object (payload), "test" };

  return vh_api ()->telemetry_excluded (vh_registry_host_plugin (host), &event);
}

static void
test_exclusions_per_device (Fx *f, gconstpointer data)
{
  const char *backup = "{\"image\":\"/opt/backup/bin/run\",\"user\":\"backup\",\"sha256\":\"00\",\"cmdline\":\"run\"}";
  VigilHost *host;

  vt_cli_ok (f->state, "group", "add", "servers", NULL);
  vt_cli_ok (f->state, "device", "add", "srv1", "--group", "servers", NULL);
  apply (f, "servers", "\"telemetry_exclusions\":{\"locked\":true,\"values\":{\"use_exclusions\":true,"
                       "\"processes\":[{\"image\":\"/opt/backup/*\"}]}}");
  host = open_host (f);
  g_assert_true (excluded (host, "srv1", "process.started", backup));
  g_assert_false (excluded (host, "here", "process.started", backup));
  g_assert_false (excluded (host, "srv1", "sandbox.threat_detected", backup));
}

static void
test_settings_follow_policy_changes (Fx *f, gconstpointer data)
{
  const char *backup = "{\"image\":\"/opt/backup/bin/run\"}";
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  VigilHost *host;

  apply (f, "root", "\"telemetry_exclusions\":{\"values\":{\"use_exclusions\":false}}");
  host = open_host (f);
  g_assert_false (excluded (host, "here", "process.started", backup));
  before = vh_general_resolve_proxy (host, "here", "https://ksn.example.com/", &error);
  g_assert_null (before);
  /* A running host sees a policy applied by another `vigil` process. */
  apply (f, "root", "\"telemetry_exclusions\":{\"values\":{\"use_exclusions\":true,"
                    "\"processes\":[{\"image\":\"/opt/backup/*\"}]}},"
                    "\"proxy\":{\"values\":{\"mode\":\"manual\",\"address\":\"p.corp\"}}");
  g_assert_true (excluded (host, "here", "process.started", backup));
  after = vh_general_resolve_proxy (host, "here", "https://ksn.example.com/", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, "http://p.corp:8080");
}

/* ------------------------------------------------------------------ */
/* Password protection in the host                                     */
/* ------------------------------------------------------------------ */

static void
with_password_fd (const char *password)
{
  int fds[2];
  g_autofree char *line = g_strconcat (password, "\n", NULL);
  g_autofree char *fd_text = NULL;

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], line, strlen (line)), ==, (gssize) strlen (line));
  close (fds[1]);
  fd_text = g_strdup_printf ("%d", fds[0]);
  g_setenv ("VIGIL_PASSWORD_FD", fd_text, TRUE);
}

static void
end_password_fd (void)
{
  int fd = atoi (g_getenv ("VIGIL_PASSWORD_FD"));

  close (fd);
  g_unsetenv ("VIGIL_PASSWORD_FD");
}

static void
test_protect_check (Fx *f, gconstpointer data)
{
  g_autofree char *policy = g_build_filename (f->dir, "pw.json", NULL);
  g_auto (VtCli) set = { 0 };
  g_autoptr (GError) error = NULL;
  VigilHost *host;

  g_assert_true (g_file_set_contents (policy, "{\"name\":\"PW\",\"group\":\"root\","
                                      "\"status\":\"active\",\"settings\":{}}", -1, NULL));
  vt_cli_run (&set, f->state, "Tr1cky-Secret", NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  g_assert_cmpint (set.status, ==, 0);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  host = open_host (f);

  with_password_fd ("Tr1cky-Secret");
  g_assert_true (vh_protect_check (host, "task.delete", &error));
  g_assert_no_error (error);
  end_password_fd ();

  with_password_fd ("tr1cky-secret");
  g_assert_false (vh_protect_check (host, "task.delete", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "wrong password"));
  end_password_fd ();
  g_clear_error (&error);

  g_setenv ("VIGIL_PASSWORD_FD", "not-a-number", TRUE);
  g_assert_false (vh_protect_check (host, "task.delete", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_unsetenv ("VIGIL_PASSWORD_FD");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PASSWORD_FD");
  g_unsetenv ("VIGIL_LOCAL_DEVICE");
#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)
  ADD ("/general/host/trace-files-rotate", test_trace_files_rotate);
  ADD ("/general/host/trace-off-by-default", test_trace_off_by_default);
  ADD ("/general/host/proxy-per-device", test_proxy_per_device);
  ADD ("/general/host/exclusions-per-device", test_exclusions_per_device);
  ADD ("/general/host/settings-follow-policy-changes", test_settings_follow_policy_changes);
  ADD ("/general/host/protect-check", test_protect_check);
#undef ADD
  return g_test_run ();
}
