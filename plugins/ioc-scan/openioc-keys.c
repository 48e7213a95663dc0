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

/* Open addressing with linear probing, sized up front from the number of
 * items of the kind: GHashTable cannot be sized in advance, and growing it
 * step by step cost more than a third of filling the tables. A slot keeps
 * the key's hash so that a probe compares strings only when hashes agree.
 */
typedef struct {
  guint32  hash;
  IocNode *node;     /* first item with this key; NULL: empty */
} Slot;

/* A cache line each: the shards' threads update their tables' counts on
 * every insert, and two tables on one line made it bounce between cores
 * (that took more time than the inserts). */
typedef struct {
  Slot *slots;       /* openioc-block.c */
  gsize size;        /* bytes */
  guint mask;        /* capacity - 1, a power of two */
  guint used;
} __attribute__ ((aligned (64))) KeyTable;

struct _IocKeys {
  KeyTable tables[IOC_KEY_KINDS][MAX_SHARDS];
  guint    n_shards;
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
shard_of (const IocKeys *keys, guint32 hash)
{
  /* The high bits: the table itself buckets by the low ones. */
  return keys->n_shards == 1 ? 0 : (hash >> 20) % keys->n_shards;
}

static guint
kind_slot (IocKeyKind kind)
{
  return g_bit_nth_lsf (kind, -1);
}

/* Room for @expect keys at most 70% full. */
static void
table_init (KeyTable *t, guint expect)
{
  guint capacity = 16;

  while (capacity < G_MAXUINT / 2 && (guint64) capacity * 7 < (guint64) expect * 10)
    capacity *= 2;
  t->size = capacity * sizeof (Slot);
  t->slots = ioc_block_alloc0 (&t->size);
  t->mask = capacity - 1;
  t->used = 0;
}

/* The slot of @key: the one holding it, or the empty one it would go in.
 * The key is @key, or @node's own (read only when a hash agrees: the node
 * is another cache miss). */
static Slot *
table_find (const KeyTable *t, IocKeyKind kind, guint32 hash, const char *key,
            const IocNode *node)
{
  for (guint i = hash & t->mask;; i = (i + 1) & t->mask)
    {
      Slot *slot = &t->slots[i];
      if (slot->node == NULL)
        return slot;
      if (slot->hash == hash
          && strcmp (key_of (slot->node, kind), key ? key : key_of (node, kind)) == 0)
        return slot;
    }
}

static void
table_grow (KeyTable *t, IocKeyKind kind)
{
  KeyTable bigger;

  table_init (&bigger, t->used * 2);
  for (guint i = 0; i <= t->mask; i++)
    if (t->slots[i].node != NULL)
      *table_find (&bigger, kind, t->slots[i].hash, NULL, t->slots[i].node) = t->slots[i];
  bigger.used = t->used;
  ioc_block_free (t->slots, t->size);
  *t = bigger;
}

IocKeyEntry
ioc_key_entry (IocNode *item, IocKeyKind kind)
{
  IocKeyEntry e = { key_hash (key_of (item, kind)), kind_slot (kind), item };
  return e;
}

typedef struct {
  IocKeys      *keys;
  const GArray *entries;
  guint         shard;
} Filler;

/* How far ahead a filler fetches the slot it will need: filling is a
 * stream of cache misses into tables of megabytes otherwise. */
#define PREFETCH_AHEAD 8

static void
prefetch_slot (const Filler *f, const IocKeyEntry *e)
{
  const KeyTable *t = &f->keys->tables[e->kind][f->shard];
  if (shard_of (f->keys, e->hash) == f->shard)
    {
      __builtin_prefetch (&t->slots[e->hash & t->mask], 1);
    }
}

/* Chains an item in front of those already under its key. */
static void
insert (Filler *f, const IocKeyEntry *e)
{
  IocKeyKind kind = 1u << e->kind;
  KeyTable *table = &f->keys->tables[e->kind][f->shard];
  Slot *slot;

  if ((guint64) (table->used + 1) * 10 > (guint64) (table->mask + 1) * 7)
    table_grow (table, kind);
  slot = table_find (table, kind, e->hash, NULL, e->node);
  if (slot->node == NULL)
    {
      /* The first with this key: its next_same is already NULL (the
       * index set it), and not touching the node saves a cache miss. */
      slot->hash = e->hash;
      table->used++;
    }
  else
    e->node->next_same = slot->node;
  slot->node = e->node;
}

/* Each shard's thread reads every entry, in collection order, and files
 * those of its shard: the chains come out as one thread would make them. */
static gpointer
fill_shard (gpointer data)
{
  Filler *f = data;
  const IocKeyEntry *entries = (const IocKeyEntry *) f->entries->data;
  guint n = f->entries->len;

  for (guint i = 0; i < n; i++)
    {
      if (i + PREFETCH_AHEAD < n)
        prefetch_slot (f, &entries[i + PREFETCH_AHEAD]);
      if (shard_of (f->keys, entries[i].hash) == f->shard)
        insert (f, &entries[i]);
    }
  return NULL;
}

IocKeys *
ioc_keys_build (const GArray *entries, const guint counts[IOC_KEY_KINDS])
{
  IocKeys *keys = g_new0 (IocKeys, 1);
  Filler fillers[MAX_SHARDS];
  GThread *threads[MAX_SHARDS] = { NULL };

  keys->n_shards = entries->len < SHARD_MIN_ITEMS ? 1
                   : CLAMP (g_get_num_processors (), 1, MAX_SHARDS);
  /* The shards of a kind share its items evenly, give or take. */
  for (guint k = 0; k < IOC_KEY_KINDS; k++)
    for (guint s = 0; s < keys->n_shards; s++)
      table_init (&keys->tables[k][s], counts[k] / keys->n_shards + counts[k] / 16);
  for (guint s = 0; s < keys->n_shards; s++)
    {
      fillers[s] = (Filler) { keys, entries, s };
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
      ioc_block_free (keys->tables[k][s].slots, keys->tables[k][s].size);
  g_free (keys);
}

IocNode *
ioc_keys_lookup (IocKeys *keys, IocKeyKind kind, const char *value)
{
  guint32 hash = key_hash (value);
  const KeyTable *table = &keys->tables[kind_slot (kind)][shard_of (keys, hash)];

  return table_find (table, kind, hash, value, NULL)->node;
}
