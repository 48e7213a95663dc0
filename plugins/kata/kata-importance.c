/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How important each telemetry event is. Detections (sandbox, IOC,
 * endpoint protection findings, objects quarantined because of one) and
 * the outcomes of tasks the central node sent are of high importance:
 * throttling never holds them back. The rest (process starts, network
 * connections, quarantine housekeeping, failed responses) are of low
 * importance. docs/kata.md lists the same table.
 */
#include "kata-engine.h"

static const char *const high_importance[] = {
  "sandbox.threat_detected",
  "ioc.found",
  "epp.scan_finding",
  "quarantine.added",
  /* An object a response action deleted, like one quarantined. */
  "file.deleted",
  /* What became of a task the central node sent: never held back. */
  "task.completed",
  "task.failed",
  "task.rejected",
  NULL,
};

KataImportance
kata_event_importance (const char *type)
{
  if (type != NULL && g_strv_contains (high_importance, type))
    return KATA_IMPORTANCE_HIGH;
  return KATA_IMPORTANCE_LOW;
}
