/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared between the files of the sandbox-response plugin glue: the host
 * API table and this plugin's handle, set once in init.
 */
#pragma once

#include <vigil/plugin.h>
#include <vigil/util/json.h>

#include "sr-engine.h"

extern const VigilHostApi *sr_api;
extern VigilPlugin        *sr_self;

/* sr-section.c */
gboolean sr_register_section (VigilPlugin *self, GError **error);

/* sr-respond.c: the handler of `sandbox.threat_detected`. */
void     sr_on_threat_detected (const VigilEvent *event, gpointer user_data);

/* sr-pending.c: group scans created and not finished yet, per group and
 * object, in the host document store. */
char    *sr_pending_find   (const char *group_id, const char *sha256);
void     sr_pending_add    (const char *group_id, const char *sha256,
                            const char *task_id, const char *event_id);
/* Forgets the pending scans of @task_id; returns how many. */
guint    sr_pending_finish (const char *task_id);
