/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's outbox and run journal (host/fleet/fleet-outbox.h) against a
 * real nats-server: reports put while nothing is sent survive a reopen
 * (a restart) and reach the console in order once flushed; a report
 * published again after a crash (before its file was deleted) is stored
 * once; a flush that fails keeps everything, in order; a damaged entry is
 * set aside, not lost; a run id is claimed once, across reopen.
 */
#include "fleet-common.h"
#include "fleet-jetstream.h"
#include "fleet-outbox.h"
#include "fleet-subjects.h"
#include "vt-cli.h"
#include "vt-fleet.h"

#include <glib/gstdio.h>
#include <string.h>

static char *
outbox_dir (VtFleet *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

/* Put while offline, reopened (a restart), flushed: all reach the
 * console, in order, and the outbox is empty. */
static void
test_survives_restart_in_order (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = outbox_dir (f, "outbox-a");
  g_autofree char *subject = vigil_fleet_subject_report ("dev-a", "result");
  g_autoptr (VigilFleetOutbox) before = vigil_fleet_outbox_open (dir, &error);
  g_autoptr (VigilFleetOutbox) after = NULL;
  VtClient *a;
  guint sent = 0, dups = 9;

  g_assert_no_error (error);
  for (int i = 1; i <= 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("run-%d.result", i);
      g_autofree char *body = g_strdup_printf ("{\"n\": %d}", i);
      g_assert_true (vigil_fleet_outbox_put (before, subject, id, body, -1, &error));
    }
  g_assert_cmpuint (vigil_fleet_outbox_pending (before), ==, 3);
  g_clear_pointer (&before, vigil_fleet_outbox_free);

  after = vigil_fleet_outbox_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vigil_fleet_outbox_pending (after), ==, 3);
  /* Put after the restart goes after what was there. */
  g_assert_true (vigil_fleet_outbox_put (after, subject, "run-4.result", "{\"n\": 4}", -1, &error));
  a = vt_client_connect (f, "dev-a");
  g_assert_true (vigil_fleet_outbox_flush (after, a->js, &sent, &dups, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sent, ==, 4);
  g_assert_cmpuint (dups, ==, 0);
  g_assert_cmpuint (vigil_fleet_outbox_pending (after), ==, 0);
  for (int i = 1; i <= 4; i++)
    {
      g_autofree char *got = vt_fetch_one (vigil_fleet_console_reports_subscribe (f->console->js, &error));
      g_autofree char *want = g_strdup_printf ("vigil.dev.dev-a.out.result {\"n\": %d}", i);
      g_assert_cmpstr (got, ==, want);
    }
  vt_client_free (a);
}

/* A crash after the stream stored a report but before its file was
 * deleted: the report is published again with its id, stored once. */
static void
test_resent_after_crash_stored_once (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = outbox_dir (f, "outbox-b");
  g_autofree char *subject = vigil_fleet_subject_report ("dev-b", "event");
  g_autoptr (VigilFleetOutbox) outbox = vigil_fleet_outbox_open (dir, &error);
  VtClient *b = vt_client_connect (f, "dev-b");
  guint sent = 0, dups = 0;

  g_assert_true (vigil_fleet_outbox_put (outbox, subject, "ev-1", "{}", -1, &error));
  g_assert_true (vigil_fleet_outbox_flush (outbox, b->js, &sent, &dups, &error));
  g_assert_cmpuint (dups, ==, 0);
  /* The same report on disk again, as if its unlink never happened. */
  g_assert_true (vigil_fleet_outbox_put (outbox, subject, "ev-1", "{}", -1, &error));
  g_assert_true (vigil_fleet_outbox_flush (outbox, b->js, &sent, &dups, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sent, ==, 1);
  g_assert_cmpuint (dups, ==, 1);
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, subject), ==, 1);
  vt_client_free (b);
}

/* A flush on a closed connection fails and keeps every report. A damaged
 * entry is renamed aside with an error naming it, and the next flush
 * sends the rest. */
static void
test_failure_keeps_reports (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = outbox_dir (f, "outbox-c");
  g_autofree char *subject = vigil_fleet_subject_report ("dev-c", "result");
  g_autoptr (VigilFleetOutbox) outbox = vigil_fleet_outbox_open (dir, &error);
  g_autofree char *first = g_build_filename (dir, "00000000000000000001.report", NULL);
  g_autofree char *bad = g_strconcat (first, ".bad", NULL);
  VtClient *c = vt_client_connect (f, "dev-c");
  guint sent = 9;

  g_assert_true (vigil_fleet_outbox_put (outbox, subject, "r-1", "{\"a\": 1}", -1, &error));
  g_assert_true (vigil_fleet_outbox_put (outbox, subject, "r-2", "{\"a\": 2}", -1, &error));
  natsConnection_Close (c->nc);
  g_assert_false (vigil_fleet_outbox_flush (outbox, c->js, &sent, NULL, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_BROKER);
  g_clear_error (&error);
  g_assert_cmpuint (sent, ==, 0);
  g_assert_cmpuint (vigil_fleet_outbox_pending (outbox), ==, 2);
  vt_client_free (c);

  g_assert_true (g_file_set_contents (first, "{\"subject\": 3}", -1, NULL));
  c = vt_client_connect (f, "dev-c");
  g_assert_false (vigil_fleet_outbox_flush (outbox, c->js, &sent, NULL, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, first));
  g_clear_error (&error);
  g_assert_true (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_assert_true (vigil_fleet_outbox_flush (outbox, c->js, &sent, NULL, &error));
  g_assert_cmpuint (sent, ==, 1);
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, subject), ==, 1);
  vt_client_free (c);

  /* What cannot be sent is refused when put, not when flushed. */
  g_assert_false (vigil_fleet_outbox_put (outbox, subject, "r-3", "a\xff", -1, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
}

/* A run id is claimed once, also after a reopen; bad ids are refused. */
static void
test_run_claimed_once (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *journal = outbox_dir (f, "runs");
  static const char *const bad[] = { "", ".hidden", "a/b", "../x", "a b", NULL };

  g_assert_cmpint (vigil_fleet_run_claim (journal, "task-1.7.dev-a", &error), ==,
                   VIGIL_FLEET_CLAIM_NEW);
  g_assert_cmpint (vigil_fleet_run_claim (journal, "task-1.7.dev-a", &error), ==,
                   VIGIL_FLEET_CLAIM_TAKEN);
  g_assert_cmpint (vigil_fleet_run_claim (journal, "task-1.8.dev-a", &error), ==,
                   VIGIL_FLEET_CLAIM_NEW);
  g_assert_no_error (error);
  for (gsize i = 0; bad[i]; i++)
    {
      g_assert_cmpint (vigil_fleet_run_claim (journal, bad[i], &error), ==,
                       VIGIL_FLEET_CLAIM_ERROR);
      g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add ("/fleet/outbox/" name, VtFleet, NULL, vt_fleet_fixture_setup, fn, \
              vt_fleet_fixture_teardown)
  ADD ("survives-restart-in-order", test_survives_restart_in_order);
  ADD ("resent-after-crash-stored-once", test_resent_after_crash_stored_once);
  ADD ("failure-keeps-reports", test_failure_keeps_reports);
  ADD ("run-claimed-once", test_run_claimed_once);
#undef ADD
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
