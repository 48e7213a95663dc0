/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.delete, as root, in lab roots the test makes in temporary folders:
 * the engine driven directly (a file with its hashes, owner from the
 * lab's own etc/passwd, size and mode; a folder only with recursive, a
 * link inside it deleted and its target kept; a symbolic link or `..`
 * that would lead out of the root refused; the protected paths and the
 * agent's state folder refused; a copy into the quarantine that fails
 * deletes nothing, a partial failure lists both sides, a file system
 * mounted inside a folder is not crossed), then through
 * the built `vigil` with the quarantine plugin: `vigil respond delete
 * --quarantine` leaves a restorable copy in the device's quarantine
 * before the file is gone, a file.deleted event per object, parameters
 * and the policy's list checked at creation, and the password asked once
 * protection is on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "resp-file-delete.h"
#include "vt-cli.h"

#define PASSWORD "Vigil-Delete-2026!"
#define CONTENT "X5O!P%@AP[4\\PZX54(P^)7CC)7}$not-really-malware"

typedef struct {
  char *dir;      /* the test's temporary folder */
  char *root;     /* the lab device's root inside it */
  char *outside;  /* a folder outside the root */
  char *state;    /* the CLI tests' state folder */
} Fx;

static char *
plant (const char *base, const char *rel, const char *content)
{
  char *path = g_build_filename (base, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  return path;
}

static gboolean
exists (const char *base, const char *rel)
{
  g_autofree char *path = g_build_filename (base, rel, NULL);
  struct stat st;

  return lstat (path, &st) == 0;
}

static void
setup (Fx *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-delete-XXXXXX", NULL);
  f->root = g_build_filename (f->dir, "lab", NULL);
  f->outside = g_build_filename (f->dir, "outside", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  g_free (plant (f->root, "etc/passwd",
                 "root:x:0:0:root:/root:/bin/sh\nmallory:x:4242:4242::/home/mallory:/bin/sh\n"));
  g_free (plant (f->outside, "keep.txt", "outside the device"));
}

static void
teardown (Fx *f, gconstpointer data)
{
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->root);
  g_free (f->outside);
  g_free (f->state);
}

static const char *const defaults[] = {
  "/", "/bin/**", "/boot/**", "/dev/**", "/etc/**", "/lib/**", "/lib64/**", "/proc/**",
  "/root", "/sbin/**", "/sys/**", "/usr/bin/**", "/usr/lib/**", "/var/lib/vigil/**", NULL,
};

static JsonObject *
delete_ok (Fx *f, RespDelete *req, const char *path, gboolean expect_all)
{
  g_autoptr (GError) error = NULL;
  gboolean all = !expect_all;
  JsonObject *result;

  req->root = f->root;
  if (req->protected_paths == NULL)
    req->protected_paths = defaults;
  result = resp_file_delete (req, path, NULL, &all, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpint (all, ==, expect_all);
  return result;
}

static void
delete_refused (Fx *f, RespDelete *req, const char *path, const char *needle)
{
  g_autoptr (GError) error = NULL;
  gboolean all = TRUE;

  req->root = f->root;
  if (req->protected_paths == NULL)
    req->protected_paths = defaults;
  g_assert_null (resp_file_delete (req, path, NULL, &all, &error));
  g_assert_nonnull (error);
  g_assert_false (all);
  if (strstr (error->message, needle) == NULL)
    g_error ("deleting %s: expected \"%s\" in \"%s\"", path, needle, error->message);
}

static JsonObject *
record_of (JsonObject *result, const char *list, const char *path)
{
  JsonArray *a = json_object_get_array_member (result, list);

  for (guint i = 0; i < json_array_get_length (a); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (a, i), "path"),
                   path) == 0)
      return json_array_get_object_element (a, i);
  g_error ("%s not in %s", path, list);
  return NULL;
}

/* ---- the engine ----------------------------------------------------- */

static void
test_file_recorded_and_deleted (Fx *f, gconstpointer data)
{
  g_autofree char *file = plant (f->root, "home/mallory/dropper.bin", CONTENT);
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, CONTENT, -1);
  g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, CONTENT, -1);
  RespDelete req = { 0 };
  g_autoptr (JsonObject) result = NULL;
  JsonObject *rec;

  g_assert_cmpint (chown (file, 4242, 4242), ==, 0);
  g_assert_cmpint (chmod (file, 04751), ==, 0);
  result = delete_ok (f, &req, "/home/mallory//./dropper.bin", TRUE);
  g_assert_cmpstr (json_object_get_string_member (result, "path"), ==, "/home/mallory/dropper.bin");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "deleted")), ==, 1);
  rec = record_of (result, "deleted", "/home/mallory/dropper.bin");
  g_assert_cmpstr (json_object_get_string_member (rec, "type"), ==, "file");
  g_assert_cmpstr (json_object_get_string_member (rec, "sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (rec, "md5"), ==, md5);
  g_assert_cmpint (json_object_get_int_member (rec, "size"), ==, strlen (CONTENT));
  g_assert_cmpint (json_object_get_int_member (rec, "uid"), ==, 4242);
  /* The lab's own etc/passwd names uid 4242, not this machine's. */
  g_assert_cmpstr (json_object_get_string_member (rec, "owner"), ==, "mallory");
  g_assert_cmpstr (json_object_get_string_member (rec, "mode"), ==, "4751");
  g_assert_false (exists (f->root, "home/mallory/dropper.bin"));
  g_assert_true (exists (f->root, "home/mallory"));
}

static void
test_folder_needs_recursive (Fx *f, gconstpointer data)
{
  g_autofree char *target = g_build_filename (f->outside, "keep.txt", NULL);
  g_autofree char *link = g_build_filename (f->root, "tmp/kit/sub/to-outside", NULL);
  g_autoptr (JsonObject) result = NULL;
  RespDelete req = { 0 };
  JsonObject *rec;

  g_free (plant (f->root, "tmp/kit/a.sh", "#!/bin/sh\n"));
  g_free (plant (f->root, "tmp/kit/sub/b.so", "ELF"));
  g_assert_cmpint (symlink (target, link), ==, 0);
  delete_refused (f, &req, "/tmp/kit", "needs recursive");
  g_assert_true (exists (f->root, "tmp/kit/a.sh"));

  req.recursive = TRUE;
  result = delete_ok (f, &req, "/tmp/kit", TRUE);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "deleted")), ==, 5);
  rec = record_of (result, "deleted", "/tmp/kit/sub/to-outside");
  g_assert_cmpstr (json_object_get_string_member (rec, "type"), ==, "symlink");
  g_assert_cmpstr (json_object_get_string_member (rec, "target"), ==, target);
  g_assert_false (json_object_has_member (rec, "sha256"));
  rec = record_of (result, "deleted", "/tmp/kit");
  g_assert_cmpstr (json_object_get_string_member (rec, "type"), ==, "folder");
  g_assert_nonnull (json_object_get_string_member (record_of (result, "deleted", "/tmp/kit/sub/b.so"),
                                                   "sha256"));
  g_assert_false (exists (f->root, "tmp/kit"));
  /* The link was deleted, never followed. */
  g_assert_true (g_file_test (target, G_FILE_TEST_IS_REGULAR));
}

static void
test_symlink_escape_refused (Fx *f, gconstpointer data)
{
  g_autofree char *link = g_build_filename (f->root, "data", NULL);
  g_autoptr (JsonObject) result = NULL;
  RespDelete req = { .recursive = TRUE };

  g_assert_cmpint (symlink (f->outside, link), ==, 0);
  delete_refused (f, &req, "/data/keep.txt", "symbolic link");
  g_assert_true (exists (f->outside, "keep.txt"));
  /* Naming the link itself deletes the link, not the folder it names. */
  result = delete_ok (f, &req, "/data", TRUE);
  g_assert_cmpstr (json_object_get_string_member (record_of (result, "deleted", "/data"), "type"),
                   ==, "symlink");
  g_assert_false (exists (f->root, "data"));
  g_assert_true (exists (f->outside, "keep.txt"));
}

static void
test_dotdot_refused (Fx *f, gconstpointer data)
{
  g_autofree char *rel = g_strdup ("/home/../../outside/keep.txt");
  RespDelete req = { .recursive = TRUE };

  g_free (plant (f->root, "home/x", "x"));
  delete_refused (f, &req, rel, "'..'");
  delete_refused (f, &req, "/home/..", "'..'");
  g_assert_true (exists (f->outside, "keep.txt"));
  g_assert_true (exists (f->root, "home/x"));
}

static void
test_protected_paths_refused (Fx *f, gconstpointer data)
{
  g_autofree char *state = g_build_filename (f->root, "srv/agent-state", NULL);
  g_autoptr (JsonObject) result = NULL;
  RespDelete req = { .recursive = TRUE };

  g_free (plant (f->root, "usr/bin/ls", "ELF"));
  g_free (plant (f->root, "usr/local/bin/miner", "ELF"));
  g_free (plant (f->root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAA attacker"));
  g_free (plant (f->root, "var/lib/vigil/Quarantine/x.vqo", "object"));
  g_free (plant (state, "vigil.db", "db"));
  req.state_dir = state;
  delete_refused (f, &req, "/", "root folder is never deleted");
  delete_refused (f, &req, "/etc/passwd", "under /etc, protected with everything it holds");
  delete_refused (f, &req, "/etc", "/etc is protected");
  delete_refused (f, &req, "/usr", "holds /usr/bin");
  delete_refused (f, &req, "/root", "/root is protected");
  delete_refused (f, &req, "/var/lib", "holds /var/lib/vigil");
  delete_refused (f, &req, "/var/lib/vigil/Quarantine/x.vqo", "protected_paths: \"/var/lib/vigil/**\"");
  delete_refused (f, &req, "/srv/agent-state/vigil.db", "the agent's own state folder");
  delete_refused (f, &req, "/srv", "the agent's own state folder");
  g_assert_true (exists (f->root, "etc/passwd"));
  g_assert_true (exists (f->root, "usr/bin/ls"));
  g_assert_true (exists (state, "vigil.db"));
  /* What is not system-critical can go: /root itself is, what it holds is not. */
  result = delete_ok (f, &req, "/root/.ssh/authorized_keys", TRUE);
  g_clear_pointer (&result, json_object_unref);
  result = delete_ok (f, &req, "/usr/local/bin/miner", TRUE);
  g_assert_false (exists (f->root, "usr/local/bin/miner"));
}

static void
test_protected_entries_checked (Fx *f, gconstpointer data)
{
  static const char *const bad[] = { "etc", "/etc/*", "/a*/b", "/a/../b/**", "", NULL };
  static const char *const good[] = { "/", "/**", "/opt/app/**", "/srv/data", NULL };

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autofree char *why = resp_delete_protected_check (bad[i]);
      if (why == NULL)
        g_error ("protected path \"%s\" was accepted", bad[i]);
    }
  for (guint i = 0; good[i] != NULL; i++)
    {
      g_autofree char *why = resp_delete_protected_check (good[i]);
      g_assert_null (why);
    }
}

typedef struct {
  Fx       *f;
  guint     calls;
  gboolean  fail_for_b;
} Copier;

/* Stands in for the quarantine: checks it is asked while the file is
 * still there, and fails for any file named "b" when told to. */
static gboolean
fake_quarantine (const char *device_path, const char *sha256, gpointer data, char **object_id,
                 GError **error)
{
  Copier *c = data;

  c->calls++;
  g_assert_true (exists (c->f->root, device_path + 1));
  g_assert_cmpuint (strlen (sha256), ==, 64);
  if (c->fail_for_b && g_str_has_suffix (device_path, "/b"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "the quarantine is full");
      return FALSE;
    }
  *object_id = g_strdup_printf ("%032u", c->calls);
  return TRUE;
}

static void
test_failed_copy_deletes_nothing (Fx *f, gconstpointer data)
{
  Copier c = { .f = f, .fail_for_b = TRUE };
  RespDelete req = { .quarantine = fake_quarantine, .quarantine_data = &c };
  g_autoptr (JsonObject) result = NULL;
  JsonObject *rec;

  g_free (plant (f->root, "x/b", "b"));
  result = delete_ok (f, &req, "/x/b", FALSE);
  rec = record_of (result, "not_deleted", "/x/b");
  g_assert_nonnull (strstr (json_object_get_string_member (rec, "reason"), "the quarantine is full"));
  g_assert_nonnull (json_object_get_string_member (rec, "sha256"));
  g_assert_true (exists (f->root, "x/b"));
  g_assert_cmpuint (c.calls, ==, 1);
}

static void
test_partial_folder_lists_both (Fx *f, gconstpointer data)
{
  Copier c = { .f = f, .fail_for_b = TRUE };
  RespDelete req = { .recursive = TRUE, .quarantine = fake_quarantine, .quarantine_data = &c };
  g_autoptr (JsonObject) result = NULL;

  g_free (plant (f->root, "kit/a", "a"));
  g_free (plant (f->root, "kit/sub/b", "b"));
  g_free (plant (f->root, "kit/sub/c", "c"));
  result = delete_ok (f, &req, "/kit", FALSE);
  g_assert_nonnull (json_object_get_string_member (record_of (result, "deleted", "/kit/a"),
                                                   "quarantine_id"));
  record_of (result, "deleted", "/kit/sub/c");
  record_of (result, "not_deleted", "/kit/sub/b");
  g_assert_nonnull (strstr (json_object_get_string_member (record_of (result, "not_deleted", "/kit/sub"),
                                                           "reason"), "not empty"));
  record_of (result, "not_deleted", "/kit");
  g_assert_false (exists (f->root, "kit/a"));
  g_assert_false (exists (f->root, "kit/sub/c"));
  g_assert_true (exists (f->root, "kit/sub/b"));
  g_assert_cmpuint (c.calls, ==, 3);
}

/* A file system mounted inside a folder being deleted is left alone: the
 * mount lives in a mount namespace of the test's own, so it goes away with
 * the test whatever happens. */
static void
test_mount_inside_not_crossed (Fx *f, gconstpointer data)
{
  g_autofree char *mnt = g_build_filename (f->root, "kit/mnt", NULL);
  g_autoptr (JsonObject) result = NULL;
  RespDelete req = { .recursive = TRUE };

  g_assert_cmpint (unshare (CLONE_NEWNS), ==, 0);
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    {
      /* In a chroot whose "/" is not a mount point (a bare Debian root
       * made by debootstrap) "/" cannot be made private, and a mount made
       * here could then reach the machine's own namespace: nothing to
       * test with, and nothing of file.delete's has run yet. */
      g_assert_cmpint (errno, ==, EINVAL);
      g_test_skip ("\"/\" is not a mount point here (a chroot): no private mount namespace to mount in");
      return;
    }
  g_free (plant (f->root, "kit/a", "a"));
  g_assert_cmpint (g_mkdir_with_parents (mnt, 0755), ==, 0);
  g_assert_cmpint (mount ("tmpfs", mnt, "tmpfs", 0, "size=1m"), ==, 0);
  g_free (plant (mnt, "other-fs.txt", "on another file system"));
  result = delete_ok (f, &req, "/kit", FALSE);
  g_assert_nonnull (strstr (json_object_get_string_member (record_of (result, "not_deleted", "/kit/mnt"),
                                                           "reason"), "another file system"));
  record_of (result, "deleted", "/kit/a");
  g_assert_true (exists (mnt, "other-fs.txt"));
  g_assert_cmpint (umount (mnt), ==, 0);
}

/* ---- through the built vigil ---------------------------------------- */

static void
expect (const VtCli *r, int status, const char *needle)
{
  if (r->status != status || (needle && !strstr (r->out, needle) && !strstr (r->err, needle)))
    g_error ("expected exit %d and \"%s\", got %d:\nstdout: %s\nstderr: %s", status,
             needle ? needle : "", r->status, r->out, r->err);
}

static JsonNode *
json_out (const VtCli *r)
{
  JsonNode *node = json_from_string (r->out, NULL);

  if (node == NULL)
    g_error ("not JSON: %s", r->out);
  return node;
}

static void
cli_setup (Fx *f, gconstpointer data)
{
  setup (f, data);
  vt_cli_ok (f->state, "group", "add", "office", NULL);
  vt_cli_ok (f->state, "device", "add", "lab", "--group", "office", "--root", f->root, NULL);
}

/* The first run's result of task @id. */
static JsonObject *
task_result (Fx *f, const char *id)
{
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonNode) node = NULL;
  JsonObject *run;

  vt_cli_run (&r, f->state, NULL, NULL, "task", "results", id, "--json", NULL);
  expect (&r, 0, NULL);
  node = json_out (&r);
  run = json_array_get_object_element (json_node_get_array (node), 0);
  return json_object_ref (json_object_get_object_member (run, "result"));
}

static void
test_quarantine_first_restorable (Fx *f, gconstpointer data)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, CONTENT, -1);
  g_autofree char *restored = NULL;
  g_autofree char *id = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) events = NULL;
  g_auto (VtCli) r = { 0 };
  JsonObject *rec, *object = NULL, *payload;
  const char *qid;

  g_free (plant (f->root, "home/mallory/dropper.bin", CONTENT));
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "delete", "/home/mallory/dropper.bin",
              "--device", "lab", "--quarantine", "--json", NULL);
  expect (&r, 0, "file.delete");
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "run", id, NULL);
  expect (&r, 0, NULL);
  vt_cli_clear (&r);
  g_assert_false (exists (f->root, "home/mallory/dropper.bin"));

  result = task_result (f, id);
  rec = record_of (result, "deleted", "/home/mallory/dropper.bin");
  g_assert_cmpstr (json_object_get_string_member (rec, "sha256"), ==, sha);
  qid = json_object_get_string_member (rec, "quarantine_id");
  g_assert_nonnull (qid);

  /* The copy is the quarantine's own object, with the file's hash ... */
  vt_cli_run (&r, f->state, NULL, NULL, "quarantine", "list", "--device", "lab", "--json", NULL);
  expect (&r, 0, NULL);
  list = json_out (&r);
  vt_cli_clear (&r);
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (json_node_get_array (list), i), "id"), qid) == 0)
      object = json_array_get_object_element (json_node_get_array (list), i);
  g_assert_nonnull (object);
  g_assert_cmpstr (json_object_get_string_member (object, "sha256"), ==, sha);

  /* ... an event records the deletion ... */
  vt_cli_run (&r, f->state, NULL, NULL, "events", "--type", "file.deleted", "--json", NULL);
  expect (&r, 0, NULL);
  events = json_out (&r);
  vt_cli_clear (&r);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (events)), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (json_node_get_array (events), 0),
                                           "payload");
  g_assert_cmpstr (json_object_get_string_member (payload, "path"), ==, "/home/mallory/dropper.bin");
  g_assert_cmpstr (json_object_get_string_member (payload, "sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (payload, "quarantine_id"), ==, qid);

  /* ... and it restores to what was deleted. */
  vt_cli_run (&r, f->state, NULL, NULL, "quarantine", "restore", qid, "--device", "lab", NULL);
  expect (&r, 0, NULL);
  restored = g_build_filename (f->root, "home/mallory/dropper.bin", NULL);
  {
    g_autofree char *back = NULL;
    g_assert_true (g_file_get_contents (restored, &back, NULL, NULL));
    g_assert_cmpstr (back, ==, CONTENT);
  }
}

/* The real quarantine cannot store (its folder is taken by a file): the
 * run fails and the file is still there. */
static void
test_quarantine_failure_deletes_nothing (Fx *f, gconstpointer data)
{
  g_autofree char *id = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_auto (VtCli) r = { 0 };

  g_free (plant (f->root, "home/mallory/dropper.bin", CONTENT));
  g_free (plant (f->root, "var/lib/vigil", "not a folder"));
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "delete", "/home/mallory/dropper.bin",
              "--device", "lab", "--quarantine", "--json", NULL);
  expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "run", id, NULL);
  expect (&r, 1, "could not be deleted");
  g_assert_true (exists (f->root, "home/mallory/dropper.bin"));
  result = task_result (f, id);
  g_assert_nonnull (strstr (json_object_get_string_member (
                              record_of (result, "not_deleted", "/home/mallory/dropper.bin"), "reason"),
                            "the copy into the quarantine failed"));
}

static void
test_cli_checks (Fx *f, gconstpointer data)
{
  g_autofree char *policy = g_build_filename (f->dir, "bad.json", NULL);
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "respond", "delete", "/home/../etc/shadow",
              "--device", "lab", NULL);
  expect (&r, 2, "'..'");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "delete", "/", "--device", "lab", NULL);
  expect (&r, 2, "root folder is never deleted");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "delete", "--device", "lab", NULL);
  expect (&r, 2, "give exactly one PATH");
  vt_cli_clear (&r);
  g_assert_true (g_file_set_contents (policy,
    "{\"name\":\"Bad\",\"group\":\"office\",\"status\":\"active\",\"settings\":"
    "{\"respond\":{\"schema_version\":1,\"file_deletion\":{\"protected_paths\":[\"/etc/*\"]}}}}",
    -1, NULL));
  vt_cli_run (&r, f->state, NULL, NULL, "policy", "apply", policy, NULL);
  g_assert_cmpint (r.status, !=, 0);
  expect (&r, r.status, "file_deletion.protected_paths");
}

static void
test_protected_action (Fx *f, gconstpointer data)
{
  g_autofree char *policy = g_build_filename (f->dir, "pw.json", NULL);
  g_auto (VtCli) r = { 0 };

  g_free (plant (f->root, "tmp/x", "x"));
  /* Protection guards the local user of this machine: its device. */
  vt_cli_ok (f->state, "device", "add", "here", "--group", "office", NULL);
  vt_cli_ok (f->state, "device", "set-machine", "here", NULL);
  g_assert_true (g_file_set_contents (policy,
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1}}}", -1, NULL));
  vt_cli_run (&r, f->state, PASSWORD, NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  expect (&r, 0, NULL);
  vt_cli_clear (&r);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  vt_cli_run (&r, f->state, NULL, NULL, "respond", "delete", "/tmp/x", "--device", "lab", NULL);
  g_assert_cmpint (r.status, !=, 0);
  expect (&r, r.status, "password");
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, PASSWORD, NULL, "respond", "delete", "/tmp/x", "--device", "lab",
              NULL);
  expect (&r, 0, "file.delete");
}

#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)
#define ADD_CLI(path, fn) g_test_add (path, Fx, NULL, cli_setup, fn, teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (geteuid () != 0)
    g_error ("test-delete runs as root: it sets owners and the set-uid bit");
  ADD ("/respond/delete/file-recorded-and-deleted", test_file_recorded_and_deleted);
  ADD ("/respond/delete/folder-needs-recursive", test_folder_needs_recursive);
  ADD ("/respond/delete/symlink-escape-refused", test_symlink_escape_refused);
  ADD ("/respond/delete/dotdot-refused", test_dotdot_refused);
  ADD ("/respond/delete/protected-paths-refused", test_protected_paths_refused);
  ADD ("/respond/delete/protected-entries-checked", test_protected_entries_checked);
  ADD ("/respond/delete/failed-copy-deletes-nothing", test_failed_copy_deletes_nothing);
  ADD ("/respond/delete/partial-folder-lists-both", test_partial_folder_lists_both);
  ADD ("/respond/delete/mount-inside-not-crossed", test_mount_inside_not_crossed);
  ADD_CLI ("/respond/delete/cli/quarantine-first-restorable", test_quarantine_first_restorable);
  ADD_CLI ("/respond/delete/cli/quarantine-failure-deletes-nothing",
           test_quarantine_failure_deletes_nothing);
  ADD_CLI ("/respond/delete/cli/checks", test_cli_checks);
  ADD_CLI ("/respond/delete/cli/protected-action", test_protected_action);
  return g_test_run ();
}
