/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs: one row per device and round of a task. A round starts when a task
 * is due (its schedule says so, or it was triggered or run by hand); the
 * task is claimed with a compare-and-set on its last start, so a task is
 * never started twice by two processes sharing the state folder. A group
 * task expands to the devices of its group and subgroups, minus its
 * exclusions (devices, and the devices of excluded groups), when the round
 * starts (not when the task was created), so a device added to the group
 * later is included, or left out when it joins an excluded group. Progress, findings, final
 * state and result are written here; runs-read.c reads them back.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include "tasks/tasks-private.h"

void
vh_run_job_free (VhRunJob *job)
{
  if (job == NULL)
    return;
  g_free (job->task_id);
  g_free (job->type);
  g_free (job->device_id);
  g_free (job->params);
  g_free (job);
}

typedef struct {
  char   *id;
  char   *type;
  char   *device_id;
  char   *group_id;
  char   *exclusions;
  char   *params;
  char   *schedule;
  gint64  created_us;
  gint64  last_run_us;
  gboolean requested;
} TaskRow;

static void
task_row_free (TaskRow *row)
{
  g_free (row->id);
  g_free (row->type);
  g_free (row->device_id);
  g_free (row->group_id);
  g_free (row->exclusions);
  g_free (row->params);
  g_free (row->schedule);
  g_free (row);
}

#define DUP_TEXT(stmt, i) g_strdup ((const char *) sqlite3_column_text ((stmt), (i)))

static GPtrArray *
read_task_rows (VigilHost *host, const char *task_id, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) task_row_free);
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt;
  int rc = SQLITE_ERROR;

  /* Tasks with a round still running are not due again until it ends. */
  stmt = vh_sql_prepare (db, "SELECT id, type, device_id, group_id, exclusions, params,"
                         " schedule, created_us, last_run_us, requested FROM tasks t"
                         " WHERE (?1 IS NULL AND cancelled = 0 AND NOT EXISTS (SELECT 1 FROM runs r"
                         "   WHERE r.task_id = t.id AND r.state IN ('pending', 'dispatched', 'running')))"
                         " OR id = ?1 ORDER BY created_us, rowid", error, "s", task_id);
  while (stmt != NULL && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TaskRow *row = g_new0 (TaskRow, 1);
      row->id = DUP_TEXT (stmt, 0);
      row->type = DUP_TEXT (stmt, 1);
      row->device_id = DUP_TEXT (stmt, 2);
      row->group_id = DUP_TEXT (stmt, 3);
      row->exclusions = DUP_TEXT (stmt, 4);
      row->params = DUP_TEXT (stmt, 5);
      row->schedule = DUP_TEXT (stmt, 6);
      row->created_us = sqlite3_column_int64 (stmt, 7);
      row->last_run_us = sqlite3_column_int64 (stmt, 8);
      row->requested = sqlite3_column_int64 (stmt, 9) != 0;
      g_ptr_array_add (rows, row);
    }
  if (stmt != NULL && rc != SQLITE_DONE)
    vh_store_set_error (db, "reading tasks", error);
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return rc == SQLITE_DONE ? g_steal_pointer (&rows) : NULL;
}

static gboolean
is_due (VigilHost *host, const TaskRow *row, gint64 now)
{
  VhSchedule s;
  gint64 next;

  if (row->requested)
    return TRUE;
  if (!vh_schedule_parse (row->schedule, vh_context (host)->tasks->tz, &s, NULL))
    return FALSE;
  next = vh_schedule_next (&s, row->created_us, row->last_run_us, now, vh_context (host)->tasks->tz);
  return next != VH_SCHEDULE_NEVER && next <= now;
}

/* Compare-and-set on the task's last start: TRUE when this process won. */
static gboolean
claim_task (VigilHost *host, const TaskRow *row, gint64 now)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean won = vh_sql_exec (db, "UPDATE tasks SET last_run_us = ?, requested = 0"
                              " WHERE id = ? AND last_run_us = ? AND requested = ?",
                              NULL, "isii", now, row->id, row->last_run_us,
                              (gint64) row->requested)
                 && sqlite3_changes (db) == 1;
  vh_store_unlock (vh_context (host)->store);
  return won;
}

/* The devices an exclusion list leaves out: device ids, and every device of
 * each "group:ID" (and its subgroups) as the group is now. A group removed
 * since the task was created excludes nothing. (transfer full) */
static GHashTable *
excluded_devices (VigilHost *host, const char *exclusions_json)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonNode) exclusions = vh_json_parse_text (exclusions_json);
  JsonArray *list;

  if (exclusions == NULL || !JSON_NODE_HOLDS_ARRAY (exclusions))
    return set;
  list = json_node_get_array (exclusions);
  for (guint j = 0; j < json_array_get_length (list); j++)
    {
      const char *entry = json_array_get_string_element (list, j);
      g_autoptr (GPtrArray) members = NULL;

      if (entry == NULL)
        continue;
      if (!g_str_has_prefix (entry, "group:"))
        {
          g_hash_table_add (set, g_strdup (entry));
          continue;
        }
      members = vh_inventory_group_devices (host, entry + 6, NULL);
      for (guint i = 0; members != NULL && i < members->len; i++)
        g_hash_table_add (set, g_strdup (members->pdata[i]));
    }
  return set;
}

static GPtrArray *
target_devices (VigilHost *host, const TaskRow *row, GError **error)
{
  g_autoptr (GPtrArray) devices = NULL;
  g_autoptr (GHashTable) excluded = NULL;

  if (row->device_id != NULL)
    {
      devices = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (devices, g_strdup (row->device_id));
      return g_steal_pointer (&devices);
    }
  devices = vh_inventory_group_devices (host, row->group_id, error);
  if (devices == NULL)
    return NULL;
  excluded = excluded_devices (host, row->exclusions);
  for (guint i = devices->len; i > 0; i--)
    if (g_hash_table_contains (excluded, devices->pdata[i - 1]))
      g_ptr_array_remove_index (devices, i - 1);
  return g_steal_pointer (&devices);
}

static void
insert_runs (VigilHost *host, const TaskRow *row, GPtrArray *devices, gint64 now,
             GPtrArray *jobs)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);

  for (guint i = 0; i < devices->len; i++)
    {
      g_autoptr (GError) error = NULL;
      VhRunJob *job;

      if (!vh_sql_exec (db, "INSERT INTO runs (task_id, device_id, state, created_us, runner_pid)"
                        " VALUES (?, ?, 'pending', ?, ?)", &error, "ssii",
                        row->id, (const char *) devices->pdata[i], now, (gint64) getpid ()))
        {
          vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
          continue;
        }
      job = g_new0 (VhRunJob, 1);
      job->run_id = sqlite3_last_insert_rowid (db);
      job->task_id = g_strdup (row->id);
      job->type = g_strdup (row->type);
      job->device_id = g_strdup (devices->pdata[i]);
      job->params = g_strdup (row->params);
      g_ptr_array_add (jobs, job);
    }
  vh_store_unlock (vh_context (host)->store);
}

static void
start_round (VigilHost *host, const TaskRow *row, gint64 now, GPtrArray *jobs)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) devices = target_devices (host, row, &error);

  if (devices == NULL)
    {
      g_autofree char *message = g_strdup_printf ("task %s: cannot start: %s", row->id,
                                                  error->message);
      vh_log (host, "host", G_LOG_LEVEL_WARNING, message);
      return;
    }
  insert_runs (host, row, devices, now, jobs);
}

/* ---- runs of processes that died ------------------------------------- */

static gboolean
process_gone (gint64 pid)
{
  return pid > 0 && pid != getpid () && kill ((pid_t) pid, 0) != 0 && errno == ESRCH;
}

guint
vh_tasks_recover_interrupted (VigilHost *host)
{
  g_autoptr (GArray) dead = g_array_new (FALSE, FALSE, sizeof (gint64));
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = vh_sql_prepare (db, "SELECT id, runner_pid FROM runs"
                                       " WHERE state IN ('pending', 'running')", NULL, "");

  while (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    if (process_gone (sqlite3_column_int64 (stmt, 1)))
      {
        gint64 id = sqlite3_column_int64 (stmt, 0);
        g_array_append_val (dead, id);
      }
  sqlite3_finalize (stmt);
  for (guint i = 0; i < dead->len; i++)
    vh_sql_exec (db, "UPDATE runs SET state = 'failed', finished_us = ?,"
                 " error = 'interrupted: the process running it (pid ' || runner_pid || ') exited'"
                 " WHERE id = ? AND state IN ('pending', 'running')", NULL, "ii",
                 vh_now (host), g_array_index (dead, gint64, i));
  vh_store_unlock (vh_context (host)->store);
  return dead->len;
}

GPtrArray *
vh_tasks_claim_due (VigilHost *host, GError **error)
{
  g_autoptr (GPtrArray) rows = read_task_rows (host, NULL, error);
  GPtrArray *jobs;
  gint64 now = vh_now (host);

  if (rows == NULL)
    return NULL;
  jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) vh_run_job_free);
  for (guint i = 0; i < rows->len; i++)
    if (is_due (host, rows->pdata[i], now) && claim_task (host, rows->pdata[i], now))
      start_round (host, rows->pdata[i], now, jobs);
  return jobs;
}

GPtrArray *
vh_tasks_claim_now (VigilHost *host, const char *task_id, GError **error)
{
  g_autoptr (JsonObject) task = vh_tasks_get (host, task_id, error);
  g_autoptr (GPtrArray) rows = NULL;
  GPtrArray *jobs;
  gint64 now = vh_now (host);

  if (task == NULL ||
      !vh_registry_protect_task_type (host, json_object_get_string_member (task, "type"),
                                      error))
    return NULL;
  if (json_object_get_boolean_member (task, "cancelled"))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "task %s was cancelled; create a new task to run it again", task_id);
      return NULL;
    }
  if (vh_tasks_active_runs (host, task_id) > 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "task %s is already running", task_id);
      return NULL;
    }
  rows = read_task_rows (host, task_id, error);
  if (rows == NULL)
    return NULL;
  jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) vh_run_job_free);
  if (rows->len == 1 && claim_task (host, rows->pdata[0], now))
    start_round (host, rows->pdata[0], now, jobs);
  return jobs;
}

/* ---- one run's life -------------------------------------------------- */

gboolean
vh_tasks_start_run (VigilHost *host, gint64 run_id)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean started = vh_sql_exec (db, "UPDATE runs SET state = 'running', started_us = ?"
                                  " WHERE id = ? AND state = 'pending'", NULL, "ii",
                                  vh_now (host), run_id)
                     && sqlite3_changes (db) == 1;
  vh_store_unlock (vh_context (host)->store);
  return started;
}

void
vh_tasks_store_progress (VigilHost *host, gint64 run_id, double fraction, const char *message)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  vh_sql_exec (db, "UPDATE runs SET fraction = ?, message = ? WHERE id = ?", NULL, "dsi",
               fraction, message, run_id);
  vh_store_unlock (vh_context (host)->store);
}

void
vh_tasks_store_finding (VigilHost *host, gint64 run_id, JsonObject *finding)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  sqlite3 *db;

  json_node_set_object (node, finding);
  text = json_to_string (node, FALSE);
  db = vh_store_lock (vh_context (host)->store);
  vh_sql_exec (db, "INSERT INTO findings (run_id, time_us, finding) VALUES (?, ?, ?)", NULL,
               "iis", run_id, vh_now (host), text);
  vh_store_unlock (vh_context (host)->store);
}

gboolean
vh_tasks_cancel_requested (VigilHost *host, gint64 run_id)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = vh_sql_prepare (db, "SELECT cancel_requested FROM runs WHERE id = ?",
                                       NULL, "i", run_id);
  gboolean requested = FALSE;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    requested = sqlite3_column_int64 (stmt, 0) != 0;
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return requested;
}

/* A run's result larger than this (as JSON text) is not copied into its
 * task.completed / task.failed: the event says how large it was, and the
 * run keeps it (`vigil task results`). */
#define OUTCOME_RESULT_MAX (64 * 1024)

static void
emit_outcome (VigilHost *host, const VhRunJob *job, const char *state, const char *error_message,
              JsonNode *result, gsize result_len)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  gboolean completed = g_str_equal (state, "completed");

  json_object_set_string_member (payload, "task_id", job->task_id);
  json_object_set_string_member (payload, "type", job->type);
  json_object_set_string_member (payload, "device", job->device_id);
  json_object_set_string_member (payload, "state", state);
  if (error_message != NULL)
    json_object_set_string_member (payload, "error", error_message);
  if (result != NULL && result_len <= OUTCOME_RESULT_MAX)
    json_object_set_member (payload, "result", json_node_copy (result));
  else if (result != NULL)
    json_object_set_int_member (payload, "result_bytes", (gint64) result_len);
  id = vh_events_emit (host, "host", completed ? "task.completed" : "task.failed",
                       job->device_id, 1, payload, &error);
  if (id == NULL)
    vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
}

gint64
vh_tasks_unfinished_runs (sqlite3 *db, const char *task_id)
{
  sqlite3_stmt *stmt = vh_sql_prepare (db, "SELECT COUNT(*) FROM runs WHERE task_id = ?"
                                       " AND state IN ('pending', 'dispatched', 'running')",
                                       NULL, "s", task_id);
  gint64 n = -1;

  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

/* task.round_finished: every run of the round has ended. A plugin that
 * waits for a group task (not for one device of it) listens for this. */
static void
emit_round_finished (VigilHost *host, const VhRunJob *job)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  json_object_set_string_member (payload, "task_id", job->task_id);
  json_object_set_string_member (payload, "type", job->type);
  id = vh_events_emit (host, "host", "task.round_finished", NULL, 1, payload, &error);
  if (id == NULL)
    vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
}

void
vh_tasks_finish_run (VigilHost *host, const VhRunJob *job, const char *state,
                     const char *error_message, double fraction, const char *message,
                     JsonNode *result)
{
  g_autofree char *result_text = result ? json_to_string (result, FALSE) : NULL;
  g_autoptr (GError) error = NULL;
  VhTasks *tasks = vh_context (host)->tasks;
  sqlite3 *db;
  gint64 left;

  /* Two runs of a round ending together: without this lock the first
   * could emit its outcome after the second counted none left and emitted
   * task.round_finished, and a listener would see the round end before
   * one of its runs. */
  g_mutex_lock (&tasks->finish_lock);
  db = vh_store_lock (vh_context (host)->store);
  if (!vh_sql_exec (db, "UPDATE runs SET state = ?, error = ?, fraction = ?, message = ?,"
                    " result = ?, finished_us = ? WHERE id = ?", &error, "ssdssii",
                    state, error_message, fraction, message, result_text,
                    vh_now (host), job->run_id))
    vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
  /* Counted under the same lock as the update, so of two runs finishing
   * together exactly one sees none left. */
  left = vh_tasks_unfinished_runs (db, job->task_id);
  vh_store_unlock (vh_context (host)->store);
  emit_outcome (host, job, state, error_message, result,
                result_text != NULL ? strlen (result_text) : 0);
  if (left == 0)
    emit_round_finished (host, job);
  g_mutex_unlock (&tasks->finish_lock);
}

/* For dispatch.c: a run that ended elsewhere announces itself the same way. */
void
vh_tasks_emit_run_outcome (VigilHost *host, const VhRunJob *job, const char *state,
                           const char *error_message)
{
  emit_outcome (host, job, state, error_message, NULL, 0);
}

void
vh_tasks_emit_round_finished (VigilHost *host, const VhRunJob *job)
{
  emit_round_finished (host, job);
}
