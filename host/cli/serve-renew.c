/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's answer to an agent renewing its device certificate before
 * it expires (agent-renew.c), in `vigil serve`. The request comes on
 * vigil.dev.<id>.renew, which only the device itself may publish to, with
 * a certificate request for a key the agent just made: {"csr": PEM}. The
 * console signs it for the device's current enrollment, so the new
 * certificate names the same identity URI and maps to the same broker
 * user: no reload, and revoking the device refuses old and new alike. A
 * device not enrolled (pending, revoked, removed) is refused. The reply
 * has the enrollment reply's form ({certificate} or {refused}).
 */
#include "serve-renew.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-pki.h"

#include <string.h>

static void
answer (natsConnection *nc, natsMsg *msg, const char *cert, const char *refusal)
{
  g_autofree char *body = vigil_fleet_enroll_reply_new (cert, refusal);
  natsConnection_PublishString (nc, natsMsg_GetReply (msg), body);
}

void
serve_renew_handle (VigilHost *host, VigilFleetCa *ca, natsConnection *nc, natsMsg *msg)
{
  g_auto (GStrv) tokens = g_strsplit (natsMsg_GetSubject (msg), ".", 8);
  const char *device = g_strv_length (tokens) == 4 ? tokens[2] : NULL;
  g_autoptr (JsonObject) agent = NULL, request = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert = NULL;
  const char *csr;

  if (natsMsg_GetReply (msg) == NULL || device == NULL
      || !vigil_fleet_device_id_check (device, NULL))
    return;
  agent = vigil_host_device_agent (host, device, NULL);
  if (agent == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (agent, "state", ""),
                    "enrolled") != 0)
    {
      g_printerr ("vigil serve: fleet: certificate renewal of device '%s' refused: not "
                  "enrolled\n", device);
      answer (nc, msg, NULL, "this device is not enrolled");
      return;
    }
  request = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                            natsMsg_GetSubject (msg), &error);
  csr = request ? json_object_get_string_member_with_default (request, "csr", NULL) : NULL;
  if (csr == NULL)
    {
      g_printerr ("vigil serve: fleet: certificate renewal of device '%s' refused: %s\n", device,
                  error ? error->message : "no csr");
      answer (nc, msg, NULL, "a renewal request is {\"csr\": PEM}");
      return;
    }
  /* The identity stays the enrollment's: the same broker user. */
  cert = vigil_fleet_ca_sign_device (ca, device,
                                     json_object_get_string_member (agent, "enrollment"), csr,
                                     -1, &error);
  if (cert == NULL)
    {
      g_printerr ("vigil serve: fleet: certificate renewal of device '%s' refused: %s\n", device,
                  error->message);
      answer (nc, msg, NULL, error->message);
      return;
    }
  answer (nc, msg, cert, NULL);
  g_printerr ("vigil serve: fleet: certificate of device '%s' renewed\n", device);
}
