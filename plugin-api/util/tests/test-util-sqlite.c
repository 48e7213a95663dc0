/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vigil_sqlite_open_wal(): a new database comes up in WAL mode; while
 * another connection holds the new file the switch is asked again until
 * that connection lets go (the test lets go only after SQLite has reported
 * the refused attempt, seen through SQLite's error log, so the retry is
 * exercised every run); and a lock that is never released ends in an error
 * naming the file.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "vigil/util/sqlite.h"

static GMutex log_lock;
static GCond log_cond;
static guint busy_seen;

static void
sqlite_log (void *data, int code, const char *msg)
{
  if ((code & 0xff) != SQLITE_BUSY && (code & 0xff) != SQLITE_LOCKED)
    return;
  g_mutex_lock (&log_lock);
  busy_seen++;
  g_cond_broadcast (&log_cond);
  g_mutex_unlock (&log_lock);
}

static char *
temp_db (char **dir)
{
  g_autoptr (GError) error = NULL;

  *dir = g_dir_make_tmp ("vigil-util-sqlite-XXXXXX", &error);
  g_assert_no_error (error);
  return g_build_filename (*dir, "db.sqlite", NULL);
}

static void
remove_db (char *dir, const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  g_unlink (wal);
  g_unlink (shm);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
}

static char *
journal_mode (sqlite3 *db)
{
  sqlite3_stmt *st = NULL;
  char *mode = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &st, NULL), ==, SQLITE_OK);
  if (sqlite3_step (st) == SQLITE_ROW)
    mode = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return mode;
}

static void
test_new_database_in_wal (void)
{
  char *dir;
  g_autofree char *path = temp_db (&dir);
  g_autoptr (GError) error = NULL;
  sqlite3 *db = vigil_sqlite_open_wal (path, 1000, SQLITE_OPEN_FULLMUTEX, &error);
  g_autofree char *mode = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (db);
  mode = journal_mode (db);
  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (sqlite3_exec (db, "CREATE TABLE t (x)", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  remove_db (dir, path);
}

static gpointer
open_in_thread (gpointer path)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *db = vigil_sqlite_open_wal (path, 0, 0, &error);

  g_assert_no_error (error);
  return db;
}

static sqlite3 *
hold_exclusive (const char *path)
{
  sqlite3 *holder = NULL;

  g_assert_cmpint (sqlite3_open (path, &holder), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (holder, "BEGIN EXCLUSIVE; CREATE TABLE held (x);",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  return holder;
}

static void
test_retries_while_another_holds_it (void)
{
  char *dir;
  g_autofree char *path = temp_db (&dir);
  sqlite3 *holder = hold_exclusive (path);
  GThread *opener;
  sqlite3 *db;
  g_autofree char *mode = NULL;

  g_mutex_lock (&log_lock);
  busy_seen = 0;
  opener = g_thread_new ("opener", open_in_thread, path);
  while (busy_seen == 0)
    g_cond_wait (&log_cond, &log_lock);
  g_mutex_unlock (&log_lock);
  g_assert_cmpint (sqlite3_exec (holder, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (holder);
  db = g_thread_join (opener);
  g_assert_nonnull (db);
  mode = journal_mode (db);
  g_assert_cmpstr (mode, ==, "wal");
  sqlite3_close (db);
  remove_db (dir, path);
}

static void
test_gives_up_naming_the_file (void)
{
  char *dir;
  g_autofree char *path = temp_db (&dir);
  sqlite3 *holder = hold_exclusive (path);
  g_autoptr (GError) error = NULL;
  sqlite3 *db = vigil_sqlite_open_wal (path, 0, 0, &error);

  g_assert_null (db);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "WAL"));
  sqlite3_exec (holder, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (holder);
  remove_db (dir, path);
}

static void
test_unopenable_path (void)
{
  g_autoptr (GError) error = NULL;
  sqlite3 *db = vigil_sqlite_open_wal ("/nonexistent-vigil-dir/db", 0, 0, &error);

  g_assert_null (db);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent-vigil-dir/db: "));
}

int
main (int argc, char **argv)
{
  sqlite3_config (SQLITE_CONFIG_LOG, sqlite_log, NULL);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/sqlite/new-database-in-wal", test_new_database_in_wal);
  g_test_add_func ("/util/sqlite/retries-while-another-holds-it", test_retries_while_another_holds_it);
  g_test_add_func ("/util/sqlite/gives-up-naming-the-file", test_gives_up_naming_the_file);
  g_test_add_func ("/util/sqlite/unopenable-path", test_unopenable_path);
  return g_test_run ();
}
