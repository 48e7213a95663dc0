/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading runs back (for `vigil task show|results`, `event emit` and the
 * task states) and the retention purge: runs, their findings and results
 * are deleted once they finished longer ago than their task keeps them.
 */
#include "tasks/tasks-private.h"

#define US_PER_DAY (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

/* ---- reading runs ---------------------------------------------------- */

#define RUN_COLUMNS "id, task_id, device_id, state, fraction, message, error, result," \
                    " created_us, started_us, finished_us"

static void
set_time_or_null (JsonObject *o, const char *key, sqlite3_stmt *stmt, int column)
{
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    json_object_set_null_member (o, key);
  else
    {
      g_autofree char *text = vh_iso_time (sqlite3_column_int64 (stmt, column));
      json_object_set_string_member (o, key, text);
    }
}

static void
set_text_or_null (JsonObject *o, const char *key, sqlite3_stmt *stmt, int column)
{
  const char *text = (const char *) sqlite3_column_text (stmt, column);
  if (text)
    json_object_set_string_member (o, key, text);
  else
    json_object_set_null_member (o, key);
}

static JsonObject *
row_to_run (sqlite3_stmt *stmt)
{
  JsonObject *o = json_object_new ();
  JsonNode *result = vh_json_parse_text ((const char *) sqlite3_column_text (stmt, 7));

  json_object_set_int_member (o, "id", sqlite3_column_int64 (stmt, 0));
  json_object_set_string_member (o, "task_id", (const char *) sqlite3_column_text (stmt, 1));
  json_object_set_string_member (o, "device", (const char *) sqlite3_column_text (stmt, 2));
  json_object_set_string_member (o, "state", (const char *) sqlite3_column_text (stmt, 3));
  json_object_set_double_member (o, "progress", sqlite3_column_double (stmt, 4));
  set_text_or_null (o, "message", stmt, 5);
  set_text_or_null (o, "error", stmt, 6);
  json_object_set_member (o, "result", result ? result : json_node_new (JSON_NODE_NULL));
  set_time_or_null (o, "created", stmt, 8);
  set_time_or_null (o, "started", stmt, 9);
  set_time_or_null (o, "finished", stmt, 10);
  return o;
}

static JsonArray *
query_runs (VigilHost *host, const char *sql, const char *args, const char *text,
            gint64 number, GError **error)
{
  g_autoptr (JsonArray) runs = json_array_new ();
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = args[0] == 's' ? vh_sql_prepare (db, sql, error, args, text)
                                      : vh_sql_prepare (db, sql, error, args, number);
  int rc = SQLITE_ERROR;

  while (stmt != NULL && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_array_add_object_element (runs, row_to_run (stmt));
  if (stmt != NULL && rc != SQLITE_DONE)
    vh_store_set_error (db, "reading runs", error);
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return rc == SQLITE_DONE ? g_steal_pointer (&runs) : NULL;
}

static JsonArray *
run_findings (VigilHost *host, gint64 run_id)
{
  JsonArray *findings = json_array_new ();
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = vh_sql_prepare (db, "SELECT finding FROM findings WHERE run_id = ?"
                                       " ORDER BY id", NULL, "i", run_id);

  while (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      JsonNode *node = vh_json_parse_text ((const char *) sqlite3_column_text (stmt, 0));
      if (node != NULL)
        json_array_add_element (findings, node);
    }
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return findings;
}

JsonArray *
vh_tasks_runs (VigilHost *host, const char *task_id, gboolean findings, GError **error)
{
  JsonArray *runs = query_runs (host, "SELECT " RUN_COLUMNS " FROM runs WHERE task_id = ?"
                                " ORDER BY id DESC", "s", task_id, 0, error);

  for (guint i = 0; findings && runs != NULL && i < json_array_get_length (runs); i++)
    {
      JsonObject *run = json_array_get_object_element (runs, i);
      json_object_set_array_member (run, "findings",
                                    run_findings (host, json_object_get_int_member (run, "id")));
    }
  return runs;
}

JsonArray *
vh_tasks_runs_after (VigilHost *host, gint64 run_id, GError **error)
{
  return query_runs (host, "SELECT " RUN_COLUMNS " FROM runs WHERE id > ? ORDER BY id",
                     "i", NULL, run_id, error);
}

static gint64
query_count (VigilHost *host, const char *sql, const char *args, const char *text)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = vh_sql_prepare (db, sql, NULL, args, text);
  gint64 value = 0;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return value;
}

gint64
vh_tasks_last_run_id (VigilHost *host)
{
  return query_count (host, "SELECT coalesce(max(id), 0) FROM runs", "", NULL);
}

gint64
vh_tasks_active_runs (VigilHost *host, const char *task_id)
{
  return query_count (host, "SELECT count(*) FROM runs WHERE task_id = ?"
                      " AND state IN ('pending', 'dispatched', 'running')", "s", task_id);
}

/* ---- retention ------------------------------------------------------- */

guint
vh_tasks_purge (VigilHost *host)
{
  static const char expired[] =
    "SELECT r.id FROM runs r JOIN tasks t ON t.id = r.task_id"
    " WHERE r.finished_us IS NOT NULL AND r.finished_us < ? - t.retention_days * ?";
  g_autofree char *delete_findings = g_strdup_printf ("DELETE FROM findings WHERE run_id IN (%s)", expired);
  g_autofree char *delete_runs = g_strdup_printf ("DELETE FROM runs WHERE id IN (%s)", expired);
  gint64 now = vh_now (host);
  g_autoptr (GError) error = NULL;
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  guint count = 0;

  if (vh_sql_exec (db, delete_findings, &error, "ii", now, US_PER_DAY)
      && vh_sql_exec (db, delete_runs, &error, "ii", now, US_PER_DAY))
    count = (guint) sqlite3_changes (db);
  else
    vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
  vh_store_unlock (vh_context (host)->store);
  return count;
}
