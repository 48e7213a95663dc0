/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Trace files (host/base/trace.c): rotation by size and by count, as the
 * failure diagnosis settings describe it, on real files in a temp folder.
 */
#include "settings/general-private.h"

#include <string.h>
#include <glib/gstdio.h>

typedef struct {
  char *dir;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-trace-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
read_file (Fixture *f, const char *name)
{
  g_autofree char *path = g_build_filename (f->dir, name, NULL);
  char *data = NULL;

  if (!g_file_get_contents (path, &data, NULL, NULL))
    return NULL;
  return data;
}

static guint
count_files (Fixture *f)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir))
    n++;
  return n;
}

/* Lines of 9 bytes + newline: 10 per line, 3 lines per 30-byte file. */
static void
write_lines (VhTrace *trace, guint first, guint n)
{
  for (guint i = first; i < first + n; i++)
    {
      g_autofree char *line = g_strdup_printf ("line-%04u", i);
      g_autoptr (GError) error = NULL;

      g_assert_true (vh_trace_write (trace, line, &error));
      g_assert_no_error (error);
    }
}

static void
test_one_file_starts_over (Fixture *f, gconstpointer data)
{
  g_autoptr (VhTrace) trace = vh_trace_open (f->dir, "vigil", 100, 1, NULL);
  g_autofree char *content = NULL;

  g_assert_nonnull (trace);
  write_lines (trace, 0, 12);
  g_assert_cmpuint (count_files (f), ==, 1);
  content = read_file (f, "vigil.log");
  /* 10 lines filled 100 bytes; lines 10 and 11 started the file over. */
  g_assert_cmpstr (content, ==, "line-0010\nline-0011\n");
}

static void
test_rotates_by_count (Fixture *f, gconstpointer data)
{
  g_autoptr (VhTrace) trace = vh_trace_open (f->dir, "vigil", 30, 3, NULL);
  g_autofree char *cur = NULL, *one = NULL, *two = NULL, *three = NULL;

  write_lines (trace, 0, 10);
  /* Files: 0-2, 3-5, 6-8, 9: the first one was overwritten. */
  g_assert_cmpuint (count_files (f), ==, 3);
  cur = read_file (f, "vigil.log");
  one = read_file (f, "vigil.1.log");
  two = read_file (f, "vigil.2.log");
  three = read_file (f, "vigil.3.log");
  g_assert_cmpstr (cur, ==, "line-0009\n");
  g_assert_cmpstr (one, ==, "line-0006\nline-0007\nline-0008\n");
  g_assert_cmpstr (two, ==, "line-0003\nline-0004\nline-0005\n");
  g_assert_null (three);
}

static void
test_no_file_exceeds_max (Fixture *f, gconstpointer data)
{
  g_autoptr (VhTrace) trace = vh_trace_open (f->dir, "big", 64, 2, NULL);
  g_autofree char *long_line = g_strnfill (500, 'x');
  g_autofree char *content = NULL;

  g_assert_true (vh_trace_write (trace, long_line, NULL));
  g_assert_true (vh_trace_write (trace, "after", NULL));
  content = read_file (f, "big.1.log");
  g_assert_cmpuint (strlen (content), ==, 64);
  g_free (content);
  content = read_file (f, "big.log");
  g_assert_cmpstr (content, ==, "after\n");
}

static void
test_reopen_appends (Fixture *f, gconstpointer data)
{
  g_autofree char *content = NULL;
  VhTrace *trace = vh_trace_open (f->dir, "vigil", 30, 2, NULL);

  write_lines (trace, 0, 2);
  vh_trace_close (trace);
  /* A new process continues the file and counts what is already there. */
  trace = vh_trace_open (f->dir, "vigil", 30, 2, NULL);
  write_lines (trace, 2, 2);
  vh_trace_close (trace);
  content = read_file (f, "vigil.1.log");
  g_assert_cmpstr (content, ==, "line-0000\nline-0001\nline-0002\n");
  g_free (content);
  content = read_file (f, "vigil.log");
  g_assert_cmpstr (content, ==, "line-0003\n");
}

static void
test_two_writers_share_a_log (Fixture *f, gconstpointer data)
{
  g_autoptr (VhTrace) a = vh_trace_open (f->dir, "vigil", 30, 3, NULL);
  g_autoptr (VhTrace) b = vh_trace_open (f->dir, "vigil", 30, 3, NULL);
  g_autofree char *cur = NULL, *one = NULL, *two = NULL;

  /* a fills the file and rotates; b, which had the first file open,
   * follows to the new one and counts what a wrote there. */
  write_lines (a, 0, 4);
  write_lines (b, 4, 2);
  cur = read_file (f, "vigil.log");
  one = read_file (f, "vigil.1.log");
  two = read_file (f, "vigil.2.log");
  g_assert_cmpstr (two, ==, NULL);
  g_assert_cmpstr (one, ==, "line-0000\nline-0001\nline-0002\n");
  g_assert_cmpstr (cur, ==, "line-0003\nline-0004\nline-0005\n");
  g_free (cur);
  g_free (one);
  write_lines (b, 6, 1);
  cur = read_file (f, "vigil.log");
  one = read_file (f, "vigil.1.log");
  two = read_file (f, "vigil.2.log");
  g_assert_cmpstr (cur, ==, "line-0006\n");
  g_assert_cmpstr (one, ==, "line-0003\nline-0004\nline-0005\n");
  g_assert_cmpstr (two, ==, "line-0000\nline-0001\nline-0002\n");
}

static void
test_missing_folder (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (vh_trace_open ("/nonexistent/vigil-traces", "vigil", 100, 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/vigil-traces"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/trace/one-file-starts-over", Fixture, NULL, setup, test_one_file_starts_over, teardown);
  g_test_add ("/trace/rotates-by-count", Fixture, NULL, setup, test_rotates_by_count, teardown);
  g_test_add ("/trace/no-file-exceeds-max", Fixture, NULL, setup, test_no_file_exceeds_max, teardown);
  g_test_add ("/trace/reopen-appends", Fixture, NULL, setup, test_reopen_appends, teardown);
  g_test_add ("/trace/two-writers-share-a-log", Fixture, NULL, setup, test_two_writers_share_a_log, teardown);
  g_test_add_func ("/trace/missing-folder", test_missing_folder);
  return g_test_run ();
}
