/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A queue that keeps only the latest value per key, for handing messages
 * from libnats' threads to the main loop when only the newest of a key
 * matters (a device's heartbeats: serve-fleet.c). However fast values
 * come and however slowly the main loop takes them, it holds at most one
 * value per key and at most max_keys keys, so a device flooding its
 * heartbeat subject costs the console no memory. Thread-safe.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CliLatestQueue CliLatestQueue;

/* @free_value frees a value replaced, refused or left at the end. */
CliLatestQueue *cli_latest_queue_new  (guint max_keys, GDestroyNotify free_value);
void            cli_latest_queue_free (CliLatestQueue *queue);
/* Queues @value (taken) under @key, replacing the value queued there,
 * or refuses it (freed) when max_keys other keys are queued. Returns
 * TRUE when the queue was empty: the caller schedules a take. */
gboolean        cli_latest_queue_put  (CliLatestQueue *queue, const char *key,
                                       gpointer value);
/* Takes everything queued: (transfer full) the values, one per key, in
 * the order their keys were first queued since the last take; the array
 * frees them. */
GPtrArray      *cli_latest_queue_take (CliLatestQueue *queue);
/* Values replaced by a newer one, and refused (too many keys), so far. */
void            cli_latest_queue_counts (CliLatestQueue *queue, guint64 *replaced,
                                         guint64 *refused);

G_END_DECLS
