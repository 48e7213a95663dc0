/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vigil_write_all() and vigil_file_write_atomic(): every byte written
 * through interrupted and short writes, failures reported with errno, and
 * an atomic replacement that leaves the old or the new file when the
 * process dies in the middle of writing (killed by the kernel through a
 * file-size limit, so the crash happens at a known point, not by timing).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "io-private.h"
#include "vigil/util/io.h"

/* ---- a write(2) that interrupts and writes one byte at a time ---- */

static GByteArray *sink;
static guint calls;

static ssize_t
stutter_write (int fd, const void *buf, size_t len)
{
  calls++;
  if (calls % 2 == 1)
    return errno = EINTR, -1;
  g_byte_array_append (sink, buf, 1);
  return 1;
}

static ssize_t
zero_write (int fd, const void *buf, size_t len)
{
  return 0;
}

static void
test_write_all_retries (void)
{
  const char text[] = "every byte gets out";

  sink = g_byte_array_new ();
  calls = 0;
  g_assert_true (vigil_write_all_with (stutter_write, -1, text, strlen (text)));
  g_assert_cmpmem (sink->data, sink->len, text, strlen (text));
  g_assert_cmpuint (calls, ==, 2 * strlen (text));
  g_byte_array_unref (sink);
}

static void
test_write_all_zero_is_eio (void)
{
  errno = 0;
  g_assert_false (vigil_write_all_with (zero_write, -1, "x", 1));
  g_assert_cmpint (errno, ==, EIO);
}

static void
test_write_all_full_disk (void)
{
  int fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  errno = 0;
  g_assert_false (vigil_write_all (fd, "abc", 3));
  g_assert_cmpint (errno, ==, ENOSPC);
  close (fd);
}

/* A fresh folder, or in a test's subprocess the parent's (passed through
 * the environment, which the subprocess inherits). */
static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir;

  if (g_test_subprocess ())
    return g_strdup (g_getenv ("VIGIL_UTIL_TEST_DIR"));
  dir = g_dir_make_tmp ("vigil-util-io-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("VIGIL_UTIL_TEST_DIR", dir, TRUE);
  return dir;
}

static void
limit_file_size (rlim_t bytes)
{
  struct rlimit rl = { bytes, bytes };

  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
}

/* A real short write: the kernel writes up to the file-size limit, then
 * refuses the rest with EFBIG (SIGXFSZ ignored). In a subprocess, since
 * the limit is the process's. */
static void
test_write_all_short_then_error (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "f", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;

  if (g_test_subprocess ())
    {
      char buf[1000];
      int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      memset (buf, 'a', sizeof buf);
      signal (SIGXFSZ, SIG_IGN);
      limit_file_size (100);
      errno = 0;
      g_assert_false (vigil_write_all (fd, buf, sizeof buf));
      g_assert_cmpint (errno, ==, EFBIG);
      close (fd);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, ==, 100);
  g_unlink (path);
  g_rmdir (dir);
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
remove_all (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static void
assert_contents (const char *path, const char *expected)
{
  g_autofree char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  g_assert_cmpstr (data, ==, expected);
}

static void
test_atomic_replaces (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "state.json", NULL);
  g_autoptr (GError) error = NULL;
  struct stat st;

  g_assert_true (g_file_set_contents (path, "old", -1, NULL));
  g_assert_true (vigil_file_write_atomic (path, "new contents", 12, 0640, &error));
  g_assert_no_error (error);
  assert_contents (path, "new contents");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  remove_all (dir);
}

static void
test_atomic_creates (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "new", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (vigil_file_write_atomic (path, "", 0, 0600, &error));
  g_assert_no_error (error);
  assert_contents (path, "");
  remove_all (dir);
}

/* The process is killed (SIGXFSZ) while it writes the temporary file:
 * the file keeps its old contents; only a partial temporary remains. */
static void
test_atomic_crash_keeps_old (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "state", NULL);
  g_autoptr (GDir) d = NULL;
  const char *name;
  guint temps = 0;

  if (g_test_subprocess ())
    {
      g_autofree char *big = g_malloc (4096);
      struct rlimit no_core = { 0, 0 };
      memset (big, 'n', 4096);
      setrlimit (RLIMIT_CORE, &no_core);
      limit_file_size (1024);
      vigil_file_write_atomic (path, big, 4096, 0600, NULL);
      return;
    }
  g_assert_true (g_file_set_contents (path, "old", -1, NULL));
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  assert_contents (path, "old");
  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "state."))
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);
        struct stat st;
        g_assert_cmpint (g_stat (p, &st), ==, 0);
        g_assert_cmpint (st.st_size, ==, 1024);
        temps++;
      }
  g_assert_cmpuint (temps, ==, 1);
  remove_all (dir);
}

/* The same write refused (EFBIG) rather than killed: an error naming the
 * temporary file, the old contents kept, no temporary file left. */
static void
test_atomic_failed_write_keeps_old (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "state", NULL);

  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *big = g_malloc (4096);
      memset (big, 'n', 4096);
      signal (SIGXFSZ, SIG_IGN);
      limit_file_size (1024);
      g_assert_false (vigil_file_write_atomic (path, big, 4096, 0600, &error));
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "cannot write"));
      g_assert_nonnull (strstr (error->message, path));
      return;
    }
  g_assert_true (g_file_set_contents (path, "old", -1, NULL));
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  assert_contents (path, "old");
  g_assert_cmpuint (count_entries (dir), ==, 1);
  remove_all (dir);
}

static void
test_atomic_missing_folder (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (vigil_file_write_atomic ("/nonexistent-vigil-dir/f", "x", 1, 0600, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent-vigil-dir/f"));
}

/* A regular file is read whole, NUL-terminated, up to the limit. */
static void
test_read_bounded_regular (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-io-read-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "f", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_set_contents (path, "12345", 5, NULL));
  data = vigil_file_read_bounded (path, 5, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (data, ==, "12345");
  g_assert_cmpuint (len, ==, 5);
  g_assert_null (vigil_file_read_bounded (path, 4, NULL, &error));
  g_assert_nonnull (strstr (error->message, "more than the limit of 4"));
  g_unlink (path);
  g_rmdir (dir);
}

/* /dev/zero (size 0, no end) and a FIFO without a writer (would block)
 * are refused before a byte is read. */
static void
test_read_bounded_not_regular (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-io-read-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  const char *paths[] = { "/dev/zero", fifo, dir };

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *expected = g_strconcat (paths[i], ": not a regular file", NULL);

      g_assert_null (vigil_file_read_bounded (paths[i], 1024, NULL, &error));
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
      g_assert_true (g_str_has_prefix (error->message, expected));
    }
  g_unlink (fifo);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/write-all/retries-interrupted-and-short-writes", test_write_all_retries);
  g_test_add_func ("/util/write-all/zero-byte-write-is-eio", test_write_all_zero_is_eio);
  g_test_add_func ("/util/write-all/full-disk-fails-with-enospc", test_write_all_full_disk);
  g_test_add_func ("/util/write-all/short-write-then-error-fails", test_write_all_short_then_error);
  g_test_add_func ("/util/atomic/replaces-with-mode", test_atomic_replaces);
  g_test_add_func ("/util/atomic/creates-empty-file", test_atomic_creates);
  g_test_add_func ("/util/atomic/crash-mid-write-keeps-old-file", test_atomic_crash_keeps_old);
  g_test_add_func ("/util/atomic/failed-write-keeps-old-file", test_atomic_failed_write_keeps_old);
  g_test_add_func ("/util/atomic/missing-folder-is-an-error", test_atomic_missing_folder);
  g_test_add_func ("/util/read-bounded/regular-file", test_read_bounded_regular);
  g_test_add_func ("/util/read-bounded/not-a-regular-file", test_read_bounded_not_regular);
  return g_test_run ();
}
