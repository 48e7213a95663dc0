/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The queue `vigil serve` hands heartbeats to its main loop through
 * (host/cli/latest-queue.c): a flood of values for a few keys leaves one
 * value per key, the latest, in the order the keys came; keys past the
 * bound are refused; every value is freed exactly once, also when several
 * threads put while another takes.
 */
#include "latest-queue.h"

typedef struct {
  guint key;
  guint n;
} Value;

static gint freed;

static Value *
value_new (guint key, guint n)
{
  Value *v = g_new0 (Value, 1);

  v->key = key;
  v->n = n;
  return v;
}

static void
value_free (gpointer data)
{
  g_atomic_int_inc (&freed);
  g_free (data);
}

static void
test_flood (void)
{
  CliLatestQueue *queue = cli_latest_queue_new (16, value_free);
  g_autoptr (GPtrArray) taken = NULL;
  const char *keys[] = { "dev-b", "dev-a", "dev-c" };
  guint64 replaced = 0, refused = 0;
  guint wakeups = 0;

  freed = 0;
  for (guint n = 0; n < 100000; n++)
    {
      guint k = n % 3;

      if (cli_latest_queue_put (queue, keys[k], value_new (k, n)))
        wakeups++;
    }
  /* One wake-up for the whole flood, and one value per key. */
  g_assert_cmpuint (wakeups, ==, 1);
  cli_latest_queue_counts (queue, &replaced, &refused);
  g_assert_cmpuint (replaced, ==, 100000 - 3);
  g_assert_cmpuint (refused, ==, 0);
  g_assert_cmpint (g_atomic_int_get (&freed), ==, 100000 - 3);
  taken = cli_latest_queue_take (queue);
  g_assert_cmpuint (taken->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      Value *v = taken->pdata[i];

      g_assert_cmpuint (v->key, ==, i);             /* first-queued order */
      /* The latest: the last n below 100000 with n % 3 == i. */
      g_assert_cmpuint (v->n, ==, 99999 - (99999 % 3 + 3 - i) % 3);
    }
  /* Empty again: the next put asks for a take. */
  g_assert_true (cli_latest_queue_put (queue, "dev-a", value_new (1, 0)));
  g_clear_pointer (&taken, g_ptr_array_unref);
  cli_latest_queue_free (queue);
  g_assert_cmpint (g_atomic_int_get (&freed), ==, 100000 + 1);
}

static void
test_bound (void)
{
  CliLatestQueue *queue = cli_latest_queue_new (2, value_free);
  g_autoptr (GPtrArray) taken = NULL;
  guint64 refused = 0;

  freed = 0;
  g_assert_true (cli_latest_queue_put (queue, "a", value_new (0, 0)));
  g_assert_false (cli_latest_queue_put (queue, "b", value_new (1, 0)));
  /* A third key is refused (and freed); known keys still replace. */
  g_assert_false (cli_latest_queue_put (queue, "c", value_new (2, 0)));
  g_assert_cmpint (g_atomic_int_get (&freed), ==, 1);
  g_assert_false (cli_latest_queue_put (queue, "a", value_new (0, 1)));
  cli_latest_queue_counts (queue, NULL, &refused);
  g_assert_cmpuint (refused, ==, 1);
  taken = cli_latest_queue_take (queue);
  g_assert_cmpuint (taken->len, ==, 2);
  g_assert_cmpuint (((Value *) taken->pdata[0])->n, ==, 1);
  /* Taken: room again. */
  g_assert_true (cli_latest_queue_put (queue, "c", value_new (2, 1)));
  cli_latest_queue_free (queue);
  g_clear_pointer (&taken, g_ptr_array_unref);
  g_assert_cmpint (g_atomic_int_get (&freed), ==, 5);
}

#define THREADS 4
#define PUTS    20000

typedef struct {
  CliLatestQueue *queue;
  guint           key;
} Putter;

static gpointer
putter (gpointer data)
{
  Putter *p = data;
  g_autofree char *key = g_strdup_printf ("dev-%u", p->key);

  for (guint n = 0; n < PUTS; n++)
    cli_latest_queue_put (p->queue, key, value_new (p->key, n));
  return NULL;
}

/* Threads put while this one takes: each value is freed exactly once, and
 * after the last take each key's latest value is its last put. */
static void
test_threads (void)
{
  CliLatestQueue *queue = cli_latest_queue_new (16, value_free);
  Putter putters[THREADS];
  GThread *threads[THREADS];
  guint last[THREADS] = { 0 };
  gboolean seen[THREADS] = { FALSE };

  freed = 0;
  for (guint t = 0; t < THREADS; t++)
    {
      putters[t] = (Putter) { queue, t };
      threads[t] = g_thread_new ("putter", putter, &putters[t]);
    }
  for (guint t = 0; t < THREADS; t++)
    {
      /* Take meanwhile, as the main loop does. */
      g_autoptr (GPtrArray) taken = cli_latest_queue_take (queue);

      for (guint i = 0; i < taken->len; i++)
        {
          Value *v = taken->pdata[i];

          g_assert_true (!seen[v->key] || v->n > last[v->key]);
          seen[v->key] = TRUE;
          last[v->key] = v->n;
        }
      g_thread_join (threads[t]);
    }
  {
    g_autoptr (GPtrArray) taken = cli_latest_queue_take (queue);

    for (guint i = 0; i < taken->len; i++)
      last[((Value *) taken->pdata[i])->key] = ((Value *) taken->pdata[i])->n;
  }
  for (guint t = 0; t < THREADS; t++)
    g_assert_cmpuint (last[t], ==, PUTS - 1);
  cli_latest_queue_free (queue);
  g_assert_cmpint (g_atomic_int_get (&freed), ==, THREADS * PUTS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fleet/latest-queue/flood", test_flood);
  g_test_add_func ("/fleet/latest-queue/bound", test_bound);
  g_test_add_func ("/fleet/latest-queue/threads", test_threads);
  return g_test_run ();
}
