/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the event envelope and payload parser: the code that
 * reads events from `vigil event emit` files, the serve socket and the
 * serve inbox. Any input must give either an envelope whose fields hold
 * the documented invariants or an error with a message; never a crash.
 */
#include <stdint.h>
#include "tasks/tasks-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VhEventEnvelope) envelope = NULL;
  g_autoptr (JsonObject) payload = NULL;

  envelope = vh_event_envelope_parse ((const char *) data, (gssize) size, "fuzz", &error);
  if (envelope != NULL)
    {
      g_assert (vh_event_type_valid (envelope->type, NULL));
      g_assert (envelope->device_id == NULL || vh_event_device_valid (envelope->device_id, NULL));
      g_assert (envelope->payload_version >= 1);
      g_assert (envelope->payload != NULL);
    }
  else
    g_assert (error != NULL && error->message[0] != '\0');

  g_clear_error (&error);
  payload = vh_event_payload_parse ((const char *) data, (gssize) size, "fuzz", &error);
  g_assert ((payload != NULL) != (error != NULL));
  return 0;
}
