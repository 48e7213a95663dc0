/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ksn plugin: the `ksn` policy section, the `ksn.lookup` task type and
 * handlers that enrich `sandbox.threat_detected` and `ioc.found` events
 * with a reputation verdict. A handler only creates a `ksn.lookup` task for
 * the event's device (handlers run on the main thread and must not block on
 * the network); the task's run asks the service and emits one `ksn.verdict`
 * event per hash. Both check the privacy gate (statement accepted and usage
 * enabled, for that device) before anything else: when it is closed no task
 * is created, a task run fails, and no connection is made at all.
 */
#include "ksn-private.h"

#include <string.h>

typedef struct {
  const VigilHostApi *api;
  VigilPlugin        *self;
} Ksn;

static Ksn ksn;

/* ------------------------------------------------------------------ */
/* Settings                                                            */
/* ------------------------------------------------------------------ */

static gboolean
console_proxy_on (JsonObject *settings)
{
  return vigil_settings_get_bool (ksn_schema (), settings, "usage", "use_console_proxy");
}

/* The proxy for the service: the console's KSN proxy when that option is
 * on, else whatever the host's general proxy settings say for the device. */
static char *
choose_proxy (JsonObject *settings, const char *device, const char *endpoint,
              GError **error)
{
  JsonObject *service = vigil_json_get_object (settings, "service");

  if (console_proxy_on (settings) && service)
    {
      const char *addr = vigil_json_get_string (service, "console_proxy_address");
      gint64 port = vigil_settings_get_int (ksn_schema (), settings, "service",
                                            "console_proxy_port", NULL);

      if (addr == NULL || *addr == '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "ksn.service.console_proxy_address is not set");
          return NULL;
        }
      return strchr (addr, ':') ? g_strdup_printf ("http://[%s]:%" G_GINT64_FORMAT, addr, port)
                                : g_strdup_printf ("http://%s:%" G_GINT64_FORMAT, addr, port);
    }
  return ksn.api->resolve_proxy (ksn.self, device, endpoint, error);
}

/* ------------------------------------------------------------------ */
/* The cache, in the host's document store                             */
/* ------------------------------------------------------------------ */

static JsonNode *
cache_get (gpointer data, const char *key)
{
  return ksn.api->store_get (ksn.self, "cache", key, NULL);
}

static void
cache_put (gpointer data, const char *key, JsonNode *doc)
{
  g_autoptr (GError) error = NULL;

  if (!ksn.api->store_put (ksn.self, "cache", key, doc, &error))
    ksn.api->log (ksn.self, G_LOG_LEVEL_WARNING, "cannot cache a verdict: %s", error->message);
}

static gint64
cache_now (gpointer data)
{
  return ksn.api->now (ksn.self);
}

static JsonObject *
cache_list (gpointer data)
{
  return ksn.api->store_list (ksn.self, "cache", NULL);
}

static void
cache_remove (gpointer data, const char *key)
{
  ksn.api->store_delete (ksn.self, "cache", key, NULL);
}

/* ------------------------------------------------------------------ */
/* ksn.lookup                                                          */
/* ------------------------------------------------------------------ */

static void
add_hashes (GPtrArray *hashes, JsonObject *params, const char *type)
{
  JsonNode *n = json_object_get_member (params, type);
  JsonArray *list = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;

  for (guint i = 0; list && i < json_array_get_length (list); i++)
    {
      KsnVerdict *v = g_new0 (KsnVerdict, 1);

      v->type = g_strdup (type);
      v->value = g_ascii_strdown (json_array_get_string_element (list, i), -1);
      g_ptr_array_add (hashes, v);
    }
}

static JsonObject *
verdict_json (const KsnVerdict *v, JsonObject *params)
{
  JsonObject *o = json_object_new ();
  const char *event_id = vigil_json_get_string (params, "event_id");
  const char *event_type = vigil_json_get_string (params, "event_type");

  if (event_id)
    json_object_set_string_member (o, "event_id", event_id);
  if (event_type)
    json_object_set_string_member (o, "event_type", event_type);
  json_object_set_string_member (o, "type", v->type);
  json_object_set_string_member (o, "value", v->value);
  json_object_set_string_member (o, "verdict", v->verdict);
  if (v->threat)
    json_object_set_string_member (o, "threat", v->threat);
  json_object_set_boolean_member (o, "cached", v->cached);
  return o;
}

static void
report_verdicts (VigilTaskRun *run, GPtrArray *hashes, JsonObject *params)
{
  const VigilHostApi *api = ksn.api;
  g_autoptr (JsonArray) list = json_array_new ();
  g_autoptr (JsonNode) result = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();

  for (guint i = 0; i < hashes->len; i++)
    {
      g_autoptr (JsonObject) payload = verdict_json (hashes->pdata[i], params);
      g_autoptr (GError) error = NULL;
      g_autofree char *id = api->emit_event (api->task_plugin (run), "ksn.verdict",
                                             api->task_device_id (run), 1, payload, &error);

      if (id == NULL)
        api->log (ksn.self, G_LOG_LEVEL_WARNING, "cannot emit ksn.verdict: %s", error->message);
      json_array_add_object_element (list, json_object_ref (payload));
    }
  json_object_set_array_member (obj, "verdicts", g_steal_pointer (&list));
  json_node_take_object (result, obj);
  api->task_set_result (run, result);
}

/* Fills @lookup (and @proxy, which it points to) from the settings. */
static gboolean
configure_lookup (JsonObject *settings, const char *device, KsnLookup *lookup,
                  KsnCache *cache, char **proxy, GError **error)
{
  JsonObject *service = vigil_json_get_object (settings, "service");
  g_autoptr (GError) proxy_error = NULL;

  lookup->https.url = vigil_json_get_string (service, "endpoint");
  if (lookup->https.url == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "ksn.service.endpoint is not set");
      return FALSE;
    }
  *proxy = choose_proxy (settings, device, lookup->https.url, &proxy_error);
  if (proxy_error)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&proxy_error), "proxy: ");
      return FALSE;
    }
  lookup->https.proxy_uri = *proxy;
  lookup->https.ca_file = vigil_json_get_string (service, "ca_file");
  lookup->https.timeout_s = vigil_settings_get_int (ksn_schema (), settings, "service",
                                                    "timeout_s", NULL);
  cache->ttl_us = vigil_settings_get_int (ksn_schema (), settings, "service",
                                          "cache_ttl_min", NULL) * 60 * G_USEC_PER_SEC;
  lookup->cache = cache;
  return TRUE;
}

static gboolean
run_lookup (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  const VigilHostApi *api = ksn.api;
  const char *device = api->task_device_id (run);
  g_autoptr (JsonObject) settings = api->get_effective_settings (ksn.self, device, "ksn", error);
  g_autoptr (GPtrArray) hashes = g_ptr_array_new_with_free_func ((GDestroyNotify) ksn_verdict_free);
  g_autofree char *proxy = NULL;
  KsnCache cache = { cache_get, cache_put, cache_now, NULL, 0, cache_list, cache_remove };
  KsnLookup lookup = { NULL };

  if (settings == NULL)
    return FALSE;
  /* The gate comes first: nothing below may open a socket without it. */
  if (!ksn_allowed (settings))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "KSN usage is off for device %s (the KSN Statement is not accepted "
                   "or usage is not enabled): nothing was sent", device);
      return FALSE;
    }
  if (!configure_lookup (settings, device, &lookup, &cache, &proxy, error))
    return FALSE;
  lookup.https.cancellable = cancellable;
  add_hashes (hashes, params, "sha256");
  add_hashes (hashes, params, "md5");
  api->task_progress (run, 0.1, "looking up reputations");
  ksn_cache_prune (&cache);
  if (!ksn_lookup (&lookup, hashes, error))
    return FALSE;
  report_verdicts (run, hashes, params);
  api->task_progress (run, 1.0, "done");
  return TRUE;
}

static void
validate_lookup (JsonObject *params, VigilReport *report, gpointer user_data)
{
  const char *types[] = { "sha256", "md5" };
  guint total = 0;

  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      JsonNode *n = json_object_get_member (params, types[t]);
      JsonArray *list = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;

      for (guint i = 0; list && i < json_array_get_length (list); i++, total++)
        {
          JsonNode *item = json_array_get_element (list, i);
          const char *value = JSON_NODE_HOLDS_VALUE (item)
                              && json_node_get_value_type (item) == G_TYPE_STRING
                              ? json_node_get_string (item) : NULL;

          if (!ksn_hash_valid (types[t], value))
            {
              g_autofree char *path = g_strdup_printf ("%s[%u]", types[t], i);

              ksn.api->report_problem (report, VIGIL_SEVERITY_ERROR, path, "not a %s hash (%s hex digits)",
                                       types[t], t == 0 ? "64" : "32");
            }
        }
    }
  if (total == 0)
    ksn.api->report_problem (report, VIGIL_SEVERITY_ERROR, "sha256",
                             "give at least one hash in sha256 or md5");
}

static const VigilField lookup_params[] = {
  { .key = "sha256", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = KSN_MAX_HASHES,
    .description = "SHA-256 hashes to look up (hex)" },
  { .key = "md5", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = KSN_MAX_HASHES,
    .description = "MD5 hashes to look up (hex)" },
  { .key = "event_id", .type = VIGIL_FIELD_STRING,
    .description = "The event being enriched, copied into each ksn.verdict" },
  { .key = "event_type", .type = VIGIL_FIELD_STRING,
    .description = "Its type, copied into each ksn.verdict" },
};

static const VigilTaskType lookup_type = {
  .id = "ksn.lookup",
  .title = "KSN reputation look-up",
  .description = "Asks the reputation service about file hashes and emits ksn.verdict events",
  .params = VIGIL_ARRAY (lookup_params),
  .validate = validate_lookup,
  .run = run_lookup,
};

/* ------------------------------------------------------------------ */
/* Enriching detections                                                */
/* ------------------------------------------------------------------ */

static void
add_param_hash (JsonObject *params, JsonObject *payload, const char *type)
{
  const char *value = vigil_json_get_string (payload, type);
  JsonArray *list = json_array_new ();

  if (ksn_hash_valid (type, value))
    json_array_add_string_element (list, value);
  json_object_set_array_member (params, type, list);
}

static void
on_detection (const VigilEvent *event, gpointer user_data)
{
  const VigilHostApi *api = ksn.api;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *task_id = NULL;
  VigilTaskSpec spec = { 0 };

  if (event->device_id == NULL)
    return;
  settings = api->get_effective_settings (ksn.self, event->device_id, "ksn", &error);
  /* Closed gate (or unreadable settings): no task, no connection. */
  if (settings == NULL || !ksn_allowed (settings))
    return;
  add_param_hash (params, event->payload, "sha256");
  add_param_hash (params, event->payload, "md5");
  if (json_array_get_length (json_object_get_array_member (params, "sha256")) == 0
      && json_array_get_length (json_object_get_array_member (params, "md5")) == 0)
    return;
  json_object_set_string_member (params, "event_id", event->id);
  json_object_set_string_member (params, "event_type", event->type);
  spec.type = "ksn.lookup";
  spec.name = "KSN reputation of a detection";
  spec.device_id = event->device_id;
  spec.params = params;
  task_id = api->create_task (ksn.self, &spec, sizeof spec, &error);
  if (task_id == NULL)
    api->log (ksn.self, G_LOG_LEVEL_WARNING, "cannot create a KSN look-up for event %s: %s",
              event->id, error->message);
}

static const VigilEventHandler handlers[] = {
  { .event_type = "sandbox.threat_detected", .handler = on_detection },
  { .event_type = "ioc.found", .handler = on_detection },
};

static gboolean
ksn_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  const VigilSection *section = ksn_section (api);

  if (!VIGIL_API_HAS (api, resolve_proxy))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INIT_FAILED,
                   "the host has no proxy service (ABI 1.0 or later needed)");
      return FALSE;
    }
  ksn.api = api;
  ksn.self = self;
  if (!api->register_section (self, section, sizeof *section, error)
      || !api->register_task_type (self, &lookup_type, sizeof lookup_type, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    if (!api->register_event_handler (self, &handlers[i], sizeof handlers[i], error))
      return FALSE;
  return TRUE;
}

VIGIL_PLUGIN_DEFINE ("ksn", "KSN reputation", "0.1.0", "LGPL-2.1-or-later",
                     "Cloud reputation of file hashes, only when the admin opted in",
                     ksn_init, NULL)
