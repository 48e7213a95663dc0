/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The addresses of the agent's broker (agent-broker.c), used by
 * cli-agent.c: what the agent names to its plugins as its management
 * connection, and the fallback servers of that connection.
 */
#pragma once

#include "fleet-config.h"

#include <nats/nats.h>

G_BEGIN_DECLS

/* Resolves the host of @identity's broker URL and remembers the addresses
 * in the state folder (STATE/agent/broker-addresses); when the name does
 * not resolve now, the addresses remembered before. Sets
 * VIGIL_MANAGEMENT_ENDPOINTS to them ("ADDR:PORT,[ADDR6]:PORT", or the
 * URL's HOST:PORT when nothing is known) for the agent's plugins: call it
 * before the agent starts threads (setenv is not thread-safe). Returns the
 * addresses (NULL when the URL's host is an address itself or nothing is
 * known). */
GStrv     agent_broker_prepare     (CliAgentIdentity *identity);
/* Adds @addresses to @opts as further servers, reached under the URL's
 * host name (the broker's certificate is checked against the name, not
 * the address): the connection no longer depends on name resolution. */
gboolean  agent_broker_add_servers (CliAgentIdentity *identity, const char *const *addresses,
                                    natsOptions *opts, GError **error);

G_END_DECLS
