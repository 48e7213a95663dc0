/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The latest value per key (see latest-queue.h): a hash table from key to
 * its slot in an array kept in first-queued order, behind one mutex. A
 * put replaces the slot's value; a take swaps the array out whole.
 */
#include "latest-queue.h"

struct _CliLatestQueue {
  GMutex          lock;
  guint           max_keys;
  GDestroyNotify  free_value;
  GHashTable     *slots;     /* key -> GUINT_TO_POINTER (index + 1) in values */
  GPtrArray      *values;
  guint64         replaced, refused;
};

CliLatestQueue *
cli_latest_queue_new (guint max_keys, GDestroyNotify free_value)
{
  CliLatestQueue *queue = g_new0 (CliLatestQueue, 1);

  g_mutex_init (&queue->lock);
  queue->max_keys = MAX (max_keys, 1);
  queue->free_value = free_value;
  queue->slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  queue->values = g_ptr_array_new_with_free_func (free_value);
  return queue;
}

void
cli_latest_queue_free (CliLatestQueue *queue)
{
  if (queue == NULL)
    return;
  g_hash_table_unref (queue->slots);
  g_ptr_array_unref (queue->values);
  g_mutex_clear (&queue->lock);
  g_free (queue);
}

gboolean
cli_latest_queue_put (CliLatestQueue *queue, const char *key, gpointer value)
{
  gpointer old = NULL;
  gboolean was_empty, refused = FALSE;
  guint slot;

  g_return_val_if_fail (queue != NULL && key != NULL, FALSE);
  g_mutex_lock (&queue->lock);
  was_empty = queue->values->len == 0;
  slot = GPOINTER_TO_UINT (g_hash_table_lookup (queue->slots, key));
  if (slot > 0)
    {
      old = queue->values->pdata[slot - 1];
      queue->values->pdata[slot - 1] = value;
      queue->replaced++;
    }
  else if (queue->values->len >= queue->max_keys)
    {
      old = value;
      refused = TRUE;
      queue->refused++;
    }
  else
    {
      g_ptr_array_add (queue->values, value);
      g_hash_table_insert (queue->slots, g_strdup (key),
                           GUINT_TO_POINTER (queue->values->len));
    }
  g_mutex_unlock (&queue->lock);
  /* Freed outside the lock: a value's destructor may be slow. */
  if (old != NULL && queue->free_value != NULL)
    queue->free_value (old);
  return was_empty && !refused;
}

GPtrArray *
cli_latest_queue_take (CliLatestQueue *queue)
{
  GPtrArray *taken;

  g_return_val_if_fail (queue != NULL, NULL);
  g_mutex_lock (&queue->lock);
  taken = queue->values;
  queue->values = g_ptr_array_new_with_free_func (queue->free_value);
  g_hash_table_remove_all (queue->slots);
  g_mutex_unlock (&queue->lock);
  return taken;
}

void
cli_latest_queue_counts (CliLatestQueue *queue, guint64 *replaced, guint64 *refused)
{
  g_mutex_lock (&queue->lock);
  if (replaced != NULL)
    *replaced = queue->replaced;
  if (refused != NULL)
    *refused = queue->refused;
  g_mutex_unlock (&queue->lock);
}
