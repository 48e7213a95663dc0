/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small SQLite and JSON helpers for the tasks module: statements with
 * values bound from a compact type string, so the table code reads as the
 * SQL it runs rather than as binding boilerplate. Callers hold the store
 * lock (vh_store_lock) around every call.
 */
#include "tasks/tasks-private.h"

static void
bind_all (sqlite3_stmt *stmt, const char *args, va_list ap)
{
  for (int i = 0; args != NULL && args[i] != '\0'; i++)
    switch (args[i])
      {
      case 's':
        sqlite3_bind_text (stmt, i + 1, va_arg (ap, const char *), -1, SQLITE_TRANSIENT);
        break;
      case 'i':
        sqlite3_bind_int64 (stmt, i + 1, va_arg (ap, gint64));
        break;
      case 'd':
        sqlite3_bind_double (stmt, i + 1, va_arg (ap, double));
        break;
      default:
        g_assert_not_reached ();
      }
}

sqlite3_stmt *
vh_sql_prepare (sqlite3 *db, const char *sql, GError **error, const char *args, ...)
{
  sqlite3_stmt *stmt = NULL;
  va_list ap;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "preparing a tasks query", error);
      return NULL;
    }
  va_start (ap, args);
  bind_all (stmt, args, ap);
  va_end (ap);
  return stmt;
}

gboolean
vh_sql_exec (sqlite3 *db, const char *sql, GError **error, const char *args, ...)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;
  va_list ap;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "preparing a tasks statement", error);
      return FALSE;
    }
  va_start (ap, args);
  bind_all (stmt, args, ap);
  va_end (ap);
  ok = sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    vh_store_set_error (db, "updating tasks", error);
  sqlite3_finalize (stmt);
  return ok;
}

JsonNode *
vh_json_parse_text (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL)
      || json_parser_get_root (parser) == NULL)
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}
