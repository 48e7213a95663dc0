/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key tables of the index (openioc-index.c): every positive `is` item
 * on a hash, FileName or FullPath, keyed by its compared value, with the
 * items that share a value chained by next_same. A collection of 100,000
 * items spends a good part of its load filling these tables, after all its
 * files were parsed, so a large one fills them on every core: each table
 * is split into shards by the key's hash, one thread fills each shard,
 * and every thread walks the documents in collection order, so each chain
 * is exactly what one thread would build.
 */
#include "openioc.h"

#include <string.h>

#define MAX_SHARDS 4
/* Below this, starting threads costs more than it saves. */
#define SHARD_MIN_ITEMS 8192

struct _IocKeys {
  GHashTable *tables[IOC_KEY_KINDS][MAX_SHARDS];  /* value -> IocNode */
  guint       n_shards;
};

IocKeyKind
ioc_item_key_kind (const IocNode *item)
{
  if (item->negate || item->condition != IOC_COND_IS || !item->value.valid
      || item->value.is_range)
    return 0;
  switch (item->term)
    {
    case IOC_TERM_MD5: return IOC_KEY_MD5;
    case IOC_TERM_SHA1: return IOC_KEY_SHA1;
    case IOC_TERM_SHA256: return IOC_KEY_SHA256;
    case IOC_TERM_FILE_NAME: return item->preserve_case ? IOC_KEY_NAME : IOC_KEY_NAME_FOLDED;
    case IOC_TERM_FULL_PATH: return item->preserve_case ? IOC_KEY_PATH : IOC_KEY_PATH_FOLDED;
    default: return 0;
    }
}

/* The item's own string the table is keyed by (borrowed). */
static const char *
key_of (const IocNode *item, IocKeyKind kind)
{
  return (kind == IOC_KEY_NAME_FOLDED || kind == IOC_KEY_PATH_FOLDED) ? item->value.cmp_folded
                                                                      : item->value.cmp;
}

/* Keys are mostly hex digests of 32 to 64 characters: hashing them eight
 * bytes at a time costs a fraction of g_str_hash's byte-by-byte loop,
 * which showed in profiles (each key is hashed to pick its shard, then
 * by the table; each file's digests are hashed to look them up). */
static guint
key_hash (gconstpointer v)
{
  const char *s = v;
  gsize len = strlen (s);
  guint64 h = 0x9e3779b97f4a7c15ull ^ len;
  guint64 w;

  for (; len >= 8; s += 8, len -= 8)
    {
      memcpy (&w, s, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
  w = 0;
  memcpy (&w, s, len);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return (guint) h;
}

static guint
shard_of (const IocKeys *keys, const char *key)
{
  /* The high bits: the table itself buckets by the low ones. */
  return keys->n_shards == 1 ? 0 : (key_hash (key) >> 20) % keys->n_shards;
}

static GHashTable *
table_of (IocKeys *keys, IocKeyKind kind, const char *key)
{
  return keys->tables[g_bit_nth_lsf (kind, -1)][shard_of (keys, key)];
}

typedef struct {
  IocKeys       *keys;
  IocCollection *coll;
  guint          shard;
} Filler;

/* Chains an item in front of those already under its key. */
static void
fill_node (Filler *f, IocNode *node)
{
  if (!node->is_item)
    {
      for (guint i = 0; i < node->children->len; i++)
        fill_node (f, node->children->pdata[i]);
      return;
    }
  if (node->indexed)
    {
      IocKeyKind kind = ioc_item_key_kind (node);
      const char *key = key_of (node, kind);
      GHashTable *table;

      if (shard_of (f->keys, key) != f->shard)
        return;
      table = table_of (f->keys, kind, key);
      node->next_same = g_hash_table_lookup (table, key);
      g_hash_table_insert (table, (char *) key, node);
    }
}

static gpointer
fill_shard (gpointer data)
{
  Filler *f = data;

  for (guint i = 0; i < f->coll->docs->len; i++)
    {
      IocDoc *doc = f->coll->docs->pdata[i];
      if (doc->usable)
        fill_node (f, doc->root);
    }
  return NULL;
}

IocKeys *
ioc_keys_build (IocCollection *coll, guint n_indexed)
{
  IocKeys *keys = g_new0 (IocKeys, 1);
  Filler fillers[MAX_SHARDS];
  GThread *threads[MAX_SHARDS] = { NULL };

  keys->n_shards = n_indexed < SHARD_MIN_ITEMS ? 1
                   : CLAMP (g_get_num_processors (), 1, MAX_SHARDS);
  for (guint k = 0; k < IOC_KEY_KINDS; k++)
    for (guint s = 0; s < keys->n_shards; s++)
      keys->tables[k][s] = g_hash_table_new (key_hash, g_str_equal);
  for (guint s = 0; s < keys->n_shards; s++)
    {
      fillers[s] = (Filler) { keys, coll, s };
      if (s > 0)
        threads[s] = g_thread_new ("ioc-index", fill_shard, &fillers[s]);
    }
  fill_shard (&fillers[0]);
  for (guint s = 1; s < keys->n_shards; s++)
    g_thread_join (threads[s]);
  return keys;
}

void
ioc_keys_free (IocKeys *keys)
{
  for (guint k = 0; k < IOC_KEY_KINDS; k++)
    for (guint s = 0; s < keys->n_shards; s++)
      g_hash_table_unref (keys->tables[k][s]);
  g_free (keys);
}

IocNode *
ioc_keys_lookup (IocKeys *keys, IocKeyKind kind, const char *value)
{
  return g_hash_table_lookup (table_of (keys, kind, value), value);
}
