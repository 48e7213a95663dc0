/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's side of the fleet in `vigil serve`, when the state folder
 * has a fleet configured (`vigil fleet init`): it connects to the broker
 * as the console (and keeps reconnecting), sets up the JetStream layout,
 * answers enrollment requests (token checked against the stored hash, the
 * device's CSR signed, its consumers created, the token spent, the broker
 * reloaded), renews device certificates (serve-renew.c) and records
 * heartbeats; progress ticks, runs and reports go through
 * serve-runs.c, devices' settings through serve-settings.c. Messages
 * arrive on libnats' threads and are handled on the main loop, where the
 * host is used; heartbeats wait there the latest of each device only
 * (latest-queue.h), so a flood of them costs no memory. The device a
 * message is from is the one its subject names: the broker lets a device
 * publish under its own id only.
 */
#include "serve.h"
#include "fleet-config.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "serve-cancel.h"
#include "latest-queue.h"
#include "serve-renew.h"
#include "serve-runs.h"
#include "serve-settings.h"

#include <stdio.h>
#include <string.h>

#define RECONNECT_WAIT_MS  500
/* First heartbeats within this long share one broker reload. */
#define RELOAD_COALESCE_MS 250
/* Far above a heartbeat or an enrollment request (a CSR and a token). */
#define MAX_MESSAGE_BYTES  (64 * 1024)
/* Heartbeats waiting for the main loop: one per device (the latest), for
 * at most this many devices (docs/fleet.md, Limits on device subjects). */
#define MAX_HEARTBEAT_DEVICES 65536

struct _ServeFleet {
  Serve            *serve;
  CliFleet         *config;
  VigilFleetCa     *ca;
  natsOptions      *opts;
  natsConnection   *nc;
  jsCtx            *js;
  natsSubscription *enroll_sub, *heartbeat_sub, *renew_sub, *progress_sub;
  gboolean          layout_ready;  /* set up since the last (re)connection */
  ServeRuns        *runs;          /* runs out, reports in (serve-runs.c) */
  ServeCancel      *cancel;        /* runs cancelled on their agents (serve-cancel.c) */
  ServeSettings    *settings;      /* devices' settings out (serve-settings.c) */
  guint             publish_id;    /* the publisher's timer (runs of other processes) */
  guint             wake_id;       /* the publisher woken: a run taken here */
  guint             reload_id;     /* a broker reload due (first heartbeats) */
  CliLatestQueue   *heartbeats;    /* device -> its latest heartbeat (natsMsg) */
};

typedef struct {
  ServeFleet *fleet;
  natsMsg    *msg;
} Delivery;

/* The subject's token @index (0-based), or NULL. (transfer full) */
static char *
subject_token (const char *subject, guint index)
{
  g_auto (GStrv) tokens = g_strsplit (subject, ".", 8);
  return index < g_strv_length (tokens) ? g_strdup (tokens[index]) : NULL;
}

/* ---- set-up on every (re)connection ------------------------------------ */

static gboolean
ensure_layout (ServeFleet *fleet, GError **error)
{
  g_autoptr (JsonArray) agents = NULL;

  if (fleet->layout_ready)
    return TRUE;
  if (!vigil_fleet_layout_ensure (fleet->js, error))
    return FALSE;
  fleet->layout_ready = TRUE;
  /* Idempotent: puts back what a wiped broker store lost. */
  agents = vigil_host_device_agents (fleet->serve->host, NULL);
  for (guint i = 0; agents && i < json_array_get_length (agents); i++)
    {
      JsonObject *a = json_array_get_object_element (agents, i);
      g_autoptr (GError) local = NULL;

      if (g_str_equal (json_object_get_string_member (a, "state"), "enrolled") &&
          !vigil_fleet_device_consumers_ensure (fleet->js, json_object_get_string_member (a, "device"),
                                                &local))
        g_printerr ("vigil serve: fleet: %s\n", local->message);
    }
  return TRUE;
}

static gboolean
on_connected_main (gpointer data)
{
  ServeFleet *fleet = data;
  g_autoptr (GError) error = NULL;

  fleet->layout_ready = FALSE;
  if (!ensure_layout (fleet, &error))
    g_printerr ("vigil serve: fleet: cannot set up the streams: %s\n", error->message);
  else if (fleet->runs != NULL)
    serve_runs_reconnected (fleet->runs);
  if (fleet->layout_ready)
    serve_settings_reconnected (fleet->settings);
  return G_SOURCE_REMOVE;
}

static void
on_connected (natsConnection *nc, void *closure)
{
  ServeFleet *fleet = closure;
  char url[256] = "";

  natsConnection_GetConnectedUrl (nc, url, sizeof url);
  g_printerr ("vigil serve: fleet: connected to the broker at %s\n", url);
  /* Queued, never run in place: the first call comes before the JetStream
   * context exists. */
  g_idle_add (on_connected_main, fleet);
}

static void
on_disconnected (natsConnection *nc, void *closure)
{
  g_printerr ("vigil serve: fleet: disconnected from the broker; reconnecting\n");
}

/* ---- enrollment --------------------------------------------------------- */

static void
reply (ServeFleet *fleet, natsMsg *msg, const char *cert, const char *refusal)
{
  g_autofree char *body = vigil_fleet_enroll_reply_new (cert, refusal);
  natsConnection_PublishString (fleet->nc, natsMsg_GetReply (msg), body);
  /* Sent before anything reloads the broker. */
  natsConnection_FlushTimeout (fleet->nc, 5000);
}

static void
handle_enroll (ServeFleet *fleet, natsMsg *msg)
{
  VigilHost *host = fleet->serve->host;
  g_autofree char *enrollment = subject_token (natsMsg_GetSubject (msg), 2);
  g_autoptr (JsonArray) agents = vigil_host_device_agents (host, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *cert = NULL;
  VigilFleetPendingEnrollment pending = { 0 };

  if (natsMsg_GetReply (msg) == NULL || enrollment == NULL ||
      !vigil_fleet_enrollment_check (enrollment, NULL))
    return;
  for (guint i = 0; agents && i < json_array_get_length (agents); i++)
    {
      JsonObject *a = json_array_get_object_element (agents, i);
      if (g_str_equal (json_object_get_string_member (a, "state"), "pending") &&
          g_str_equal (json_object_get_string_member (a, "enrollment"), enrollment))
        {
          pending.device_id = (char *) json_object_get_string_member (a, "device");
          pending.enrollment = (char *) json_object_get_string_member (a, "enrollment");
          pending.token_sha256 = (char *) json_object_get_string_member (a, "token_sha256");
          pending.expires = json_object_get_int_member (a, "expires");
        }
    }
  if (pending.device_id == NULL)
    {
      g_printerr ("vigil serve: fleet: enrollment %s refused: not pending (spent or replaced)\n",
                  enrollment);
      reply (fleet, msg, NULL, "this enrollment is not pending any more (already used, "
                               "replaced or revoked): ask for a new enrollment file");
      return;
    }
  cert = vigil_fleet_enroll_answer (fleet->ca, &pending, natsMsg_GetData (msg),
                                    (gsize) natsMsg_GetDataLength (msg),
                                    vigil_host_now (host) / G_USEC_PER_SEC, &error);
  /* A request may come before the set-up after a (re)connection ran. */
  if (cert == NULL || !ensure_layout (fleet, &error) ||
      !vigil_fleet_device_consumers_ensure (fleet->js, pending.device_id, &error) ||
      /* Spends the token, once, before the certificate leaves. */
      !vigil_host_complete_device_enrollment (host, pending.device_id, pending.enrollment,
                                              &error))
    {
      g_printerr ("vigil serve: fleet: enrollment of device '%s' refused: %s\n",
                  pending.device_id, error->message);
      reply (fleet, msg, NULL, error->message);
      return;
    }
  reply (fleet, msg, cert, NULL);
  g_printerr ("vigil serve: fleet: device '%s' enrolled\n", pending.device_id);
  serve_settings_enrolled (fleet->settings, pending.device_id);
  g_clear_error (&error);
  if (!cli_fleet_sync_broker (fleet->config, host, NULL, &error))
    g_printerr ("vigil serve: fleet: cannot update the broker: %s\n", error->message);
}

/* ---- heartbeats ---------------------------------------------------------- */

static gboolean
on_reload_due (gpointer data)
{
  ServeFleet *fleet = data;
  g_autoptr (GError) error = NULL;

  fleet->reload_id = 0;
  if (!cli_fleet_sync_broker (fleet->config, fleet->serve->host, NULL, &error))
    g_printerr ("vigil serve: fleet: cannot update the broker: %s\n", error->message);
  return G_SOURCE_REMOVE;
}

static void
handle_heartbeat (ServeFleet *fleet, natsMsg *msg)
{
  VigilHost *host = fleet->serve->host;
  g_autofree char *device = subject_token (natsMsg_GetSubject (msg), 2);
  g_autoptr (JsonObject) heartbeat = NULL, before = NULL, after = NULL;
  g_autoptr (GError) error = NULL;

  if (device == NULL || !vigil_fleet_device_id_check (device, NULL))
    return;
  /* The host's parser for untrusted payloads: size and nesting bounded
   * before json-glib (which recurses) sees it. */
  heartbeat = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                              natsMsg_GetSubject (msg), &error);
  if (heartbeat == NULL)
    {
      g_printerr ("vigil serve: fleet: heartbeat of device '%s' refused: %s\n", device,
                  error->message);
      return;
    }
  before = vigil_host_device_agent (host, device, NULL);
  if (!vigil_host_record_device_heartbeat (host, device, heartbeat, &error))
    {
      g_printerr ("vigil serve: fleet: %s\n", error->message);
      return;
    }
  after = vigil_host_device_agent (host, device, NULL);
  if (before == NULL || after == NULL)
    return;
  if (json_object_get_boolean_member (before, "online") !=
      json_object_get_boolean_member (after, "online"))
    g_printerr ("vigil serve: fleet: device '%s' is %s (agent %s)\n", device,
                json_object_get_boolean_member (after, "online") ? "online" : "offline",
                json_object_get_string_member (after, "agent_version"));
  /* The device connected as itself: its bootstrap identity can go, in one
   * reload with the other devices' first heartbeats of the moment (a mass
   * enrollment would reload the broker once per device otherwise). */
  if (json_object_get_null_member (before, "last_seen") && fleet->reload_id == 0)
    fleet->reload_id = g_timeout_add (RELOAD_COALESCE_MS, on_reload_due, fleet);
}

static gboolean
on_message_main (gpointer data)
{
  Delivery *d = data;
  const char *subject = natsMsg_GetSubject (d->msg);

  if (natsMsg_GetDataLength (d->msg) > MAX_MESSAGE_BYTES)
    g_printerr ("vigil serve: fleet: message on %s dropped: larger than %d bytes\n", subject,
                MAX_MESSAGE_BYTES);
  else if (g_str_has_prefix (subject, "vigil.enroll."))
    handle_enroll (d->fleet, d->msg);
  else if (g_str_has_suffix (subject, ".renew"))
    serve_renew_handle (d->fleet->serve->host, d->fleet->ca, d->fleet->nc, d->msg);
  else if (g_str_has_suffix (subject, ".live.progress"))
    {
      g_autofree char *device = subject_token (subject, 2);

      if (device != NULL && vigil_fleet_device_id_check (device, NULL) && d->fleet->runs != NULL)
        serve_runs_progress (d->fleet->runs, device, natsMsg_GetData (d->msg),
                             natsMsg_GetDataLength (d->msg));
    }
  return G_SOURCE_REMOVE;
}

static void
delivery_free (gpointer data)
{
  Delivery *d = data;
  natsMsg_Destroy (d->msg);
  g_free (d);
}

/* The heartbeats queued since the last time, the latest of each device. */
static gboolean
on_heartbeats_main (gpointer data)
{
  ServeFleet *fleet = data;
  g_autoptr (GPtrArray) beats = cli_latest_queue_take (fleet->heartbeats);

  for (guint i = 0; i < beats->len; i++)
    handle_heartbeat (fleet, beats->pdata[i]);
  return G_SOURCE_REMOVE;
}

static void
on_message (natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
  ServeFleet *fleet = closure;
  const char *subject = natsMsg_GetSubject (msg);
  Delivery *d;

  if (g_str_has_suffix (subject, ".live.heartbeat"))
    {
      g_autofree char *device = subject_token (subject, 2);

      /* Only a device's latest heartbeat matters: one waits per device,
       * however fast they come (a flood replaces, never queues). */
      if (device == NULL || !vigil_fleet_device_id_check (device, NULL)
          || natsMsg_GetDataLength (msg) > MAX_MESSAGE_BYTES)
        natsMsg_Destroy (msg);
      else if (cli_latest_queue_put (fleet->heartbeats, device, msg))
        g_idle_add (on_heartbeats_main, fleet);
      return;
    }
  d = g_new0 (Delivery, 1);
  d->fleet = fleet;
  d->msg = msg;
  g_idle_add_full (G_PRIORITY_DEFAULT, on_message_main, d, delivery_free);
}

/* ---- runs ---------------------------------------------------------------- */

static void
publish (ServeFleet *fleet)
{
  /* Publishing waits for the stream's answer: not while disconnected. */
  if (fleet->layout_ready && natsConnection_Status (fleet->nc) == NATS_CONN_STATUS_CONNECTED)
    serve_runs_publish (fleet->runs);
}

/* Runs taken by other processes (`vigil task run`), and a retry for those
 * not published yet; the runs taken here wake the publisher at once. */
static gboolean
on_publish_timer (gpointer data)
{
  publish (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_publish_wake (gpointer data)
{
  ServeFleet *fleet = data;

  fleet->wake_id = 0;
  publish (fleet);
  return G_SOURCE_REMOVE;
}

/* The dispatcher took a run (fleet-dispatch.c): published once the main
 * loop is back, with every other run taken in the same round. */
static void
on_run_taken (gpointer data)
{
  ServeFleet *fleet = data;

  if (fleet->wake_id == 0)
    fleet->wake_id = g_idle_add (on_publish_wake, fleet);
}

/* ---- start and stop ------------------------------------------------------ */

ServeFleet *
serve_fleet_start (Serve *serve, GError **error)
{
  g_autofree char *enroll = NULL, *heartbeats = NULL, *renew = NULL, *progress = NULL;
  ServeFleet *fleet;
  natsStatus s;

  if (!cli_fleet_configured (serve->host))
    return NULL;
  fleet = g_new0 (ServeFleet, 1);
  fleet->serve = serve;
  fleet->heartbeats = cli_latest_queue_new (MAX_HEARTBEAT_DEVICES,
                                            (GDestroyNotify) natsMsg_Destroy);
  fleet->config = cli_fleet_load (serve->host, error);
  if (fleet->config == NULL ||
      (fleet->ca = vigil_fleet_ca_load (fleet->config->ca_crt, fleet->config->ca_key, error)) == NULL ||
      (fleet->opts = cli_fleet_console_options (fleet->config, error)) == NULL)
    goto fail;
  /* The console is a service too: it waits for a broker that is down. */
  natsOptions_SetMaxReconnect (fleet->opts, -1);
  natsOptions_SetReconnectWait (fleet->opts, RECONNECT_WAIT_MS);
  natsOptions_SetRetryOnFailedConnect (fleet->opts, true, on_connected, fleet);
  natsOptions_SetReconnectedCB (fleet->opts, on_connected, fleet);
  natsOptions_SetDisconnectedCB (fleet->opts, on_disconnected, fleet);
  s = natsConnection_Connect (&fleet->nc, fleet->opts);
  if (s == NATS_OK)
    on_connected (fleet->nc, fleet);
  else if (s == NATS_NOT_YET_CONNECTED)
    g_printerr ("vigil serve: fleet: the broker is not reachable yet; retrying\n");
  else
    {
      vigil_fleet_set_nats_error (error, s, 0, "connecting to the fleet's broker");
      goto fail;
    }
  enroll = g_strdup ("vigil.enroll.*.request");
  heartbeats = vigil_fleet_subject_live ("*", "heartbeat");
  renew = vigil_fleet_subject_renew ("*");
  progress = vigil_fleet_subject_live ("*", "progress");
  if ((s = natsConnection_JetStream (&fleet->js, fleet->nc, NULL)) != NATS_OK ||
      (s = natsConnection_Subscribe (&fleet->enroll_sub, fleet->nc, enroll, on_message,
                                     fleet)) != NATS_OK ||
      (s = natsConnection_Subscribe (&fleet->heartbeat_sub, fleet->nc, heartbeats, on_message,
                                     fleet)) != NATS_OK ||
      (s = natsConnection_Subscribe (&fleet->renew_sub, fleet->nc, renew, on_message,
                                     fleet)) != NATS_OK ||
      (s = natsConnection_Subscribe (&fleet->progress_sub, fleet->nc, progress, on_message,
                                     fleet)) != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "subscribing on the fleet's broker");
      goto fail;
    }
  fleet->runs = serve_runs_new (serve, fleet->nc, fleet->js);
  if ((fleet->cancel = serve_cancel_new (serve, fleet->nc, error)) == NULL)
    goto fail;
  fleet->settings = serve_settings_new (serve, fleet->nc);
  fleet->publish_id = g_timeout_add_seconds (1, on_publish_timer, fleet);
  cli_fleet_dispatch_on_taken (on_run_taken, fleet);
  return fleet;

fail:
  serve_fleet_stop (fleet);
  return NULL;
}

void
serve_fleet_stop (ServeFleet *fleet)
{
  if (fleet == NULL)
    return;
  cli_fleet_dispatch_on_taken (NULL, NULL);
  if (fleet->publish_id)
    g_source_remove (fleet->publish_id);
  if (fleet->wake_id)
    g_source_remove (fleet->wake_id);
  if (fleet->reload_id)
    {
      /* Due: done now rather than lost. */
      g_source_remove (fleet->reload_id);
      on_reload_due (fleet);
    }
  g_clear_pointer (&fleet->runs, serve_runs_free);
  g_clear_pointer (&fleet->cancel, serve_cancel_free);
  g_clear_pointer (&fleet->settings, serve_settings_free);
  if (fleet->enroll_sub)
    natsSubscription_Unsubscribe (fleet->enroll_sub);
  if (fleet->heartbeat_sub)
    natsSubscription_Unsubscribe (fleet->heartbeat_sub);
  if (fleet->progress_sub)
    natsSubscription_Unsubscribe (fleet->progress_sub);
  natsSubscription_Destroy (fleet->progress_sub);
  natsSubscription_Destroy (fleet->enroll_sub);
  natsSubscription_Destroy (fleet->heartbeat_sub);
  if (fleet->renew_sub)
    natsSubscription_Unsubscribe (fleet->renew_sub);
  natsSubscription_Destroy (fleet->renew_sub);
  jsCtx_Destroy (fleet->js);
  natsConnection_Destroy (fleet->nc);
  natsOptions_Destroy (fleet->opts);
  /* Messages already handed to the main loop still point at @fleet. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&fleet->heartbeats, cli_latest_queue_free);
  g_clear_pointer (&fleet->ca, vigil_fleet_ca_free);
  g_clear_pointer (&fleet->config, cli_fleet_free);
  g_free (fleet);
  vigil_fleet_process_shutdown ();
}
