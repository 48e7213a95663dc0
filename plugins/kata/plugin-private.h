/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the kata plugin's files share: the host API, this plugin's handle,
 * and the table of per-device engines (plugin-engines.c) that the event
 * handlers, the periodic tick and the `vigil kata` command use.
 */
#pragma once

#include <vigil/plugin.h>
#include <vigil/util/command.h>

#include "kata-engine.h"

extern const VigilHostApi *kata_api;
extern VigilPlugin        *kata_self;

/* The section's registration (plugin-section.c). */
gboolean    kata_register_section (VigilPlugin *self, GError **error);

/* Per-device engines (plugin-engines.c). A device's engine exists once
 * integration was enabled for it or a spool was left from a previous run. */
void        kata_engines_init     (void);
void        kata_engines_shutdown (void);
/* (transfer none) the engine of @device_id, created when the integration
 * is enabled for it; NULL when it is not. Main thread. */
KataEngine *kata_engines_for      (const char *device_id);
/* Re-reads each engine's effective settings. */
void        kata_engines_refresh  (void);
/* (transfer container) every engine, for the command. */
GPtrArray  *kata_engines_all      (void);
/* (transfer full) the effective `kata` settings of @device_id. */
KataSettings *kata_settings_for   (const char *device_id, GError **error);

/* `vigil kata` (plugin-command.c). */
int         kata_command_run      (VigilPlugin *self, int argc, char **argv,
                                   gpointer user_data);
