/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tests' broker: a real nats-server (Debian's) started on loopback
 * from a generated configuration, on a port the system picks, with its
 * JetStream store in the test's folder. Its log is read line by line as
 * it comes, which is how a test waits for the broker to be ready, to have
 * reloaded or to have refused a client: on the line that says so, never
 * on a sleep. vt_broker_stop() ends it; every test stops what it started.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _VtBroker VtBroker;

/* Longest wait for a condition before the test fails: only a broken
 * broker ever reaches it. */
#define VT_BROKER_WAIT_S 30

/* Starts nats-server -c @config_path and waits until it serves clients.
 * The configuration must have port 0 (-1 in the file: any free port). */
VtBroker   *vt_broker_start  (const char *config_path);
/* Stops it (SIGTERM) and waits for it to exit; frees @broker. */
void        vt_broker_stop   (VtBroker *broker);

/* "tls://127.0.0.1:PORT" */
const char *vt_broker_url    (VtBroker *broker);
GPid        vt_broker_pid    (VtBroker *broker);
/* Whether the process is still the one started (has not exited). */
gboolean    vt_broker_running (VtBroker *broker);

/* A mark in the log; a wait looks only at lines logged after it. */
gsize       vt_broker_log_mark (VtBroker *broker);
/* Waits until a line after @mark contains @needle; fails the test after
 * VT_BROKER_WAIT_S or if the broker exits first. */
void        vt_broker_wait_log (VtBroker *broker, gsize mark, const char *needle);

G_END_DECLS
