/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The settings layer of libvigil-host (host/settings/), above tasks: the
 * host-owned `general` section (proxy, password protection, failure
 * diagnosis, telemetry exclusions) and the `vigil password` and `vigil
 * exclusions` commands. It registers them through the VigilHostApi table
 * the api layer hands it, like a plugin, and reads its settings through
 * the policy layer's effective settings. docs/architecture.md has the
 * order.
 */
#pragma once

#include "tasks/tasks.h"

G_BEGIN_DECLS

/* Registers the `general` section and the host's commands for the "host"
 * pseudo-plugin through @api, creates the layer's settings cache and opens
 * the trace files the local machine's settings ask for. */
gboolean  vh_general_init    (VigilHost *host, const VigilHostApi *api, GError **error);
/* Frees the layer's state (the settings cache). */
void      vh_general_free    (VigilHost *host);
/* Password protection of @action, one the host ("plugins.disable",
 * "task.delete") or a loaded plugin declared: TRUE when it is not protected
 * or the password given (prompt, or the fd in VIGIL_PASSWORD_FD) matches;
 * FALSE with @error otherwise, for an undeclared action, and off the main
 * thread when it would have to ask. */
gboolean  vh_protect_check   (VigilHost *host, const char *action, GError **error);
/* Installs the change guard (registry/guard.c) that keeps policy and
 * inventory changes from weakening this machine's password protection
 * without the current password; vh_general_init calls it. */
void      vh_protect_install_guard (VigilHost *host);
/* Behind VigilHostApi resolve_proxy and telemetry_excluded. */
char     *vh_general_resolve_proxy      (VigilHost *host, const char *device_id,
                                         const char *url, GError **error);
gboolean  vh_general_telemetry_excluded (VigilHost *host, const VigilEvent *event);
/* Re-reads the local machine's failure_diagnosis settings and opens,
 * closes or re-limits the trace files accordingly. Main thread. */
void      vh_logger_reload       (VigilHost *host);

G_END_DECLS
