/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connecting to the fleet's broker with libnats: the process-wide setup
 * libnats 3.4 needs, TLS options with a client certificate and the
 * broker's name checked, and libnats' failures as GErrors.
 */
#pragma once

#include <glib.h>
#include <nats/nats.h>

G_BEGIN_DECLS

/**
 * vigil_fleet_process_init:
 *
 * Call first in main() of a process that uses the fleet's connections,
 * before anything else touches OpenSSL. libnats 3.4 (Debian 12) frees
 * part of OpenSSL's state in nats_Close() without clearing it (nats.c
 * issue #904), and OpenSSL's own exit-time cleanup then frees it again
 * and crashes; this turns that exit-time cleanup off (the process is
 * exiting: the system takes the memory back). It also ignores SIGPIPE,
 * as GIO does for its sockets: TLS writes to a connection the broker
 * closed (a revoked device, a broker restart) must fail with EPIPE, not
 * kill the console or the agent.
 */
void vigil_fleet_process_init (void);

/**
 * vigil_fleet_process_shutdown:
 *
 * Call last, after every connection is destroyed: waits for libnats'
 * threads to end and frees its memory.
 */
void vigil_fleet_process_shutdown (void);

/**
 * vigil_fleet_options_new:
 * @url: the broker, one "tls://HOST:PORT" URL; its certificate must name
 *   HOST
 * @ca_file: the deployment's CA certificate(s)
 * @cert_file: this client's certificate
 * @key_file: its key
 * @device_id: (nullable): the device this client is, or %NULL for the
 *   console; a device's replies come to its own inbox prefix, the only
 *   subjects it may subscribe to
 * @error: return location for a #GError
 *
 * Options for a TLS connection with a client certificate, checking that
 * the broker's certificate chains to @ca_file and names the URL's host.
 * The caller may add callbacks and reconnection settings before
 * connecting.
 *
 * Returns: (transfer full): the options (natsOptions_Destroy), or %NULL.
 */
natsOptions *vigil_fleet_options_new (const char *url, const char *ca_file,
                                      const char *cert_file,
                                      const char *key_file,
                                      const char *device_id, GError **error);

G_END_DECLS
