/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.get and the evidence store on one machine, through the built
 * `vigil`: a file of a lab device is retrieved into the state folder's
 * store (several chunks), listed with its hashes, exported byte for byte,
 * and never on disk as itself; export refuses to overwrite and writes
 * 0600; what a writer killed midway leaves is never listed. Refused, with the reason: a symbolic link out of the root (as the
 * file and on the way), `..`, a FIFO, a folder, a file over the policy's
 * size limit; and file.get asks for the password once protection is on.
 */
#define _GNU_SOURCE   /* memmem */
#include "vt-cli.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#define PASSWORD "Vigil-Evidence-2026!"
#define BIG      (3 * 256 * 1024 + 4321)   /* four chunks of the store */

typedef struct {
  char *dir;
  char *state;
  char *root;
} Fx;

static void
expect (const VtCli *r, int status, const char *needle)
{
  if (r->status != status || (needle && !strstr (r->out, needle) && !strstr (r->err, needle)))
    g_error ("expected exit %d and \"%s\", got %d:\nstdout: %s\nstderr: %s", status,
             needle ? needle : "", r->status, r->out, r->err);
}

static void
setup (Fx *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-file-get-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  f->root = g_build_filename (f->dir, "root", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->root, 0700), ==, 0);
  vt_cli_ok (f->state, "group", "add", "lab", NULL);
  vt_cli_ok (f->state, "device", "add", "d1", "--group", "lab", "--root", f->root, NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
  g_free (f->root);
}

/* A file of @len pseudo-random bytes at ROOT/@relative; (transfer full)
 * its content. */
static GBytes *
device_file (Fx *f, const char *relative, gsize len)
{
  g_autofree char *path = g_build_filename (f->root, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  guint8 *data = g_malloc (len);
  g_autoptr (GRand) rand = g_rand_new_with_seed (15);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) g_rand_int (rand);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, NULL));
  return g_bytes_new_take (data, len);
}

/* `vigil respond get --device d1 PATH`, then `task run`: the run's line. */
static void
get (Fx *f, const char *path, const char *password, int run_status, const char *needle)
{
  g_auto (VtCli) r = { 0 };
  g_autofree char *id = NULL;

  vt_cli_run (&r, f->state, password, NULL, "respond", "get", "--device", "d1", path, "--json",
              NULL);
  expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, password, NULL, "task", "run", id, NULL);
  expect (&r, run_status, needle);
}

static JsonArray *
evidence_list (Fx *f)
{
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonNode) node = NULL;

  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "list", "--json", NULL);
  expect (&r, 0, NULL);
  node = json_from_string (r.out, NULL);
  g_assert_nonnull (node);
  return json_array_ref (json_node_get_array (node));
}

static char *
sha256_of (GBytes *b)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, b);
}

static void
test_get_and_export (Fx *f, gconstpointer data)
{
  g_autoptr (GBytes) content = device_file (f, "home/alice/report.bin", BIG);
  g_autofree char *sha = sha256_of (content);
  g_autofree char *md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, content);
  g_autofree char *out = g_build_filename (f->dir, "exported.bin", NULL);
  g_autofree char *stored_path = NULL, *stored = NULL, *exported = NULL, *id = NULL;
  g_autoptr (JsonArray) list = NULL;
  g_auto (VtCli) r = { 0 };
  JsonObject *e;
  gsize stored_len = 0, exported_len = 0;
  struct stat st;

  get (f, "/home/alice/report.bin", NULL, 0, "retrieved");

  /* Listed with its device, path, size and hashes. */
  list = evidence_list (f);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  e = json_array_get_object_element (list, 0);
  id = g_strdup (json_object_get_string_member (e, "id"));
  g_assert_cmpstr (json_object_get_string_member (e, "device"), ==, "d1");
  g_assert_cmpstr (json_object_get_string_member (e, "path"), ==, "/home/alice/report.bin");
  g_assert_cmpint (json_object_get_int_member (e, "size"), ==, BIG);
  g_assert_cmpstr (json_object_get_string_member (e, "sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (e, "md5"), ==, md5);

  /* The event names the file and its hashes, never the content. */
  vt_cli_run (&r, f->state, NULL, NULL, "events", "--type", "file.retrieved", "--json", NULL);
  expect (&r, 0, sha);
  g_assert_nonnull (strstr (r.out, id));
  vt_cli_clear (&r);

  /* Inert at rest: the stored file holds no run of the plaintext. */
  stored_path = g_strdup_printf ("%s/evidence/%s.ev", f->state, id);
  g_assert_true (g_file_get_contents (stored_path, &stored, &stored_len, NULL));
  g_assert_cmpuint (stored_len, >, BIG);
  for (gsize off = 0; off + 64 <= BIG; off += BIG / 7)
    g_assert_null (memmem (stored, stored_len, (const guint8 *) g_bytes_get_data (content, NULL) + off, 64));
  g_assert_cmpint (stat (stored_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Exported deliberately: byte for byte, 0600, with a warning. */
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "export", id, "--output", out, NULL);
  expect (&r, 0, "potentially malicious");
  vt_cli_clear (&r);
  g_assert_true (g_file_get_contents (out, &exported, &exported_len, NULL));
  g_assert_cmpmem (exported, exported_len, g_bytes_get_data (content, NULL), BIG);
  g_assert_cmpint (stat (out, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Never over an existing file, and never without --output. */
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "export", id, "--output", out, NULL);
  expect (&r, 2, "never overwrites");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "export", id, NULL);
  expect (&r, 2, "needs --output");
  vt_cli_clear (&r);

  /* What a writer killed midway leaves (a temporary file nobody holds)
   * is never listed, and is removed at the next open of the store. */
  {
    g_autofree char *dead = g_strdup_printf ("%s/evidence/.tmp-00000000deadbeef", f->state);
    g_autoptr (JsonArray) again = NULL;

    g_assert_true (g_file_set_contents (dead, "VIGILEV1 half written", -1, NULL));
    again = evidence_list (f);
    g_assert_cmpuint (json_array_get_length (again), ==, 1);
    g_assert_false (g_file_test (dead, G_FILE_TEST_EXISTS));
  }

  /* show; prune keeps what is younger than its age, then delete. */
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "show", id, NULL);
  expect (&r, 0, md5);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "prune", "--older-than", "1d", NULL);
  expect (&r, 0, "no evidence stored before that");
  vt_cli_clear (&r);
  vt_cli_ok (f->state, "evidence", "delete", id, NULL);
  g_clear_pointer (&list, json_array_unref);
  list = evidence_list (f);
  g_assert_cmpuint (json_array_get_length (list), ==, 0);
}

static void
test_prune (Fx *f, gconstpointer data)
{
  g_autoptr (JsonArray) list = NULL;
  g_auto (VtCli) r = { 0 };

  g_bytes_unref (device_file (f, "a.bin", 10));

  get (f, "/a.bin", NULL, 0, "retrieved");
  get (f, "/a.bin", NULL, 0, "retrieved");
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "prune", NULL);
  expect (&r, 2, "--older-than");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "prune", "--older-than",
              "2999-01-01T00:00:00Z", "--json", NULL);
  expect (&r, 0, NULL);
  list = evidence_list (f);
  g_assert_cmpuint (json_array_get_length (list), ==, 0);
}

static void
test_damaged_is_not_exported (Fx *f, gconstpointer data)
{
  g_autoptr (JsonArray) list = NULL;
  g_autofree char *stored_path = NULL, *out = g_build_filename (f->dir, "x.out", NULL);
  g_auto (VtCli) r = { 0 };
  const char *id;
  FILE *fp;

  g_bytes_unref (device_file (f, "x.bin", 100000));
  get (f, "/x.bin", NULL, 0, "retrieved");
  list = evidence_list (f);
  id = json_object_get_string_member (json_array_get_object_element (list, 0), "id");
  stored_path = g_strdup_printf ("%s/evidence/%s.ev", f->state, id);
  /* One bit of the content flipped on disk. */
  fp = fopen (stored_path, "r+b");
  g_assert_nonnull (fp);
  g_assert_cmpint (fseek (fp, 32 + 4 + 5000, SEEK_SET), ==, 0);
  {
    int c = fgetc (fp);
    g_assert_cmpint (fseek (fp, -1, SEEK_CUR), ==, 0);
    fputc (c ^ 1, fp);
  }
  fclose (fp);
  vt_cli_run (&r, f->state, NULL, NULL, "evidence", "export", id, "--output", out, NULL);
  expect (&r, 2, "does not verify");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_refused (Fx *f, gconstpointer data)
{
  g_autofree char *link = g_build_filename (f->root, "home", "passwd", NULL);
  g_autofree char *dirlink = g_build_filename (f->root, "etc", NULL);
  g_autofree char *fifo = g_build_filename (f->root, "home", "pipe", NULL);
  g_autofree char *folder = g_build_filename (f->root, "home", "folder", NULL);
  g_autofree char *settings = g_build_filename (f->dir, "settings.json", NULL);
  g_autoptr (JsonArray) list = NULL;
  g_auto (VtCli) r = { 0 };

  g_bytes_unref (device_file (f, "home/big.bin", 2 * 1024 * 1024));
  g_bytes_unref (device_file (f, "home/ok.txt", 10));
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  g_assert_cmpint (symlink ("/etc", dirlink), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);

  get (f, "/home/passwd", NULL, 1, "is a symbolic link: refused");
  get (f, "/etc/passwd", NULL, 1, "symbolic link");
  get (f, "/home/pipe", NULL, 1, "is a FIFO");
  get (f, "/home/folder", NULL, 1, "is a folder");
  /* `..` is refused when the task is created. */
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "get", "--device", "d1",
              "/home/../../etc/passwd", NULL);
  expect (&r, 2, "'..'");
  vt_cli_clear (&r);
  /* Over the policy's limit (1 MiB here). */
  g_assert_true (g_file_set_contents (settings, "{\"respond\": {\"get_file\": {\"max_size_mb\": 1}}}",
                                      -1, NULL));
  vt_cli_ok (f->state, "device", "settings", "d1", settings, NULL);
  get (f, "/home/big.bin", NULL, 1, "over the limit of 1048576 bytes");
  /* Nothing of those reached the store. */
  list = evidence_list (f);
  g_assert_cmpuint (json_array_get_length (list), ==, 0);
  /* A file inside still comes. */
  get (f, "/home/ok.txt", NULL, 0, "retrieved");
}

/* Protection covers this machine's device: a local user cannot have the
 * agent copy out a file they could not read. */
static void
test_protected (Fx *f, gconstpointer data)
{
  g_autofree char *secret = g_build_filename (f->dir, "secret.txt", NULL);
  g_autofree char *policy = g_build_filename (f->dir, "pw.json", NULL);
  g_autofree char *params = g_build_filename (f->dir, "get.json", NULL);
  g_autofree char *params_json = g_strdup_printf ("{\"path\": \"%s\"}", secret);
  g_auto (VtCli) r = { 0 };
  g_autofree char *id = NULL;

  vt_cli_ok (f->state, "device", "add", "here", "--group", "lab", NULL);
  vt_cli_ok (f->state, "device", "set-machine", "here", NULL);
  g_assert_true (g_file_set_contents (secret, "root only", -1, NULL));
  g_assert_true (g_file_set_contents (params, params_json, -1, NULL));
  g_assert_true (g_file_set_contents (policy,
    "{\"name\":\"PW\",\"group\":\"lab\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1}}}", -1, NULL));
  vt_cli_run (&r, f->state, PASSWORD, NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  expect (&r, 0, NULL);
  vt_cli_clear (&r);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "create", "--type", "file.get", "--device",
              "here", "--params", params, NULL);
  g_assert_cmpint (r.status, !=, 0);
  expect (&r, r.status, "password");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, PASSWORD, NULL, "task", "create", "--type", "file.get", "--device",
              "here", "--params", params, "--schedule", "{\"kind\":\"manual\"}", "--json", NULL);
  expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, PASSWORD, NULL, "task", "run", id, NULL);
  expect (&r, 0, "retrieved");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/respond/file-get/retrieved-listed-exported", Fx, NULL, setup,
              test_get_and_export, teardown);
  g_test_add ("/respond/file-get/prune", Fx, NULL, setup, test_prune, teardown);
  g_test_add ("/respond/file-get/damaged-evidence-not-exported", Fx, NULL, setup,
              test_damaged_is_not_exported, teardown);
  g_test_add ("/respond/file-get/refusals", Fx, NULL, setup, test_refused, teardown);
  g_test_add ("/respond/file-get/protected", Fx, NULL, setup, test_protected, teardown);
  return g_test_run ();
}
