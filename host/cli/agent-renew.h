/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's certificate renewal (agent-renew.c), used by cli-agent.c.
 */
#pragma once

#include "cli.h"
#include "fleet-config.h"

#include <nats/nats.h>

G_BEGIN_DECLS

/* Days before its end that a device certificate is renewed, by default. */
#define AGENT_RENEW_DAYS_DEFAULT 30

typedef struct _AgentRenew AgentRenew;

/* Finishes installing a renewed certificate and key that a crash
 * interrupted, or drops a half-made one; before the credentials are
 * loaded. */
void        agent_renew_recover (CliAgentIdentity *identity);
/* Checks at once and every minute whether the device certificate ends in
 * fewer than @days days and, when connected, renews it over @nc (once per
 * process): new key, request to the console, new files in place, and
 * loaded into @opts for the next connections. */
AgentRenew *agent_renew_new     (CliAgentIdentity *identity, natsOptions *opts,
                                 natsConnection *nc, int days);
void        agent_renew_free    (AgentRenew *renew);

G_END_DECLS
