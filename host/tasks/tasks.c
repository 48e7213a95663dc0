/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Task definitions: creating a task (type, target, parameters, schedule and
 * exclusions checked before anything is stored, each problem reported with
 * its path), reading, listing, cancelling, deleting and triggering tasks.
 * A task is what an admin or a plugin asked for; its runs (one per device
 * and round) live in runs.c and execute in runner.c. Creation is
 * thread-safe because runs create follow-up tasks from worker threads.
 */
#include "tasks/tasks-private.h"

#define DEFAULT_RETENTION_DAYS 7
#define MAX_RETENTION_DAYS 3650

static const VhMigration migrations[] = {
  { 1,
    "CREATE TABLE tasks ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  device_id TEXT,"
    "  group_id TEXT,"
    "  exclusions TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  schedule TEXT NOT NULL,"
    "  retention_days INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  created_us INTEGER NOT NULL,"
    "  last_run_us INTEGER NOT NULL DEFAULT 0,"
    "  requested INTEGER NOT NULL DEFAULT 0,"
    "  cancelled INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  task_id TEXT NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  fraction REAL NOT NULL DEFAULT 0,"
    "  message TEXT,"
    "  error TEXT,"
    "  result TEXT,"
    "  created_us INTEGER NOT NULL,"
    "  started_us INTEGER,"
    "  finished_us INTEGER,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX runs_task ON runs (task_id, id);"
    "CREATE INDEX runs_state ON runs (state);"
    "CREATE INDEX runs_finished ON runs (finished_us);"
    "CREATE TABLE findings ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  run_id INTEGER NOT NULL,"
    "  time_us INTEGER NOT NULL,"
    "  finding TEXT NOT NULL);"
    "CREATE INDEX findings_run ON findings (run_id);" },
  /* The process executing a run, so that runs left "running" by a process
   * that died can be recognized and closed instead of blocking their task. */
  { 2, "ALTER TABLE runs ADD COLUMN runner_pid INTEGER;" },
};

gboolean
vh_tasks_init (VigilHost *host, GError **error)
{
  VhTasks *tasks;

  if (!vh_store_migrate (vh_context (host)->store, "tasks", migrations, G_N_ELEMENTS (migrations), error))
    return FALSE;
  tasks = g_new0 (VhTasks, 1);
  tasks->tz = g_time_zone_new_local ();
  g_mutex_init (&tasks->lock);
  g_mutex_init (&tasks->finish_lock);
  g_cond_init (&tasks->cond);
  tasks->active = g_ptr_array_new ();
  vh_context (host)->tasks = tasks;
  return vh_runner_init (host, error);
}

void
vh_tasks_free (VigilHost *host)
{
  VhTasks *tasks = vh_context (host)->tasks;

  if (tasks == NULL)
    return;
  vh_runner_shutdown (host);
  g_ptr_array_unref (tasks->active);
  g_mutex_clear (&tasks->lock);
  g_mutex_clear (&tasks->finish_lock);
  g_cond_clear (&tasks->cond);
  g_time_zone_unref (tasks->tz);
  g_free (tasks);
  vh_context (host)->tasks = NULL;
}

/* ---- create ---------------------------------------------------------- */

static gboolean
set_error (GError **error, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
set_error (GError **error, int code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VIGIL_PLUGIN_ERROR, code, message);
  return FALSE;
}

/* An exclusion names a device or, as "group:ID", a group (every device of
 * it and its subgroups, as they are when a round starts). A bare id is
 * taken as whichever of the two exists; ids hold no ':' so the prefixed
 * forms are never ambiguous. Unknown ids are refused: an exclusion that
 * silently matches nothing would run the task where an admin said not to.
 * @out gets the stored form: a device id, or "group:ID". */
static gboolean
check_exclusion (VigilHost *host, const char *given, GPtrArray *out, GError **error)
{
  const char *id = given;
  gboolean want_device = TRUE, want_group = TRUE, is_device, is_group;
  g_autoptr (JsonObject) device = NULL;

  if (g_str_has_prefix (given, "group:"))
    id = given + 6, want_device = FALSE;
  else if (g_str_has_prefix (given, "device:"))
    id = given + 7, want_group = FALSE;
  if (!vh_inventory_id_valid (id))
    return set_error (error, VIGIL_PLUGIN_ERROR_INVALID, "exclusion '%s': not a device or "
                      "group id (letters, digits, '.', '_', '-'; or group:ID, device:ID)",
                      given);
  is_device = want_device && (device = vh_inventory_device (host, id, NULL)) != NULL;
  is_group = want_group && vh_inventory_group_exists (host, id);
  if (is_device && is_group)
    return set_error (error, VIGIL_PLUGIN_ERROR_INVALID, "exclusion '%s': there is a device "
                      "and a group with that id: write device:%s or group:%s", given, id, id);
  if (!is_device && !is_group)
    return set_error (error, VIGIL_PLUGIN_ERROR_NOT_FOUND, "exclusion '%s': no %s with that "
                      "id (see `vigil %s list`)", given,
                      !want_group ? "device" : !want_device ? "group" : "device or group",
                      !want_group ? "device" : !want_device ? "group" : "device` or `vigil group");
  g_ptr_array_add (out, is_device ? g_strdup (id) : g_strdup_printf ("group:%s", id));
  return TRUE;
}

static gboolean
check_target (VigilHost *host, const VigilTaskSpec *spec, GPtrArray *exclusions,
              GError **error)
{
  if ((spec->device_id == NULL) == (spec->group_id == NULL))
    return set_error (error, VIGIL_PLUGIN_ERROR_INVALID,
                      "a task targets exactly one device or one group");
  if (spec->device_id != NULL)
    {
      g_autoptr (JsonObject) device = NULL;
      if (spec->exclude_devices != NULL && spec->exclude_devices[0] != NULL)
        return set_error (error, VIGIL_PLUGIN_ERROR_INVALID,
                          "exclusions apply to group tasks only");
      device = vh_inventory_device (host, spec->device_id, error);
      return device != NULL;
    }
  if (!vh_inventory_group_exists (host, spec->group_id))
    return set_error (error, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                      "no group '%s' (see `vigil group list`)", spec->group_id);
  for (gsize i = 0; spec->exclude_devices && spec->exclude_devices[i]; i++)
    if (!check_exclusion (host, spec->exclude_devices[i], exclusions, error))
      return FALSE;
  return TRUE;
}

/* Parameters after the generic checks and the type's own validate, with
 * defaults filled in; every problem goes into one INVALID error. With
 * @warnings, the warnings of a valid task go there ([{path, message}]). */
static JsonObject *
check_params (const VhTaskType *type, JsonObject *params, JsonArray **warnings,
              GError **error)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) empty = json_object_new ();
  g_autoptr (JsonObject) filled = NULL;
  g_autoptr (JsonArray) problems = NULL;
  g_autoptr (GString) text = NULL;

  filled = vh_schema_check (type->type.params, type->type.n_params,
                            params ? params : empty, "params", report);
  if (filled != NULL && type->type.validate != NULL && !vh_report_has_errors (report))
    {
      vh_report_set_prefix (report, "params.");
      type->type.validate (filled, report, type->type.user_data);
    }
  problems = vh_report_to_json (report);
  if (filled != NULL && !vh_report_has_errors (report))
    {
      if (warnings != NULL)
        *warnings = g_steal_pointer (&problems);
      return g_steal_pointer (&filled);
    }

  text = g_string_new (NULL);
  g_string_printf (text, "invalid parameters for task type '%s':", type->type.id);
  for (guint i = 0; problems != NULL && i < json_array_get_length (problems); i++)
    {
      JsonObject *p = json_array_get_object_element (problems, i);
      g_string_append_printf (text, "\n  %s: %s",
                              json_object_get_string_member_with_default (p, "path", ""),
                              json_object_get_string_member_with_default (p, "message", ""));
    }
  g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, text->str);
  return NULL;
}

static char *
strings_to_json (GPtrArray *strings)
{
  g_autoptr (JsonArray) array = json_array_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < strings->len; i++)
    json_array_add_string_element (array, strings->pdata[i]);
  json_node_set_array (node, array);
  return json_to_string (node, FALSE);
}

static char *
object_to_json (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, object);
  return json_to_string (node, FALSE);
}

typedef struct {
  const VigilTaskSpec *spec;
  const char          *source;
  const char          *name;
  char                *params;
  char                *schedule;
  char                *exclusions;
  guint                retention_days;
} NewTask;

static char *
insert_task (VigilHost *host, const NewTask *t, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gint64 now = vh_now (host);
  char *id = NULL;

  /* Short ids are easier to type; retry on the rare collision. */
  for (int attempt = 0; attempt < 8 && id == NULL; attempt++)
    {
      g_autofree char *uuid = g_uuid_string_random ();
      g_autofree char *candidate = g_strndup (uuid, 8);
      g_autoptr (GError) local_error = NULL;

      if (vh_sql_exec (db, "INSERT INTO tasks (id, name, type, device_id, group_id, exclusions,"
                       " params, schedule, retention_days, source, created_us)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?)", &local_error, "ssssssssisi",
                       candidate, t->name, t->spec->type, t->spec->device_id,
                       t->spec->group_id, t->exclusions, t->params, t->schedule,
                       (gint64) t->retention_days, t->source, now))
        id = g_steal_pointer (&candidate);
      else if (sqlite3_extended_errcode (db) != SQLITE_CONSTRAINT_PRIMARYKEY)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          break;
        }
    }
  vh_store_unlock (vh_context (host)->store);
  return id;
}

char *
vh_tasks_create (VigilHost *host, const char *source, const VigilTaskSpec *spec,
                 GError **error)
{
  return vh_tasks_create_full (host, source, spec, NULL, error);
}

char *
vh_tasks_create_full (VigilHost *host, const char *source, const VigilTaskSpec *spec,
                      JsonArray **warnings, GError **error)
{
  const VhTaskType *type;
  g_autoptr (JsonObject) params = NULL;
  g_autoptr (GPtrArray) exclusions = g_ptr_array_new_with_free_func (g_free);
  VhSchedule schedule;
  NewTask t = { spec, source ? source : "host", NULL, NULL, NULL, NULL, 0 };
  char *id;

  g_return_val_if_fail (host != NULL && spec != NULL, NULL);
  type = spec->type ? vh_registry_task_type (host, spec->type) : NULL;
  if (type == NULL)
    {
      g_autofree char *why = spec->type ? vh_registry_explain_missing_task_type (host, spec->type)
                                        : g_strdup ("no task type given");
      set_error (error, VIGIL_PLUGIN_ERROR_NOT_FOUND, "%s", why);
      return NULL;
    }
  if (!vh_registry_protect_task_type (host, spec->type, error))
    return NULL;
  if (spec->retention_days > MAX_RETENTION_DAYS)
    {
      set_error (error, VIGIL_PLUGIN_ERROR_INVALID, "retention_days: %u is out of range 1–%d",
                 spec->retention_days, MAX_RETENTION_DAYS);
      return NULL;
    }
  if (!check_target (host, spec, exclusions, error)
      || !vh_schedule_parse (spec->schedule, vh_context (host)->tasks->tz, &schedule, error)
      || (params = check_params (type, spec->params, warnings, error)) == NULL)
    return NULL;

  t.name = spec->name && spec->name[0] ? spec->name
           : type->type.title ? type->type.title : type->type.id;
  t.params = object_to_json (params);
  t.schedule = vh_schedule_to_json (&schedule);
  t.exclusions = strings_to_json (exclusions);
  t.retention_days = spec->retention_days ? spec->retention_days : DEFAULT_RETENTION_DAYS;
  id = insert_task (host, &t, error);
  g_free (t.params);
  g_free (t.schedule);
  g_free (t.exclusions);
  if (id == NULL && warnings != NULL)
    g_clear_pointer (warnings, json_array_unref);
  return id;
}

/* ---- read ------------------------------------------------------------ */

#define TASK_COLUMNS "id, name, type, device_id, group_id, exclusions, params, schedule," \
                     " retention_days, source, created_us, last_run_us, requested, cancelled"

static void
set_time_member (JsonObject *o, const char *key, gint64 time_us)
{
  if (time_us == 0 || time_us == VH_SCHEDULE_NEVER)
    json_object_set_null_member (o, key);
  else
    {
      g_autofree char *text = vh_iso_time (time_us);
      json_object_set_string_member (o, key, text);
    }
}

static void
set_nullable_string (JsonObject *o, const char *key, const unsigned char *value)
{
  if (value)
    json_object_set_string_member (o, key, (const char *) value);
  else
    json_object_set_null_member (o, key);
}

static void
set_json_member (JsonObject *o, const char *key, const unsigned char *text)
{
  JsonNode *node = vh_json_parse_text ((const char *) text);
  json_object_set_member (o, key, node ? node : json_node_new (JSON_NODE_NULL));
}

/* "cancelled", "running", "due", "scheduled", "manual", "waiting", "done". */
static const char *
task_state (VigilHost *host, JsonObject *o, const VhSchedule *s, gint64 next)
{
  if (json_object_get_boolean_member (o, "cancelled"))
    return "cancelled";
  if (vh_tasks_active_runs (host, json_object_get_string_member (o, "id")) > 0)
    return "running";
  if (json_object_get_boolean_member (o, "requested"))
    return "due";
  if (next != VH_SCHEDULE_NEVER)
    return next <= vh_now (host) ? "due" : "scheduled";
  if (s->kind == VH_SCHEDULE_MANUAL)
    return "manual";
  if (s->kind == VH_SCHEDULE_ON_START || s->kind == VH_SCHEDULE_AFTER_UPDATE)
    return "waiting";
  return "done";
}

static void
add_schedule_members (VigilHost *host, JsonObject *o, const char *schedule_text,
                      gint64 created, gint64 last_run)
{
  VhSchedule s;
  g_autofree char *describe = NULL;
  gint64 next = VH_SCHEDULE_NEVER;

  if (!vh_schedule_parse (schedule_text, vh_context (host)->tasks->tz, &s, NULL))
    s.kind = VH_SCHEDULE_MANUAL;   /* stored schedules were checked on creation */
  else
    next = vh_schedule_next (&s, created, last_run, vh_now (host), vh_context (host)->tasks->tz);
  describe = vh_schedule_describe (&s, vh_context (host)->tasks->tz);
  json_object_set_string_member (o, "schedule_text", describe);
  set_time_member (o, "next_start", json_object_get_boolean_member (o, "cancelled")
                                    ? VH_SCHEDULE_NEVER : next);
  json_object_set_string_member (o, "state", task_state (host, o, &s, next));
}

static JsonObject *
row_to_task (VigilHost *host, sqlite3_stmt *stmt)
{
  JsonObject *o = json_object_new ();
  gint64 created = sqlite3_column_int64 (stmt, 10);
  gint64 last_run = sqlite3_column_int64 (stmt, 11);

  json_object_set_string_member (o, "id", (const char *) sqlite3_column_text (stmt, 0));
  json_object_set_string_member (o, "name", (const char *) sqlite3_column_text (stmt, 1));
  json_object_set_string_member (o, "type", (const char *) sqlite3_column_text (stmt, 2));
  set_nullable_string (o, "device", sqlite3_column_text (stmt, 3));
  set_nullable_string (o, "group", sqlite3_column_text (stmt, 4));
  set_json_member (o, "exclude", sqlite3_column_text (stmt, 5));
  set_json_member (o, "params", sqlite3_column_text (stmt, 6));
  set_json_member (o, "schedule", sqlite3_column_text (stmt, 7));
  json_object_set_int_member (o, "retention_days", sqlite3_column_int64 (stmt, 8));
  json_object_set_string_member (o, "source", (const char *) sqlite3_column_text (stmt, 9));
  set_time_member (o, "created", created);
  set_time_member (o, "last_run", last_run);
  json_object_set_boolean_member (o, "requested", sqlite3_column_int64 (stmt, 12) != 0);
  json_object_set_boolean_member (o, "cancelled", sqlite3_column_int64 (stmt, 13) != 0);
  return o;
}

/* Rows first, then derived members: deriving takes the store lock again. */
static GPtrArray *
query_tasks (VigilHost *host, const char *where, const char *task_id, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autofree char *sql = g_strdup_printf ("SELECT " TASK_COLUMNS " FROM tasks %s", where);
  g_autoptr (GPtrArray) schedules = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = vh_sql_prepare (db, sql, error, task_id ? "s" : "", task_id);
  int rc = SQLITE_ERROR;

  while (stmt != NULL && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_ptr_array_add (rows, row_to_task (host, stmt));
      g_ptr_array_add (schedules, g_strdup ((const char *) sqlite3_column_text (stmt, 7)));
      json_object_set_int_member (rows->pdata[rows->len - 1], "created_us",
                                  sqlite3_column_int64 (stmt, 10));
      json_object_set_int_member (rows->pdata[rows->len - 1], "last_run_us",
                                  sqlite3_column_int64 (stmt, 11));
    }
  if (stmt != NULL && rc != SQLITE_DONE)
    vh_store_set_error (db, "reading tasks", error);
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  if (rc != SQLITE_DONE)
    return NULL;
  for (guint i = 0; i < rows->len; i++)
    {
      JsonObject *o = rows->pdata[i];
      add_schedule_members (host, o, schedules->pdata[i],
                            json_object_get_int_member (o, "created_us"),
                            json_object_get_int_member (o, "last_run_us"));
    }
  return g_steal_pointer (&rows);
}

JsonObject *
vh_tasks_get (VigilHost *host, const char *task_id, GError **error)
{
  g_autoptr (GPtrArray) rows = query_tasks (host, "WHERE id = ?", task_id, error);

  if (rows == NULL)
    return NULL;
  if (rows->len == 0)
    {
      set_error (error, VIGIL_PLUGIN_ERROR_NOT_FOUND, "no task '%s' (see `vigil task list`)",
                 task_id);
      return NULL;
    }
  return json_object_ref (rows->pdata[0]);
}

JsonArray *
vh_tasks_list (VigilHost *host, GError **error)
{
  g_autoptr (GPtrArray) rows = query_tasks (host, "ORDER BY created_us, rowid", NULL, error);
  JsonArray *array;

  if (rows == NULL)
    return NULL;
  array = json_array_new ();
  for (guint i = 0; i < rows->len; i++)
    json_array_add_object_element (array, json_object_ref (rows->pdata[i]));
  return array;
}

/* ---- cancel, delete, trigger ----------------------------------------- */

gboolean
vh_tasks_cancel (VigilHost *host, const char *task_id, GError **error)
{
  g_autoptr (JsonObject) task = vh_tasks_get (host, task_id, error);
  sqlite3 *db;
  gboolean ok;

  if (task == NULL)
    return FALSE;
  db = vh_store_lock (vh_context (host)->store);
  ok = vh_sql_exec (db, "UPDATE tasks SET cancelled = 1, requested = 0 WHERE id = ?",
                    error, "s", task_id)
       && vh_sql_exec (db, "UPDATE runs SET state = 'cancelled', finished_us = ?,"
                       " error = 'cancelled before it started'"
                       " WHERE task_id = ? AND state IN ('pending', 'dispatched')", error, "is",
                       vh_now (host), task_id)
       && vh_sql_exec (db, "UPDATE runs SET cancel_requested = 1"
                       " WHERE task_id = ? AND state = 'running'", error, "s", task_id);
  vh_store_unlock (vh_context (host)->store);
  if (ok)
    {
      vh_dispatch_cancel_running (host, task_id);
      vh_runner_cancel_task (host, task_id);
    }
  return ok;
}

gboolean
vh_tasks_delete (VigilHost *host, const char *task_id, GError **error)
{
  g_autofree char *type = NULL;
  sqlite3_stmt *stmt;
  sqlite3 *db;
  gboolean ok;

  if (!vh_tasks_cancel (host, task_id, error))
    return FALSE;
  db = vh_store_lock (vh_context (host)->store);
  stmt = vh_sql_prepare (db, "SELECT type FROM tasks WHERE id = ?", error, "s", task_id);
  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    type = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  /* The task, its runs and the audit event go together or not at all. */
  ok = stmt != NULL && vh_store_begin (db, FALSE, error)
       && vh_sql_exec (db, "DELETE FROM findings WHERE run_id IN"
                       " (SELECT id FROM runs WHERE task_id = ?)", error, "s", task_id)
       && vh_sql_exec (db, "DELETE FROM runs WHERE task_id = ?", error, "s", task_id)
       && vh_sql_exec (db, "DELETE FROM tasks WHERE id = ?", error, "s", task_id);
  if (ok)
    {
      JsonObject *audit = json_object_new ();

      json_object_set_string_member (audit, "task", task_id);
      if (type)
        json_object_set_string_member (audit, "type", type);
      else
        json_object_set_null_member (audit, "type");
      ok = vh_audit (host, "host.task_deleted", NULL, audit, error)
           && vh_store_commit (db, FALSE, error);
    }
  if (!ok)
    vh_store_rollback (db, FALSE);
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

guint
vh_tasks_trigger (VigilHost *host, VhScheduleKind kind)
{
  g_autofree char *pattern = g_strdup_printf ("{\"kind\":\"%s\"}", vh_schedule_kind_name (kind));
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  guint count = 0;

  /* Stored schedules are normalized, so the text compares exactly. */
  if (vh_sql_exec (db, "UPDATE tasks SET requested = 1 WHERE cancelled = 0 AND schedule = ?",
                   NULL, "s", pattern))
    count = (guint) sqlite3_changes (db);
  vh_store_unlock (vh_context (host)->store);
  return count;
}
