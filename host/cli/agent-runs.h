/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's runs (agent-runs.c), used by cli-agent.c: fetching its runs
 * from the broker, executing each once, reporting through the outbox.
 */
#pragma once

#include "cli.h"

#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct _AgentRuns AgentRuns;

/* Sets up the device `self` (root @root, or /) in the agent's state
 * folder, reports the runs an earlier process left unfinished as failed,
 * and starts fetching on @nc. */
AgentRuns *agent_runs_new  (VigilHost *host, const char *device_id, const char *root,
                            natsConnection *nc, GError **error);
void       agent_runs_free (AgentRuns *runs);

G_END_DECLS
