/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The broker's configuration, generated: nats-server with TLS required on
 * every connection and the client certificate mapped to a user
 * (verify_and_map: a device's identity URI, the console's subject), JetStream with its store folder, and one user per
 * enrolled device with permissions that confine it to its own subjects,
 * plus the console's user. Revoking a device is rewriting the
 * configuration without it and asking the running broker to reload.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The broker's limits per connection (see docs/fleet.md, Failure
 * semantics, for what they protect and what they do not). */
#define VIGIL_FLEET_BROKER_MAX_PAYLOAD (1024 * 1024)
#define VIGIL_FLEET_BROKER_MAX_SUBS    256

/**
 * VigilFleetBrokerConfig:
 * @server_name: the broker's name (letters, digits, '-', '_')
 * @host: the address to listen on, e.g. "127.0.0.1"
 * @port: the port, or 0 for one the system picks (tests)
 * @store_dir: JetStream's store folder
 * @ca_file: the CA certificates clients' certificates must chain to
 * @cert_file: the broker's certificate
 * @key_file: its key
 * @devices: (array length=n_devices): the devices allowed to connect,
 *   each with its current enrollment; a certificate of a device or of an
 *   enrollment not listed is refused
 * @n_devices: how many
 *
 * What the generated nats-server configuration says.
 */
/**
 * VigilFleetBrokerDevice:
 * @id: the device id
 * @enrollment: the enrollment id in its current certificate or, when
 *   @pending, in its enrollment file's bootstrap certificate
 * @pending: the device is being enrolled: only its bootstrap identity
 *   may connect, to publish its enrollment request and receive the reply
 */
typedef struct {
  const char *id;
  const char *enrollment;
  gboolean    pending;
} VigilFleetBrokerDevice;

typedef struct {
  const char        *server_name;
  const char        *host;
  int                port;
  const char        *store_dir;
  const char        *ca_file;
  const char        *cert_file;
  const char        *key_file;
  const VigilFleetBrokerDevice *devices;
  gsize              n_devices;
} VigilFleetBrokerConfig;

/**
 * vigil_fleet_broker_config_render:
 * @config: what to configure
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the nats-server configuration text, or %NULL
 *   if a device id or a path cannot be put in it safely.
 */
char *vigil_fleet_broker_config_render (const VigilFleetBrokerConfig *config,
                                        GError **error);

/**
 * vigil_fleet_broker_config_write:
 * @config: what to configure
 * @path: the configuration file, rewritten atomically with mode 0600
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_broker_config_write (const VigilFleetBrokerConfig *config,
                                          const char *path, GError **error);

/**
 * vigil_fleet_broker_reload:
 * @pid: the running nats-server
 * @error: return location for a #GError
 *
 * Asks the broker to re-read its configuration (SIGHUP). It keeps running
 * and keeps its clients, except those whose certificate no longer maps to
 * a user: it closes their connections, and they cannot connect again.
 *
 * Returns: %TRUE if the signal was delivered.
 */
gboolean vigil_fleet_broker_reload (GPid pid, GError **error);

G_END_DECLS
