/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walk cannot be led out of the device root, and has no depth limit.
 * A folder the walk listed is swapped for a symbolic link to a folder
 * outside the root before a subfolder of it is opened, or before a file
 * in it is examined: nothing outside is read (the outside files would
 * match the IOC). The swap is made by the engine's hook at that exact
 * point, so it is the same race on every run (no timing involved). A file
 * 10,000 folders deep (20,000 bytes of path, five times PATH_MAX) is
 * examined and found.
 */
#include "ioc-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTSIDE "outside-secret"

typedef struct {
  char *base, *root, *outside;
} Lab;

typedef struct {
  char        *when;     /* host path at which to swap */
  IocFileStage stage;
  char        *folder;   /* host path of the folder swapped */
  char        *target;   /* where the link points */
  guint        fired;
} Swap;

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->base = g_dir_make_tmp ("ioc-escape-XXXXXX", NULL);
  lab->root = g_build_filename (lab->base, "root", NULL);
  lab->outside = g_build_filename (lab->base, "outside", NULL);
  /* Inside: harmless files. Outside, at the same relative paths: files
   * the IOC matches. */
  g_free (plant (lab->root, "d/e/evil.exe", "harmless", 8));
  g_free (plant (lab->root, "d/f/evil.exe", "harmless", 8));
  g_free (plant (lab->outside, "e/evil.exe", OUTSIDE, strlen (OUTSIDE)));
  g_free (plant (lab->outside, "f/evil.exe", OUTSIDE, strlen (OUTSIDE)));
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->base);
  g_free (lab->base);
  g_free (lab->root);
  g_free (lab->outside);
}

static void
swap_hook (const char *host_path, IocFileStage stage, gpointer data)
{
  Swap *swap = data;
  g_autofree char *moved = NULL;

  if (stage != swap->stage || strcmp (host_path, swap->when) != 0)
    return;
  swap->fired++;
  moved = g_strconcat (swap->folder, ".moved", NULL);
  g_assert_cmpint (g_rename (swap->folder, moved), ==, 0);
  g_assert_cmpint (symlink (swap->target, swap->folder), ==, 0);
}

static IocScanResult *
scan (const char *root, IocFileHook hook, gpointer hook_data)
{
  g_autofree char *h = md5_of (OUTSIDE, strlen (OUTSIDE));
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5", h, NULL), NULL);
  g_autofree char *xml = ioc11 ("outside", body);
  g_autoptr (IocCollection) coll = collection_of (xml);
  IocScope scope = { IOC_SCOPE_CUSTOM, g_ptr_array_new (), g_ptr_array_new () };
  IocScanOptions opt = { 0 };
  g_autoptr (GError) error = NULL;
  IocScanResult *r;

  g_ptr_array_add (scope.paths, (char *) "/");
  opt.root = root;
  opt.scope = &scope;
  opt.threads = 2;
  opt.file_hook = hook;
  opt.file_hook_data = hook_data;
  r = ioc_scan_run (coll, &opt, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (scope.paths);
  g_ptr_array_unref (scope.exclusions);
  return r;
}

/* Nothing found: no outside file was read. */
static void
assert_nothing_outside (IocScanResult *r)
{
  IocDocResult *dr = r->docs->pdata[0];

  g_assert_cmpuint (dr->n_matches, ==, 0);
  g_assert_cmpuint (r->bytes, ==, 2 * 8);
}

/* d/e was listed as a folder of d; d becomes a link before d/e is opened. */
static void
test_folder_swapped_before_subfolder_opened (Lab *lab, gconstpointer data)
{
  Swap swap = { g_build_filename (lab->root, "d/e", NULL), IOC_DIR_OPENING,
                g_build_filename (lab->root, "d", NULL), lab->outside, 0 };
  g_autoptr (IocScanResult) r = scan (lab->root, swap_hook, &swap);

  g_assert_cmpuint (swap.fired, ==, 1);
  assert_nothing_outside (r);
  g_free (swap.when);
  g_free (swap.folder);
}

/* d/f/evil.exe was listed; d becomes a link before the file is examined. */
static void
test_folder_swapped_before_file_examined (Lab *lab, gconstpointer data)
{
  Swap swap = { g_build_filename (lab->root, "d/f/evil.exe", NULL), IOC_FILE_LISTED,
                g_build_filename (lab->root, "d", NULL), lab->outside, 0 };
  g_autoptr (IocScanResult) r = scan (lab->root, swap_hook, &swap);

  g_assert_cmpuint (swap.fired, ==, 1);
  assert_nothing_outside (r);
  g_free (swap.when);
  g_free (swap.folder);
}

#define DEPTH 10000

/* Removes the chain of DEPTH folders "d" under @fd, bottom up, by fds:
 * its paths are too long for path-based removal. */
static void
remove_chain (int fd)
{
  g_autofree int *fds = g_new (int, DEPTH + 1);

  fds[0] = fd;
  for (guint i = 1; i <= DEPTH; i++)
    {
      fds[i] = openat (fds[i - 1], "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      g_assert_cmpint (fds[i], >=, 0);
      if (i > 64)
        {
          /* Only a window stays open; reopened below from its parent. */
          close (fds[i - 64]);
          fds[i - 64] = -1;
        }
    }
  unlinkat (fds[DEPTH], "evil.exe", 0);
  for (guint i = DEPTH; i > 0; i--)
    {
      if (fds[i - 1] < 0)
        {
          fds[i - 1] = openat (fds[i], "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          g_assert_cmpint (fds[i - 1], >=, 0);
        }
      close (fds[i]);
      g_assert_cmpint (unlinkat (fds[i - 1], "d", AT_REMOVEDIR), ==, 0);
    }
}

static void
test_depth_ten_thousand (Lab *lab, gconstpointer data)
{
  g_autofree char *deep = g_build_filename (lab->base, "deep", NULL);
  g_autoptr (IocScanResult) r = NULL;
  g_autofree char *h = md5_of (OUTSIDE, strlen (OUTSIDE));
  IocDocResult *dr;
  IocMatch *m;
  int top, fd;

  g_assert_cmpint (g_mkdir (deep, 0755), ==, 0);
  top = open (deep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fd = fcntl (top, F_DUPFD_CLOEXEC, 0);
  for (guint i = 0; i < DEPTH; i++)
    {
      int next;
      g_assert_cmpint (mkdirat (fd, "d", 0755), ==, 0);
      next = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      g_assert_cmpint (next, >=, 0);
      close (fd);
      fd = next;
    }
  {
    int file = openat (fd, "evil.exe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    g_assert_cmpint (file, >=, 0);
    g_assert_cmpint (write (file, OUTSIDE, strlen (OUTSIDE)), ==, (gssize) strlen (OUTSIDE));
    close (file);
  }
  close (fd);
  r = scan (deep, NULL, NULL);
  dr = r->docs->pdata[0];
  g_assert_cmpuint (r->errors, ==, 0);
  g_assert_cmpuint (r->files, ==, 1);
  g_assert_cmpuint (dr->matches->len, ==, 1);
  m = dr->matches->pdata[0];
  g_assert_cmpuint (strlen (m->path), ==, 2 * DEPTH + strlen ("/evil.exe"));
  g_assert_true (g_str_has_suffix (m->path, "/d/d/evil.exe"));
  g_assert_cmpstr (m->md5, ==, h);
  remove_chain (top);
  close (top);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/ioc/escape/folder-swapped-before-subfolder-opened",
       test_folder_swapped_before_subfolder_opened);
  ADD ("/ioc/escape/folder-swapped-before-file-examined",
       test_folder_swapped_before_file_examined);
  ADD ("/ioc/escape/depth-ten-thousand", test_depth_ten_thousand);
  return g_test_run ();
}
