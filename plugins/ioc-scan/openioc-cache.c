/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A cache of parsed IOC documents on disk, so that a large collection is
 * parsed once rather than on every scan: loading 100,000 items spends most
 * of its time in libxml2, and a scheduled or repeated scan loads the same
 * files again and again.
 *
 * One entry per document, named by a key: the SHA-256 of the document's
 * name and content (documents embedded in a task), or of a file's path and
 * identity (device, inode, size, mtime and ctime), so a file that did not
 * change is not even read. A file whose ctime is less than two seconds old
 * is neither looked up nor stored: the kernel's ctime ticks coarsely, and a
 * file rewritten within one tick with the same size would keep its identity
 * (git's "racy clean" problem).
 *
 * An entry keeps what the parser saw, not what it derived: the tree, with
 * each item's attributes and Content as written, the metadata, and the
 * problems and unsupported terms reported. Loading rebuilds every item
 * through the same term, condition and value code as the parser, so a
 * cache entry cannot hold an item the parser would not build. The reader
 * treats an entry as untrusted all the same: a header with the format and
 * key, a checksum of the body, every length checked against what is left,
 * UTF-8 text, the parser's nesting limit; and a file that is not a regular
 * file owned by us, or is too large, is not read. Any failure falls back
 * to parsing. A loaded document's nodes are one block, and its ids and
 * texts stay where they lie in the mapped entry.
 *
 * Entries are written to a temporary file and renamed, so a reader never
 * sees half of one; the folder is pruned to a size bound, oldest use
 * first (a hit touches its entry).
 */
#include "openioc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vigil/util/io.h>

#define CACHE_MAGIC "VIGILIOC"
/* Bump when the parser's output for the same input changes: the tree it
 * builds, the problems or unsupported terms it reports. */
#define CACHE_FORMAT 1u
#define KEY_LEN 32
/* magic, format, reserved, key, body checksum, body length */
#define HEADER_LEN (8 + 4 + 4 + KEY_LEN + 8 + 8)
#define SUM_AT (16 + KEY_LEN)
#define BODY_LEN_AT (SUM_AT + 8)
#define ENTRY_SUFFIX ".ioc-cache"
/* The parser's own nesting limit. */
#define MAX_DEPTH 64
/* ctime ticks in jiffies; two seconds is well past one. */
#define RACY_SECONDS 2
/* Temporary files this old were left by a process that died. */
#define STALE_TMP_SECONDS 3600

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

static void
digest_parts (guint8 key[KEY_LEN], const void *const *parts, const gsize *lens, guint n)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  unsigned int len = KEY_LEN;

  EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
  for (guint i = 0; i < n; i++)
    EVP_DigestUpdate (ctx, parts[i], lens[i]);
  EVP_DigestFinal_ex (ctx, key, &len);
  EVP_MD_CTX_free (ctx);
}

void
ioc_cache_key_memory (const char *name, const char *data, gsize len, guint8 key[32])
{
  static const char tag[] = "vigil-ioc-cache memory";
  guint64 size = len;
  const void *parts[] = { tag, name, &size, data };
  const gsize lens[] = { sizeof tag, strlen (name) + 1, sizeof size, len };
  digest_parts (key, parts, lens, G_N_ELEMENTS (parts));
}

gboolean
ioc_cache_key_file (const char *path, const struct stat *st, guint8 key[32])
{
  static const char tag[] = "vigil-ioc-cache file";
  gint64 identity[] = { (gint64) st->st_dev, (gint64) st->st_ino, (gint64) st->st_size,
                        (gint64) st->st_mtim.tv_sec, (gint64) st->st_mtim.tv_nsec,
                        (gint64) st->st_ctim.tv_sec, (gint64) st->st_ctim.tv_nsec };
  const void *parts[] = { tag, path, identity };
  const gsize lens[] = { sizeof tag, strlen (path) + 1, sizeof identity };

  g_autoptr (GChecksum) sum = NULL;
  gsize len = KEY_LEN;

  if (!S_ISREG (st->st_mode) || st->st_ctim.tv_sec > g_get_real_time () / G_USEC_PER_SEC - RACY_SECONDS)
    return FALSE;
  /* GLib's SHA-256 for these hundred bytes: the first use of OpenSSL's
   * loads its configuration and providers, 2 ms that a scan with a
   * handful of items would otherwise spend on nothing else. */
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    g_checksum_update (sum, parts[i], lens[i]);
  g_checksum_get_digest (sum, key, &len);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

#define NULL_STRING G_MAXUINT32

typedef struct {
  GByteArray *out;
  GHashTable *refs;      /* pooled string -> index + 1 */
  GPtrArray  *table;     /* pooled strings in index order */
} Writer;

static void
put_u8 (Writer *w, guint8 v)
{
  g_byte_array_append (w->out, &v, 1);
}

static void
put_u32 (Writer *w, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);
  g_byte_array_append (w->out, (const guint8 *) &le, 4);
}

/* With its NUL, so that a reader can use it where it lies. */
static void
put_str (Writer *w, const char *s)
{
  gsize len = s != NULL ? strlen (s) : 0;
  put_u32 (w, s != NULL ? (guint32) len : NULL_STRING);
  if (s != NULL)
    g_byte_array_append (w->out, (const guint8 *) s, len + 1);
}

static guint32
ref_of (Writer *w, const char *s)
{
  gpointer ref;

  if (s == NULL)
    return 0;
  ref = g_hash_table_lookup (w->refs, s);
  if (ref == NULL)
    {
      g_ptr_array_add (w->table, (gpointer) s);
      ref = GUINT_TO_POINTER (w->table->len);
      g_hash_table_insert (w->refs, (gpointer) s, ref);
    }
  return GPOINTER_TO_UINT (ref);
}

/* First pass: the table of pooled strings the items refer to. */
static void
collect_refs (Writer *w, const IocNode *node)
{
  if (!node->is_item)
    {
      for (guint i = 0; i < node->children->len; i++)
        collect_refs (w, node->children->pdata[i]);
      return;
    }
  ref_of (w, node->condition_text);
  ref_of (w, node->document);
  ref_of (w, node->search);
  ref_of (w, node->content_type);
}

static void
put_node (Writer *w, const IocNode *node)
{
  put_u8 (w, node->is_item);
  put_u32 (w, node->line);
  put_str (w, node->id);
  if (!node->is_item)
    {
      put_u8 (w, node->is_and);
      put_u32 (w, node->children->len);
      for (guint i = 0; i < node->children->len; i++)
        put_node (w, node->children->pdata[i]);
      return;
    }
  put_u32 (w, ref_of (w, node->condition_text));
  put_u32 (w, ref_of (w, node->document));
  put_u32 (w, ref_of (w, node->search));
  put_u32 (w, ref_of (w, node->content_type));
  put_u8 (w, node->negate);
  put_u8 (w, node->preserve_case);
  put_str (w, node->value.text);
}

static guint32
count_nodes (const IocNode *node)
{
  guint32 n = 1;

  for (guint i = 0; !node->is_item && i < node->children->len; i++)
    n += count_nodes (node->children->pdata[i]);
  return n;
}

GBytes *
ioc_cache_encode (const IocDoc *doc)
{
  Writer w = { g_byte_array_new (), g_hash_table_new (g_str_hash, g_str_equal),
               g_ptr_array_new () };

  if (doc->root != NULL)
    collect_refs (&w, doc->root);
  put_u8 (&w, doc->version);
  put_str (&w, doc->id);
  put_str (&w, doc->short_description);
  put_str (&w, doc->description);
  put_str (&w, doc->authored_by);
  put_u32 (&w, doc->problems->len);
  for (guint i = 0; i < doc->problems->len; i++)
    {
      const IocProblem *p = doc->problems->pdata[i];
      put_u8 (&w, p->error);
      put_u32 (&w, p->line);
      put_str (&w, p->message);
    }
  put_u32 (&w, doc->unsupported->len);
  for (guint i = 0; i < doc->unsupported->len; i++)
    {
      const IocUnsupported *u = doc->unsupported->pdata[i];
      put_str (&w, u->term);
      put_u32 (&w, u->line);
    }
  put_u32 (&w, w.table->len);
  for (guint i = 0; i < w.table->len; i++)
    put_str (&w, w.table->pdata[i]);
  put_u32 (&w, doc->n_items);
  put_u32 (&w, doc->root != NULL ? count_nodes (doc->root) : 0);
  put_u8 (&w, doc->root != NULL);
  if (doc->root != NULL)
    put_node (&w, doc->root);
  g_hash_table_unref (w.refs);
  g_ptr_array_unref (w.table);
  return g_byte_array_free_to_bytes (w.out);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

typedef struct {
  const guint8 *p, *end;
  gboolean      ok;
  IocDoc       *doc;
  GPtrArray    *table;       /* pooled strings (borrowed from doc->pool) */
  gint         *conditions;  /* per table entry: parsed condition, or -1 */
  guint         n_items;
  guint         n_nodes;     /* nodes taken from doc->node_block */
  guint         max_nodes;
  guint32       last_document, last_search;  /* refs of the last term */
  IocTerm       last_term;
} Reader;

static gboolean
fail (Reader *r)
{
  r->ok = FALSE;
  r->p = r->end;
  return FALSE;
}

static guint8
get_u8 (Reader *r)
{
  if (r->end - r->p < 1)
    return fail (r);
  return *r->p++;
}

/* A flag: 0 or 1, nothing else. */
static gboolean
get_bool (Reader *r)
{
  guint8 v = get_u8 (r);
  return v <= 1 ? v : fail (r);
}

static guint32
get_u32 (Reader *r)
{
  guint32 le;

  if (r->end - r->p < 4)
    return fail (r);
  memcpy (&le, r->p, 4);
  r->p += 4;
  return GUINT32_FROM_LE (le);
}

/* A count of things that take at least @min_bytes each: never more than
 * what is left could hold, so a forged count cannot size an allocation. */
static guint32
get_count (Reader *r, gsize min_bytes)
{
  guint32 n = get_u32 (r);
  return (gsize) (r->end - r->p) / min_bytes >= n ? n : (fail (r), 0u);
}

/* Whether @len bytes are UTF-8, as all XML text is (GRegex and case
 * folding rely on it); digests and names are nearly always ASCII, checked
 * eight bytes at a time. */
static gboolean
is_utf8 (const guint8 *s, gsize len)
{
  guint64 w, high = 0;
  gsize i = 0;

  for (; i + 8 <= len; i += 8)
    {
      memcpy (&w, s + i, 8);
      high |= w;
    }
  for (; i < len; i++)
    high |= s[i];
  return (high & 0x8080808080808080ull) == 0 || g_utf8_validate_len ((const char *) s, len, NULL);
}

/* A string where it lies in the entry, or NULL where @nullable: its
 * length, its bytes (UTF-8 with no NUL, as the parser's strings are) and
 * a NUL. */
static const char *
get_str_view (Reader *r, gboolean nullable)
{
  guint32 len = get_u32 (r);
  const char *s = (const char *) r->p;

  if (!r->ok || (len == NULL_STRING && !nullable))
    return (fail (r), NULL);
  if (len == NULL_STRING)
    return NULL;
  if ((gsize) (r->end - r->p) <= len || r->p[len] != '\0' || memchr (s, '\0', len) != NULL
      || !is_utf8 (r->p, len))
    return (fail (r), NULL);
  r->p += len + 1;
  return s;
}

static char *
get_str (Reader *r, gboolean nullable)
{
  return g_strdup (get_str_view (r, nullable));
}

/* A pooled string by reference (0: NULL). */
static const char *
get_ref (Reader *r, guint32 *ref_out)
{
  guint32 ref = get_u32 (r);

  if (ref > r->table->len)
    return (fail (r), NULL);
  *ref_out = ref;
  return ref == 0 ? NULL : r->table->pdata[ref - 1];
}

static IocNode *get_node (Reader *r, IocNode *parent, guint depth);

/* Whether an item's value holds a copy or a regex of its own (most hold
 * only their text, which lies in the entry). */
static gboolean
owns_memory (const IocNode *item)
{
  const IocValue *v = &item->value;
  return v->regex != NULL || (v->cmp != NULL && v->cmp != v->text)
         || (v->cmp_folded != NULL && v->cmp_folded != v->cmp && v->cmp_folded != v->text);
}

static void
get_item (Reader *r, IocNode *item)
{
  guint32 cond_ref, document_ref, search_ref, ref;
  gboolean ignored;
  const char *text;

  item->is_item = TRUE;
  item->condition_text = get_ref (r, &cond_ref);
  item->document = get_ref (r, &document_ref);
  item->search = get_ref (r, &search_ref);
  item->content_type = get_ref (r, &ref);
  item->negate = get_bool (r);
  item->preserve_case = get_bool (r);
  /* Borrowed from the entry, which the document keeps (in_block). */
  text = get_str_view (r, FALSE);
  /* The parser never leaves these two NULL. */
  if (!r->ok || item->condition_text == NULL || item->search == NULL)
    {
      fail (r);
      return;
    }
  /* Derived the way the parser derives them; a condition is parsed once
   * per distinct text. @negate is already the item's final one. */
  if (r->conditions[cond_ref] < 0)
    r->conditions[cond_ref] = ioc_condition_parse (item->condition_text, r->doc->version, &ignored);
  item->condition = r->conditions[cond_ref];
  /* Items nearly always repeat the term of the one before. */
  if (document_ref != r->last_document || search_ref != r->last_search)
    {
      r->last_document = document_ref;
      r->last_search = search_ref;
      r->last_term = ioc_term_lookup (item->document, item->search);
    }
  item->term = r->last_term;
  ioc_item_set_value (NULL, item, (char *) text);
  if (owns_memory (item))
    g_ptr_array_add (r->doc->owning_nodes, item);
  r->n_items++;
}

static IocNode *
get_node (Reader *r, IocNode *parent, guint depth)
{
  IocNode *node;
  guint32 n;

  if (depth > MAX_DEPTH || r->n_nodes == r->max_nodes)
    return (fail (r), NULL);
  node = &r->doc->node_block[r->n_nodes++];
  node->in_block = TRUE;
  node->parent = parent;
  node->is_item = get_bool (r);
  node->line = get_u32 (r);
  node->id = (char *) get_str_view (r, TRUE);
  if (!r->ok)
    return node;
  if (node->is_item)
    {
      get_item (r, node);
      return node;
    }
  node->is_and = get_bool (r);
  n = get_count (r, 14);
  /* No free function: the block goes as a whole. */
  node->children = g_ptr_array_new_full (n, NULL);
  g_ptr_array_add (r->doc->owning_nodes, node);
  for (guint32 i = 0; i < n && r->ok; i++)
    g_ptr_array_add (node->children, get_node (r, node, depth + 1));
  return node;
}

static void
get_metadata (Reader *r, IocDoc *doc)
{
  guint8 version = get_u8 (r);

  /* 0: a file that failed before its root said which version it is. */
  if (version != 0 && version != IOC_V1_0 && version != IOC_V1_1)
    fail (r);
  doc->version = version;
  doc->id = get_str (r, TRUE);
  doc->short_description = get_str (r, TRUE);
  doc->description = get_str (r, TRUE);
  doc->authored_by = get_str (r, TRUE);
}

static void
get_reports (Reader *r, IocDoc *doc)
{
  guint32 n = get_count (r, 9);

  for (guint32 i = 0; i < n && r->ok; i++)
    {
      IocProblem *p = g_new0 (IocProblem, 1);
      p->error = get_bool (r);
      p->line = get_u32 (r);
      p->message = get_str (r, FALSE);
      g_ptr_array_add (doc->problems, p);
    }
  n = get_count (r, 8);
  for (guint32 i = 0; i < n && r->ok; i++)
    {
      IocUnsupported *u = g_new0 (IocUnsupported, 1);
      u->term = get_str (r, FALSE);
      u->line = get_u32 (r);
      g_ptr_array_add (doc->unsupported, u);
    }
}

static void
get_table (Reader *r, IocDoc *doc)
{
  guint32 n = get_count (r, 4);

  for (guint32 i = 0; i < n && r->ok; i++)
    {
      char *s = get_str (r, FALSE);
      /* A writer never repeats a string: the pool holds each once. */
      if (s == NULL || g_hash_table_contains (doc->pool, s))
        {
          g_free (s);
          fail (r);
          break;
        }
      g_hash_table_add (doc->pool, s);
      g_ptr_array_add (r->table, s);
    }
}

/* What a block node holds of its own; its id and text lie in the entry. */
static void
release (IocNode *node)
{
  IocValue *v = &node->value;

  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_clear_pointer (&node->ungated, g_ptr_array_unref);
  if (v->cmp == v->text)
    v->cmp = NULL;
  if (v->cmp_folded == v->text)
    v->cmp_folded = NULL;
  v->text = NULL;
  ioc_value_clear (v);
}

void
ioc_cache_doc_clear (IocDoc *doc)
{
  for (guint i = 0; doc->owning_nodes != NULL && i < doc->owning_nodes->len; i++)
    release (doc->owning_nodes->pdata[i]);
  g_clear_pointer (&doc->owning_nodes, g_ptr_array_unref);
  doc->root = NULL;
  ioc_block_free (doc->node_block, doc->node_block_size);
  doc->node_block = NULL;
  doc->node_block_size = 0;
  g_clear_pointer (&doc->backing, g_bytes_unref);
}

/* Back to what ioc_doc_new made: a failed decode leaves nothing behind. */
static void
doc_reset (IocDoc *doc)
{
  ioc_cache_doc_clear (doc);
  g_clear_pointer (&doc->id, g_free);
  g_clear_pointer (&doc->short_description, g_free);
  g_clear_pointer (&doc->description, g_free);
  g_clear_pointer (&doc->authored_by, g_free);
  g_ptr_array_set_size (doc->problems, 0);
  g_ptr_array_set_size (doc->unsupported, 0);
  g_hash_table_remove_all (doc->pool);
  doc->n_items = 0;
  doc->version = 0;
  doc->usable = FALSE;
}

gboolean
ioc_cache_decode (IocDoc *doc, GBytes *body)
{
  static const guint8 nothing[1];
  gsize len;
  const guint8 *data = g_bytes_get_data (body, &len);
  /* An empty GBytes may have no data at all: NULL + 0 is undefined. */
  Reader r = { data ? data : nothing, (data ? data : nothing) + len, TRUE, doc,
               g_ptr_array_new (), NULL, 0, 0, 0,
               G_MAXUINT32, G_MAXUINT32, IOC_TERM_UNSUPPORTED };
  guint32 n_items;
  gboolean has_root;

  get_metadata (&r, doc);
  get_reports (&r, doc);
  get_table (&r, doc);
  r.conditions = g_new (gint, r.table->len + 1);
  for (guint i = 0; i <= r.table->len; i++)
    r.conditions[i] = -1;
  n_items = get_u32 (&r);
  /* Every node takes at least 14 bytes of the entry. */
  r.max_nodes = get_count (&r, 14);
  has_root = get_bool (&r);
  if (has_root && doc->version == 0)
    fail (&r);
  if (has_root && r.ok && r.max_nodes > 0)
    {
      /* One block for the whole tree (openioc-block.c): 100,000 separate
       * allocations cost more than everything else a load does. */
      doc->node_block_size = (gsize) r.max_nodes * sizeof (IocNode);
      doc->node_block = ioc_block_alloc0 (&doc->node_block_size);
      doc->owning_nodes = g_ptr_array_new ();
      doc->root = get_node (&r, NULL, 1);
      /* The parser's root is always an Indicator. */
      if (doc->root->is_item)
        fail (&r);
    }
  /* A file that failed keeps the count of the items read before the
   * error, without their tree. */
  if (r.ok && (r.p != r.end || (has_root && r.n_items != n_items) || r.n_nodes != r.max_nodes
               || has_root != (doc->root != NULL)))
    fail (&r);
  g_ptr_array_unref (r.table);
  g_free (r.conditions);
  if (!r.ok)
    {
      doc_reset (doc);
      return FALSE;
    }
  doc->n_items = n_items;
  doc->usable = doc->root != NULL && !ioc_doc_has_errors (doc);
  doc->backing = g_bytes_ref (body);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Entries on disk                                                     */
/* ------------------------------------------------------------------ */

static char *
entry_path (const char *dir, const guint8 key[KEY_LEN])
{
  char hex[2 * KEY_LEN + 1];

  for (guint i = 0; i < KEY_LEN; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", key[i]);
  return g_strconcat (dir, G_DIR_SEPARATOR_S, hex, ENTRY_SUFFIX, NULL);
}

/* A checksum against entries torn by a crash or damaged on disk, at
 * memory speed (SHA-256 of the entries was a sixth of a cached load). Not
 * against forgery: the folder is private to the user that runs the scans,
 * who can as well rewrite the tasks themselves. Four 64-bit lanes of
 * multiply-xor, so that the lanes run side by side. */
static guint64
body_sum (const guint8 *body, gsize len)
{
  guint64 lane[4] = { 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full,
                      0x165667b19e3779f9ull, 0x27d4eb2f165667c5ull };
  guint64 w, h;
  gsize i = 0;

  for (; i + 32 <= len; i += 32)
    for (guint k = 0; k < 4; k++)
      {
        memcpy (&w, body + i + 8 * k, 8);
        lane[k] = (lane[k] ^ GUINT64_FROM_LE (w)) * 0xff51afd7ed558ccdull;
        lane[k] ^= lane[k] >> 31;
      }
  h = len;
  for (guint k = 0; k < 4; k++)
    h = (h ^ lane[k]) * 0xc4ceb9fe1a85ec53ull;
  for (; i < len; i++)
    h = (h ^ body[i]) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

typedef struct {
  void  *data;
  gsize  size;
} Mapping;

static void
mapping_free (gpointer p)
{
  Mapping *m = p;
  munmap (m->data, m->size);
  g_free (m);
}

/* The entry mapped rather than read: its pages are the page cache's own,
 * all mapped at once, where a read copied them into fresh memory that
 * faulted in page by page. Private and read-only: a change to the file
 * afterwards is not seen (its checksum was checked on these bytes). */
static GBytes *
map_entry (int fd, gsize size)
{
  Mapping *m;
  void *data = mmap (NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);

  if (data == MAP_FAILED)
    return NULL;
  m = g_new (Mapping, 1);
  m->data = data;
  m->size = size;
  return g_bytes_new_with_free_func (data, size, mapping_free, m);
}

static gboolean
check_entry (const guint8 *data, gsize size, const guint8 key[KEY_LEN])
{
  guint32 format;
  guint64 body_len, sum;

  memcpy (&format, data + 8, 4);
  memcpy (&sum, data + SUM_AT, 8);
  memcpy (&body_len, data + BODY_LEN_AT, 8);
  return memcmp (data, CACHE_MAGIC, 8) == 0 && GUINT32_FROM_LE (format) == CACHE_FORMAT
         && memcmp (data + 16, key, KEY_LEN) == 0
         && GUINT64_FROM_LE (body_len) == size - HEADER_LEN
         && GUINT64_FROM_LE (sum) == body_sum (data + HEADER_LEN, size - HEADER_LEN);
}

gboolean
ioc_cache_load (const char *dir, const guint8 key[32], gsize max_len, IocDoc *doc)
{
  g_autofree char *path = entry_path (dir, key);
  g_autoptr (GBytes) entry = NULL;
  g_autoptr (GBytes) body = NULL;
  struct stat st;
  gboolean ok;
  int fd;

  /* Never through a symlink, never a FIFO that would block. */
  fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  ok = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_uid == geteuid ()
       && st.st_size >= HEADER_LEN && (guint64) st.st_size <= max_len
       && (entry = map_entry (fd, (gsize) st.st_size)) != NULL;
  if (ok)
    {
      body = g_bytes_new_from_bytes (entry, HEADER_LEN, (gsize) st.st_size - HEADER_LEN);
      ok = check_entry (g_bytes_get_data (entry, NULL), (gsize) st.st_size, key)
           && ioc_cache_decode (doc, body);
    }
  /* Oldest use goes first when the folder is pruned. */
  if (ok)
    futimens (fd, NULL);
  close (fd);
  return ok;
}

gboolean
ioc_cache_store (const char *dir, const guint8 key[32], gsize max_len, const IocDoc *doc)
{
  g_autoptr (GBytes) body = ioc_cache_encode (doc);
  g_autofree char *tmp = g_build_filename (dir, "XXXXXX.tmp", NULL);
  g_autofree char *path = entry_path (dir, key);
  guint8 header[HEADER_LEN];
  gsize len;
  const guint8 *data = g_bytes_get_data (body, &len);
  guint32 format = GUINT32_TO_LE (CACHE_FORMAT);
  guint64 body_len = GUINT64_TO_LE ((guint64) len);
  guint64 sum = GUINT64_TO_LE (body_sum (data, len));
  gboolean ok;
  int fd;

  /* One a reader would refuse would only be written again and again. */
  if (len > max_len - HEADER_LEN)
    return FALSE;
  memset (header, 0, sizeof header);
  memcpy (header, CACHE_MAGIC, 8);
  memcpy (header + 8, &format, 4);
  memcpy (header + 16, key, KEY_LEN);
  memcpy (header + SUM_AT, &sum, 8);
  memcpy (header + BODY_LEN_AT, &body_len, 8);
  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return FALSE;
  /* No fsync: a torn entry after a crash fails its checksum and the file
   * is parsed again. The rename is what readers must never see half of. */
  ok = vigil_write_all (fd, header, sizeof header) && vigil_write_all (fd, data, len);
  ok = close (fd) == 0 && ok && rename (tmp, path) == 0;
  if (!ok)
    unlink (tmp);
  return ok;
}

/* ------------------------------------------------------------------ */
/* The folder                                                          */
/* ------------------------------------------------------------------ */

gboolean
ioc_cache_dir_check (const char *dir, GError **error)
{
  struct stat st;

  if (g_mkdir_with_parents (dir, 0700) != 0 && errno != EEXIST)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create the IOC cache folder %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  /* Entries decide what a scan looks for: the folder must be ours alone. */
  if (lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 022) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PERM,
                   "the IOC cache folder %s is not a folder private to this user: "
                   "the cache is not used", dir);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  char   *name;
  gint64  mtime;
  guint64 size;
} Entry;

static gint
older_first (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;
  return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

static void
entry_clear (gpointer p)
{
  g_free (((Entry *) p)->name);
}

guint64
ioc_cache_prune (const char *dir, guint64 max_bytes)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint64 total = 0;
  const char *name;
  struct stat st;

  if (d == NULL)
    return 0;
  g_array_set_clear_func (entries, entry_clear);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      if (g_str_has_suffix (name, ".tmp") && st.st_mtime < now - STALE_TMP_SECONDS)
        unlink (path);
      else if (g_str_has_suffix (name, ENTRY_SUFFIX))
        {
          Entry e = { g_strdup (name), st.st_mtime, (guint64) st.st_size };
          g_array_append_val (entries, e);
          total += e.size;
        }
    }
  g_array_sort (entries, older_first);
  for (guint i = 0; i < entries->len && total > max_bytes; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      g_autofree char *path = g_build_filename (dir, e->name, NULL);
      if (unlink (path) == 0)
        total -= e->size;
    }
  return total;
}
