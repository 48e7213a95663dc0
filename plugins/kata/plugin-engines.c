/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One engine per device: each device is an agent with its own effective
 * `kata` settings, spool (<data_dir>/devices/<device>/spool.db), counters
 * and sequence ids. Engines are created for a device when its integration
 * is enabled, and reopened at start for every spool left by an earlier run,
 * so that events kept on disk go out after a restart. A one-second timer on
 * the main context (it runs under `vigil serve`) hands the periodic work to
 * a single worker thread, which runs each engine's tick: sends and
 * synchronizations when their periods are due on the host clock. Settings
 * are re-read from the host every REFRESH_US of host time.
 */
#include "plugin-private.h"

#include <string.h>

#define REFRESH_US (10 * G_USEC_PER_SEC)
#define HOST_KEY   "_host"   /* events without a device */

typedef struct {
  KataEngine *engine;
  gint64      refreshed_us;
} Entry;

static GMutex       lock;
static GHashTable  *engines;        /* device key -> Entry */
static GHashTable  *disabled;       /* device key -> gint64 * last check */
static GThreadPool *worker;
static guint        timer_id;
static gint         busy;
static gint64       rescanned_us;

/* The device id to give the host: none for the host-wide engine. */
static const char *
host_device (KataEngine *engine)
{
  const char *device = kata_engine_device (engine);

  return g_strcmp0 (device, HOST_KEY) == 0 ? NULL : device;
}

static gint64
host_now (gpointer data)
{
  return kata_api->now (kata_self);
}

static void
hook_emit (gpointer data, const char *type, JsonObject *payload)
{
  KataEngine *engine = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = kata_api->emit_event (kata_self, type,
                                              host_device (engine), 1,
                                              payload, &error);

  if (id == NULL)
    kata_api->log (kata_self, G_LOG_LEVEL_WARNING, "cannot report %s: %s",
                   type, error ? error->message : "unknown error");
}

static char *
hook_create_task (gpointer data, JsonObject *task, GError **error)
{
  KataEngine *engine = data;
  g_autoptr (JsonObject) empty = json_object_new ();
  JsonNode *params = json_object_get_member (task, "params");
  JsonNode *schedule = json_object_get_member (task, "schedule");
  /* The reply parser checked its shape; the host judges its meaning. */
  g_autofree char *schedule_json = schedule && JSON_NODE_HOLDS_OBJECT (schedule)
      ? json_to_string (schedule, FALSE) : NULL;
  VigilTaskSpec spec = {
    .type = json_object_get_string_member (task, "type"),
    .name = json_object_get_string_member_with_default (task, "name", "Task from the central node"),
    .device_id = host_device (engine),
    .params = params ? json_node_get_object (params) : empty,
    .schedule = schedule_json,   /* NULL: now */
  };
  GError *local = NULL;
  char *id = kata_api->create_task (kata_self, &spec, sizeof spec, &local);

  if (id == NULL && spec.type != NULL && VIGIL_API_HAS (kata_api, has_task_type) &&
      !kata_api->has_task_type (kata_self, spec.type))
    {
      /* No plugin here provides the type: the node must hear that this
       * device cannot run it, apart from a task it got wrong. */
      g_set_error (error, KATA_ERROR, KATA_ERROR_TASK_UNSUPPORTED,
                   "this device cannot run tasks of type '%s': %s", spec.type,
                   local ? local->message : "no plugin provides it");
      g_clear_error (&local);
      return NULL;
    }
  if (local != NULL)
    g_propagate_error (error, local);
  return id;
}

static char *
hook_resolve_proxy (gpointer data, const char *url, GError **error)
{
  KataEngine *engine = data;

  if (!VIGIL_API_HAS (kata_api, resolve_proxy))
    return NULL;
  return kata_api->resolve_proxy (kata_self, host_device (engine), url, error);
}

KataSettings *
kata_settings_for (const char *device_id, GError **error)
{
  g_autoptr (JsonObject) values =
      kata_api->get_effective_settings (kata_self, device_id, "kata", error);

  return values ? kata_settings_from_json (values, error) : NULL;
}

static char *
device_folder (const char *key)
{
  g_autofree char *safe = NULL;

  /* Device ids are [A-Za-z0-9._-]+; "." and ".." must not become paths. */
  if (strcmp (key, ".") == 0 || strcmp (key, "..") == 0 ||
      strspn (key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen (key))
    safe = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  return g_build_filename (kata_api->data_dir (kata_self), "devices",
                           safe ? safe : key, NULL);
}

static KataEngine *
open_engine (const char *dir, const char *device_id, GError **error)
{
  KataHooks hooks = { host_now, hook_emit, hook_create_task, hook_resolve_proxy, NULL };
  /* WAL with synchronous=NORMAL and a durable point every second, like the
   * host's event log that feeds the handlers (host/base/store.c): an fsync
   * per event would buy nothing end to end, and costs the 10,000 events/s.
   * See docs/kata.md, "Durability". */
  KataEngineOptions options = { .dir = dir, .device_id = device_id, .full_sync = FALSE };
  KataEngine *engine = kata_engine_new (&options, &hooks, error);

  /* The hooks need the engine itself to know the device. */
  if (engine != NULL)
    kata_engine_set_hook_data (engine, engine);
  return engine;
}

static void
configure (Entry *entry, const char *device_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KataSettings) settings = kata_settings_for (device_id, &error);

  entry->refreshed_us = kata_api->now (kata_self);
  if (settings == NULL)
    {
      kata_api->log (kata_self, G_LOG_LEVEL_WARNING, "settings of %s: %s",
                     device_id ? device_id : "the host", error->message);
      return;
    }
  kata_engine_configure (entry->engine, settings);
}

/* Whether an engine's settings are due to be read again (also when the
 * host clock was set back). */
static gboolean
stale (Entry *entry)
{
  gint64 now = kata_api->now (kata_self);

  return now - entry->refreshed_us >= REFRESH_US || now < entry->refreshed_us;
}

static Entry *
add_engine (const char *key, KataEngine *engine)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->engine = engine;
  g_hash_table_insert (engines, g_strdup (key), entry);
  return entry;
}

static void
entry_free (gpointer p)
{
  Entry *entry = p;

  kata_engine_free (entry->engine);
  g_free (entry);
}

/* Whether an engine already works from @path. */
static gboolean
known_folder (const char *path)
{
  GHashTableIter it;
  gpointer key;
  gboolean known = FALSE;

  g_mutex_lock (&lock);
  g_hash_table_iter_init (&it, engines);
  while (!known && g_hash_table_iter_next (&it, &key, NULL))
    {
      g_autofree char *dir = device_folder (key);
      known = strcmp (dir, path) == 0;
    }
  g_mutex_unlock (&lock);
  return known;
}

/* Reopens the spools an earlier run (or another process) left, so their
 * events go out. */
static void
restore_engines (void)
{
  g_autofree char *root = g_build_filename (kata_api->data_dir (kata_self), "devices", NULL);
  g_autoptr (GDir) dir = g_dir_open (root, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, NULL);
      g_autoptr (GError) error = NULL;
      KataEngine *engine;
      const char *device;
      Entry *entry;

      if (known_folder (path))
        continue;
      engine = open_engine (path, NULL, &error);
      if (engine == NULL)
        {
          kata_api->log (kata_self, G_LOG_LEVEL_WARNING, "spool %s: %s", path,
                         error->message);
          continue;
        }
      device = kata_engine_device (engine);
      g_mutex_lock (&lock);
      entry = g_hash_table_contains (engines, device ? device : HOST_KEY)
          ? NULL : add_engine (device ? device : HOST_KEY, engine);
      g_mutex_unlock (&lock);
      if (entry == NULL)
        kata_engine_free (engine);
      else
        configure (entry, device && strcmp (device, HOST_KEY) ? device : NULL);
    }
}

/* Whether integration is enabled for @device_id, asking the host at most
 * once per REFRESH_US of host time for a device known to be disabled. */
static gboolean
recently_disabled (const char *key)
{
  gint64 *checked = g_hash_table_lookup (disabled, key);
  gint64 now = kata_api->now (kata_self);

  return checked != NULL && now - *checked < REFRESH_US && now >= *checked;
}

KataEngine *
kata_engines_for (const char *device_id)
{
  const char *key = device_id ? device_id : HOST_KEY;
  g_autoptr (KataSettings) settings = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GError) error = NULL;
  KataEngine *engine;
  Entry *entry;

  g_mutex_lock (&lock);
  entry = g_hash_table_lookup (engines, key);
  g_mutex_unlock (&lock);
  if (entry != NULL)
    {
      if (stale (entry))
        configure (entry, device_id);
      return entry->engine;
    }
  if (recently_disabled (key))
    return NULL;
  settings = kata_settings_for (device_id, NULL);
  if (settings == NULL || !settings->enabled)
    {
      gint64 *now = g_new (gint64, 1);
      *now = kata_api->now (kata_self);
      g_hash_table_replace (disabled, g_strdup (key), now);
      return NULL;
    }
  dir = device_folder (key);
  if ((engine = open_engine (dir, key, &error)) == NULL)
    {
      kata_api->log (kata_self, G_LOG_LEVEL_WARNING, "%s", error->message);
      return NULL;
    }
  g_mutex_lock (&lock);
  entry = add_engine (key, engine);
  g_mutex_unlock (&lock);
  entry->refreshed_us = kata_api->now (kata_self);
  kata_engine_configure (engine, settings);
  return engine;
}

void
kata_engines_refresh (void)
{
  GHashTableIter it;
  gpointer key, value;

  g_mutex_lock (&lock);
  g_hash_table_iter_init (&it, engines);
  while (g_hash_table_iter_next (&it, &key, &value))
    configure (value, strcmp (key, HOST_KEY) ? key : NULL);
  g_hash_table_remove_all (disabled);
  g_mutex_unlock (&lock);
}

GPtrArray *
kata_engines_all (void)
{
  GPtrArray *all = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_mutex_lock (&lock);
  g_hash_table_iter_init (&it, engines);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (all, ((Entry *) value)->engine);
  g_mutex_unlock (&lock);
  return all;
}

/* On the worker thread: every engine's periodic work. Engines are never
 * removed while the plugin runs, so the pointers stay valid. */
static void
work (gpointer data, gpointer user_data)
{
  g_autoptr (GPtrArray) all = kata_engines_all ();

  for (guint i = 0; i < all->len; i++)
    kata_engine_tick (g_ptr_array_index (all, i));
  g_atomic_int_set (&busy, 0);
}

static gboolean
on_timer (gpointer data)
{
  /* Settings are read on the main thread (the host's store); the network
   * I/O runs on the worker, one round at a time. */
  if (g_atomic_int_compare_and_exchange (&busy, 0, 1))
    {
      GHashTableIter it;
      gpointer key, value;
      gint64 now = kata_api->now (kata_self);

      /* Other processes (`vigil event emit`) may have started spools for
       * devices this one has not seen yet. */
      if (now - rescanned_us >= REFRESH_US || now < rescanned_us)
        {
          rescanned_us = now;
          restore_engines ();
        }
      g_mutex_lock (&lock);
      g_hash_table_iter_init (&it, engines);
      while (g_hash_table_iter_next (&it, &key, &value))
        if (stale (value))
          configure (value, strcmp (key, HOST_KEY) ? key : NULL);
      g_mutex_unlock (&lock);
      g_thread_pool_push (worker, GINT_TO_POINTER (1), NULL);
    }
  return G_SOURCE_CONTINUE;
}

void
kata_engines_init (void)
{
  engines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  disabled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  worker = g_thread_pool_new (work, NULL, 1, FALSE, NULL);
  restore_engines ();
  timer_id = g_timeout_add_seconds (1, on_timer, NULL);
}

void
kata_engines_shutdown (void)
{
  if (timer_id)
    g_source_remove (timer_id);
  timer_id = 0;
  if (worker)
    g_thread_pool_free (worker, FALSE, TRUE);
  worker = NULL;
  g_clear_pointer (&engines, g_hash_table_unref);
  g_clear_pointer (&disabled, g_hash_table_unref);
}
