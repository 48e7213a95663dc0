/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where the `general` section's settings take effect in the host: the proxy
 * for a connection (api->resolve_proxy), telemetry exclusions
 * (api->telemetry_excluded) and the logger's trace files. Proxy and
 * exclusions are per device, because policies are per admin group. The
 * trace files and password protection belong to the machine the host runs
 * on, so they read the local machine's settings: those of the device the
 * inventory records as this machine; with none, the schema defaults.
 *
 * The kata sender asks about every telemetry event, and computing effective
 * settings costs several queries, so per-device settings are cached while
 * the database is unchanged by other processes (SQLite's data_version):
 * policies, devices and local settings are changed by `vigil` commands,
 * which are other processes than a running host. Password protection never
 * uses the cache.
 */
#include "general.h"

struct _VhGeneralCache {
  GMutex       lock;
  gint64       version;  /* data_version the entries were computed at */
  GHashTable  *settings; /* device id -> JsonObject (general section) */
};

VhGeneralCache *
vh_general_cache_new (void)
{
  VhGeneralCache *cache = g_new0 (VhGeneralCache, 1);

  g_mutex_init (&cache->lock);
  cache->version = -1;
  cache->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) json_object_unref);
  return cache;
}

void
vh_general_cache_free (VhGeneralCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->settings);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

/* With the cache locked: the device's settings, (transfer none). */
static JsonObject *
cached_settings (VigilHost *host, VhGeneralCache *cache, const char *device_id,
                 GError **error)
{
  gint64 version = vh_store_data_version (vh_context (host)->store);
  JsonObject *settings;

  if (version < 0 || version != cache->version)
    {
      g_hash_table_remove_all (cache->settings);
      cache->version = version;
    }
  settings = g_hash_table_lookup (cache->settings, device_id ? device_id : "");
  if (settings)
    return settings;
  /* Without a version (a failed query) the entry lives until the next
   * call, which clears the table again. */
  settings = vh_general_settings (host, device_id, error);
  if (settings)
    g_hash_table_insert (cache->settings, g_strdup (device_id ? device_id : ""), settings);
  return settings;
}

/* (transfer full) the id of the device standing for this machine, or NULL.
 * It is recorded in the inventory, never taken from the environment: an
 * environment variable naming another device would redirect protection
 * to a device without it. */
static char *
local_device (VigilHost *host, GError **error)
{
  return vh_inventory_machine (host, error);
}

static JsonObject *
defaults (void)
{
  const VigilSection *section = vh_general_section ();
  JsonObject *values = json_object_new ();

  for (gsize i = 0; i < section->n_groups; i++)
    json_object_set_object_member (values, section->groups[i].id,
                                   vh_schema_defaults (section->groups[i].fields,
                                                       section->groups[i].n_fields));
  return values;
}

JsonObject *
vh_general_settings (VigilHost *host, const char *device_id, GError **error)
{
  g_autofree char *local = NULL;
  g_autoptr (GError) inner = NULL;

  if (device_id != NULL)
    return vh_effective_section (host, device_id, "general", NULL, error);
  local = local_device (host, &inner);
  if (inner)
    {
      g_propagate_error (error, g_steal_pointer (&inner));
      return NULL;
    }
  if (local == NULL)
    return defaults ();
  return vh_effective_section (host, local, "general", NULL, error);
}

char *
vh_general_resolve_proxy (VigilHost *host, const char *device_id,
                          const char *url, GError **error)
{
  VhGeneralCache *cache = vh_context (host)->settings;
  JsonObject *settings;
  char *proxy = NULL;

  g_return_val_if_fail (url != NULL && cache != NULL, NULL);

  g_mutex_lock (&cache->lock);
  settings = cached_settings (host, cache, device_id, error);
  if (settings)
    proxy = vh_proxy_select (vigil_json_get_object (settings, "proxy"), url, g_getenv, error);
  g_mutex_unlock (&cache->lock);
  return proxy;
}

gboolean
vh_general_telemetry_excluded (VigilHost *host, const VigilEvent *event)
{
  VhGeneralCache *cache = vh_context (host)->settings;
  g_autoptr (GError) error = NULL;
  JsonObject *settings;
  gboolean excluded = FALSE;

  g_return_val_if_fail (event != NULL && cache != NULL, FALSE);

  if (!g_str_has_prefix (event->type, "process.")
      && !g_str_has_prefix (event->type, "network."))
    return FALSE;
  g_mutex_lock (&cache->lock);
  settings = cached_settings (host, cache, event->device_id, &error);
  if (settings)
    excluded = vh_exclusions_match (vigil_json_get_object (settings, "telemetry_exclusions"),
                                    event->type, event->payload);
  g_mutex_unlock (&cache->lock);
  if (settings == NULL)
    {
      /* Sending too much is better than silently hiding an event. */
      g_autofree char *msg = g_strdup_printf ("telemetry exclusions of device %s "
                                              "unknown, event %s is sent: %s",
                                              event->device_id ? event->device_id : "(none)",
                                              event->id ? event->id : "", error->message);
      vh_log (host, "host", G_LOG_LEVEL_WARNING, msg);
    }
  return excluded;
}

void
vh_logger_reload (VigilHost *host)
{
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *diag;
  const char *folder = NULL;
  gint64 size_mb = 50, files = 1;

  settings = vh_general_settings (host, NULL, &error);
  if (settings == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("failure diagnosis settings unreadable, "
                                              "no trace files: %s", error->message);
      vh_log (host, "host", G_LOG_LEVEL_DEBUG, msg);
      vh_logger_set_trace (host, NULL, 0, 0, NULL);
      return;
    }
  diag = vigil_json_get_object (settings, "failure_diagnosis");
  if (vigil_json_get_bool (diag, "enabled", FALSE))
    folder = vigil_json_get_string (diag, "folder");
  vigil_json_get_int (diag, "max_file_size_mb", &size_mb);
  vigil_json_get_int (diag, "max_files", &files);
  if (!vh_logger_set_trace (host, folder, (guint64) CLAMP (size_mb, 1, 4096) * 1024 * 1024,
                            CLAMP (files, 1, 100), &error))
    vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
}
