/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenIOC parser as a specification: versions by namespace, BOM and
 * comments, CDATA, the untrusted-input rules (DOCTYPE, entities, XInclude,
 * size limit), errors with lines that never stop the collection, negation
 * and preserve-case attributes, unsupported terms, warnings and duplicate
 * ids.
 */
#include "ioc-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

static IocDoc *
add (IocCollection *coll, const char *name, const char *xml)
{
  return ioc_collection_add_memory (coll, name, xml, strlen (xml));
}

static gboolean
has_problem (const IocDoc *doc, gboolean error, const char *needle, guint line)
{
  for (guint i = 0; i < doc->problems->len; i++)
    {
      IocProblem *p = doc->problems->pdata[i];
      if (p->error == error && strstr (p->message, needle) != NULL
          && (line == 0 || p->line == line))
        return TRUE;
    }
  return FALSE;
}

static char *
md5_item_doc (const char *id)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5",
                                                   "d41d8cd98f00b204e9800998ecf8427e", NULL), NULL);
  return ioc11 (id, body);
}

static void
test_version_by_namespace (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *b10 = indicator ("OR", item10 ("FileItem/FileName", "is", "string", "a"), NULL);
  g_autofree char *x10 = ioc10 ("one", b10);
  g_autofree char *x11 = md5_item_doc ("two");
  /* The names lie on purpose: the namespace decides. */
  IocDoc *d10 = add (coll, "named-like-1.1.ioc", x10);
  IocDoc *d11 = add (coll, "named-like-1.0.xml", x11);

  g_assert_true (d10->usable);
  g_assert_cmpint (d10->version, ==, IOC_V1_0);
  g_assert_true (d11->usable);
  g_assert_cmpint (d11->version, ==, IOC_V1_1);
  g_assert_cmpstr (d11->short_description, ==, "Test two");
}

static void
test_bom_and_comment_before_root (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *x = md5_item_doc ("bom");
  const char *decl_end = strstr (x, "?>") + 2;
  g_autofree char *with = g_strdup_printf ("\xEF\xBB\xBF%.*s\n<!-- generated -->\n%s",
                                           (int) (decl_end - x), x, decl_end);
  IocDoc *doc = add (coll, "bom.ioc", with);

  g_assert_true (doc->usable);
  g_assert_cmpuint (doc->n_items, ==, 1);
}

static void
test_cdata_content (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  const char *x =
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"c\"><criteria>"
      "<Indicator operator=\"OR\" id=\"a\"><IndicatorItem id=\"b\" condition=\"is\">"
      "<Context document=\"FileItem\" search=\"FileItem/FileName\" type=\"mir\"/>"
      "<Content type=\"string\"><![CDATA[a<b>&c.exe]]></Content></IndicatorItem>"
      "</Indicator></criteria></OpenIOC>";
  IocDoc *doc = add (coll, "cdata.ioc", x);
  IocNode *item;

  g_assert_true (doc->usable);
  item = doc->root->children->pdata[0];
  g_assert_cmpstr (item->value.text, ==, "a<b>&c.exe");
}

static void
test_doctype_refused (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  const char *x =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n"
      "<ioc xmlns=\"http://schemas.mandiant.com/2010/ioc\" id=\"x\"><definition/></ioc>";
  IocDoc *doc = add (coll, "laughs.ioc", x);

  g_assert_false (doc->usable);
  g_assert_true (has_problem (doc, TRUE, "DOCTYPE is not allowed", 2));
}

static void
test_external_entity_never_read (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *dir = g_dir_make_tmp ("ioc-xxe-XXXXXX", NULL);
  g_autofree char *secret = plant (dir, "secret.txt", "TOPSECRET", 9);
  g_autofree char *x = g_strdup_printf (
      "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file://%s\">]>\n"
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"x\"><criteria>"
      "<Indicator operator=\"OR\"><IndicatorItem condition=\"is\">"
      "<Context document=\"FileItem\" search=\"FileItem/FileName\"/>"
      "<Content type=\"string\">&xxe;</Content></IndicatorItem></Indicator>"
      "</criteria></OpenIOC>", secret);
  IocDoc *doc = add (coll, "xxe.ioc", x);

  g_assert_false (doc->usable);
  g_assert_null (doc->root);
  for (guint i = 0; i < doc->problems->len; i++)
    g_assert_null (strstr (((IocProblem *) doc->problems->pdata[i])->message, "TOPSECRET"));
  vt_rm_rf (dir);
}

static void
test_undeclared_entity_is_an_error_with_line (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  const char *x =
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"x\">\n<criteria>\n"
      "<Indicator operator=\"OR\"><IndicatorItem condition=\"is\">"
      "<Context document=\"FileItem\" search=\"FileItem/FileName\"/>\n"
      "<Content type=\"string\">&xxe;</Content></IndicatorItem></Indicator>"
      "</criteria></OpenIOC>";
  IocDoc *doc = add (coll, "entity.ioc", x);

  g_assert_false (doc->usable);
  g_assert_true (has_problem (doc, TRUE, "malformed XML", 4));
}

static void
test_xinclude_not_processed (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  const char *x =
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" "
      "xmlns:xi=\"http://www.w3.org/2001/XInclude\" id=\"x\"><criteria>"
      "<Indicator operator=\"OR\"><xi:include href=\"file:///etc/passwd\" parse=\"text\"/>"
      "<IndicatorItem condition=\"is\"><Context document=\"FileItem\" search=\"FileItem/FileName\"/>"
      "<Content type=\"string\">a.exe</Content></IndicatorItem></Indicator>"
      "</criteria></OpenIOC>";
  IocDoc *doc = add (coll, "xi.ioc", x);

  g_assert_true (doc->usable);
  g_assert_cmpuint (doc->root->children->len, ==, 1);
  g_assert_cmpuint (doc->n_items, ==, 1);
}

static void
test_size_limit_in_memory (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (100);
  g_autofree char *x = md5_item_doc ("big");
  IocDoc *doc = add (coll, "big.ioc", x);

  g_assert_false (doc->usable);
  g_assert_true (has_problem (doc, TRUE, "over the limit of 100 bytes", 0));
}

static void
test_size_limit_default_is_3_mib (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *dir = g_dir_make_tmp ("ioc-size-XXXXXX", NULL);
  gsize len = 3 * 1024 * 1024 + 1;
  g_autofree char *data = g_malloc0 (len);
  g_autofree char *path = NULL;
  IocDoc *doc;

  memset (data, ' ', len);
  path = plant (dir, "huge.ioc", data, len);
  doc = ioc_collection_add_file (coll, path);
  g_assert_false (doc->usable);
  g_assert_true (has_problem (doc, TRUE, "over the limit of 3145728 bytes", 0));
  vt_rm_rf (dir);
}

static void
test_truncated_file_does_not_stop_collection (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *good = md5_item_doc ("good");
  g_autofree char *bad = g_strndup (good, strlen (good) / 2);
  IocDoc *dbad = add (coll, "bad.ioc", bad);
  IocDoc *dgood = add (coll, "good.ioc", good);

  ioc_collection_prepare (coll);
  g_assert_false (dbad->usable);
  g_assert_true (has_problem (dbad, TRUE, "malformed XML", 0));
  g_assert_cmpuint (((IocProblem *) dbad->problems->pdata[0])->line, >, 0);
  g_assert_true (dgood->usable);
  g_assert_cmpuint (ioc_collection_n_usable (coll), ==, 1);
}

static void
test_foreign_root_refused (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocDoc *doc = add (coll, "stix.xml", "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\"/>");

  g_assert_false (doc->usable);
  g_assert_true (has_problem (doc, TRUE, "not an OpenIOC 1.0 or 1.1 document", 1));
}

static void
test_v10_isnot_containsnot (void)
{
  g_autofree char *body = indicator ("AND",
                                     item10 ("FileItem/FileName", "isnot", "string", "a"),
                                     item10 ("FileItem/FullPath", "containsnot", "string", "b"),
                                     item10 ("FileItem/FileName", "contains", "string", "c"), NULL);
  g_autofree char *x = ioc10 ("neg", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocNode *root = root_of (coll);
  IocNode *a = root->children->pdata[0], *b = root->children->pdata[1];

  g_assert_cmpint (a->condition, ==, IOC_COND_IS);
  g_assert_true (a->negate);
  g_assert_cmpint (b->condition, ==, IOC_COND_CONTAINS);
  g_assert_true (b->negate);
  g_assert_false (((IocNode *) root->children->pdata[2])->negate);
}

static void
test_v11_negate_preserve_case_default_false (void)
{
  g_autofree char *body = indicator ("OR",
                                     item11 ("FileItem/FileName", "is", "string", "A", NULL),
                                     item11 ("FileItem/FileName", "is", "string", "B",
                                             "negate=\"true\" preserve-case=\"true\""), NULL);
  g_autofree char *x = ioc11 ("attrs", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocNode *root = root_of (coll);
  IocNode *a = root->children->pdata[0], *b = root->children->pdata[1];

  g_assert_false (a->negate);
  g_assert_false (a->preserve_case);
  g_assert_true (b->negate);
  g_assert_true (b->preserve_case);
}

static void
test_unsupported_terms_reported_with_line (void)
{
  const char *x =
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"u\"><criteria>\n"
      "<Indicator operator=\"OR\">\n"
      "<IndicatorItem condition=\"is\"><Context document=\"ProcessItem\" search=\"ProcessItem/name\"/>"
      "<Content type=\"string\">evil.exe</Content></IndicatorItem>\n"
      "<IndicatorItem condition=\"fuzzy\"><Context document=\"FileItem\" search=\"FileItem/FileName\"/>"
      "<Content type=\"string\">evil.exe</Content></IndicatorItem>\n"
      "</Indicator></criteria></OpenIOC>";
  g_autoptr (IocCollection) coll = collection_of (x);
  IocDoc *doc = coll->docs->pdata[0];
  IocUnsupported *u0, *u1;

  g_assert_true (doc->usable);
  g_assert_cmpuint (doc->unsupported->len, ==, 2);
  u0 = doc->unsupported->pdata[0];
  u1 = doc->unsupported->pdata[1];
  g_assert_cmpstr (u0->term, ==, "ProcessItem/name");
  g_assert_cmpuint (u0->line, ==, 3);
  g_assert_cmpstr (u1->term, ==, "FileItem/FileName condition 'fuzzy'");
  g_assert_cmpuint (u1->line, ==, 4);
}

static void
test_empty_content_is_invalid_warning (void)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "contains", "string", "", NULL), NULL);
  g_autofree char *x = ioc11 ("empty", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocDoc *doc = coll->docs->pdata[0];
  IocNode *item = doc->root->children->pdata[0];

  g_assert_true (doc->usable);
  g_assert_false (item->value.valid);
  g_assert_true (has_problem (doc, FALSE, "empty Content", 0));
}

static void
test_only_negated_branch_warns (void)
{
  g_autofree char *body = indicator ("AND",
                                     item11 ("FileItem/FileName", "is", "string", "a", "negate=\"true\""),
                                     item11 ("FileItem/FileName", "is", "string", "b", "negate=\"true\""),
                                     NULL);
  g_autofree char *x = ioc11 ("negs", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocDoc *doc = coll->docs->pdata[0];

  g_assert_true (doc->usable);
  g_assert_true (has_problem (doc, FALSE, "made only of negated items", 0));
}

static void
test_bad_regex_warns_and_is_unknown (void)
{
  g_autofree char *body = indicator ("OR", item11 ("FileItem/FileName", "matches", "string", "a(b", NULL), NULL);
  g_autofree char *x = ioc11 ("re", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  IocDoc *doc = coll->docs->pdata[0];

  g_assert_false (((IocNode *) doc->root->children->pdata[0])->value.valid);
  g_assert_true (has_problem (doc, FALSE, "bad regular expression", 0));
}

static void
test_duplicate_id_first_wins (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *x = md5_item_doc ("same");
  IocDoc *a = add (coll, "a.ioc", x);
  IocDoc *b = add (coll, "b.ioc", x);

  ioc_collection_prepare (coll);
  g_assert_true (a->usable);
  g_assert_false (b->usable);
  g_assert_true (has_problem (b, TRUE, "duplicate IOC id same (already used by a.ioc)", 0));
}

static void
test_folder_sorted_and_filtered (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *dir = g_dir_make_tmp ("ioc-dir-XXXXXX", NULL);
  g_autofree char *x = md5_item_doc ("dup");

  g_free (plant (dir, "b.xml", x, strlen (x)));
  g_free (plant (dir, "a.ioc", x, strlen (x)));
  g_free (plant (dir, "notes.txt", "hello", 5));
  g_assert_cmpuint (ioc_collection_add_path (coll, dir), ==, 2);
  ioc_collection_prepare (coll);
  g_assert_true (g_str_has_suffix (((IocDoc *) coll->docs->pdata[0])->file, "a.ioc"));
  g_assert_true (((IocDoc *) coll->docs->pdata[0])->usable);
  g_assert_false (((IocDoc *) coll->docs->pdata[1])->usable);
  vt_rm_rf (dir);
}

static void
test_many_in_memory_keep_order (void)
{
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  g_autofree char *a = md5_item_doc ("a");
  g_autofree char *b = md5_item_doc ("b");
  const char *names[] = { "1.ioc", "2.ioc", "3.ioc", "4.ioc", "5.ioc" };
  const char *datas[] = { a, "<broken", b, a, "" };
  gsize lens[5];

  for (guint i = 0; i < 5; i++)
    lens[i] = strlen (datas[i]);
  ioc_collection_add_memory_many (coll, names, datas, lens, 5);
  ioc_collection_prepare (coll);
  g_assert_cmpuint (coll->docs->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpstr (((IocDoc *) coll->docs->pdata[i])->file, ==, names[i]);
  g_assert_true (((IocDoc *) coll->docs->pdata[0])->usable);
  g_assert_false (((IocDoc *) coll->docs->pdata[1])->usable);
  g_assert_true (((IocDoc *) coll->docs->pdata[2])->usable);
  /* Same id as 1.ioc: the later one is left out, whatever thread parsed it. */
  g_assert_false (((IocDoc *) coll->docs->pdata[3])->usable);
  g_assert_false (((IocDoc *) coll->docs->pdata[4])->usable);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/parse/version-by-namespace-not-extension", test_version_by_namespace);
  g_test_add_func ("/ioc/parse/bom-and-comment-before-root", test_bom_and_comment_before_root);
  g_test_add_func ("/ioc/parse/cdata-content", test_cdata_content);
  g_test_add_func ("/ioc/parse/doctype-refused", test_doctype_refused);
  g_test_add_func ("/ioc/parse/external-entity-never-read", test_external_entity_never_read);
  g_test_add_func ("/ioc/parse/undeclared-entity-error-with-line",
                   test_undeclared_entity_is_an_error_with_line);
  g_test_add_func ("/ioc/parse/xinclude-not-processed", test_xinclude_not_processed);
  g_test_add_func ("/ioc/parse/size-limit-setting", test_size_limit_in_memory);
  g_test_add_func ("/ioc/parse/size-limit-default-3mib", test_size_limit_default_is_3_mib);
  g_test_add_func ("/ioc/parse/truncated-file-does-not-stop-collection",
                   test_truncated_file_does_not_stop_collection);
  g_test_add_func ("/ioc/parse/foreign-root-refused", test_foreign_root_refused);
  g_test_add_func ("/ioc/parse/v1.0-isnot-containsnot", test_v10_isnot_containsnot);
  g_test_add_func ("/ioc/parse/v1.1-negate-preserve-case-default-false",
                   test_v11_negate_preserve_case_default_false);
  g_test_add_func ("/ioc/parse/unsupported-terms-with-line", test_unsupported_terms_reported_with_line);
  g_test_add_func ("/ioc/parse/empty-content-invalid-warning", test_empty_content_is_invalid_warning);
  g_test_add_func ("/ioc/parse/only-negated-branch-warns", test_only_negated_branch_warns);
  g_test_add_func ("/ioc/parse/bad-regex-warns", test_bad_regex_warns_and_is_unknown);
  g_test_add_func ("/ioc/parse/duplicate-id-first-wins", test_duplicate_id_first_wins);
  g_test_add_func ("/ioc/parse/folder-sorted-and-filtered", test_folder_sorted_and_filtered);
  g_test_add_func ("/ioc/parse/many-in-memory-keep-order", test_many_in_memory_keep_order);
  return g_test_run ();
}
