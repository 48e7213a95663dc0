/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multi-buffer MD5 gives the same digests as GLib's MD5 for every length
 * around the block and padding boundaries, and for files of many sizes
 * hashed together in the lanes (files finishing at different times,
 * lanes reused), and the scanner finds the same files with and without it.
 */
#include "ioc-test-util.h"
#include "scan-md5mb.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void
fill_random (guint8 *buf, gsize len, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8) g_rand_int (r);
  g_rand_free (r);
}

static void
test_oneshot_all_small_lengths (void)
{
  guint8 buf[300];
  char hex[33];

  fill_random (buf, sizeof buf, 1);
  for (gsize len = 0; len <= sizeof buf; len++)
    {
      g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_MD5, buf, len);
      ioc_md5_oneshot (buf, len, hex);
      g_assert_cmpstr (hex, ==, want);
    }
}

typedef struct {
  GHashTable *got;   /* path -> hex */
} Done;

static void
on_done (gpointer data, int fd, const char *hex, guint64 bytes, int error, gpointer user_data)
{
  Done *d = user_data;
  close (fd);
  g_assert_nonnull (hex);
  g_hash_table_insert (d->got, data, g_strdup (hex));
}

static void
test_lanes_match_reference (void)
{
  const gsize sizes[] = { 0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 4096, 65535, 65536,
                          65537, 100000, 200003, 3, 777, 131072, 70000, 5, 64 * 1024 * 3 + 17 };
  g_autofree char *dir = g_dir_make_tmp ("ioc-mb-XXXXXX", NULL);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) wants = g_ptr_array_new_with_free_func (g_free);
  Done d = { g_hash_table_new_full (NULL, NULL, NULL, g_free) };
  g_autoptr (IocMd5Mb) mb = ioc_md5mb_new ();

  if (mb == NULL)
    {
      g_test_skip ("this CPU has no AVX2: the scanner uses OpenSSL MD5 only");
      g_hash_table_unref (d.got);
      vt_rm_rf (dir);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *buf = g_malloc (sizes[i] + 1);
      g_autofree char *name = g_strdup_printf ("f%02u", i);
      fill_random (buf, sizes[i], 100 + i);
      g_ptr_array_add (paths, plant (dir, name, (const char *) buf, sizes[i]));
      g_ptr_array_add (wants, g_compute_checksum_for_data (G_CHECKSUM_MD5, buf, sizes[i]));
    }
  for (guint i = 0; i < paths->len; i++)
    {
      int fd = open (paths->pdata[i], O_RDONLY);
      g_assert_cmpint (fd, >=, 0);
      while (!ioc_md5mb_has_room (mb))
        ioc_md5mb_step (mb, on_done, &d);
      /* A wrong size hint must not change the digest, only cost a read. */
      ioc_md5mb_add (mb, fd, i % 5 == 0 ? sizes[i] + 1 : sizes[i], paths->pdata[i]);
    }
  while (!ioc_md5mb_idle (mb))
    ioc_md5mb_step (mb, on_done, &d);
  for (guint i = 0; i < paths->len; i++)
    g_assert_cmpstr (g_hash_table_lookup (d.got, paths->pdata[i]), ==, wants->pdata[i]);
  g_hash_table_unref (d.got);
  vt_rm_rf (dir);
}

static void
test_scan_same_with_and_without (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ioc-mbscan-XXXXXX", NULL);
  GString *body = g_string_new ("<Indicator operator=\"OR\" id=\"o\">");
  g_autofree char *xml = NULL;
  g_autoptr (IocCollection) coll = NULL;
  guint64 found[2] = { 0, 0 }, bytes[2] = { 0, 0 };

  for (guint i = 0; i < 40; i++)
    {
      gsize len = 1000 + i * 3001;
      g_autofree guint8 *buf = g_malloc (len);
      g_autofree char *name = g_strdup_printf ("d%u/f%02u.bin", i % 3, i);
      fill_random (buf, len, 500 + i);
      g_free (plant (dir, name, (const char *) buf, len));
      if (i % 4 == 0)
        {
          g_autofree char *h = g_compute_checksum_for_data (G_CHECKSUM_MD5, buf, len);
          g_string_append_printf (body, "<IndicatorItem condition=\"is\"><Context document=\"FileItem\" "
                                  "search=\"FileItem/Md5sum\"/><Content type=\"md5\">%s</Content>"
                                  "</IndicatorItem>", h);
        }
    }
  g_string_append (body, "</Indicator>");
  xml = ioc11 ("mb", body->str);
  g_string_free (body, TRUE);
  coll = collection_of (xml);
  for (guint k = 0; k < 2; k++)
    {
      IocScope scope = { IOC_SCOPE_CUSTOM, g_ptr_array_new (), NULL };
      IocScanOptions opt = { 0 };
      g_autoptr (IocScanResult) r = NULL;
      g_ptr_array_add (scope.paths, (char *) "/");
      opt.root = dir;
      opt.scope = &scope;
      opt.no_multi_buffer = k == 1;
      r = ioc_scan_run (coll, &opt, NULL);
      found[k] = ((IocDocResult *) r->docs->pdata[0])->n_matches;
      bytes[k] = r->bytes;
      g_ptr_array_unref (scope.paths);
    }
  g_assert_cmpuint (found[0], ==, 10);
  g_assert_cmpuint (found[1], ==, 10);
  g_assert_cmpuint (bytes[0], ==, bytes[1]);
  vt_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/md5mb/oneshot-all-small-lengths", test_oneshot_all_small_lengths);
  g_test_add_func ("/ioc/md5mb/lanes-match-reference", test_lanes_match_reference);
  g_test_add_func ("/ioc/md5mb/scan-same-with-and-without", test_scan_same_with_and_without);
  return g_test_run ();
}
