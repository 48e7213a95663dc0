/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sender's counters, kept in the spool so that every process using
 * it sees the same totals: `vigil serve` sends, each `vigil event emit`
 * submits, `vigil kata status` shows. A save adds what changed since the
 * previous save (counters and per-type throttling totals) in one
 * transaction, then takes the totals back; the last delivery time and the
 * last error are kept beside them. The throttling window is shared the
 * same way, per type and minute, so that a flow made of separate commands
 * is throttled as one.
 */
#include "kata-engine-private.h"

#include <string.h>

/* The counters live in the spool, shared by every process that uses it
 * (`vigil serve`, `vigil event emit`, `vigil kata status`): each save adds
 * what changed since the last one, then takes the totals back. */
#define COUNTERS(X) X (submitted) X (excluded) X (disabled) X (ttl_suppressed) \
  X (dropped_low) X (dropped_high) X (dropped_reported) X (sent_events)      \
  X (sent_packages)                                                           \
  X (failed_cycles) X (syncs) X (sync_failures) X (tasks_created)

static void
throttle_deltas (KataEngine *engine, JsonObject *deltas)
{
  g_autoptr (JsonObject) now = kata_throttle_counters (engine->throttle);
  JsonObject *types = json_object_get_object_member (now, "types");
  JsonObject *before = engine->throttle_saved;
  const char *fields[] = { "offered", "admitted", "held_back" };
  g_autoptr (GList) names = json_object_get_members (types);

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *cur = json_object_get_object_member (types, l->data);
      JsonObject *old = before && json_object_has_member (before, l->data)
          ? json_object_get_object_member (before, l->data) : NULL;
      for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
        {
          g_autofree char *name = g_strdup_printf ("throttle/%s/%s",
                                                   (const char *) l->data, fields[f]);
          gint64 was = old ? json_object_get_int_member (old, fields[f]) : 0;
          json_object_set_int_member (deltas, name,
                                      json_object_get_int_member (cur, fields[f]) - was);
        }
    }
  g_clear_pointer (&engine->throttle_saved, json_object_unref);
  engine->throttle_saved = json_object_ref (types);
}

void
kata_engine_load_counters (KataEngine *engine)
{
  g_autoptr (JsonObject) totals = kata_spool_counters (engine->spool);
  g_autofree char *last = kata_spool_meta_get (engine->spool, "last_state");
  g_autoptr (JsonNode) n = last ? vigil_json_parse (last, -1, VIGIL_JSON_STRICT, NULL, NULL) : NULL;
  JsonObject *o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;

#define LOAD(f) engine->f = engine->saved.f = \
    (guint64) MAX (json_object_get_int_member_with_default (totals, #f, 0), 0);
  COUNTERS (LOAD)
#undef LOAD
  if (o == NULL)
    return;
  engine->last_delivery_us = MAX (engine->last_delivery_us,
      json_object_get_int_member_with_default (o, "last_delivery_us", 0));
  g_free (engine->last_error);
  engine->last_error = g_strdup (json_object_get_string_member_with_default (o, "last_error", NULL));
  g_free (engine->last_server);
  engine->last_server = g_strdup (json_object_get_string_member_with_default (o, "last_server", NULL));
}

static void
save_last_state (KataEngine *engine)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) n = NULL;
  g_autofree char *text = NULL;

  json_object_set_int_member (o, "last_delivery_us", engine->last_delivery_us);
  if (engine->last_error)
    json_object_set_string_member (o, "last_error", engine->last_error);
  if (engine->last_server)
    json_object_set_string_member (o, "last_server", engine->last_server);
  n = json_node_init_object (json_node_alloc (), g_steal_pointer (&o));
  text = json_to_string (n, FALSE);
  kata_spool_meta_set (engine->spool, "last_state", text, NULL);
}

static void
collect_row (const char *type, gint64 minute, guint offered, guint admitted,
             gpointer data)
{
  JsonArray *row = json_array_new ();

  json_array_add_string_element (row, type);
  json_array_add_int_element (row, minute);
  json_array_add_int_element (row, offered);
  json_array_add_int_element (row, admitted);
  json_array_add_array_element (data, row);
}

/* Under engine->lock: the throttling window of every process using the
 * spool, for the hour before @now_us. */
void
kata_engine_load_window (KataEngine *engine, gint64 now_us)
{
  gint64 minute = now_us / (60 * G_USEC_PER_SEC);
  g_autoptr (JsonArray) rows = kata_spool_window (engine->spool, minute - 59);

  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonArray *row = json_array_get_array_element (rows, i);
      kata_throttle_share (engine->throttle, json_array_get_string_element (row, 0),
                           json_array_get_int_element (row, 1),
                           (guint) json_array_get_int_element (row, 2),
                           (guint) json_array_get_int_element (row, 3));
    }
  kata_throttle_shared_done (engine->throttle);
}

/* Under engine->lock: shares what this process counted, takes the rest. */
static void
save_window (KataEngine *engine)
{
  gint64 now = engine->hooks.now ? engine->hooks.now (engine->hooks.user_data)
                                 : g_get_real_time ();
  g_autoptr (JsonArray) rows = json_array_new ();

  kata_throttle_take_unshared (engine->throttle, collect_row, rows);
  if (json_array_get_length (rows) > 0 &&
      !kata_spool_window_add (engine->spool, rows,
                              now / (60 * G_USEC_PER_SEC) - 60, NULL))
    return;
  kata_engine_load_window (engine, now);
}

void
kata_engine_save_counters (KataEngine *engine)
{
  g_autoptr (JsonObject) deltas = json_object_new ();

  g_mutex_lock (&engine->lock);
#define DELTA(f) json_object_set_int_member (deltas, #f, (gint64) (engine->f - engine->saved.f));
  COUNTERS (DELTA)
#undef DELTA
  throttle_deltas (engine, deltas);
  if (kata_spool_counters_add (engine->spool, deltas, NULL))
    {
      save_last_state (engine);
      kata_engine_load_counters (engine);
    }
  save_window (engine);
  g_mutex_unlock (&engine->lock);
}

/* The throttling totals of every process: the stored ones plus what this
 * one has not saved yet. Under engine->lock. */
JsonObject *
kata_engine_throttle_totals (KataEngine *engine)
{
  g_autoptr (JsonObject) stored = kata_spool_counters (engine->spool);
  g_autoptr (JsonObject) unsaved = json_object_new ();
  g_autoptr (JsonObject) saved_before = engine->throttle_saved
      ? json_object_ref (engine->throttle_saved) : NULL;
  JsonObject *out = json_object_new ();
  JsonObject *types = json_object_new ();
  g_autoptr (GList) names = NULL;
  gint64 sums[3] = { 0, 0, 0 };
  const char *fields[] = { "offered", "admitted", "held_back" };

  /* Compute the unsaved deltas without recording them as saved. */
  throttle_deltas (engine, unsaved);
  g_clear_pointer (&engine->throttle_saved, json_object_unref);
  engine->throttle_saved = g_steal_pointer (&saved_before);
  names = json_object_get_members (stored);
  for (GList *l = names; l != NULL; l = l->next)
    if (g_str_has_prefix (l->data, "throttle/"))
      json_object_set_int_member (unsaved, l->data,
          json_object_get_int_member (stored, l->data) +
          json_object_get_int_member_with_default (unsaved, l->data, 0));
  g_list_free (names);
  names = json_object_get_members (unsaved);
  for (GList *l = names; l != NULL; l = l->next)
    {
      g_auto (GStrv) parts = g_strsplit (l->data, "/", 3);
      JsonObject *t;
      if (g_strv_length (parts) != 3)
        continue;
      if (!json_object_has_member (types, parts[1]))
        json_object_set_object_member (types, parts[1], json_object_new ());
      t = json_object_get_object_member (types, parts[1]);
      json_object_set_int_member (t, parts[2], json_object_get_int_member (unsaved, l->data));
      for (guint f = 0; f < 3; f++)
        if (strcmp (parts[2], fields[f]) == 0)
          sums[f] += json_object_get_int_member (unsaved, l->data);
    }
  for (guint f = 0; f < 3; f++)
    json_object_set_int_member (out, fields[f], sums[f]);
  json_object_set_object_member (out, "types", types);
  return out;
}

