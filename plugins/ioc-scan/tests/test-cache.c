/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cache of parsed documents (openioc-cache.c): a document loaded from
 * the cache is the document the parser made, field by field, for every
 * file of the public corpus and for items of every kind; a collection
 * stores on its first load and hits on the next; a file changed since, a
 * file too new to trust, a damaged, truncated, misnamed or symlinked entry
 * are parsed again; the decoder refuses every truncation of a valid body
 * and survives damaged ones; the folder must be private and is pruned
 * oldest first.
 */
#define _GNU_SOURCE /* memmem */
#include "ioc-test-util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

/* ------------------------------------------------------------------ */
/* Comparing documents                                                 */
/* ------------------------------------------------------------------ */

static void
assert_same_string (const char *a, const char *b)
{
  g_assert_cmpstr (a, ==, b);
}

static void
assert_same_value (const IocValue *a, const IocValue *b)
{
  g_assert_cmpint (a->type, ==, b->type);
  g_assert_cmpint (a->valid, ==, b->valid);
  g_assert_cmpint (a->is_range, ==, b->is_range);
  assert_same_string (a->text, b->text);
  assert_same_string (a->cmp, b->cmp);
  assert_same_string (a->cmp_folded, b->cmp_folded);
  g_assert_cmpint (a->lo, ==, b->lo);
  g_assert_cmpint (a->hi, ==, b->hi);
  g_assert_cmpint (a->regex != NULL, ==, b->regex != NULL);
  if (a->regex != NULL)
    {
      g_assert_cmpstr (g_regex_get_pattern (a->regex), ==, g_regex_get_pattern (b->regex));
      g_assert_cmpint (g_regex_get_compile_flags (a->regex), ==,
                       g_regex_get_compile_flags (b->regex));
    }
}

static void
assert_same_node (const IocNode *a, const IocNode *b, const IocNode *b_parent)
{
  g_assert_true (b->parent == b_parent);
  g_assert_cmpint (a->is_item, ==, b->is_item);
  g_assert_cmpuint (a->line, ==, b->line);
  assert_same_string (a->id, b->id);
  if (!a->is_item)
    {
      g_assert_cmpint (a->is_and, ==, b->is_and);
      g_assert_cmpuint (a->children->len, ==, b->children->len);
      for (guint i = 0; i < a->children->len; i++)
        assert_same_node (a->children->pdata[i], b->children->pdata[i], b);
      return;
    }
  assert_same_string (a->document, b->document);
  assert_same_string (a->search, b->search);
  assert_same_string (a->content_type, b->content_type);
  assert_same_string (a->condition_text, b->condition_text);
  g_assert_cmpint (a->condition, ==, b->condition);
  g_assert_cmpint (a->negate, ==, b->negate);
  g_assert_cmpint (a->preserve_case, ==, b->preserve_case);
  g_assert_cmpint (a->term, ==, b->term);
  assert_same_value (&a->value, &b->value);
}

static void
assert_same_doc (const IocDoc *a, const IocDoc *b)
{
  g_assert_cmpint (a->version, ==, b->version);
  assert_same_string (a->id, b->id);
  assert_same_string (a->short_description, b->short_description);
  assert_same_string (a->description, b->description);
  assert_same_string (a->authored_by, b->authored_by);
  g_assert_cmpint (a->usable, ==, b->usable);
  g_assert_cmpuint (a->n_items, ==, b->n_items);
  g_assert_cmpuint (a->problems->len, ==, b->problems->len);
  for (guint i = 0; i < a->problems->len; i++)
    {
      const IocProblem *p = a->problems->pdata[i], *q = b->problems->pdata[i];
      g_assert_cmpint (p->error, ==, q->error);
      g_assert_cmpuint (p->line, ==, q->line);
      g_assert_cmpstr (p->message, ==, q->message);
    }
  g_assert_cmpuint (a->unsupported->len, ==, b->unsupported->len);
  for (guint i = 0; i < a->unsupported->len; i++)
    {
      const IocUnsupported *p = a->unsupported->pdata[i], *q = b->unsupported->pdata[i];
      g_assert_cmpstr (p->term, ==, q->term);
      g_assert_cmpuint (p->line, ==, q->line);
    }
  g_assert_cmpint (a->root != NULL, ==, b->root != NULL);
  if (a->root != NULL)
    assert_same_node (a->root, b->root, NULL);
}

/* Encodes @doc and decodes it into a new document of @coll. */
static IocDoc *
round_trip (IocCollection *coll, const IocDoc *doc)
{
  g_autoptr (GBytes) body = ioc_cache_encode (doc);
  IocDoc *copy = ioc_doc_new (coll, doc->file);

  g_assert_true (ioc_cache_decode (copy, body));
  return copy;
}

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

/* ioc11 () / ioc10 () taking the body built by indicator (). */
static char *
take11 (const char *id, char *body)
{
  char *xml = ioc11 (id, body);
  g_free (body);
  return xml;
}

static char *
take10 (const char *id, char *body)
{
  char *xml = ioc10 (id, body);
  g_free (body);
  return xml;
}

/* Items of every kind the parser builds: every term, every condition,
 * ranges, regexes, negation both ways, preserve-case, invalid values, an
 * unsupported term and condition, nested indicators with ids. */
static char *
every_kind_11 (void)
{
  return take11 ("every-kind", indicator ("OR",
    item11 ("FileItem/Md5sum", "is", "md5", " D41D8CD98F00B204E9800998ECF8427E ", NULL),
    item11 ("FileItem/Sha1sum", "is", "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL),
    item11 ("FileItem/Sha256sum", "contains", "sha256", "E3B0C442", NULL),
    item11 ("FileItem/FileName", "matches", "string", "^inv.*\\.exe$", NULL),
    item11 ("FileItem/FileName", "is", "string", "Invoice.EXE", "preserve-case=\"true\""),
    item11 ("FileItem/FullPath", "starts-with", "string", "C:\\Users\\alice", NULL),
    item11 ("FileItem/FilePath", "ends-with", "string", "\\Downloads", NULL),
    item11 ("FileItem/FileExtension", "is", "string", ".exe", "negate=\"true\""),
    indicator ("AND",
      item11 ("FileItem/SizeInBytes", "is", "int", "100 TO 200", NULL),
      item11 ("FileItem/SizeInBytes", "greater-than", "int", "5", NULL),
      item11 ("FileItem/Created", "less-than", "date", "2024-01-02T03:04:05Z", NULL),
      item11 ("FileItem/Modified", "is", "date", "2020-01-01T00:00:00Z TO 2030-01-01T00:00:00Z", NULL),
      item11 ("FileItem/Username", "contains", "string", "ali", "negate=\"true\" preserve-case=\"true\""),
      NULL),
    item11 ("FileItem/Md5sum", "is", "md5", "not-a-hash", NULL),
    item11 ("FileItem/Md5sum", "is", "md5", "", NULL),
    item11 ("ProcessItem/name", "is", "string", "evil.exe", NULL),
    item11 ("FileItem/FileName", "sounds-like", "string", "x", NULL),
    item11 ("FileItem/SizeInBytes", "matches", "int", "12", NULL),
    NULL));
}

static char *
every_kind_10 (void)
{
  return take10 ("every-kind-10", indicator ("OR",
    item10 ("FileItem/Md5sum", "isnot", "md5", "d41d8cd98f00b204e9800998ecf8427e"),
    item10 ("FileItem/FileName", "containsnot", "string", "tmp"),
    item10 ("FileItem/Accessed", "is", "date", "2024-01-02T03:04:05Z"),
    NULL));
}

static void
test_round_trip_every_kind (void)
{
  g_autofree char *xml11 = every_kind_11 ();
  g_autofree char *xml10 = every_kind_10 ();
  const char *bad[] = {
    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"x\">]><x/>",
    "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"t\"><criteria>",
    "<other/>",
  };
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocDoc *docs[2 + G_N_ELEMENTS (bad)];

  docs[0] = ioc_collection_add_memory (coll, "eleven.ioc", xml11, strlen (xml11));
  docs[1] = ioc_collection_add_memory (coll, "ten.ioc", xml10, strlen (xml10));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    docs[2 + i] = ioc_collection_add_memory (coll, "bad.ioc", bad[i], strlen (bad[i]));
  g_assert_true (docs[0]->usable);
  g_assert_cmpuint (docs[0]->n_items, ==, 18);
  g_assert_cmpuint (docs[0]->unsupported->len, ==, 2);
  g_assert_cmpuint (docs[0]->problems->len, >=, 3);
  for (guint i = 0; i < G_N_ELEMENTS (docs); i++)
    assert_same_doc (docs[i], round_trip (coll, docs[i]));
}

static void
test_round_trip_corpus (void)
{
  g_autoptr (GPtrArray) files = corpus_files ();
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  guint items = 0;

  if (files == NULL)
    return;
  for (guint i = 0; i < files->len; i++)
    {
      IocDoc *doc = ioc_collection_add_file (coll, files->pdata[i]);
      assert_same_doc (doc, round_trip (coll, doc));
      items += doc->n_items;
    }
  g_assert_cmpuint (items, >, 1000);
}

/* A document of @n MD5 items: its nodes fill more than a megabyte, the
 * block the decoder maps apart. */
static char *
many_items (guint n)
{
  g_autoptr (GString) body = g_string_new ("<Indicator operator=\"OR\" id=\"top\">");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (body,
      "<IndicatorItem id=\"i%u\" condition=\"is\"><Context document=\"FileItem\" "
      "search=\"FileItem/Md5sum\" type=\"mir\"/><Content type=\"md5\">%032x</Content>"
      "</IndicatorItem>", i, i);
  g_string_append (body, "</Indicator>");
  return ioc11 ("many", body->str);
}

static void
test_round_trip_large (void)
{
  g_autofree char *xml = many_items (8000);
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocDoc *doc = ioc_collection_add_memory (coll, "many.ioc", xml, strlen (xml));
  IocDoc *copy = round_trip (coll, doc);

  g_assert_cmpuint (copy->n_items, ==, 8000);
  g_assert_cmpuint (copy->node_block_size, >=, 8001 * sizeof (IocNode));
  assert_same_doc (doc, copy);
}

/* ------------------------------------------------------------------ */
/* Collections with a cache folder                                     */
/* ------------------------------------------------------------------ */

static IocCollection *
cached_collection (const char *dir)
{
  g_autoptr (GError) error = NULL;
  IocCollection *coll = ioc_collection_new (0);

  g_assert_true (ioc_collection_set_cache_dir (coll, dir, &error));
  g_assert_no_error (error);
  return coll;
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    n += g_str_has_suffix (name, ".ioc-cache");
  return n;
}

/* The only entry of @dir. (transfer full) */
static char *
only_entry (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_cmpuint (count_entries (dir), ==, 1);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".ioc-cache"))
      return g_build_filename (dir, name, NULL);
  g_assert_not_reached ();
}

static void
test_memory_documents_hit (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("ioc-cache-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "cache", NULL);
  g_autofree char *xml = every_kind_11 ();
  g_autofree char *xml2 = every_kind_10 ();
  const char *names[] = { "a.ioc", "b.ioc" };
  const char *datas[] = { xml, xml2 };
  const gsize lens[] = { strlen (xml), strlen (xml2) };
  g_autoptr (IocCollection) plain = ioc_collection_new (0);
  g_autoptr (IocCollection) first = cached_collection (dir);
  g_autoptr (IocCollection) second = cached_collection (dir);
  g_autoptr (IocCollection) renamed = cached_collection (dir);
  struct stat st;

  ioc_collection_add_memory_many (plain, names, datas, lens, 2);
  ioc_collection_add_memory_many (first, names, datas, lens, 2);
  g_assert_cmpint (first->cache_hits, ==, 0);
  g_assert_cmpint (first->cache_stores, ==, 2);
  g_assert_cmpuint (count_entries (dir), ==, 2);
  g_assert_cmpint (stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  ioc_collection_add_memory_many (second, names, datas, lens, 2);
  g_assert_cmpint (second->cache_hits, ==, 2);
  g_assert_cmpint (second->cache_stores, ==, 0);
  for (guint i = 0; i < 2; i++)
    {
      IocDoc *doc = second->docs->pdata[i];
      g_assert_nonnull (doc->backing);
      assert_same_doc (plain->docs->pdata[i], doc);
    }

  /* The name is part of the key: problems and ids may name the file. */
  ioc_collection_add_memory (renamed, "other.ioc", xml, strlen (xml));
  g_assert_cmpint (renamed->cache_hits, ==, 0);
  g_assert_cmpint (renamed->cache_stores, ==, 1);
  vt_rm_rf (tmp);
}

/* Writes @xml to @path, then waits until its ctime is old enough for
 * its identity to be trusted. */
static void
write_settled (const char *path, const char *xml)
{
  g_assert_true (g_file_set_contents (path, xml, -1, NULL));
  g_usleep (2100 * 1000);
}

static void
test_file_documents_hit_until_changed (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("ioc-cache-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "cache", NULL);
  g_autofree char *path = g_build_filename (tmp, "x.ioc", NULL);
  g_autofree char *xml = take11 ("x", indicator ("OR",
    item11 ("FileItem/Md5sum", "is", "md5", "d41d8cd98f00b204e9800998ecf8427e", NULL), NULL));
  g_autofree char *changed = g_strdup (xml);
  IocCollection *coll;

  /* Too new: neither looked up nor stored. */
  g_assert_true (g_file_set_contents (path, xml, -1, NULL));
  coll = cached_collection (dir);
  ioc_collection_add_path (coll, path);
  g_assert_cmpint (coll->cache_stores, ==, 0);
  g_assert_true (((IocDoc *) coll->docs->pdata[0])->usable);
  ioc_collection_free (coll);

  g_usleep (2100 * 1000);
  coll = cached_collection (dir);
  ioc_collection_add_path (coll, path);
  g_assert_cmpint (coll->cache_stores, ==, 1);
  ioc_collection_free (coll);
  coll = cached_collection (dir);
  ioc_collection_add_path (coll, path);
  g_assert_cmpint (coll->cache_hits, ==, 1);
  g_assert_cmpstr (((IocNode *) root_of (coll)->children->pdata[0])->value.cmp, ==,
                   "d41d8cd98f00b204e9800998ecf8427e");
  ioc_collection_free (coll);

  /* Same size, new content: a new identity, parsed again. */
  memcpy (strstr (changed, "d41d8cd9"), "00000000", 8);
  write_settled (path, changed);
  coll = cached_collection (dir);
  ioc_collection_add_path (coll, path);
  g_assert_cmpint (coll->cache_hits, ==, 0);
  g_assert_cmpint (coll->cache_stores, ==, 1);
  g_assert_cmpstr (((IocNode *) root_of (coll)->children->pdata[0])->value.cmp, ==,
                   "000000008f00b204e9800998ecf8427e");
  ioc_collection_free (coll);
  vt_rm_rf (tmp);
}

/* Damages the only entry of @dir with @damage, then checks that the next
 * load parses again (and rewrites the entry) with the same result. */
typedef void (*Damage) (const char *entry, const char *dir);

static void
flip_last_byte (const char *entry, const char *dir)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (entry, &data, &len, NULL));
  data[len - 1] ^= 0x20;
  g_assert_true (g_file_set_contents (entry, data, len, NULL));
}

static void
truncate_tail (const char *entry, const char *dir)
{
  struct stat st;

  g_assert_cmpint (stat (entry, &st), ==, 0);
  g_assert_cmpint (truncate (entry, st.st_size - 10), ==, 0);
}

static void
empty (const char *entry, const char *dir)
{
  g_assert_cmpint (truncate (entry, 0), ==, 0);
}

/* Another document's valid entry under this key's name. */
static void
misnamed (const char *entry, const char *dir)
{
  g_autofree char *xml = every_kind_10 ();
  g_autoptr (IocCollection) other = cached_collection (dir);
  g_autofree char *other_entry = NULL;

  g_assert_cmpint (unlink (entry), ==, 0);
  ioc_collection_add_memory (other, "other.ioc", xml, strlen (xml));
  other_entry = only_entry (dir);
  g_assert_cmpint (rename (other_entry, entry), ==, 0);
}

/* A symlink to a valid entry: never followed. */
static void
symlinked (const char *entry, const char *dir)
{
  g_autofree char *moved = g_strconcat (entry, ".real", NULL);

  g_assert_cmpint (rename (entry, moved), ==, 0);
  g_assert_cmpint (symlink (moved, entry), ==, 0);
}

static const struct {
  const char *name;
  Damage      damage;
} damages[] = {
  { "flipped-byte", flip_last_byte },
  { "truncated", truncate_tail },
  { "empty", empty },
  { "misnamed", misnamed },
  { "symlinked", symlinked },
};

static void
check_damage (gconstpointer data)
{
  Damage damage = damages[GPOINTER_TO_UINT (data)].damage;
  g_autofree char *tmp = g_dir_make_tmp ("ioc-cache-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (tmp, "cache", NULL);
  g_autofree char *xml = every_kind_11 ();
  g_autoptr (IocCollection) first = cached_collection (dir);
  g_autoptr (IocCollection) again = cached_collection (dir);
  g_autofree char *entry = NULL;
  struct stat st;

  ioc_collection_add_memory (first, "a.ioc", xml, strlen (xml));
  entry = only_entry (dir);
  damage (entry, dir);
  ioc_collection_add_memory (again, "a.ioc", xml, strlen (xml));
  g_assert_cmpint (again->cache_hits, ==, 0);
  g_assert_cmpint (again->cache_stores, ==, 1);
  assert_same_doc (first->docs->pdata[0], again->docs->pdata[0]);
  /* Replaced by a good entry (the symlink itself, not what it names). */
  g_assert_cmpint (lstat (entry, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  vt_rm_rf (tmp);
}

/* ------------------------------------------------------------------ */
/* The decoder on bad bodies                                           */
/* ------------------------------------------------------------------ */

static void
test_decoder_refuses_truncations (void)
{
  g_autofree char *xml = every_kind_11 ();
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocDoc *doc = ioc_collection_add_memory (coll, "a.ioc", xml, strlen (xml));
  g_autoptr (GBytes) body = ioc_cache_encode (doc);
  gsize len = g_bytes_get_size (body);

  /* An empty GBytes has no data pointer at all. */
  {
    g_autoptr (GBytes) none = g_bytes_new (NULL, 0);
    g_assert_false (ioc_cache_decode (ioc_doc_new (coll, "none.ioc"), none));
  }
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr (GBytes) part = g_bytes_new_from_bytes (body, 0, cut);
      IocDoc *copy = ioc_doc_new (coll, "a.ioc");
      g_assert_false (ioc_cache_decode (copy, part));
      /* Left as ioc_doc_new made it. */
      g_assert_null (copy->root);
      g_assert_null (copy->id);
      g_assert_cmpuint (copy->problems->len, ==, 0);
      g_assert_cmpuint (copy->unsupported->len, ==, 0);
      g_assert_cmpuint (g_hash_table_size (copy->pool), ==, 0);
      g_assert_null (copy->backing);
      g_assert_false (copy->usable);
    }
}

/* Text that is not UTF-8 (XML text always is; GRegex crashed on such a
 * pattern, found by fuzz-ioc-cache) is refused. */
static void
test_decoder_refuses_non_utf8 (void)
{
  g_autofree char *xml = every_kind_11 ();
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  IocDoc *doc = ioc_collection_add_memory (coll, "a.ioc", xml, strlen (xml));
  g_autoptr (GBytes) body = ioc_cache_encode (doc);
  gsize len;
  guint8 *data = g_bytes_unref_to_data (g_bytes_ref (body), &len);
  guint8 *pattern = memmem (data, len, "^inv.*", 6);
  g_autoptr (GBytes) damaged = NULL;

  g_assert_nonnull (pattern);
  pattern[1] = 0xff;
  damaged = g_bytes_new_take (data, len);
  g_assert_false (ioc_cache_decode (ioc_doc_new (coll, "a.ioc"), damaged));
}

/* Any damage either fails or gives a document the index can take. */
static void
test_decoder_survives_damage (void)
{
  g_autofree char *xml = every_kind_11 ();
  g_autoptr (IocCollection) source = ioc_collection_new (0);
  IocDoc *doc = ioc_collection_add_memory (source, "a.ioc", xml, strlen (xml));
  g_autoptr (GBytes) body = ioc_cache_encode (doc);
  gsize len;
  const guint8 *data = g_bytes_get_data (body, &len);
  GRand *rand = g_rand_new_with_seed (20261122);
  guint decoded = 0, refused = 0;

  for (guint round = 0; round < 3000; round++)
    {
      g_autoptr (IocCollection) coll = ioc_collection_new (0);
      guint8 *copy = g_memdup2 (data, len);
      g_autoptr (GBytes) damaged = NULL;
      guint flips = g_rand_int_range (rand, 1, 4);

      for (guint k = 0; k < flips; k++)
        copy[g_rand_int_range (rand, 0, (gint32) len)] = (guint8) g_rand_int_range (rand, 0, 256);
      damaged = g_bytes_new_take (copy, len);
      if (ioc_cache_decode (ioc_doc_new (coll, "a.ioc"), damaged))
        {
          decoded++;
          ioc_collection_prepare (coll);
        }
      else
        refused++;
    }
  g_rand_free (rand);
  g_assert_cmpuint (decoded, >, 0);
  g_assert_cmpuint (refused, >, 0);
}

/* ------------------------------------------------------------------ */
/* The folder                                                          */
/* ------------------------------------------------------------------ */

static void
test_folder_must_be_private (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("ioc-cache-XXXXXX", NULL);
  g_autofree char *open_dir = g_build_filename (tmp, "open", NULL);
  g_autofree char *link = g_build_filename (tmp, "link", NULL);
  g_autofree char *file = g_build_filename (tmp, "file", NULL);
  g_autoptr (IocCollection) coll = ioc_collection_new (0);
  const char *bad[] = { open_dir, link, file };

  g_assert_cmpint (mkdir (open_dir, 0777), ==, 0);
  g_assert_cmpint (chmod (open_dir, 0777), ==, 0);
  g_assert_cmpint (symlink (tmp, link), ==, 0);
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (ioc_collection_set_cache_dir (coll, bad[i], &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, bad[i]));
      g_assert_null (coll->cache_dir);
    }
  vt_rm_rf (tmp);
}

static void
put_file (const char *dir, const char *name, gsize size, time_t mtime)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *data = g_malloc0 (size);
  struct utimbuf times = { mtime, mtime };

  g_assert_true (g_file_set_contents (path, data, size, NULL));
  g_assert_cmpint (utime (path, &times), ==, 0);
}

static void
test_prune_oldest_first (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ioc-cache-XXXXXX", NULL);
  time_t now = time (NULL);
  g_autofree char *newest = g_build_filename (dir, "c.ioc-cache", NULL);
  g_autofree char *fresh_tmp = g_build_filename (dir, "fresh.tmp", NULL);
  g_autofree char *stale_tmp = g_build_filename (dir, "stale.tmp", NULL);

  put_file (dir, "a.ioc-cache", 1000, now - 300);
  put_file (dir, "b.ioc-cache", 1000, now - 200);
  put_file (dir, "c.ioc-cache", 1000, now - 100);
  put_file (dir, "stale.tmp", 10, now - 7200);
  put_file (dir, "fresh.tmp", 10, now);
  put_file (dir, "other", 5000, now - 9999);
  g_assert_cmpuint (ioc_cache_prune (dir, 1500), ==, 1000);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  g_assert_true (g_file_test (newest, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stale_tmp, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (ioc_cache_prune (dir, 1500), ==, 1000);
  vt_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/cache/round-trip/every-kind", test_round_trip_every_kind);
  g_test_add_func ("/ioc/cache/round-trip/corpus", test_round_trip_corpus);
  g_test_add_func ("/ioc/cache/round-trip/large", test_round_trip_large);
  g_test_add_func ("/ioc/cache/memory-documents-hit", test_memory_documents_hit);
  g_test_add_func ("/ioc/cache/file-documents-hit-until-changed",
                   test_file_documents_hit_until_changed);
  for (guint i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      g_autofree char *path = g_strconcat ("/ioc/cache/damaged/", damages[i].name, NULL);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), check_damage);
    }
  g_test_add_func ("/ioc/cache/decoder/truncations", test_decoder_refuses_truncations);
  g_test_add_func ("/ioc/cache/decoder/damage", test_decoder_survives_damage);
  g_test_add_func ("/ioc/cache/decoder/not-utf8", test_decoder_refuses_non_utf8);
  g_test_add_func ("/ioc/cache/folder-must-be-private", test_folder_must_be_private);
  g_test_add_func ("/ioc/cache/prune-oldest-first", test_prune_oldest_first);
  return g_test_run ();
}
