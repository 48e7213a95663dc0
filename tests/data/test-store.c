/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SQLite store: WAL mode and foreign keys, migrations applied once and
 * in order, a database from a newer Vigil refused, data surviving a
 * reopen, a writer killed with SIGKILL in the middle of a transaction
 * leaving an intact database with every committed row and none of the
 * uncommitted ones, and eight processes creating the same database at once.
 */
#include "host-private.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->dir = g_dir_make_tmp ("vigil-store-XXXXXX", NULL);
  g_assert_nonnull (fx->dir);
  fx->path = g_build_filename (fx->dir, "vigil.db", NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (fx->path, suffixes[i], NULL);
      g_unlink (p);
    }
  g_rmdir (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

static const VhMigration notes_v1[] = {
  { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)" },
};

static const VhMigration notes_v2[] = {
  { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)" },
  { 2, "ALTER TABLE notes ADD COLUMN tag TEXT" },
};

static gint64
query_int (VhStore *store, const char *sql)
{
  sqlite3 *db = vh_store_lock (store);
  sqlite3_stmt *stmt = NULL;
  gint64 v = -1;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  vh_store_unlock (store);
  return v;
}

static char *
query_text (VhStore *store, const char *sql)
{
  sqlite3 *db = vh_store_lock (store);
  sqlite3_stmt *stmt = NULL;
  char *v = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    v = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  vh_store_unlock (store);
  return v;
}

static void
test_open_wal_and_foreign_keys (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);
  g_autofree char *mode = NULL;

  g_assert_no_error (error);
  mode = query_text (store, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (query_int (store, "PRAGMA foreign_keys"), ==, 1);
  /* NORMAL (1) outside durable writes. */
  g_assert_cmpint (query_int (store, "PRAGMA synchronous"), ==, 1);
  vh_store_close (store);
  {
    /* It holds policy secrets: owner only. */
    GStatBuf st;
    g_assert_cmpint (g_stat (fx->path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
}

static void
test_durable_writes_use_full_sync (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);
  sqlite3 *db;

  g_assert_true (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  db = vh_store_lock (store);
  g_assert_true (vh_store_begin (db, TRUE, &error));
  g_assert_cmpint (query_int (store, "PRAGMA synchronous"), ==, 2);
  g_assert_true (vh_store_commit (db, TRUE, &error));
  g_assert_cmpint (query_int (store, "PRAGMA synchronous"), ==, 1);
  g_assert_true (vh_store_begin (db, FALSE, &error));
  g_assert_cmpint (query_int (store, "PRAGMA synchronous"), ==, 1);
  vh_store_rollback (db, FALSE);
  vh_store_unlock (store);
  vh_store_close (store);
}

static void
test_open_unwritable_folder_fails (void)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open ("/nonexistent-vigil-dir/sub/vigil.db", &error);

  g_assert_null (store);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent-vigil-dir/sub/vigil.db"));
}

static void
test_migrate_applies_each_once (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);

  g_assert_true (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  g_assert_no_error (error);
  /* Running the same migrations again must not re-run CREATE TABLE. */
  g_assert_true (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  g_assert_no_error (error);
  g_assert_true (vh_store_migrate (store, "notes", notes_v2, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpint (query_int (store, "SELECT version FROM schema_versions WHERE module='notes'"), ==, 2);
  g_assert_cmpint (query_int (store, "SELECT count(*) FROM pragma_table_info('notes') WHERE name='tag'"), ==, 1);
  vh_store_close (store);
}

static void
test_migrate_refuses_newer_database (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);

  g_assert_true (vh_store_migrate (store, "notes", notes_v2, 2, &error));
  g_assert_false (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "schema version 2 for 'notes'"));
  g_assert_nonnull (strstr (error->message, "newer than this Vigil knows (1)"));
  vh_store_close (store);
}

static void
test_migrate_failure_rolls_back (Fixture *fx, gconstpointer data)
{
  static const VhMigration broken[] = {
    { 1, "CREATE TABLE a (x INTEGER)" },
    { 2, "CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1)" },
  };
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);

  g_assert_false (vh_store_migrate (store, "m", broken, 2, &error));
  g_assert_nonnull (strstr (error->message, "migration 2 of 'm' failed"));
  /* Migration 1 stays, migration 2 left nothing behind. */
  g_assert_cmpint (query_int (store, "SELECT version FROM schema_versions WHERE module='m'"), ==, 1);
  g_assert_cmpint (query_int (store, "SELECT count(*) FROM sqlite_master WHERE name='b'"), ==, 0);
  vh_store_close (store);
}

static void
test_migrate_rejects_misnumbered (Fixture *fx, gconstpointer data)
{
  static const VhMigration gap[] = { { 1, "SELECT 1" }, { 3, "SELECT 1" } };
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);

  g_assert_false (vh_store_migrate (store, "gap", gap, 2, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  vh_store_close (store);
}

static void
insert_note (sqlite3 *db, gint64 id, const char *body)
{
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (db, "INSERT INTO notes (id, body) VALUES (?, ?)",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, body, -1, SQLITE_TRANSIENT);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);
}

static void
test_reopen_keeps_data (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);
  sqlite3 *db;
  g_autofree char *body = NULL;

  g_assert_true (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  db = vh_store_lock (store);
  g_assert_true (vh_store_begin (db, TRUE, &error));
  insert_note (db, 1, "kept");
  g_assert_true (vh_store_commit (db, TRUE, &error));
  vh_store_unlock (store);
  vh_store_close (store);

  store = vh_store_open (fx->path, &error);
  g_assert_no_error (error);
  g_assert_true (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  body = query_text (store, "SELECT body FROM notes WHERE id = 1");
  g_assert_cmpstr (body, ==, "kept");
  vh_store_close (store);
}

/* The child commits rows 1..100, then opens a transaction big enough to
 * spill pages into the WAL, tells the parent, and waits to be killed. */
static void G_GNUC_NORETURN
crash_writer (const char *path, int ready_fd)
{
  g_autofree char *blob = g_strnfill (4000, 'x');
  VhStore *store = vh_store_open (path, NULL);
  sqlite3 *db;

  if (store == NULL || !vh_store_migrate (store, "notes", notes_v1, 1, NULL))
    _exit (3);
  db = vh_store_lock (store);
  for (gint64 i = 1; i <= 100; i++)
    {
      vh_store_begin (db, FALSE, NULL);
      insert_note (db, i, "committed");
      vh_store_commit (db, FALSE, NULL);
    }
  sqlite3_exec (db, "PRAGMA cache_size=8", NULL, NULL, NULL);
  vh_store_begin (db, FALSE, NULL);
  for (gint64 i = 101; i <= 600; i++)
    insert_note (db, i, blob);
  if (write (ready_fd, "r", 1) != 1)
    _exit (4);
  for (;;)
    pause ();
}

static void
test_crash_mid_transaction (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  int fds[2];
  pid_t pid;
  char c;
  int status = 0;
  VhStore *store;
  g_autofree char *check = NULL;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (fds[0]);
      crash_writer (fx->path, fds[1]);
    }
  close (fds[1]);
  g_assert_cmpint (read (fds[0], &c, 1), ==, 1);
  close (fds[0]);
  /* The uncommitted pages really reached the WAL before the kill. */
  {
    g_autofree char *wal = g_strconcat (fx->path, "-wal", NULL);
    GStatBuf st;
    g_assert_cmpint (g_stat (wal, &st), ==, 0);
    g_assert_cmpint (st.st_size, >, 100 * 1024);
  }
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  store = vh_store_open (fx->path, &error);
  g_assert_no_error (error);
  check = query_text (store, "PRAGMA integrity_check");
  g_assert_cmpstr (check, ==, "ok");
  g_assert_cmpint (query_int (store, "SELECT max(id) FROM notes"), ==, 100);
  g_assert_cmpint (query_int (store, "SELECT count(*) FROM notes"), ==, 100);
  vh_store_close (store);
}

/* Another process (a running `vigil serve`) holds the write lock for a
 * moment: a writer here waits on the busy timeout instead of failing. */
static void
test_second_process_waits_for_writer (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);
  int fds[2];
  pid_t pid;
  char c;
  int status = 0;
  sqlite3 *db;

  g_assert_true (vh_store_migrate (store, "notes", notes_v1, 1, &error));
  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  if (pid == 0)
    {
      VhStore *other = vh_store_open (fx->path, NULL);
      sqlite3 *odb = vh_store_lock (other);

      close (fds[0]);
      vh_store_begin (odb, FALSE, NULL);
      insert_note (odb, 1, "child");
      if (write (fds[1], "r", 1) != 1)
        _exit (4);
      g_usleep (300 * 1000);
      _exit (vh_store_commit (odb, FALSE, NULL) ? 0 : 5);
    }
  close (fds[1]);
  g_assert_cmpint (read (fds[0], &c, 1), ==, 1);
  close (fds[0]);
  db = vh_store_lock (store);
  g_assert_true (vh_store_begin (db, TRUE, &error));
  g_assert_no_error (error);
  insert_note (db, 2, "parent");
  g_assert_true (vh_store_commit (db, TRUE, &error));
  vh_store_unlock (store);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_assert_cmpint (query_int (store, "SELECT count(*) FROM notes"), ==, 2);
  vh_store_close (store);
}

static gpointer
locker_thread (gpointer data)
{
  VhStore *store = data;

  for (int i = 0; i < 200; i++)
    {
      sqlite3 *db = vh_store_lock (store);
      vh_store_begin (db, FALSE, NULL);
      sqlite3_exec (db, "UPDATE counter SET n = n + 1", NULL, NULL, NULL);
      vh_store_commit (db, FALSE, NULL);
      vh_store_unlock (store);
    }
  return NULL;
}

static void
test_lock_serializes_threads (Fixture *fx, gconstpointer data)
{
  static const VhMigration counter[] = {
    { 1, "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)" },
  };
  g_autoptr (GError) error = NULL;
  VhStore *store = vh_store_open (fx->path, &error);
  GThread *a, *b;

  g_assert_true (vh_store_migrate (store, "counter", counter, 1, &error));
  a = g_thread_new ("a", locker_thread, store);
  b = g_thread_new ("b", locker_thread, store);
  g_thread_join (a);
  g_thread_join (b);
  g_assert_cmpint (query_int (store, "SELECT n FROM counter"), ==, 400);
  vh_store_close (store);
}

/* Several processes opening a database that does not exist yet, at the
 * same moment (`vigil serve` starting while an admin runs a command): one
 * creates it, switches it to WAL and migrates it; every other one must wait
 * and then find it ready, not fail on the journal mode or re-run a
 * migration ("table already exists"). */
#define RACERS 8

static void
test_concurrent_first_open (Fixture *fx, gconstpointer data)
{
  static const VhMigration two[] = {
    { 1, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)" },
    { 2, "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL)" },
  };
  int go[2];
  pid_t pids[RACERS];

  for (guint round = 0; round < 5; round++)
    {
      g_assert_cmpint (pipe (go), ==, 0);
      for (guint i = 0; i < RACERS; i++)
        {
          pids[i] = fork ();
          g_assert_cmpint (pids[i], >=, 0);
          if (pids[i] == 0)
            {
              g_autoptr (GError) error = NULL;
              VhStore *store;
              char c;
              /* Everyone starts when the parent closes the pipe. */
              close (go[1]);
              if (read (go[0], &c, 1) < 0)
                _exit (3);
              store = vh_store_open (fx->path, &error);
              if (store == NULL || !vh_store_migrate (store, "notes", two, 2, &error))
                {
                  g_printerr ("racer %u: %s\n", i, error ? error->message : "?");
                  _exit (1);
                }
              vh_store_close (store);
              _exit (0);
            }
        }
      close (go[0]);
      close (go[1]);
      for (guint i = 0; i < RACERS; i++)
        {
          int status = 0;
          g_assert_cmpint (waitpid (pids[i], &status, 0), ==, pids[i]);
          g_assert_true (WIFEXITED (status));
          g_assert_cmpint (WEXITSTATUS (status), ==, 0);
        }
      {
        g_autoptr (GError) error = NULL;
        VhStore *store = vh_store_open (fx->path, &error);
        g_autofree char *mode = NULL;
        g_assert_no_error (error);
        mode = query_text (store, "PRAGMA journal_mode");
        g_assert_cmpstr (mode, ==, "wal");
        g_assert_cmpint (query_int (store, "SELECT version FROM schema_versions WHERE module = 'notes'"),
                         ==, 2);
        vh_store_close (store);
      }
      fixture_teardown (fx, NULL);
      fixture_setup (fx, NULL);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/store/open-wal-and-foreign-keys", test_open_wal_and_foreign_keys);
  ADD ("/store/durable-writes-use-full-sync", test_durable_writes_use_full_sync);
  g_test_add_func ("/store/open-unwritable-folder-fails", test_open_unwritable_folder_fails);
  ADD ("/store/migrate-applies-each-once", test_migrate_applies_each_once);
  ADD ("/store/migrate-refuses-newer-database", test_migrate_refuses_newer_database);
  ADD ("/store/migrate-failure-rolls-back", test_migrate_failure_rolls_back);
  ADD ("/store/migrate-rejects-misnumbered", test_migrate_rejects_misnumbered);
  ADD ("/store/reopen-keeps-data", test_reopen_keeps_data);
  ADD ("/store/crash-mid-transaction", test_crash_mid_transaction);
  ADD ("/store/second-process-waits-for-writer", test_second_process_waits_for_writer);
  ADD ("/store/lock-serializes-threads", test_lock_serializes_threads);
  ADD ("/store/concurrent-first-open", test_concurrent_first_open);
#undef ADD
  return g_test_run ();
}
