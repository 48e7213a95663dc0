/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host's SQLite store: one connection in WAL mode shared by every thread
 * behind a recursive mutex, foreign keys on, a busy timeout so that the CLI
 * and a running `vigil serve` can share the file, and per-module schema
 * migrations recorded in schema_versions. Durability: WAL with
 * synchronous=NORMAL never corrupts the database on a crash or power loss
 * and loses no commit on a process crash; on a power loss it may lose the
 * last commits. That is right for the high-rate writes (events, task
 * progress), but an admin who was told "policy applied" must find it after a
 * power cut, so admin writes (inventory, policies, migrations) commit with
 * synchronous=FULL (vh_store_begin with durable).
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <vigil/util/sqlite.h>

#define BUSY_TIMEOUT_MS 10000

struct _VhStore {
  sqlite3      *db;
  GRecMutex     lock;
  char         *path;
  sqlite3_stmt *data_version;  /* PRAGMA data_version, prepared once */
};

void
vh_store_set_error (sqlite3 *db, const char *what, GError **error)
{
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
               "%s: %s (%s)", what, sqlite3_errmsg (db),
               sqlite3_db_filename (db, "main"));
}

gboolean
vh_store_exec (sqlite3 *db, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) == SQLITE_OK)
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
               "database: %s (%s)", msg ? msg : sqlite3_errmsg (db),
               sqlite3_db_filename (db, "main"));
  sqlite3_free (msg);
  return FALSE;
}

gboolean
vh_store_begin (sqlite3 *db, gboolean durable, GError **error)
{
  /* synchronous cannot change inside a transaction: set it first. */
  if (durable && !vh_store_exec (db, "PRAGMA synchronous=FULL", error))
    return FALSE;
  /* IMMEDIATE takes the write lock now, so a concurrent writer waits on
   * the busy timeout here instead of failing at the first write. */
  return vh_store_exec (db, "BEGIN IMMEDIATE", error);
}

gboolean
vh_store_commit (sqlite3 *db, gboolean durable, GError **error)
{
  if (!vh_store_exec (db, "COMMIT", error))
    {
      vh_store_rollback (db, durable);
      return FALSE;
    }
  if (durable)
    vh_store_exec (db, "PRAGMA synchronous=NORMAL", NULL);
  return TRUE;
}

void
vh_store_rollback (sqlite3 *db, gboolean durable)
{
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  if (durable)
    sqlite3_exec (db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
}

/* The connection comes in WAL mode with the busy timeout set from
 * vigil_sqlite_open_wal(), the helper library's one copy of the switch to
 * WAL and its retries (another process, `vigil event emit` beside
 * `vigil serve`, may be creating the same new database). */
static gboolean
store_configure (sqlite3 *db, GError **error)
{
  sqlite3_extended_result_codes (db, 1);
  return vh_store_exec (db,
                        "PRAGMA synchronous=NORMAL;"
                        "PRAGMA foreign_keys=ON;"
                        "CREATE TABLE IF NOT EXISTS schema_versions ("
                        "  module  TEXT PRIMARY KEY,"
                        "  version INTEGER NOT NULL)", error);
}

/* The database holds policy secrets (passwords, certificate keys): a new
 * one is created readable by its owner only. SQLite gives the -wal and
 * -shm files the database's permissions. */
static gboolean
create_private (const char *path, GError **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  if (fd >= 0)
    {
      close (fd);
      return TRUE;
    }
  if (errno == EEXIST)
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
               "cannot create the database: %s (%s)", g_strerror (errno), path);
  return FALSE;
}

VhStore *
vh_store_open (const char *path, GError **error)
{
  sqlite3 *db;
  VhStore *store;

  g_return_val_if_fail (path != NULL, NULL);
  if (!create_private (path, error))
    return NULL;

  db = vigil_sqlite_open_wal (path, BUSY_TIMEOUT_MS, SQLITE_OPEN_FULLMUTEX, error);
  if (db == NULL)
    return NULL;
  if (!store_configure (db, error))
    {
      sqlite3_close (db);
      return NULL;
    }
  store = g_new0 (VhStore, 1);
  store->db = db;
  store->path = g_strdup (path);
  g_rec_mutex_init (&store->lock);
  return store;
}

void
vh_store_close (VhStore *store)
{
  if (store == NULL)
    return;
  g_rec_mutex_lock (&store->lock);
  g_clear_pointer (&store->data_version, sqlite3_finalize);
  /* Statements still prepared would keep the handle open (close_v2 defers);
   * every caller finalizes its own, so a plain close is expected to work. */
  sqlite3_close_v2 (store->db);
  store->db = NULL;
  g_rec_mutex_unlock (&store->lock);
  g_rec_mutex_clear (&store->lock);
  g_free (store->path);
  g_free (store);
}

sqlite3 *
vh_store_lock (VhStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_rec_mutex_lock (&store->lock);
  return store->db;
}

void
vh_store_unlock (VhStore *store)
{
  g_rec_mutex_unlock (&store->lock);
}

/* ---- migrations ---------------------------------------------------- */

gint64
vh_store_module_version (sqlite3 *db, const char *module, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gint64 version = 0;
  int rc;

  if (sqlite3_prepare_v2 (db, "SELECT version FROM schema_versions WHERE module = ?",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "cannot read the schema version", error);
      return -1;
    }
  sqlite3_bind_text (stmt, 1, module, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    version = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    {
      vh_store_set_error (db, "cannot read the schema version", error);
      version = -1;
    }
  sqlite3_finalize (stmt);
  return version;
}

static gboolean
record_version (sqlite3 *db, const char *module, guint version, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO schema_versions (module, version) VALUES (?, ?)"
                          " ON CONFLICT (module) DO UPDATE SET version = excluded.version",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "cannot record the schema version", error);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, module, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, version);
  ok = sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    vh_store_set_error (db, "cannot record the schema version", error);
  sqlite3_finalize (stmt);
  return ok;
}

/* One migration in one transaction: a crash leaves either the old schema
 * with the old version or the new schema with the new one. The version is
 * read again under the write lock: another process opening the same new
 * database may have applied this step since we looked. */
static gboolean
apply_migration (sqlite3 *db, const char *module, const VhMigration *m,
                 GError **error)
{
  g_autoptr (GError) local = NULL;
  gint64 current;

  if (!vh_store_begin (db, TRUE, error))
    return FALSE;
  current = vh_store_module_version (db, module, &local);
  if (current >= (gint64) m->version)
    {
      vh_store_rollback (db, TRUE);
      return TRUE;
    }
  if (current < 0 || !vh_store_exec (db, m->sql, &local) ||
      !record_version (db, module, m->version, &local))
    {
      vh_store_rollback (db, TRUE);
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "migration %u of '%s' failed: %s", m->version, module,
                   local->message);
      return FALSE;
    }
  return vh_store_commit (db, TRUE, error);
}

static gboolean
check_migrations (const char *module, const VhMigration *migrations, gsize n,
                  GError **error)
{
  for (gsize i = 0; i < n; i++)
    if (migrations[i].version != i + 1 || migrations[i].sql == NULL)
      {
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                     "migrations of '%s' must be numbered 1, 2, ... in order "
                     "(entry %" G_GSIZE_FORMAT " is %u)", module, i,
                     migrations[i].version);
        return FALSE;
      }
  return TRUE;
}

gboolean
vh_store_migrate (VhStore *store, const char *module,
                  const VhMigration *migrations, gsize n, GError **error)
{
  sqlite3 *db;
  gint64 current;
  gboolean ok = TRUE;

  g_return_val_if_fail (store != NULL && module != NULL, FALSE);
  if (!check_migrations (module, migrations, n, error))
    return FALSE;

  db = vh_store_lock (store);
  current = vh_store_module_version (db, module, error);
  if (current < 0)
    ok = FALSE;
  else if ((guint64) current > n)
    {
      /* A newer Vigil wrote this database: running older code on it could
       * silently misread or damage what the newer schema means. */
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "the database %s has schema version %" G_GINT64_FORMAT
                   " for '%s', newer than this Vigil knows (%" G_GSIZE_FORMAT
                   "): use the newer Vigil that wrote it, or another state folder",
                   store->path, current, module, n);
      ok = FALSE;
    }
  for (gsize i = (gsize) MAX (current, 0); ok && i < n; i++)
    ok = apply_migration (db, module, &migrations[i], error);
  vh_store_unlock (store);
  return ok;
}

/* The statement is kept prepared: the settings layer asks for every
 * telemetry event whether its cache is still current. */
gint64
vh_store_data_version (VhStore *store)
{
  sqlite3 *db = vh_store_lock (store);
  gint64 version = -1;

  if (store->data_version == NULL)
    sqlite3_prepare_v2 (db, "PRAGMA data_version", -1, &store->data_version, NULL);
  if (store->data_version && sqlite3_step (store->data_version) == SQLITE_ROW)
    version = sqlite3_column_int64 (store->data_version, 0);
  if (store->data_version)
    sqlite3_reset (store->data_version);
  vh_store_unlock (store);
  return version;
}
