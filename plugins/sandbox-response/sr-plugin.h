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

/* A response.failed event for @action of the detection @event_id. */
void     sr_emit_failure   (const char *event_id, const char *device_id,
                            const char *action, const char *reason);
/* Creates the scan of a deferred pending entry (sr-pending.c) and records
 * it in the detection's response; NULL when it failed (recorded too). */
char    *sr_start_deferred_scan (JsonObject *entry);

/* sr-pending.c: group scans created (or waiting for the detecting device's
 * local quarantine) and not finished yet, per group and object, in the
 * host document store. */
/* (transfer full) the pending entry, or NULL; an entry whose task was
 * deleted or cancelled is dropped and not returned. */
JsonObject *sr_pending_find (const char *group_id, const char *sha256);
void     sr_pending_add    (const char *group_id, const char *sha256,
                            const char *task_id, const char *event_id);
/* A scan (@scan: group, name, schedule, device, params) to create once the
 * task @after_task (the local quarantine) has ended. */
void     sr_pending_defer  (const char *group_id, const char *sha256,
                            const char *event_id, const char *after_task,
                            JsonObject *scan);
/* Forgets the pending scans of @task_id; returns how many. */
guint    sr_pending_finish (const char *task_id);
/* The task @task_id ended on its device: creates the scans that waited
 * for it; returns how many. */
guint    sr_pending_local_ended (const char *task_id);
