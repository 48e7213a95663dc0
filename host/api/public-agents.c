/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's record of each device's agent (the fleet, #13): a
 * console application starts, completes and revokes enrollments and
 * stores agents' heartbeats here; `vigil device list/show` read it. Thin
 * wrappers over the inventory layer (host/inventory/device-agents.c).
 */
#include "api-private.h"
#include "host-private.h"

gboolean
vigil_host_begin_device_enrollment (VigilHost *host, const char *device_id,
                                    const char *enrollment, const char *token_sha256,
                                    gint64 expires, GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  return vh_device_agent_begin (host, device_id, enrollment, token_sha256, expires, error);
}

gboolean
vigil_host_complete_device_enrollment (VigilHost *host, const char *device_id,
                                       const char *enrollment, GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  return vh_device_agent_complete (host, device_id, enrollment, error);
}

gboolean
vigil_host_revoke_device_agent (VigilHost *host, const char *device_id, GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  return vh_device_agent_revoke (host, device_id, error);
}

gboolean
vigil_host_record_device_heartbeat (VigilHost *host, const char *device_id,
                                    JsonObject *heartbeat, GError **error)
{
  g_return_val_if_fail (host != NULL && heartbeat != NULL, FALSE);
  return vh_device_agent_heartbeat (host, device_id, heartbeat, error);
}

JsonObject *
vigil_host_device_agent (VigilHost *host, const char *device_id, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_device_agent (host, device_id, error);
}

JsonArray *
vigil_host_device_agents (VigilHost *host, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_device_agents (host, error);
}
