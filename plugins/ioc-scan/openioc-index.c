/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Indexes a prepared collection so that the cost of checking one file does
 * not grow with the number of equality items. Positive `is` items on hashes,
 * FileName and FullPath go into key tables (openioc-keys.c); a node is
 * "gated" when it must be FALSE unless one of its indexed items hits (an
 * indexed item; an AND with a gated child; an OR whose children are all
 * gated). Per file,
 * the hits are looked up, marked with their ancestors, and only documents
 * whose root is ungated or marked are evaluated. The index also works out
 * which hashes a file of a given size needs: a hash item under an AND that
 * also requires SizeInBytes only matters for files of that size, so other
 * files are not hashed for it at all.
 */
#include "openioc.h"

#include <string.h>

typedef struct {
  guint64 lo, hi;
  guint   mask;
} SizeRange;

struct _IocIndex {
  IocKeys    *keys;         /* equality items by value (openioc-keys.c) */
  guint       n_indexed;
  GHashTable *root_doc;     /* IocNode root -> IocDoc */
  GPtrArray  *always;       /* IocDoc whose root is not gated */
  GHashTable *empty;        /* shared, read-only: "no hits" */
  guint       hash_global;  /* IocHashMask every file needs */
  guint       hash_any;
  GHashTable *size_exact;   /* guint64* -> mask */
  GArray     *size_ranges;  /* SizeRange */
  guint       key_kinds;    /* IocKeyKind bits present in @keys */
  guint       kind_counts[IOC_KEY_KINDS];  /* indexed items per kind */
  guint       terms;        /* 1 << IocTerm of every term an item uses */
};

/* What annotating one document found, merged into the index in
 * collection order once every document is annotated. */
typedef struct {
  guint   key_kinds;
  guint   kind_counts[IOC_KEY_KINDS];
  guint   n_indexed;
  guint   hash_any, hash_global;
  guint   terms;
  GArray *entries;      /* IocKeyEntry */
  GArray *size_needs;   /* SizeNeed */
} Notes;

typedef struct {
  const IocNode *size;
  guint          bit;
} SizeNeed;

static guint
hash_bit (IocTerm term)
{
  return term == IOC_TERM_MD5 ? IOC_HASH_MD5 : term == IOC_TERM_SHA1 ? IOC_HASH_SHA1
         : term == IOC_TERM_SHA256 ? IOC_HASH_SHA256 : 0;
}

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

/* Marks an equality item; openioc-keys.c files it under its key once
 * every document is annotated. */
static void
index_item (Notes *notes, IocNode *item)
{
  IocKeyKind kind = ioc_item_key_kind (item);

  item->indexed = kind != 0;
  item->gated = item->indexed;
  item->next_same = NULL;
  if (!item->indexed)
    return;
  notes->key_kinds |= kind;
  notes->kind_counts[g_bit_nth_lsf (kind, -1)]++;
  notes->n_indexed++;
  g_array_append_vals (notes->entries, (IocKeyEntry[]) { ioc_key_entry (item, kind) }, 1);
}

/* The nearest AND ancestor that also requires a size: its size item. */
static const IocNode *
size_gate (const IocNode *item)
{
  for (const IocNode *p = item->parent; p != NULL; p = p->parent)
    {
      if (!p->is_and)
        continue;
      for (guint i = 0; i < p->children->len; i++)
        {
          const IocNode *c = p->children->pdata[i];
          if (c->is_item && c->term == IOC_TERM_SIZE && !c->negate && c->value.valid
              && c->condition != IOC_COND_UNSUPPORTED)
            return c;
        }
    }
  return NULL;
}

static void
add_size_need (IocIndex *index, const IocNode *size, guint bit)
{
  SizeRange r = { 0, G_MAXUINT64, bit };
  const IocValue *v = &size->value;

  if (size->condition == IOC_COND_IS)
    {
      r.lo = v->lo < 0 ? 0 : (guint64) v->lo;
      r.hi = v->hi < 0 ? 0 : (guint64) v->hi;
      if (v->hi < 0)
        return; /* no file has a negative size */
    }
  else if (size->condition == IOC_COND_GREATER_THAN)
    r.lo = v->lo < 0 ? 0 : (guint64) v->lo + 1;
  else if (v->lo <= 0)
    return;
  else
    r.hi = (guint64) v->lo - 1;
  if (r.lo == r.hi)
    {
      guint64 *key = g_new (guint64, 1);
      *key = r.lo;
      bit |= GPOINTER_TO_UINT (g_hash_table_lookup (index->size_exact, key));
      g_hash_table_replace (index->size_exact, key, GUINT_TO_POINTER (bit));
    }
  else
    g_array_append_val (index->size_ranges, r);
}

static void
note_hash_need (Notes *notes, const IocNode *item)
{
  guint bit = hash_bit (item->term);
  const IocNode *size;

  if (bit == 0 || !item->value.valid || item->condition == IOC_COND_UNSUPPORTED)
    return;
  notes->hash_any |= bit;
  size = size_gate (item);
  if (size == NULL)
    notes->hash_global |= bit;
  else
    g_array_append_vals (notes->size_needs, (SizeNeed[]) { { size, bit } }, 1);
}

static void
annotate (Notes *notes, IocNode *node)
{
  if (node->is_item)
    {
      notes->terms |= 1u << node->term;
      index_item (notes, node);
      note_hash_need (notes, node);
      return;
    }
  g_clear_pointer (&node->ungated, g_ptr_array_unref);
  node->ungated = g_ptr_array_new ();
  node->gated = !node->is_and && node->children->len > 0;
  for (guint i = 0; i < node->children->len; i++)
    {
      IocNode *c = node->children->pdata[i];
      annotate (notes, c);
      if (!c->gated)
        g_ptr_array_add (node->ungated, c);
      if (node->is_and && c->gated)
        node->gated = TRUE;
      else if (!node->is_and && !c->gated)
        node->gated = FALSE;
    }
}

/* Annotating touches every node: a large collection annotates its
 * documents on every core, each into its own notes. */
#define ANNOTATE_SPLIT_ITEMS 8192

typedef struct {
  IocCollection *coll;
  gint           next;
} Annotator;

static Notes *
notes_of (IocDoc *doc)
{
  Notes *notes = g_new0 (Notes, 1);

  notes->entries = g_array_sized_new (FALSE, FALSE, sizeof (IocKeyEntry), doc->n_items);
  notes->size_needs = g_array_new (FALSE, FALSE, sizeof (SizeNeed));
  annotate (notes, doc->root);
  return notes;
}

void
ioc_index_notes_free (gpointer notes)
{
  Notes *n = notes;

  if (n == NULL)
    return;
  g_array_unref (n->entries);
  g_array_unref (n->size_needs);
  g_free (n);
}

void
ioc_index_annotate_doc (IocDoc *doc)
{
  g_clear_pointer (&doc->index_notes, ioc_index_notes_free);
  if (doc->usable)
    doc->index_notes = notes_of (doc);
}

/* Each document's notes are its own allocation: notes of neighbouring
 * documents in one array shared cache lines, and the threads updating
 * them item by item made the lines bounce more than the work took. */
static gpointer
annotate_worker (gpointer data)
{
  Annotator *a = data;
  gint i;

  while ((i = g_atomic_int_add (&a->next, 1)) < (gint) a->coll->docs->len)
    {
      IocDoc *doc = a->coll->docs->pdata[i];
      if (doc->usable && doc->index_notes == NULL)
        doc->index_notes = notes_of (doc);
    }
  return NULL;
}

/* The documents not annotated yet (those loaded together were annotated
 * by the loading threads, right after each was parsed or decoded). */
static void
annotate_all (IocCollection *coll)
{
  Annotator a = { coll, 0 };
  guint items = 0, n_threads;
  GThread *threads[8];

  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      items += doc->usable && doc->index_notes == NULL ? doc->n_items : 0;
    }
  n_threads = items < ANNOTATE_SPLIT_ITEMS ? 0
              : MIN (MIN (g_get_num_processors (), G_N_ELEMENTS (threads) + 1), coll->docs->len) - 1;
  for (guint t = 0; t < n_threads; t++)
    threads[t] = g_thread_new ("ioc-annotate", annotate_worker, &a);
  annotate_worker (&a);
  for (guint t = 0; t < n_threads; t++)
    g_thread_join (threads[t]);
}

void
ioc_index_build (IocCollection *coll)
{
  IocIndex *index = g_new0 (IocIndex, 1);
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (IocKeyEntry));

  index->root_doc = g_hash_table_new (NULL, NULL);
  index->always = g_ptr_array_new ();
  index->empty = g_hash_table_new (NULL, NULL);
  index->size_exact = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  index->size_ranges = g_array_new (FALSE, FALSE, sizeof (SizeRange));
  annotate_all (coll);
  /* Merged in collection order: the result is what one thread makes. */
  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      Notes *n = doc->index_notes;
      if (!doc->usable)
        {
          /* Left out as a duplicate after its loading annotated it. */
          g_clear_pointer (&doc->index_notes, ioc_index_notes_free);
          continue;
        }
      index->key_kinds |= n->key_kinds;
      index->n_indexed += n->n_indexed;
      index->hash_any |= n->hash_any;
      index->hash_global |= n->hash_global;
      index->terms |= n->terms;
      for (guint k = 0; k < IOC_KEY_KINDS; k++)
        index->kind_counts[k] += n->kind_counts[k];
      for (guint k = 0; k < n->size_needs->len; k++)
        {
          SizeNeed *need = &g_array_index (n->size_needs, SizeNeed, k);
          add_size_need (index, need->size, need->bit);
        }
      g_array_append_vals (entries, n->entries->data, n->entries->len);
      g_clear_pointer (&doc->index_notes, ioc_index_notes_free);
      g_hash_table_insert (index->root_doc, doc->root, doc);
      if (!doc->root->gated)
        g_ptr_array_add (index->always, doc);
    }
  index->keys = ioc_keys_build (entries, index->kind_counts);
  coll->index = index;
}

void
ioc_index_free (IocIndex *index)
{
  ioc_keys_free (index->keys);
  g_hash_table_unref (index->root_doc);
  g_ptr_array_unref (index->always);
  g_hash_table_unref (index->empty);
  g_hash_table_unref (index->size_exact);
  g_array_unref (index->size_ranges);
  g_free (index);
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

IocKeys *
ioc_index_keys (IocIndex *index)
{
  return index->keys;
}

guint
ioc_index_hashes_for_size (IocIndex *index, guint64 size)
{
  guint mask = index->hash_global;

  if (mask == index->hash_any)
    return mask;
  mask |= GPOINTER_TO_UINT (g_hash_table_lookup (index->size_exact, &size));
  for (guint i = 0; i < index->size_ranges->len; i++)
    {
      const SizeRange *r = &g_array_index (index->size_ranges, SizeRange, i);
      if (size >= r->lo && size <= r->hi)
        mask |= r->mask;
    }
  return mask;
}

guint
ioc_index_hashes_any (IocIndex *index)
{
  return index->hash_any;
}

gboolean
ioc_index_uses_term (IocIndex *index, IocTerm term)
{
  return (index->terms & (1u << term)) != 0;
}

gboolean
ioc_index_size_gated_only (IocIndex *index)
{
  return index->hash_any != 0 && index->hash_global == 0;
}

/* Marks @node and its ancestors; each marked node maps to the array of its
 * marked children, so an OR can visit just those. */
static void
mark (GHashTable *marked, IocNode *node)
{
  IocNode *child = NULL;

  for (IocNode *cur = node; cur != NULL; child = cur, cur = cur->parent)
    {
      GPtrArray *kids = g_hash_table_lookup (marked, cur);
      gboolean fresh = kids == NULL;
      if (fresh)
        {
          kids = g_ptr_array_new ();
          g_hash_table_insert (marked, cur, kids);
        }
      if (child != NULL)
        g_ptr_array_add (kids, child);
      if (!fresh)
        break;
    }
}

static void
lookup (IocIndex *index, GHashTable **marked, IocKeyKind kind, const char *value)
{
  IocNode *hit;

  if (!(index->key_kinds & kind) || value == NULL)
    return;
  hit = ioc_keys_lookup (index->keys, kind, value);
  if (hit == NULL)
    return;
  if (*marked == NULL)
    *marked = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  for (; hit != NULL; hit = hit->next_same)
    mark (*marked, hit);
}

static GHashTable *
find_hits (IocIndex *index, const IocFileFacts *f)
{
  GHashTable *marked = NULL;

  lookup (index, &marked, IOC_KEY_MD5, (f->have & IOC_HASH_MD5) ? f->md5 : NULL);
  lookup (index, &marked, IOC_KEY_SHA1, (f->have & IOC_HASH_SHA1) ? f->sha1 : NULL);
  lookup (index, &marked, IOC_KEY_SHA256, (f->have & IOC_HASH_SHA256) ? f->sha256 : NULL);
  lookup (index, &marked, IOC_KEY_NAME, f->name);
  lookup (index, &marked, IOC_KEY_PATH, f->path);
  if (index->key_kinds & IOC_KEY_NAME_FOLDED)
    {
      g_autofree char *folded = ioc_fold (f->name);
      lookup (index, &marked, IOC_KEY_NAME_FOLDED, folded);
    }
  if (index->key_kinds & IOC_KEY_PATH_FOLDED)
    {
      g_autofree char *folded = ioc_fold (f->path);
      lookup (index, &marked, IOC_KEY_PATH_FOLDED, folded);
    }
  return marked;
}

void
ioc_index_match (IocIndex *index, const IocFileFacts *facts,
                 IocFoundFunc found, gpointer user_data)
{
  g_autoptr (GHashTable) marked = find_hits (index, facts);
  GHashTable *hits = marked != NULL ? marked : index->empty;
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < index->always->len; i++)
    {
      IocDoc *doc = index->always->pdata[i];
      if (ioc_node_eval_hits (doc->root, facts, hits) == IOC_TRUE)
        found (doc, facts, hits, user_data);
    }
  if (marked == NULL)
    return;
  g_hash_table_iter_init (&iter, marked);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      IocNode *node = key;
      IocDoc *doc;
      if (node->parent != NULL || !node->gated)
        continue;
      doc = g_hash_table_lookup (index->root_doc, node);
      if (doc != NULL && ioc_node_eval_hits (node, facts, marked) == IOC_TRUE)
        found (doc, facts, marked, user_data);
    }
}
