/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's events on their way to the console (agent-events.c).
 */
#pragma once

#include "cli.h"
#include "fleet-outbox.h"

G_BEGIN_DECLS

typedef struct _AgentEvents AgentEvents;

/* Forwards what is stored after the cursor in STATE/agent/events-sent;
 * without one, from now on (the cursor is made). */
AgentEvents *agent_events_new     (VigilHost *host, VigilFleetOutbox *outbox,
                                   const char *device_id, GError **error);
/* Puts the events stored since the last call into the outbox; returns how
 * many. */
guint        agent_events_collect (AgentEvents *events);
void         agent_events_free    (AgentEvents *events);
/* Makes the cursor start at the newest event now (at enrollment: what
 * happened before is not the fleet's). */
gboolean     agent_events_start_here (VigilHost *host, GError **error);

G_END_DECLS
