/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collection shared by the device runs of a group scan: one build per
 * key while it is kept, a different key replaces it only once no run uses
 * it (until then the other run gets a collection of its own), runs that
 * miss at the same time end up sharing one, and clearing frees it. The
 * sanitizer build checks that nothing is freed twice or leaked.
 */
#include "ioc-test-util.h"

typedef struct {
  const char *md5;
  gint        builds;
  gulong      delay_us;
} Source;

static IocCollection *
build (gpointer data)
{
  Source *src = data;
  g_autofree char *body = indicator ("OR", item11 ("FileItem/Md5sum", "is", "md5", src->md5, NULL),
                                     NULL);
  g_autofree char *xml = ioc11 ("11111111-2222-3333-4444-555555555555", body);

  g_atomic_int_inc (&src->builds);
  if (src->delay_us > 0)
    g_usleep (src->delay_us);
  return collection_of (xml);
}

static void
test_same_key_built_once (void)
{
  Source a = { "00000000000000000000000000000001", 0, 0 };
  gboolean built1, built2, built3;
  IocCollection *c1 = ioc_shared_collection_get ("a", build, &a, &built1);
  IocCollection *c2 = ioc_shared_collection_get ("a", build, &a, &built2);
  IocCollection *c3;

  g_assert_true (built1);
  g_assert_false (built2);
  g_assert_true (c1 == c2);
  ioc_shared_collection_release (c1);
  ioc_shared_collection_release (c2);
  /* Kept once no run uses it: the next run of the round finds it. */
  c3 = ioc_shared_collection_get ("a", build, &a, &built3);
  g_assert_false (built3);
  g_assert_true (c3 == c1);
  g_assert_cmpint (a.builds, ==, 1);
  ioc_shared_collection_release (c3);
  ioc_shared_collection_clear ();
}

static void
test_other_key_while_in_use (void)
{
  Source a = { "00000000000000000000000000000001", 0, 0 };
  Source b = { "00000000000000000000000000000002", 0, 0 };
  gboolean built;
  IocCollection *ca = ioc_shared_collection_get ("a", build, &a, &built);
  IocCollection *cb = ioc_shared_collection_get ("b", build, &b, &built);
  IocCollection *ca2, *cb2;

  /* "a" is in use: "b" is the caller's own, and "a" stays shared. */
  g_assert_true (built);
  g_assert_true (ca != cb);
  ca2 = ioc_shared_collection_get ("a", build, &a, &built);
  g_assert_false (built);
  g_assert_true (ca2 == ca);
  ioc_shared_collection_release (cb);
  ioc_shared_collection_release (ca2);
  ioc_shared_collection_release (ca);
  /* Nobody uses "a" any more: "b" replaces it. */
  cb2 = ioc_shared_collection_get ("b", build, &b, &built);
  g_assert_true (built);
  ioc_shared_collection_release (cb2);
  g_assert_cmpint (b.builds, ==, 2);
  g_assert_cmpint (a.builds, ==, 1);
  ioc_shared_collection_clear ();
}

typedef struct {
  Source        *src;
  IocCollection *got;
} Getter;

static gpointer
get_in_thread (gpointer data)
{
  Getter *g = data;
  gboolean built;

  g->got = ioc_shared_collection_get ("slow", build, g->src, &built);
  return NULL;
}

static void
test_concurrent_misses_share_one (void)
{
  Source slow = { "00000000000000000000000000000003", 0, 50 * 1000 };
  Getter g1 = { &slow, NULL }, g2 = { &slow, NULL };
  GThread *t1 = g_thread_new ("get-1", get_in_thread, &g1);
  GThread *t2 = g_thread_new ("get-2", get_in_thread, &g2);

  g_thread_join (t1);
  g_thread_join (t2);
  g_assert_nonnull (g1.got);
  g_assert_true (g1.got == g2.got);
  g_assert_cmpint (slow.builds, >=, 1);
  g_assert_cmpint (slow.builds, <=, 2);
  ioc_shared_collection_release (g1.got);
  ioc_shared_collection_release (g2.got);
  ioc_shared_collection_clear ();
}

/* A kept collection still evaluates: sharing does not change what it finds. */
static void
test_shared_collection_still_matches (void)
{
  Source a = { "d41d8cd98f00b204e9800998ecf8427e", 0, 0 };   /* MD5 of "" */
  gboolean built;
  IocCollection *c1 = ioc_shared_collection_get ("match", build, &a, &built);
  IocCollection *c2 = ioc_shared_collection_get ("match", build, &a, &built);
  IocFileFacts f;

  facts_init (&f, "/tmp/empty.bin");
  g_assert_true (c1 == c2);
  g_assert_cmpint (ioc_node_eval (root_of (c2), &f), ==, IOC_TRUE);
  ioc_shared_collection_release (c1);
  ioc_shared_collection_release (c2);
  ioc_shared_collection_clear ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ioc/shared/same-key-built-once", test_same_key_built_once);
  g_test_add_func ("/ioc/shared/other-key-while-in-use", test_other_key_while_in_use);
  g_test_add_func ("/ioc/shared/concurrent-misses-share-one", test_concurrent_misses_share_one);
  g_test_add_func ("/ioc/shared/shared-collection-still-matches", test_shared_collection_still_matches);
  return g_test_run ();
}
