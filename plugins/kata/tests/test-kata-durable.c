/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The spool's durability as the plugin runs it (WAL, synchronous=NORMAL,
 * durable points): a process killed with SIGKILL right after
 * kata_engine_submit returned loses none of the events it acknowledged;
 * durable points sync only what was committed since the last one, the
 * engine's tick makes one, and a spool with an fsync per commit never needs
 * one. A power loss cannot be simulated here; docs/kata.md says what it may
 * take.
 */
#include "kata-engine.h"
#include "vt-cli.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static gint64
fixed_now (gpointer data)
{
  return 1795000000LL * G_USEC_PER_SEC;
}

static KataEngine *
open_engine (const char *dir, gboolean full_sync)
{
  KataHooks hooks = { fixed_now, NULL, NULL, NULL, NULL };
  KataEngineOptions opts = { dir, "device-a", 0, full_sync, NULL };
  g_autoptr (KataSettings) s = kata_settings_new_default ();
  g_autoptr (GError) error = NULL;
  KataEngine *engine = kata_engine_new (&opts, &hooks, &error);

  g_assert_no_error (error);
  s->enabled = TRUE;
  s->throttle_enabled = FALSE;
  kata_engine_configure (engine, s);
  return engine;
}

static void
submit (KataEngine *engine, guint i)
{
  g_autoptr (JsonObject) rec = json_object_new ();
  g_autofree char *id = g_strdup_printf ("ev-%06u", i);

  json_object_set_string_member (rec, "id", id);
  json_object_set_string_member (rec, "type", "quarantine.deleted");
  if (!kata_engine_submit (engine, "quarantine.deleted", rec, NULL))
    g_error ("submit %u failed", i);
}

/* In the child: submit events for ever, writing each index to @fd once
 * kata_engine_submit has returned (the acknowledgement the host gets). */
static void G_GNUC_NORETURN
child_submit (const char *dir, int fd)
{
  KataEngine *engine = open_engine (dir, FALSE);

  for (guint i = 0;; i++)
    {
      submit (engine, i);
      if (write (fd, &i, sizeof i) != sizeof i)
        _exit (3);
    }
}

static void
test_sigkill_keeps_acknowledged (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kata-durable-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "spool.db", NULL);
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (KataSpool) spool = NULL;
  g_autoptr (KataPackage) pkg = NULL;
  guint acked = 0, idx;
  int fds[2], status;
  pid_t pid;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (fds[0]);
      child_submit (dir, fds[1]);
    }
  close (fds[1]);
  /* Kill it in the middle of the flow, then collect every acknowledgement
   * it wrote before dying. */
  while (acked < 300 && read (fds[0], &idx, sizeof idx) == sizeof idx)
    acked = idx + 1;
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  while (read (fds[0], &idx, sizeof idx) == sizeof idx)
    acked = idx + 1;
  close (fds[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  g_assert_cmpuint (acked, >=, 300);

  spool = kata_spool_open (path, 1000000, FALSE, NULL);
  g_assert_nonnull (spool);
  pkg = kata_spool_next_package (spool, 1000000, NULL);
  g_assert_nonnull (pkg);
  for (guint i = 0; i < pkg->bodies->len; i++)
    {
      g_autoptr (JsonNode) n = json_from_string (g_ptr_array_index (pkg->bodies, i), NULL);
      g_hash_table_add (found, g_strdup (json_object_get_string_member (
          json_node_get_object (n), "id")));
    }
  for (guint i = 0; i < acked; i++)
    {
      g_autofree char *id = g_strdup_printf ("ev-%06u", i);
      if (!g_hash_table_contains (found, id))
        g_error ("acknowledged event %s is not in the spool (%u acknowledged, %u found)",
                 id, acked, pkg->bodies->len);
    }
  /* At most the one being submitted when the kill came goes beyond. */
  g_assert_cmpuint (pkg->bodies->len, <=, acked + 1);
  g_clear_pointer (&pkg, kata_package_free);
  g_clear_pointer (&spool, kata_spool_close);
  vt_rm_rf (dir);
}

static void
test_durable_point_only_after_commit (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kata-durable-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "spool.db", NULL);
  g_autoptr (KataSpool) spool = kata_spool_open (path, 100, FALSE, NULL);
  KataSpoolItem item = { "process.started", KATA_IMPORTANCE_LOW, 1, "{}", NULL };
  g_autoptr (GError) error = NULL;
  guint64 before;

  g_assert_nonnull (spool);
  g_assert_true (kata_spool_make_durable (spool, &error));  /* the new schema */
  g_assert_no_error (error);
  before = kata_spool_durable_points (spool);
  g_assert_cmpuint (before, ==, 1);
  g_assert_true (kata_spool_make_durable (spool, NULL));
  g_assert_cmpuint (kata_spool_durable_points (spool), ==, before);  /* nothing new */
  g_assert_true (kata_spool_append (spool, &item, 1, NULL, NULL, NULL));
  g_assert_true (kata_spool_make_durable (spool, NULL));
  g_assert_cmpuint (kata_spool_durable_points (spool), ==, before + 1);
  g_clear_pointer (&spool, kata_spool_close);
  vt_rm_rf (dir);
}

static void
test_full_sync_needs_no_durable_point (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kata-durable-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "spool.db", NULL);
  g_autoptr (KataSpool) spool = kata_spool_open (path, 100, TRUE, NULL);
  KataSpoolItem item = { "process.started", KATA_IMPORTANCE_LOW, 1, "{}", NULL };

  g_assert_true (kata_spool_append (spool, &item, 1, NULL, NULL, NULL));
  g_assert_true (kata_spool_make_durable (spool, NULL));
  g_assert_cmpuint (kata_spool_durable_points (spool), ==, 0);
  g_clear_pointer (&spool, kata_spool_close);
  vt_rm_rf (dir);
}

static void
test_tick_makes_durable_point (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kata-durable-XXXXXX", NULL);
  KataEngine *engine = open_engine (dir, FALSE);
  g_autoptr (JsonObject) st = NULL;

  submit (engine, 1);
  kata_engine_tick (engine);   /* no server: only the durable point */
  st = kata_engine_status (engine);
  g_assert_cmpint (json_object_get_int_member (st, "durable_points"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (st, "spooled"), ==, 1);
  kata_engine_free (engine);
  vt_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kata/durable/sigkill-after-submit-keeps-acknowledged",
                   test_sigkill_keeps_acknowledged);
  g_test_add_func ("/kata/durable/point-only-after-commit",
                   test_durable_point_only_after_commit);
  g_test_add_func ("/kata/durable/full-sync-needs-no-point",
                   test_full_sync_needs_no_durable_point);
  g_test_add_func ("/kata/durable/tick-makes-durable-point", test_tick_makes_durable_point);
  return g_test_run ();
}
