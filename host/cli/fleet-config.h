/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's fleet configuration in its state folder (STATE/fleet/):
 * fleet.json (where the broker listens, the name agents reach it by), the
 * deployment CA, the broker's and the console's certificates, and the
 * generated nats-server configuration, rewritten from the host's record
 * of device agents on every enrollment and revocation and reloaded into a
 * running broker (its pid file). Shared by `vigil fleet`, `vigil device
 * enroll|revoke` and `vigil serve`.
 */
#pragma once

#include "cli.h"

#include <nats/nats.h>

G_BEGIN_DECLS

typedef struct {
  char  *dir;                     /* STATE/fleet */
  char  *json_path;               /* fleet.json */
  char  *ca_crt, *ca_key;
  char  *broker_crt, *broker_key;
  char  *console_crt, *console_key;
  char  *nats_conf, *pid_file, *store_dir;
  char  *listen;                  /* address the broker listens on */
  int    port;
  char  *url_host;                /* the name agents and the console dial */
  char **names;                   /* names in the broker's certificate */
  gboolean own_ca;                /* the admin brought the CA */
} CliFleet;

void      cli_fleet_free       (CliFleet *fleet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliFleet, cli_fleet_free)

/* The paths of STATE/fleet, nothing read. */
CliFleet *cli_fleet_paths      (VigilHost *host);
/* Loads fleet.json; an error says to run `vigil fleet init` when absent. */
CliFleet *cli_fleet_load       (VigilHost *host, GError **error);
gboolean  cli_fleet_configured (VigilHost *host);
gboolean  cli_fleet_save       (CliFleet *fleet, GError **error);
/* "tls://URL_HOST:PORT". (transfer full) */
char     *cli_fleet_url        (CliFleet *fleet);
/* The running broker's pid from its pid file, or 0. */
GPid      cli_fleet_broker_pid (CliFleet *fleet);
/* Rewrites the broker's configuration from the host's device agents and,
 * when the broker runs, asks it to reload. Sets *@reloaded if it did. */
gboolean  cli_fleet_sync_broker (CliFleet *fleet, VigilHost *host,
                                 gboolean *reloaded, GError **error);
/* Options for the console's own connection (TLS, its certificate). */
natsOptions *cli_fleet_console_options (CliFleet *fleet, GError **error);

/* fleet-dispatch.c: with a fleet, runs of devices with an enrolled agent
 * are stored "dispatched" for `vigil serve` to publish. */
void      cli_fleet_dispatch_install (VigilHost *host);
/* In `vigil serve`: @func(@data) is called (main thread) each time this
 * process takes a run, so its publisher starts at once rather than at its
 * next timer tick; NULL to stop. */
void      cli_fleet_dispatch_on_taken (void (*func) (gpointer data), gpointer data);
/* Ends the device's dispatched and running runs as failed with @why (its
 * agent will not report them); returns how many. */
guint     cli_fleet_fail_device_runs (VigilHost *host, const char *device_id,
                                      const char *why);

/* The agent's credentials in its state folder (STATE/agent/). */
typedef struct {
  char *dir, *json_path, *ca_crt, *crt, *key;
  char *device_id, *broker_url, *enrollment;
} CliAgentIdentity;

void      cli_agent_identity_free (CliAgentIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliAgentIdentity, cli_agent_identity_free)
CliAgentIdentity *cli_agent_identity_paths (VigilHost *host);
/* Loads agent.json; an error says to run `vigil agent enroll` when absent. */
CliAgentIdentity *cli_agent_identity_load  (VigilHost *host, GError **error);
gboolean  cli_agent_identity_save (CliAgentIdentity *identity, GError **error);

/* Exit code 2 with "vigil COMMAND: message". */
int       cli_fail             (const char *command, GError *error);

/* Device commands of the fleet (cli-device-fleet.c), dispatched by
 * `vigil device`. */
int       cli_device_enroll    (VigilHost *host, const CliGlobals *globals,
                                int argc, char **argv);
int       cli_device_revoke    (VigilHost *host, const CliGlobals *globals,
                                int argc, char **argv);
int       cli_device_show      (VigilHost *host, const CliGlobals *globals,
                                int argc, char **argv);
/* Adds the agent's record ("agent": {...} or null) to a device object. */
void      cli_device_add_agent (VigilHost *host, JsonObject *device);
/* "-" (no agent), "pending", "revoked", "online" or "offline", for a
 * device object with its agent. (transfer full) */
char     *cli_device_agent_summary (JsonObject *device);

G_END_DECLS
