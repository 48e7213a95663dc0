/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where IOC files come from: files named on the command line or found in
 * an --ioc folder are read only when they are regular files (a device such
 * as /dev/zero never ends, a FIFO blocks the reader forever), and the read
 * itself is bounded by the size limit, not only the size stat() gave.
 * Each refusal is a problem of that document, with the reason; the other
 * documents still load. A folder's subfolders are searched too, with a
 * bounded depth and without following links to folders.
 */
#include "ioc-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
good_ioc (void)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "is", "string",
                                                   "evil.exe", NULL), NULL);
  return ioc11 ("good-one", body);
}

/* The first error problem of @doc, which must have one. */
static const char *
first_error (IocDoc *doc)
{
  for (guint i = 0; i < doc->problems->len; i++)
    {
      IocProblem *p = doc->problems->pdata[i];
      if (p->error)
        return p->message;
    }
  g_assert_not_reached ();
  return NULL;
}

static IocDoc *
doc_named (IocCollection *coll, const char *suffix)
{
  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      if (g_str_has_suffix (doc->file, suffix))
        return doc;
    }
  g_assert_not_reached ();
  return NULL;
}

/* /dev/zero named directly: refused without reading a byte. */
static void
test_device_refused (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (1024);
  IocDoc *doc = ioc_collection_add_file (coll, "/dev/zero");

  g_assert_false (doc->usable);
  g_assert_nonnull (strstr (first_error (doc), "not a regular file (a device)"));
}

/* A folder with a FIFO named b.ioc, a link to /dev/zero named c.ioc and a
 * good a.ioc: the load returns, the two are refused, a.ioc loads. */
static void
test_fifo_and_device_link_in_folder (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ioc-sources-XXXXXX", NULL);
  g_autofree char *xml = good_ioc ();
  g_autofree char *b = g_build_filename (dir, "b.ioc", NULL);
  g_autofree char *c = g_build_filename (dir, "c.ioc", NULL);
  g_autoptr (IocCollection) coll = ioc_collection_new (1024 * 1024);

  g_free (plant (dir, "a.ioc", xml, strlen (xml)));

  g_assert_cmpint (mkfifo (b, 0600), ==, 0);
  g_assert_cmpint (symlink ("/dev/zero", c), ==, 0);
  g_assert_cmpuint (ioc_collection_add_path (coll, dir), ==, 3);
  ioc_collection_prepare (coll);
  g_assert_cmpuint (ioc_collection_n_usable (coll), ==, 1);
  g_assert_true (doc_named (coll, "/a.ioc")->usable);
  g_assert_nonnull (strstr (first_error (doc_named (coll, "/b.ioc")), "a FIFO"));
  g_assert_nonnull (strstr (first_error (doc_named (coll, "/c.ioc")), "a device"));
  vt_rm_rf (dir);
}

/* Over the limit by its size: refused before reading, the size named. */
static void
test_over_limit (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ioc-sources-XXXXXX", NULL);
  g_autofree char *big = g_strnfill (4096, ' ');
  g_autofree char *path = plant (dir, "big.ioc", big, 4096);
  g_autoptr (IocCollection) coll = ioc_collection_new (1024);
  IocDoc *doc = ioc_collection_add_file (coll, path);

  g_assert_false (doc->usable);
  g_assert_nonnull (strstr (first_error (doc), "4096 bytes, over the limit of 1024"));
  vt_rm_rf (dir);
}

/* Subfolders are searched, in path order; a link to a folder is not
 * followed (here it would loop forever); a folder too deep is reported,
 * not searched. */
static void
test_subfolders (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ioc-sources-XXXXXX", NULL);
  g_autofree char *xml = good_ioc ();
  g_autofree char *loop = g_build_filename (dir, "vendor/campaign/loop", NULL);
  g_autoptr (GString) deep = g_string_new ("deep");
  g_autofree char *too_deep = NULL;
  g_autoptr (IocCollection) coll = ioc_collection_new (1024 * 1024);
  IocDoc *doc;

  g_free (plant (dir, "vendor/campaign/a.ioc", xml, strlen (xml)));

  g_assert_cmpint (symlink ("..", loop), ==, 0);
  for (guint i = 0; i < 17; i++)
    g_string_append (deep, "/d");
  g_string_append (deep, "/x.ioc");
  too_deep = plant (dir, deep->str, xml, strlen (xml));
  g_assert_cmpuint (ioc_collection_add_path (coll, dir), ==, 1);
  ioc_collection_prepare (coll);
  g_assert_cmpuint (ioc_collection_n_usable (coll), ==, 1);
  doc = doc_named (coll, "/vendor/campaign/a.ioc");
  g_assert_true (doc->usable);
  /* deep is level 1, its 16th d level 17: the first one not searched. */
  doc = doc_named (coll, "/deep/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d");
  g_assert_nonnull (strstr (first_error (doc), "more than 16 levels deep"));
  vt_rm_rf (dir);
}

/* The public OpenIOC corpus keeps its files in subfolders: the folder
 * itself loads them all. */
static void
test_corpus_folder (void)
{
  g_autoptr (GPtrArray) files = corpus_files ();
  g_autofree char *dir = NULL;
  g_autoptr (IocCollection) coll = NULL;

  if (files == NULL)
    return;
  dir = g_build_filename (g_getenv ("VIGIL_SHARED_DIR"), "corpus", "openioc", NULL);
  coll = ioc_collection_new (3 * 1024 * 1024);
  g_assert_cmpuint (ioc_collection_add_path (coll, dir), ==, files->len);
  ioc_collection_prepare (coll);
  g_assert_cmpuint (ioc_collection_n_usable (coll), >=, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/sources/device-refused", test_device_refused);
  g_test_add_func ("/ioc/sources/fifo-and-device-link-in-folder",
                   test_fifo_and_device_link_in_folder);
  g_test_add_func ("/ioc/sources/over-limit", test_over_limit);
  g_test_add_func ("/ioc/sources/subfolders", test_subfolders);
  g_test_add_func ("/ioc/sources/corpus-folder", test_corpus_folder);
  return g_test_run ();
}
