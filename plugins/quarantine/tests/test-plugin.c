/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin through the real host: every case runs the built `vigil` CLI
 * as a child process on a fresh state folder, with a lab device whose root
 * is a scratch folder, and checks files, events, task results, the
 * console's inventory and exit codes as an admin would see them.
 *   test-plugin PLUGIN_DIR
 */
#include "qtest-util.h"
#include "vt-cli.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

static const char *plugin_dir;

typedef struct {
  char *base, *state, *root;
} Lab;

/* Runs the CLI with the quarantine plugin only; with @password, it is
 * handed over on a pipe named by VIGIL_PASSWORD_FD, as a script would. */
static int
vigil_v (Lab *lab, const char *password, char **out, char **err, va_list ap)
{
  static const char *const no_plugin_path[] = { "VIGIL_PLUGIN_PATH", NULL };
  VtCliSpawn how = { NULL, password, no_plugin_path };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (VtCli) r = { 0 };
  const char *arg;

  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, lab->state);
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) plugin_dir);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (&r, &how, (const char *const *) argv->pdata);
  if (out != NULL)
    *out = g_steal_pointer (&r.out);
  if (err != NULL)
    *err = g_steal_pointer (&r.err);
  return r.status;
}

static int
vigil (Lab *lab, char **out, char **err, ...)
{
  va_list ap;
  int rc;

  va_start (ap, err);
  rc = vigil_v (lab, NULL, out, err, ap);
  va_end (ap);
  return rc;
}

static int
vigil_pw (Lab *lab, const char *password, char **err, ...)
{
  va_list ap;
  int rc;

  va_start (ap, err);
  rc = vigil_v (lab, password, NULL, err, ap);
  va_end (ap);
  return rc;
}

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->base = g_dir_make_tmp ("vigil-qplugin-XXXXXX", NULL);
  lab->state = g_build_filename (lab->base, "state", NULL);
  lab->root = g_build_filename (lab->base, "dev1", NULL);
  g_assert_cmpint (g_mkdir (lab->root, 0755), ==, 0);
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
write_json (Lab *lab, const char *name, const char *text)
{
  char *path = g_build_filename (lab->base, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* Runs a task for dev1 now; returns its last run's state. */
static char *
run_task (Lab *lab, const char *type, const char *params)
{
  g_autofree char *file = write_json (lab, "params.json", params);
  g_autofree char *out = NULL, *results = NULL;
  g_auto (GStrv) words = NULL;

  g_assert_cmpint (vigil (lab, &out, NULL, "task", "create", "--type", type, "--device",
                          "dev1", "--params", file, NULL), ==, 0);
  words = g_strsplit (out, " ", 3);
  g_assert_cmpstr (words[0], ==, "task");
  vigil (lab, NULL, NULL, "task", "run", words[1], NULL);
  g_assert_cmpint (vigil (lab, &results, NULL, "task", "results", words[1], "--json", NULL), ==, 0);
  return g_steal_pointer (&results);
}

static JsonArray *
events_of (Lab *lab, const char *type)
{
  g_autofree char *out = NULL;
  JsonNode *node;
  JsonArray *a;

  g_assert_cmpint (vigil (lab, &out, NULL, "events", "--type", type, "--json", NULL), ==, 0);
  node = parse_json (out);
  a = json_array_ref (json_node_get_array (node));
  json_node_unref (node);
  return a;
}

static JsonObject *
payload (JsonArray *events, guint i)
{
  return json_object_get_object_member (json_array_get_object_element (events, i), "payload");
}

static char *
add_file (Lab *lab, const char *path, const char *text)
{
  g_autofree char *host = g_build_filename (lab->root, path, NULL);
  g_autofree char *dir = g_path_get_dirname (host);
  g_autofree char *out = NULL;
  g_autoptr (JsonNode) node = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (host, text, -1, NULL));
  g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "add", path, "--device", "dev1",
                          "--detection", "EICAR-Test-File", "--json", NULL), ==, 0);
  node = parse_json (out);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "id"));
}

static void
test_put_task (Lab *lab, gconstpointer data)
{
  g_autofree char *host = g_build_filename (lab->root, "home/alice/invoice.exe", NULL);
  g_autofree char *results = NULL;
  g_autoptr (JsonArray) added = NULL;
  JsonObject *p;

  g_free (add_file (lab, "/home/alice/keep.txt", "unrelated"));
  g_free (qtest_write_file (lab->root, "/home/alice/invoice.exe", 4096, 5));
  results = run_task (lab, "quarantine.put",
                      "{\"path\":\"/home/alice/invoice.exe\",\"detection\":\"HEUR:Trojan.Win32.Generic\","
                      "\"delete_original\":true,\"reason\":\"sandbox\",\"origin\":{\"event\":\"ev-1\"}}");
  g_assert_nonnull (strstr (results, "completed"));
  g_assert_false (g_file_test (host, G_FILE_TEST_EXISTS));
  added = events_of (lab, "quarantine.added");
  g_assert_cmpuint (json_array_get_length (added), ==, 2);
  p = payload (added, 0);
  if (g_strcmp0 (json_object_get_string_member (p, "path"), "/home/alice/invoice.exe") != 0)
    p = payload (added, 1);
  g_assert_cmpstr (json_object_get_string_member (p, "path"), ==, "/home/alice/invoice.exe");
  g_assert_cmpint (json_object_get_int_member (p, "size"), ==, 4096);
  g_assert_cmpstr (json_object_get_string_member (p, "detection"), ==, "HEUR:Trojan.Win32.Generic");
  g_assert_cmpuint (strlen (json_object_get_string_member (p, "sha256")), ==, 64);
  g_assert_cmpuint (strlen (json_object_get_string_member (p, "id")), ==, 32);
}

static void
test_put_task_refusal_fails_run (Lab *lab, gconstpointer data)
{
  g_autofree char *target = qtest_write_file (lab->root, "/real.exe", 10, 1);
  g_autofree char *link = g_build_filename (lab->root, "link.exe", NULL);
  g_autofree char *results = NULL;
  g_autoptr (JsonArray) added = NULL;

  g_assert_cmpint (symlink (target, link), ==, 0);
  results = run_task (lab, "quarantine.put", "{\"path\":\"/link.exe\",\"detection\":\"x\"}");
  g_assert_nonnull (strstr (results, "failed"));
  g_assert_nonnull (strstr (results, "symbolic link"));
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  added = events_of (lab, "quarantine.added");
  g_assert_cmpuint (json_array_get_length (added), ==, 0);
}

static void
test_restore_task_to_restore_folder (Lab *lab, gconstpointer data)
{
  g_autofree char *id = add_file (lab, "/home/bob/tool.exe", "payload");
  g_autofree char *params = g_strdup_printf ("{\"id\":\"%s\",\"to\":\"restore_folder\"}", id);
  g_autofree char *results = run_task (lab, "quarantine.restore", params);
  g_autofree char *restored = g_build_filename (lab->root, "var/lib/vigil/Restored/tool.exe", NULL);
  g_autofree char *text = NULL;
  g_autoptr (JsonArray) ev = events_of (lab, "quarantine.restored");

  g_assert_nonnull (strstr (results, "completed"));
  g_assert_true (g_file_get_contents (restored, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "payload");
  g_assert_cmpuint (json_array_get_length (ev), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (payload (ev, 0), "restored_to"), ==,
                   "/var/lib/vigil/Restored/tool.exe");
  g_assert_cmpstr (json_object_get_string_member (payload (ev, 0), "id"), ==, id);
}

static void
test_cli_restore_never_overwrites (Lab *lab, gconstpointer data)
{
  g_autofree char *id = add_file (lab, "/docs/a.pdf", "old");
  g_autofree char *host = g_build_filename (lab->root, "docs/a.pdf", NULL);
  g_autofree char *other = g_build_filename (lab->root, "docs/a (1).pdf", NULL);
  g_autofree char *out = NULL, *text = NULL;

  g_assert_true (g_file_set_contents (host, "new", -1, NULL));
  g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "restore", id, "--device", "dev1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "/docs/a (1).pdf"));
  g_assert_true (g_file_get_contents (host, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "new");
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (other, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "old");
}

static void
test_delete_clears_inventory (Lab *lab, gconstpointer data)
{
  g_autofree char *id = add_file (lab, "/x.exe", "x");
  g_autofree char *id2 = add_file (lab, "/y.exe", "y");
  g_autofree char *out = NULL, *params = g_strdup_printf ("{\"id\":\"%s\"}", id);
  g_autofree char *results = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonArray) deleted = NULL;

  g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "list", "--json", NULL), ==, 0);
  list = parse_json (out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 2);
  results = run_task (lab, "quarantine.delete", params);
  g_assert_nonnull (strstr (results, "completed"));
  deleted = events_of (lab, "quarantine.deleted");
  g_assert_cmpuint (json_array_get_length (deleted), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (payload (deleted, 0), "path"), ==, "/x.exe");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&list, json_node_unref);
  g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "list", "--json", NULL), ==, 0);
  list = parse_json (out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (
                       json_node_get_array (list), 0), "id"), ==, id2);
}

static void
apply_policy (Lab *lab, const char *storage_values, gboolean sync)
{
  g_autofree char *text = g_strdup_printf (
      "{\"name\":\"q\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"quarantine\":"
      "{\"schema_version\":1,\"storage\":{\"locked\":true,\"values\":%s},"
      "\"sync\":{\"locked\":true,\"values\":{\"send_to_console\":%s}}}}}",
      storage_values, sync ? "true" : "false");
  g_autofree char *file = write_json (lab, "policy.json", text);

  g_assert_cmpint (vigil (lab, NULL, NULL, "policy", "apply", file, NULL), ==, 0);
}

static void
test_limit_events_fire_once (Lab *lab, gconstpointer data)
{
  guint threshold_at = 0, limit_at = 0;

  apply_policy (lab, "{\"max_size_mb\":2,\"threshold_mb\":1}", TRUE);
  for (guint i = 1; i <= 9; i++)
    {
      g_autofree char *path = g_strdup_printf ("/f%u.bin", i);
      g_autofree char *out = NULL;
      g_autoptr (JsonArray) thr = NULL, lim = NULL;

      g_free (qtest_write_file (lab->root, path, 300 * 1024, i));
      g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "add", path, "--device", "dev1", NULL), ==, 0);
      thr = events_of (lab, "quarantine.threshold_reached");
      lim = events_of (lab, "quarantine.limit_exceeded");
      g_assert_cmpuint (json_array_get_length (thr), <=, 1);
      g_assert_cmpuint (json_array_get_length (lim), <=, 1);
      if (json_array_get_length (thr) == 1 && threshold_at == 0)
        {
          threshold_at = i;
          g_assert_cmpint (json_object_get_int_member (payload (thr, 0), "threshold_mb"), ==, 1);
          g_assert_cmpint (json_object_get_int_member (payload (thr, 0), "free_mb"), ==, 0);
        }
      if (json_array_get_length (lim) == 1 && limit_at == 0)
        {
          limit_at = i;
          g_assert_cmpint (json_object_get_int_member (payload (lim, 0), "limit_mb"), ==, 2);
          g_assert_cmpint (json_object_get_int_member (payload (lim, 0), "size_mb"), ==, 2);
        }
    }
  /* 300 KB objects: the 4th passes 1 MB (1 MB left of 2), the 7th 2 MB. */
  g_assert_cmpuint (threshold_at, ==, 4);
  g_assert_cmpuint (limit_at, ==, 7);
}

static void
test_sync_off_sends_nothing (Lab *lab, gconstpointer data)
{
  g_autofree char *id = NULL, *out = NULL, *dev_out = NULL;
  g_autoptr (JsonNode) list = NULL, dev_list = NULL;

  apply_policy (lab, "{}", FALSE);
  id = add_file (lab, "/x.exe", "x");
  g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "list", "--json", NULL), ==, 0);
  list = parse_json (out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
  g_assert_cmpint (vigil (lab, &dev_out, NULL, "quarantine", "list", "--device", "dev1", "--json", NULL), ==, 0);
  dev_list = parse_json (dev_out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (dev_list)), ==, 1);
}

static void
test_threshold_needs_maximum (Lab *lab, gconstpointer data)
{
  g_autofree char *file = write_json (lab, "bad.json",
      "{\"name\":\"q\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"quarantine\":"
      "{\"schema_version\":1,\"storage\":{\"locked\":true,\"values\":{\"threshold_mb\":50}}}}}");
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (vigil (lab, &out, &err, "policy", "validate", file, NULL), ==, 1);
  g_assert_nonnull (strstr (err != NULL && *err ? err : out, "quarantine.storage.threshold_mb"));
}

static void
test_exit_codes (Lab *lab, gconstpointer data)
{
  g_autofree char *id = add_file (lab, "/x.exe", "some content to damage");
  g_autofree char *obj = g_strdup_printf ("%s/var/lib/vigil/Quarantine/%s.vqo", lab->root, id);
  g_autofree char *err = NULL;
  int fd;

  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "frobnicate", NULL), ==, 2);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "show", id, NULL), ==, 2);
  g_assert_cmpint (vigil (lab, NULL, &err, "quarantine", "show", "00000000000000000000000000000000",
                          "--device", "dev1", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "vigil quarantine show: "));
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "restore", id, "--device", "dev1",
                          "--to", "elsewhere", NULL), ==, 2);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "show", id, "--device", "dev1",
                          "--verify", NULL), ==, 0);
  /* Damage the last chunk: show --verify and restore must refuse. */
  fd = open (obj, O_WRONLY | O_APPEND);
  g_assert_cmpint (write (fd, "!", 1), ==, 1);
  close (fd);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "show", id, "--device", "dev1",
                          "--verify", NULL), ==, 1);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "restore", id, "--device", "dev1", NULL), ==, 2);
  g_assert_true (g_file_test (obj, G_FILE_TEST_EXISTS));
  /* A metadata block that fails authentication makes `list` report it. */
  g_assert_cmpint (truncate (obj, 80), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "list", "--device", "dev1", NULL), ==, 1);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "show", id, "--device", "dev1", NULL), ==, 1);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "delete", id, "--device", "dev1", NULL), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "list", "--device", "dev1", NULL), ==, 0);
  {
    /* Its metadata was unreadable; the event still names the file, from
     * the console's inventory. */
    g_autoptr (JsonArray) deleted = events_of (lab, "quarantine.deleted");
    g_assert_cmpuint (json_array_get_length (deleted), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (payload (deleted, 0), "path"), ==, "/x.exe");
  }
}

static void
test_startup_sweep (Lab *lab, gconstpointer data)
{
  g_autofree char *tmp = g_build_filename (lab->root, "var/lib/vigil/Quarantine/.tmp-0badf00d", NULL);
  g_autofree char *err = NULL;

  g_free (add_file (lab, "/x.exe", "x"));
  g_assert_true (g_file_set_contents (tmp, "half an object", -1, NULL));
  /* Any command loads the plugin, whose init sweeps the known stores. */
  g_assert_cmpint (vigil (lab, NULL, &err, "plugins", NULL), ==, 0);
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_nonnull (strstr (err, ".tmp-0badf00d"));
}

static void
test_store_never_leaves_the_root (Lab *lab, gconstpointer data)
{
  g_autofree char *outside = g_build_filename (lab->base, "outside", NULL);
  g_autofree char *var = g_build_filename (lab->root, "var", NULL);
  g_autofree char *host = qtest_write_file (lab->root, "/x.exe", 10, 1);
  g_autofree char *err = NULL;

  /* The lab's /var points out of its root: the default store is refused. */
  g_assert_cmpint (g_mkdir (outside, 0755), ==, 0);
  g_assert_cmpint (symlink (outside, var), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, &err, "quarantine", "add", "/x.exe", "--device", "dev1", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "symbolic link"));
  g_assert_cmpuint (qtest_count_visible (outside), ==, 0);
  g_assert_true (g_file_test (host, G_FILE_TEST_EXISTS));
}

/* Device ids "." and "..": the store of a device without a root folder is
 * <data>/devices/<id>/Quarantine, so they would put it in devices/ itself
 * or in the plugin's data folder. Refused, and nothing is created there.
 * (Whether the inventory accepts such ids is the host's business: if it
 * refuses them, the command fails earlier and the folders stay absent.) */
static void
test_dot_device_ids_refused (Lab *lab, gconstpointer data)
{
  static const char *const ids[] = { ".", ".." };
  g_autofree char *qdata = g_build_filename (lab->state, "plugins", "quarantine", NULL);
  g_autofree char *in_data = g_build_filename (qdata, "Quarantine", NULL);
  g_autofree char *in_devices = g_build_filename (qdata, "devices", "Quarantine", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *err = NULL;
      gboolean added = vigil (lab, NULL, NULL, "device", "add", ids[i], "--group", "root",
                              NULL) == 0;

      g_assert_cmpint (vigil (lab, NULL, &err, "quarantine", "list", "--device", ids[i], NULL),
                       ==, 2);
      if (added)
        g_assert_nonnull (strstr (err, "cannot name a folder"));
      g_assert_cmpint (vigil (lab, NULL, NULL, "quarantine", "key", "--device", ids[i], NULL),
                       ==, 2);
    }
  g_assert_false (g_file_test (in_data, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (in_devices, G_FILE_TEST_EXISTS));
}

static void
test_key_fingerprint (Lab *lab, gconstpointer data)
{
  g_autofree char *out = NULL, *key = NULL, *expect = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  JsonObject *o;
  gsize len;

  struct stat st;
  g_autofree char *folder = NULL;

  g_free (add_file (lab, "/x.exe", "x"));
  g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "key", "--device", "dev1", "--json", NULL), ==, 0);
  node = parse_json (out);
  o = json_node_get_object (node);
  folder = g_path_get_dirname (json_object_get_string_member (o, "key_file"));
  g_assert_cmpint (stat (folder, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (stat (json_object_get_string_member (o, "key_file"), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (o, "key_file"),
                                   "/var/lib/vigil/Quarantine/store.key"));
  /* The documented fingerprint: SHA-256 of the label and the key, 8 bytes. */
  g_assert_true (g_file_get_contents (json_object_get_string_member (o, "key_file"), &key, &len, NULL));
  g_checksum_update (sum, (const guchar *) "vigil-quarantine key id v1", 26);
  g_checksum_update (sum, (const guchar *) key, len);
  expect = g_strndup (g_checksum_get_string (sum), 16);
  g_assert_cmpstr (json_object_get_string_member (o, "fingerprint"), ==, expect);
  {
    /* Never the key itself, in any spelling. */
    g_autofree char *hex = g_malloc (2 * len + 1);
    g_autofree char *b64 = g_base64_encode ((const guchar *) key, len);
    q_hex ((const guint8 *) key, len, hex);
    g_assert_null (strstr (out, hex));
    g_assert_null (strstr (out, b64));
  }
}

/* A group task: every device of the group quarantines its own copy, in
 * parallel runs on the host's worker threads, each into its own store. */
static void
test_group_put (Lab *lab, gconstpointer data)
{
  g_autofree char *file = write_json (lab, "p.json",
                                      "{\"path\":\"/tmp/dropper.exe\",\"detection\":\"D\"}");
  g_autoptr (JsonArray) added = NULL;

  g_assert_cmpint (vigil (lab, NULL, NULL, "group", "add", "lab", NULL), ==, 0);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("pc%u", i);
      g_autofree char *root = g_strdup_printf ("%s/%s", lab->base, id);
      g_autofree char *host = NULL;
      g_assert_cmpint (g_mkdir (root, 0755), ==, 0);
      g_assert_cmpint (vigil (lab, NULL, NULL, "device", "add", id, "--group", "lab",
                              "--root", root, NULL), ==, 0);
      host = qtest_write_file (root, "/tmp/dropper.exe", 200 * 1024 + i, i);
    }
  g_assert_cmpint (vigil (lab, NULL, NULL, "task", "create", "--type", "quarantine.put",
                          "--group", "lab", "--params", file, NULL), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "task", "run-due", NULL), ==, 0);
  added = events_of (lab, "quarantine.added");
  g_assert_cmpuint (json_array_get_length (added), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("pc%u", i);
      g_autofree char *out = NULL;
      g_autofree char *orig = g_strdup_printf ("%s/%s/tmp/dropper.exe", lab->base, id);
      g_autoptr (JsonNode) list = NULL;
      JsonObject *e;

      g_assert_false (g_file_test (orig, G_FILE_TEST_EXISTS));
      g_assert_cmpint (vigil (lab, &out, NULL, "quarantine", "list", "--device", id, "--json", NULL), ==, 0);
      list = parse_json (out);
      g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
      e = json_array_get_object_element (json_node_get_array (list), 0);
      g_assert_cmpint (json_object_get_int_member (e, "size"), ==, 200 * 1024 + i);
      g_assert_cmpstr (json_object_get_string_member (e, "device"), ==, id);
    }
}

/* Restore from the command line goes through the host's password check. */
static void
test_restore_password_protected (Lab *lab, gconstpointer data)
{
  static const char good[] = "Qu4rantine-Restore!";
  g_autofree char *id = add_file (lab, "/home/alice/report.doc", "important");
  g_autofree char *file = write_json (lab, "pw.json",
      "{\"name\":\"pw\",\"group\":\"root\",\"status\":\"active\",\"settings\":{}}");
  g_autofree char *twice = g_strdup_printf ("%s\n%s", good, good);
  g_autofree char *host = g_build_filename (lab->root, "home/alice/report.doc", NULL);
  g_autofree char *err = NULL;

  g_assert_cmpint (vigil_pw (lab, twice, NULL, "password", "set", "--policy", file,
                             "--iterations", "100000", NULL), ==, 0);
  g_assert_cmpint (vigil (lab, NULL, NULL, "policy", "apply", file, NULL), ==, 0);
  /* Protection follows the policy of the machine the command runs on: the
   * device without a root folder. */
  g_assert_cmpint (vigil (lab, NULL, NULL, "device", "add", "this-pc", "--group", "root", NULL), ==, 0);
  g_assert_cmpint (vigil_pw (lab, "wrong", NULL, "password", "check", "quarantine.restore", NULL), !=, 0);
  g_assert_cmpint (vigil_pw (lab, "wrong", &err, "quarantine", "restore", id, "--device", "dev1", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "password"));
  g_assert_false (g_file_test (host, G_FILE_TEST_EXISTS));
  g_assert_cmpint (vigil_pw (lab, good, NULL, "quarantine", "restore", id, "--device", "dev1", NULL), ==, 0);
  g_assert_true (g_file_test (host, G_FILE_TEST_EXISTS));
}

#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    g_error ("usage: test-plugin PLUGIN_DIR");
  plugin_dir = argv[1];
  ADD ("/quarantine/plugin/put-task-quarantines-and-emits-added", test_put_task);
  ADD ("/quarantine/plugin/put-task-refusal-fails-the-run", test_put_task_refusal_fails_run);
  ADD ("/quarantine/plugin/restore-task-to-restore-folder", test_restore_task_to_restore_folder);
  ADD ("/quarantine/plugin/cli-restore-never-overwrites", test_cli_restore_never_overwrites);
  ADD ("/quarantine/plugin/delete-clears-console-inventory", test_delete_clears_inventory);
  ADD ("/quarantine/plugin/limit-and-threshold-events-fire-once", test_limit_events_fire_once);
  ADD ("/quarantine/plugin/sync-off-sends-nothing-to-console", test_sync_off_sends_nothing);
  ADD ("/quarantine/plugin/threshold-needs-maximum", test_threshold_needs_maximum);
  ADD ("/quarantine/plugin/cli-exit-codes", test_exit_codes);
  ADD ("/quarantine/plugin/startup-sweep-removes-leftovers", test_startup_sweep);
  ADD ("/quarantine/plugin/store-never-leaves-the-device-root", test_store_never_leaves_the_root);
  ADD ("/quarantine/plugin/key-location-and-fingerprint", test_key_fingerprint);
  ADD ("/quarantine/plugin/dot-device-ids-refused", test_dot_device_ids_refused);
  ADD ("/quarantine/plugin/group-put-runs-per-device-in-parallel", test_group_put);
  ADD ("/quarantine/plugin/cli-restore-is-password-protected", test_restore_password_protected);
  return g_test_run ();
}
