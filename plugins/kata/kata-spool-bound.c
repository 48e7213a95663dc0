/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Changing the spool's bound while it runs (the policy's
 * data_submission.spool_max_events). Growing only raises the limit;
 * shrinking below what the spool holds drops at once, in the order of a
 * full spool: the oldest low-importance events first, then, only if
 * nothing else is left, the oldest detections. Events already in a
 * package on the wire are never dropped (the server may have them), so the
 * spool can stay above its bound by at most one package.
 */
#include "kata-spool-private.h"

/* Under spool->lock, in a transaction: drops up to @n of the oldest free
 * events of one importance. Returns how many went, or -1. */
static gint64
drop_oldest_n (KataSpool *spool, gboolean high, guint64 n)
{
  g_autofree char *sql = g_strdup_printf (
      "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE high = %d"
      " AND package IS NULL ORDER BY id LIMIT %" G_GUINT64_FORMAT ")",
      high ? 1 : 0, n);

  if (sqlite3_exec (spool->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return -1;
  return sqlite3_changes (spool->db);
}

static gboolean
shrink (KataSpool *spool, guint *dropped_low, guint *dropped_high, GError **error)
{
  gint64 low = 0, high = 0;

  if (sqlite3_exec (spool->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  /* Inside the write transaction the count cannot change under us. */
  kata_spool_sync_count (spool);
  if (spool->count > spool->max_events &&
      (low = drop_oldest_n (spool, FALSE, spool->count - spool->max_events)) < 0)
    goto rollback;
  if (spool->count - low > spool->max_events &&
      (high = drop_oldest_n (spool, TRUE, spool->count - low - spool->max_events)) < 0)
    goto rollback;
  if (sqlite3_exec (spool->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    goto rollback;
  spool->count -= (guint64) (low + high);
  *dropped_low = (guint) low;
  *dropped_high = (guint) high;
  return TRUE;

rollback:
  g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "spool: shrink to %" G_GUINT64_FORMAT
               " events: %s", spool->max_events, sqlite3_errmsg (spool->db));
  sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
fail:
  g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "spool: shrink: %s",
               sqlite3_errmsg (spool->db));
  return FALSE;
}

gboolean
kata_spool_set_max (KataSpool *spool, guint64 max_events, guint *dropped_low,
                    guint *dropped_high, GError **error)
{
  gboolean ok = TRUE;

  *dropped_low = *dropped_high = 0;
  g_mutex_lock (&spool->lock);
  spool->max_events = MAX (max_events, 1);
  kata_spool_sync_count (spool);
  if (spool->count > spool->max_events)
    ok = shrink (spool, dropped_low, dropped_high, error);
  g_mutex_unlock (&spool->lock);
  return ok;
}
