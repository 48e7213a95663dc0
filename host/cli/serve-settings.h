/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's publishing of each enrolled device's effective settings
 * to its key of the VIGIL_SETTINGS bucket (serve-settings.c), used by
 * serve-fleet.c.
 */
#pragma once

#include "serve.h"

#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct _ServeSettings ServeSettings;

/* Follows what the settings depend on (policies, the inventory, the
 * plugin set) and publishes on @nc, once serve_settings_reconnected()
 * said the bucket is there. */
ServeSettings *serve_settings_new         (Serve *serve, natsConnection *nc);
/* After each (re)connection, once the layout is set up: what the bucket
 * holds is read again (a broker may have lost its store), and every
 * device's value checked. */
void           serve_settings_reconnected (ServeSettings *settings);
/* @device enrolled (again: its key may have been purged at a revocation):
 * its value is read back from the bucket and published within a second. */
void           serve_settings_enrolled    (ServeSettings *settings, const char *device);
void           serve_settings_free        (ServeSettings *settings);

G_END_DECLS
