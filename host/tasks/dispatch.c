/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs that execute elsewhere (the fleet, #13). An upper layer registers a
 * dispatcher (the dependency stays inverted: tasks never knows about the
 * broker); the runner offers it each new run before a worker thread gets
 * it, and a run it takes is stored "dispatched" with no runner process, so
 * this process neither waits for it nor recovers it when it exits. What
 * the executing side reports comes back through vh_tasks_record_run_report:
 * dispatched → running → completed | failed, each step a compare-and-set on
 * the stored state, so a report delivered twice changes nothing the second
 * time and a report about another device's run is refused.
 */
#include <string.h>
#include <unistd.h>
#include "tasks/tasks-private.h"

#define MAX_REPORT_FINDINGS 10000
#define MAX_REPORT_TEXT 4096

void
vh_tasks_set_dispatcher (VigilHost *host, VhRunDispatchFunc func, gpointer user_data)
{
  VhTasks *tasks = vh_context (host)->tasks;

  g_mutex_lock (&tasks->lock);
  tasks->dispatch_func = func;
  tasks->dispatch_data = user_data;
  g_mutex_unlock (&tasks->lock);
}

static JsonObject *
job_to_json (const VhRunJob *job)
{
  JsonObject *run = json_object_new ();
  JsonNode *params = vh_json_parse_text (job->params);

  json_object_set_int_member (run, "run", job->run_id);
  json_object_set_string_member (run, "task", job->task_id);
  json_object_set_string_member (run, "type", job->type);
  json_object_set_string_member (run, "device", job->device_id);
  json_object_set_member (run, "params", params ? params : json_node_new (JSON_NODE_NULL));
  return run;
}

gboolean
vh_dispatch_offer (VigilHost *host, const VhRunJob *job)
{
  VhTasks *tasks = vh_context (host)->tasks;
  g_autoptr (JsonObject) run = NULL;
  VhRunDispatchFunc func;
  gpointer data;
  sqlite3 *db;
  gboolean taken;

  g_mutex_lock (&tasks->lock);
  func = tasks->dispatch_func;
  data = tasks->dispatch_data;
  g_mutex_unlock (&tasks->lock);
  if (func == NULL)
    return FALSE;
  run = job_to_json (job);
  /* Stored before the dispatcher hands it on, so that a report arriving
   * at once finds the run "dispatched"; put back if it is not taken. */
  db = vh_store_lock (vh_context (host)->store);
  taken = vh_sql_exec (db, "UPDATE runs SET state = 'dispatched', runner_pid = NULL"
                       " WHERE id = ? AND state = 'pending'", NULL, "i", job->run_id)
          && sqlite3_changes (db) == 1;
  vh_store_unlock (vh_context (host)->store);
  if (!taken)
    return FALSE;
  if (func (host, run, data))
    return TRUE;
  db = vh_store_lock (vh_context (host)->store);
  vh_sql_exec (db, "UPDATE runs SET state = 'pending', runner_pid = ?"
               " WHERE id = ? AND state = 'dispatched'", NULL, "ii",
               (gint64) getpid (), job->run_id);
  vh_store_unlock (vh_context (host)->store);
  return FALSE;
}

/* ---- cancel ---------------------------------------------------------- */

#define CANCELLED_ELSEWHERE "cancelled while it ran on its device's agent (the agent is told to stop it)"

/* The task's runs that execute elsewhere (no runner process) and already
 * reported running; called with the store locked. */
static GPtrArray *
running_elsewhere (sqlite3 *db, const char *task_id)
{
  GPtrArray *jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) vh_run_job_free);
  sqlite3_stmt *stmt = vh_sql_prepare (db, "SELECT r.id, r.device_id, t.type"
                                       " FROM runs r JOIN tasks t ON t.id = r.task_id"
                                       " WHERE r.task_id = ? AND r.state = 'running'"
                                       " AND r.runner_pid IS NULL", NULL, "s", task_id);

  while (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      VhRunJob *job = g_new0 (VhRunJob, 1);

      job->run_id = sqlite3_column_int64 (stmt, 0);
      job->task_id = g_strdup (task_id);
      job->device_id = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      job->type = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      g_ptr_array_add (jobs, job);
    }
  sqlite3_finalize (stmt);
  return jobs;
}

/* Ended here at once, not when the agent reports: the agent may be
 * unreachable (killed, offline) and the next round must not wait for it.
 * Its late report then changes nothing (the compare-and-set in apply()). */
guint
vh_dispatch_cancel_running (VigilHost *host, const char *task_id)
{
  VhTasks *tasks = vh_context (host)->tasks;
  g_autoptr (GPtrArray) jobs = NULL;
  g_autofree gboolean *ended = NULL;
  gint64 left = -1;
  guint count = 0;
  sqlite3 *db;

  g_mutex_lock (&tasks->finish_lock);
  db = vh_store_lock (vh_context (host)->store);
  jobs = running_elsewhere (db, task_id);
  ended = g_new0 (gboolean, jobs->len + 1);
  for (guint i = 0; i < jobs->len; i++)
    {
      const VhRunJob *job = jobs->pdata[i];

      ended[i] = vh_sql_exec (db, "UPDATE runs SET state = 'cancelled', error = ?,"
                              " finished_us = ? WHERE id = ? AND state = 'running'", NULL,
                              "sii", CANCELLED_ELSEWHERE, vh_now (host), job->run_id)
                 && sqlite3_changes (db) == 1;
    }
  if (jobs->len > 0)
    left = vh_tasks_unfinished_runs (db, task_id);
  vh_store_unlock (vh_context (host)->store);
  for (guint i = 0; i < jobs->len; i++)
    if (ended[i])
      {
        vh_tasks_emit_run_outcome (host, jobs->pdata[i], "cancelled", CANCELLED_ELSEWHERE);
        if (++count == jobs->len && left == 0)
          vh_tasks_emit_round_finished (host, jobs->pdata[i]);
      }
  g_mutex_unlock (&tasks->finish_lock);
  return count;
}

/* ---- reports --------------------------------------------------------- */

static gboolean
report_fail (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
report_fail (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, "run report: %s", message);
  return FALSE;
}

static gboolean
optional_text (JsonObject *report, const char *member, const char **out, GError **error)
{
  JsonNode *node = json_object_get_member (report, member);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return report_fail (error, "\"%s\" must be a string", member);
  *out = json_node_get_string (node);
  if (strlen (*out) > MAX_REPORT_TEXT || !g_utf8_validate (*out, -1, NULL))
    return report_fail (error, "\"%s\" must be UTF-8 of at most %d bytes", member,
                        MAX_REPORT_TEXT);
  return TRUE;
}

typedef struct {
  gint64      run_id;
  const char *state;
  const char *error;
  const char *message;
  double      fraction;
  gboolean    has_fraction;
  JsonNode   *result;     /* borrowed */
  JsonArray  *findings;   /* borrowed */
} Report;

static gboolean
report_read (JsonObject *report, Report *out, GError **error)
{
  JsonNode *node = json_object_get_member (report, "run");

  memset (out, 0, sizeof *out);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) <= 0)
    return report_fail (error, "\"run\" must be a positive integer");
  out->run_id = json_node_get_int (node);
  if (!optional_text (report, "state", &out->state, error)
      || !optional_text (report, "error", &out->error, error)
      || !optional_text (report, "message", &out->message, error))
    return FALSE;
  if (out->state == NULL
      || !(g_str_equal (out->state, "running") || g_str_equal (out->state, "completed")
           || g_str_equal (out->state, "failed")))
    return report_fail (error, "\"state\" must be \"running\", \"completed\" or \"failed\"");
  if (g_str_equal (out->state, "failed") && out->error == NULL)
    return report_fail (error, "a failed run's report must say why in \"error\"");
  node = json_object_get_member (report, "progress");
  out->fraction = g_str_equal (out->state, "completed") ? 1.0 : 0.0;
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      GType t = json_node_get_value_type (node);
      if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
        return report_fail (error, "\"progress\" must be a number from 0 to 1");
      out->fraction = json_node_get_double (node);
      out->has_fraction = TRUE;
      if (!(out->fraction >= 0.0 && out->fraction <= 1.0))
        return report_fail (error, "\"progress\" must be a number from 0 to 1");
    }
  out->result = json_object_get_member (report, "result");
  if (out->result != NULL && JSON_NODE_HOLDS_NULL (out->result))
    out->result = NULL;
  node = json_object_get_member (report, "findings");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return report_fail (error, "\"findings\" must be an array of objects");
      out->findings = json_node_get_array (node);
      if (json_array_get_length (out->findings) > MAX_REPORT_FINDINGS)
        return report_fail (error, "more than %d findings", MAX_REPORT_FINDINGS);
      for (guint i = 0; i < json_array_get_length (out->findings); i++)
        if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (out->findings, i)))
          return report_fail (error, "\"findings\"[%u] must be an object", i);
    }
  return TRUE;
}

/* The run's task, type and device and its state; called with the store
 * locked. FALSE when there is no such run. */
static gboolean
read_run (sqlite3 *db, gint64 run_id, VhRunJob *job, char **state)
{
  sqlite3_stmt *stmt = vh_sql_prepare (db, "SELECT r.task_id, t.type, r.device_id, r.state"
                                       " FROM runs r JOIN tasks t ON t.id = r.task_id"
                                       " WHERE r.id = ?", NULL, "i", run_id);
  gboolean found = stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW;

  if (found)
    {
      job->run_id = run_id;
      job->task_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      job->type = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      job->device_id = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      *state = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
    }
  sqlite3_finalize (stmt);
  return found;
}

/* Applies @r under the store's lock; *ended says whether it ended the run
 * (and *left how many runs of the round are still open). */
static gboolean
apply (VigilHost *host, sqlite3 *db, const VhRunJob *job, const Report *r,
       gboolean *ended, gint64 *left, GError **error)
{
  gint64 now = vh_now (host);
  g_autofree char *result_text = NULL;

  *ended = FALSE;
  if (g_str_equal (r->state, "running"))
    /* Progress ticks repeat "running": the start is the first one, and a
     * report without progress keeps what a tick already said. */
    return vh_sql_exec (db, "UPDATE runs SET state = 'running',"
                        " started_us = coalesce(started_us, ?),"
                        " fraction = CASE WHEN ? THEN ? ELSE fraction END,"
                        " message = coalesce(?, message)"
                        " WHERE id = ? AND state IN ('dispatched', 'running')", error, "iidsi",
                        now, (gint64) r->has_fraction, r->fraction, r->message, r->run_id);
  result_text = r->result ? json_to_string (r->result, FALSE) : NULL;
  if (!vh_sql_exec (db, "UPDATE runs SET state = ?, error = ?, fraction = ?,"
                    " message = coalesce(?, message), result = ?, finished_us = ?,"
                    " started_us = coalesce(started_us, ?)"
                    " WHERE id = ? AND state IN ('dispatched', 'running')", error, "ssdssiii",
                    r->state, r->error, r->fraction, r->message, result_text, now, now,
                    r->run_id))
    return FALSE;
  if (sqlite3_changes (db) != 1)
    return TRUE;                /* ended already: a duplicate */
  *ended = TRUE;
  for (guint i = 0; r->findings != NULL && i < json_array_get_length (r->findings); i++)
    {
      g_autoptr (JsonNode) node = json_node_copy (json_array_get_element (r->findings, i));
      g_autofree char *text = json_to_string (node, FALSE);

      if (!vh_sql_exec (db, "INSERT INTO findings (run_id, time_us, finding) VALUES (?, ?, ?)",
                        error, "iis", r->run_id, now, text))
        return FALSE;
    }
  *left = vh_tasks_unfinished_runs (db, job->task_id);
  return TRUE;
}

/* What one report of a batch leaves for after the commit. */
typedef struct {
  VhRunJob    job;
  Report      r;
  gboolean    ended;
  gint64      left;
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_free (o->job.task_id);
  g_free (o->job.type);
  g_free (o->job.device_id);
}

/* One report inside the batch's transaction, in a savepoint of its own so
 * that a report refused or failing leaves the others stored. */
static gboolean
record_one (VigilHost *host, sqlite3 *db, const char *device_id, JsonObject *report,
            Outcome *o, GError **error)
{
  g_autofree char *state = NULL;

  if (!report_read (report, &o->r, error))
    return FALSE;
  if (!read_run (db, o->r.run_id, &o->job, &state) || g_strcmp0 (o->job.device_id, device_id) != 0)
    {
      /* Another device's run and no run at all look the same to the
       * reporter: it learns nothing about runs that are not its own. */
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "run report: device %s has no run %" G_GINT64_FORMAT, device_id, o->r.run_id);
      return FALSE;
    }
  if (!vh_sql_exec (db, "SAVEPOINT report", error, ""))
    return FALSE;
  if (!apply (host, db, &o->job, &o->r, &o->ended, &o->left, error))
    {
      o->ended = FALSE;
      vh_sql_exec (db, "ROLLBACK TO report", NULL, "");
      vh_sql_exec (db, "RELEASE report", NULL, "");
      return FALSE;
    }
  return vh_sql_exec (db, "RELEASE report", error, "");
}

/* Stores the reports in one durable transaction: one sync to disk for the
 * batch instead of one per report, which is what bounds a console's
 * ingest (docs/fleet.md, Scale). The events of the runs that ended go out
 * after the commit, in the batch's order, so task.round_finished still
 * follows every outcome of its round. */
static guint
record_batch (VigilHost *host, guint n, const char *const *device_ids,
              JsonObject *const *reports, GError **errors)
{
  g_autofree Outcome *out = g_new0 (Outcome, n);
  g_autofree gboolean *stored = g_new0 (gboolean, n);
  g_autoptr (GError) failure = NULL;
  guint count = 0;
  sqlite3 *db;

  db = vh_store_lock (vh_context (host)->store);
  /* Durable: the transport acknowledges the reports once this returns. */
  if (vh_store_begin (db, TRUE, &failure))
    {
      for (guint i = 0; i < n; i++)
        stored[i] = record_one (host, db, device_ids[i], reports[i], &out[i],
                                errors ? &errors[i] : NULL);
      if (!vh_store_commit (db, TRUE, &failure))
        vh_store_rollback (db, TRUE);
    }
  vh_store_unlock (vh_context (host)->store);
  for (guint i = 0; i < n; i++)
    {
      if (failure != NULL)
        {
          /* Nothing of the batch is stored: each may be tried again. */
          stored[i] = FALSE;
          if (errors != NULL && errors[i] == NULL)
            errors[i] = g_error_copy (failure);
        }
      if (stored[i])
        count++;
      if (stored[i] && out[i].ended)
        {
          vh_tasks_emit_run_outcome (host, &out[i].job, out[i].r.state, out[i].r.error);
          if (out[i].left == 0)
            vh_tasks_emit_round_finished (host, &out[i].job);
        }
      outcome_clear (&out[i]);
    }
  return count;
}

gboolean
vh_tasks_record_run_report (VigilHost *host, const char *device_id, JsonObject *report,
                            GError **error)
{
  GError *errors[1] = { NULL };
  gboolean ok = vh_tasks_record_run_reports (host, 1, &device_id, &report, errors) == 1;

  if (errors[0] != NULL)
    g_propagate_error (error, errors[0]);
  return ok;
}

guint
vh_tasks_record_run_reports (VigilHost *host, guint n, const char *const *device_ids,
                             JsonObject *const *reports, GError **errors)
{
  VhTasks *tasks = vh_context (host)->tasks;
  guint stored;

  /* A round may mix runs here and runs on agents: as in
   * vh_tasks_finish_run, a run's end and its events are one critical
   * section, so task.round_finished follows every run's outcome. */
  g_mutex_lock (&tasks->finish_lock);
  stored = record_batch (host, n, device_ids, reports, errors);
  g_mutex_unlock (&tasks->finish_lock);
  return stored;
}
