/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash test: a child process (qcrash-helper) doing a put or a restore
 * is killed with SIGKILL after a random delay, hundreds of times. After each
 * kill, the file exists whole at its original place or as a complete,
 * verifiable object (or both) — never neither; every listed object
 * verifies; every visible restored file is whole; and the recovery sweep
 * leaves no temporary file behind. The delays are spread over the length
 * of one uninterrupted run, so the kills land all along the operation.
 */
#include "qtest-util.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *helper;

#define PUT_ROUNDS     150
#define RESTORE_ROUNDS 150
#define THREADED_PUT_ROUNDS 40

static pid_t
spawn (const char *const *args)
{
  pid_t pid;

  g_assert_cmpint (posix_spawn (&pid, helper, NULL, NULL, (char **) args, environ), ==, 0);
  return pid;
}

static gint64
one_clean_run_us (const char *const *args)
{
  gint64 start = g_get_monotonic_time ();
  int status;

  waitpid (spawn (args), &status, 0);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  return g_get_monotonic_time () - start;
}

static void
kill_after (const char *const *args, gint64 delay_us)
{
  pid_t pid = spawn (args);
  int status;

  if (delay_us > 0)
    g_usleep (delay_us);
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
}

/* Every listed object verifies; returns how many list @path with @sha. */
static guint
verified_copies (QFixture *f, const char *path, const char *sha)
{
  g_autoptr (JsonArray) list = qstore_list (f->store, NULL);
  guint copies = 0;

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      const char *id = json_object_get_string_member (e, "id");
      g_autoptr (GError) error = NULL;

      g_assert_false (json_object_has_member (e, "damaged"));
      g_assert_true (qstore_verify (f->store, id, NULL, &error));
      g_assert_no_error (error);
      if (g_strcmp0 (json_object_get_string_member (e, "path"), path) == 0
          && g_strcmp0 (json_object_get_string_member (e, "sha256"), sha) == 0)
        copies++;
    }
  return copies;
}

static void
sweep_and_check_clean (QFixture *f)
{
  g_autoptr (GPtrArray) removed = qstore_recover (f->store, NULL);
  g_autoptr (GDir) d = g_dir_open (f->store_dir, 0, NULL);
  const char *name;

  guint64 size = 0;

  g_assert_nonnull (removed);
  while ((name = g_dir_read_name (d)) != NULL)
    g_assert_false (g_str_has_prefix (name, ".tmp-") || g_str_has_prefix (name, ".restore-"));
  /* This handle stayed open while the helper was killed: the size ledger
   * it shares with the helper must still match the folder. */
  g_assert_true (qstore_size (f->store, &size, NULL));
  g_assert_cmpuint (size, ==, qstore_total_size (f->store));
}

/* Keeps each round's check to its own object. */
static void
empty_store (QFixture *f)
{
  g_autoptr (JsonArray) list = qstore_list (f->store, NULL);

  for (guint i = 0; i < json_array_get_length (list); i++)
    g_assert_true (qstore_delete (f->store, json_object_get_string_member (
                       json_array_get_object_element (list, i), "id"), NULL, NULL, NULL, NULL));
}

/* @rounds puts of files of @min..@max bytes, each killed at a random point
 * of a clean run of a @calib-byte put. */
static void
put_killed_rounds (QFixture *f, guint rounds, gsize min, gsize max, gsize calib)
{
  guint outcome[4] = { 0 };  /* untouched, both, moved, (never) neither */
  gint64 span;

  {
    const char *args[] = { helper, "put", f->store_dir, f->root, "/calib.bin", NULL };

    g_free (qtest_write_file (f->root, "/calib.bin", calib, 999));
    span = one_clean_run_us (args) * 6 / 5;
  }
  for (guint i = 0; i < rounds; i++)
    {
      g_autofree char *path = g_strdup_printf ("/c/f%u.bin", i);
      g_autofree char *host = qtest_write_file (f->root, path,
                                                min + g_random_int_range (0, max - min + 1), i);
      g_autofree char *sha = qtest_file_sha256 (host);
      g_autofree char *now = NULL;
      const char *args[] = { helper, "put", f->store_dir, f->root, path, NULL };
      gboolean original;
      guint copies;

      kill_after (args, g_random_int_range (0, (gint32) span + 1));
      now = qtest_file_sha256 (host);
      original = now != NULL;
      if (original)
        g_assert_cmpstr (now, ==, sha);   /* never a damaged original */
      copies = verified_copies (f, path, sha);
      g_assert_cmpuint (copies, <=, 1);
      g_assert_true (original || copies == 1);
      outcome[original && copies == 0 ? 0 : original ? 1 : 2]++;
      sweep_and_check_clean (f);
      empty_store (f);
    }
  g_test_message ("put killed %u times: before commit %u, after commit %u, "
                  "after delete %u", rounds, outcome[0], outcome[1], outcome[2]);
}

static void
test_put_killed (QFixture *f, gconstpointer data)
{
  put_killed_rounds (f, PUT_ROUNDS, 1, 200 * 1024, 100 * 1024);
}

/* Files of several chunks: the kills also land while the MD5 helper thread
 * runs with chunks queued. */
static void
test_threaded_put_killed (QFixture *f, gconstpointer data)
{
  put_killed_rounds (f, THREADED_PUT_ROUNDS, 1024 * 1024, 3 * 1024 * 1024, 2 * 1024 * 1024);
}

static void
test_restore_killed (QFixture *f, gconstpointer data)
{
  guint outcome[3] = { 0 };  /* object only, both, restored only */
  g_autofree char *host = qtest_write_file (f->root, "/src/victim.bin", 150 * 1024, 42);
  g_autofree char *sha = qtest_file_sha256 (host);
  g_autofree char *id = qtest_put (f, "/src/victim.bin", FALSE);
  gint64 span;

  {
    const char *args[] = { helper, "restore", f->store_dir, f->root, id, "/calib", NULL };
    span = one_clean_run_us (args) * 6 / 5;
    g_free (id);
    id = qtest_put (f, "/src/victim.bin", FALSE);
  }
  for (guint i = 0; i < RESTORE_ROUNDS; i++)
    {
      g_autofree char *dir = g_strdup_printf ("/r/%u", i);
      g_autofree char *dest = g_strdup_printf ("%s/r/%u/victim.bin", f->root, i);
      g_autofree char *hdir = g_strdup_printf ("%s/r/%u", f->root, i);
      g_autofree char *restored = NULL;
      const char *args[] = { helper, "restore", f->store_dir, f->root, id, dir,
                             i % 2 ? "named" : NULL, NULL };
      guint copies;

      kill_after (args, g_random_int_range (0, (gint32) span + 1));
      restored = qtest_file_sha256 (dest);
      if (restored != NULL)
        g_assert_cmpstr (restored, ==, sha);
      g_assert_cmpuint (qtest_count_visible (hdir), <=, 1);
      copies = verified_copies (f, "/src/victim.bin", sha);
      g_assert_true (restored != NULL || copies == 1);
      outcome[restored == NULL ? 0 : copies ? 1 : 2]++;
      sweep_and_check_clean (f);
      {
        g_autoptr (GDir) d = g_dir_open (hdir, 0, NULL);
        const char *name;
        while (d != NULL && (name = g_dir_read_name (d)) != NULL)
          g_assert_cmpstr (name, ==, "victim.bin");
      }
      if (copies == 0)
        {
          g_free (id);
          id = qtest_put (f, "/src/victim.bin", FALSE);
        }
    }
  g_test_message ("restore killed %u times: before publish %u, published "
                  "with object %u, object removed %u", RESTORE_ROUNDS,
                  outcome[0], outcome[1], outcome[2]);
}

/* Eight processes open a store that does not exist yet and put at once:
 * however the key creation races, they all end up sealing with one key. */
static void
test_concurrent_first_use (QFixture *f, gconstpointer data)
{
  g_autofree char *fresh = g_build_filename (f->base, "fresh-store", NULL);
  g_autoptr (QStore) store = NULL;
  g_autoptr (JsonArray) list = NULL;
  pid_t pids[8];

  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      g_autofree char *path = g_strdup_printf ("/k%u.bin", i);
      const char *args[] = { helper, "put", fresh, f->root, path, NULL };
      g_free (qtest_write_file (f->root, path, 1000 + i, i));
      pids[i] = spawn (args);
    }
  for (guint i = 0; i < G_N_ELEMENTS (pids); i++)
    {
      int status;
      g_assert_cmpint (waitpid (pids[i], &status, 0), ==, pids[i]);
      g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
  store = qstore_open (fresh, NULL, NULL);
  list = qstore_list (store, NULL);
  g_assert_cmpuint (json_array_get_length (list), ==, G_N_ELEMENTS (pids));
  for (guint i = 0; i < json_array_get_length (list); i++)
    g_assert_true (qstore_verify (store, json_object_get_string_member (
                       json_array_get_object_element (list, i), "id"), NULL, NULL));
}

#define ADD(path, fn) g_test_add (path, QFixture, NULL, qfix_setup, fn, qfix_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  helper = argc > 1 ? argv[1] : g_getenv ("QCRASH_HELPER");
  if (helper == NULL)
    g_error ("pass the qcrash-helper path as the first argument");
  ADD ("/quarantine/crash/put-killed-never-loses-the-file", test_put_killed);
  ADD ("/quarantine/crash/threaded-put-killed-never-loses-the-file", test_threaded_put_killed);
  ADD ("/quarantine/crash/restore-killed-never-loses-the-file", test_restore_killed);
  ADD ("/quarantine/crash/concurrent-first-use-shares-one-key", test_concurrent_first_use);
  return g_test_run ();
}
