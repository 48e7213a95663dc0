/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet's JetStream layout and its use: what the console sets up (the
 * runs and reports streams with the console's consumer, the settings
 * bucket, each device's two durable consumers), and the publishing and
 * pulling both sides do. Everything that must not be lost is published
 * with a message id, so a retry within the streams' duplicate window is
 * stored once.
 */
#pragma once

#include "fleet-connect.h"

G_BEGIN_DECLS

/* How long the streams remember message ids to drop duplicates. */
#define VIGIL_FLEET_DUPLICATE_WINDOW_S (2 * 3600)

/**
 * vigil_fleet_set_nats_error:
 * @error: return location for a #GError
 * @s: libnats' status
 * @js_code: the JetStream error code, or 0
 * @what: what was being done, for the message
 *
 * Sets @error (domain %VIGIL_FLEET_ERROR, code BROKER) from libnats' status
 * and its last error text.
 */
void vigil_fleet_set_nats_error (GError **error, natsStatus s, int js_code,
                                 const char *what);

/**
 * vigil_fleet_layout_ensure:
 * @js: a JetStream context of the console's connection
 * @error: return location for a #GError
 *
 * Creates (or updates to the current shape) the runs stream (work queue:
 * a run is removed once its device acknowledged it), the reports stream
 * with the console's durable consumer of it, and the settings bucket.
 * Idempotent.
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_layout_ensure (jsCtx *js, GError **error);

/**
 * vigil_fleet_device_consumers_ensure:
 * @js: a JetStream context of the console's connection
 * @device_id: the device
 * @error: return location for a #GError
 *
 * Creates the device's durable pull consumers: run-<id> (its runs, kept
 * while it is offline) and settings-<id> (its settings key, starting from
 * the last value). Idempotent; done at enrollment.
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_device_consumers_ensure (jsCtx *js, const char *device_id,
                                              GError **error);

/**
 * vigil_fleet_device_consumers_delete:
 * @js: a JetStream context of the console's connection
 * @device_id: the device
 * @error: return location for a #GError
 *
 * Deletes the device's consumers and purges its pending runs and its
 * settings key (secrets included); done at revocation, after the broker
 * no longer lets the device in. A consumer already gone is not an error.
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_device_consumers_delete (jsCtx *js, const char *device_id,
                                              GError **error);

/**
 * vigil_fleet_publish:
 * @js: a JetStream context
 * @subject: where to publish (a run's or a report's subject)
 * @msg_id: the message's id for de-duplication (a run id and round, a
 *   report's id); must not be %NULL
 * @data: the payload
 * @len: its length
 * @duplicate: (out) (optional): set to whether the stream already had
 *   @msg_id and so did not store it again
 * @error: return location for a #GError
 *
 * Publishes to a stream and waits for the broker's acknowledgement, so a
 * %TRUE return means the message is stored (or was already).
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_publish (jsCtx *js, const char *subject,
                              const char *msg_id, const void *data, int len,
                              gboolean *duplicate, GError **error);

/**
 * vigil_fleet_publish_seq:
 * @js: a JetStream context
 * @subject: where to publish
 * @msg_id: the message's id for de-duplication; must not be %NULL
 * @data: the payload
 * @len: its length
 * @seq: (out) (optional): the stream sequence the message is stored under
 *   (for a duplicate, the one stored first)
 * @duplicate: (out) (optional): as for vigil_fleet_publish()
 * @error: return location for a #GError
 *
 * vigil_fleet_publish(), also giving the message's place in the stream, so
 * that a run can be withdrawn later (vigil_fleet_run_withdraw()).
 *
 * Returns: %TRUE on success. Since: 1.1
 */
gboolean vigil_fleet_publish_seq (jsCtx *js, const char *subject,
                                  const char *msg_id, const void *data, int len,
                                  guint64 *seq, gboolean *duplicate, GError **error);

/**
 * vigil_fleet_run_withdraw:
 * @js: the console's JetStream context
 * @seq: the run's sequence in `VIGIL_RUNS`
 * @error: return location for a #GError
 *
 * Deletes a run that no device has taken yet from the stream (its task was
 * cancelled or deleted, its device removed). A run already taken (and so
 * acknowledged and gone from the work queue) is not an error: *@gone says
 * whether this call removed it.
 *
 * Returns: %TRUE unless the broker could not be asked. Since: 1.1
 */
gboolean vigil_fleet_run_withdraw (jsCtx *js, guint64 seq, gboolean *gone, GError **error);

/**
 * vigil_fleet_reports_trim:
 * @js: the console's JetStream context
 * @floor: (out) (optional): the console consumer's acknowledgement floor:
 *   every report up to this stream sequence is gone after the call
 * @error: return location for a #GError
 *
 * Removes from `VIGIL_REPORTS` every report the console's consumer has
 * acknowledged (or terminated) up to its acknowledgement floor; reports
 * above it (not yet read, or read and not acknowledged) stay. Without it
 * the stream grows with every report. Since: 1.1
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_reports_trim (jsCtx *js, guint64 *floor, GError **error);

/**
 * vigil_fleet_device_runs_subscribe:
 * @js: a JetStream context of the device's connection
 * @device_id: the device
 * @error: return location for a #GError
 *
 * Binds to the device's own durable consumer of runs (never creates one),
 * for natsSubscription_Fetch(). Acknowledge a run once it is recorded on
 * the device; the broker delivers it again otherwise.
 *
 * Returns: (transfer full): the subscription, or %NULL.
 */
natsSubscription *vigil_fleet_device_runs_subscribe (jsCtx *js,
                                                     const char *device_id,
                                                     GError **error);

/**
 * vigil_fleet_device_settings_subscribe:
 * @js: a JetStream context of the device's connection
 * @device_id: the device
 * @error: return location for a #GError
 *
 * Binds to the device's own durable consumer of its settings key: the
 * first fetch gets the current value, later ones each change.
 *
 * Returns: (transfer full): the subscription, or %NULL.
 */
natsSubscription *vigil_fleet_device_settings_subscribe (jsCtx *js,
                                                         const char *device_id,
                                                         GError **error);

/**
 * vigil_fleet_console_reports_subscribe:
 * @js: a JetStream context of the console's connection
 * @error: return location for a #GError
 *
 * Binds to the console's durable consumer of every device's reports.
 * Acknowledge a report once it is stored in the console's database; the
 * broker delivers it again otherwise, across restarts of either.
 *
 * Returns: (transfer full): the subscription, or %NULL.
 */
natsSubscription *vigil_fleet_console_reports_subscribe (jsCtx *js,
                                                         GError **error);

G_END_DECLS
