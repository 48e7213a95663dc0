/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The broker's limits on a device's connection, against a real
 * nats-server with the configuration Vigil generates: a message larger
 * than VIGIL_FLEET_BROKER_MAX_PAYLOAD cannot be published, and subscribing
 * past VIGIL_FLEET_BROKER_MAX_SUBS is refused by the broker (and libnats
 * closes that connection), while the other devices go on working. (nats-server 2.9 has no message rates to
 * limit: docs/fleet.md, Failure semantics, says what is and is not
 * bounded.)
 */
#include "vt-fleet.h"
#include "fleet-broker.h"
#include "fleet-subjects.h"

#include <string.h>

static void
test_max_payload (VtFleet *fleet, gconstpointer data)
{
  VtClient *dev = vt_client_connect (fleet, "dev-a");
  g_autofree char *subject = vigil_fleet_subject_report ("dev-a", "event");
  gsize big = VIGIL_FLEET_BROKER_MAX_PAYLOAD + 1;
  g_autofree char *body = g_malloc0 (big);

  /* The broker announces its limit; the client holds to it. */
  g_assert_cmpint (natsConnection_GetMaxPayload (dev->nc), ==, VIGIL_FLEET_BROKER_MAX_PAYLOAD);
  g_assert_cmpint (natsConnection_Publish (dev->nc, subject, body, (int) big), ==,
                   NATS_MAX_PAYLOAD);
  g_assert_cmpint (natsConnection_Publish (dev->nc, subject, body, 1024), ==, NATS_OK);
  g_assert_cmpint (natsConnection_FlushTimeout (dev->nc, 5000), ==, NATS_OK);
  vt_client_free (dev);
}

static void
test_max_subscriptions (VtFleet *fleet, gconstpointer data)
{
  VtClient *dev = vt_client_connect (fleet, "dev-a");
  VtClient *other = vt_client_connect (fleet, "dev-b");
  g_autoptr (GPtrArray) subs = g_ptr_array_new_with_free_func (
                                 (GDestroyNotify) natsSubscription_Destroy);
  g_autofree char *beat = vigil_fleet_subject_live ("dev-b", "heartbeat");

  /* Its own inbox is the one thing it may subscribe to; past the limit,
   * the broker refuses. */
  for (int i = 0; i < VIGIL_FLEET_BROKER_MAX_SUBS + 8; i++)
    {
      g_autofree char *subject = g_strdup_printf ("vigil.inbox.dev-a.flood.%d", i);
      natsSubscription *sub = NULL;

      g_assert_cmpint (natsConnection_SubscribeSync (&sub, dev->nc, subject), ==, NATS_OK);
      g_ptr_array_add (subs, sub);
    }
  /* libnats closes a connection on this error from the broker. */
  vt_client_wait_closed (dev);
  {
    const char *text = NULL;

    natsConnection_GetLastError (dev->nc, &text);
    g_assert_nonnull (text);
    if (strstr (text, "maximum subscriptions exceeded") == NULL)
      g_error ("closed, but not for its subscriptions: %s", text);
  }

  /* Another device is not affected. */
  g_assert_cmpint (natsConnection_PublishString (other->nc, beat, "{}"), ==, NATS_OK);
  g_assert_cmpint (natsConnection_FlushTimeout (other->nc, 5000), ==, NATS_OK);
  g_ptr_array_set_size (subs, 0);
  vt_client_free (other);
  vt_client_free (dev);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/limits/max-payload", VtFleet, NULL, vt_fleet_fixture_setup,
              test_max_payload, vt_fleet_fixture_teardown);
  g_test_add ("/fleet/limits/max-subscriptions", VtFleet, NULL, vt_fleet_fixture_setup,
              test_max_subscriptions, vt_fleet_fixture_teardown);
  return g_test_run ();
}
