/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/fleet's parts shared between its files: the fast enrollment of
 * simulated devices (bench-enroll.c), the simulated agents (sim-agents.h)
 * and the events phase (bench-events.c).
 */
#pragma once

#include "sim-agents.h"

#include <nats/nats.h>

G_BEGIN_DECLS

/* The inventory group the simulated devices are in. */
#define BENCH_GROUP "bench"

/* Enrolls @n devices sim-00001... into the console's state folder
 * @state_dir (which has a fleet), their keys and certificates written to
 * @devices_dir, the keys made on @threads threads. (transfer full) */
SimDevice *bench_enroll (const char *state_dir, const char *devices_dir, guint n,
                         guint threads, GError **error);
void       bench_devices_free (SimDevice *devices, guint n);

/* The events phase (bench-events.c): what the console ingests per second,
 * beside the same messages through a bare JetStream consumer. */
typedef struct {
  SimFleet       *sim;
  jsCtx          *js;           /* the bench's connection, console certificate */
  const char     *state_dir;    /* the console's */
  guint           n_agents;
  guint           per_agent;
  /* results */
  guint           total;
  double          floor_s;      /* first publish -> all read back by the bare consumer */
  double          published_s;  /* first publish -> all acknowledged by VIGIL_REPORTS */
  double          console_s;    /* first publish -> all in the console's store */
  double          window_s;     /* first to last stored, on the console's clock */
  guint           stored;
  guint           refused_by_stream;
} BenchEvents;

gboolean   bench_events_floor   (BenchEvents *ev, GError **error);
gboolean   bench_events_console (BenchEvents *ev, GError **error);
void       bench_events_print   (const BenchEvents *ev, double console_cpu_s,
                                 long console_rss_kib);
void       bench_events_verdict (const BenchEvents *ev);

G_END_DECLS
