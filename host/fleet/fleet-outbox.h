/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's two on-disk records that make "nothing lost, nothing twice"
 * hold across crashes and broker outages: the outbox, where every report
 * (event, finding, result) is written before it is published and deleted
 * only once the stream acknowledged it (a report published again after a
 * crash carries the same message id, so the stream stores it once); and
 * the run journal, where a run id is claimed before the run executes, so
 * that a run delivered twice executes once.
 */
#pragma once

#include "fleet-connect.h"

G_BEGIN_DECLS

/* Longest report an outbox takes: the broker's max_payload. */
#define VIGIL_FLEET_OUTBOX_MAX_BYTES (1024 * 1024)

typedef struct _VigilFleetOutbox VigilFleetOutbox;

/**
 * vigil_fleet_outbox_open:
 * @dir: the outbox folder (created with mode 0700)
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the outbox, with what an earlier process left
 *   in it still pending, or %NULL.
 */
VigilFleetOutbox *vigil_fleet_outbox_open (const char *dir, GError **error);
void              vigil_fleet_outbox_free (VigilFleetOutbox *outbox);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilFleetOutbox, vigil_fleet_outbox_free)

/**
 * vigil_fleet_outbox_put:
 * @outbox: the outbox
 * @subject: where the report goes (the device's own report subject)
 * @msg_id: its message id, for the stream's de-duplication
 * @data: the report (UTF-8 text, JSON)
 * @len: its length, or -1 if NUL-terminated
 * @error: return location for a #GError
 *
 * Stores the report on disk (atomically, fsynced) after the ones already
 * there. Returns: %TRUE once it is on disk.
 */
gboolean vigil_fleet_outbox_put     (VigilFleetOutbox *outbox, const char *subject,
                                     const char *msg_id, const char *data, gssize len,
                                     GError **error);

/* Reports on disk, not yet acknowledged by the stream. */
guint    vigil_fleet_outbox_pending (VigilFleetOutbox *outbox);

/**
 * vigil_fleet_outbox_flush:
 * @outbox: the outbox
 * @js: a JetStream context of the device's connection
 * @sent: (out) (optional): how many reports the stream acknowledged
 * @duplicates: (out) (optional): how many of those it already had
 * @error: return location for a #GError
 *
 * Publishes the pending reports in the order they were put, deleting each
 * once acknowledged. Stops at the first that fails (the broker down, a
 * refusal): it and the later ones stay, in order, for the next flush. An
 * entry that cannot be read back (damaged on disk) is renamed NAME.bad
 * and reported in @error, never silently dropped.
 *
 * Returns: %TRUE if the outbox is empty.
 */
gboolean vigil_fleet_outbox_flush   (VigilFleetOutbox *outbox, jsCtx *js, guint *sent,
                                     guint *duplicates, GError **error);

/**
 * VigilFleetClaim:
 * @VIGIL_FLEET_CLAIM_NEW: the run was not claimed before: execute it
 * @VIGIL_FLEET_CLAIM_TAKEN: it was (a redelivery): do not execute it again
 * @VIGIL_FLEET_CLAIM_ERROR: the journal could not be written; see the error
 */
typedef enum {
  VIGIL_FLEET_CLAIM_NEW,
  VIGIL_FLEET_CLAIM_TAKEN,
  VIGIL_FLEET_CLAIM_ERROR,
} VigilFleetClaim;

/**
 * vigil_fleet_run_claim:
 * @journal_dir: the run journal's folder (created with mode 0700)
 * @run_id: the run's id: 1 to 128 of A-Z a-z 0-9 '.' '_' '-', not
 *   starting with '.'
 * @error: return location for a #GError
 *
 * Claims @run_id, durably (the claim is fsynced with its folder before
 * this returns), once: of all calls for one id, across processes and
 * restarts, exactly one gets %VIGIL_FLEET_CLAIM_NEW.
 */
VigilFleetClaim vigil_fleet_run_claim (const char *journal_dir, const char *run_id,
                                       GError **error);

G_END_DECLS
