/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `ioc.scan` task: loads the collection embedded in the task (bad
 * files are reported, the others still run), scans the device's scope
 * inside its root folder with progress and cancel, emits `ioc.found` per
 * detected object, and carries out the actions on detection by creating
 * `quarantine.put` and `epp.critical_scan` tasks for the device, so that
 * the scan works (and says so) when those plugins are absent. The result
 * is the per-device document of scan-result.c plus the actions taken.
 */
#include "plugin-private.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

gsize
ioc_max_file_size (const char *device_id)
{
  g_autoptr (JsonObject) settings = NULL;

  /* Without a device (or a host), the schema's default. */
  if (ioc_api != NULL && device_id != NULL)
    settings = ioc_api->get_effective_settings (ioc_self, device_id, IOC_SECTION, NULL);
  return (gsize) vigil_settings_get_int (&ioc_section, settings, "limits",
                                         "max_ioc_file_kb", NULL) * 1024;
}

gboolean
ioc_use_cache (IocCollection *coll, GError **error)
{
  g_autofree char *dir = g_build_filename (ioc_api->data_dir (ioc_self), "ioc-cache", NULL);
  return ioc_collection_set_cache_dir (coll, dir, error);
}

IocCollection *
ioc_collection_from_json (JsonArray *iocs, gsize max_file_size, gboolean cached)
{
  IocCollection *coll = ioc_collection_new (max_file_size);
  g_autoptr (GError) error = NULL;
  guint n = iocs != NULL ? json_array_get_length (iocs) : 0;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) datas = g_ptr_array_new ();
  g_autoptr (GArray) lens = g_array_new (FALSE, FALSE, sizeof (gsize));

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (iocs, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = vigil_json_get_string (o, "name");
      const char *xml = vigil_json_get_string (o, "xml");
      gsize len = xml != NULL ? strlen (xml) : 0;

      g_ptr_array_add (names, name ? g_strdup (name) : g_strdup_printf ("iocs[%u]", i));
      g_ptr_array_add (datas, (gpointer) (xml != NULL ? xml : ""));
      g_array_append_val (lens, len);
    }
  if (cached && !ioc_use_cache (coll, &error))
    ioc_api->log (ioc_self, G_LOG_LEVEL_WARNING, "%s", error->message);
  ioc_collection_add_memory_many (coll, (const char *const *) names->pdata,
                                  (const char *const *) datas->pdata, (const gsize *) lens->data, n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (iocs, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      if (vigil_json_get_string (o, "xml") == NULL)
        ioc_doc_add_problem (coll->docs->pdata[i], TRUE, 0, "iocs[%u] has no \"xml\" string", i);
    }
  ioc_collection_prepare (coll);
  return coll;
}

static GPtrArray *
string_list (JsonObject *o, const char *key, GError **error)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_free);
  JsonNode *n = json_object_get_member (o, key);
  JsonArray *a;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return list;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "scope.%s: expected a list of paths", key);
      g_ptr_array_unref (list);
      return NULL;
    }
  a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      const char *s = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                          ? json_node_get_string (e) : NULL;
      if (s == NULL || s[0] != '/')
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                       "scope.%s[%u]: expected an absolute path", key, i);
          g_ptr_array_unref (list);
          return NULL;
        }
      g_ptr_array_add (list, g_strdup (s));
    }
  return list;
}

gboolean
ioc_scope_from_json (JsonObject *object, IocScope *scope, GError **error)
{
  const char *kind = vigil_json_get_string (object, "kind");
  gboolean ok = TRUE;

  memset (scope, 0, sizeof *scope);
  scope->kind = kind != NULL ? ioc_scope_kind_parse (kind, &ok) : IOC_SCOPE_CRITICAL_AREAS;
  if (!ok)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "scope.kind: '%s' is not one of system_drives, critical_areas, custom",
                   kind);
      return FALSE;
    }
  if (object == NULL)
    {
      scope->paths = g_ptr_array_new_with_free_func (g_free);
      scope->exclusions = g_ptr_array_new_with_free_func (g_free);
      return TRUE;
    }
  scope->paths = string_list (object, "paths", error);
  scope->exclusions = scope->paths ? string_list (object, "exclusions", error) : NULL;
  if (scope->paths == NULL || scope->exclusions == NULL)
    {
      ioc_scope_clear (scope);
      return FALSE;
    }
  if (scope->kind == IOC_SCOPE_CUSTOM && scope->paths->len == 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "scope.paths: a custom scope needs at least one path");
      ioc_scope_clear (scope);
      return FALSE;
    }
  return TRUE;
}

void
ioc_scope_clear (IocScope *scope)
{
  g_clear_pointer (&scope->paths, g_ptr_array_unref);
  g_clear_pointer (&scope->exclusions, g_ptr_array_unref);
}

static gboolean
wants_files (JsonObject *params)
{
  JsonArray *types = vigil_json_get_array (params, "data_types");
  if (types == NULL)
    return TRUE;
  for (guint i = 0; i < json_array_get_length (types); i++)
    {
      JsonNode *n = json_array_get_element (types, i);
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
          && strcmp (json_node_get_string (n), "file") == 0)
        return TRUE;
    }
  return FALSE;
}

void
ioc_task_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  JsonArray *iocs = vigil_json_get_array (params, "iocs");
  JsonArray *types = vigil_json_get_array (params, "data_types");
  g_autoptr (GError) error = NULL;
  IocScope scope;

  if (iocs == NULL || json_array_get_length (iocs) == 0)
    ioc_api->report_problem (report, VIGIL_SEVERITY_ERROR, "iocs",
                             "the IOC collection is empty: add at least one IOC file");
  else
    {
      g_autoptr (IocCollection) coll = ioc_collection_from_json (iocs, 0, FALSE);
      for (guint i = 0; i < coll->docs->len; i++)
        {
          IocDoc *doc = coll->docs->pdata[i];
          g_autofree char *path = g_strdup_printf ("iocs[%u]", i);
          for (guint k = 0; k < doc->problems->len; k++)
            {
              IocProblem *p = doc->problems->pdata[k];
              if (p->error)
                ioc_api->report_problem (report, VIGIL_SEVERITY_WARNING, path,
                                         "%s, line %u: %s (this file will not be used)",
                                         doc->file, p->line, p->message);
            }
        }
    }
  if (!ioc_scope_from_json (vigil_json_get_object (params, "scope"), &scope, &error))
    ioc_api->report_problem (report, VIGIL_SEVERITY_ERROR, "scope", "%s", error->message);
  else
    ioc_scope_clear (&scope);
  for (guint i = 0; types != NULL && i < json_array_get_length (types); i++)
    {
      const char *t = json_array_get_string_element (types, i);
      if (t == NULL || strcmp (t, "file") != 0)
        ioc_api->report_problem (report, VIGIL_SEVERITY_WARNING, "data_types",
                                 "'%s' is not supported (only \"file\"): ignored",
                                 t ? t : "");
    }
}

/* ------------------------------------------------------------------ */
/* Run                                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
  VigilTaskRun *run;
} Progress;

static void
on_progress (const IocScanProgress *p, gpointer data)
{
  Progress *pr = data;
  double fraction = p->files_found > 0 ? (double) p->files_done / (double) p->files_found : 0.0;
  g_autofree char *message = NULL;

  if (!p->walk_done && fraction > 0.9)
    fraction = 0.9;
  message = g_strdup_printf ("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                             "%s files, %" G_GUINT64_FORMAT " bytes read",
                             p->phase, p->files_done, p->files_found,
                             p->walk_done ? "" : "+", p->bytes_done);
  ioc_api->task_progress (pr->run, fraction, message);
}

/* Keeps the collection so `vigil ioc export --task ID` can write it. */
static void
keep_collection (VigilPlugin *self, const char *task_id, JsonArray *iocs)
{
  g_autoptr (JsonNode) old = ioc_api->store_get (self, IOC_STORE_COLLECTIONS, task_id, NULL);
  g_autoptr (JsonNode) node = NULL;

  if (old != NULL || iocs == NULL)
    return;
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (node, iocs);
  ioc_api->store_put (self, IOC_STORE_COLLECTIONS, task_id, node, NULL);
}

/* Emits `ioc.found` and adds a finding for every listed object. */
static void
report_detections (VigilTaskRun *run, VigilPlugin *self, const IocScanResult *r)
{
  const char *device = ioc_api->task_device_id (run);
  const char *task_id = ioc_api->task_id (run);

  for (guint i = 0; i < r->docs->len; i++)
    {
      IocDocResult *dr = r->docs->pdata[i];
      const char *name = dr->doc->short_description ? dr->doc->short_description : dr->doc->id;
      for (guint k = 0; k < dr->matches->len; k++)
        {
          IocMatch *m = dr->matches->pdata[k];
          g_autoptr (JsonObject) p = json_object_new ();
          g_autoptr (GError) error = NULL;
          g_autofree char *event_id = NULL;

          json_object_set_string_member (p, "task_id", task_id);
          json_object_set_string_member (p, "ioc_id", dr->doc->id);
          json_object_set_string_member (p, "ioc_name", name);
          json_object_set_string_member (p, "path", m->path);
          json_object_set_int_member (p, "size", (gint64) m->size);
          json_object_set_string_member (p, "md5", m->md5);
          json_object_set_string_member (p, "sha256", m->sha256);
          json_object_set_string_member (p, "matched", m->matched);
          event_id = ioc_api->emit_event (self, "ioc.found", device, 1, p, &error);
          if (event_id == NULL)
            ioc_api->log (self, G_LOG_LEVEL_WARNING, "ioc.found for %s not stored: %s",
                          m->path, error->message);
          ioc_api->task_add_finding (run, p);
        }
    }
}

static JsonObject *
create_action_task (VigilTaskRun *run, VigilPlugin *self, const char *action,
                    const char *type, JsonObject *params)
{
  JsonObject *record = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *task_id = NULL;
  VigilTaskSpec spec = { 0 };

  json_object_set_string_member (record, "action", action);
  json_object_set_string_member (record, "task_type", type);
  if (!ioc_api->has_task_type (self, type))
    {
      g_autofree char *reason = g_strdup_printf ("task type %s is not available: enable "
                                                 "the plugin that provides it", type);
      json_object_set_string_member (record, "state", "unavailable");
      json_object_set_string_member (record, "reason", reason);
      return record;
    }
  spec.type = type;
  spec.device_id = ioc_api->task_device_id (run);
  spec.params = params;
  spec.schedule = "{\"kind\":\"now\"}";
  task_id = ioc_api->create_task (self, &spec, sizeof spec, &error);
  json_object_set_string_member (record, "state", task_id ? "created" : "failed");
  if (task_id != NULL)
    json_object_set_string_member (record, "task_id", task_id);
  else
    json_object_set_string_member (record, "error", error->message);
  return record;
}

static JsonObject *
quarantine_params (VigilTaskRun *run, const IocDocResult *dr, const IocMatch *m)
{
  JsonObject *p = json_object_new ();
  JsonObject *origin = json_object_new ();
  const char *name = dr->doc->short_description ? dr->doc->short_description : dr->doc->id;

  json_object_set_string_member (p, "path", m->path);
  json_object_set_string_member (p, "detection", name);
  json_object_set_boolean_member (p, "delete_original", TRUE);
  json_object_set_string_member (p, "reason", "IOC found by an IOC scan");
  json_object_set_string_member (origin, "task", ioc_api->task_id (run));
  json_object_set_object_member (p, "origin", origin);
  return p;
}

static JsonArray *
take_actions (VigilTaskRun *run, VigilPlugin *self, JsonObject *on_detection,
              const IocScanResult *r)
{
  JsonArray *actions = json_array_new ();
  g_autoptr (GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean any = FALSE;

  for (guint i = 0; i < r->docs->len; i++)
    {
      IocDocResult *dr = r->docs->pdata[i];
      any = any || dr->n_matches > 0;
      for (guint k = 0; vigil_json_get_bool (on_detection, "quarantine", FALSE) && k < dr->matches->len; k++)
        {
          IocMatch *m = dr->matches->pdata[k];
          g_autoptr (JsonObject) params = NULL;
          JsonObject *rec;
          if (!g_hash_table_add (done, m->path))
            continue;
          params = quarantine_params (run, dr, m);
          rec = create_action_task (run, self, "quarantine", "quarantine.put", params);
          json_object_set_string_member (rec, "path", m->path);
          json_array_add_object_element (actions, rec);
        }
    }
  if (any && vigil_json_get_bool (on_detection, "critical_scan", FALSE))
    {
      g_autoptr (JsonObject) params = json_object_new ();
      json_object_set_string_member (params, "reason", "IOC found by an IOC scan");
      json_array_add_object_element (actions, create_action_task (run, self, "critical_scan",
                                                                  "epp.critical_scan", params));
    }
  return actions;
}

static IocScanResult *
scan (VigilTaskRun *run, IocCollection *coll, IocScope *scope, gboolean files,
      GCancellable *cancellable, GError **error)
{
  Progress progress = { run };
  IocScanOptions opt = { 0 };

  if (!files || ioc_collection_n_usable (coll) == 0)
    {
      /* Nothing to look for: an empty result, as the task still ran. */
      IocScope none = { IOC_SCOPE_CUSTOM, NULL, NULL };
      opt.scope = &none;
      opt.root = ioc_api->task_device_root (run);
      return ioc_scan_run (coll, &opt, error);
    }
  opt.root = ioc_api->task_device_root (run);
  opt.scope = scope;
  opt.cancellable = cancellable;
  opt.progress = on_progress;
  opt.progress_data = &progress;
  opt.progress_ms = 500;
  return ioc_scan_run (coll, &opt, error);
}

typedef struct {
  JsonArray *iocs;
  gsize      max_file_size;
} CollectionSource;

static IocCollection *
build_collection (gpointer data)
{
  CollectionSource *src = data;

  return ioc_collection_from_json (src->iocs, src->max_file_size, TRUE);
}

/* What the collection is built from, as a digest: the size limit, then
 * each file's name and text (absent ones marked apart from empty ones). */
static char *
collection_key (const CollectionSource *src)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *limit = g_strdup_printf ("%" G_GSIZE_FORMAT, src->max_file_size);
  guint n = src->iocs != NULL ? json_array_get_length (src->iocs) : 0;

  g_checksum_update (sum, (const guchar *) limit, (gssize) strlen (limit) + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (src->iocs, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *fields[] = { vigil_json_get_string (o, "name"), vigil_json_get_string (o, "xml") };

      for (guint f = 0; f < G_N_ELEMENTS (fields); f++)
        {
          guchar present = fields[f] != NULL;
          g_checksum_update (sum, &present, 1);
          if (present)
            g_checksum_update (sum, (const guchar *) fields[f], (gssize) strlen (fields[f]) + 1);
        }
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* The device runs of one group scan share one parsed collection
 * (openioc-shared.c). The result's load phase is what this run spent
 * getting it: near zero when another run had built it. */
static IocCollection *
collection_for_run (JsonArray *iocs, const char *device, gint64 *load_us)
{
  CollectionSource src = { iocs, ioc_max_file_size (device) };
  g_autofree char *key = collection_key (&src);
  gint64 start = g_get_monotonic_time ();
  gboolean built;
  IocCollection *coll = ioc_shared_collection_get (key, build_collection, &src, &built);

  *load_us = g_get_monotonic_time () - start;
  return coll;
}

static gboolean
run_with_collection (VigilTaskRun *run, JsonObject *params, IocCollection *coll,
                     gint64 load_us, GCancellable *cancellable, GError **error);

gboolean
ioc_task_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
              gpointer user_data, GError **error)
{
  gint64 load_us = 0;
  IocCollection *coll = collection_for_run (vigil_json_get_array (params, "iocs"),
                                            ioc_api->task_device_id (run), &load_us);
  gboolean ok = run_with_collection (run, params, coll, load_us, cancellable, error);

  ioc_shared_collection_release (coll);
  return ok;
}

static gboolean
run_with_collection (VigilTaskRun *run, JsonObject *params, IocCollection *coll,
                     gint64 load_us, GCancellable *cancellable, GError **error)
{
  VigilPlugin *self = ioc_api->task_plugin (run);
  const char *device = ioc_api->task_device_id (run);
  JsonArray *iocs = vigil_json_get_array (params, "iocs");
  g_autoptr (IocScanResult) result = NULL;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonObject *out;
  IocScope scope;

  keep_collection (self, ioc_api->task_id (run), iocs);
  if (!ioc_scope_from_json (vigil_json_get_object (params, "scope"), &scope, error))
    return FALSE;
  result = scan (run, coll, &scope, wants_files (params), cancellable, error);
  if (result == NULL)
    {
      ioc_scope_clear (&scope);
      return FALSE;
    }
  out = ioc_scan_result_to_json (result, coll);
  if (json_object_has_member (out, "phases_us"))
    json_object_set_int_member (json_object_get_object_member (out, "phases_us"), "load", load_us);
  json_object_set_string_member (out, "device", device);
  json_object_set_string_member (out, "scope", ioc_scope_kind_name (scope.kind));
  ioc_scope_clear (&scope);
  if (!result->cancelled)
    {
      report_detections (run, self, result);
      json_object_set_array_member (out, "actions",
                                    take_actions (run, self, vigil_json_get_object (params, "on_detection"),
                                                  result));
    }
  json_node_take_object (node, out);
  ioc_api->task_set_result (run, node);
  return TRUE;
}
