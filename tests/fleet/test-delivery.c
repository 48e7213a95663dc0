/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What must not be lost, on a real nats-server: a device gets its runs
 * through its own durable consumer, also those published while it was
 * offline; a run published twice with one id is stored once; the console
 * reads every device's reports through its own durable consumer; a run
 * withdrawn before its device took it never reaches it.
 */
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "vt-fleet.h"

#include <string.h>

static void
test_device_gets_its_run (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  g_autofree char *body = NULL;

  /* Setting up is idempotent: a console restart does it again. */
  vigil_fleet_layout_ensure (f->console->js, &error);
  g_assert_no_error (error);
  vigil_fleet_device_consumers_ensure (f->console->js, "dev-a", &error);
  g_assert_no_error (error);

  vt_fleet_publish_run (f, "dev-a", "run-1", "{\"run\":1}", FALSE);
  body = vt_fetch_one_run (a, "dev-a");
  g_assert_cmpstr (body, ==, "{\"run\":1}");
  /* Work queue: acknowledged, the run is gone from the stream. */
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_RUNS, NULL), ==, 0);
  vt_client_free (a);
}

/* The console reads every device's reports through its durable consumer. */
static void
test_console_reads_every_devices_reports (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  VtClient *b = vt_client_connect (f, "dev-b");
  g_autofree char *a_ev = vigil_fleet_subject_report ("dev-a", "event");
  g_autofree char *b_res = vigil_fleet_subject_report ("dev-b", "result");
  g_autofree char *first = NULL, *second = NULL;

  g_assert_true (vigil_fleet_publish (a->js, a_ev, "a-1", "A", 1, NULL, &error));
  g_assert_true (vigil_fleet_publish (b->js, b_res, "b-1", "B", 1, NULL, &error));
  g_assert_no_error (error);
  first = vt_fetch_one (vigil_fleet_console_reports_subscribe (f->console->js, &error));
  second = vt_fetch_one (vigil_fleet_console_reports_subscribe (f->console->js, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "vigil.dev.dev-a.out.event A");
  g_assert_cmpstr (second, ==, "vigil.dev.dev-b.out.result B");
  vt_client_free (a);
  vt_client_free (b);
}

/* A run published while its device is offline is kept and delivered
 * when the device connects. */
static void
test_offline_device_gets_run_on_connect (VtFleet *f, gconstpointer data)
{
  VtClient *c = NULL;
  g_autofree char *body = NULL;

  vt_fleet_publish_run (f, "dev-c", "run-c-1", "{\"for\":\"c\"}", FALSE);
  g_assert_cmpuint (vt_fleet_consumer_pending (f, "dev-c"), ==, 1);
  c = vt_client_connect (f, "dev-c");
  body = vt_fetch_one_run (c, "dev-c");
  g_assert_cmpstr (body, ==, "{\"for\":\"c\"}");
  g_assert_cmpuint (vt_fleet_consumer_pending (f, "dev-c"), ==, 0);
  vt_client_free (c);
}

/* The same run id published twice (a console retrying) is stored once. */
static void
test_run_deduplicated_by_id (VtFleet *f, gconstpointer data)
{
  VtClient *a = NULL;
  g_autofree char *body = NULL;

  vt_fleet_publish_run (f, "dev-a", "task-7.round-3.dev-a", "{\"try\":1}", FALSE);
  vt_fleet_publish_run (f, "dev-a", "task-7.round-3.dev-a", "{\"try\":2}", TRUE);
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_RUNS, NULL), ==, 1);
  g_assert_cmpuint (vt_fleet_consumer_pending (f, "dev-a"), ==, 1);
  a = vt_client_connect (f, "dev-a");
  body = vt_fetch_one_run (a, "dev-a");
  g_assert_cmpstr (body, ==, "{\"try\":1}");
  g_assert_cmpuint (vt_fleet_consumer_pending (f, "dev-a"), ==, 0);
  vt_client_free (a);
}

/* A run withdrawn before its device took it is never delivered; one its
 * device took is gone already, and withdrawing it is no error. A publish
 * repeated under the same id gives the first one's sequence. */
static void
test_run_withdrawn (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *subject = vigil_fleet_subject_run ("dev-a");
  g_autofree char *body = NULL;
  guint64 seq = 0, again = 0, taken = 0;
  gboolean gone = FALSE, duplicate = FALSE;
  VtClient *a = NULL;

  g_assert_true (vigil_fleet_publish_seq (f->console->js, subject, "t.1", "{\"run\":1}", 9,
                                          &seq, NULL, &error));
  g_assert_true (vigil_fleet_publish_seq (f->console->js, subject, "t.1", "{\"run\":1}", 9,
                                          &again, &duplicate, &error));
  g_assert_no_error (error);
  g_assert_true (duplicate);
  g_assert_cmpuint (seq, >, 0);
  g_assert_cmpuint (again, ==, seq);
  g_assert_true (vigil_fleet_publish_seq (f->console->js, subject, "t.2", "{\"run\":2}", 9,
                                          &taken, NULL, &error));
  g_assert_true (vigil_fleet_run_withdraw (f->console->js, seq, &gone, &error));
  g_assert_no_error (error);
  g_assert_true (gone);

  a = vt_client_connect (f, "dev-a");
  body = vt_fetch_one_run (a, "dev-a");
  g_assert_cmpstr (body, ==, "{\"run\":2}");
  g_assert_cmpuint (vt_fleet_consumer_pending (f, "dev-a"), ==, 0);
  g_assert_true (vigil_fleet_run_withdraw (f->console->js, taken, &gone, &error));
  g_assert_no_error (error);
  g_assert_false (gone);
  vt_client_free (a);
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add ("/fleet/delivery/" name, VtFleet, NULL, vt_fleet_fixture_setup, fn, \
              vt_fleet_fixture_teardown)
  ADD ("device-gets-its-run", test_device_gets_its_run);
  ADD ("console-reads-every-devices-reports", test_console_reads_every_devices_reports);
  ADD ("offline-device-gets-run-on-connect", test_offline_device_gets_run_on_connect);
  ADD ("run-deduplicated-by-id", test_run_deduplicated_by_id);
  ADD ("run-withdrawn", test_run_withdrawn);
#undef ADD
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
