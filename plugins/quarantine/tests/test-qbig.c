/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One large round trip: a 300 MB file (written sparsely: random 1 MB
 * islands in zeros, so making it is cheap while its content is not
 * uniform) goes into the quarantine and back, and comes back identical in
 * content and metadata, with the process' peak memory growing by a small
 * bounded amount — the engine streams, it never holds the file.
 */
#include "qtest-util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define BIG_SIZE   (300 * (gsize) Q_MB)
#define ISLAND     (1024 * 1024)
#define ISLAND_GAP (16 * (gsize) Q_MB)

static long
peak_rss_kb (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static char *
write_sparse (const char *root)
{
  char *host = g_build_filename (root, "big.iso", NULL);
  g_autofree guint8 *island = g_malloc (ISLAND);
  int fd = open (host, O_WRONLY | O_CREAT | O_TRUNC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, BIG_SIZE), ==, 0);
  for (goffset off = 0; off + ISLAND <= (goffset) BIG_SIZE; off += ISLAND_GAP)
    {
      for (gsize i = 0; i < ISLAND; i += 4)
        {
          guint32 r = g_random_int ();
          memcpy (island + i, &r, 4);
        }
      g_assert_true (q_pwrite_full (fd, island, ISLAND, off + 4093));
    }
  close (fd);
  return host;
}

static void
test_big_round_trip (QFixture *f, gconstpointer data)
{
  g_autofree char *host = write_sparse (f->root);
  g_autofree char *sha = qtest_file_sha256 (host);
  g_autofree char *id = NULL, *to = NULL, *back = NULL;
  g_autoptr (JsonObject) meta = NULL;
  g_autoptr (GError) error = NULL;
  QRestoreRequest rr = { .root = f->root };
  struct stat before, after;
  long rss0;

  g_assert_cmpint (stat (host, &before), ==, 0);
  rss0 = peak_rss_kb ();
  id = qtest_put (f, "/big.iso", TRUE);
  g_assert_false (g_file_test (host, G_FILE_TEST_EXISTS));
  rr.id = id;
  g_assert_true (qstore_restore (f->store, &rr, NULL, &to, &meta, &error));
  g_assert_no_error (error);
  g_test_message ("peak RSS grew by %ld kB for a %zu MB put and restore",
                  peak_rss_kb () - rss0, BIG_SIZE / Q_MB);
  g_assert_cmpint (peak_rss_kb () - rss0, <, 64 * 1024);
  g_assert_cmpstr (to, ==, "/big.iso");
  g_assert_cmpint (stat (host, &after), ==, 0);
  back = qtest_file_sha256 (host);
  g_assert_cmpstr (back, ==, sha);
  g_assert_cmpint (after.st_size, ==, BIG_SIZE);
  g_assert_cmpint (after.st_mode, ==, before.st_mode);
  g_assert_cmpint (after.st_mtim.tv_sec, ==, before.st_mtim.tv_sec);
  g_assert_cmpint (after.st_mtim.tv_nsec, ==, before.st_mtim.tv_nsec);
  g_assert_cmpstr (json_object_get_string_member (meta, "sha256"), ==, sha);
  g_assert_cmpint (json_object_get_int_member (meta, "size"), ==, BIG_SIZE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/quarantine/big/300mb-round-trip-in-bounded-memory", QFixture, NULL,
              qfix_setup, test_big_round_trip, qfix_teardown);
  return g_test_run ();
}
