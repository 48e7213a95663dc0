/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine object: owns the spool and the throttle of one
 * device's telemetry, takes settings from the plugin, and accepts events:
 * TTL de-duplication, then throttling, then the spool, so that an accepted
 * event is on disk before the handler returns. Periods are measured on the
 * hooks' clock; kata_engine_tick() starts the transmission cycle
 * (kata-sender.c) and the synchronization (kata-sync.c) when they are due.
 */
#include "kata-engine-private.h"
#include "kata-limits.h"

#include <errno.h>
#include <string.h>


static gint64
engine_now (KataEngine *engine)
{
  return engine->hooks.now ? engine->hooks.now (engine->hooks.user_data)
                           : g_get_real_time ();
}

char *
kata_iso_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);

  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("invalid");
}

/* The spool remembers whose telemetry it holds, so that an engine can be
 * reopened from its folder alone after a restart. */
static gboolean
remember_device (KataEngine *engine, GError **error)
{
  if (engine->device_id == NULL)
    {
      engine->device_id = kata_spool_meta_get (engine->spool, "device_id");
      return TRUE;
    }
  return kata_spool_meta_set (engine->spool, "device_id", engine->device_id, error);
}

void
kata_engine_set_hook_data (KataEngine *engine, gpointer user_data)
{
  engine->hooks.user_data = user_data;
}

const char *
kata_engine_device (KataEngine *engine)
{
  return engine->device_id;
}

KataEngine *
kata_engine_new (const KataEngineOptions *options, const KataHooks *hooks,
                 GError **error)
{
  g_autoptr (KataEngine) engine = g_new0 (KataEngine, 1);
  g_autofree char *path = g_build_filename (options->dir, "spool.db", NULL);
  g_autofree char *failing = NULL;

  g_mutex_init (&engine->lock);
  g_mutex_init (&engine->cycle_lock);
  engine->hooks = *hooks;
  engine->device_id = g_strdup (options->device_id);
  engine->ca_file = g_strdup (options->ca_file);
  engine->throttle = kata_throttle_new ();
  engine->settings = kata_settings_new_default ();
  engine->policy = kata_settings_new_default ();
  if (g_mkdir_with_parents (options->dir, 0700) != 0)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "%s: %s", options->dir,
                   g_strerror (errno));
      return NULL;
    }
  engine->fixed_bound = options->spool_max_events != 0;
  engine->spool = kata_spool_open (path, options->spool_max_events
                                   ? options->spool_max_events : KATA_SPOOL_EVENTS_DEFAULT,
                                   options->full_sync, error);
  if (engine->spool == NULL)
    return NULL;
  if (!remember_device (engine, error))
    return NULL;
  kata_engine_load_counters (engine);
  kata_engine_load_overrides (engine);
  kata_engine_load_window (engine, engine_now (engine));
  failing = kata_spool_meta_get (engine->spool, "delivery_failing");
  engine->delivery_failing = g_strcmp0 (failing, "1") == 0;
  return g_steal_pointer (&engine);
}

void
kata_engine_free (KataEngine *engine)
{
  if (engine == NULL)
    return;
  if (engine->spool != NULL)
    kata_engine_save_counters (engine);
  kata_spool_close (engine->spool);
  kata_throttle_free (engine->throttle);
  kata_settings_free (engine->settings);
  kata_settings_free (engine->policy);
  g_clear_pointer (&engine->overrides, json_object_unref);
  g_clear_pointer (&engine->throttle_saved, json_object_unref);
  g_mutex_clear (&engine->lock);
  g_mutex_clear (&engine->cycle_lock);
  g_free (engine->device_id);
  g_free (engine->ca_file);
  g_free (engine->last_refusal);
  g_free (engine->last_error);
  g_free (engine->last_server);
  g_free (engine);
}

/* The policy's bound; a shrink drops at once and the drops are reported
 * by the next cycle's kata.events_dropped, as those of a full spool. */
static void
apply_bound (KataEngine *engine, guint64 max_events)
{
  g_autoptr (GError) error = NULL;
  guint dl = 0, dh = 0;

  if (!kata_spool_set_max (engine->spool, max_events, &dl, &dh, &error))
    {
      kata_engine_set_error (engine, NULL, error);
      return;
    }
  if (dl + dh == 0)
    return;
  g_mutex_lock (&engine->lock);
  engine->dropped_low += dl;
  engine->dropped_high += dh;
  g_mutex_unlock (&engine->lock);
}

void
kata_engine_configure (KataEngine *engine, const KataSettings *settings)
{
  KataSettings *copy = kata_settings_copy (settings);

  /* With the integration off the spool is left as it is, for when it is
   * on again: the bound of settings that send nothing (the defaults, once
   * the policy is gone) must not drop what an earlier policy kept. */
  if (!engine->fixed_bound && settings->enabled)
    apply_bound (engine, settings->spool_max_events);
  g_mutex_lock (&engine->lock);
  kata_settings_free (engine->policy);
  engine->policy = copy;
  /* The server's overrides keep winning over the new policy. */
  kata_engine_apply_settings (engine);
  g_mutex_unlock (&engine->lock);
}

void
kata_engine_emit (KataEngine *engine, const char *type, JsonObject *payload)
{
  if (engine->hooks.emit)
    engine->hooks.emit (engine->hooks.user_data, type, payload);
}

void
kata_engine_note_excluded (KataEngine *engine)
{
  g_mutex_lock (&engine->lock);
  engine->excluded++;
  g_mutex_unlock (&engine->lock);
}

static const char *
payload_string (JsonObject *record, const char *key)
{
  return vigil_json_get_string (vigil_json_get_object (record, "payload"), key);
}

/* Under engine->lock: whether the event goes to the spool at all. A
 * process start that goes gets its TTL key in @ttl_key, remembered by the
 * spool with the event (a start held back by throttling was not sent, so
 * it does not open a TTL period). */
static gboolean
admit (KataEngine *engine, const char *type, JsonObject *record, gint64 now,
       char **ttl_key)
{
  const KataSettings *s = engine->settings;

  if (!s->enabled)
    {
      engine->disabled++;
      return FALSE;
    }
  if (s->use_ttl && g_strcmp0 (type, "process.started") == 0)
    {
      const char *image = payload_string (record, "image");
      const char *sha256 = payload_string (record, "sha256");
      *ttl_key = g_strconcat (image ? image : "", "\n", sha256 ? sha256 : "", NULL);
      if (kata_spool_ttl_recent (engine->spool, *ttl_key, now,
                                 (gint64) s->ttl_min * 60 * G_USEC_PER_SEC))
        {
          engine->ttl_suppressed++;
          return FALSE;
        }
    }
  return kata_throttle_admit (engine->throttle, type,
                              kata_event_importance (type), now);
}

gboolean
kata_engine_submit (KataEngine *engine, const char *type, JsonObject *record,
                    GError **error)
{
  gint64 now = engine_now (engine);
  g_autofree char *json = NULL;
  g_autofree char *ttl_key = NULL;
  g_autoptr (JsonNode) node = NULL;
  KataSpoolItem item = { type, kata_event_importance (type), now, NULL, NULL };
  guint dl = 0, dh = 0;
  gboolean go;

  g_mutex_lock (&engine->lock);
  engine->submitted++;
  go = admit (engine, type, record, now, &ttl_key);
  g_mutex_unlock (&engine->lock);
  if (!go)
    return TRUE;
  node = json_node_init_object (json_node_alloc (), record);
  item.json = json = json_to_string (node, FALSE);
  item.ttl_key = ttl_key;
  if (!kata_spool_append (engine->spool, &item, 1, &dl, &dh, error))
    return FALSE;
  if (dl + dh > 0)
    {
      g_mutex_lock (&engine->lock);
      engine->dropped_low += dl;
      engine->dropped_high += dh;
      g_mutex_unlock (&engine->lock);
    }
  return TRUE;
}

guint64
kata_engine_spooled (KataEngine *engine)
{
  return kata_spool_count (engine->spool);
}

/* The spool's commits reach the disk here (see kata-spool-durable.c). The
 * interval is real time, not the hooks' clock: it bounds what a power loss
 * can take, a property of the disk, not of the policy. */
static void
durable_point (KataEngine *engine)
{
  gint64 mono = g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;

  if (engine->durable_us != 0 && mono - engine->durable_us < G_USEC_PER_SEC)
    return;
  engine->durable_us = mono;
  if (!kata_spool_make_durable (engine->spool, &error))
    kata_engine_set_error (engine, NULL, error);
}

void
kata_engine_tick (KataEngine *engine)
{
  gint64 now = engine_now (engine);
  gboolean enabled, send_due, sync_due;

  durable_point (engine);
  g_mutex_lock (&engine->lock);
  enabled = engine->settings->enabled && engine->settings->servers->len > 0;
  /* A clock set back makes the work due at once rather than never. */
  send_due = !engine->ever_sent || now < engine->last_send_us ||
             now - engine->last_send_us >=
             (gint64) engine->settings->period_sec * G_USEC_PER_SEC;
  sync_due = engine->last_sync_us == 0 || now < engine->last_sync_us ||
             now - engine->last_sync_us >=
             (gint64) engine->settings->sync_period_min * 60 * G_USEC_PER_SEC;
  g_mutex_unlock (&engine->lock);
  if (!enabled)
    return;
  if (send_due)
    kata_engine_send_now (engine, NULL);
  if (sync_due)
    kata_engine_sync_now (engine);
}

void
kata_engine_set_error (KataEngine *engine, const char *server,
                       const GError *error)
{
  g_mutex_lock (&engine->lock);
  g_free (engine->last_error);
  engine->last_error = error ? g_strdup (error->message) : NULL;
  g_free (engine->last_server);
  engine->last_server = g_strdup (server);
  g_mutex_unlock (&engine->lock);
}

static void
set_count (JsonObject *o, const char *key, guint64 v)
{
  json_object_set_int_member (o, key, (gint64) v);
}

JsonObject *
kata_engine_status (KataEngine *engine)
{
  JsonObject *o = json_object_new ();
  JsonObject *failures = kata_engine_server_failures (engine);

  g_mutex_lock (&engine->lock);
  json_object_set_string_member (o, "device", engine->device_id);
  json_object_set_string_member (o, "agent_id", kata_spool_agent_id (engine->spool));
  json_object_set_boolean_member (o, "enabled", engine->settings->enabled);
  set_count (o, "spooled", kata_spool_count (engine->spool));
  set_count (o, "durable_points", kata_spool_durable_points (engine->spool));
  set_count (o, "submitted", engine->submitted);
  set_count (o, "excluded", engine->excluded);
  set_count (o, "not_sent_disabled", engine->disabled);
  set_count (o, "ttl_suppressed", engine->ttl_suppressed);
  set_count (o, "dropped_low", engine->dropped_low);
  set_count (o, "dropped_high", engine->dropped_high);
  set_count (o, "sent_events", engine->sent_events);
  set_count (o, "sent_packages", engine->sent_packages);
  set_count (o, "failed_cycles", engine->failed_cycles);
  set_count (o, "syncs", engine->syncs);
  set_count (o, "sync_failures", engine->sync_failures);
  set_count (o, "tasks_created", engine->tasks_created);
  if (engine->last_delivery_us)
    {
      g_autofree char *when = kata_iso_time (engine->last_delivery_us);
      json_object_set_string_member (o, "last_delivery", when);
    }
  json_object_set_string_member (o, "last_server", engine->last_server);
  json_object_set_string_member (o, "last_error", engine->last_error);
  json_object_set_object_member (o, "throttling", kata_engine_throttle_totals (engine));
  json_object_set_object_member (o, "settings", kata_engine_settings_status (engine));
  json_object_set_object_member (o, "server_failures", failures);
  g_mutex_unlock (&engine->lock);
  return o;
}
