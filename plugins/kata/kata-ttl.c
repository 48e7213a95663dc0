/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TTL de-duplication of process starts: with the option on, a start of the
 * same image with the same hash within the TTL period after the start that
 * was sent is a repeat and is not sent again. A start after the period ends
 * is sent and opens a new period. The table is bounded: when full, expired
 * entries go, and if none expired, the oldest one.
 */
#include "kata-engine.h"

struct _KataTtl {
  GHashTable *seen;            /* "image\nsha256" -> gint64 * first sent */
  guint       max_entries;
};

KataTtl *
kata_ttl_new (guint max_entries)
{
  KataTtl *ttl = g_new0 (KataTtl, 1);

  ttl->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ttl->max_entries = MAX (max_entries, 1);
  return ttl;
}

void
kata_ttl_free (KataTtl *ttl)
{
  if (ttl == NULL)
    return;
  g_hash_table_unref (ttl->seen);
  g_free (ttl);
}

guint
kata_ttl_size (KataTtl *ttl)
{
  return g_hash_table_size (ttl->seen);
}

static void
make_room (KataTtl *ttl, gint64 now_us, gint64 ttl_us)
{
  GHashTableIter it;
  gpointer key, value;
  const char *oldest_key = NULL;
  gint64 oldest = G_MAXINT64;

  g_hash_table_iter_init (&it, ttl->seen);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      gint64 t = *(gint64 *) value;
      if (now_us - t >= ttl_us)
        g_hash_table_iter_remove (&it);
      else if (t < oldest)
        {
          oldest = t;
          oldest_key = key;
        }
    }
  if (g_hash_table_size (ttl->seen) >= ttl->max_entries && oldest_key != NULL)
    g_hash_table_remove (ttl->seen, oldest_key);
}

gboolean
kata_ttl_is_repeat (KataTtl *ttl, const char *image, const char *sha256,
                    gint64 now_us, gint64 ttl_us)
{
  g_autofree char *key = g_strconcat (image ? image : "", "\n",
                                      sha256 ? sha256 : "", NULL);
  gint64 *first = g_hash_table_lookup (ttl->seen, key);

  if (first != NULL && now_us - *first < ttl_us && now_us >= *first)
    return TRUE;
  if (first == NULL && g_hash_table_size (ttl->seen) >= ttl->max_entries)
    make_room (ttl, now_us, ttl_us);
  first = g_new (gint64, 1);
  *first = now_us;
  g_hash_table_replace (ttl->seen, g_steal_pointer (&key), first);
  return FALSE;
}
