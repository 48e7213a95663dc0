/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files that change between the walk that lists them and the worker that
 * reads them: one that vanishes before its metadata is taken, one that
 * vanishes after it and before it is opened, one replaced by a FIFO in
 * between. Each is counted as an error and listed with its device path
 * and reason, never fatal: the other files are still scanned and found.
 * The engine's file hook makes the change at an exact stage, on the worker
 * itself, so the race is the same on every run (no timing involved).
 */
#include "ioc-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VICTIM "/home/alice/notes.txt"

typedef struct {
  char *root;
} Lab;

typedef enum { REMOVE, FIFO } Change;

/* What the hook does, to which file, at which stage. */
typedef struct {
  char        *victim;   /* host path */
  IocFileStage stage;
  Change       change;
  guint        fired;
} Trap;

static void
lab_setup (Lab *lab, gconstpointer data)
{
  g_autofree char *big = g_strnfill (4096, 'x');

  lab->root = g_dir_make_tmp ("ioc-vanish-XXXXXX", NULL);
  g_free (plant (lab->root, "home/alice/Downloads/invoice.exe", "MZ-evil-payload", 15));
  /* 4 KiB: big enough for the multi-buffer MD5 path, had it been opened. */
  g_free (plant (lab->root, &VICTIM[1], big, 4096));
  g_free (plant (lab->root, "home/bob/evil.exe", "0123456789", 10));
  g_free (plant (lab->root, "tmp/a.bin", "a", 1));
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->root);
  g_free (lab->root);
}

static void
spring (const char *host_path, IocFileStage stage, gpointer data)
{
  Trap *trap = data;

  if (stage != trap->stage || strcmp (host_path, trap->victim) != 0)
    return;
  trap->fired++;
  g_assert_cmpint (g_unlink (host_path), ==, 0);
  if (trap->change == FIFO)
    g_assert_cmpint (mkfifo (host_path, 0600), ==, 0);
}

static IocScanResult *
scan_trapped (Lab *lab, const char *xml, Trap *trap)
{
  g_autoptr (IocCollection) coll = collection_of (xml);
  IocScope scope = { IOC_SCOPE_CUSTOM, g_ptr_array_new (), g_ptr_array_new () };
  IocScanOptions opt = { 0 };
  g_autoptr (GError) error = NULL;
  IocScanResult *r;

  g_ptr_array_add (scope.paths, (char *) "/");
  trap->victim = g_build_filename (lab->root, VICTIM, NULL);
  opt.root = lab->root;
  opt.scope = &scope;
  opt.threads = 2;
  opt.file_hook = spring;
  opt.file_hook_data = trap;
  r = ioc_scan_run (coll, &opt, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (scope.paths);
  g_ptr_array_unref (scope.exclusions);
  g_free (trap->victim);
  g_assert_cmpuint (trap->fired, ==, 1);
  return r;
}

/* One error, listed with the victim's device path and @reason; the three
 * other files scanned; the one detection @expected still made. */
static void
assert_one_error (IocScanResult *r, const char *reason, const char *expected)
{
  IocPathNote *note;
  IocDocResult *dr = r->docs->pdata[0];

  g_assert_false (r->cancelled);
  g_assert_cmpuint (r->errors, ==, 1);
  g_assert_cmpuint (r->error_list->len, ==, 1);
  note = r->error_list->pdata[0];
  g_assert_cmpstr (note->path, ==, VICTIM);
  g_assert_cmpstr (note->reason, ==, reason);
  g_assert_cmpuint (r->files, ==, 3);
  g_assert_cmpuint (r->skipped, ==, 0);
  g_assert_cmpuint (dr->matches->len, ==, 1);
  g_assert_cmpstr (((IocMatch *) dr->matches->pdata[0])->path, ==, expected);
}

static void
test_vanished_after_walk (Lab *lab, gconstpointer data)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL), NULL);
  g_autofree char *x = ioc11 ("name", body);
  Trap trap = { NULL, IOC_FILE_LISTED, REMOVE, 0 };
  g_autoptr (IocScanResult) r = scan_trapped (lab, x, &trap);

  assert_one_error (r, "vanished during the scan", "/home/bob/evil.exe");
  g_assert_cmpuint (r->hashed_files, ==, 0);
}

static void
test_vanished_before_read (Lab *lab, gconstpointer data)
{
  g_autofree char *h = md5_of ("MZ-evil-payload", 15);
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5", h, NULL), NULL);
  g_autofree char *x = ioc11 ("hash", body);
  Trap trap = { NULL, IOC_FILE_OPENING, REMOVE, 0 };
  g_autoptr (IocScanResult) r = scan_trapped (lab, x, &trap);

  assert_one_error (r, "vanished during the scan", "/home/alice/Downloads/invoice.exe");
  /* The victim's metadata was taken, but it was never read. */
  g_assert_cmpuint (r->hashed_files, ==, 3);
  g_assert_cmpuint (r->bytes, ==, 15 + 10 + 1);
}

static void
test_replaced_by_fifo_before_read (Lab *lab, gconstpointer data)
{
  g_autofree char *h = md5_of ("MZ-evil-payload", 15);
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5", h, NULL), NULL);
  g_autofree char *x = ioc11 ("fifo", body);
  Trap trap = { NULL, IOC_FILE_OPENING, FIFO, 0 };
  /* A FIFO with no writer: a blocking open or read would hang here. */
  g_autoptr (IocScanResult) r = scan_trapped (lab, x, &trap);

  assert_one_error (r, "replaced during the scan", "/home/alice/Downloads/invoice.exe");
  g_assert_cmpuint (r->hashed_files, ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/ioc/scan/vanished-after-walk-counted-and-listed", test_vanished_after_walk);
  ADD ("/ioc/scan/vanished-before-read-counted-and-listed", test_vanished_before_read);
  ADD ("/ioc/scan/replaced-by-fifo-before-read-counted-and-listed", test_replaced_by_fifo_before_read);
  return g_test_run ();
}
