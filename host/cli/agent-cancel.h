/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's side of cancelling a run it executes (agent-cancel.c), used
 * by agent-runs.c: the console's cancels, and the agent's checks whether
 * the run it executes is still current.
 */
#pragma once

#include <gio/gio.h>
#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct _AgentCancel AgentCancel;

/* Subscribes on @nc to the device's cancels and to the answers to its
 * checks. */
AgentCancel  *agent_cancel_new   (natsConnection *nc, const char *device_id, GError **error);
/* Main thread, before run @run of @task executes: FALSE when the console
 * answered that it is not current any more (cancelled, deleted); TRUE
 * otherwise, also when no console answered in time (the agent runs what
 * it was given without one). */
gboolean      agent_cancel_still_current (AgentCancel *cancel, const char *task, gint64 run);
/* Main thread: run @run of @task starts executing; (transfer none) the
 * cancellable to pass to the host, cancelled when the console says the
 * run is over. Checks are sent while it executes. */
GCancellable *agent_cancel_begin (AgentCancel *cancel, const char *task, gint64 run);
/* Main thread: the run ended; whether the console cancelled it. */
gboolean      agent_cancel_end   (AgentCancel *cancel);
void          agent_cancel_free  (AgentCancel *cancel);

G_END_DECLS
