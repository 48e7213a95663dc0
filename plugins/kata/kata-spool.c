/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The on-disk spool: a SQLite database of the plugin's own (WAL) that holds
 * every telemetry event from the moment the handler accepts it until a
 * server acknowledges the package that carried it. Packages get their
 * sequence id from an AUTOINCREMENT column, so an id is never reused, even
 * after the spool empties; an unacknowledged package is resent with the same
 * id and the same events (at-least-once delivery, the server de-duplicates
 * by agent id and sequence id). The spool is bounded: when full, the oldest
 * low-importance events that are not in a package go first.
 */
#include "kata-spool-private.h"

#include <vigil/util/sqlite.h>

static const char *const statement_sql[N_STATEMENTS] = {
  "INSERT INTO events (type, high, time_us, body) VALUES (?, ?, ?, ?)",
  "PRAGMA data_version",
  "BEGIN IMMEDIATE",
  "COMMIT",
};

static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE IF NOT EXISTS packages ("
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT, first_id INTEGER NOT NULL,"
  "  last_id INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS events ("
  "  id INTEGER PRIMARY KEY, type TEXT NOT NULL,"
  "  high INTEGER NOT NULL, time_us INTEGER NOT NULL, body TEXT NOT NULL,"
  "  package INTEGER);"
  "CREATE TABLE IF NOT EXISTS sync_tasks (id TEXT PRIMARY KEY,"
  "  created_us INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY,"
  "  value INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS ttl (key TEXT PRIMARY KEY, first_us INTEGER NOT NULL);"
  "CREATE TABLE IF NOT EXISTS throttle_window (type TEXT NOT NULL,"
  "  minute INTEGER NOT NULL, offered INTEGER NOT NULL, admitted INTEGER NOT NULL,"
  "  PRIMARY KEY (type, minute));";

/* Process starts remembered for TTL de-duplication, at most. */
#define TTL_MAX_ENTRIES 65536

VIGIL_ERROR_DOMAIN_DEFINE (kata, kata)

gboolean
kata_spool_fail (KataSpool *spool, const char *what, GError **error)
{
  g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "spool: %s: %s", what,
               sqlite3_errmsg (spool->db));
  return FALSE;
}

gboolean
kata_spool_exec (KataSpool *spool, const char *sql, GError **error)
{
  if (sqlite3_exec (spool->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return kata_spool_fail (spool, sql, error);
  return TRUE;
}

/* A prepared statement of the per-event path, reset for a new use; NULL
 * with the error in the connection. */
static sqlite3_stmt *
statement (KataSpool *spool, guint which)
{
  sqlite3_stmt **st = &spool->statements[which];

  if (*st == NULL &&
      sqlite3_prepare_v3 (spool->db, statement_sql[which], -1,
                          SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_reset (*st);
  sqlite3_clear_bindings (*st);
  return *st;
}

/* Runs a cached statement that returns nothing (BEGIN, COMMIT). */
static gboolean
run_cached (KataSpool *spool, guint which, GError **error)
{
  sqlite3_stmt *st = statement (spool, which);
  gboolean ok = st != NULL && sqlite3_step (st) == SQLITE_DONE;

  if (st != NULL)
    sqlite3_reset (st);
  return ok ? TRUE : kata_spool_fail (spool, statement_sql[which], error);
}

static gint64
db_int (KataSpool *spool, const char *sql)
{
  sqlite3_stmt *st = NULL;
  gint64 v = -1;

  if (sqlite3_prepare_v2 (spool->db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

/* Under spool->lock. Another process may have written to the spool since
 * (`vigil event emit` while `vigil serve` runs): SQLite's data_version
 * changes then, and the count is taken again. */
void
kata_spool_sync_count (KataSpool *spool)
{
  sqlite3_stmt *st = statement (spool, ST_DATA_VERSION);
  gint64 version = st && sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -2;

  /* A stepped statement holds its read snapshot until reset. */
  if (st != NULL)
    sqlite3_reset (st);
  if (version == spool->data_version)
    return;
  spool->data_version = version;
  spool->count = (guint64) MAX (db_int (spool, "SELECT count(*) FROM events"), 0);
}

static gboolean
load_agent_id (KataSpool *spool, GError **error)
{
  g_autofree char *fresh = NULL;

  spool->agent_id = kata_spool_meta_get (spool, "agent_id");
  if (spool->agent_id != NULL)
    return TRUE;
  /* A fresh random id per spool: should the spool be deleted, sequence ids
   * restart, and the server must not take new packages for old ones. Only
   * the first process to store one wins: another opening the new spool at
   * the same moment reads the winner's back. */
  fresh = g_uuid_string_random ();
  if (!kata_spool_meta_add (spool, "agent_id", fresh, error))
    return FALSE;
  spool->agent_id = kata_spool_meta_get (spool, "agent_id");
  if (spool->agent_id == NULL)
    return kata_spool_fail (spool, "read the agent id", error);
  return TRUE;
}

KataSpool *
kata_spool_open (const char *path, guint64 max_events, gboolean full_sync,
                 GError **error)
{
  g_autoptr (KataSpool) spool = g_new0 (KataSpool, 1);
  g_autoptr (GError) local = NULL;

  g_mutex_init (&spool->lock);
  spool->max_events = MAX (max_events, 1);
  spool->path = g_strdup (path);
  spool->full_sync = full_sync;
  /* WAL, asked again while another process is creating the same spool. */
  spool->db = vigil_sqlite_open_wal (path, 5000, SQLITE_OPEN_FULLMUTEX, &local);
  if (spool->db == NULL)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "spool %s", local->message);
      return NULL;
    }
  /* Before the first write: a new spool's schema must be made durable too. */
  kata_spool_watch_commits (spool);
  if (!kata_spool_exec (spool, full_sync ? "PRAGMA synchronous=FULL;"
                                 : "PRAGMA synchronous=NORMAL;", error) ||
      !kata_spool_exec (spool, schema_sql, error) ||
      !load_agent_id (spool, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  spool->data_version = -1;
  kata_spool_sync_count (spool);
  return g_steal_pointer (&spool);
}

void
kata_spool_close (KataSpool *spool)
{
  if (spool == NULL)
    return;
  /* The last commits of a process that ends must not wait for a tick that
   * will never come. */
  if (spool->db != NULL)
    kata_spool_make_durable (spool, NULL);
  for (guint i = 0; i < N_STATEMENTS; i++)
    sqlite3_finalize (spool->statements[i]);
  sqlite3_close (spool->db);
  g_mutex_clear (&spool->lock);
  g_free (spool->agent_id);
  g_free (spool->path);
  g_free (spool);
}

guint64
kata_spool_count (KataSpool *spool)
{
  guint64 n;

  g_mutex_lock (&spool->lock);
  kata_spool_sync_count (spool);
  n = spool->count;
  g_mutex_unlock (&spool->lock);
  return n;
}

const char *
kata_spool_agent_id (KataSpool *spool)
{
  return spool->agent_id;
}

/* Deletes the oldest event of @high importance that is in no package.
 * Returns TRUE when one went. */
gboolean
kata_spool_drop_oldest (KataSpool *spool, gboolean high)
{
  g_autofree char *sql = g_strdup_printf (
      "DELETE FROM events WHERE id = (SELECT id FROM events WHERE high = %d"
      " AND package IS NULL ORDER BY id LIMIT 1)", high ? 1 : 0);

  if (sqlite3_exec (spool->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return FALSE;
  return sqlite3_changes (spool->db) > 0;
}

/* Makes room for one event. Returns FALSE when the incoming event itself is
 * the one to drop (nothing older of its importance or lower can go). */
static gboolean
make_room (KataSpool *spool, KataImportance importance, guint *dropped_low,
           guint *dropped_high)
{
  if (spool->count < spool->max_events)
    return TRUE;
  if (kata_spool_drop_oldest (spool, FALSE))
    {
      (*dropped_low)++;
      spool->count--;
      return TRUE;
    }
  if (importance == KATA_IMPORTANCE_HIGH && kata_spool_drop_oldest (spool, TRUE))
    {
      (*dropped_high)++;
      spool->count--;
      return TRUE;
    }
  if (importance == KATA_IMPORTANCE_HIGH)
    (*dropped_high)++;
  else
    (*dropped_low)++;
  return FALSE;
}

/* Remembers that a process start went out at @time_us; every so often the
 * oldest entries beyond TTL_MAX_ENTRIES go. */
static gboolean
remember_start (KataSpool *spool, const char *key, gint64 time_us, GError **error)
{
  sqlite3_stmt *st = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (spool->db, "INSERT OR REPLACE INTO ttl (key, first_us)"
                          " VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
    return kata_spool_fail (spool, "prepare ttl", error);
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, time_us);
  ok = sqlite3_step (st) == SQLITE_DONE;
  sqlite3_finalize (st);
  if (!ok)
    return kata_spool_fail (spool, "remember process start", error);
  if (++spool->ttl_inserts % 1024 == 0)
    {
      g_autofree char *sql = g_strdup_printf (
          "DELETE FROM ttl WHERE key IN (SELECT key FROM ttl ORDER BY first_us"
          " LIMIT max(0, (SELECT count(*) FROM ttl) - %d))", TTL_MAX_ENTRIES);
      return kata_spool_exec (spool, sql, error);
    }
  return TRUE;
}

gboolean
kata_spool_ttl_recent (KataSpool *spool, const char *key, gint64 now_us,
                       gint64 ttl_us)
{
  sqlite3_stmt *st = NULL;
  gboolean recent = FALSE;

  g_mutex_lock (&spool->lock);
  if (sqlite3_prepare_v2 (spool->db, "SELECT first_us FROM ttl WHERE key = ?",
                          -1, &st, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
      if (sqlite3_step (st) == SQLITE_ROW)
        {
          gint64 first = sqlite3_column_int64 (st, 0);
          recent = now_us >= first && now_us - first < ttl_us;
        }
    }
  sqlite3_finalize (st);
  g_mutex_unlock (&spool->lock);
  return recent;
}

static gboolean
insert_items (KataSpool *spool, const KataSpoolItem *items, guint n_items,
              guint *dropped_low, guint *dropped_high, GError **error)
{
  sqlite3_stmt *st = statement (spool, ST_INSERT);
  gboolean ok = TRUE;

  if (st == NULL)
    return kata_spool_fail (spool, "prepare insert", error);
  for (guint i = 0; ok && i < n_items; i++)
    {
      if (!make_room (spool, items[i].importance, dropped_low, dropped_high))
        continue;
      sqlite3_reset (st);
      sqlite3_bind_text (st, 1, items[i].type, -1, SQLITE_STATIC);
      sqlite3_bind_int (st, 2, items[i].importance == KATA_IMPORTANCE_HIGH);
      sqlite3_bind_int64 (st, 3, items[i].time_us);
      sqlite3_bind_text (st, 4, items[i].json, -1, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_DONE)
        ok = kata_spool_fail (spool, "insert event", error);
      else
        spool->count++;
      if (ok && items[i].ttl_key != NULL)
        ok = remember_start (spool, items[i].ttl_key, items[i].time_us, error);
    }
  sqlite3_reset (st);
  return ok;
}

gboolean
kata_spool_append (KataSpool *spool, const KataSpoolItem *items,
                   guint n_items, guint *dropped_low, guint *dropped_high,
                   GError **error)
{
  guint dl = 0, dh = 0;
  guint64 count_before;
  gboolean ok;

  g_mutex_lock (&spool->lock);
  ok = run_cached (spool, ST_BEGIN, error);
  /* Inside the write transaction, nobody else can change the count. */
  if (ok)
    kata_spool_sync_count (spool);
  count_before = spool->count;
  if (ok && insert_items (spool, items, n_items, &dl, &dh, error))
    ok = run_cached (spool, ST_COMMIT, error);
  else if (ok)
    {
      sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
      spool->count = count_before;
      ok = FALSE;
    }
  g_mutex_unlock (&spool->lock);
  if (dropped_low)
    *dropped_low = ok ? dl : 0;
  if (dropped_high)
    *dropped_high = ok ? dh : 0;
  return ok;
}

void
kata_package_free (KataPackage *package)
{
  if (package == NULL)
    return;
  g_ptr_array_unref (package->bodies);
  g_free (package);
}

static KataPackage *
load_package (KataSpool *spool, guint64 seq, gint64 first, gint64 last,
              GError **error)
{
  sqlite3_stmt *st = NULL;
  g_autoptr (KataPackage) pkg = g_new0 (KataPackage, 1);
  int rc;

  pkg->seq = seq;
  pkg->bodies = g_ptr_array_new_with_free_func (g_free);
  if (sqlite3_prepare_v2 (spool->db, "SELECT body FROM events WHERE id BETWEEN ?"
                          " AND ? AND package = ? ORDER BY id", -1, &st, NULL) != SQLITE_OK)
    {
      kata_spool_fail (spool, "prepare package", error);
      return NULL;
    }
  sqlite3_bind_int64 (st, 1, first);
  sqlite3_bind_int64 (st, 2, last);
  sqlite3_bind_int64 (st, 3, (sqlite3_int64) seq);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (pkg->bodies,
                     g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      kata_spool_fail (spool, "read package", error);
      return NULL;
    }
  return g_steal_pointer (&pkg);
}

/* Under spool->lock, in a write transaction: assigns the oldest free
 * events to a new package. Returns its seq, 0 when no event waits, -1 on
 * error. */
static gint64
assign_package (KataSpool *spool, guint max_events, GError **error)
{
  g_autofree char *sql = NULL;
  gint64 seq, first, last;

  first = db_int (spool, "SELECT min(id) FROM events WHERE package IS NULL");
  if (first <= 0)
    return 0;
  sql = g_strdup_printf ("SELECT max(id) FROM (SELECT id FROM events WHERE id >= %"
                         G_GINT64_FORMAT " ORDER BY id LIMIT %u)", first, MAX (max_events, 1));
  last = db_int (spool, sql);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("INSERT INTO packages (first_id, last_id) VALUES (%"
                         G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")", first, last);
  if (!kata_spool_exec (spool, sql, error))
    return -1;
  seq = sqlite3_last_insert_rowid (spool->db);
  g_clear_pointer (&sql, g_free);
  sql = g_strdup_printf ("UPDATE events SET package = %" G_GINT64_FORMAT
                         " WHERE id BETWEEN %" G_GINT64_FORMAT " AND %" G_GINT64_FORMAT,
                         seq, first, last);
  return kata_spool_exec (spool, sql, error) ? seq : -1;
}

/* The open package: its seq and id range, or seq 0. */
static gint64
open_package (KataSpool *spool, gint64 *first, gint64 *last)
{
  sqlite3_stmt *st = NULL;
  gint64 seq = 0;

  if (sqlite3_prepare_v2 (spool->db, "SELECT seq, first_id, last_id FROM packages"
                          " ORDER BY seq LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step (st) == SQLITE_ROW)
    {
      seq = sqlite3_column_int64 (st, 0);
      *first = sqlite3_column_int64 (st, 1);
      *last = sqlite3_column_int64 (st, 2);
    }
  sqlite3_finalize (st);
  return seq;
}

KataPackage *
kata_spool_next_package (KataSpool *spool, guint max_events, GError **error)
{
  KataPackage *pkg = NULL;
  gint64 seq, first = 0, last = 0;

  g_mutex_lock (&spool->lock);
  seq = open_package (spool, &first, &last);
  /* Another process may form a package at the same time (`vigil serve`
   * and `vigil kata flush`): look again, and form one, inside a write
   * transaction, so packages never overlap. */
  if (seq <= 0 && kata_spool_exec (spool, "BEGIN IMMEDIATE", error))
    {
      seq = open_package (spool, &first, &last);
      if (seq <= 0 && (seq = assign_package (spool, max_events, error)) > 0)
        open_package (spool, &first, &last);
      if (seq < 0 || !kata_spool_exec (spool, "COMMIT", error))
        {
          sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
          seq = -1;
        }
    }
  if (seq > 0)
    pkg = load_package (spool, (guint64) seq, first, last, error);
  g_mutex_unlock (&spool->lock);
  return pkg;
}

gboolean
kata_spool_ack (KataSpool *spool, guint64 seq, GError **error)
{
  g_autofree char *del_events = g_strdup_printf (
      "DELETE FROM events WHERE id BETWEEN (SELECT first_id FROM packages WHERE seq = %"
      G_GUINT64_FORMAT ") AND (SELECT last_id FROM packages WHERE seq = %" G_GUINT64_FORMAT
      ") AND package = %" G_GUINT64_FORMAT, seq, seq, seq);
  g_autofree char *del_pkg = g_strdup_printf (
      "DELETE FROM packages WHERE seq = %" G_GUINT64_FORMAT, seq);
  gboolean ok;
  int removed = 0;

  g_mutex_lock (&spool->lock);
  ok = kata_spool_exec (spool, "BEGIN IMMEDIATE", error);
  if (ok && (ok = kata_spool_exec (spool, del_events, error)))
    {
      removed = sqlite3_changes (spool->db);
      ok = kata_spool_exec (spool, del_pkg, error) && kata_spool_exec (spool, "COMMIT", error);
    }
  if (!ok)
    sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
  else
    spool->count -= MIN ((guint64) removed, spool->count);
  g_mutex_unlock (&spool->lock);
  return ok;
}

gboolean
kata_spool_release (KataSpool *spool, guint64 seq, GError **error)
{
  g_autofree char *free_events = g_strdup_printf (
      "UPDATE events SET package = NULL WHERE package = %" G_GUINT64_FORMAT, seq);
  g_autofree char *del_pkg = g_strdup_printf (
      "DELETE FROM packages WHERE seq = %" G_GUINT64_FORMAT, seq);
  gboolean ok;

  g_mutex_lock (&spool->lock);
  ok = kata_spool_exec (spool, "BEGIN IMMEDIATE", error) &&
       kata_spool_exec (spool, free_events, error) &&
       kata_spool_exec (spool, del_pkg, error) &&
       kata_spool_exec (spool, "COMMIT", error);
  if (!ok)
    sqlite3_exec (spool->db, "ROLLBACK", NULL, NULL, NULL);
  g_mutex_unlock (&spool->lock);
  return ok;
}
