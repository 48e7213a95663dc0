/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Evidence parts from agents (docs/fleet.md "Evidence"): each report on
 * vigil.dev.<id>.out.evidence is one part of a retrieved file, parsed by
 * the host's bounded parser and kept by vigil_host_evidence_receive,
 * durably, before it is acknowledged; the part that completes a file has
 * the console put it together, check it against its SHA-256 and list it.
 * The device is the one the subject names. A part the host refuses
 * (malformed, a file that does not match its hash, a device without an
 * enrolled agent) is terminated; one it could not keep is redelivered.
 */
#include "serve-evidence.h"

void
serve_evidence_handle (Serve *serve, natsMsg *msg, const char *device)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) report = NULL, stored = NULL;
  gboolean ok;

  report = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                           natsMsg_GetSubject (msg), &error);
  ok = report != NULL
       && vigil_host_evidence_receive (serve->host, device, report, &stored, &error);
  if (ok)
    natsMsg_Ack (msg, NULL);
  else if (g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID)
           || g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND))
    {
      g_printerr ("vigil serve: fleet: evidence part of device '%s' refused: %s\n", device,
                  error->message);
      natsMsg_Term (msg, NULL);
    }
  else
    {
      g_printerr ("vigil serve: fleet: evidence part of device '%s' not kept, will come "
                  "again: %s\n", device, error->message);
      natsMsg_Nak (msg, NULL);
    }
  if (stored != NULL)
    g_printerr ("vigil serve: fleet: evidence %s (%s, %" G_GINT64_FORMAT " bytes) of device "
                "'%s' stored\n", json_object_get_string_member (stored, "id"),
                json_object_get_string_member (stored, "path"),
                json_object_get_int_member (stored, "size"), device);
}
