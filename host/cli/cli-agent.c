/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil agent` on an endpoint. `agent enroll FILE` turns a one-time
 * enrollment file into the device's own credentials in the state folder
 * (STATE/agent/: its key, made here and never sent, the certificate the
 * console signed, the deployment CA and agent.json), then deletes the
 * spent file. `agent` runs the device's agent: it connects out to the
 * broker as the device, keeps trying while the broker is down (at start
 * too), and sends a heartbeat (plain NATS: it may be lost) with its agent
 * version and loaded plugins at every interval and on every (re)connect;
 * on SIGTERM or SIGINT it says "stopping" so the console shows it offline
 * at once. Its runs are fetched, executed and reported by agent-runs.c,
 * the console's settings followed by agent-settings.c, its certificate
 * renewed before it ends by agent-renew.c, and its broker's addresses
 * kept for its plugins and its connection by agent-broker.c.
 */
#include "cli-data.h"
#include "agent-broker.h"
#include "agent-renew.h"
#include "agent-runs.h"
#include "agent-settings.h"
#include "agent-events.h"
#include "fleet-config.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "vigil-version.h"

#include <string.h>
#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdio.h>

#define ENROLL_TIMEOUT_MS     30000
#define HEARTBEAT_DEFAULT_S   10
#define RECONNECT_WAIT_MS     500
#define STOP_FLUSH_MS         2000

/* ---- agent enroll ------------------------------------------------------ */

static gboolean
enroll_over_broker (VigilFleetEnrollmentFile *file, const char *request, char **reply,
                    GError **error)
{
  natsOptions *opts = vigil_fleet_bootstrap_options_new (file, error);
  natsConnection *nc = NULL;
  natsMsg *msg = NULL;
  g_autofree char *subject = NULL;
  natsStatus s;

  if (opts == NULL)
    return FALSE;
  s = natsConnection_Connect (&nc, opts);
  natsOptions_Destroy (opts);
  if (s != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "connecting to the broker with the "
                                  "enrollment file (spent, expired, or the broker not running?)");
      return FALSE;
    }
  subject = vigil_fleet_subject_enroll (file->enrollment);
  s = natsConnection_RequestString (&msg, nc, subject, request, ENROLL_TIMEOUT_MS);
  if (s == NATS_NO_RESPONDERS)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                 "the console is not answering enrollments (is 'vigil serve' running "
                 "with the fleet configured?)");
  else if (s != NATS_OK)
    vigil_fleet_set_nats_error (error, s, 0, "asking the console to enroll");
  else
    *reply = g_strndup (natsMsg_GetData (msg), (gsize) natsMsg_GetDataLength (msg));
  natsMsg_Destroy (msg);
  natsConnection_Destroy (nc);
  return s == NATS_OK;
}

static int
agent_enroll (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilFleetEnrollmentFile) file = NULL;
  g_autoptr (CliAgentIdentity) a = cli_agent_identity_paths (host);
  g_autofree char *request = NULL, *reply = NULL, *cert = NULL, *new_key = NULL;
  gboolean force = FALSE, keep = FALSE;
  const GOptionEntry entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Replace this state folder's credentials", NULL },
    { "keep-file", 0, 0, G_OPTION_ARG_NONE, &keep, "Do not delete the spent file", NULL },
    { NULL },
  };

  if (!cli_parse ("agent", "enroll FILE",
                  "Turn a one-time enrollment file into this device's credentials.",
                  entries, &argc, &argv) ||
      !cli_need_args ("agent", argc, 2, "agent enroll FILE [--force]"))
    return 2;
  if (g_file_test (a->json_path, G_FILE_TEST_EXISTS) && !force)
    {
      cli_error ("agent", "%s already holds an agent's credentials (--force replaces them)",
                 a->dir);
      return 2;
    }
  file = vigil_fleet_enrollment_file_read (argv[1], &error);
  if (file == NULL)
    return cli_fail ("agent", error);
  if (g_mkdir_with_parents (a->dir, 0700) != 0)
    {
      cli_error ("agent", "cannot create %s: %s", a->dir, g_strerror (errno));
      return 2;
    }
  /* The new key goes beside the current one until the console signed. */
  new_key = g_strconcat (a->key, ".new", NULL);
  request = vigil_fleet_enroll_request_new (file, new_key, &error);
  if (request == NULL || !enroll_over_broker (file, request, &reply, &error))
    {
      g_unlink (new_key);
      return cli_fail ("agent", error);
    }
  cert = vigil_fleet_enroll_reply_read (reply, strlen (reply), &error);
  a->device_id = g_strdup (file->device_id);
  a->broker_url = g_strdup (file->broker_url);
  a->enrollment = g_strdup (file->enrollment);
  if (cert == NULL ||
      !vigil_fleet_write_private_file (a->ca_crt, file->ca_pem, -1, &error) ||
      !vigil_fleet_write_private_file (a->crt, cert, -1, &error) ||
      g_rename (new_key, a->key) != 0 ||
      !cli_agent_identity_save (a, &error) ||
      /* Events from now on are the fleet's; what came before stays local. */
      !agent_events_start_here (host, &error))
    {
      g_unlink (new_key);
      if (error == NULL)
        return cli_error ("agent", "cannot store the key in %s: %s", a->key,
                          g_strerror (errno)), 2;
      return cli_fail ("agent", error);
    }
  /* The file is spent: its token is used and its bootstrap identity goes. */
  if (!keep && g_unlink (argv[1]) != 0)
    cli_error ("agent", "enrolled, but cannot delete the spent file %s: %s", argv[1],
               g_strerror (errno));
  if (globals->json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      json_object_set_string_member (o, "device", a->device_id);
      json_object_set_string_member (o, "broker", a->broker_url);
      json_object_set_string_member (o, "credentials", a->dir);
      json_node_set_object (node, o);
      vigil_json_print (node);
    }
  else
    vigil_print ("enrolled as device '%s' (broker %s); credentials in %s\n", a->device_id,
            a->broker_url, a->dir);
  vigil_fleet_process_shutdown ();
  return 0;
}

/* ---- the agent process ------------------------------------------------ */

typedef struct {
  VigilHost        *host;
  CliAgentIdentity *identity;
  natsConnection   *nc;
  GMainLoop        *loop;
  char             *subject;
  int               interval;
  AgentRuns        *runs;
  AgentRenew       *renew;
  AgentSettings    *settings;
} Agent;

static char *
heartbeat_body (Agent *agent, const char *status)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonArray) all = vigil_host_plugins (agent->host);
  JsonArray *plugins = json_array_new ();

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *p = json_array_get_object_element (all, i);
      JsonObject *k;

      /* The plugin's id is its name for machines ("ioc-scan"). */
      if (g_strcmp0 (json_object_get_string_member_with_default (p, "state", ""), "loaded") != 0 ||
          json_object_get_string_member_with_default (p, "id", NULL) == NULL)
        continue;
      k = json_object_new ();
      json_object_set_string_member (k, "name", json_object_get_string_member (p, "id"));
      json_object_set_string_member (k, "version",
                                     json_object_get_string_member_with_default (p, "version", "?"));
      json_array_add_object_element (plugins, k);
    }
  json_object_set_string_member (o, "device", agent->identity->device_id);
  json_object_set_string_member (o, "agent_version", VIGIL_VERSION);
  json_object_set_array_member (o, "plugins", plugins);
  json_object_set_int_member (o, "interval", agent->interval);
  json_object_set_string_member (o, "status", status);
  json_object_set_int_member (o, "sent", g_get_real_time ());
  json_node_set_object (node, o);
  return json_to_string (node, FALSE);
}

static void
send_heartbeat (Agent *agent, const char *status)
{
  g_autofree char *body = NULL;
  natsStatus s;

  /* While disconnected libnats would buffer it and send it late: a
   * heartbeat is worth nothing late. */
  if (agent->nc == NULL || natsConnection_Status (agent->nc) != NATS_CONN_STATUS_CONNECTED)
    return;
  body = heartbeat_body (agent, status);
  s = natsConnection_PublishString (agent->nc, agent->subject, body);
  if (s != NATS_OK)
    g_printerr ("vigil agent: heartbeat not sent: %s\n", natsStatus_GetText (s));
}

static gboolean
on_heartbeat_timer (gpointer data)
{
  send_heartbeat (data, "online");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_connected_main (gpointer data)
{
  send_heartbeat (data, "online");
  return G_SOURCE_REMOVE;
}

/* libnats' callbacks run on its threads: they log, and hand the work to
 * the main loop. */
static void
on_connected (natsConnection *nc, void *closure)
{
  Agent *agent = closure;
  char url[256] = "";

  natsConnection_GetConnectedUrl (nc, url, sizeof url);
  g_printerr ("vigil agent: connected to %s as device '%s'\n", url,
              agent->identity->device_id);
  g_idle_add (on_connected_main, agent);
}

static void
on_disconnected (natsConnection *nc, void *closure)
{
  g_printerr ("vigil agent: disconnected from the broker (%s); reconnecting\n",
              nats_GetLastError (NULL) ? nats_GetLastError (NULL) : "connection lost");
}

static void
on_async_error (natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
  const char *text = NULL;

  natsConnection_GetLastError (nc, &text);
  g_printerr ("vigil agent: the broker reports: %s\n", text ? text : natsStatus_GetText (err));
}

static gboolean
on_stop (gpointer data)
{
  Agent *agent = data;

  g_printerr ("vigil agent: stopping\n");
  send_heartbeat (agent, "stopping");
  if (natsConnection_Status (agent->nc) == NATS_CONN_STATUS_CONNECTED)
    natsConnection_FlushTimeout (agent->nc, STOP_FLUSH_MS);
  g_main_loop_quit (agent->loop);
  return G_SOURCE_CONTINUE;
}

static int
agent_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = NULL;
  g_auto (GStrv) broker_addresses = NULL;
  Agent agent = { host };
  int renew_days = AGENT_RENEW_DAYS_DEFAULT;
  natsOptions *opts = NULL;
  natsStatus s;
  guint ids[3];
  const GOptionEntry entries[] = {
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root,
      "The device's file system root (default /; lab and test agents)", "DIR" },
    { "heartbeat-interval", 0, 0, G_OPTION_ARG_INT, &agent.interval,
      "Seconds between heartbeats (default 10)", "S" },
    { "renew-days", 0, 0, G_OPTION_ARG_INT, &renew_days,
      "Renew the device certificate when fewer days are left (default 30)", "D" },
    { NULL },
  };

  agent.interval = HEARTBEAT_DEFAULT_S;
  if (!cli_parse ("agent", "", "Run this device's agent: connect to the fleet's broker "
                  "and report (enroll first with 'vigil agent enroll FILE').",
                  entries, &argc, &argv) ||
      !cli_need_args ("agent", argc, 1, "agent [--root DIR] [--heartbeat-interval S] | "
                      "agent enroll FILE"))
    return 2;
  if (agent.interval < 1 || agent.interval > 3600)
    {
      cli_error ("agent", "--heartbeat-interval must be 1 to 3600 seconds");
      return 2;
    }
  if (renew_days < 1 || renew_days > 3650)
    {
      cli_error ("agent", "--renew-days must be 1 to 3650");
      return 2;
    }
  if (root != NULL && !g_file_test (root, G_FILE_TEST_IS_DIR))
    {
      cli_error ("agent", "--root %s is not a folder", root);
      return 2;
    }
  agent.identity = cli_agent_identity_load (host, &error);
  if (agent.identity == NULL)
    return cli_fail ("agent", error);
  agent_renew_recover (agent.identity);
  /* The broker's addresses, for the plugins (VIGIL_MANAGEMENT_ENDPOINTS,
   * set before any thread) and for a connection that needs no DNS. */
  broker_addresses = agent_broker_prepare (agent.identity);
  opts = vigil_fleet_options_new (agent.identity->broker_url, agent.identity->ca_crt,
                                  agent.identity->crt, agent.identity->key,
                                  agent.identity->device_id, &error);
  if (opts != NULL
      && !agent_broker_add_servers (agent.identity, (const char *const *) broker_addresses, opts,
                                    &error))
    g_clear_pointer (&opts, natsOptions_Destroy);
  if (opts == NULL)
    {
      cli_agent_identity_free (agent.identity);
      return cli_fail ("agent", error);
    }
  /* An agent is a service: it never gives up on the broker, and a broker
   * that is down when the agent starts is just one more reconnection. */
  natsOptions_SetMaxReconnect (opts, -1);
  natsOptions_SetReconnectWait (opts, RECONNECT_WAIT_MS);
  natsOptions_SetRetryOnFailedConnect (opts, true, on_connected, &agent);
  natsOptions_SetReconnectedCB (opts, on_connected, &agent);
  natsOptions_SetDisconnectedCB (opts, on_disconnected, &agent);
  natsOptions_SetErrorHandler (opts, on_async_error, &agent);
  agent.subject = vigil_fleet_subject_live (agent.identity->device_id, "heartbeat");
  agent.loop = g_main_loop_new (NULL, FALSE);
  /* Caught from here on, before the connection: a SIGTERM during the
   * start (a service manager stopping it at once) waits for the loop
   * instead of killing the agent before it could say "stopping". */
  ids[0] = g_unix_signal_add (SIGINT, on_stop, &agent);
  ids[1] = g_unix_signal_add (SIGTERM, on_stop, &agent);

  g_printerr ("vigil agent: device '%s', broker %s, root %s\n", agent.identity->device_id,
              agent.identity->broker_url, root ? root : "/");
  s = natsConnection_Connect (&agent.nc, opts);
  if (s == NATS_OK)
    on_connected (agent.nc, &agent);
  else if (s == NATS_NOT_YET_CONNECTED)
    g_printerr ("vigil agent: the broker is not reachable yet; retrying\n");
  else
    {
      vigil_fleet_set_nats_error (&error, s, 0, "connecting to the broker");
      natsOptions_Destroy (opts);
      g_source_remove (ids[0]);
      g_source_remove (ids[1]);
      g_main_loop_unref (agent.loop);
      g_free (agent.subject);
      cli_agent_identity_free (agent.identity);
      return cli_fail ("agent", error);
    }
  agent.runs = agent_runs_new (host, agent.identity->device_id, root, agent.nc, &error);
  if (agent.runs == NULL)
    {
      natsConnection_Destroy (agent.nc);
      natsOptions_Destroy (opts);
      g_source_remove (ids[0]);
      g_source_remove (ids[1]);
      g_main_loop_unref (agent.loop);
      g_free (agent.subject);
      cli_agent_identity_free (agent.identity);
      return cli_fail ("agent", error);
    }
  agent.renew = agent_renew_new (agent.identity, opts, agent.nc, renew_days);
  agent.settings = agent_settings_new (host, agent.identity->device_id, agent.nc);
  ids[2] = g_timeout_add_seconds ((guint) agent.interval, on_heartbeat_timer, &agent);
  g_main_loop_run (agent.loop);
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  /* Closed before the runs reader is joined: its pull waits up to 30 s
   * for a run (agent-runs.c), and a closed connection ends it at once.
   * Nothing is sent after this point ("stopping" went out in on_stop). */
  natsConnection_Close (agent.nc);
  agent_renew_free (agent.renew);
  agent_settings_free (agent.settings);
  agent_runs_free (agent.runs);
  natsConnection_Destroy (agent.nc);
  agent.nc = NULL;
  natsOptions_Destroy (opts);
  /* Connection callbacks may have queued work for the loop. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_main_loop_unref (agent.loop);
  g_free (agent.subject);
  cli_agent_identity_free (agent.identity);
  vigil_fleet_process_shutdown ();
  g_printerr ("vigil agent: stopped\n");
  return 0;
}

static int
agent_main (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  if (argc > 1 && g_str_equal (argv[1], "enroll"))
    return agent_enroll (host, globals, argc - 1, argv + 1);
  return agent_run (host, globals, argc, argv);
}

const CliCommand cli_agent = {
  "agent", "Run this device's agent of the fleet, or enroll it",
  "[--root DIR] [--heartbeat-interval S] [--renew-days D] | enroll FILE [--force] [--keep-file]",
  agent_main,
};
