/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's runs over the broker (serve-runs.c), used by
 * serve-fleet.c: publishing dispatched runs to their devices and
 * ingesting the devices' run reports, events and progress ticks, and
 * withdrawing runs that ended before their device took them.
 */
#pragma once

#include "serve.h"
#include "fleet-config.h"
#include "fleet-jetstream.h"

G_BEGIN_DECLS

typedef struct _ServeRuns ServeRuns;

/* Starts the reports' reader thread on @js (the console's connection
 * @nc); runs are published through a context of their own on @nc. */
ServeRuns *serve_runs_new       (Serve *serve, natsConnection *nc, jsCtx *js);
/* Main thread: publishes every stored "dispatched" run not yet published
 * by this process, asynchronously, in slices with one wait for the
 * stream's answers each; a run that fails (broker down) is tried again
 * later. Called during a pass, it starts another once that one ends. */
void       serve_runs_publish   (ServeRuns *runs);
/* After a (re)connection: publish everything again (the stream drops what
 * it already has, by message id). */
void       serve_runs_reconnected (ServeRuns *runs);
/* Main thread: a progress tick of @device (plain NATS, may be lost):
 * stored as its run's progress. */
void       serve_runs_progress  (ServeRuns *runs, const char *device,
                                 const char *data, int length);
void       serve_runs_free      (ServeRuns *runs);

G_END_DECLS
