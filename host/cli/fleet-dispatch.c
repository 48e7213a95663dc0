/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which runs leave the console (the fleet, #13): in a state folder with a
 * fleet, every `vigil` process registers this dispatcher, which takes the
 * runs of devices that have an enrolled agent. A taken run is only stored
 * "dispatched" here; `vigil serve` publishes every dispatched run to the
 * device (serve-runs.c), so a run started by `vigil task run` in another
 * process reaches its agent just the same (at the publisher's next tick),
 * and one taken while the broker was down is published once it is back.
 * A run taken in `vigil serve` itself wakes its publisher at once. Without a fleet nothing is
 * registered and every run executes in-process, as before. A device cut
 * off (revoked) will never report again: its open runs are closed here.
 * In an agent's state folder the plugins' event handlers are off: its
 * events are forwarded and handled by the console (agent-events.c).
 */
#include "fleet-config.h"

/* The process's publisher, when it has one (`vigil serve`). */
static void   (*taken_func) (gpointer data);
static gpointer taken_data;

static gboolean
take_agent_runs (VigilHost *host, JsonObject *run, gpointer user_data)
{
  g_autoptr (JsonObject) agent =
      vigil_host_device_agent (host, json_object_get_string_member (run, "device"), NULL);
  gboolean taken = agent != NULL && g_strcmp0 (json_object_get_string_member (agent, "state"),
                                               "enrolled") == 0;

  /* Stored "dispatched" already (the host does it before asking). */
  if (taken && taken_func != NULL)
    taken_func (taken_data);
  return taken;
}

void
cli_fleet_dispatch_on_taken (void (*func) (gpointer data), gpointer data)
{
  taken_func = func;
  taken_data = data;
}

void
cli_fleet_dispatch_install (VigilHost *host)
{
  g_autoptr (CliAgentIdentity) agent = cli_agent_identity_paths (host);

  if (cli_fleet_configured (host))
    vigil_host_set_run_dispatcher (host, take_agent_runs, NULL);
  /* An agent's state folder: every process on it (the agent, `vigil
   * event emit`, `vigil task run`) stores events for the agent to forward,
   * and the console's handlers answer them. Handlers here as well would
   * respond twice (and the agent's store has no policy of the console). */
  if (g_file_test (agent->json_path, G_FILE_TEST_EXISTS))
    vigil_host_set_event_handlers (host, FALSE);
}

guint
cli_fleet_fail_device_runs (VigilHost *host, const char *device_id, const char *why)
{
  g_autoptr (JsonArray) runs = vigil_host_runs_after (host, 0, NULL);
  guint failed = 0;

  for (guint i = 0; runs != NULL && i < json_array_get_length (runs); i++)
    {
      JsonObject *run = json_array_get_object_element (runs, i);
      const char *state = json_object_get_string_member (run, "state");
      g_autoptr (JsonObject) report = NULL;
      g_autoptr (GError) error = NULL;

      if (g_strcmp0 (json_object_get_string_member (run, "device"), device_id) != 0
          || !(g_strcmp0 (state, "dispatched") == 0 || g_strcmp0 (state, "running") == 0))
        continue;
      /* The console ends it as the device would have: once, with events. */
      report = json_object_new ();
      json_object_set_int_member (report, "run", json_object_get_int_member (run, "id"));
      json_object_set_string_member (report, "state", "failed");
      json_object_set_string_member (report, "error", why);
      if (vigil_host_record_run_report (host, device_id, report, &error))
        failed++;
      else
        cli_error ("device", "run %" G_GINT64_FORMAT " not closed: %s",
                   json_object_get_int_member (run, "id"), error->message);
    }
  return failed;
}
