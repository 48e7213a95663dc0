/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Limits as a specification: the maximum size and the remaining-space
 * threshold fire exactly on the change that crosses them (upwards), not
 * before, not again while above, and again after the size came back under;
 * unset limits never fire. The last case drives real puts and deletes.
 */
#include "qtest-util.h"

#define MB Q_MB

static void
test_limit_exact_boundary (void)
{
  g_assert_cmpint (qlimits_crossed (0, 10 * MB - 1, 10, 0), ==, Q_CROSSED_NONE);
  g_assert_cmpint (qlimits_crossed (10 * MB - 1, 10 * MB, 10, 0), ==, Q_CROSSED_LIMIT);
  g_assert_cmpint (qlimits_crossed (10 * MB, 11 * MB, 10, 0), ==, Q_CROSSED_NONE);
  g_assert_cmpint (qlimits_crossed (0, 50 * MB, 10, 0), ==, Q_CROSSED_LIMIT);
}

static void
test_threshold_exact_boundary (void)
{
  /* Maximum 200 MB, threshold 50 MB: fires when the space left falls to
   * 50 MB, i.e. when the size reaches 150 MB. */
  g_assert_cmpint (qlimits_crossed (0, 150 * MB - 1, 200, 50), ==, Q_CROSSED_NONE);
  g_assert_cmpint (qlimits_crossed (150 * MB - 1, 150 * MB, 200, 50), ==, Q_CROSSED_THRESHOLD);
  g_assert_cmpint (qlimits_crossed (150 * MB, 160 * MB, 200, 50), ==, Q_CROSSED_NONE);
  g_assert_cmpint (qlimits_crossed (100 * MB, 250 * MB, 200, 50), ==,
                   Q_CROSSED_THRESHOLD | Q_CROSSED_LIMIT);
}

static void
test_unset_never_fires (void)
{
  g_assert_cmpint (qlimits_crossed (0, G_MAXINT64, 0, 0), ==, Q_CROSSED_NONE);
  g_assert_cmpint (qlimits_crossed (0, G_MAXINT64, 0, 50), ==, Q_CROSSED_NONE);
  g_assert_cmpint (qlimits_crossed (0, G_MAXINT64, -1, -1), ==, Q_CROSSED_NONE);
}

static void
test_shrinking_never_fires (void)
{
  g_assert_cmpint (qlimits_crossed (300 * MB, 100 * MB, 200, 50), ==, Q_CROSSED_NONE);
}

static void
test_free_mb (void)
{
  g_assert_cmpint (qlimits_free_mb (150 * MB, 200), ==, 50);
  g_assert_cmpint (qlimits_free_mb (250 * MB, 200), ==, 0);
  g_assert_cmpint (qlimits_free_mb (5, 0), ==, 0);
}

/* Real puts of 300 KB files against a 2 MB maximum with a 1 MB threshold
 * (so the threshold is reached when the store passes 1 MB). */
static void
test_store_sequence (QFixture *f, gconstpointer data)
{
  guint limit_hits = 0, threshold_hits = 0, first_limit = 0, first_threshold = 0;

  for (guint i = 1; i <= 10; i++)
    {
      g_autofree char *path = g_strdup_printf ("/f%u.bin", i);
      QPutRequest req = { .root = f->root, .path = path, .delete_original = TRUE };
      QPutResult res;
      QCrossed c;

      g_free (qtest_write_file (f->root, path, 300 * 1024, i));
      g_assert_true (qstore_put (f->store, &req, NULL, &res, NULL));
      c = qlimits_crossed (res.size_before, res.size_after, 2, 1);
      g_assert_cmpuint (res.size_after, ==, qstore_total_size (f->store));
      if (c & Q_CROSSED_LIMIT)
        {
          limit_hits++;
          first_limit = i;
          g_assert_cmpuint (res.size_before, <, 2 * MB);
          g_assert_cmpuint (res.size_after, >=, 2 * MB);
        }
      if (c & Q_CROSSED_THRESHOLD)
        {
          threshold_hits++;
          first_threshold = i;
          g_assert_cmpuint (res.size_before, <, 1 * MB);
          g_assert_cmpuint (res.size_after, >=, 1 * MB);
        }
      qput_result_clear (&res);
    }
  /* 300 KB plus a little framing each: the 4th put passes 1 MB, the 7th
   * passes 2 MB; quarantining went on after both. */
  g_assert_cmpuint (threshold_hits, ==, 1);
  g_assert_cmpuint (first_threshold, ==, 4);
  g_assert_cmpuint (limit_hits, ==, 1);
  g_assert_cmpuint (first_limit, ==, 7);
}

typedef struct {
  QFixture *f;
  guint     first;
  guint64   before[5], after[5];
} Worker;

static gpointer
put_five (gpointer data)
{
  Worker *w = data;

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *path = g_strdup_printf ("/w%u-%u.bin", w->first, i);
      QPutRequest req = { .root = w->f->root, .path = path, .delete_original = TRUE };
      QPutResult res;

      g_assert_true (qstore_put (w->f->store, &req, NULL, &res, NULL));
      w->before[i] = res.size_before;
      w->after[i] = res.size_after;
      qput_result_clear (&res);
    }
  return NULL;
}

/* Two threads putting into one store: every commit's before/after sizes
 * are exact, so the ten intervals chain without gaps or overlaps and a
 * crossing can be seen by exactly one put. */
static void
test_concurrent_puts_measure_exactly (QFixture *f, gconstpointer data)
{
  Worker w[2] = { { f, 0 }, { f, 1 } };
  g_autoptr (GArray) steps = g_array_new (FALSE, FALSE, sizeof (guint64) * 2);
  guint64 expect = 0;

  for (guint t = 0; t < 2; t++)
    for (guint i = 0; i < 5; i++)
      {
        g_autofree char *path = g_strdup_printf ("/w%u-%u.bin", t, i);
        g_free (qtest_write_file (f->root, path, 50 * 1024 + 999 * i, t * 10 + i));
      }
  {
    GThread *a = g_thread_new ("a", put_five, &w[0]);
    GThread *b = g_thread_new ("b", put_five, &w[1]);
    g_thread_join (a);
    g_thread_join (b);
  }
  for (guint t = 0; t < 2; t++)
    for (guint i = 0; i < 5; i++)
      {
        guint64 pair[2] = { w[t].before[i], w[t].after[i] };
        g_array_append_val (steps, pair);
      }
  for (guint n = 0; n < steps->len; n++)
    {
      gboolean found = FALSE;
      for (guint k = 0; k < steps->len && !found; k++)
        {
          guint64 *pair = &g_array_index (steps, guint64, 2 * k);
          if (pair[0] == expect)
            {
              expect = pair[1];
              found = TRUE;
            }
        }
      g_assert_true (found);
    }
  g_assert_cmpuint (expect, ==, qstore_total_size (f->store));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quarantine/limits/limit-fires-at-exact-boundary", test_limit_exact_boundary);
  g_test_add_func ("/quarantine/limits/threshold-fires-at-exact-boundary", test_threshold_exact_boundary);
  g_test_add_func ("/quarantine/limits/unset-limits-never-fire", test_unset_never_fires);
  g_test_add_func ("/quarantine/limits/shrinking-never-fires", test_shrinking_never_fires);
  g_test_add_func ("/quarantine/limits/free-mb", test_free_mb);
  g_test_add ("/quarantine/limits/store-sequence-fires-once-each", QFixture, NULL,
              qfix_setup, test_store_sequence, qfix_teardown);
  g_test_add ("/quarantine/limits/concurrent-puts-measure-exactly", QFixture, NULL,
              qfix_setup, test_concurrent_puts_measure_exactly, qfix_teardown);
  return g_test_run ();
}
