/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The index: it must give the same detections as the plain evaluator,
 * find one hash among 100,000, gate hashing by size when every hash item
 * of a branch is ANDed with a size, and render the matched branch only.
 */
#include "ioc-test-util.h"

#include <string.h>

typedef struct {
  GPtrArray *ids;
  char      *matched;
} Hits;

static void
on_found (IocDoc *doc, const IocFileFacts *f, GHashTable *marked, gpointer data)
{
  Hits *hits = data;
  g_ptr_array_add (hits->ids, g_strdup (doc->id));
  g_free (hits->matched);
  hits->matched = ioc_matched_text (doc->root, f, marked);
}

static guint
match_count (IocCollection *coll, const IocFileFacts *f, char **matched)
{
  Hits hits = { g_ptr_array_new_with_free_func (g_free), NULL };
  guint n;

  ioc_index_match (coll->index, f, on_found, &hits);
  n = hits.ids->len;
  g_ptr_array_unref (hits.ids);
  if (matched != NULL)
    *matched = hits.matched;
  else
    g_free (hits.matched);
  return n;
}

static char *
md5_hex (guint i)
{
  return g_strdup_printf ("%032x", i * 2654435761u);
}

/* Index and plain evaluation agree on a mix of gated and ungated trees. */
static void
test_index_agrees_with_evaluator (void)
{
  const char *names[] = { "evil.exe", "EVIL.EXE", "good.txt", "x.sh" };
  const char *bodies[6];
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *b0 = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                   item11 ("FileItem/Md5sum", "is", "md5", "00000000000000000000000000000001", NULL), NULL);
  g_autofree char *b1 = indicator ("AND", item11 ("FileItem/FileName", "is", "string", "evil.exe", "preserve-case=\"true\""),
                                   item11 ("FileItem/SizeInBytes", "is", "int", "1000", NULL), NULL);
  g_autofree char *b2 = indicator ("OR", item11 ("FileItem/FileName", "ends-with", "string", ".sh", NULL),
                                   item11 ("ProcessItem/name", "is", "string", "sh", NULL), NULL);
  g_autofree char *b3 = indicator ("AND", item11 ("FileItem/FileName", "is", "string", "good.txt", "negate=\"true\""),
                                   item11 ("FileItem/FullPath", "starts-with", "string", "/tmp/", NULL), NULL);
  g_autofree char *b4 = indicator ("OR", indicator ("AND", item11 ("FileItem/Md5sum", "is", "md5",
                                                                   "d41d8cd98f00b204e9800998ecf8427e", NULL),
                                                    item11 ("FileItem/FileName", "contains", "string", "good", NULL), NULL),
                                   item11 ("FileItem/FullPath", "is", "string", "C:\\tmp\\x.sh", NULL), NULL);
  g_autofree char *b5 = indicator ("AND", item11 ("FileItem/Md5sum", "is", "md5",
                                                  "d41d8cd98f00b204e9800998ecf8427e", "negate=\"true\""),
                                   item11 ("FileItem/FileName", "is", "string", "x.sh", NULL), NULL);

  bodies[0] = b0; bodies[1] = b1; bodies[2] = b2; bodies[3] = b3; bodies[4] = b4; bodies[5] = b5;
  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *id = g_strdup_printf ("doc%u", i);
      g_autofree char *x = ioc11 (id, bodies[i]);
      ioc_collection_add_memory (coll, id, x, strlen (x));
    }
  ioc_collection_prepare (coll);
  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autofree char *path = g_strdup_printf ("/tmp/%s", names[n]);
      IocFileFacts f;
      guint expected = 0;
      facts_init (&f, path);
      for (guint i = 0; i < coll->docs->len; i++)
        expected += ioc_node_eval (((IocDoc *) coll->docs->pdata[i])->root, &f) == IOC_TRUE;
      g_assert_cmpuint (match_count (coll, &f, NULL), ==, expected);
    }
}

static char *
many_md5_doc (guint n, gboolean with_size)
{
  GString *s = g_string_new ("<Indicator operator=\"OR\" id=\"top\">");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *h = md5_hex (i);
      if (with_size)
        g_string_append_printf (s, "<Indicator operator=\"AND\">"
                                "<IndicatorItem condition=\"is\"><Context document=\"FileItem\" search=\"FileItem/Md5sum\"/>"
                                "<Content type=\"md5\">%s</Content></IndicatorItem>"
                                "<IndicatorItem condition=\"is\"><Context document=\"FileItem\" search=\"FileItem/SizeInBytes\"/>"
                                "<Content type=\"int\">%u</Content></IndicatorItem></Indicator>", h, 5000 + i);
      else
        g_string_append_printf (s, "<IndicatorItem condition=\"is\"><Context document=\"FileItem\" "
                                "search=\"FileItem/Md5sum\"/><Content type=\"md5\">%s</Content></IndicatorItem>", h);
    }
  g_string_append (s, "</Indicator>");
  return g_string_free (s, FALSE);
}

static void
test_hundred_thousand_md5_items (void)
{
  g_autofree char *body = many_md5_doc (100000, FALSE);
  g_autofree char *x = ioc11 ("many", body);
  /* About 17 MB of XML: over the default 3 MiB limit on purpose. */
  g_autoptr (IocCollection) coll = ioc_collection_new (64 * 1024 * 1024);
  g_autofree char *h = md5_hex (77777);
  g_autofree char *matched = NULL;
  IocFileFacts f;

  ioc_collection_add_memory (coll, "many.ioc", x, strlen (x));
  ioc_collection_prepare (coll);
  g_assert_cmpuint (ioc_collection_n_usable (coll), ==, 1);
  facts_init (&f, "/tmp/x");
  g_assert_cmpuint (match_count (coll, &f, NULL), ==, 0);
  strcpy (f.md5, h);
  g_assert_cmpuint (match_count (coll, &f, &matched), ==, 1);
  /* The card names the one item that matched, not the 100,000. */
  g_assert_nonnull (strstr (matched, h));
  g_assert_cmpuint (strlen (matched), <, 200);
}

/* Enough items for the key tables to be filled on several threads: every
 * key is still found, and items with equal values in two documents are
 * chained latest first, as one thread would chain them. */
static void
test_sharded_keys_chain_in_order (void)
{
  g_autofree char *body = many_md5_doc (10000, FALSE);
  g_autofree char *a = ioc11 ("first", body);
  g_autofree char *b = ioc11 ("second", body);
  g_autoptr (IocCollection) coll = ioc_collection_new (64 * 1024 * 1024);
  IocDoc *doc_a = ioc_collection_add_memory (coll, "a.ioc", a, strlen (a));
  IocDoc *doc_b = ioc_collection_add_memory (coll, "b.ioc", b, strlen (b));
  IocFileFacts f;

  ioc_collection_prepare (coll);
  facts_init (&f, "/tmp/x");
  for (guint i = 0; i < 10000; i += 97)
    {
      g_autofree char *h = md5_hex (i);
      IocNode *head = ioc_keys_lookup (ioc_index_keys (coll->index), IOC_KEY_MD5, h);

      strcpy (f.md5, h);
      g_assert_cmpuint (match_count (coll, &f, NULL), ==, 2);
      g_assert_nonnull (head);
      g_assert_true (head->parent == doc_b->root);
      g_assert_nonnull (head->next_same);
      g_assert_true (head->next_same->parent == doc_a->root);
      g_assert_null (head->next_same->next_same);
    }
  g_assert_null (ioc_keys_lookup (ioc_index_keys (coll->index), IOC_KEY_MD5, "00000000000000000000000000000001"));
}

static void
test_size_gated_hashing (void)
{
  g_autofree char *body = many_md5_doc (3, TRUE);
  g_autofree char *x = ioc11 ("sized", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocIndex *index = coll->index;
  g_autofree char *h = md5_hex (1);
  IocFileFacts f;

  g_assert_true (ioc_index_size_gated_only (index));
  g_assert_cmpuint (ioc_index_hashes_for_size (index, 4999), ==, 0);
  g_assert_cmpuint (ioc_index_hashes_for_size (index, 5001), ==, IOC_HASH_MD5);
  g_assert_cmpuint (ioc_index_hashes_for_size (index, 5003), ==, 0);
  facts_init (&f, "/tmp/x");
  f.size = 5001;
  strcpy (f.md5, h);
  g_assert_cmpuint (match_count (coll, &f, NULL), ==, 1);
  f.size = 5002;   /* right hash, wrong size */
  g_assert_cmpuint (match_count (coll, &f, NULL), ==, 0);
}

static void
test_size_range_and_ungated_hash (void)
{
  g_autofree char *ranged = indicator ("AND", item11 ("FileItem/Sha256sum", "is", "sha256",
                                                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", NULL),
                                       item11 ("FileItem/SizeInBytes", "greater-than", "int", "1048576", NULL), NULL);
  g_autofree char *plain = indicator ("OR", item11 ("FileItem/Sha1sum", "is", "sha1",
                                                    "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL), NULL);
  g_autofree char *x1 = ioc11 ("ranged", ranged);
  g_autofree char *x2 = ioc11 ("plain", plain);
  g_autoptr (IocCollection) coll = ioc_collection_new (0);

  ioc_collection_add_memory (coll, "a", x1, strlen (x1));
  ioc_collection_prepare (coll);
  g_assert_cmpuint (ioc_index_hashes_for_size (coll->index, 1048576), ==, 0);
  g_assert_cmpuint (ioc_index_hashes_for_size (coll->index, 1048577), ==, IOC_HASH_SHA256);
  ioc_collection_add_memory (coll, "b", x2, strlen (x2));
  ioc_collection_prepare (coll);
  g_assert_false (ioc_index_size_gated_only (coll->index));
  g_assert_cmpuint (ioc_index_hashes_for_size (coll->index, 10), ==, IOC_HASH_SHA1);
  g_assert_cmpuint (ioc_index_hashes_any (coll->index), ==, IOC_HASH_SHA1 | IOC_HASH_SHA256);
}

static void
test_matched_text_shows_true_branch_only (void)
{
  g_autofree char *body = indicator ("OR",
                                     indicator ("AND", item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                                item11 ("FileItem/SizeInBytes", "is", "int", "1000", NULL), NULL),
                                     item11 ("FileItem/FileName", "is", "string", "other.exe", NULL),
                                     item11 ("ProcessItem/name", "is", "string", "evil.exe", NULL), NULL);
  g_autofree char *x = ioc11 ("card", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  g_autofree char *matched = NULL;
  IocFileFacts f;

  facts_init (&f, "/tmp/evil.exe");
  g_assert_cmpuint (match_count (coll, &f, &matched), ==, 1);
  g_assert_cmpstr (matched, ==,
                   "OR\n  AND\n    FileItem/FileName is \"evil.exe\"\n"
                   "    FileItem/SizeInBytes is \"1000\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/index/agrees-with-evaluator", test_index_agrees_with_evaluator);
  g_test_add_func ("/ioc/index/hundred-thousand-md5-items", test_hundred_thousand_md5_items);
  g_test_add_func ("/ioc/index/sharded-keys-chain-in-order", test_sharded_keys_chain_in_order);
  g_test_add_func ("/ioc/index/size-gated-hashing", test_size_gated_hashing);
  g_test_add_func ("/ioc/index/size-range-and-ungated-hash", test_size_range_and_ungated_hash);
  g_test_add_func ("/ioc/index/matched-text-true-branch-only", test_matched_text_shows_true_branch_only);
  return g_test_run ();
}
