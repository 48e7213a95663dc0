/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collection export's ZIP writer: the CRC-32 check value, and an
 * archive that the real `unzip` tests and extracts byte for byte, with
 * unsafe and duplicate names made safe.
 */
#include "ioc-test-util.h"
#include "ioc-zip.h"

#include <string.h>

static void
test_crc32_check_value (void)
{
  g_assert_cmphex (ioc_crc32 (0, (const guint8 *) "123456789", 9), ==, 0xCBF43926);
  g_assert_cmphex (ioc_crc32 (0, NULL, 0), ==, 0);
  /* Continuation gives the same as one pass. */
  g_assert_cmphex (ioc_crc32 (ioc_crc32 (0, (const guint8 *) "1234", 4), (const guint8 *) "56789", 5),
                   ==, 0xCBF43926);
}

static char *
run (const char *const *argv, int *status)
{
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, &out, NULL, status, &error);
  g_assert_no_error (error);
  return out;
}

static void
test_unzip_reads_archive (void)
{
  const char *names[] = { "a.ioc", "../../etc/evil.ioc", "a.ioc" };
  const char *texts[] = { "<ioc>one</ioc>", "<ioc>two</ioc>", "" };
  GBytes *contents[3];
  g_autofree char *dir = g_dir_make_tmp ("ioc-zip-XXXXXX", NULL);
  g_autofree char *zip_path = g_build_filename (dir, "c.zip", NULL);
  g_autoptr (GBytes) zip = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *listing = NULL, *one = NULL, *two = NULL;
  g_autofree char *unzip = g_find_program_in_path ("unzip");
  int status = -1;

  if (unzip == NULL)
    {
      g_test_skip ("unzip is not installed");
      return;
    }
  for (guint i = 0; i < 3; i++)
    contents[i] = g_bytes_new_static (texts[i], strlen (texts[i]));
  zip = ioc_zip_build (names, contents, 3, 1700000000, &error);
  g_assert_no_error (error);
  g_file_set_contents (zip_path, g_bytes_get_data (zip, NULL), g_bytes_get_size (zip), &error);
  g_assert_no_error (error);
  {
    const char *argv[] = { "unzip", "-t", zip_path, NULL };
    g_free (run (argv, &status));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  {
    const char *argv[] = { "unzip", "-Z1", zip_path, NULL };
    listing = run (argv, &status);
    g_assert_cmpstr (listing, ==, "a.ioc\nevil.ioc\n2-a.ioc\n");
  }
  {
    const char *argv[] = { "unzip", "-p", zip_path, "a.ioc", NULL };
    one = run (argv, &status);
    g_assert_cmpstr (one, ==, "<ioc>one</ioc>");
  }
  {
    const char *argv[] = { "unzip", "-p", zip_path, "evil.ioc", NULL };
    two = run (argv, &status);
    g_assert_cmpstr (two, ==, "<ioc>two</ioc>");
  }
  for (guint i = 0; i < 3; i++)
    g_bytes_unref (contents[i]);
  vt_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/zip/crc32-check-value", test_crc32_check_value);
  g_test_add_func ("/ioc/zip/unzip-reads-archive", test_unzip_reads_archive);
  return g_test_run ();
}
