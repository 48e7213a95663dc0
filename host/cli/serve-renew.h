/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's answer to a device certificate renewal (serve-renew.c),
 * used by serve-fleet.c for messages on vigil.dev.*.renew.
 */
#pragma once

#include "cli.h"
#include "fleet-pki.h"

#include <nats/nats.h>

G_BEGIN_DECLS

/* Answers the renewal request @msg on its reply subject: a certificate
 * signed by @ca for the device's current enrollment, or a refusal. On the
 * main loop. */
void serve_renew_handle (VigilHost *host, VigilFleetCa *ca, natsConnection *nc, natsMsg *msg);

G_END_DECLS
