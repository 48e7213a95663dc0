/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the endpoint protection adapter: the critical areas of lab
 * devices and of this machine, the parser of clamscan's report, and real
 * scans with clamscan and a signature database made here (an .hdb MD5
 * signature of a planted file; no network, no official signatures), and
 * the database update: the checks of sources, and freshclam fetching
 * custom signature files from a loopback HTTP server started here, then a
 * scan with what it installed.
 */
#include <glib/gstdio.h>
#include <unistd.h>

#include "epp-engine.h"
#include "vt-cli.h"
#include "epp-test-http.h"

static char *
make_tmp (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("vigil-epp-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
put_file (const char *root, const char *rel, const char *content)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
}

static gboolean
has_path (const VpAreas *areas, const char *root, const char *device_path)
{
  g_autofree char *p = g_build_filename (root, device_path, NULL);

  for (guint i = 0; i < areas->paths->len; i++)
    if (g_strcmp0 (areas->paths->pdata[i], p) == 0)
      return TRUE;
  return FALSE;
}

static const char planted[] = "X5O-vigil-test-planted-object\n";

/* A lab device with startup objects, one of them the planted file, and a
 * signature database that detects exactly that file. */
static char *
make_lab_device (char **db_out)
{
  char *tmp = make_tmp ();
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, planted, -1);
  g_autofree char *sig = g_strdup_printf ("%s:%zu:Vigil.Test.Planted\n", md5, strlen (planted));

  put_file (root, "boot/vmlinuz-6.1.0", "kernel image");
  put_file (root, "etc/cron.d/backup", "0 3 * * * root /usr/local/bin/backup\n");
  put_file (root, "etc/systemd/system/evil.service", planted);
  put_file (root, "home/alice/.bashrc", "alias ll='ls -l'\n");
  put_file (root, "home/alice/Documents/report.txt", planted);
  put_file (tmp, "test.hdb", sig);
  *db_out = g_build_filename (tmp, "test.hdb", NULL);
  return tmp;
}

static void
clamscan_config (VpConfig *config, const char *db)
{
  memset (config, 0, sizeof *config);
  config->product = VP_PRODUCT_CLAMAV;
  config->command = g_strdup ("clamscan");
  config->args = g_new0 (char *, 2);
  config->args[0] = g_strdup_printf ("--database=%s", db);
  config->timeout_sec = 120;
}

static gboolean
need_clamscan (void)
{
  g_autofree char *p = g_find_program_in_path ("clamscan");

  if (p == NULL)
    g_test_skip ("clamscan is not installed (Debian package clamav)");
  return p != NULL;
}

/* ---- parser ------------------------------------------------------------ */

static const char report_text[] =
  "/lab/pc1/etc/cron.d/evil: Vigil.Test.Planted.UNOFFICIAL FOUND\n"
  "/lab/pc1/home/alice/a: b.sh: Eicar-Signature FOUND\n"
  "/lab/pc1/etc/shadow: Can't open file ERROR\n"
  "\n"
  "----------- SCAN SUMMARY -----------\n"
  "Known viruses: 1\n"
  "Engine version: 1.4.6\n"
  "Scanned files: 12\n"
  "Infected files: 2\n"
  "Total errors: 1\n";

static void
test_parse_found_lines_and_summary (void)
{
  VpReport r = { 0 };
  JsonObject *f;

  vp_report_parse (&r, report_text, strlen (report_text), "/lab/pc1", "clamscan");
  g_assert_true (r.has_summary);
  g_assert_cmpuint (json_array_get_length (r.findings), ==, 2);
  f = json_array_get_object_element (r.findings, 0);
  g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, "/etc/cron.d/evil");
  g_assert_cmpstr (json_object_get_string_member (f, "threat"), ==, "Vigil.Test.Planted.UNOFFICIAL");
  g_assert_cmpstr (json_object_get_string_member (f, "engine"), ==, "ClamAV 1.4.6");
  g_assert_cmpint (json_object_get_int_member (r.summary, "scanned_files"), ==, 12);
  g_assert_cmpint (json_object_get_int_member (r.summary, "infected_files"), ==, 2);
  vp_report_clear (&r);
}

static void
test_parse_path_with_colon_space (void)
{
  VpReport r = { 0 };
  JsonObject *f;

  vp_report_parse (&r, report_text, strlen (report_text), "/lab/pc1", "clamscan");
  f = json_array_get_object_element (r.findings, 1);
  g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, "/home/alice/a: b.sh");
  g_assert_cmpstr (json_object_get_string_member (f, "threat"), ==, "Eicar-Signature");
  vp_report_clear (&r);
}

static void
test_parse_error_lines (void)
{
  VpReport r = { 0 };
  JsonObject *e;

  vp_report_parse (&r, report_text, strlen (report_text), "/lab/pc1", "clamscan");
  g_assert_cmpuint (json_array_get_length (r.errors), ==, 1);
  e = json_array_get_object_element (r.errors, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "path"), ==, "/etc/shadow");
  g_assert_cmpstr (json_object_get_string_member (e, "message"), ==, "Can't open file");
  vp_report_clear (&r);
}

static void
test_parse_without_summary_keeps_engine_name (void)
{
  const char text[] = "/x/y: Bad.Thing FOUND\n";
  VpReport r = { 0 };

  vp_report_parse (&r, text, strlen (text), "/", "my-scanner");
  g_assert_false (r.has_summary);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (r.findings, 0),
                                                  "engine"), ==, "my-scanner");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (r.findings, 0),
                                                  "path"), ==, "/x/y");
  vp_report_clear (&r);
}

/* ---- critical areas ------------------------------------------------------ */

static void
test_areas_lab_device (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = make_lab_device (&db);
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  VpAreas a = { 0 };

  vp_areas_collect (root, &a);
  g_assert_true (has_path (&a, root, "/boot"));
  g_assert_true (has_path (&a, root, "/etc/cron.d"));
  g_assert_true (has_path (&a, root, "/etc/systemd/system"));
  g_assert_true (has_path (&a, root, "/home/alice/.bashrc"));
  /* Documents are no critical area; missing areas are not listed. */
  g_assert_false (has_path (&a, root, "/home/alice/Documents"));
  g_assert_false (has_path (&a, root, "/etc/init.d"));
  /* No kernel and no processes of its own. */
  g_assert_cmpuint (json_array_get_length (a.skipped), ==, 2);
  vp_areas_clear (&a);
  vt_rm_rf (tmp);
}

static void
test_areas_symlink_out_of_root_skipped (void)
{
  g_autofree char *outside = make_tmp ();
  g_autofree char *root = make_tmp ();
  g_autofree char *etc = g_build_filename (root, "etc", NULL);
  g_autofree char *link = g_build_filename (etc, "cron.d", NULL);
  VpAreas a = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (etc, 0755), ==, 0);
  g_assert_cmpint (symlink (outside, link), ==, 0);
  vp_areas_collect (root, &a);
  g_assert_false (has_path (&a, root, "/etc/cron.d"));
  for (guint i = 0; i < a.paths->len; i++)
    g_assert_true (g_str_has_prefix (a.paths->pdata[i], root));
  vp_areas_clear (&a);
  vt_rm_rf (root);
  vt_rm_rf (outside);
}

static void
test_areas_machine_includes_running_executables (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *real = realpath (self, NULL);
  VpAreas a = { 0 };
  gboolean found = FALSE;

  vp_areas_collect ("/", &a);
  for (guint i = 0; i < a.paths->len; i++)
    found |= g_strcmp0 (a.paths->pdata[i], self) == 0
             || g_strcmp0 (a.paths->pdata[i], real) == 0;
  /* Our own executable is running, so it is a critical area; unless its
   * path has a symlinked folder, which the collector skips by design. */
  if (g_strcmp0 (self, real) == 0)
    g_assert_true (found);
  vp_areas_clear (&a);
}

/* ---- real scans ---------------------------------------------------------- */

static void
test_scan_clamscan_finds_planted_file (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *root = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpConfig config;
  VpAreas a = { 0 };
  JsonArray *findings;
  JsonObject *f;

  if (!need_clamscan ())
    return;
  tmp = make_lab_device (&db);
  root = g_build_filename (tmp, "root", NULL);
  clamscan_config (&config, db);
  vp_areas_collect (root, &a);
  r = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_no_error (error);
  findings = json_object_get_array_member (r, "findings");
  /* The copy in Documents is outside the critical areas: not scanned. */
  g_assert_cmpuint (json_array_get_length (findings), ==, 1);
  f = json_array_get_object_element (findings, 0);
  g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, "/etc/systemd/system/evil.service");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (f, "threat"), "Vigil.Test.Planted"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (f, "engine"), "ClamAV "));
  g_assert_cmpint (json_object_get_int_member (r, "exit_status"), ==, 1);
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (tmp);
}

static void
test_scan_clean_device_no_findings (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *evil = NULL;
  g_autofree char *root = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpConfig config;
  VpAreas a = { 0 };

  if (!need_clamscan ())
    return;
  tmp = make_lab_device (&db);
  root = g_build_filename (tmp, "root", NULL);
  evil = g_build_filename (root, "etc/systemd/system/evil.service", NULL);
  g_assert_cmpint (g_unlink (evil), ==, 0);
  clamscan_config (&config, db);
  vp_areas_collect (root, &a);
  r = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r, "findings")), ==, 0);
  g_assert_cmpint (json_object_get_int_member (r, "exit_status"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (r, "summary"),
                                               "scanned_files"), >=, 3);
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (tmp);
}

static void
test_scan_missing_product_fails_clearly (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = make_lab_device (&db);
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpConfig config;
  VpAreas a = { 0 };

  clamscan_config (&config, db);
  g_free (config.command);
  config.command = g_strdup ("/nonexistent/bin/clamscan");
  vp_areas_collect (root, &a);
  r = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/bin/clamscan"));
  g_assert_nonnull (strstr (error->message, "not installed"));
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (tmp);
}

static void
test_scan_without_database_fails_with_message (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *root = NULL;
  g_autofree char *empty = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpConfig config;
  VpAreas a = { 0 };

  if (!need_clamscan ())
    return;
  tmp = make_lab_device (&db);
  root = g_build_filename (tmp, "root", NULL);
  empty = g_build_filename (tmp, "empty-db", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  clamscan_config (&config, empty);
  vp_areas_collect (root, &a);
  r = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "exit status 2"));
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (tmp);
}

/* A "command" product: a script in clamscan's output format. */
static void
script_config (VpConfig *config, const char *script, guint timeout_sec)
{
  memset (config, 0, sizeof *config);
  config->product = VP_PRODUCT_COMMAND;
  config->command = g_strdup ("/bin/sh");
  config->args = g_strsplit_set ("-c|", "|", -1);
  g_free (config->args[1]);
  config->args[1] = g_strdup (script);
  config->timeout_sec = timeout_sec;
}

static void
test_scan_command_product_output_parsed (void)
{
  g_autofree char *root = make_tmp ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpConfig config;
  VpAreas a = { 0 };
  JsonObject *f;

  put_file (root, "etc/rc.local", "#!/bin/sh\n");
  script_config (&config, "echo \"$0: Custom.Threat FOUND\"; exit 1", 60);
  vp_areas_collect (root, &a);
  r = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (r, "product"), ==, "command");
  f = json_array_get_object_element (json_object_get_array_member (r, "findings"), 0);
  g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, "/etc/rc.local");
  g_assert_cmpstr (json_object_get_string_member (f, "threat"), ==, "Custom.Threat");
  g_assert_cmpstr (json_object_get_string_member (f, "engine"), ==, "sh");
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (root);
}

static void
test_scan_timeout_stops_command (void)
{
  g_autofree char *root = make_tmp ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpConfig config;
  VpAreas a = { 0 };

  put_file (root, "etc/rc.local", "#!/bin/sh\n");
  script_config (&config, "exec sleep 600", 1);
  vp_areas_collect (root, &a);
  r = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "timeout_sec"));
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (root);
}

typedef struct {
  char         *marker;
  GCancellable *cancellable;
} CancelWatch;

/* Cancels once the child has written its marker: no timing involved. */
static gpointer
cancel_when_started (gpointer data)
{
  CancelWatch *w = data;

  while (!g_file_test (w->marker, G_FILE_TEST_EXISTS))
    g_usleep (10000);
  g_cancellable_cancel (w->cancellable);
  return NULL;
}

static void
test_scan_cancel_stops_command (void)
{
  g_autofree char *root = make_tmp ();
  g_autofree char *script = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  CancelWatch w = { g_build_filename (root, "started", NULL), cancellable };
  GThread *t;
  VpConfig config;
  VpAreas a = { 0 };

  put_file (root, "etc/rc.local", "#!/bin/sh\n");
  script = g_strdup_printf ("touch '%s'; exec sleep 600", w.marker);
  script_config (&config, script, 600);
  vp_areas_collect (root, &a);
  t = g_thread_new ("canceller", cancel_when_started, &w);
  r = vp_critical_scan (&config, root, &a, cancellable, &error);
  g_thread_join (t);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_free (w.marker);
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vt_rm_rf (root);
}

static void
test_config_from_settings (void)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  VpConfig c;
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (p, "{\"product\":{\"product\":\"command\",\"command\":\"/opt/av/scan\","
                                 "\"args\":[\"-q\"],\"timeout_sec\":60}}", -1, &error);
  g_assert_no_error (error);
  g_assert_true (vp_config_from_settings (&c, json_node_get_object (json_parser_get_root (p)), &error));
  g_assert_cmpint (c.product, ==, VP_PRODUCT_COMMAND);
  g_assert_cmpstr (c.command, ==, "/opt/av/scan");
  g_assert_cmpstr (c.args[0], ==, "-q");
  g_assert_null (c.args[1]);
  g_assert_cmpuint (c.timeout_sec, ==, 60);
  vp_config_clear (&c);
}

/* ---- database update ------------------------------------------------------ */

static void
test_update_url_checks (void)
{
  static const char *const good[] = {
    "http://127.0.0.1:8080/sigs/lab.hdb", "https://sigs.example.org/x.ndb",
    "file:///srv/lab/clamav/lab.hdb", NULL,
  };
  static const char *const bad[] = {
    "ftp://sigs.example.org/x.hdb", "http://sigs.example.org/readme.txt",
    "http://sigs.example.org/x.hdb\nDatabaseMirror evil.example", "x.hdb",
    "http://user:pw@sigs.example.org/x.hdb", "http:///x.hdb", "",
    "file://sigs.lan/x.hdb", "file:///srv/../etc/x.hdb", "file:x.hdb", NULL,
  };

  for (guint i = 0; good[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (vp_update_check_url (good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (vp_update_check_url (bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (vp_update_check_mirror ("mirror.lan:8080", NULL));
  g_assert_true (vp_update_check_mirror ("http://10.0.0.5/clamav", NULL));
  g_assert_false (vp_update_check_mirror ("mirror.lan\nPrivateMirror x", NULL));
  g_assert_false (vp_update_check_mirror ("", NULL));
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (JsonNode) node = json_from_string (text, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static void
test_update_config_load (void)
{
  g_autoptr (JsonObject) custom = parse_object ("{\"update\":{\"source\":\"custom\"}}");
  g_autoptr (JsonObject) defaults = parse_object ("{}");
  g_autoptr (JsonObject) bad = parse_object ("{\"custom_urls\":[\"http://a.lan/x.hdb\",\"gopher://b/x.hdb\"]}");
  g_autoptr (JsonObject) params = parse_object ("{\"source\":\"custom\",\"custom_urls\":[\"http://a.lan/x.hdb\"]}");
  g_autoptr (GError) error = NULL;
  VpUpdateConfig c;

  g_assert_false (vp_update_config_load (&c, custom, NULL, &error));
  g_assert_nonnull (strstr (error->message, "no URL"));
  vp_update_config_clear (&c);
  g_clear_error (&error);
  g_assert_false (vp_update_config_load (&c, defaults, bad, &error));
  g_assert_nonnull (strstr (error->message, "custom_urls[1]"));
  g_assert_nonnull (strstr (error->message, "gopher://b/x.hdb"));
  vp_update_config_clear (&c);
  g_clear_error (&error);
  g_assert_true (vp_update_config_load (&c, defaults, params, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.source, ==, VP_SOURCE_CUSTOM);
  g_assert_cmpstr (c.custom_urls[0], ==, "http://a.lan/x.hdb");
  g_assert_cmpuint (c.attempts, ==, 3);
  g_assert_true (c.use_proxy);
  vp_update_config_clear (&c);
  g_assert_true (vp_update_config_load (&c, defaults, NULL, &error));
  g_assert_cmpint (c.source, ==, VP_SOURCE_OFFICIAL);
  vp_update_config_clear (&c);
}

static gboolean
need_freshclam (void)
{
  g_autofree char *p = g_find_program_in_path ("freshclam");

  if (p == NULL)
    g_test_fail_printf ("freshclam is not installed (Debian package clamav-freshclam, "
                        "scripts/deps.sh)");
  return p != NULL;
}

static void
custom_update_config (VpUpdateConfig *c, const char *url)
{
  memset (c, 0, sizeof *c);
  c->source = VP_SOURCE_CUSTOM;
  c->mirrors = g_new0 (char *, 1);
  c->custom_urls = g_new0 (char *, 2);
  c->custom_urls[0] = g_strdup (url);
  c->attempts = 1;
  c->timeout_sec = 120;
}

static JsonObject *
only_change (JsonObject *r)
{
  JsonArray *changes = json_object_get_array_member (r, "changes");

  g_assert_cmpuint (json_array_get_length (changes), ==, 1);
  return json_array_get_object_element (changes, 0);
}

static void
test_update_custom_url_then_scan (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *root = NULL;
  g_autofree char *www = NULL;
  g_autofree char *db_dir = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *url = NULL;
  g_autofree char *sigs = NULL;
  g_autofree char *two = NULL;
  g_autoptr (EtHttp) http = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r1 = NULL;
  g_autoptr (JsonObject) r2 = NULL;
  g_autoptr (JsonObject) r3 = NULL;
  g_autoptr (JsonObject) scan = NULL;
  VpUpdateConfig uc;
  VpConfig config;
  VpAreas a = { 0 };
  JsonObject *ch, *f;

  if (!need_freshclam () || !need_clamscan ())
    return;
  tmp = make_lab_device (&db);
  root = g_build_filename (tmp, "root", NULL);
  www = g_build_filename (tmp, "www", NULL);
  db_dir = g_build_filename (tmp, "databases", "pc1", NULL);
  conf = g_build_filename (tmp, "freshclam.conf", NULL);
  g_assert_true (g_file_get_contents (db, &sigs, NULL, NULL));
  put_file (www, "vigil-lab.hdb", sigs);
  http = et_http_start (www);
  url = et_http_url (http, "vigil-lab.hdb");
  custom_update_config (&uc, url);

  r1 = vp_update_run (&uc, db_dir, conf, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (et_http_served (http), >=, 1);
  g_assert_true (json_object_get_boolean_member (r1, "changed"));
  g_assert_cmpstr (json_object_get_string_member (r1, "source"), ==, "custom");
  ch = only_change (r1);
  g_assert_cmpstr (json_object_get_string_member (ch, "file"), ==, "vigil-lab.hdb");
  g_assert_cmpstr (json_object_get_string_member (ch, "change"), ==, "added");
  g_assert_cmpint (json_object_get_int_member (ch, "signatures_after"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (r1, "signatures_before"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (r1, "signatures_after"), ==, 1);
  g_assert_true (vp_database_present (db_dir));

  /* The same file again: nothing changed. */
  r2 = vp_update_run (&uc, db_dir, conf, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (r2, "changed"));

  /* One more signature on the server: updated, 1 -> 2. */
  two = g_strdup_printf ("%s%s:4:Vigil.Test.Other\n", sigs,
                         "0123456789abcdef0123456789abcdef");
  put_file (www, "vigil-lab.hdb", two);
  r3 = vp_update_run (&uc, db_dir, conf, NULL, NULL, &error);
  g_assert_no_error (error);
  ch = only_change (r3);
  g_assert_cmpstr (json_object_get_string_member (ch, "change"), ==, "updated");
  g_assert_cmpint (json_object_get_int_member (ch, "signatures_before"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (ch, "signatures_after"), ==, 2);

  /* The scan with the installed database finds the planted object. */
  memset (&config, 0, sizeof config);
  config.product = VP_PRODUCT_CLAMAV;
  config.command = g_strdup ("clamscan");
  config.timeout_sec = 120;
  config.database = g_strdup (db_dir);
  vp_areas_collect (root, &a);
  scan = vp_critical_scan (&config, root, &a, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (scan, "findings")), ==, 1);
  f = json_array_get_object_element (json_object_get_array_member (scan, "findings"), 0);
  g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, "/etc/systemd/system/evil.service");
  vp_areas_clear (&a);
  vp_config_clear (&config);
  vp_update_config_clear (&uc);
  vt_rm_rf (tmp);
}

/* A folder source (file:///): the same update without a server. */
static void
test_update_from_folder (void)
{
  g_autofree char *db = NULL;
  g_autofree char *tmp = NULL;
  g_autofree char *db_dir = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *url = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpUpdateConfig uc;

  if (!need_freshclam ())
    return;
  tmp = make_lab_device (&db);
  db_dir = g_build_filename (tmp, "databases", "pc1", NULL);
  conf = g_build_filename (tmp, "freshclam.conf", NULL);
  url = g_strdup_printf ("file://%s", db);
  custom_update_config (&uc, url);
  r = vp_update_run (&uc, db_dir, conf, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (only_change (r), "file"), ==, "test.hdb");
  g_assert_cmpint (json_object_get_int_member (r, "signatures_after"), ==, 1);
  vp_update_config_clear (&uc);
  vt_rm_rf (tmp);
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
test_update_source_down_fails (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *db_dir = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *url = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  VpUpdateConfig uc;

  if (!need_freshclam ())
    return;
  tmp = make_tmp ();
  db_dir = g_build_filename (tmp, "db", NULL);
  conf = g_build_filename (tmp, "freshclam.conf", NULL);
  url = g_strdup_printf ("http://127.0.0.1:%u/vigil-lab.hdb", closed_port ());
  custom_update_config (&uc, url);
  r = vp_update_run (&uc, db_dir, conf, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "custom source failed"));
  g_assert_nonnull (strstr (error->message, url));
  g_assert_false (vp_database_present (db_dir));
  vp_update_config_clear (&uc);
  vt_rm_rf (tmp);
}

static void
test_update_config_file_has_proxy_and_no_system_paths (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autofree char *conf = g_build_filename (tmp, "fc.conf", NULL);
  g_autofree char *db_dir = g_build_filename (tmp, "db", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *lab_dir = NULL;
  VpUpdateConfig uc;
  GStatBuf st;

  /* An updater that only proves it ran: the config is what is checked. */
  custom_update_config (&uc, "http://127.0.0.1:9/x.hdb");
  uc.updater = g_strdup ("/bin/true");
  r = vp_update_run (&uc, db_dir, conf, "http://bob:s3cret@proxy.lan:3128", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (conf, &text, NULL, NULL));
  g_assert_cmpint (g_stat (conf, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_nonnull (strstr (text, "HTTPProxyServer http://proxy.lan\nHTTPProxyPort 3128\n"));
  g_assert_nonnull (strstr (text, "HTTPProxyPassword s3cret\n"));
  g_assert_nonnull (strstr (text, "ExcludeDatabase daily\n"));
  g_assert_null (strstr (text, "/var/lib/clamav"));
  g_assert_true (json_object_get_boolean_member (r, "proxy"));
  node = json_node_init_object (json_node_alloc (), r);
  shown = json_to_string (node, FALSE);
  g_assert_null (strstr (shown, "s3cret"));
  lab_dir = vp_update_database_dir ("/d", "pc1", "/srv/lab/pc1");
  g_assert_cmpstr (lab_dir, ==, "/d/databases/pc1");
  vp_update_config_clear (&uc);
  vt_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/epp/parse/found-lines-and-summary", test_parse_found_lines_and_summary);
  g_test_add_func ("/epp/parse/path-with-colon-space", test_parse_path_with_colon_space);
  g_test_add_func ("/epp/parse/error-lines", test_parse_error_lines);
  g_test_add_func ("/epp/parse/without-summary-keeps-engine-name", test_parse_without_summary_keeps_engine_name);
  g_test_add_func ("/epp/areas/lab-device-startup-objects", test_areas_lab_device);
  g_test_add_func ("/epp/areas/symlink-out-of-root-skipped", test_areas_symlink_out_of_root_skipped);
  g_test_add_func ("/epp/areas/machine-includes-running-executables", test_areas_machine_includes_running_executables);
  g_test_add_func ("/epp/config/from-settings", test_config_from_settings);
  g_test_add_func ("/epp/scan/clamscan-finds-planted-file", test_scan_clamscan_finds_planted_file);
  g_test_add_func ("/epp/scan/clean-device-no-findings", test_scan_clean_device_no_findings);
  g_test_add_func ("/epp/scan/missing-product-fails-clearly", test_scan_missing_product_fails_clearly);
  g_test_add_func ("/epp/scan/without-database-fails-with-message", test_scan_without_database_fails_with_message);
  g_test_add_func ("/epp/scan/command-product-output-parsed", test_scan_command_product_output_parsed);
  g_test_add_func ("/epp/scan/timeout-stops-command", test_scan_timeout_stops_command);
  g_test_add_func ("/epp/scan/cancel-stops-command", test_scan_cancel_stops_command);
  g_test_add_func ("/epp/update/url-checks", test_update_url_checks);
  g_test_add_func ("/epp/update/config-load", test_update_config_load);
  g_test_add_func ("/epp/update/custom-url-then-scan", test_update_custom_url_then_scan);
  g_test_add_func ("/epp/update/source-down-fails", test_update_source_down_fails);
  g_test_add_func ("/epp/update/from-folder", test_update_from_folder);
  g_test_add_func ("/epp/update/config-file-proxy-no-system-paths",
                   test_update_config_file_has_proxy_and_no_system_paths);
  return g_test_run ();
}
