/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streams' bounds on a real nats-server: VIGIL_REPORTS keeps limits
 * retention, and the console trims it below its consumer's
 * acknowledgement floor (vigil_fleet_reports_trim), so what the console
 * acknowledged is gone and nothing it has not acknowledged is lost.
 */
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "vt-fleet.h"

#include <string.h>

#define N_REPORTS 4

static uint64_t
reports_left (VtFleet *f)
{
  return vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, NULL);
}

static guint64
trim (VtFleet *f)
{
  g_autoptr (GError) error = NULL;
  guint64 floor = 0;

  g_assert_true (vigil_fleet_reports_trim (f->console->js, &floor, &error));
  g_assert_no_error (error);
  return floor;
}

/* Reports 1..4 from a device; the console reads three, acknowledges the
 * first and third, and not yet the second. Trimming removes the first
 * only: the second is unacknowledged, and the third and fourth lie above
 * it. Once the second and then the fourth are acknowledged, all go. */
static void
test_acknowledged_reports_trimmed (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  g_autofree char *subject = vigil_fleet_subject_report ("dev-a", "event");
  natsSubscription *sub = NULL;
  natsMsgList list = { 0 }, last = { 0 };
  jsErrCode jerr = 0;

  for (int i = 1; i <= N_REPORTS; i++)
    {
      g_autofree char *id = g_strdup_printf ("a-%d", i);
      g_assert_true (vigil_fleet_publish (a->js, subject, id, "{}", 2, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (reports_left (f), ==, N_REPORTS);
  /* Nothing acknowledged: nothing goes. */
  g_assert_cmpuint (trim (f), ==, 0);
  g_assert_cmpuint (reports_left (f), ==, N_REPORTS);

  sub = vigil_fleet_console_reports_subscribe (f->console->js, &error);
  g_assert_no_error (error);
  g_assert_cmpint (natsSubscription_Fetch (&list, sub, 3, VT_BROKER_WAIT_S * 1000, &jerr), ==,
                   NATS_OK);
  g_assert_cmpint (list.Count, ==, 3);
  g_assert_cmpint (natsMsg_AckSync (list.Msgs[0], NULL, &jerr), ==, NATS_OK);
  g_assert_cmpint (natsMsg_AckSync (list.Msgs[2], NULL, &jerr), ==, NATS_OK);
  g_assert_cmpuint (trim (f), ==, 1);
  g_assert_cmpuint (reports_left (f), ==, N_REPORTS - 1);

  g_assert_cmpint (natsMsg_AckSync (list.Msgs[1], NULL, &jerr), ==, NATS_OK);
  g_assert_cmpuint (trim (f), ==, 3);
  g_assert_cmpuint (reports_left (f), ==, 1);
  g_assert_cmpuint (vt_fleet_stream_msgs (f, VIGIL_FLEET_STREAM_REPORTS, subject), ==, 1);

  g_assert_cmpint (natsSubscription_Fetch (&last, sub, 1, VT_BROKER_WAIT_S * 1000, &jerr), ==,
                   NATS_OK);
  g_assert_cmpint (natsMsg_AckSync (last.Msgs[0], NULL, &jerr), ==, NATS_OK);
  g_assert_cmpuint (trim (f), ==, N_REPORTS);
  g_assert_cmpuint (reports_left (f), ==, 0);

  /* De-duplication outlives the trim: a report re-sent after a crash is
   * not stored again. */
  {
    gboolean duplicate = FALSE;

    g_assert_true (vigil_fleet_publish (a->js, subject, "a-4", "{}", 2, &duplicate, &error));
    g_assert_no_error (error);
    g_assert_true (duplicate);
    g_assert_cmpuint (reports_left (f), ==, 0);
  }
  natsMsgList_Destroy (&list);
  natsMsgList_Destroy (&last);
  natsSubscription_Destroy (sub);
  vt_client_free (a);
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/streams/acknowledged-reports-trimmed", VtFleet, NULL,
              vt_fleet_fixture_setup, test_acknowledged_reports_trimmed,
              vt_fleet_fixture_teardown);
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
