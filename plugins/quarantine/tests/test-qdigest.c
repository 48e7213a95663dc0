/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The put's digests and byte layout around every boundary of its pipeline:
 * MD5 runs on a helper thread over a small ring of chunk buffers while the
 * caller does SHA-256 and AES-GCM, and small files skip the thread. The
 * recorded MD5 and SHA-256 must equal independently computed ones (GLib's
 * GChecksum, not the engine's code) at sizes around the thread threshold,
 * the chunk size and the ring's wrap-around; and the writer must produce
 * exactly the bytes it produced before the pipeline existed (objects
 * sealed with a fixed key and id, compared with recorded SHA-256 sums), so
 * the on-disk format cannot drift unnoticed.
 */
#include "qtest-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (1024 * 1024)
#define KIB   1024

static void
assert_digests_match (QFixture *f, gsize len, guint32 seed)
{
  g_autofree char *host = qtest_write_file (f->root, "/d/sample.bin", len, seed);
  g_autofree char *contents = NULL, *md5 = NULL, *sha = NULL, *id = NULL;
  g_autoptr (JsonObject) meta = NULL;
  g_autoptr (GError) error = NULL;
  gsize got;

  g_assert_true (g_file_get_contents (host, &contents, &got, NULL));
  g_assert_cmpuint (got, ==, len);
  md5 = g_compute_checksum_for_data (G_CHECKSUM_MD5, (guint8 *) contents, got);
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) contents, got);
  id = qtest_put (f, "/d/sample.bin", TRUE);
  meta = qstore_show (f->store, id, &error);
  g_assert_no_error (error);
  g_test_message ("size %" G_GSIZE_FORMAT, len);
  g_assert_cmpint (json_object_get_int_member (meta, "size"), ==, len);
  g_assert_cmpstr (json_object_get_string_member (meta, "md5"), ==, md5);
  g_assert_cmpstr (json_object_get_string_member (meta, "sha256"), ==, sha);
  g_assert_true (qstore_verify (f->store, id, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (qstore_delete (f->store, id, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_digests_at_boundaries (QFixture *f, gconstpointer data)
{
  /* 0 and 1; the single-threaded / threaded edge (256 KiB); one chunk
   * and its neighbours; more chunks than the ring holds, plus a tail. */
  const gsize sizes[] = { 0, 1, 256 * KIB - 1, 256 * KIB, 256 * KIB + 1,
                          CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK,
                          6 * CHUNK + 12345 };

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    assert_digests_match (f, sizes[i], 100 + i);
}

static void
cancel_after_3mb (double fraction, gpointer data)
{
  if (fraction >= 3.0 / 8)
    g_cancellable_cancel (data);
}

/* Cancelled with MD5 chunks still queued on the helper thread: the put
 * fails as cancelled, the helper is drained and joined before the ring is
 * freed (the sanitizer builds see any late read), nothing is left over. */
static void
test_cancel_mid_pipeline (QFixture *f, gconstpointer data)
{
  g_autofree char *host = qtest_write_file (f->root, "/big.bin", 8 * CHUNK, 9);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  QPutRequest req = { .root = f->root, .path = "/big.bin", .delete_original = TRUE,
                      .progress = cancel_after_3mb, .progress_data = cancel };
  QPutResult res;
  g_autoptr (GError) error = NULL;

  g_assert_false (qstore_put (f->store, &req, cancel, &res, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_file_test (host, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (qtest_count_visible (f->store_dir), ==, 1);  /* the key */
  g_assert_cmpuint (qstore_total_size (f->store), ==, 0);
  {
    g_autoptr (GDir) dir = g_dir_open (f->store_dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, ".tmp-"));
  }
}

/* The writer's output for a fixed key, id, metadata and content, fed in
 * slices of @slice bytes. Returns the SHA-256 of the object file. */
static char *
seal_fixed (gsize len, gsize slice)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) meta = json_object_new ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  g_autofree guint8 *buf = g_malloc (slice);
  guint8 raw[Q_KEY_LEN], id[Q_ID_LEN];
  QKey key;
  guint64 written = 0;
  char *sha;
  int fd;

  for (guint i = 0; i < Q_KEY_LEN; i++)
    raw[i] = i * 7 + 1;
  for (guint i = 0; i < Q_ID_LEN; i++)
    id[i] = 0xa0 + i;
  qkey_from_bytes (raw, &key);
  json_object_set_string_member (meta, "path", "/fixed.bin");
  json_object_set_int_member (meta, "size", len);
  json_object_set_string_member (meta, "md5", "00000000000000000000000000000000");
  json_object_set_string_member (meta, "sha256",
      "0000000000000000000000000000000000000000000000000000000000000000");
  fd = g_file_open_tmp ("vigil-qdigest-XXXXXX", &path, &error);
  g_assert_no_error (error);
  {
    g_autoptr (QObjectWriter) w = qobject_writer_new (fd, &key, id, meta, &error);
    g_assert_no_error (error);
    for (gsize done = 0; done < len; done += slice)
      {
        gsize n = MIN (slice, len - done);
        for (gsize i = 0; i < n; i++)
          buf[i] = g_rand_int (rand) >> 24;
        g_assert_true (qobject_writer_write (w, buf, n, &error));
        g_assert_no_error (error);
      }
    g_assert_true (qobject_writer_finish (w, &written, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpuint (written, ==, len);
  close (fd);
  sha = qtest_file_sha256 (path);
  unlink (path);
  qkey_clear (&key);
  return sha;
}

static void
test_layout_unchanged (void)
{
  /* Recorded from the version-1 writer before MD5 moved to a pipelined
   * thread: a mismatch here is a format change, not a refactoring. */
  const struct { gsize len; const char *sha; } cases[] = {
    { 0,             "d27cb6d72b7e444d7f1d5e602f5064497ce48092fabe06a63b037ba523e276a4" },
    { 1000,          "a615f7805fa560cd0e0d3287274a883029324b654c06833f1a79a07fa48b929f" },
    { 256 * KIB,     "60d909605fa024e9fc1198fd751b8c21bf82c333406a90b15b28ef75985bbd61" },
    { CHUNK,         "a33bf929fc439db452b97e680d07d5ae804c7cb8e1f41b6387b0665f3c6fce4b" },
    { CHUNK + 1,     "d27f29bb5c6920520cb21503c5866a21bad34bace6befbe8eb150474938e7f5e" },
    { 5 * CHUNK + 7, "abd572a8b24e2904fdfa0a4acd00bc2e7bc992e8f7506ae427783e082211b771" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* Whole chunks at once, and odd slices that straddle chunk edges. */
      g_autofree char *a = seal_fixed (cases[i].len, CHUNK);
      g_autofree char *b = seal_fixed (cases[i].len, 100003);
      g_test_message ("len %" G_GSIZE_FORMAT ": %s", cases[i].len, a);
      g_assert_cmpstr (a, ==, b);
      g_assert_cmpstr (a, ==, cases[i].sha);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/quarantine/digest/boundaries", QFixture, NULL, qfix_setup,
              test_digests_at_boundaries, qfix_teardown);
  g_test_add ("/quarantine/digest/cancel-mid-pipeline", QFixture, NULL, qfix_setup,
              test_cancel_mid_pipeline, qfix_teardown);
  g_test_add_func ("/quarantine/digest/layout-unchanged", test_layout_unchanged);
  return g_test_run ();
}
