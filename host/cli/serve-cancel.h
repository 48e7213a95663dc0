/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's side of cancelling a run that executes on its agent
 * (serve-cancel.c), used by serve-fleet.c: answering agents' "is my run
 * still current?" checks, and telling an agent to stop a run that ended
 * on the console while it executed there.
 */
#pragma once

#include "serve.h"

#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct _ServeCancel ServeCancel;

/* Subscribes to every device's checks on @nc (the console's connection)
 * and starts watching the runs they name. */
ServeCancel *serve_cancel_new  (Serve *serve, natsConnection *nc, GError **error);
void         serve_cancel_free (ServeCancel *cancel);

G_END_DECLS
