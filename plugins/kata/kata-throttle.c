/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Request throttling: keeps the flow of low-importance telemetry under the
 * hourly maximum. Counts live in a sliding window of the last 60 minutes
 * (one bucket per minute of the injected clock). The flow "tends to exceed"
 * the maximum when the events offered in the window, projected to a full
 * hour (the window is shorter than an hour right after start), are more
 * than the maximum. Then the low-importance types whose share of the
 * offered flow is above the configured percentage are held back first:
 * each may use at most that percentage of the hourly maximum. The other
 * low-importance types pass while the admitted total stays under the
 * maximum. High-importance events (detections) always pass. Every decision
 * is counted per type. The per-minute counts can be shared with other
 * processes (through the spool): what this one counted and has not shared
 * yet is taken out, and the shared totals are set back in.
 */
#include "kata-engine.h"

#include <string.h>

#define WINDOW_MINUTES 60

typedef struct {
  gint64 minute[WINDOW_MINUTES];
  guint  count[WINDOW_MINUTES];
  guint  saved[WINDOW_MINUTES];   /* of count, already shared */
} Window;

typedef struct {
  Window  offered;
  Window  admitted;
  guint64 total_offered;
  guint64 total_admitted;
  guint64 total_held;
} TypeStats;

struct _KataThrottle {
  gboolean    enabled;
  guint       max_per_hour;
  guint       excess_percent;
  Window      offered;
  Window      admitted;
  GHashTable *types;           /* type -> TypeStats */
  gint64      start_us;        /* first event offered, or G_MININT64 */
  guint64     total_offered;
  guint64     total_admitted;
  guint64     total_held;
};

static void
window_add (Window *w, gint64 minute)
{
  guint slot = (guint) (minute % WINDOW_MINUTES);

  if (w->minute[slot] != minute)
    {
      w->minute[slot] = minute;
      w->count[slot] = 0;
      w->saved[slot] = 0;
    }
  w->count[slot]++;
}

static guint64
window_sum (const Window *w, gint64 minute)
{
  guint64 sum = 0;

  for (guint i = 0; i < WINDOW_MINUTES; i++)
    if (w->minute[i] > minute - WINDOW_MINUTES && w->minute[i] <= minute)
      sum += w->count[i];
  return sum;
}

static void
window_init (Window *w)
{
  for (guint i = 0; i < WINDOW_MINUTES; i++)
    w->minute[i] = G_MININT64 / 2;
  memset (w->count, 0, sizeof w->count);
  memset (w->saved, 0, sizeof w->saved);
}

KataThrottle *
kata_throttle_new (void)
{
  KataThrottle *t = g_new0 (KataThrottle, 1);

  t->enabled = TRUE;
  t->max_per_hour = 3000;
  t->excess_percent = 15;
  window_init (&t->offered);
  window_init (&t->admitted);
  t->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  t->start_us = G_MININT64;
  return t;
}

void
kata_throttle_free (KataThrottle *throttle)
{
  if (throttle == NULL)
    return;
  g_hash_table_unref (throttle->types);
  g_free (throttle);
}

void
kata_throttle_configure (KataThrottle *throttle, gboolean enabled,
                         guint max_per_hour, guint excess_percent)
{
  throttle->enabled = enabled;
  throttle->max_per_hour = MAX (max_per_hour, 1);
  throttle->excess_percent = CLAMP (excess_percent, 1, 100);
}

static TypeStats *
type_stats (KataThrottle *t, const char *type)
{
  TypeStats *ts = g_hash_table_lookup (t->types, type);

  if (ts == NULL)
    {
      ts = g_new0 (TypeStats, 1);
      window_init (&ts->offered);
      window_init (&ts->admitted);
      g_hash_table_insert (t->types, g_strdup (type), ts);
    }
  return ts;
}

/* The offered flow projected to an hour: the window covers less than an
 * hour until an hour has passed since the first event (at least a minute
 * is assumed, so that the first events do not project to infinity). */
static guint64
projected_per_hour (KataThrottle *t, gint64 minute, gint64 now_us)
{
  guint64 offered = window_sum (&t->offered, minute);
  gint64 span = CLAMP (now_us - t->start_us, 60 * G_USEC_PER_SEC,
                       (gint64) WINDOW_MINUTES * 60 * G_USEC_PER_SEC);

  return offered * ((guint64) WINDOW_MINUTES * 60 * G_USEC_PER_SEC) / (guint64) span;
}

static gboolean
decide (KataThrottle *t, TypeStats *ts, KataImportance importance,
        gint64 minute, gint64 now_us)
{
  guint64 offered, type_offered;

  if (importance == KATA_IMPORTANCE_HIGH || !t->enabled)
    return TRUE;
  if (projected_per_hour (t, minute, now_us) <= t->max_per_hour)
    return TRUE;
  if (window_sum (&t->admitted, minute) >= t->max_per_hour)
    return FALSE;
  /* The flow tends to exceed the maximum: the dominant types go first. */
  offered = window_sum (&t->offered, minute);
  type_offered = window_sum (&ts->offered, minute);
  if (type_offered * 100 <= (guint64) t->excess_percent * offered)
    return TRUE;
  return window_sum (&ts->admitted, minute) * 100 <
         (guint64) t->excess_percent * t->max_per_hour;
}

gboolean
kata_throttle_admit (KataThrottle *throttle, const char *type,
                     KataImportance importance, gint64 now_us)
{
  gint64 minute = now_us / (60 * G_USEC_PER_SEC);
  TypeStats *ts = type_stats (throttle, type);
  gboolean admit;

  if (throttle->start_us == G_MININT64 || now_us < throttle->start_us)
    throttle->start_us = now_us;
  window_add (&throttle->offered, minute);
  window_add (&ts->offered, minute);
  throttle->total_offered++;
  ts->total_offered++;
  admit = decide (throttle, ts, importance, minute, now_us);
  if (admit)
    {
      window_add (&throttle->admitted, minute);
      window_add (&ts->admitted, minute);
      throttle->total_admitted++;
      ts->total_admitted++;
    }
  else
    {
      throttle->total_held++;
      ts->total_held++;
    }
  return admit;
}

static JsonObject *
counts (guint64 offered, guint64 admitted, guint64 held)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "offered", (gint64) offered);
  json_object_set_int_member (o, "admitted", (gint64) admitted);
  json_object_set_int_member (o, "held_back", (gint64) held);
  return o;
}

JsonObject *
kata_throttle_counters (KataThrottle *throttle)
{
  JsonObject *o = counts (throttle->total_offered, throttle->total_admitted,
                          throttle->total_held);
  JsonObject *types = json_object_new ();
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, throttle->types);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      TypeStats *ts = value;
      json_object_set_object_member (types, key, counts (ts->total_offered,
                                     ts->total_admitted, ts->total_held));
    }
  json_object_set_object_member (o, "types", types);
  return o;
}

/* ---- sharing the window between processes --------------------------- */

/* @count is the shared total of @minute (ours included). */
static void
window_set (Window *w, gint64 minute, guint count)
{
  guint slot = (guint) (minute % WINDOW_MINUTES);

  if (w->minute[slot] > minute)
    return;   /* a later minute took the slot: this one left the window */
  if (w->minute[slot] != minute)
    {
      w->minute[slot] = minute;
      w->count[slot] = 0;
    }
  w->count[slot] = MAX (w->count[slot], count);
  w->saved[slot] = w->count[slot];
}

static void
window_add_all (Window *to, const Window *from)
{
  for (guint i = 0; i < WINDOW_MINUTES; i++)
    {
      if (to->minute[i] != from->minute[i])
        {
          to->minute[i] = from->minute[i];
          to->count[i] = 0;
        }
      to->count[i] += from->count[i];
    }
}

void
kata_throttle_share (KataThrottle *throttle, const char *type, gint64 minute,
                     guint offered, guint admitted)
{
  TypeStats *ts = type_stats (throttle, type);
  gint64 start = minute * 60 * G_USEC_PER_SEC;

  window_set (&ts->offered, minute, offered);
  window_set (&ts->admitted, minute, admitted);
  if (throttle->start_us == G_MININT64 || start < throttle->start_us)
    throttle->start_us = start;
}

void
kata_throttle_shared_done (KataThrottle *throttle)
{
  GHashTableIter it;
  gpointer value;

  /* The totals of all types are the sums of the per-type windows. */
  window_init (&throttle->offered);
  window_init (&throttle->admitted);
  g_hash_table_iter_init (&it, throttle->types);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      window_add_all (&throttle->offered, &((TypeStats *) value)->offered);
      window_add_all (&throttle->admitted, &((TypeStats *) value)->admitted);
    }
}

void
kata_throttle_take_unshared (KataThrottle *throttle, KataThrottleVisitFunc visit,
                             gpointer user_data)
{
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, throttle->types);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      TypeStats *ts = value;
      for (guint i = 0; i < WINDOW_MINUTES; i++)
        {
          guint off = ts->offered.count[i] - ts->offered.saved[i];
          guint adm = ts->admitted.count[i] - ts->admitted.saved[i];
          if (off > 0)
            visit (key, ts->offered.minute[i], off, 0, user_data);
          if (adm > 0)
            visit (key, ts->admitted.minute[i], 0, adm, user_data);
          ts->offered.saved[i] = ts->offered.count[i];
          ts->admitted.saved[i] = ts->admitted.count[i];
        }
    }
}
