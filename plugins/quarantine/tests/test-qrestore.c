/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restore as a specification: never over an existing file (a free name is
 * chosen and reported), never outside the allowed root (`..`, symlinked
 * parents, a parent swapped for a symlink after the put), into the restore
 * folder when asked, through the named-temp fallback too, and the restore
 * journal's leftovers are swept.
 */
#include "qtest-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

static gboolean
restore (QFixture *f, const char *id, const char *dir, gboolean named,
         char **to, GError **error)
{
  QRestoreRequest rr = { .id = id, .root = f->root, .dir = dir, .named_temp = named };

  return qstore_restore (f->store, &rr, NULL, to, NULL, error);
}

static void
assert_content (const char *host, const char *expected)
{
  g_autofree char *got = NULL;

  g_assert_true (g_file_get_contents (host, &got, NULL, NULL));
  g_assert_cmpstr (got, ==, expected);
}

static char *
put_text (QFixture *f, const char *path, const char *text)
{
  g_autofree char *host = g_build_filename (f->root, path, NULL);
  g_autofree char *dir = g_path_get_dirname (host);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (host, text, -1, NULL));
  return qtest_put (f, path, TRUE);
}

static void
test_never_overwrites (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/docs/report.pdf", "first");
  g_autofree char *b = put_text (f, "/docs/report.pdf", "second");
  g_autofree char *c = put_text (f, "/docs/report.pdf", "third");
  g_autofree char *host = g_build_filename (f->root, "docs/report.pdf", NULL);
  g_autofree char *to1 = NULL, *to2 = NULL, *to3 = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (host, "a new file by the user", -1, NULL));
  g_assert_true (restore (f, a, NULL, FALSE, &to1, &error));
  g_assert_true (restore (f, b, NULL, TRUE, &to2, &error));
  g_assert_true (restore (f, c, NULL, FALSE, &to3, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (to1, ==, "/docs/report (1).pdf");
  g_assert_cmpstr (to2, ==, "/docs/report (2).pdf");
  g_assert_cmpstr (to3, ==, "/docs/report (3).pdf");
  assert_content (host, "a new file by the user");
  {
    g_autofree char *h1 = g_build_filename (f->root, to1, NULL);
    g_autofree char *h2 = g_build_filename (f->root, to2, NULL);
    assert_content (h1, "first");
    assert_content (h2, "second");
  }
}

static void
test_free_name_for_dotfile (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/home/.bashrc", "rc");
  g_autofree char *host = g_build_filename (f->root, "home/.bashrc", NULL);
  g_autofree char *to = NULL;

  g_assert_true (g_file_set_contents (host, "taken", -1, NULL));
  g_assert_true (restore (f, a, NULL, FALSE, &to, NULL));
  g_assert_cmpstr (to, ==, "/home/.bashrc (1)");
}

static void
test_into_restore_folder (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/home/alice/x.exe", "payload");
  g_autofree char *to = NULL, *host = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (restore (f, a, "/var/lib/vigil/Restored", FALSE, &to, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (to, ==, "/var/lib/vigil/Restored/x.exe");
  host = g_build_filename (f->root, to, NULL);
  assert_content (host, "payload");
  g_assert_cmpuint (qstore_total_size (f->store), ==, 0);
}

static void
test_refuses_dotdot (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/x.exe", "payload");
  g_autofree char *to = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_false (restore (f, a, "/../escape", FALSE, &to, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_REFUSED);
  g_assert_null (to);
  {
    g_autofree char *escape = g_build_filename (f->base, "escape", NULL);
    g_assert_false (g_file_test (escape, G_FILE_TEST_EXISTS));
  }
  g_assert_true (qstore_verify (f->store, a, NULL, NULL));
}

static void
test_refuses_symlinked_parent (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/home/alice/x.exe", "payload");
  g_autofree char *alice = g_build_filename (f->root, "home/alice", NULL);
  g_autofree char *outside = g_build_filename (f->base, "outside", NULL);
  g_autofree char *to = NULL;
  g_autoptr (GError) error = NULL;

  /* After the put, the original folder became a symlink out of the root. */
  g_assert_cmpint (g_mkdir (outside, 0755), ==, 0);
  g_assert_cmpint (g_rmdir (alice), ==, 0);
  g_assert_cmpint (symlink (outside, alice), ==, 0);
  g_assert_false (restore (f, a, NULL, FALSE, &to, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_REFUSED);
  g_assert_cmpuint (qtest_count_visible (outside), ==, 0);
  g_assert_true (qstore_verify (f->store, a, NULL, NULL));
}

static void
test_refuses_store_folder (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/x.exe", "payload");
  QRestoreRequest rr = { .id = a, .root = f->base, .dir = "/store" };
  g_autoptr (GError) error = NULL;

  g_assert_false (qstore_restore (f->store, &rr, NULL, NULL, NULL, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_REFUSED);
}

static void
test_unknown_id (QFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (restore (f, "0123456789abcdef0123456789abcdef", NULL, FALSE, NULL, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (restore (f, "../store.key", NULL, FALSE, NULL, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_NOT_FOUND);
}

static void
test_keep_object (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/x.exe", "payload");
  QRestoreRequest rr = { .id = a, .root = f->root, .keep_object = TRUE };
  g_autofree char *to = NULL;

  g_assert_true (qstore_restore (f->store, &rr, NULL, &to, NULL, NULL));
  g_assert_true (qstore_verify (f->store, a, NULL, NULL));
}

static void
test_journal_leftover_swept (QFixture *f, gconstpointer data)
{
  g_autofree char *temp = g_build_filename (f->root, ".vigil-restore-deadbeef", NULL);
  g_autofree char *other = g_build_filename (f->root, "innocent.txt", NULL);
  g_autofree char *j1 = g_build_filename (f->store_dir, ".restore-deadbeef.journal", NULL);
  g_autofree char *j2 = g_build_filename (f->store_dir, ".restore-cafecafe.journal", NULL);
  g_autoptr (GPtrArray) removed = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (temp, "half a file", -1, NULL));
  g_assert_true (g_file_set_contents (other, "keep me", -1, NULL));
  g_assert_true (g_file_set_contents (j1, temp, -1, NULL));
  /* A journal naming a file without the restore prefix removes nothing. */
  g_assert_true (g_file_set_contents (j2, other, -1, NULL));
  removed = qstore_recover (f->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_cmpstr (removed->pdata[0], ==, temp);
  g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (j1, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (j2, G_FILE_TEST_EXISTS));
  assert_content (other, "keep me");
}

static void
test_named_temp_leaves_nothing (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/d/x.exe", "payload");
  g_autofree char *dir = g_build_filename (f->root, "d", NULL);
  g_autofree char *to = NULL;
  g_autoptr (GDir) d = NULL;
  const char *name;
  guint n = 0;

  g_assert_true (restore (f, a, NULL, TRUE, &to, NULL));
  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_assert_cmpstr (name, ==, "x.exe");
      n++;
    }
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (qtest_count_visible (f->store_dir), ==, 1);
  {
    g_autoptr (GPtrArray) removed = qstore_recover (f->store, NULL);
    g_assert_cmpuint (removed->len, ==, 0);
  }
}

static void
test_owner_restored_as_root (QFixture *f, gconstpointer data)
{
  g_autofree char *host = qtest_write_file (f->root, "/home/carol/notes.txt", 100, 8);
  g_autofree char *id = NULL, *to = NULL;
  struct stat st;

  if (geteuid () != 0)
    {
      g_test_skip ("owners are only restored when running as root");
      return;
    }
  g_assert_cmpint (chown (host, 1234, 4321), ==, 0);
  id = qtest_put (f, "/home/carol/notes.txt", TRUE);
  g_assert_true (restore (f, id, NULL, FALSE, &to, NULL));
  g_assert_cmpint (stat (host, &st), ==, 0);
  g_assert_cmpint (st.st_uid, ==, 1234);
  g_assert_cmpint (st.st_gid, ==, 4321);
}

#define ADD(path, fn) g_test_add (path, QFixture, NULL, qfix_setup, fn, qfix_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/quarantine/restore/never-overwrites-picks-free-name", test_never_overwrites);
  ADD ("/quarantine/restore/free-name-for-dotfile", test_free_name_for_dotfile);
  ADD ("/quarantine/restore/into-restore-folder", test_into_restore_folder);
  ADD ("/quarantine/restore/refuses-dotdot", test_refuses_dotdot);
  ADD ("/quarantine/restore/refuses-symlinked-parent", test_refuses_symlinked_parent);
  ADD ("/quarantine/restore/refuses-the-store-folder", test_refuses_store_folder);
  ADD ("/quarantine/restore/unknown-id-not-found", test_unknown_id);
  ADD ("/quarantine/restore/keep-object-when-asked", test_keep_object);
  ADD ("/quarantine/restore/journal-leftover-swept", test_journal_leftover_swept);
  ADD ("/quarantine/restore/named-temp-leaves-nothing", test_named_temp_leaves_nothing);
  ADD ("/quarantine/restore/owner-restored-as-root", test_owner_restored_as_root);
  return g_test_run ();
}
