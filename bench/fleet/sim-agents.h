/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated agents for bench/fleet: many device connections from one
 * process. Each is a real libnats TLS connection with the device's own
 * certificate (so the broker maps it to the device's user and enforces
 * its permissions), on one libevent loop instead of libnats' two threads
 * per connection. On the wire each behaves as `vigil agent` does
 * (host/cli/agent-runs.c): a heartbeat when it connects and at every
 * interval, CONSUMER.INFO on its run-<id> consumer, then pull requests
 * (batch 1) on that consumer, one after the other; a run is acknowledged,
 * a "running" report is published to vigil.dev.<id>.out.run with the
 * message id <task>.<run>.running and, once the stream acknowledged it,
 * the end report (<task>.<run>.end); then the next pull. The task itself
 * is trivial: the end says completed with a small result. What is not
 * simulated is the agent's own disk (journal, outbox): that is on each
 * endpoint, not on the console's machine.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SimFleet SimFleet;

/* One device's credentials, files written by the enrollment. */
typedef struct {
  char *id;
  char *crt_path;
  char *key_path;
} SimDevice;

typedef struct {
  const char *url;            /* tls://HOST:PORT */
  const char *ca_path;
  const SimDevice *devices;
  guint       n_devices;
  guint       pull_wait_ms;   /* each pull request's expiry (agent: 500) */
  guint       heartbeat_s;    /* 0: only the one at connection */
  guint       connect_threads;
} SimFleetOptions;

/* Counters, read at any time (atomic). */
typedef struct {
  guint  connected;
  guint  infos;          /* CONSUMER.INFO answered */
  guint  runs_received;
  gint64 first_run_us;   /* monotonic time the first run arrived */
  gint64 last_run_us;    /* monotonic time the last run arrived */
  guint  runs_ended;     /* end report acknowledged by the stream */
  guint  report_errors;  /* a publish the stream refused */
  guint  floor_replies_sent;
  guint  events_acked;
  guint  pulls;          /* pull requests sent */
  guint  pulls_repeated; /* pulls asked again: no answer after expiry + 5 s */
} SimCounters;

/* Connects every device (in parallel threads), subscribes, sends the
 * first heartbeat and the consumer info request; returns once all are
 * connected, or NULL with @error naming the first that failed. */
SimFleet *sim_fleet_start (const SimFleetOptions *options, GError **error);
/* Starts each agent's pulling loop. */
void      sim_fleet_start_pulling (SimFleet *fleet);
/* The type of the events the agents send, and the live subject kind they
 * send the floor's copies to (vigil.dev.<id>.live.<kind>, outside
 * VIGIL_REPORTS: bench-events.c captures it in a stream of its own). */
#define SIM_EVENTS_TYPE       "bench.ingest"
#define SIM_EVENTS_FLOOR_KIND "evfloor"
/* Publishes @per_agent events from each agent as `vigil agent` forwards
 * them ({id, type, payload_version, payload, source}, message id = the
 * event's id, a new UUID each) to vigil.dev.<id>.out.event (stream
 * VIGIL_REPORTS), or with @to_floor to the floor's subject; the stream's
 * answers count in events_acked / report_errors. */
void      sim_fleet_emit_events (SimFleet *fleet, guint per_agent, gboolean to_floor);
void      sim_fleet_counters (SimFleet *fleet, SimCounters *out);
void      sim_fleet_free (SimFleet *fleet);

/* The reply subject agent @id answers a floor request on, and the subject
 * the console side sends it to. (transfer full) */
char     *sim_floor_request_subject (const char *id);
char     *sim_floor_reply_subject (const char *id);

/* User + system CPU seconds of this process so far. */
double    sim_self_cpu (void);

G_END_DECLS
