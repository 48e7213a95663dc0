/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store size ledger (qledger.c): puts and deletes read the store size
 * from `.ledger` instead of listing the folder, so the limit events stay
 * exact only if the ledger is. Two store handles on one folder stand for
 * two processes (the ledger is a file and the lock an flock per open
 * file); a ledger left dirty by a killed process, one from another boot
 * and one changed behind the store's back must all be recounted, and a
 * current one must really be what a put uses.
 */
#include "qtest-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char *
ledger_path (QFixture *f)
{
  return g_build_filename (f->store_dir, ".ledger", NULL);
}

static char *
this_boot (void)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents ("/proc/sys/kernel/random/boot_id", &text, NULL, NULL));
  return g_strdup (g_strstrip (text));
}

/* Overwrites the ledger in place (the store keeps it open, so replacing
 * the file by a rename would go unseen). */
static void
write_ledger (QFixture *f, const char *text)
{
  g_autofree char *path = ledger_path (f);
  int fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (vigil_write_all (fd, text, strlen (text)));
  close (fd);
}

/* Writes a ledger record by hand, as the format in qledger.c defines it. */
static void
plant_ledger (QFixture *f, const char *state, guint64 size, const char *boot)
{
  g_autofree char *text = g_strdup_printf ("vigil-quarantine-size 1 %s %020" G_GUINT64_FORMAT
                                           " %s\n", state, size, boot);

  write_ledger (f, text);
}

static QPutResult
put_file (QFixture *f, QStore *store, const char *path, gsize len)
{
  QPutRequest req = { .root = f->root, .path = path, .now_us = 1 };
  g_autoptr (GError) error = NULL;
  QPutResult res;

  g_free (qtest_write_file (f->root, path, len, len));
  g_assert_true (qstore_put (store, &req, NULL, &res, &error));
  g_assert_no_error (error);
  return res;
}

static void
test_two_handles_share_the_ledger (QFixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QStore) other = qstore_open (f->store_dir, NULL, &error);
  QPutResult a, b;
  guint64 before, after, size;

  g_assert_no_error (error);
  a = put_file (f, f->store, "/a.bin", 300000);
  g_assert_cmpuint (a.size_before, ==, 0);
  g_assert_cmpuint (a.size_after, ==, qstore_total_size (f->store));
  b = put_file (f, other, "/b.bin", 5000);
  g_assert_cmpuint (b.size_before, ==, a.size_after);
  g_assert_cmpuint (b.size_after, ==, qstore_total_size (other));
  g_assert_true (qstore_delete (f->store, b.id, &before, &after, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (before, ==, b.size_after);
  g_assert_cmpuint (after, ==, a.size_after);
  {
    QRestoreRequest rr = { .id = a.id, .root = f->root, .name = "a-back.bin" };
    g_autofree char *to = NULL;
    g_assert_true (qstore_restore (other, &rr, NULL, &to, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_true (qstore_size (f->store, &size, &error));
  g_assert_cmpuint (size, ==, 0);
  g_assert_cmpuint (qstore_total_size (f->store), ==, 0);
  qput_result_clear (&a);
  qput_result_clear (&b);
}

/* A process killed between marking the ledger and the change leaves it
 * dirty; here the "change" is an object linked in by hand. */
static void
test_dirty_ledger_is_recounted (QFixture *f, gconstpointer data)
{
  QPutResult a = put_file (f, f->store, "/a.bin", 70000), b;
  g_autofree char *obj = g_strdup_printf ("%s/%s.vqo", f->store_dir, a.id);
  g_autofree char *copy = g_strdup_printf ("%s/%032x.vqo", f->store_dir, 7);
  g_autofree char *boot = this_boot ();

  g_assert_cmpint (link (obj, copy), ==, 0);
  plant_ledger (f, "dirty", a.size_after, boot);
  b = put_file (f, f->store, "/b.bin", 10);
  g_assert_cmpuint (b.size_before, ==, 2 * a.size_after);
  g_assert_cmpuint (b.size_after, ==, qstore_total_size (f->store));
  qput_result_clear (&a);
  qput_result_clear (&b);
}

static void
test_ledger_of_another_boot_is_recounted (QFixture *f, gconstpointer data)
{
  QPutResult a = put_file (f, f->store, "/a.bin", 4096), b;

  plant_ledger (f, "clean", 123456789, "00000000-0000-0000-0000-000000000000");
  b = put_file (f, f->store, "/b.bin", 10);
  g_assert_cmpuint (b.size_before, ==, a.size_after);
  qput_result_clear (&a);
  qput_result_clear (&b);
}

/* A current ledger is trusted as it is (no listing), which is the point of
 * it; a wrong one planted here shows through until the start-up recount
 * (and, in a new process, the recovery sweep when it is not current). */
static void
test_current_ledger_is_used_until_recount (QFixture *f, gconstpointer data)
{
  g_autofree char *boot = this_boot ();
  g_autoptr (GError) error = NULL;
  QPutResult a;
  guint64 size;

  plant_ledger (f, "clean", 1000, boot);
  a = put_file (f, f->store, "/a.bin", 10);
  g_assert_cmpuint (a.size_before, ==, 1000);
  g_assert_true (qstore_recount (f->store, &size, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, qstore_total_size (f->store));
  g_assert_true (qstore_size (f->store, &size, &error));
  g_assert_cmpuint (size, ==, a.size_after - 1000);
  qput_result_clear (&a);
}

static void
test_damaged_ledger_is_recounted (QFixture *f, gconstpointer data)
{
  QPutResult a = put_file (f, f->store, "/a.bin", 2000), b;

  write_ledger (f, "vigil-quarantine-size 1 clean 99 junk");
  b = put_file (f, f->store, "/b.bin", 10);
  g_assert_cmpuint (b.size_before, ==, a.size_after);
  qput_result_clear (&a);
  qput_result_clear (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, QFixture, NULL, qfix_setup, fn, qfix_teardown)
  ADD ("/quarantine/ledger/two-handles-share-it", test_two_handles_share_the_ledger);
  ADD ("/quarantine/ledger/dirty-is-recounted", test_dirty_ledger_is_recounted);
  ADD ("/quarantine/ledger/other-boot-is-recounted", test_ledger_of_another_boot_is_recounted);
  ADD ("/quarantine/ledger/current-is-used-until-recount", test_current_ledger_is_used_until_recount);
  ADD ("/quarantine/ledger/damaged-is-recounted", test_damaged_ledger_is_recounted);
  return g_test_run ();
}
