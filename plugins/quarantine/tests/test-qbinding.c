/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Objects are bound to their file names and to their history: two object
 * files swapped (or one renamed) are refused, never read under another
 * object's id, and a restored or deleted object whose file is copied back
 * into the folder is never restorable again (the record of ended ids,
 * qended.c), including after a crash between the record and the unlink
 * and with a torn last line in the record.
 */
#include "qtest-util.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static char *
put_text (QFixture *f, const char *path, const char *text)
{
  g_autofree char *host = g_build_filename (f->root, path, NULL);
  g_autofree char *dir = g_path_get_dirname (host);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (host, text, -1, NULL));
  return qtest_put (f, path, TRUE);
}

static char *
object_path (QFixture *f, const char *id)
{
  g_autofree char *name = g_strconcat (id, Q_OBJECT_SUFFIX, NULL);
  return g_build_filename (f->store_dir, name, NULL);
}

static gboolean
restore (QFixture *f, const char *id, GError **error)
{
  QRestoreRequest rr = { .id = id, .root = f->root };
  g_autofree char *to = NULL;

  return qstore_restore (f->store, &rr, NULL, &to, NULL, error);
}

/* Copies a file byte for byte (a backup put back). */
static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, len, NULL));
}

static void
test_swapped_files_refused (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/a.exe", "content of A");
  g_autofree char *b = put_text (f, "/b.exe", "content of B");
  g_autofree char *pa = object_path (f, a), *pb = object_path (f, b);
  g_autofree char *tmp = g_strconcat (pa, ".swap", NULL);
  g_autofree char *host_a = g_build_filename (f->root, "a.exe", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) shown = NULL;

  g_assert_cmpint (g_rename (pa, tmp), ==, 0);
  g_assert_cmpint (g_rename (pb, pa), ==, 0);
  g_assert_cmpint (g_rename (tmp, pb), ==, 0);
  /* A's id now names B's object: refused by restore, show and verify. */
  g_assert_false (restore (f, a, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "renamed or swapped"));
  g_clear_error (&error);
  g_assert_false (g_file_test (host_a, G_FILE_TEST_EXISTS));
  shown = qstore_show (f->store, a, &error);
  g_assert_null (shown);
  g_assert_error (error, Q_ERROR, Q_ERROR_AUTH);
  g_clear_error (&error);
  g_assert_false (qstore_verify (f->store, b, NULL, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_AUTH);
}

static void
test_copy_back_after_restore_refused (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/a.exe", "content of A");
  g_autofree char *pa = object_path (f, a);
  g_autofree char *backup = g_build_filename (f->base, "backup.vqo", NULL);
  g_autofree char *host_a = g_build_filename (f->root, "a.exe", NULL);
  g_autoptr (GError) error = NULL;

  copy_file (pa, backup);
  g_assert_true (restore (f, a, NULL));
  g_assert_cmpint (g_unlink (host_a), ==, 0);
  copy_file (backup, pa);
  g_assert_false (restore (f, a, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "was restored or deleted"));
  g_assert_false (g_file_test (host_a, G_FILE_TEST_EXISTS));
}

static void
test_copy_back_after_delete_refused (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/a.exe", "content of A");
  g_autofree char *pa = object_path (f, a);
  g_autofree char *backup = g_build_filename (f->base, "backup.vqo", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QStore) again = NULL;
  g_autoptr (GPtrArray) swept = NULL;

  copy_file (pa, backup);
  g_assert_true (qstore_delete (f->store, a, NULL, NULL, NULL, NULL));
  copy_file (backup, pa);
  g_assert_false (restore (f, a, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_REFUSED);
  g_clear_error (&error);
  /* The next open of the store sweeps the copy away. */
  again = qstore_open (f->store_dir, &swept, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (swept->len, ==, 1);
  g_assert_false (g_file_test (pa, G_FILE_TEST_EXISTS));
}

/* A crash after the id was recorded and before the object was unlinked:
 * the object is refused and swept; a torn last line of the record (a
 * crash inside the append) does not count, and the next append is whole. */
static void
test_crash_between_record_and_unlink (QFixture *f, gconstpointer data)
{
  g_autofree char *a = put_text (f, "/a.exe", "content of A");
  g_autofree char *b = put_text (f, "/b.exe", "content of B");
  g_autofree char *record = g_build_filename (f->store_dir, ".ended", NULL);
  g_autofree char *torn = NULL, *whole = NULL;
  g_autofree char *pa = object_path (f, a);
  g_autoptr (GError) error = NULL;
  g_autoptr (QStore) again = NULL;
  g_autoptr (GPtrArray) swept = NULL;
  gboolean ended = TRUE;
  int fd;

  g_assert_true (qended_add (f->store, a, NULL));
  g_assert_false (restore (f, a, &error));
  g_assert_error (error, Q_ERROR, Q_ERROR_REFUSED);
  g_clear_error (&error);
  /* Torn: half of b's id, no newline. */
  fd = open (record, O_WRONLY | O_APPEND);
  g_assert_cmpint (write (fd, b, 16), ==, 16);
  close (fd);
  g_assert_true (qended_contains (f->store, b, &ended, NULL));
  g_assert_false (ended);
  g_assert_true (restore (f, b, NULL));
  g_assert_true (qended_contains (f->store, b, &ended, NULL));
  g_assert_true (ended);
  again = qstore_open (f->store_dir, &swept, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (swept->len, ==, 1);
  g_assert_cmpstr (swept->pdata[0], ==, strrchr (pa, '/') + 1);
  /* The torn half line, then b's id on a line of its own. */
  g_assert_true (g_file_get_contents (record, &torn, NULL, NULL));
  whole = g_strdup_printf ("%s\n%.16s\n%s\n", a, b, b);
  g_assert_cmpstr (torn, ==, whole);
}

#define ADD(path, fn) g_test_add (path, QFixture, NULL, qfix_setup, fn, qfix_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/quarantine/binding/swapped-files-refused", test_swapped_files_refused);
  ADD ("/quarantine/binding/copy-back-after-restore-refused", test_copy_back_after_restore_refused);
  ADD ("/quarantine/binding/copy-back-after-delete-refused", test_copy_back_after_delete_refused);
  ADD ("/quarantine/binding/crash-between-record-and-unlink", test_crash_between_record_and_unlink);
  return g_test_run ();
}
