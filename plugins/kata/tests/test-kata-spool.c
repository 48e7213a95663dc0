/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The spool on its own: packages keep their sequence id until
 * acknowledged, sequence ids are never reused (also across reopening),
 * the bound drops the oldest low-importance events first, and what was
 * appended survives closing and reopening the database.
 */
#include "kata-engine.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  t->dir = g_dir_make_tmp ("kata-spool-XXXXXX", NULL);
  t->path = g_build_filename (t->dir, "spool.db", NULL);
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (t->path, suffixes[i], NULL);
      g_unlink (p);
    }
  g_rmdir (t->dir);
  g_free (t->path);
  g_free (t->dir);
}

static void
append (KataSpool *spool, const char *type, KataImportance imp, const char *json)
{
  KataSpoolItem item = { type, imp, 1, json };
  g_autoptr (GError) error = NULL;

  g_assert_true (kata_spool_append (spool, &item, 1, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
append_n (KataSpool *spool, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"n\":%u}", i);
      append (spool, "process.started", KATA_IMPORTANCE_LOW, json);
    }
}

static void
test_package_kept_until_ack (Tmp *t, gconstpointer data)
{
  g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, TRUE, NULL);
  g_autoptr (KataPackage) a = NULL;
  g_autoptr (KataPackage) again = NULL;
  g_autoptr (KataPackage) b = NULL;

  append_n (spool, 5);
  a = kata_spool_next_package (spool, 3, NULL);
  g_assert_cmpuint (a->bodies->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (a->bodies, 0), ==, "{\"n\":0}");
  again = kata_spool_next_package (spool, 3, NULL);
  g_assert_cmpuint (again->seq, ==, a->seq);
  g_assert_cmpuint (again->bodies->len, ==, 3);
  g_assert_true (kata_spool_ack (spool, a->seq, NULL));
  g_assert_cmpuint (kata_spool_count (spool), ==, 2);
  b = kata_spool_next_package (spool, 3, NULL);
  g_assert_cmpuint (b->seq, >, a->seq);
  g_assert_cmpuint (b->bodies->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (b->bodies, 0), ==, "{\"n\":3}");
}

static void
test_empty_spool_has_no_package (Tmp *t, gconstpointer data)
{
  g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, FALSE, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_null (kata_spool_next_package (spool, 10, &error));
  g_assert_no_error (error);
}

static void
test_sequence_never_reused (Tmp *t, gconstpointer data)
{
  guint64 first;
  g_autofree char *agent = NULL;

  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, FALSE, NULL);
    g_autoptr (KataPackage) p = NULL;
    append_n (spool, 1);
    p = kata_spool_next_package (spool, 10, NULL);
    first = p->seq;
    g_assert_true (kata_spool_ack (spool, p->seq, NULL));
    agent = g_strdup (kata_spool_agent_id (spool));
  }
  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, FALSE, NULL);
    g_autoptr (KataPackage) p = NULL;
    append_n (spool, 1);
    p = kata_spool_next_package (spool, 10, NULL);
    g_assert_cmpuint (p->seq, >, first);
    g_assert_cmpstr (kata_spool_agent_id (spool), ==, agent);
  }
}

static void
test_survives_reopen (Tmp *t, gconstpointer data)
{
  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, TRUE, NULL);
    append_n (spool, 7);
  }
  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, TRUE, NULL);
    g_autoptr (KataPackage) p = kata_spool_next_package (spool, 100, NULL);
    g_assert_cmpuint (kata_spool_count (spool), ==, 7);
    g_assert_cmpuint (p->bodies->len, ==, 7);
  }
}

static void
test_full_drops_oldest_low_first (Tmp *t, gconstpointer data)
{
  g_autoptr (KataSpool) spool = kata_spool_open (t->path, 4, FALSE, NULL);
  KataSpoolItem items[] = {
    { "sandbox.threat_detected", KATA_IMPORTANCE_HIGH, 1, "{\"h\":1}" },
    { "process.started", KATA_IMPORTANCE_LOW, 2, "{\"l\":1}" },
    { "process.started", KATA_IMPORTANCE_LOW, 3, "{\"l\":2}" },
    { "sandbox.threat_detected", KATA_IMPORTANCE_HIGH, 4, "{\"h\":2}" },
    { "process.started", KATA_IMPORTANCE_LOW, 5, "{\"l\":3}" },
    { "ioc.found", KATA_IMPORTANCE_HIGH, 6, "{\"h\":3}" },
  };
  guint dl = 0, dh = 0;
  g_autoptr (KataPackage) p = NULL;

  g_assert_true (kata_spool_append (spool, items, G_N_ELEMENTS (items), &dl, &dh, NULL));
  g_assert_cmpuint (dl, ==, 2);
  g_assert_cmpuint (dh, ==, 0);
  p = kata_spool_next_package (spool, 10, NULL);
  g_assert_cmpuint (p->bodies->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (p->bodies, 0), ==, "{\"h\":1}");
  g_assert_cmpstr (g_ptr_array_index (p->bodies, 1), ==, "{\"h\":2}");
  g_assert_cmpstr (g_ptr_array_index (p->bodies, 2), ==, "{\"l\":3}");
  g_assert_cmpstr (g_ptr_array_index (p->bodies, 3), ==, "{\"h\":3}");
}

static void
test_full_of_detections_drops_oldest_detection (Tmp *t, gconstpointer data)
{
  g_autoptr (KataSpool) spool = kata_spool_open (t->path, 2, FALSE, NULL);
  KataSpoolItem items[] = {
    { "ioc.found", KATA_IMPORTANCE_HIGH, 1, "{\"h\":1}" },
    { "ioc.found", KATA_IMPORTANCE_HIGH, 2, "{\"h\":2}" },
    { "process.started", KATA_IMPORTANCE_LOW, 3, "{\"l\":1}" },
    { "ioc.found", KATA_IMPORTANCE_HIGH, 4, "{\"h\":3}" },
  };
  guint dl = 0, dh = 0;
  g_autoptr (KataPackage) p = NULL;

  /* The bound is a hard disk bound: with only detections left, a new low
   * event is the one that goes, and a new detection replaces the oldest. */
  g_assert_true (kata_spool_append (spool, items, G_N_ELEMENTS (items), &dl, &dh, NULL));
  g_assert_cmpuint (dl, ==, 1);
  g_assert_cmpuint (dh, ==, 1);
  p = kata_spool_next_package (spool, 10, NULL);
  g_assert_cmpstr (g_ptr_array_index (p->bodies, 0), ==, "{\"h\":2}");
  g_assert_cmpstr (g_ptr_array_index (p->bodies, 1), ==, "{\"h\":3}");
}

static void
test_events_in_package_not_dropped (Tmp *t, gconstpointer data)
{
  g_autoptr (KataSpool) spool = kata_spool_open (t->path, 2, FALSE, NULL);
  g_autoptr (KataPackage) p = NULL;
  g_autoptr (KataPackage) again = NULL;

  append_n (spool, 2);
  p = kata_spool_next_package (spool, 10, NULL);
  append_n (spool, 1);     /* nothing droppable: the new one goes */
  g_assert_cmpuint (kata_spool_count (spool), ==, 2);
  again = kata_spool_next_package (spool, 10, NULL);
  g_assert_cmpuint (again->bodies->len, ==, 2);
}

static void
test_task_ids_remembered (Tmp *t, gconstpointer data)
{
  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 2, FALSE, NULL);
    g_assert_true (kata_spool_mark_task (spool, "t-1", 1, NULL));
    g_assert_false (kata_spool_mark_task (spool, "t-1", 2, NULL));
  }
  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 2, FALSE, NULL);
    g_assert_false (kata_spool_mark_task (spool, "t-1", 3, NULL));
    g_assert_true (kata_spool_mark_task (spool, "t-2", 3, NULL));
  }
}

static void
test_second_process_sees_appends (Tmp *t, gconstpointer data)
{
  /* `vigil serve` keeps its spool open while `vigil event emit` appends:
   * two connections to the same file. */
  g_autoptr (KataSpool) serve = kata_spool_open (t->path, 100, FALSE, NULL);
  g_autoptr (KataSpool) emit = kata_spool_open (t->path, 100, FALSE, NULL);
  g_autoptr (KataPackage) p = NULL;

  g_assert_cmpuint (kata_spool_count (serve), ==, 0);
  append_n (emit, 4);
  g_assert_cmpuint (kata_spool_count (serve), ==, 4);
  p = kata_spool_next_package (serve, 10, NULL);
  g_assert_cmpuint (p->bodies->len, ==, 4);
  g_assert_true (kata_spool_ack (serve, p->seq, NULL));
  g_assert_cmpuint (kata_spool_count (emit), ==, 0);
}

static void
test_two_processes_share_the_open_package (Tmp *t, gconstpointer data)
{
  /* `vigil serve` and `vigil kata flush` at once: both send the one open
   * package (the server de-duplicates), neither forms an overlapping one. */
  g_autoptr (KataSpool) a = kata_spool_open (t->path, 100, FALSE, NULL);
  g_autoptr (KataSpool) b = kata_spool_open (t->path, 100, FALSE, NULL);
  g_autoptr (KataPackage) pa = NULL;
  g_autoptr (KataPackage) pb = NULL;
  g_autoptr (KataPackage) next = NULL;

  append_n (a, 5);
  pa = kata_spool_next_package (a, 3, NULL);
  pb = kata_spool_next_package (b, 3, NULL);
  g_assert_cmpuint (pb->seq, ==, pa->seq);
  g_assert_cmpuint (pb->bodies->len, ==, 3);
  g_assert_true (kata_spool_ack (b, pb->seq, NULL));
  g_assert_true (kata_spool_ack (a, pa->seq, NULL));   /* late: nothing left */
  next = kata_spool_next_package (a, 3, NULL);
  g_assert_cmpuint (next->bodies->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (next->bodies, 0), ==, "{\"n\":3}");
}

static void
test_ttl_period_survives_reopen (Tmp *t, gconstpointer data)
{
  const gint64 h = (gint64) 3600 * G_USEC_PER_SEC;

  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, FALSE, NULL);
    KataSpoolItem item = { "process.started", KATA_IMPORTANCE_LOW, 1000, "{}", "/bin/a\n1" };
    g_assert_false (kata_spool_ttl_recent (spool, "/bin/a\n1", 1000, h));
    g_assert_true (kata_spool_append (spool, &item, 1, NULL, NULL, NULL));
    g_assert_true (kata_spool_ttl_recent (spool, "/bin/a\n1", 1000 + h - 1, h));
  }
  {
    g_autoptr (KataSpool) spool = kata_spool_open (t->path, 100, FALSE, NULL);
    g_assert_true (kata_spool_ttl_recent (spool, "/bin/a\n1", 1000 + h / 2, h));
    g_assert_false (kata_spool_ttl_recent (spool, "/bin/a\n1", 1000 + h, h));
    g_assert_false (kata_spool_ttl_recent (spool, "/bin/a\n2", 1000, h));
    g_assert_false (kata_spool_ttl_recent (spool, "/bin/a\n1", 999, h)); /* clock back */
  }
}

static void
test_unwritable_path_fails_clearly (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KataSpool) spool = kata_spool_open ("/nonexistent/dir/spool.db", 10,
                                                 FALSE, &error);

  g_assert_null (spool);
  g_assert_error (error, KATA_ERROR, KATA_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/dir/spool.db"));
}

/* Eight processes opening one new spool at once (two plugin processes for
 * the same device) all open it and all get the same agent id: each making
 * its own would send one spool's sequence numbers under two ids. */
#define RACERS 8

static void
test_concurrent_first_open_one_agent_id (Tmp *t, gconstpointer data)
{
  for (guint round = 0; round < 5; round++)
    {
      int go[2], ids[2];
      pid_t pids[RACERS];
      g_autoptr (GString) got = g_string_new (NULL);
      char buf[64];
      ssize_t n;
      g_auto (GStrv) lines = NULL;

      g_assert_cmpint (pipe (go), ==, 0);
      g_assert_cmpint (pipe (ids), ==, 0);
      for (guint i = 0; i < RACERS; i++)
        {
          pids[i] = fork ();
          g_assert_cmpint (pids[i], >=, 0);
          if (pids[i] == 0)
            {
              KataSpool *spool;
              char c;
              close (go[1]);
              close (ids[0]);
              if (read (go[0], &c, 1) < 0)
                _exit (3);
              g_autoptr (GError) error = NULL;
              spool = kata_spool_open (t->path, 1000, FALSE, &error);
              if (spool == NULL)
                {
                  g_printerr ("racer %u: %s\n", i, error->message);
                  _exit (1);
                }
              /* One line each, short enough for an atomic pipe write. */
              g_autofree char *line = g_strconcat (kata_spool_agent_id (spool), "\n", NULL);
              if (write (ids[1], line, strlen (line)) != (ssize_t) strlen (line))
                _exit (2);
              kata_spool_close (spool);
              _exit (0);
            }
        }
      close (go[0]);
      close (ids[1]);
      close (go[1]);
      while ((n = read (ids[0], buf, sizeof buf)) > 0)
        g_string_append_len (got, buf, n);
      close (ids[0]);
      for (guint i = 0; i < RACERS; i++)
        {
          int status = 0;
          g_assert_cmpint (waitpid (pids[i], &status, 0), ==, pids[i]);
          g_assert_true (WIFEXITED (status));
          g_assert_cmpint (WEXITSTATUS (status), ==, 0);
        }
      lines = g_strsplit (g_strchomp (got->str), "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, RACERS);
      for (guint i = 1; i < RACERS; i++)
        g_assert_cmpstr (lines[i], ==, lines[0]);
      tmp_teardown (t, NULL);
      tmp_setup (t, NULL);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define T(path, fn) g_test_add ("/kata/spool/" path, Tmp, NULL, tmp_setup, fn, tmp_teardown)
  T ("package-kept-until-ack", test_package_kept_until_ack);
  T ("empty-has-no-package", test_empty_spool_has_no_package);
  T ("sequence-never-reused", test_sequence_never_reused);
  T ("survives-reopen", test_survives_reopen);
  T ("full-drops-oldest-low-first", test_full_drops_oldest_low_first);
  T ("full-of-detections-drops-oldest-detection", test_full_of_detections_drops_oldest_detection);
  T ("events-in-package-not-dropped", test_events_in_package_not_dropped);
  T ("task-ids-remembered", test_task_ids_remembered);
  T ("second-process-sees-appends", test_second_process_sees_appends);
  T ("ttl-period-survives-reopen", test_ttl_period_survives_reopen);
  T ("two-processes-share-the-open-package", test_two_processes_share_the_open_package);
  T ("concurrent-first-open-one-agent-id", test_concurrent_first_open_one_agent_id);
#undef T
  g_test_add_func ("/kata/spool/unwritable-path-fails-clearly", test_unwritable_path_fails_clearly);
  return g_test_run ();
}
