/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The size limit and the remaining-space threshold. Following the product
 * reference, the threshold is the space left in the quarantine until its
 * maximum size, so it only means something with a maximum. An event fires
 * when a change crosses a line upwards (the size reaches the maximum, or the
 * space left falls to the threshold), not on every put above it; after a
 * delete brings the size back under, the next crossing fires again.
 * Quarantining never stops because of either.
 */
#include "qstore.h"

gint64
qlimits_free_mb (guint64 size, gint64 limit_mb)
{
  guint64 limit = (guint64) limit_mb * Q_MB;

  if (limit_mb <= 0 || size >= limit)
    return 0;
  return (gint64) ((limit - size) / Q_MB);
}

QCrossed
qlimits_crossed (guint64 before, guint64 after, gint64 limit_mb,
                 gint64 threshold_mb)
{
  QCrossed crossed = Q_CROSSED_NONE;
  guint64 limit;

  if (limit_mb <= 0)
    return crossed;
  limit = (guint64) limit_mb * Q_MB;
  if (before < limit && after >= limit)
    crossed |= Q_CROSSED_LIMIT;
  if (threshold_mb > 0)
    {
      /* Space left, in bytes; it reaches the threshold when it is at or
       * below it. Computed in bytes so no rounding hides a crossing. */
      guint64 thr = (guint64) threshold_mb * Q_MB;
      guint64 left_before = before >= limit ? 0 : limit - before;
      guint64 left_after = after >= limit ? 0 : limit - after;
      if (left_before > thr && left_after <= thr)
        crossed |= Q_CROSSED_THRESHOLD;
    }
  return crossed;
}
