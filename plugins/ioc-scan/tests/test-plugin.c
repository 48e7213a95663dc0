/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin through the real host: each case runs the built `vigil` CLI
 * as a child process on a fresh state folder, with a lab device whose root
 * is a scratch folder, and checks task results, `ioc.found` events, the
 * actions on detection, the `vigil ioc` commands' output and exit codes,
 * and the exported ZIP as an admin would see them.
 *   test-plugin PLUGINS_BUILD_DIR
 */
#include "ioc-test-util.h"
#include "vt-cli.h"

#include <stdlib.h>
#include <string.h>

static const char *plugins_dir;

typedef struct {
  char *base, *state, *root;
  gboolean all_plugins;   /* load every plugin, not just ioc-scan */
} Lab;

/* Runs the built CLI with ioc-scan's plugin folder (and, for a lab with
 * all_plugins, quarantine's and epp's) and nothing from the environment;
 * @out and @err (may be NULL) take its output. Returns the exit code. */
static int
vigil (Lab *lab, char **out, char **err, ...)
{
  static const char *const no_plugin_path[] = { "VIGIL_PLUGIN_PATH", NULL };
  const char *ids[] = { "ioc-scan", "quarantine", "epp", NULL };
  VtCliSpawn how = { NULL, NULL, no_plugin_path };
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_auto (VtCli) r = { 0 };
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, g_strdup ("--state-dir"));
  g_ptr_array_add (argv, g_strdup (lab->state));
  for (guint i = 0; ids[i] != NULL && (i == 0 || lab->all_plugins); i++)
    {
      g_ptr_array_add (argv, g_strdup ("--plugin-dir"));
      g_ptr_array_add (argv, g_build_filename (plugins_dir, ids[i], NULL));
    }
  va_start (ap, err);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (&r, &how, (const char *const *) argv->pdata);
  if (out != NULL)
    *out = g_steal_pointer (&r.out);
  if (err != NULL)
    *err = g_steal_pointer (&r.err);
  return r.status;
}

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->base = g_dir_make_tmp ("vigil-iocplugin-XXXXXX", NULL);
  lab->state = g_build_filename (lab->base, "state", NULL);
  lab->root = g_build_filename (lab->base, "dev1", NULL);
  lab->all_plugins = GPOINTER_TO_INT (data);
  g_free (plant (lab->root, "home/alice/Downloads/evil.exe", "MZ-evil", 7));
  g_free (plant (lab->root, "home/alice/notes.txt", "hello", 5));
  g_free (plant (lab->root, "srv/evil.exe", "MZ-evil", 7));
  g_assert_cmpint (vigil (lab, NULL, NULL, "device", "add", "dev1", "--group", "root",
                          "--root", lab->root, NULL), ==, 0);
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->base);
  g_free (lab->base);
  g_free (lab->state);
  g_free (lab->root);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (p, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (p));
}

static char *
write_text (Lab *lab, const char *name, const char *text)
{
  char *path = g_build_filename (lab->base, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static char *
evil_ioc (void)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                     item11 ("ProcessItem/name", "is", "string", "evil.exe", NULL), NULL);
  return ioc11 ("evil-1", body);
}

/* Task parameters with @xml as the collection's one file. */
static char *
params_with (const char *xml, const char *scope, gboolean quarantine, gboolean critical)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) scope_node = parse_json (scope);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "iocs");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, "evil.ioc");
  json_builder_set_member_name (b, "xml");
  json_builder_add_string_value (b, xml);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "scope");
  json_builder_add_value (b, json_node_copy (scope_node));
  json_builder_set_member_name (b, "on_detection");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "quarantine");
  json_builder_add_boolean_value (b, quarantine);
  json_builder_set_member_name (b, "critical_scan");
  json_builder_add_boolean_value (b, critical);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* Task parameters with the evil IOC embedded. */
static char *
params_json (const char *scope, gboolean quarantine, gboolean critical)
{
  g_autofree char *xml = evil_ioc ();
  return params_with (xml, scope, quarantine, critical);
}

/* Creates and runs an ioc.scan task for dev1; returns the last run. */
/* A scan path that does not exist: exit 2 and, in text mode too, the
 * reason on stderr. */
static void
test_scan_missing_path_says_why (Lab *lab, gconstpointer data)
{
  g_autofree char *xml = evil_ioc ();
  g_autofree char *good = write_text (lab, "good.ioc", xml);
  g_autofree char *missing = g_build_filename (lab->root, "no-such-folder", NULL);
  g_autofree char *err = NULL;
  g_autofree char *expect = g_strdup_printf ("%s: absent (No such file or directory)", missing);

  g_assert_cmpint (vigil (lab, NULL, &err, "ioc", "scan", "--no-progress", "--ioc", good,
                          missing, NULL), ==, 2);
  g_assert_nonnull (strstr (err, expect));
}

/* --ioc FOLDER takes the IOC files of its subfolders: the public corpus is
 * organised in subfolders (vendor/campaign/file.ioc). */
static void
test_scan_ioc_folder_with_subfolders (Lab *lab, gconstpointer data)
{
  g_autofree char *xml = evil_ioc ();
  g_autofree char *iocs = g_build_filename (lab->base, "iocs", NULL);
  g_autofree char *home = g_build_filename (lab->root, "home", NULL);
  g_autofree char *out = NULL;

  g_free (plant (iocs, "vendor/campaign/evil.ioc", xml, strlen (xml)));

  g_assert_cmpint (vigil (lab, &out, NULL, "ioc", "scan", "--no-progress", "--ioc", iocs,
                          home, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "/Downloads/evil.exe: FOUND Test evil-1"));
  g_assert_nonnull (strstr (out, "IOC files loaded: 1 of 1"));
}

static JsonObject *
run_scan (Lab *lab, const char *params, char **task_id)
{
  g_autofree char *file = write_text (lab, "params.json", params);
  g_autofree char *out = NULL, *results = NULL;
  g_auto (GStrv) words = NULL;
  g_autoptr (JsonNode) runs = NULL;
  JsonArray *a;

  g_assert_cmpint (vigil (lab, &out, NULL, "task", "create", "--type", "ioc.scan", "--device",
                          "dev1", "--params", file, NULL), ==, 0);
  words = g_strsplit (out, " ", 3);
  g_assert_cmpstr (words[0], ==, "task");
  vigil (lab, NULL, NULL, "task", "run", words[1], NULL);
  g_assert_cmpint (vigil (lab, &results, NULL, "task", "results", words[1], "--json", NULL), ==, 0);
  runs = parse_json (results);
  a = json_node_get_array (runs);
  g_assert_cmpuint (json_array_get_length (a), >=, 1);
  if (task_id != NULL)
    *task_id = g_strdup (words[1]);
  return json_object_ref (json_array_get_object_element (a, json_array_get_length (a) - 1));
}

static void
test_task_detects_and_emits (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"custom\",\"paths\":[\"/home\"]}", TRUE, TRUE);
  g_autoptr (JsonObject) run = run_scan (lab, params, NULL);
  JsonObject *result = json_object_get_object_member (run, "result");
  JsonObject *ioc = json_array_get_object_element (json_object_get_array_member (result, "iocs"), 0);
  JsonObject *card = json_object_get_object_member (ioc, "card");
  JsonObject *obj = json_array_get_object_element (json_object_get_array_member (card, "objects"), 0);
  JsonArray *actions = json_object_get_array_member (result, "actions");
  g_autofree char *out = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_autofree char *md5 = md5_of ("MZ-evil", 7);
  JsonObject *payload;

  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "completed");
  g_assert_true (json_object_get_boolean_member (ioc, "found"));
  g_assert_cmpint (json_object_get_int_member (result, "files_scanned"), ==, 2);
  g_assert_true (json_object_has_member (json_object_get_object_member (result, "phases_us"), "load"));
  g_assert_cmpstr (json_object_get_string_member (obj, "path"), ==, "/home/alice/Downloads/evil.exe");
  g_assert_cmpstr (json_object_get_string_member (obj, "md5"), ==, md5);
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "matched"), "FileItem/FileName is \"evil.exe\""));
  /* quarantine.put and epp.critical_scan are not loaded: reported, not fatal. */
  g_assert_cmpuint (json_array_get_length (actions), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (actions, i), "state"),
                     ==, "unavailable");
  g_assert_cmpint (vigil (lab, &out, NULL, "events", "--type", "ioc.found", "--json", NULL), ==, 0);
  events = parse_json (out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (events)), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (json_node_get_array (events), 0),
                                           "payload");
  g_assert_cmpstr (json_object_get_string_member (payload, "ioc_id"), ==, "evil-1");
  g_assert_cmpstr (json_object_get_string_member (payload, "path"), ==, "/home/alice/Downloads/evil.exe");
  g_assert_cmpint (json_object_get_int_member (payload, "size"), ==, 7);
  g_assert_cmpuint (strlen (json_object_get_string_member (payload, "sha256")), ==, 64);
}

/* A task's IOC files are kept parsed too: another run of the same
 * collection, in another process, takes them from the cache. */
static void
test_task_cache (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"custom\",\"paths\":[\"/home\"]}", FALSE, FALSE);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (JsonObject) run = run_scan (lab, params, NULL);
      JsonObject *result = json_object_get_object_member (run, "result");
      JsonObject *cache = json_object_get_object_member (result, "ioc_cache");
      JsonObject *ioc = json_array_get_object_element (json_object_get_array_member (result, "iocs"), 0);

      g_assert_true (json_object_get_boolean_member (ioc, "found"));
      g_assert_cmpint (json_object_get_int_member (cache, "stored"), ==, i == 0 ? 1 : 0);
      g_assert_cmpint (json_object_get_int_member (cache, "hits"), ==, i == 0 ? 0 : 1);
    }
}

static void
test_actions_create_tasks (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"system_drives\"}", TRUE, TRUE);
  g_autofree char *plugins = NULL;
  g_autoptr (JsonObject) run = NULL;
  JsonArray *actions;
  guint quarantined = 0, scans = 0;

  vigil (lab, &plugins, NULL, "plugins", NULL);
  if (strstr (plugins, "quarantine") == NULL || strstr (plugins, "epp") == NULL)
    {
      g_test_skip ("the quarantine and epp plugins are not built");
      return;
    }
  run = run_scan (lab, params, NULL);
  actions = json_object_get_array_member (json_object_get_object_member (run, "result"), "actions");
  for (guint i = 0; i < json_array_get_length (actions); i++)
    {
      JsonObject *a = json_array_get_object_element (actions, i);
      g_assert_cmpstr (json_object_get_string_member (a, "state"), ==, "created");
      quarantined += g_str_equal (json_object_get_string_member (a, "task_type"), "quarantine.put");
      scans += g_str_equal (json_object_get_string_member (a, "task_type"), "epp.critical_scan");
    }
  /* Two objects found (/home/... and /srv/...), one critical scan. */
  g_assert_cmpuint (quarantined, ==, 2);
  g_assert_cmpuint (scans, ==, 1);
}

/* The IOC file size limit is a policy setting (ioc_scan.limits). */
static void
test_size_limit_from_policy (Lab *lab, gconstpointer data)
{
  const char *policy =
      "{\"name\":\"small iocs\",\"group\":\"root\",\"status\":\"active\",\"settings\":"
      "{\"ioc_scan\":{\"schema_version\":1,\"limits\":{\"locked\":true,"
      "\"values\":{\"max_ioc_file_kb\":1}}}}}";
  g_autofree char *file = write_text (lab, "policy.json", policy);
  g_autofree char *xml = evil_ioc ();
  g_autofree char *pad = g_strnfill (2000, 'x');
  const char *decl_end = strstr (xml, "?>") + 2;
  g_autofree char *big = g_strdup_printf ("%.*s<!-- %s -->%s", (int) (decl_end - xml), xml, pad, decl_end);
  g_autofree char *params = params_with (big, "{\"kind\":\"custom\",\"paths\":[\"/home\"]}", FALSE, FALSE);
  g_autoptr (JsonObject) run = NULL;
  JsonObject *result, *ioc_file;
  JsonArray *problems;

  g_assert_cmpint (vigil (lab, NULL, NULL, "policy", "apply", file, NULL), ==, 0);
  run = run_scan (lab, params, NULL);
  result = json_object_get_object_member (run, "result");
  ioc_file = json_array_get_object_element (json_object_get_array_member (result, "ioc_files"), 0);
  problems = json_object_get_array_member (ioc_file, "problems");
  g_assert_false (json_object_get_boolean_member (ioc_file, "loaded"));
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (problems, 0),
                                                           "message"), "over the limit of 1024 bytes"));
  g_assert_cmpint (json_object_get_int_member (result, "iocs_found"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "completed");
}

static void
test_invalid_scope_rejected (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"everywhere\"}", FALSE, FALSE);
  g_autofree char *file = write_text (lab, "bad.json", params);
  g_autofree char *err = NULL;

  g_assert_cmpint (vigil (lab, NULL, &err, "task", "create", "--type", "ioc.scan", "--device",
                          "dev1", "--params", file, NULL), !=, 0);
  g_assert_nonnull (strstr (err, "scope"));
}

static void
test_check_exit_codes (Lab *lab, gconstpointer data)
{
  g_autofree char *xml = evil_ioc ();
  g_autofree char *good = write_text (lab, "good.ioc", xml);
  g_autofree char *bad = write_text (lab, "bad.ioc", "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\">\n<criteria>");
  g_autofree char *out = NULL, *out2 = NULL, *json = NULL;
  g_autoptr (JsonNode) node = NULL;

  g_assert_cmpint (vigil (lab, &out, NULL, "ioc", "check", good, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "unsupported (evaluated as unknown): ProcessItem/name"));
  g_assert_nonnull (strstr (out, "FileItem/FileName is \"evil.exe\""));
  g_assert_cmpint (vigil (lab, &out2, NULL, "ioc", "check", good, bad, NULL), ==, 1);
  g_assert_nonnull (strstr (out2, "error: line 2: malformed XML"));
  g_assert_cmpint (vigil (lab, &json, NULL, "ioc", "check", "--json", bad, NULL), ==, 1);
  node = parse_json (json);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "loaded"), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "check", NULL), ==, 2);
}

static void
test_scan_exit_codes (Lab *lab, gconstpointer data)
{
  g_autofree char *xml = evil_ioc ();
  g_autofree char *good = write_text (lab, "good.ioc", xml);
  g_autofree char *bad = write_text (lab, "bad.ioc", "not xml");
  g_autofree char *home = g_build_filename (lab->root, "home", NULL);
  g_autofree char *alice = g_build_filename (lab->root, "home/alice/notes.txt", NULL);
  g_autofree char *out = NULL, *json = NULL;
  g_autoptr (JsonNode) node = NULL;

  g_assert_cmpint (vigil (lab, &out, NULL, "ioc", "scan", "--ioc", good, home, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "/Downloads/evil.exe: FOUND Test evil-1"));
  g_assert_cmpint (vigil (lab, &json, NULL, "ioc", "scan", "--json", "--ioc", good, home, NULL), ==, 1);
  node = parse_json (json);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "iocs_found"), ==, 1);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "scan", "--ioc", good, alice, NULL), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "scan", "--ioc", bad, home, NULL), ==, 2);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "scan", home, NULL), ==, 2);
}

static JsonObject *
cache_report (JsonNode *node)
{
  return json_object_get_object_member (json_node_get_object (node), "ioc_cache");
}

/* `ioc scan` keeps parsed IOC files in the state folder: the second scan
 * takes the file from there, with the same detection; --no-cache parses. */
static void
test_scan_cache (Lab *lab, gconstpointer data)
{
  g_autofree char *xml = evil_ioc ();
  g_autofree char *ioc = write_text (lab, "cached.ioc", xml);
  g_autofree char *home = g_build_filename (lab->root, "home", NULL);
  g_autofree char *cache = g_build_filename (lab->state, "plugins", "ioc-scan", "ioc-cache", NULL);
  const char *modes[][2] = { { "1", "0" }, { "0", "1" } };

  /* A file's identity is trusted once its ctime is two seconds old. */
  g_usleep (2100 * 1000);
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *json = NULL;
      g_autoptr (JsonNode) node = NULL;
      g_assert_cmpint (vigil (lab, &json, NULL, "ioc", "scan", "--json", "--ioc", ioc, home, NULL), ==, 1);
      node = parse_json (json);
      g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "iocs_found"), ==, 1);
      g_assert_true (json_object_get_boolean_member (cache_report (node), "enabled"));
      g_assert_cmpint (json_object_get_int_member (cache_report (node), "stored"), ==,
                       atoi (modes[i][0]));
      g_assert_cmpint (json_object_get_int_member (cache_report (node), "hits"), ==,
                       atoi (modes[i][1]));
    }
  g_assert_true (g_file_test (cache, G_FILE_TEST_IS_DIR));
  {
    g_autofree char *json = NULL;
    g_autoptr (JsonNode) node = NULL;
    g_assert_cmpint (vigil (lab, &json, NULL, "ioc", "scan", "--json", "--no-cache", "--ioc", ioc,
                            home, NULL), ==, 1);
    node = parse_json (json);
    g_assert_false (json_object_get_boolean_member (cache_report (node), "enabled"));
    g_assert_cmpint (json_object_get_int_member (cache_report (node), "hits"), ==, 0);
  }
}

static void
test_export_zip (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"custom\",\"paths\":[\"/srv\"]}", FALSE, FALSE);
  g_autofree char *file = write_text (lab, "export.json", params);
  g_autofree char *zip1 = g_build_filename (lab->base, "from-params.zip", NULL);
  g_autofree char *zip2 = g_build_filename (lab->base, "from-task.zip", NULL);
  g_autofree char *task_id = NULL, *listing = NULL, *content = NULL, *xml = evil_ioc ();
  g_autoptr (JsonObject) run = NULL;
  g_autoptr (GError) error = NULL;
  const char *list_argv[] = { "unzip", "-Z1", zip2, NULL };
  const char *cat_argv[] = { "unzip", "-p", zip1, "evil.ioc", NULL };

  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "export", "--params", file, "-o", zip1, NULL), ==, 0);
  run = run_scan (lab, params, &task_id);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "export", "--task", task_id, "-o", zip2, NULL), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "export", "--task", "no-such-task", "-o", zip2, NULL), ==, 2);
  g_spawn_sync (NULL, (char **) list_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &listing, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (listing, ==, "evil.ioc\n");
  g_spawn_sync (NULL, (char **) cat_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &content, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (content, ==, xml);
}

/* A task that has not run yet exports from its own parameters; an empty
 * --params document is an error, not a crash. */
static void
test_export_task_not_run (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"custom\",\"paths\":[\"/srv\"]}", FALSE, FALSE);
  g_autofree char *file = write_text (lab, "params.json", params);
  g_autofree char *empty = write_text (lab, "empty.json", "");
  g_autofree char *zip = g_build_filename (lab->base, "not-run.zip", NULL);
  g_autofree char *out = NULL, *err = NULL, *content = NULL;
  g_autofree char *xml = evil_ioc ();
  g_auto (GStrv) words = NULL;
  g_autoptr (GError) error = NULL;
  const char *cat_argv[] = { "unzip", "-p", zip, "evil.ioc", NULL };

  g_assert_cmpint (vigil (lab, &out, NULL, "task", "create", "--type", "ioc.scan", "--device",
                          "dev1", "--params", file, "--schedule", "{\"kind\":\"manual\"}", NULL), ==, 0);
  words = g_strsplit (out, " ", 3);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "export", "--task", words[1], "-o", zip, NULL), ==, 0);
  g_spawn_sync (NULL, (char **) cat_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &content, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (content, ==, xml);
  g_assert_cmpint (vigil (lab, NULL, &err, "ioc", "export", "--params", empty, "-o", zip, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "no JSON document"));
  g_assert_null (strstr (err, "CRITICAL"));
}

/* Once the task is deleted, the copy of its collection kept at its first
 * run still exports. */
static void
test_export_deleted_task (Lab *lab, gconstpointer data)
{
  g_autofree char *params = params_json ("{\"kind\":\"custom\",\"paths\":[\"/srv\"]}", FALSE, FALSE);
  g_autofree char *zip = g_build_filename (lab->base, "deleted.zip", NULL);
  g_autofree char *task_id = NULL, *content = NULL, *xml = evil_ioc ();
  g_autoptr (GError) error = NULL;
  const char *cat_argv[] = { "unzip", "-p", zip, "evil.ioc", NULL };

  json_object_unref (run_scan (lab, params, &task_id));
  g_assert_cmpint (vigil (lab, NULL, NULL, "task", "delete", task_id, NULL), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "ioc", "export", "--task", task_id, "-o", zip, NULL), ==, 0);
  g_spawn_sync (NULL, (char **) cat_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &content, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (content, ==, xml);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    {
      g_printerr ("usage: test-plugin PLUGINS_BUILD_DIR\n");
      return 2;
    }
  plugins_dir = argv[1];
#define ADD(path, all, fn) g_test_add (path, Lab, GINT_TO_POINTER (all), lab_setup, fn, lab_teardown)
  ADD ("/ioc/plugin/task-detects-and-emits-ioc-found", FALSE, test_task_detects_and_emits);
  ADD ("/ioc/plugin/task-cache", FALSE, test_task_cache);
  ADD ("/ioc/plugin/actions-create-tasks", TRUE, test_actions_create_tasks);
  ADD ("/ioc/plugin/size-limit-from-policy", FALSE, test_size_limit_from_policy);
  ADD ("/ioc/plugin/invalid-scope-rejected", FALSE, test_invalid_scope_rejected);
  ADD ("/ioc/plugin/check-exit-codes", FALSE, test_check_exit_codes);
  ADD ("/ioc/plugin/scan-exit-codes", FALSE, test_scan_exit_codes);
  ADD ("/ioc/plugin/scan-cache", FALSE, test_scan_cache);
  ADD ("/ioc/plugin/scan-missing-path-says-why", FALSE, test_scan_missing_path_says_why);
  ADD ("/ioc/plugin/scan-ioc-folder-with-subfolders", FALSE,
       test_scan_ioc_folder_with_subfolders);
  ADD ("/ioc/plugin/export-zip", FALSE, test_export_zip);
  ADD ("/ioc/plugin/export-task-not-run", FALSE, test_export_task_not_run);
  ADD ("/ioc/plugin/export-deleted-task", FALSE, test_export_deleted_task);
  return g_test_run ();
}
