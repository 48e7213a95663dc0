/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every file of the public OpenIOC corpus ($VIGIL_SHARED_DIR/corpus/openioc)
 * parses without a crash and without an error (they are all well-formed),
 * with its version detected by namespace and its unsupported terms
 * reported per line; evaluating each one over a file never gives a
 * detection through a term the scanner cannot see. Skipped, with a
 * message, when the corpus is absent.
 */
#include "ioc-test-util.h"

#include <string.h>

static void
test_every_corpus_file_parses (void)
{
  g_autoptr (GPtrArray) files = corpus_files ();
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  guint v10 = 0, v11 = 0, unsupported = 0, items = 0;

  if (files == NULL)
    return;
  for (guint i = 0; i < files->len; i++)
    {
      IocDoc *doc = ioc_collection_add_file (coll, files->pdata[i]);
      for (guint k = 0; k < doc->problems->len; k++)
        {
          IocProblem *p = doc->problems->pdata[k];
          g_test_message ("%s:%u: %s: %s", doc->file, p->line, p->error ? "error" : "warning",
                          p->message);
        }
      for (guint k = 0; k < doc->unsupported->len; k++)
        {
          IocUnsupported *u = doc->unsupported->pdata[k];
          g_test_message ("%s:%u: unsupported term %s", doc->file, u->line, u->term);
        }
      g_assert_false (ioc_doc_has_errors (doc));
      g_assert_nonnull (doc->root);
      v10 += doc->version == IOC_V1_0;
      v11 += doc->version == IOC_V1_1;
      unsupported += doc->unsupported->len;
      items += doc->n_items;
    }
  ioc_collection_prepare (coll);
  g_test_message ("%u files: %u OpenIOC 1.0, %u OpenIOC 1.1, %u items, %u unsupported",
                  files->len, v10, v11, items, unsupported);
  g_assert_cmpuint (v10, >=, 20);
  g_assert_cmpuint (v11, >=, 100);
  g_assert_cmpuint (unsupported, >, 0);
}

/* A file matching nothing any IOC names: no corpus IOC may fire on it, in
 * particular not through a negated unknown term. */
static void
test_corpus_no_detection_on_innocent_file (void)
{
  g_autoptr (GPtrArray) files = corpus_files ();
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocFileFacts f;
  guint fired = 0;

  if (files == NULL)
    return;
  for (guint i = 0; i < files->len; i++)
    ioc_collection_add_file (coll, files->pdata[i]);
  ioc_collection_prepare (coll);
  facts_init (&f, "/srv/q7/zz9.dat");
  strcpy (f.md5, "5f2b9c1e7a3d4e6f8091a2b3c4d5e6f7");
  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      if (doc->usable && ioc_node_eval (doc->root, &f) == IOC_TRUE)
        {
          g_test_message ("%s fired on an innocent file", doc->file);
          fired++;
        }
    }
  g_assert_cmpuint (fired, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/corpus/every-file-parses", test_every_corpus_file_parses);
  g_test_add_func ("/ioc/corpus/no-detection-on-innocent-file", test_corpus_no_detection_on_innocent_file);
  return g_test_run ();
}
