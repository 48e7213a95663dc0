/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the processes using one spool share through it besides the events:
 * the ids of tasks created from synchronization (each created once, ever),
 * small meta values (device, agent id, server overrides, outage state),
 * the counters behind `vigil kata status`, and the throttling window, so
 * that `vigil serve`, each `vigil event emit` and `vigil kata flush` see
 * and add to the same totals.
 */
#include "kata-spool-private.h"

gboolean
kata_spool_mark_task (KataSpool *spool, const char *id, gint64 now_us,
                      GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean is_new = FALSE;

  g_mutex_lock (&spool->lock);
  if (sqlite3_prepare_v2 (spool->db, "INSERT OR IGNORE INTO sync_tasks"
                          " (id, created_us) VALUES (?, ?)", -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 2, now_us);
      if (sqlite3_step (st) == SQLITE_DONE)
        is_new = sqlite3_changes (spool->db) > 0;
      else
        kata_spool_fail (spool, "remember task", error);
    }
  else
    kata_spool_fail (spool, "prepare task", error);
  sqlite3_finalize (st);
  g_mutex_unlock (&spool->lock);
  return is_new;
}

/* @sql: an INSERT OR REPLACE / OR IGNORE of (key, value) into meta. */
static gboolean
meta_write (KataSpool *spool, const char *sql, const char *key, const char *value,
            GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = FALSE;

  g_mutex_lock (&spool->lock);
  if (sqlite3_prepare_v2 (spool->db, sql, -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 2, value, -1, SQLITE_STATIC);
      ok = sqlite3_step (st) == SQLITE_DONE;
    }
  if (!ok)
    kata_spool_fail (spool, "write meta", error);
  sqlite3_finalize (st);
  g_mutex_unlock (&spool->lock);
  return ok;
}

gboolean
kata_spool_meta_set (KataSpool *spool, const char *key, const char *value,
                     GError **error)
{
  return meta_write (spool, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     key, value, error);
}

gboolean
kata_spool_meta_add (KataSpool *spool, const char *key, const char *value,
                     GError **error)
{
  return meta_write (spool, "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                     key, value, error);
}

char *
kata_spool_meta_get (KataSpool *spool, const char *key)
{
  sqlite3_stmt *st = NULL;
  char *value = NULL;

  g_mutex_lock (&spool->lock);
  if (sqlite3_prepare_v2 (spool->db, "SELECT value FROM meta WHERE key = ?",
                          -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
      if (sqlite3_step (st) == SQLITE_ROW)
        value = g_strdup ((const char *) sqlite3_column_text (st, 0));
    }
  sqlite3_finalize (st);
  g_mutex_unlock (&spool->lock);
  return value;
}

gboolean
kata_spool_counters_add (KataSpool *spool, JsonObject *deltas, GError **error)
{
  g_autoptr (GList) names = json_object_get_members (deltas);
  sqlite3_stmt *st = NULL;
  gboolean ok;

  g_mutex_lock (&spool->lock);
  ok = kata_spool_exec (spool, "BEGIN IMMEDIATE", error);
  if (ok && sqlite3_prepare_v2 (spool->db, "INSERT INTO counters (name, value)"
                                " VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET"
                                " value = value + excluded.value", -1, &st, NULL) != SQLITE_OK)
    ok = kata_spool_fail (spool, "prepare counters", error);
  for (GList *l = names; ok && l != NULL; l = l->next)
    {
      gint64 delta = json_object_get_int_member (deltas, l->data);
      if (delta == 0)
        continue;
      sqlite3_reset (st);
      sqlite3_bind_text (st, 1, l->data, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 2, delta);
      if (sqlite3_step (st) != SQLITE_DONE)
        ok = kata_spool_fail (spool, "add counter", error);
    }
  sqlite3_finalize (st);
  if (ok)
    ok = kata_spool_exec (spool, "COMMIT", error);
  else
    sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
  g_mutex_unlock (&spool->lock);
  return ok;
}

JsonObject *
kata_spool_counters (KataSpool *spool)
{
  JsonObject *o = json_object_new ();
  sqlite3_stmt *st = NULL;

  g_mutex_lock (&spool->lock);
  if (sqlite3_prepare_v2 (spool->db, "SELECT name, value FROM counters ORDER BY name",
                          -1, &st, NULL) == SQLITE_OK)
    while (sqlite3_step (st) == SQLITE_ROW)
      json_object_set_int_member (o, (const char *) sqlite3_column_text (st, 0),
                                  sqlite3_column_int64 (st, 1));
  sqlite3_finalize (st);
  g_mutex_unlock (&spool->lock);
  return o;
}

static gboolean
window_add_rows (KataSpool *spool, JsonArray *rows, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok = TRUE;

  if (sqlite3_prepare_v2 (spool->db, "INSERT INTO throttle_window (type, minute,"
                          " offered, admitted) VALUES (?, ?, ?, ?) ON CONFLICT"
                          " (type, minute) DO UPDATE SET offered = offered +"
                          " excluded.offered, admitted = admitted + excluded.admitted",
                          -1, &st, NULL) != SQLITE_OK)
    return kata_spool_fail (spool, "prepare window", error);
  for (guint i = 0; ok && i < json_array_get_length (rows); i++)
    {
      JsonArray *row = json_array_get_array_element (rows, i);
      sqlite3_reset (st);
      sqlite3_bind_text (st, 1, json_array_get_string_element (row, 0), -1, SQLITE_STATIC);
      for (guint c = 1; c < 4; c++)
        sqlite3_bind_int64 (st, (int) c + 1, json_array_get_int_element (row, c));
      if (sqlite3_step (st) != SQLITE_DONE)
        ok = kata_spool_fail (spool, "add to window", error);
    }
  sqlite3_finalize (st);
  return ok;
}

gboolean
kata_spool_window_add (KataSpool *spool, JsonArray *rows, gint64 keep_from_minute,
                       GError **error)
{
  g_autofree char *prune = g_strdup_printf (
      "DELETE FROM throttle_window WHERE minute < %" G_GINT64_FORMAT, keep_from_minute);
  gboolean ok;

  g_mutex_lock (&spool->lock);
  ok = kata_spool_exec (spool, "BEGIN IMMEDIATE", error) &&
       window_add_rows (spool, rows, error) &&
       kata_spool_exec (spool, prune, error) &&
       kata_spool_exec (spool, "COMMIT", error);
  if (!ok)
    sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
  g_mutex_unlock (&spool->lock);
  return ok;
}

JsonArray *
kata_spool_window (KataSpool *spool, gint64 from_minute)
{
  JsonArray *rows = json_array_new ();
  sqlite3_stmt *st = NULL;

  g_mutex_lock (&spool->lock);
  if (sqlite3_prepare_v2 (spool->db, "SELECT type, minute, offered, admitted FROM"
                          " throttle_window WHERE minute >= ?", -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_int64 (st, 1, from_minute);
      while (sqlite3_step (st) == SQLITE_ROW)
        {
          JsonArray *row = json_array_new ();
          json_array_add_string_element (row, (const char *) sqlite3_column_text (st, 0));
          for (int c = 1; c < 4; c++)
            json_array_add_int_element (row, sqlite3_column_int64 (st, c));
          json_array_add_array_element (rows, row);
        }
    }
  sqlite3_finalize (st);
  g_mutex_unlock (&spool->lock);
  return rows;
}
