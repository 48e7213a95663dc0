/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan's folder tree (scan-dir.c) under a small fd limit: folders
 * closed to stay within the budget are opened again from their nearest
 * open ancestor when needed, and that re-open refuses a folder on the way
 * that became a symbolic link (ELOOP) or another folder under the same
 * name (ESTALE), so a closed fd is never a way out of the root.
 */
#include "ioc-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHAIN 40

typedef struct {
  char    *root;
  IocDirs *dirs;
  IocDir  *chain[CHAIN + 1];   /* chain[i]: root/c/c/... i levels */
} Lab;

static void
lab_setup (Lab *lab, gconstpointer data)
{
  g_autoptr (GString) rel = g_string_new (NULL);
  struct rlimit rl;
  g_autoptr (GError) error = NULL;

  /* A budget of 16 open folders (a quarter of the limit). */
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  rl.rlim_cur = 64;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  lab->root = g_dir_make_tmp ("ioc-dirs-XXXXXX", NULL);
  for (guint i = 0; i < CHAIN; i++)
    g_string_append (rel, "c/");
  g_string_append (rel, "file");
  g_free (plant (lab->root, rel->str, "x", 1));
  lab->dirs = ioc_dirs_new (lab->root, &error);
  g_assert_no_error (error);
  lab->chain[0] = ioc_dir_ref (ioc_dirs_root (lab->dirs));
  for (guint i = 1; i <= CHAIN; i++)
    {
      int fd;
      lab->chain[i] = ioc_dir_child (lab->chain[i - 1], "c");
      fd = ioc_dir_acquire (lab->chain[i]);
      g_assert_cmpint (fd, >=, 0);
      ioc_dir_release (lab->chain[i]);
    }
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  for (guint i = 0; i <= CHAIN; i++)
    ioc_dir_unref (lab->chain[i]);
  ioc_dirs_free (lab->dirs);
  vt_rm_rf (lab->root);
  g_free (lab->root);
}

/* The host path of level @i. */
static char *
level (Lab *lab, guint i)
{
  GString *s = g_string_new (lab->root);
  for (guint k = 0; k < i; k++)
    g_string_append (s, "/c");
  return g_string_free (s, FALSE);
}

static void
test_reopen_after_eviction (Lab *lab, gconstpointer data)
{
  /* Level 5 was closed long ago (40 opened, 16 kept): opened again. */
  int fd = ioc_dir_acquire (lab->chain[5]);
  struct stat st;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstatat (fd, "c", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  ioc_dir_release (lab->chain[5]);
}

static void
test_reopen_refuses_link (Lab *lab, gconstpointer data)
{
  g_autofree char *l3 = level (lab, 3);
  g_autofree char *moved = g_strconcat (l3, ".moved", NULL);

  g_assert_cmpint (g_rename (l3, moved), ==, 0);
  g_assert_cmpint (symlink (moved, l3), ==, 0);
  g_assert_cmpint (ioc_dir_acquire (lab->chain[10]), ==, -1);
  g_assert_cmpint (errno, ==, ELOOP);
}

static void
test_reopen_refuses_other_folder (Lab *lab, gconstpointer data)
{
  g_autofree char *l3 = level (lab, 3);
  g_autofree char *moved = g_strconcat (l3, ".moved", NULL);
  g_autofree char *l4 = level (lab, 4);

  /* Same names all the way down, but level 3 is a new folder. */
  g_assert_cmpint (g_rename (l3, moved), ==, 0);
  g_assert_cmpint (g_mkdir (l3, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (l4, 0755), ==, 0);
  g_assert_cmpint (ioc_dir_acquire (lab->chain[4]), ==, -1);
  g_assert_cmpint (errno, ==, ESTALE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/ioc/dirs/reopen-after-eviction", test_reopen_after_eviction);
  ADD ("/ioc/dirs/reopen-refuses-link", test_reopen_refuses_link);
  ADD ("/ioc/dirs/reopen-refuses-other-folder", test_reopen_refuses_other_folder);
  return g_test_run ();
}
