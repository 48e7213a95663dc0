/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The JSON forms of a scan: the per-device result (each IOC found or not
 * found, with its detected-IOC card: the matching objects with path, size,
 * hashes, times, owner and the text of the matched branches), the counters,
 * the skipped and failed paths, and the collection's load report (per file:
 * version, problems with lines, unsupported terms with lines). The task
 * result, `vigil ioc scan --json` and `vigil ioc check --json` all use it.
 */
#include "scan.h"

static void
set_time (JsonObject *o, const char *key, gint64 seconds)
{
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *text = NULL;

  if (seconds == IOC_TIME_UNKNOWN || (dt = g_date_time_new_from_unix_utc (seconds)) == NULL)
    {
      json_object_set_null_member (o, key);
      return;
    }
  text = g_date_time_format_iso8601 (dt);
  json_object_set_string_member (o, key, text);
}

static void
set_hash (JsonObject *o, const char *key, const char *hex)
{
  if (hex[0] != '\0')
    json_object_set_string_member (o, key, hex);
  else
    json_object_set_null_member (o, key);
}

JsonObject *
ioc_match_to_json (const IocMatch *m)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "path", m->path);
  json_object_set_int_member (o, "size", (gint64) m->size);
  set_hash (o, "md5", m->md5);
  set_hash (o, "sha1", m->sha1);
  set_hash (o, "sha256", m->sha256);
  set_time (o, "created", m->created);
  set_time (o, "modified", m->modified);
  set_time (o, "accessed", m->accessed);
  set_time (o, "changed", m->changed);
  if (m->owner != NULL)
    json_object_set_string_member (o, "owner", m->owner);
  json_object_set_string_member (o, "matched", m->matched ? m->matched : "");
  return o;
}

static JsonObject *
doc_result_json (const IocDocResult *dr)
{
  JsonObject *o = json_object_new ();
  JsonArray *objects = json_array_new ();
  JsonObject *card = json_object_new ();

  json_object_set_string_member (o, "file", dr->doc->file);
  json_object_set_string_member (o, "id", dr->doc->id);
  json_object_set_string_member (o, "name", dr->doc->short_description
                                                ? dr->doc->short_description : dr->doc->id);
  json_object_set_boolean_member (o, "found", dr->n_matches > 0);
  json_object_set_int_member (o, "objects_found", (gint64) dr->n_matches);
  for (guint i = 0; i < dr->matches->len; i++)
    json_array_add_object_element (objects, ioc_match_to_json (dr->matches->pdata[i]));
  if (dr->n_matches == 0)
    {
      json_array_unref (objects);
      json_object_unref (card);
      return o;
    }
  json_object_set_array_member (card, "objects", objects);
  json_object_set_boolean_member (card, "truncated", dr->n_matches > dr->matches->len);
  json_object_set_object_member (o, "card", card);
  return o;
}

static JsonArray *
notes_json (GPtrArray *notes)
{
  JsonArray *a = json_array_new ();
  for (guint i = 0; i < notes->len; i++)
    {
      IocPathNote *n = notes->pdata[i];
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "path", n->path);
      json_object_set_string_member (o, "reason", n->reason);
      json_array_add_object_element (a, o);
    }
  return a;
}

static JsonObject *
doc_report_json (const IocDoc *doc)
{
  JsonObject *o = json_object_new ();
  JsonArray *problems = json_array_new ();
  JsonArray *unsupported = json_array_new ();

  json_object_set_string_member (o, "file", doc->file);
  if (doc->id != NULL)
    json_object_set_string_member (o, "id", doc->id);
  if (doc->root != NULL)
    json_object_set_string_member (o, "version", doc->version == IOC_V1_0 ? "1.0" : "1.1");
  json_object_set_boolean_member (o, "loaded", doc->usable);
  json_object_set_int_member (o, "items", doc->n_items);
  for (guint i = 0; i < doc->problems->len; i++)
    {
      IocProblem *p = doc->problems->pdata[i];
      JsonObject *po = json_object_new ();
      json_object_set_string_member (po, "severity", p->error ? "error" : "warning");
      json_object_set_int_member (po, "line", p->line);
      json_object_set_string_member (po, "message", p->message);
      json_array_add_object_element (problems, po);
    }
  for (guint i = 0; i < doc->unsupported->len; i++)
    {
      IocUnsupported *u = doc->unsupported->pdata[i];
      JsonObject *uo = json_object_new ();
      json_object_set_string_member (uo, "term", u->term);
      json_object_set_int_member (uo, "line", u->line);
      json_array_add_object_element (unsupported, uo);
    }
  json_object_set_array_member (o, "problems", problems);
  json_object_set_array_member (o, "unsupported", unsupported);
  return o;
}

JsonArray *
ioc_collection_report_json (const IocCollection *coll)
{
  JsonArray *a = json_array_new ();
  for (guint i = 0; i < coll->docs->len; i++)
    json_array_add_object_element (a, doc_report_json (coll->docs->pdata[i]));
  return a;
}

/* The phases apart, in microseconds: loading the collection
 * (reading, parsing, indexing) is a fixed cost, the scan is what grows
 * with the files; the walk runs beside the scan and ends before it. */
static JsonObject *
phases_json (const IocScanResult *r, const IocCollection *coll)
{
  JsonObject *o = json_object_new ();

  if (coll != NULL)
    json_object_set_int_member (o, "load", coll->load_us);
  json_object_set_int_member (o, "walk", r->walk_us);
  json_object_set_int_member (o, "scan", r->duration_us);
  return o;
}

/* How the collection was loaded: files taken from the cache of parsed
 * files, and files parsed and stored in it. */
static JsonObject *
cache_json (const IocCollection *coll)
{
  JsonObject *o = json_object_new ();

  json_object_set_boolean_member (o, "enabled", coll->cache_dir != NULL);
  json_object_set_int_member (o, "hits", coll->cache_hits);
  json_object_set_int_member (o, "stored", coll->cache_stores);
  return o;
}

JsonObject *
ioc_scan_result_to_json (const IocScanResult *r, const IocCollection *coll)
{
  JsonObject *o = json_object_new ();
  JsonArray *iocs = json_array_new ();
  guint found = 0;

  for (guint i = 0; i < r->docs->len; i++)
    {
      const IocDocResult *dr = r->docs->pdata[i];
      found += dr->n_matches > 0 ? 1 : 0;
      json_array_add_object_element (iocs, doc_result_json (dr));
    }
  json_object_set_array_member (o, "iocs", iocs);
  json_object_set_int_member (o, "iocs_found", found);
  json_object_set_int_member (o, "files_scanned", (gint64) r->files);
  json_object_set_int_member (o, "bytes_scanned", (gint64) r->bytes);
  json_object_set_int_member (o, "files_hashed", (gint64) r->hashed_files);
  json_object_set_int_member (o, "skipped", (gint64) r->skipped);
  json_object_set_int_member (o, "errors", (gint64) r->errors);
  json_object_set_array_member (o, "skipped_list", notes_json (r->skipped_list));
  json_object_set_array_member (o, "error_list", notes_json (r->error_list));
  json_object_set_array_member (o, "scope_problems", notes_json (r->scope_notes));
  json_object_set_int_member (o, "duration_ms", r->duration_us / 1000);
  json_object_set_object_member (o, "phases_us", phases_json (r, coll));
  json_object_set_boolean_member (o, "cancelled", r->cancelled);
  json_object_set_int_member (o, "threads", r->threads);
  if (coll != NULL)
    {
      json_object_set_array_member (o, "ioc_files", ioc_collection_report_json (coll));
      json_object_set_object_member (o, "ioc_cache", cache_json (coll));
    }
  return o;
}
