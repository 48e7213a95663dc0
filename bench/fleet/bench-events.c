/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/fleet's events phase (`bench-fleet --events-per-agent K`): how
 * many events per second the console ingests from agents, beside what
 * JetStream alone costs for the same messages. Each simulated agent
 * publishes K events as `vigil agent` forwards them (sim-agents.c: the
 * body {id, type, payload_version, payload, source}, the message id = the
 * event's id, each waiting for the stream's acknowledgement), twice:
 *   floor:   to a subject of a stream the bench makes for the purpose,
 *            read back by a bare durable pull consumer (fetches of 128,
 *            each message acknowledged), as the console reads its own;
 *            timed from the first publish to the last message read;
 *   console: to vigil.dev.<id>.out.event (stream VIGIL_REPORTS), timed
 *            from the first publish until the console's store holds them
 *            all (its event count, read through libvigil-host, polled:
 *            the store is the condition, no time is guessed).
 * It reports events/s both ways, the ratio, and the console's own window
 * (first to last event stored, on its clock); bench-fleet.c adds the
 * console's CPU and memory over the console part.
 */
#include "bench-fleet.h"

#include "fleet-subjects.h"

#include <nats/nats.h>
#include <stdio.h>
#include <vigil-host.h>

#define FLOOR_STREAM     "BENCH_EVENTS_FLOOR"
#define FLOOR_CONSUMER   "floor"
#define FLOOR_FETCH      128
#define FETCH_WAIT_MS    500
#define WAIT_LIMIT_US    (600 * G_USEC_PER_SEC)
#define NS_PER_S         ((int64_t) 1000000000)

static double
seconds_since (gint64 t0)
{
  return (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
}

/* The stream and durable consumer of the floor, made as the console's
 * (file storage, de-duplication window, explicit acks). */
static gboolean
floor_layout (jsCtx *js, GError **error)
{
  const char *subjects[] = { "vigil.dev.*.live." SIM_EVENTS_FLOOR_KIND };
  jsStreamConfig sc;
  jsConsumerConfig cc;
  jsStreamInfo *si = NULL;
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  natsStatus s;

  jsStreamConfig_Init (&sc);
  sc.Name = FLOOR_STREAM;
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Retention = js_LimitsPolicy;
  sc.Storage = js_FileStorage;
  sc.Duplicates = 2 * 3600 * NS_PER_S;
  if ((s = js_AddStream (&si, js, &sc, NULL, &jerr)) == NATS_OK)
    {
      jsConsumerConfig_Init (&cc);
      cc.Durable = FLOOR_CONSUMER;
      cc.DeliverPolicy = js_DeliverAll;
      cc.AckPolicy = js_AckExplicit;
      cc.AckWait = 60 * NS_PER_S;
      s = js_AddConsumer (&ci, js, FLOOR_STREAM, &cc, NULL, &jerr);
    }
  jsStreamInfo_Destroy (si);
  jsConsumerInfo_Destroy (ci);
  if (s != NATS_OK)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the floor's stream: %s (%d)",
                 natsStatus_GetText (s), (int) jerr);
  return s == NATS_OK;
}

gboolean
bench_events_floor (BenchEvents *ev, GError **error)
{
  natsSubscription *sub = NULL;
  jsSubOptions so;
  jsErrCode jerr = 0;
  natsStatus s;
  guint read = 0;
  gint64 t0;

  if (!floor_layout (ev->js, error))
    return FALSE;
  jsSubOptions_Init (&so);
  so.Stream = FLOOR_STREAM;
  so.Consumer = FLOOR_CONSUMER;
  if ((s = js_PullSubscribe (&sub, ev->js, "vigil.dev.*.live." SIM_EVENTS_FLOOR_KIND,
                             FLOOR_CONSUMER, NULL, &so, &jerr)) != NATS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the floor's consumer: %s (%d)",
                   natsStatus_GetText (s), (int) jerr);
      return FALSE;
    }
  ev->total = ev->n_agents * ev->per_agent;
  t0 = g_get_monotonic_time ();
  sim_fleet_emit_events (ev->sim, ev->per_agent, TRUE);
  /* Read back as the console reads: batches, each message acknowledged. */
  while (read < ev->total && g_get_monotonic_time () - t0 < WAIT_LIMIT_US)
    {
      natsMsgList list = { 0 };

      s = natsSubscription_Fetch (&list, sub, FLOOR_FETCH, FETCH_WAIT_MS, &jerr);
      if (s != NATS_OK && s != NATS_TIMEOUT)
        break;
      for (int i = 0; i < list.Count; i++)
        natsMsg_Ack (list.Msgs[i], NULL);
      read += (guint) list.Count;
      natsMsgList_Destroy (&list);
    }
  ev->floor_s = seconds_since (t0);
  natsSubscription_Unsubscribe (sub);
  natsSubscription_Destroy (sub);
  /* Out of the console's way (disk, the broker's memory). */
  js_DeleteStream (ev->js, FLOOR_STREAM, NULL, NULL);
  if (read < ev->total)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "the floor's consumer read %u of %u events (%s)", read, ev->total,
                   natsStatus_GetText (s));
      return FALSE;
    }
  return TRUE;
}

/* The events of this phase in the console's store: their count, and the
 * console's times of the first and last. */
static guint
stored_events (VigilHost *host, gint64 since_us, gint64 *first_us, gint64 *last_us,
               GError **error)
{
  g_autoptr (JsonArray) events = vigil_host_events (host, since_us, SIM_EVENTS_TYPE, NULL, 0,
                                                    error);
  guint n = events != NULL ? json_array_get_length (events) : 0;

  if (n > 0)
    {
      *first_us = json_object_get_int_member (json_array_get_object_element (events, 0),
                                              "time_us");
      *last_us = json_object_get_int_member (json_array_get_object_element (events, n - 1),
                                             "time_us");
    }
  return n;
}

gboolean
bench_events_console (BenchEvents *ev, GError **error)
{
  VigilHostOptions options = { .struct_size = sizeof options, .state_dir = ev->state_dir };
  g_autoptr (VigilHost) host = vigil_host_new (&options, error);
  SimCounters before, after;
  gint64 seq0, t0, since_us, first_us = 0, last_us = 0;
  gboolean acked = FALSE;

  if (host == NULL)
    return FALSE;
  ev->total = ev->n_agents * ev->per_agent;
  ev->refused_by_stream = 0;
  seq0 = vigil_host_last_event_seq (host);
  since_us = g_get_real_time () - G_USEC_PER_SEC;
  sim_fleet_counters (ev->sim, &before);
  t0 = g_get_monotonic_time ();
  sim_fleet_emit_events (ev->sim, ev->per_agent, FALSE);
  /* The console's store is the condition: its newest sequence number
   * (the phase's events are all it stores meanwhile; counted exactly
   * below). Read-only and cheap for the console (WAL readers do not block
   * its writer). */
  while (vigil_host_last_event_seq (host) < seq0 + ev->total - ev->refused_by_stream)
    {
      if (!acked)
        {
          sim_fleet_counters (ev->sim, &after);
          if (after.events_acked + after.report_errors
              >= before.events_acked + before.report_errors + ev->total)
            {
              ev->published_s = seconds_since (t0);
              /* What the stream refused never reaches the console. */
              ev->refused_by_stream = after.report_errors - before.report_errors;
              acked = TRUE;
            }
        }
      if (g_get_monotonic_time () - t0 > WAIT_LIMIT_US)
        break;
      g_usleep (1000);   /* polling a condition, not timing anything */
    }
  ev->console_s = seconds_since (t0);
  if (!acked)
    ev->published_s = ev->console_s;
  sim_fleet_counters (ev->sim, &after);
  ev->refused_by_stream = after.report_errors - before.report_errors;
  ev->stored = stored_events (host, since_us, &first_us, &last_us, error);
  ev->window_s = (double) (last_us - first_us) / G_USEC_PER_SEC;
  if (ev->stored != ev->total)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "the console's store has %u of the %u events (%u refused by the stream)",
                     ev->stored, ev->total, ev->refused_by_stream);
      return FALSE;
    }
  return TRUE;
}

void
bench_events_print (const BenchEvents *ev, double console_cpu_s, long console_rss_kib)
{
  double rate = ev->total / ev->console_s, floor_rate = ev->total / ev->floor_s;

  printf ("events: %u agents x %u = %u events, each published with its id as message id and "
          "acknowledged by the stream\n", ev->n_agents, ev->per_agent, ev->total);
  printf ("events: floor (the same messages into a stream, read back and acknowledged by a "
          "bare consumer): %.2f s, %.0f events/s\n", ev->floor_s, floor_rate);
  printf ("events: console: all %u in its store %.2f s after the first publish: %.0f events/s "
          "(publishing took %.2f s; first to last stored, console clock: %.2f s); %.1fx the "
          "floor\n", ev->stored, ev->console_s, rate, ev->published_s, ev->window_s,
          ev->console_s / ev->floor_s);
  printf ("events: console CPU %.2f s (%.0f us per event), RSS %.1f MB\n", console_cpu_s,
          console_cpu_s * 1e6 / ev->total, console_rss_kib / 1024.0);
  fflush (stdout);
}

void
bench_events_verdict (const BenchEvents *ev)
{
  double rate = ev->total / ev->console_s;

  printf ("  events ingested >= 20,000/s:        %6.0f/s     %s (%u events; floor %.0f/s, "
          "%.1fx)\n", rate, rate >= 20000 ? "met" : "MISSED", ev->total,
          ev->total / ev->floor_s, ev->console_s / ev->floor_s);
}
