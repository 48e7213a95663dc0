/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which runs leave the console (the fleet, #13): in a state folder with a
 * fleet, every `vigil` process registers this dispatcher, which takes the
 * runs of devices that have an enrolled agent. A taken run is only stored
 * "dispatched" here; `vigil serve` publishes every dispatched run to the
 * device (serve-runs.c), so a run started by `vigil task run` in another
 * process reaches its agent just the same, and one taken while the broker
 * was down is published once it is back. Without a fleet nothing is
 * registered and every run executes in-process, as before.
 */
#include "fleet-config.h"

static gboolean
take_agent_runs (VigilHost *host, JsonObject *run, gpointer user_data)
{
  g_autoptr (JsonObject) agent =
      vigil_host_device_agent (host, json_object_get_string_member (run, "device"), NULL);

  return agent != NULL && g_strcmp0 (json_object_get_string_member (agent, "state"),
                                     "enrolled") == 0;
}

void
cli_fleet_dispatch_install (VigilHost *host)
{
  if (cli_fleet_configured (host))
    vigil_host_set_run_dispatcher (host, take_agent_runs, NULL);
}
