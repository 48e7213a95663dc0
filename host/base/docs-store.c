/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugins' small document store (VigilHostApi store_*): JSON documents
 * in one table keyed by (plugin, collection, key), so that a plugin keeps
 * durable state in the host database without a schema of its own. Plugins
 * are namespaced by the host (the plugin id comes from the handle, never
 * from the plugin), so one plugin cannot read another's documents. What a
 * plugin stores is trusted no more than any input: a document must be
 * one the strict JSON reader reads back (json-glib writes a NaN as
 * "nan.0" and a string of invalid UTF-8 raw), and documents are read
 * back with that reader.
 */
#include "base.h"

#include <string.h>

#include "vigil/util/json.h"

/* Documents are small records, not files: refuse anything larger. */
#define DOC_MAX_BYTES (4 * 1024 * 1024)

static const VhMigration docs_migrations[] = {
  { 1,
    "CREATE TABLE plugin_docs ("
    "  plugin     TEXT NOT NULL,"
    "  collection TEXT NOT NULL,"
    "  key        TEXT NOT NULL,"
    "  document   TEXT NOT NULL,"
    "  PRIMARY KEY (plugin, collection, key)) WITHOUT ROWID" },
};

gboolean
vh_docs_init (VigilHost *host, GError **error)
{
  return vh_store_migrate (vh_context (host)->store, "docs", docs_migrations,
                           G_N_ELEMENTS (docs_migrations), error);
}

static gboolean
check_names (const char *plugin, const char *collection, const char *key,
             GError **error)
{
  if (plugin && *plugin && collection && *collection && (key == NULL || *key))
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "document store: plugin, collection and key must be non-empty");
  return FALSE;
}

static sqlite3_stmt *
prepare_bound (sqlite3 *db, const char *sql, const char *plugin,
               const char *collection, const char *key, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "document store", error);
      return NULL;
    }
  sqlite3_bind_text (stmt, 1, plugin, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, collection, -1, SQLITE_TRANSIENT);
  if (key != NULL)
    sqlite3_bind_text (stmt, 3, key, -1, SQLITE_TRANSIENT);
  return stmt;
}

gboolean
vh_docs_put (VigilHost *host, const char *plugin, const char *collection,
             const char *key, JsonNode *document, GError **error)
{
  g_autofree char *text = NULL;
  sqlite3_stmt *stmt;
  sqlite3 *db;
  gboolean ok = FALSE;

  if (!check_names (plugin, collection, key, error))
    return FALSE;
  g_return_val_if_fail (key != NULL && document != NULL, FALSE);
  text = json_to_string (document, FALSE);
  if (strlen (text) > DOC_MAX_BYTES)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "document store: %s/%s/%s is larger than %d bytes",
                   plugin, collection, key, DOC_MAX_BYTES);
      return FALSE;
    }
  {
    g_autoptr (GError) local = NULL;
    if (!vigil_json_check (text, strlen (text), VIGIL_JSON_STRICT, NULL, &local))
      {
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                     "document store: %s/%s/%s would not read back as JSON: %s",
                     plugin, collection, key, local->message);
        return FALSE;
      }
  }
  db = vh_store_lock (vh_context (host)->store);
  stmt = prepare_bound (db, "INSERT OR REPLACE INTO plugin_docs (plugin, collection, key, document)"
                        " VALUES (?, ?, ?, ?)", plugin, collection, key, error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 4, text, -1, SQLITE_TRANSIENT);
      ok = sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        vh_store_set_error (db, "document store", error);
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

JsonNode *
vh_docs_get (VigilHost *host, const char *plugin, const char *collection,
             const char *key, GError **error)
{
  sqlite3_stmt *stmt;
  sqlite3 *db;
  JsonNode *node = NULL;
  int rc;

  if (!check_names (plugin, collection, key, error) || key == NULL)
    return NULL;
  db = vh_store_lock (vh_context (host)->store);
  stmt = prepare_bound (db, "SELECT document FROM plugin_docs"
                        " WHERE plugin = ? AND collection = ? AND key = ?",
                        plugin, collection, key, error);
  if (stmt != NULL)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        node = vigil_json_parse ((const char *) sqlite3_column_text (stmt, 0), -1,
                                 VIGIL_JSON_STRICT, NULL, error);
      else if (rc != SQLITE_DONE)
        vh_store_set_error (db, "document store", error);
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return node;
}

gboolean
vh_docs_delete (VigilHost *host, const char *plugin, const char *collection,
                const char *key, GError **error)
{
  sqlite3_stmt *stmt;
  sqlite3 *db;
  gboolean ok = FALSE;

  if (!check_names (plugin, collection, key, error) || key == NULL)
    return FALSE;
  db = vh_store_lock (vh_context (host)->store);
  stmt = prepare_bound (db, "DELETE FROM plugin_docs WHERE plugin = ? AND collection = ? AND key = ?",
                        plugin, collection, key, error);
  if (stmt != NULL)
    {
      ok = sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        vh_store_set_error (db, "document store", error);
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

JsonObject *
vh_docs_list (VigilHost *host, const char *plugin, const char *collection,
              GError **error)
{
  sqlite3_stmt *stmt;
  sqlite3 *db;
  JsonObject *out = NULL;

  if (!check_names (plugin, collection, NULL, error))
    return NULL;
  db = vh_store_lock (vh_context (host)->store);
  stmt = prepare_bound (db, "SELECT key, document FROM plugin_docs"
                        " WHERE plugin = ? AND collection = ? ORDER BY key",
                        plugin, collection, NULL, error);
  if (stmt != NULL)
    {
      out = json_object_new ();
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          JsonNode *doc = vigil_json_parse ((const char *) sqlite3_column_text (stmt, 1), -1,
                                            VIGIL_JSON_STRICT, NULL, NULL);
          if (doc != NULL)
            json_object_set_member (out, (const char *) sqlite3_column_text (stmt, 0), doc);
        }
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return out;
}
