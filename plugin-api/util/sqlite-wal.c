/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vigil_sqlite_open_wal(): a plugin's own database, opened in WAL mode. Two
 * processes creating the same database at once is ordinary (`vigil event
 * emit` while `vigil serve` runs): the second one's switch to WAL is
 * answered "database is locked" or with the old journal mode at once, not
 * after the busy timeout, so the switch is asked again every few
 * milliseconds until the first process is done with the new file.
 */

#include "vigil/util/sqlite.h"

#define WAL_RETRY_STEP_MS 5

/* TRUE when the database answered "wal"; @rc is SQLite's last code. */
static gboolean
ask_for_wal (sqlite3 *db, int *rc)
{
  sqlite3_stmt *stmt = NULL;
  gboolean wal = FALSE;

  *rc = sqlite3_prepare_v2 (db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
  if (*rc != SQLITE_OK)
    return FALSE;
  *rc = sqlite3_step (stmt);
  if (*rc == SQLITE_ROW)
    wal = g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") == 0;
  sqlite3_finalize (stmt);
  return wal;
}

static gboolean
switch_to_wal (sqlite3 *db, const char *path, GError **error)
{
  int rc = SQLITE_OK;

  for (guint waited = 0;; waited += WAL_RETRY_STEP_MS)
    {
      if (ask_for_wal (db, &rc))
        return TRUE;
      if (waited >= VIGIL_SQLITE_WAL_RETRY_MS)
        break;
      g_usleep (WAL_RETRY_STEP_MS * 1000);
    }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                 "%s: cannot switch the database to WAL mode: is it on a "
                 "network file system?", path);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "%s: cannot switch the database to WAL mode: %s", path,
                 sqlite3_errmsg (db));
  return FALSE;
}

sqlite3 *
vigil_sqlite_open_wal (const char *path, int busy_timeout_ms, int extra_flags,
                       GError **error)
{
  sqlite3 *db = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | extra_flags,
                       NULL) != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: cannot open the database: %s", path,
                   db != NULL ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, busy_timeout_ms);
  if (!switch_to_wal (db, path, error))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}
