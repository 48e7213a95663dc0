/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's settings (agent-settings.c), used by cli-agent.c and
 * agent-runs.c: the console's effective settings of the device applied to
 * its device `self`, from a run or from the device's settings key between
 * runs.
 */
#pragma once

#include "cli.h"

#include <nats/nats.h>

G_BEGIN_DECLS

/* The agent's one device in its own state folder. */
#define AGENT_SELF_DEVICE "self"

typedef struct _AgentSettings AgentSettings;

/* Applies @settings (section -> group -> key -> value, the console's
 * effective settings, secrets included) to `self` as its local settings,
 * for the sections this agent's plugins know, through
 * vigil_host_apply_managed_settings (the console may lift protection it
 * set). On failure *@why (transfer full) names @what ("the console's
 * settings") and the setting at fault; nothing of the values is printed. */
gboolean       agent_settings_apply (VigilHost *host, JsonObject *settings, const char *what,
                                     char **why);
/* A run's settings (agent-runs.c): applied as above while the agent has
 * had no value from its settings key; after that the key is the one
 * source (a run that waited in the stream carries settings older than
 * the key's), and this applies nothing and returns TRUE. */
gboolean       agent_settings_apply_run (VigilHost *host, JsonObject *settings, char **why);

/* Makes `self` this machine's device when the state folder has none (so
 * the console's password protection guards local commands), then follows
 * the device's settings key on @nc: each new value is applied once, and
 * survives a restart in the state folder. Needs `self` (agent_runs_new
 * makes it). Problems are logged, never fatal: the agent keeps the
 * settings it last applied. */
AgentSettings *agent_settings_new   (VigilHost *host, const char *device_id,
                                     natsConnection *nc);
void           agent_settings_free  (AgentSettings *settings);

G_END_DECLS
