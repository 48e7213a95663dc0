/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated agents (see sim-agents.h). Every agent has one subscription,
 * vigil.inbox.<id>.>, its own inbox prefix (the only subjects a device may
 * subscribe to). A run arrives under its own subject, vigil.run.<id>;
 * otherwise the subject's last token says what arrived: ".p" the broker's
 * status for a pull (408 when it expired), ".a" the
 * stream's acknowledgement of a run report, ".e" of an event, ".i" the
 * consumer info, ".f" a floor request. libnats delivers one
 * subscription's messages in order on one thread of its global delivery
 * pool, so an agent's state needs no lock.
 */
#include "sim-agents.h"

#include "fleet-subjects.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <nats/adapters/libevent.h>
#pragma GCC diagnostic pop

typedef enum { IDLE, PULLING, RUNNING_SENT, END_SENT } AgentStep;

typedef struct {
  SimFleet         *fleet;
  const SimDevice  *device;
  natsOptions      *opts;
  natsConnection   *nc;
  natsSubscription *sub;
  struct event     *heartbeat;
  char             *inbox, *next_subject, *ack_prefix, *report_subject;
  AgentStep         step;
  gint64            run;
  char             *run_key;
} Agent;

struct _SimFleet {
  SimFleetOptions    options;
  struct event_base *base;
  GThread           *loop_thread;
  Agent             *agents;
  gboolean           pulling;
  SimCounters        c;
  guint              next_connect;   /* atomic: the connect threads' cursor */
  GMutex             error_lock;
  GError            *connect_error;
  gint               first_run;      /* atomic: set by the first run to arrive */
};

double
sim_self_cpu (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

char *
sim_floor_request_subject (const char *id)
{
  return g_strdup_printf ("vigil.inbox.%s.f", id);
}

char *
sim_floor_reply_subject (const char *id)
{
  return g_strdup_printf ("vigil.dev.%s.live.floor", id);
}

/* ---- the wire ------------------------------------------------------------ */

static void
pull (Agent *a)
{
  char body[96];
  g_autofree char *reply = g_strconcat (a->inbox, ".p", NULL);

  g_snprintf (body, sizeof body, "{\"batch\":1,\"expires\":%" G_GINT64_FORMAT "}",
              (gint64) a->fleet->options.pull_wait_ms * 1000000);
  a->step = PULLING;
  g_atomic_int_inc (&a->fleet->c.pulls);
  natsConnection_PublishRequestString (a->nc, a->next_subject, reply, body);
}

/* A JetStream publish with a message id; the stream's answer comes to
 * the agent's inbox, suffix @ack. */
static void
publish_stored (Agent *a, const char *subject, const char *msg_id, const char *text,
                const char *ack)
{
  g_autofree char *reply = g_strconcat (a->inbox, ack, NULL);
  natsMsg *msg = NULL;

  if (natsMsg_Create (&msg, subject, reply, text, (int) strlen (text)) == NATS_OK
      && natsMsgHeader_Set (msg, "Nats-Msg-Id", msg_id) == NATS_OK)
    natsConnection_PublishMsg (a->nc, msg);
  natsMsg_Destroy (msg);
}

static void
send_heartbeat (Agent *a)
{
  g_autofree char *subject = vigil_fleet_subject_live (a->device->id, "heartbeat");
  g_autofree char *body = g_strdup_printf (
      "{\"device\":\"%s\",\"agent_version\":\"0.1.0\",\"interval\":%u,\"status\":\"online\","
      "\"plugins\":[{\"name\":\"notify\",\"version\":\"0.1.0\"}],\"sent\":%" G_GINT64_FORMAT "}",
      a->device->id, a->fleet->options.heartbeat_s ? a->fleet->options.heartbeat_s : 10,
      g_get_real_time ());

  natsConnection_PublishString (a->nc, subject, body);
}

static void
on_heartbeat_timer (evutil_socket_t fd, short what, void *data)
{
  send_heartbeat (data);
}

static gboolean
is_status (natsMsg *msg)
{
  const char *status = NULL;

  return natsMsg_GetDataLength (msg) == 0
         && natsMsgHeader_Get (msg, "Status", &status) == NATS_OK;
}

static void
on_run (Agent *a, natsMsg *msg)
{
  const char *reply = natsMsg_GetReply (msg);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *running = NULL, *msg_id = NULL;
  JsonObject *body;

  /* As the agent: only what its own consumer delivered is a run. */
  if (reply == NULL || !g_str_has_prefix (reply, a->ack_prefix)
      || !json_parser_load_from_data (parser, natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                      NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_atomic_int_inc (&a->fleet->c.report_errors);
      pull (a);
      return;
    }
  body = json_node_get_object (json_parser_get_root (parser));
  a->run = json_object_get_int_member_with_default (body, "run", 0);
  g_free (a->run_key);
  a->run_key = g_strdup_printf ("%s.%" G_GINT64_FORMAT,
                                json_object_get_string_member_with_default (body, "task", "?"),
                                a->run);
  g_atomic_int_inc (&a->fleet->c.runs_received);
  if (g_atomic_int_compare_and_exchange (&a->fleet->first_run, 0, 1))
    a->fleet->c.first_run_us = g_get_monotonic_time ();
  a->fleet->c.last_run_us = g_get_monotonic_time ();   /* two threads: a few us apart */
  natsConnection_PublishString (a->nc, reply, "+ACK");
  running = g_strdup_printf ("{\"run\":%" G_GINT64_FORMAT ",\"state\":\"running\"}", a->run);
  msg_id = g_strconcat (a->run_key, ".running", NULL);
  a->step = RUNNING_SENT;
  publish_stored (a, a->report_subject, msg_id, running, ".a");
}

static void
on_report_ack (Agent *a, natsMsg *msg)
{
  const char *data = natsMsg_GetData (msg);

  if (is_status (msg) || (data != NULL && strstr (data, "\"error\"") != NULL))
    g_atomic_int_inc (&a->fleet->c.report_errors);
  if (a->step == RUNNING_SENT)
    {
      /* The trivial task: done at once. */
      g_autofree char *end = g_strdup_printf (
          "{\"run\":%" G_GINT64_FORMAT ",\"state\":\"completed\",\"progress\":1,"
          "\"message\":\"bench: simulated\",\"result\":{\"notified\":false,"
          "\"reason\":\"simulated agent\"},\"findings\":[]}", a->run);
      g_autofree char *msg_id = g_strconcat (a->run_key, ".end", NULL);

      a->step = END_SENT;
      publish_stored (a, a->report_subject, msg_id, end, ".a");
    }
  else if (a->step == END_SENT)
    {
      g_atomic_int_inc (&a->fleet->c.runs_ended);
      if (a->fleet->pulling)
        pull (a);
      else
        a->step = IDLE;
    }
}

static void
on_message (natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
  Agent *a = closure;
  const char *subject = natsMsg_GetSubject (msg);
  const char *last = strrchr (subject, '.');

  if (g_getenv ("BENCH_FLEET_TRACE") != NULL)
    g_printerr ("[agent %s] %s reply=%s len=%d\n", a->device->id, subject,
                natsMsg_GetReply (msg) ? natsMsg_GetReply (msg) : "-", natsMsg_GetDataLength (msg));
  if (last == NULL)
    ;
  else if (g_str_has_prefix (subject, "vigil.run."))
    on_run (a, msg);    /* a pull's delivery keeps the run's own subject */
  else if (g_str_equal (last, ".p"))
    {
      if (!is_status (msg))
        on_run (a, msg);
      else if (a->fleet->pulling)
        pull (a);   /* the pull expired (408): the next one */
      else
        a->step = IDLE;
    }
  else if (g_str_equal (last, ".a"))
    on_report_ack (a, msg);
  else if (g_str_equal (last, ".e"))
    {
      if (!is_status (msg) && strstr (natsMsg_GetData (msg), "\"error\"") == NULL)
        g_atomic_int_inc (&a->fleet->c.events_acked);
      else
        g_atomic_int_inc (&a->fleet->c.report_errors);
    }
  else if (g_str_equal (last, ".i"))
    g_atomic_int_inc (&a->fleet->c.infos);
  else if (g_str_equal (last, ".f") && natsMsg_GetReply (msg) != NULL)
    {
      natsConnection_PublishString (a->nc, natsMsg_GetReply (msg), "pong");
      g_atomic_int_inc (&a->fleet->c.floor_replies_sent);
    }
  natsMsg_Destroy (msg);
}

/* ---- connecting ------------------------------------------------------------ */

static gboolean
agent_connect (SimFleet *fleet, Agent *a, GError **error)
{
  const SimDevice *d = a->device;
  g_autofree char *wild = NULL, *info = NULL, *info_reply = NULL, *consumer = NULL;
  natsStatus s;

  consumer = vigil_fleet_consumer_runs (d->id);
  a->inbox = vigil_fleet_inbox_prefix (d->id);
  a->next_subject = g_strdup_printf ("$JS.API.CONSUMER.MSG.NEXT.%s.%s", VIGIL_FLEET_STREAM_RUNS,
                                     consumer);
  a->ack_prefix = g_strdup_printf ("$JS.ACK.%s.%s.", VIGIL_FLEET_STREAM_RUNS, consumer);
  a->report_subject = vigil_fleet_subject_report (d->id, "run");
  s = natsOptions_Create (&a->opts);
  if (s == NATS_OK) s = natsOptions_SetURL (a->opts, fleet->options.url);
  if (s == NATS_OK) s = natsOptions_SetSecure (a->opts, true);
  if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates (a->opts, fleet->options.ca_path);
  if (s == NATS_OK) s = natsOptions_LoadCertificatesChain (a->opts, d->crt_path, d->key_path);
  if (s == NATS_OK) s = natsOptions_SetCustomInboxPrefix (a->opts, a->inbox);
  if (s == NATS_OK) s = natsOptions_SetName (a->opts, d->id);
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect (a->opts, false);
  /* Thousands of handshakes on a busy broker: its PONG can take seconds. */
  if (s == NATS_OK) s = natsOptions_SetTimeout (a->opts, 60000);
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery (a->opts, true);
  if (s == NATS_OK) s = natsOptions_SetIOBufSize (a->opts, 16 * 1024);
  if (s == NATS_OK)
    s = natsOptions_SetEventLoop (a->opts, fleet->base, natsLibevent_Attach, natsLibevent_Read,
                                  natsLibevent_Write, natsLibevent_Detach);
  /* As an agent does, try again when the broker did not finish with us. */
  for (int attempt = 0; s == NATS_OK && attempt < 5; attempt++)
    {
      if ((s = natsConnection_Connect (&a->nc, a->opts)) == NATS_OK)
        break;
      if (attempt < 4)
        {
          g_printerr ("agent %s: %s, connecting again\n", d->id, natsStatus_GetText (s));
          s = NATS_OK;
          g_usleep (G_USEC_PER_SEC);
        }
    }
  wild = g_strconcat (a->inbox, ".>", NULL);
  if (s == NATS_OK) s = natsConnection_Subscribe (&a->sub, a->nc, wild, on_message, a);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits (a->sub, -1, -1);
  if (s != NATS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "agent %s: %s: %s", d->id,
                   natsStatus_GetText (s), nats_GetLastError (NULL));
      return FALSE;
    }
  /* As the agent binds (vigil_fleet_device_runs_subscribe): CONSUMER.INFO. */
  info = g_strdup_printf ("$JS.API.CONSUMER.INFO.%s.%s", VIGIL_FLEET_STREAM_RUNS, consumer);
  info_reply = g_strconcat (a->inbox, ".i", NULL);
  natsConnection_PublishRequestString (a->nc, info, info_reply, "");
  send_heartbeat (a);
  if (fleet->options.heartbeat_s > 0)
    {
      struct timeval tv = { fleet->options.heartbeat_s, 0 };

      a->heartbeat = event_new (fleet->base, -1, EV_PERSIST, on_heartbeat_timer, a);
      event_add (a->heartbeat, &tv);
    }
  g_atomic_int_inc (&fleet->c.connected);
  return TRUE;
}

static gpointer
connect_thread (gpointer data)
{
  SimFleet *fleet = data;

  for (;;)
    {
      guint i = (guint) g_atomic_int_add (&fleet->next_connect, 1);
      g_autoptr (GError) error = NULL;

      if (i >= fleet->options.n_devices)
        break;
      g_mutex_lock (&fleet->error_lock);
      if (fleet->connect_error != NULL)
        {
          g_mutex_unlock (&fleet->error_lock);
          break;
        }
      g_mutex_unlock (&fleet->error_lock);
      if (!agent_connect (fleet, &fleet->agents[i], &error))
        {
          g_mutex_lock (&fleet->error_lock);
          if (fleet->connect_error == NULL)
            fleet->connect_error = g_steal_pointer (&error);
          g_mutex_unlock (&fleet->error_lock);
        }
    }
  return NULL;
}

static gpointer
loop_thread (gpointer data)
{
  SimFleet *fleet = data;

  event_base_loop (fleet->base, EVLOOP_NO_EXIT_ON_EMPTY);
  return NULL;
}

SimFleet *
sim_fleet_start (const SimFleetOptions *options, GError **error)
{
  SimFleet *fleet = g_new0 (SimFleet, 1);
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();

  natsLibevent_Init ();
  /* Two delivery threads for every subscription of the process. */
  nats_SetMessageDeliveryPoolSize (2);
  fleet->options = *options;
  g_mutex_init (&fleet->error_lock);
  fleet->base = event_base_new ();
  fleet->agents = g_new0 (Agent, options->n_devices);
  for (guint i = 0; i < options->n_devices; i++)
    {
      fleet->agents[i].fleet = fleet;
      fleet->agents[i].device = &options->devices[i];
    }
  fleet->loop_thread = g_thread_new ("sim-loop", loop_thread, fleet);
  for (guint t = 0; t < MAX (options->connect_threads, 1); t++)
    g_ptr_array_add (threads, g_thread_new ("sim-connect", connect_thread, fleet));
  for (guint t = 0; t < threads->len; t++)
    g_thread_join (threads->pdata[t]);
  if (fleet->connect_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&fleet->connect_error));
      sim_fleet_free (fleet);
      return NULL;
    }
  return fleet;
}

void
sim_fleet_start_pulling (SimFleet *fleet)
{
  fleet->pulling = TRUE;
  for (guint i = 0; i < fleet->options.n_devices; i++)
    if (fleet->agents[i].step == IDLE)
      pull (&fleet->agents[i]);
}

void
sim_fleet_emit_events (SimFleet *fleet, guint per_agent)
{
  for (guint i = 0; i < fleet->options.n_devices; i++)
    {
      Agent *a = &fleet->agents[i];
      g_autofree char *subject = vigil_fleet_subject_report (a->device->id, "event");

      for (guint k = 0; k < per_agent; k++)
        {
          /* As an agent forwards one (agent-events.c): the message id is
           * the event's UUID, which the console checks. */
          g_autofree char *id = g_uuid_string_random ();
          g_autofree char *body = g_strdup_printf (
              "{\"id\":\"%s\",\"type\":\"bench.simulated\",\"payload_version\":1,"
              "\"source\":\"bench\",\"payload\":{\"seq\":%u,\"note\":"
              "\"an event from a simulated agent\"}}", id, k);

          publish_stored (a, subject, id, body, ".e");
        }
    }
}

void
sim_fleet_counters (SimFleet *fleet, SimCounters *out)
{
  out->connected = (guint) g_atomic_int_get (&fleet->c.connected);
  out->infos = (guint) g_atomic_int_get (&fleet->c.infos);
  out->runs_received = (guint) g_atomic_int_get (&fleet->c.runs_received);
  out->first_run_us = fleet->c.first_run_us;
  out->last_run_us = fleet->c.last_run_us;
  out->runs_ended = (guint) g_atomic_int_get (&fleet->c.runs_ended);
  out->report_errors = (guint) g_atomic_int_get (&fleet->c.report_errors);
  out->floor_replies_sent = (guint) g_atomic_int_get (&fleet->c.floor_replies_sent);
  out->events_acked = (guint) g_atomic_int_get (&fleet->c.events_acked);
  out->pulls = (guint) g_atomic_int_get (&fleet->c.pulls);
}

void
sim_fleet_free (SimFleet *fleet)
{
  if (fleet == NULL)
    return;
  fleet->pulling = FALSE;
  for (guint i = 0; i < fleet->options.n_devices; i++)
    {
      Agent *a = &fleet->agents[i];

      if (a->heartbeat != NULL)
        {
          event_del (a->heartbeat);
          event_free (a->heartbeat);
        }
      if (a->sub != NULL)
        natsSubscription_Unsubscribe (a->sub);
      natsSubscription_Destroy (a->sub);
      if (a->nc != NULL)
        natsConnection_Close (a->nc);
    }
  event_base_loopbreak (fleet->base);
  g_thread_join (fleet->loop_thread);
  for (guint i = 0; i < fleet->options.n_devices; i++)
    {
      Agent *a = &fleet->agents[i];

      natsConnection_Destroy (a->nc);
      natsOptions_Destroy (a->opts);
      g_free (a->inbox);
      g_free (a->next_subject);
      g_free (a->ack_prefix);
      g_free (a->report_subject);
      g_free (a->run_key);
    }
  event_base_free (fleet->base);
  g_free (fleet->agents);
  g_clear_error (&fleet->connect_error);
  g_mutex_clear (&fleet->error_lock);
  g_free (fleet);
}
