/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The evaluator as a specification: three-valued logic, every condition on
 * every type, case rules (caseless by default, preserve-case, hashes always
 * caseless), trimming (hashes, numbers and dates yes, strings never),
 * inclusive ranges, strict greater/less, negation, unknown terms, the
 * Windows-to-POSIX path mapping and same-file AND.
 */
#include "ioc-test-util.h"

#include <string.h>

#define T IOC_TRUE
#define F IOC_FALSE
#define U IOC_UNKNOWN

/* Evaluates one item (with negation) over @f. */
static IocTri
eval_item (const char *search, const char *cond, const char *type, const char *content,
           const char *attrs, const IocFileFacts *f)
{
  g_autofree char *body = indicator ("OR", item11 (search, cond, type, content, attrs), NULL);
  g_autofree char *x = ioc11 ("t", body);
  g_autoptr (IocCollection) coll = collection_of (x);
  return ioc_item_eval (root_of (coll)->children->pdata[0], f);
}

static IocTri
on_path (const char *path, const char *search, const char *cond, const char *content,
         const char *attrs)
{
  IocFileFacts f;
  facts_init (&f, path);
  return eval_item (search, cond, "string", content, attrs, &f);
}

static void
test_tri_tables (void)
{
  const IocTri v[] = { F, T, U };
  const IocTri and_t[3][3] = { { F, F, F }, { F, T, U }, { F, U, U } };
  const IocTri or_t[3][3] = { { F, T, U }, { T, T, T }, { U, T, U } };

  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      {
        g_assert_cmpint (ioc_tri_and (v[a], v[b]), ==, and_t[a][b]);
        g_assert_cmpint (ioc_tri_or (v[a], v[b]), ==, or_t[a][b]);
      }
  g_assert_cmpint (ioc_tri_not (T), ==, F);
  g_assert_cmpint (ioc_tri_not (F), ==, T);
  g_assert_cmpint (ioc_tri_not (U), ==, U);
}

static void
test_string_conditions_caseless (void)
{
  const char *p = "/home/alice/Downloads/Invoice.EXE";
  g_assert_cmpint (on_path (p, "FileItem/FileName", "is", "invoice.exe", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "is", "invoice", NULL), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "contains", "VOICE", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "contains", "xyz", NULL), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "starts-with", "INV", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "starts-with", "voice", NULL), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "ends-with", ".exe", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "ends-with", ".dll", NULL), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "^inv.*\\.exe$", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "^\\d+$", NULL), ==, F);
}

static void
test_string_conditions_preserve_case (void)
{
  const char *p = "/tmp/Invoice.EXE";
  const char *pc = "preserve-case=\"true\"";
  g_assert_cmpint (on_path (p, "FileItem/FileName", "is", "invoice.exe", pc), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "is", "Invoice.EXE", pc), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "contains", "voice.e", pc), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "starts-with", "Inv", pc), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "ends-with", ".exe", pc), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "invoice", pc), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "Invoice", pc), ==, T);
}

static void
test_unicode_caseless (void)
{
  g_assert_cmpint (on_path ("/tmp/ÉTÉ.txt", "FileItem/FileName", "is", "été.txt", NULL), ==, T);
  /* A Linux name that is not UTF-8 still compares (ASCII folding). */
  g_assert_cmpint (on_path ("/tmp/A\xff.BIN", "FileItem/FileName", "ends-with", ".bin", NULL), ==, T);
}

static void
test_strings_never_trimmed (void)
{
  g_assert_cmpint (on_path ("/tmp/evil.exe", "FileItem/FileName", "is", " evil.exe", NULL), ==, F);
  g_assert_cmpint (on_path ("/tmp/ evil.exe", "FileItem/FileName", "is", " evil.exe", NULL), ==, T);
  g_assert_cmpint (on_path ("/tmp/evil.exe", "FileItem/FileName", "contains", "evil.exe\t", NULL), ==, F);
}

static void
test_regex_is_pcre_and_unanchored (void)
{
  const char *p = "/var/tmp/a dropper-12345.bin";
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "dropper", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "a\\sdrop", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "\\x61 d", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "-\\d{5}\\.", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "-\\d{6,9}", NULL), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "a.*?bin", NULL), ==, T);
}

static void
test_hash_trimmed_and_caseless (void)
{
  IocFileFacts f;
  facts_init (&f, "/tmp/x");
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5",
                              "  D41D8CD98F00B204E9800998ECF8427E\t", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5",
                              "d41d8cd98f00b204e9800998ecf8427f", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/Sha1sum", "is", "sha1",
                              "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Sha256sum", "is", "sha256",
                              " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ",
                              NULL, &f), ==, T);
  /* preserve-case does not make hashes case-sensitive */
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5", "D41D8CD98F00B204E9800998ECF8427E",
                              "preserve-case=\"true\"", &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "starts-with", "md5", "D41D8", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "contains", "md5", "9800998E", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "ends-with", "md5", "427E", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "matches", "md5", "^D41D", NULL, &f), ==, T);
}

static void
test_hash_invalid_or_missing_is_unknown (void)
{
  IocFileFacts f;
  facts_init (&f, "/tmp/x");
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5", "d41d8cd98f", NULL, &f), ==, U);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5", "zz1d8cd98f00b204e9800998ecf8427e",
                              NULL, &f), ==, U);
  f.have = 0;
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5", "d41d8cd98f00b204e9800998ecf8427e",
                              NULL, &f), ==, U);
  g_assert_cmpint (eval_item ("FileItem/Md5sum", "is", "md5", "d41d8cd98f00b204e9800998ecf8427e",
                              "negate=\"true\"", &f), ==, U);
}

static void
test_int_conditions_and_ranges (void)
{
  IocFileFacts f;
  facts_init (&f, "/tmp/x"); /* size 1000 */
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", " 1000 ", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", "999", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "greater-than", "int", "999", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "greater-than", "int", "1000", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "less-than", "int", "1001", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "less-than", "int", "1000", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", "1000 TO 2000", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", "10 TO 1000", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", "1001 TO 2000", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", "2000 TO 10", NULL, &f), ==, U);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "is", "int", "big", NULL, &f), ==, U);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "contains", "int", "10", NULL, &f), ==, U);
  g_assert_cmpint (eval_item ("FileItem/SizeInBytes", "greater-than", "int", "1 TO 5", NULL, &f), ==, U);
}

static void
test_date_conditions_and_ranges (void)
{
  IocFileFacts f;
  facts_init (&f, "/tmp/x"); /* 2024-01-02T03:04:05Z */
  g_assert_cmpint (eval_item ("FileItem/Modified", "is", "date", "2024-01-02T03:04:05Z", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Modified", "is", "date", "2024-01-02T04:04:05+01:00", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Modified", "greater-than", "date", "2024-01-02", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Modified", "less-than", "date", "2024-01-02T03:04:05Z", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/Accessed", "is", "date",
                              "2024-01-01T00:00:00Z TO 2024-01-02T03:04:05Z", NULL, &f), ==, T);
  g_assert_cmpint (eval_item ("FileItem/Changed", "is", "date",
                              "2023-01-01T00:00:00Z TO 2023-12-31T23:59:59Z", NULL, &f), ==, F);
  g_assert_cmpint (eval_item ("FileItem/Modified", "is", "date", "yesterday", NULL, &f), ==, U);
  f.created = IOC_TIME_UNKNOWN;
  g_assert_cmpint (eval_item ("FileItem/Created", "greater-than", "date", "2000-01-01", NULL, &f), ==, U);
}

static void
test_bool_values (void)
{
  IocValue v = { 0 };
  g_autofree char *why = NULL;

  ioc_value_parse (&v, IOC_TYPE_BOOL, IOC_TERM_UNSUPPORTED, IOC_COND_IS, FALSE, " TRUE ", &why);
  g_assert_true (v.valid);
  g_assert_cmpint (ioc_value_test_number (&v, IOC_COND_IS, 1), ==, T);
  g_assert_cmpint (ioc_value_test_number (&v, IOC_COND_IS, 0), ==, F);
  g_clear_pointer (&why, g_free);
  ioc_value_parse (&v, IOC_TYPE_BOOL, IOC_TERM_UNSUPPORTED, IOC_COND_IS, FALSE, "maybe", &why);
  g_assert_false (v.valid);
  g_assert_cmpint (ioc_value_test_number (&v, IOC_COND_IS, 1), ==, U);
  g_assert_false (ioc_condition_applies (IOC_COND_GREATER_THAN, IOC_TYPE_BOOL));
  ioc_value_clear (&v);
}

/* A value compares its own text when that is already the normal form (a
 * lowercase hash, a plain string): reparsing and clearing must free each
 * string once whichever form it took (ASan checks the frees). */
static void
test_value_text_shared_with_cmp (void)
{
  const char *md5 = "0123456789abcdef0123456789abcdef";
  IocValue v = { 0 };
  g_autofree char *why = NULL;

  ioc_value_parse (&v, IOC_TYPE_HASH, IOC_TERM_MD5, IOC_COND_IS, FALSE, md5, &why);
  g_assert_true (v.valid);
  g_assert_true (v.cmp == v.text);
  g_assert_cmpint (ioc_value_test_string (&v, IOC_COND_IS, FALSE, md5, NULL), ==, T);
  ioc_value_parse (&v, IOC_TYPE_HASH, IOC_TERM_MD5, IOC_COND_IS, FALSE,
                   " 0123456789ABCDEF0123456789abcdef\n", &why);
  g_assert_true (v.valid);
  g_assert_true (v.cmp != v.text);
  g_assert_cmpstr (v.cmp, ==, md5);
  g_assert_cmpint (ioc_value_test_string (&v, IOC_COND_IS, FALSE, md5, NULL), ==, T);
  ioc_value_parse (&v, IOC_TYPE_STRING, IOC_TERM_FILE_NAME, IOC_COND_IS, FALSE, "Evil.exe", &why);
  g_assert_true (v.cmp == v.text);
  g_assert_cmpstr (v.cmp_folded, ==, "evil.exe");
  ioc_value_parse (&v, IOC_TYPE_HASH, IOC_TERM_MD5, IOC_COND_IS, FALSE, "0123456789abcdef", &why);
  g_assert_false (v.valid);
  ioc_value_clear (&v);
}

/* The parser's fast path for digests already in normal form must give
 * what the general path gives, and only for hash terms under `is`: a
 * FileName that looks like a digest stays a caseless string, a SHA-1 item
 * with an MD5-length text is invalid, and `contains` keeps its own form. */
static void
test_digest_shaped_values (void)
{
  const char *md5 = "0123456789abcdef0123456789abcdef";
  struct {
    const char  *search, *condition;
    IocValueType type;
    gboolean     valid, shared;
  } cases[] = {
    { "FileItem/Md5sum", "is", IOC_TYPE_HASH, TRUE, TRUE },
    { "FileItem/FileName", "is", IOC_TYPE_STRING, TRUE, TRUE },
    { "FileItem/Sha1sum", "is", IOC_TYPE_HASH, FALSE, FALSE },
    { "FileItem/Md5sum", "contains", IOC_TYPE_HASH, TRUE, FALSE },
  };

  /* Every position of every 16-character block, and the tail of SHA-1. */
  for (guint len = 32; len <= 64; len += len == 32 ? 8 : 24)
    {
      IocTerm term = len == 32 ? IOC_TERM_MD5 : len == 40 ? IOC_TERM_SHA1 : IOC_TERM_SHA256;
      const char *bad[] = { "g", "A", "/", ":", "`", "\xc3" };
      g_autofree char *good = g_strnfill (len, 'a');
      IocValue v = { 0 };

      g_assert_true (ioc_value_parse_normal_hash (&v, term, IOC_COND_IS, good));
      g_assert_true (v.valid && v.cmp == good);
      for (guint at = 0; at < len; at++)
        for (guint b = 0; b < G_N_ELEMENTS (bad); b++)
          {
            g_autofree char *text = g_strdup (good);
            IocValue w = { 0 };
            text[at] = bad[b][0];
            g_assert_false (ioc_value_parse_normal_hash (&w, term, IOC_COND_IS, text));
            g_assert_null (w.text);
          }
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *item = item11 (cases[i].search, cases[i].condition, "string", md5, NULL);
      g_autofree char *body = indicator ("OR", g_steal_pointer (&item), NULL);
      g_autofree char *xml = ioc11 ("digest-shaped", body);
      g_autoptr (IocCollection) coll = collection_of (xml);
      const IocNode *node = root_of (coll)->children->pdata[0];
      IocValue general = { 0 };
      g_autofree char *why = NULL;

      g_assert_cmpint (node->value.type, ==, cases[i].type);
      g_assert_cmpint (node->value.valid, ==, cases[i].valid);
      g_assert_cmpint (node->value.cmp == node->value.text, ==, cases[i].shared);
      /* The general path, by hand, agrees field by field. */
      ioc_value_parse (&general, ioc_term_type (node->term), node->term, node->condition,
                       FALSE, md5, &why);
      g_assert_cmpint (general.type, ==, node->value.type);
      g_assert_cmpint (general.valid, ==, node->value.valid);
      g_assert_cmpstr (general.cmp, ==, node->value.cmp);
      g_assert_cmpstr (general.cmp_folded, ==, node->value.cmp_folded);
      ioc_value_clear (&general);
    }
}

static void
test_negation (void)
{
  const char *p = "/tmp/evil.exe";
  g_assert_cmpint (on_path (p, "FileItem/FileName", "is", "evil.exe", "negate=\"true\""), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "is", "good.exe", "negate=\"true\""), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FileName", "matches", "[", "negate=\"true\""), ==, U);
  g_assert_cmpint (on_path (p, "ProcessItem/name", "is", "evil.exe", "negate=\"true\""), ==, U);
}

static IocTri
eval_tree (const char *body_xml, const IocFileFacts *f)
{
  g_autofree char *x = ioc11 ("tree", body_xml);
  g_autoptr (IocCollection) coll = collection_of (x);
  return ioc_node_eval (root_of (coll), f);
}

static void
test_unknown_terms_in_trees (void)
{
  IocFileFacts f;
  g_autofree char *and_u = indicator ("AND", item11 ("FileItem/FileName", "is", "string", "x.exe", NULL),
                                      item11 ("ProcessItem/name", "is", "string", "x.exe", NULL), NULL);
  g_autofree char *or_u = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "x.exe", NULL),
                                     item11 ("RegistryItem/Path", "contains", "string", "Run", NULL), NULL);
  g_autofree char *or_f = indicator ("OR", item11 ("FileItem/FileName", "is", "string", "y.exe", NULL),
                                     item11 ("DnsEntryItem/Host", "is", "string", "a.b", NULL), NULL);
  g_autofree char *empty = indicator ("AND", NULL);

  facts_init (&f, "/tmp/x.exe");
  g_assert_cmpint (eval_tree (and_u, &f), ==, U);
  g_assert_cmpint (eval_tree (or_u, &f), ==, T);
  g_assert_cmpint (eval_tree (or_f, &f), ==, U);
  g_assert_cmpint (eval_tree (empty, &f), ==, U);
}

static void
test_same_file_and (void)
{
  IocFileFacts a, b, both;
  g_autofree char *body = indicator ("AND",
                                     item11 ("FileItem/FileName", "is", "string", "evil.exe", NULL),
                                     item11 ("FileItem/SizeInBytes", "is", "int", "4096", NULL), NULL);

  facts_init (&a, "/tmp/evil.exe");       /* right name, size 1000 */
  facts_init (&b, "/tmp/other.bin");
  b.size = 4096;                          /* right size, other name */
  facts_init (&both, "/opt/evil.exe");
  both.size = 4096;
  g_assert_cmpint (eval_tree (body, &a), ==, F);
  g_assert_cmpint (eval_tree (body, &b), ==, F);
  g_assert_cmpint (eval_tree (body, &both), ==, T);
}

static void
test_windows_path_mapping (void)
{
  const char *p = "/Windows/System32/Drivers/evil.sys";
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "is", "C:\\Windows\\System32\\drivers\\evil.sys", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "is", "D:\\Windows\\System32\\drivers\\evil.sys", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "contains", "System32\\Drivers\\", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "ends-with", "\\evil.sys", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FilePath", "is", "Windows\\System32\\drivers", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FilePath", "is", "C:\\Windows\\System32\\drivers\\", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FilePath", "is", "Windows", NULL), ==, F);
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "matches", "\\\\system32\\\\drivers\\\\[a-z]+\\.sys$", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "matches", "^C:\\\\Windows", NULL), ==, T);
  g_assert_cmpint (on_path (p, "FileItem/FullPath", "matches", "^/windows/system32/", NULL), ==, T);
  g_assert_cmpint (on_path ("/etc/cron.hourly/cron.sh", "FileItem/FullPath", "is", "/etc/cron.hourly/cron.sh", NULL), ==, T);
  g_assert_cmpint (on_path ("/x.bin", "FileItem/FilePath", "is", "x", NULL), ==, F);
}

static void
test_extension_and_owner (void)
{
  IocFileFacts f;
  g_assert_cmpint (on_path ("/tmp/a.tar.GZ", "FileItem/FileExtension", "is", "gz", NULL), ==, T);
  g_assert_cmpint (on_path ("/tmp/a.tar.GZ", "FileItem/FileExtension", "is", ".gz", NULL), ==, T);
  g_assert_cmpint (on_path ("/tmp/noext", "FileItem/FileExtension", "is", "gz", NULL), ==, F);
  g_assert_cmpint (on_path ("/tmp/a", "FileItem/Username", "is", "ALICE", NULL), ==, T);
  facts_init (&f, "/tmp/a");
  f.owner = NULL;
  g_assert_cmpint (eval_item ("FileItem/Username", "is", "string", "alice", NULL, &f), ==, U);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/eval/three-valued-tables", test_tri_tables);
  g_test_add_func ("/ioc/eval/string-conditions-caseless", test_string_conditions_caseless);
  g_test_add_func ("/ioc/eval/string-conditions-preserve-case", test_string_conditions_preserve_case);
  g_test_add_func ("/ioc/eval/unicode-and-non-utf8-caseless", test_unicode_caseless);
  g_test_add_func ("/ioc/eval/strings-never-trimmed", test_strings_never_trimmed);
  g_test_add_func ("/ioc/eval/regex-pcre-unanchored", test_regex_is_pcre_and_unanchored);
  g_test_add_func ("/ioc/eval/hash-trimmed-caseless", test_hash_trimmed_and_caseless);
  g_test_add_func ("/ioc/eval/hash-invalid-or-missing-unknown", test_hash_invalid_or_missing_is_unknown);
  g_test_add_func ("/ioc/eval/int-conditions-ranges", test_int_conditions_and_ranges);
  g_test_add_func ("/ioc/eval/date-conditions-ranges", test_date_conditions_and_ranges);
  g_test_add_func ("/ioc/eval/bool-values", test_bool_values);
  g_test_add_func ("/ioc/eval/value-text-shared-with-cmp", test_value_text_shared_with_cmp);
  g_test_add_func ("/ioc/eval/negation", test_negation);
  g_test_add_func ("/ioc/eval/unknown-terms-in-trees", test_unknown_terms_in_trees);
  g_test_add_func ("/ioc/eval/same-file-and", test_same_file_and);
  g_test_add_func ("/ioc/eval/windows-path-mapping", test_windows_path_mapping);
  g_test_add_func ("/ioc/eval/extension-and-owner", test_extension_and_owner);
  g_test_add_func ("/ioc/eval/digest-shaped-values", test_digest_shaped_values);
  return g_test_run ();
}
