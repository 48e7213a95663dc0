/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's side of cancelling a run that executes on its agent
 * (serve-cancel.c), used by serve-fleet.c: answering agents' "is my run
 * still current?" checks, and telling an agent to stop a run that ended
 * on the console while it executed there; and the same cancel sent by the
 * commands that cut a device off.
 */
#pragma once

#include "serve.h"
#include "fleet-config.h"

#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct _ServeCancel ServeCancel;

/* Subscribes to every device's checks on @nc (the console's connection)
 * and starts watching the runs they name. */
ServeCancel *serve_cancel_new  (Serve *serve, natsConnection *nc, GError **error);
void         serve_cancel_free (ServeCancel *cancel);

/* For `vigil device revoke|remove`, before the broker cuts the device off
 * (after that no cancel reaches it): connects as the console and sends a
 * cancel for every run of @device_id stored `running`. Best effort: with
 * the broker down the agent is not connected either. Returns how many. */
guint        cli_fleet_cancel_device_runs (CliFleet *fleet, VigilHost *host,
                                           const char *device_id);

G_END_DECLS
