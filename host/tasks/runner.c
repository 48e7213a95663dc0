/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The runner: executes runs on a pool of two worker threads (one per core
 * of the reference machine) while the main thread waits, watching. While
 * waiting it relays progress to the CLI, notices cancellation (the caller's
 * GCancellable, or a `vigil task cancel` from another process, which only
 * sets a flag in the store and is therefore polled) and, for serve, keeps
 * the main context turning. Progress is kept in memory and written to the
 * store at most every PROGRESS_STORE_INTERVAL, plus once at the end, so a
 * chatty task cannot flood the database. A run the registered dispatcher
 * takes (dispatch.c) never reaches the pool. Also here: the VigilTaskRun
 * accessors behind the host API and vh_run_until_idle.
 */
#include "tasks/tasks-private.h"

#include <openssl/crypto.h>

#define N_WORKERS 2
#define WAIT_SLICE_US (100 * G_TIME_SPAN_MILLISECOND)
#define CANCEL_POLL_US (250 * G_TIME_SPAN_MILLISECOND)
#define PROGRESS_STORE_INTERVAL (500 * G_TIME_SPAN_MILLISECOND)
#define MAX_IDLE_ROUNDS 100
/* How long a cancelled run has to stop before the host ends it itself. */
#define CANCEL_GRACE_US (3 * G_TIME_SPAN_SECOND)

struct _VigilTaskRun {
  VigilHost    *host;
  VhRunJob     *job;
  char         *device_root;
  VigilPlugin  *plugin;
  GCancellable *cancellable;
  GMutex        lock;           /* guards the fields below */
  double        fraction;
  char         *message;
  gboolean      reported;       /* progress changed since the last relay */
  gint64        stored_at;      /* monotonic time of the last store write */
  JsonNode     *result;
  gboolean      done;
  /* Guarded by the tasks lock: a run whose plugin ignores a cancel is
   * abandoned by the watch (recorded cancelled) unless its worker began
   * finishing first; an abandoned run's late end is ignored. */
  gboolean      finishing;
  gboolean      abandoned;
  gint64        cancel_seen;    /* monotonic time the watch saw the cancel */
  gint          refs;           /* the watch's and the worker's */
};

static void run_unref (VigilTaskRun *run);
static void worker (gpointer data, gpointer user_data);

gboolean
vh_runner_init (VigilHost *host, GError **error)
{
  vh_context (host)->tasks->pool = g_thread_pool_new (worker, host, N_WORKERS, FALSE, error);
  return vh_context (host)->tasks->pool != NULL;
}

void
vh_runner_shutdown (VigilHost *host)
{
  if (vh_context (host)->tasks->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&vh_context (host)->tasks->pool), FALSE, TRUE);
}

void
vh_runner_set_progress_func (VigilHost *host, VhProgressFunc func, gpointer user_data)
{
  g_mutex_lock (&vh_context (host)->tasks->lock);
  vh_context (host)->tasks->progress_func = func;
  vh_context (host)->tasks->progress_data = user_data;
  g_mutex_unlock (&vh_context (host)->tasks->lock);
}

void
vh_runner_set_pump_main_context (VigilHost *host, gboolean pump)
{
  vh_context (host)->tasks->pump = pump;
}

/* ---- VigilTaskRun accessors (host API, any thread) -------------------- */

/* An abandoned run's late progress and findings are not stored. */
static gboolean
is_abandoned (VigilTaskRun *run)
{
  gboolean abandoned;

  g_mutex_lock (&vh_context (run->host)->tasks->lock);
  abandoned = run->abandoned;
  g_mutex_unlock (&vh_context (run->host)->tasks->lock);
  return abandoned;
}

const char  *vh_run_device_id   (VigilTaskRun *run) { return run->job->device_id; }
const char  *vh_run_device_root (VigilTaskRun *run) { return run->device_root; }
const char  *vh_run_task_id     (VigilTaskRun *run) { return run->job->task_id; }
VigilPlugin *vh_run_plugin      (VigilTaskRun *run) { return run->plugin; }

void
vh_run_progress (VigilTaskRun *run, double fraction, const char *message)
{
  gint64 now = g_get_monotonic_time ();
  gboolean store;
  g_autofree char *stored_message = NULL;

  g_mutex_lock (&run->lock);
  run->fraction = CLAMP (fraction, 0.0, 1.0);
  if (message != NULL)
    {
      g_free (run->message);
      run->message = g_strdup (message);
    }
  run->reported = TRUE;
  store = now - run->stored_at >= PROGRESS_STORE_INTERVAL;
  if (store)
    {
      run->stored_at = now;
      stored_message = g_strdup (run->message);
    }
  fraction = run->fraction;
  g_mutex_unlock (&run->lock);
  if (store && !is_abandoned (run))
    vh_tasks_store_progress (run->host, run->job->run_id, fraction, stored_message);
}

void
vh_run_add_finding (VigilTaskRun *run, JsonObject *finding)
{
  if (finding != NULL && !is_abandoned (run))
    vh_tasks_store_finding (run->host, run->job->run_id, finding);
}

void
vh_run_set_result (VigilTaskRun *run, JsonNode *result)
{
  g_mutex_lock (&run->lock);
  g_clear_pointer (&run->result, json_node_unref);
  run->result = result ? json_node_copy (result) : NULL;
  g_mutex_unlock (&run->lock);
}

/* ---- one run on a worker --------------------------------------------- */

/* The run keeps its own copy: an abandoned run's worker may outlive the
 * caller's list of jobs. */
static VhRunJob *
job_copy (const VhRunJob *job)
{
  VhRunJob *copy = g_new0 (VhRunJob, 1);

  copy->run_id = job->run_id;
  copy->task_id = g_strdup (job->task_id);
  copy->type = g_strdup (job->type);
  copy->device_id = g_strdup (job->device_id);
  copy->params = g_strdup (job->params);
  return copy;
}

static VigilTaskRun *
run_new (VigilHost *host, VhRunJob *job)
{
  VigilTaskRun *run = g_new0 (VigilTaskRun, 1);

  run->host = host;
  run->job = job_copy (job);
  run->refs = 2;
  run->cancellable = g_cancellable_new ();
  run->device_root = g_strdup ("/");
  g_mutex_init (&run->lock);
  return run;
}

static void
run_unref (VigilTaskRun *run)
{
  if (!g_atomic_int_dec_and_test (&run->refs))
    return;
  vh_run_job_free (run->job);
  g_object_unref (run->cancellable);
  g_free (run->device_root);
  g_free (run->message);
  g_clear_pointer (&run->result, json_node_unref);
  g_mutex_clear (&run->lock);
  g_free (run);
}

/* The type and device as they are now: either may have gone since the
 * task was created (plugin disabled, device removed). */
static const VhTaskType *
prepare (VigilTaskRun *run, GError **error)
{
  const VhTaskType *type = vh_registry_task_type (run->host, run->job->type);
  g_autoptr (JsonObject) device = NULL;

  if (type == NULL)
    {
      g_autofree char *why = vh_registry_explain_missing_task_type (run->host, run->job->type);
      g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND, why);
      return NULL;
    }
  device = vh_inventory_device (run->host, run->job->device_id, error);
  if (device == NULL)
    return NULL;
  if (json_object_has_member (device, "root")
      && !json_object_get_null_member (device, "root"))
    {
      g_free (run->device_root);
      run->device_root = g_strdup (json_object_get_string_member (device, "root"));
    }
  run->plugin = type->plugin;
  return type;
}

static gboolean
execute (VigilTaskRun *run, GError **error)
{
  const VhTaskType *type = prepare (run, error);
  g_autoptr (JsonNode) params = NULL;

  if (type == NULL)
    return FALSE;
  params = vh_json_parse_text (run->job->params);
  if (params == NULL || !JSON_NODE_HOLDS_OBJECT (params))
    {
      g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                           "the stored parameters are not a JSON object");
      return FALSE;
    }
  return type->type.run (run, json_node_get_object (params), run->cancellable,
                         type->type.user_data, error);
}

/* FALSE when the watch abandoned @run (already recorded cancelled, so its
 * late end is ignored); else the watch may no longer abandon it. */
static gboolean
begin_finishing (VigilTaskRun *run)
{
  VhTasks *tasks = vh_context (run->host)->tasks;
  gboolean abandoned;

  g_mutex_lock (&tasks->lock);
  abandoned = run->abandoned;
  run->finishing = !abandoned;
  g_mutex_unlock (&tasks->lock);
  return !abandoned;
}

static void
finish (VigilTaskRun *run, gboolean ok, GError *error)
{
  const char *state = "completed";
  const char *why = NULL;

  if (!begin_finishing (run))
    return;

  if (g_cancellable_is_cancelled (run->cancellable))
    {
      state = "cancelled";
      why = "cancelled";
    }
  else if (!ok)
    {
      state = "failed";
      why = error ? error->message : "the task failed without saying why";
    }
  g_mutex_lock (&run->lock);
  vh_tasks_finish_run (run->host, run->job, state, why,
                       ok && why == NULL ? 1.0 : run->fraction, run->message, run->result);
  g_mutex_unlock (&run->lock);
}

static void
worker (gpointer data, gpointer user_data)
{
  VigilTaskRun *run = data;
  VigilHost *host = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  /* A run cancelled while it waited in the queue never starts. */
  if (!g_cancellable_is_cancelled (run->cancellable)
      && vh_tasks_start_run (host, run->job->run_id))
    {
      vh_events_chain_enter_task (host, run->job->task_id);
      ok = execute (run, &error);
      finish (run, ok, error);
      vh_events_chain_leave ();
    }
  else if (g_cancellable_is_cancelled (run->cancellable) && begin_finishing (run))
    vh_tasks_finish_run (host, run->job, "cancelled", "cancelled before it started",
                         0.0, NULL, NULL);
  /* Runs use OpenSSL (quarantine, kata, ksn), which keeps per-thread state
   * (a DRBG per thread that asked for random bytes) until the thread exits;
   * GLib keeps pool threads alive from one pool to the next and through
   * process exit. Free it after each run rather than leave it to a thread
   * exit that may never come, or come while the process is ending. */
  OPENSSL_thread_stop ();

  g_mutex_lock (&vh_context (host)->tasks->lock);
  run->done = TRUE;
  g_cond_broadcast (&vh_context (host)->tasks->cond);
  g_mutex_unlock (&vh_context (host)->tasks->lock);
  run_unref (run);
}

/* ---- a run inside a run ---------------------------------------------- */

/* The nested run is not in the active list (the watch of the outer round
 * does not know it): it shares the outer run's cancellable, so a cancel of
 * the outer task reaches it, and it ends before the outer run does. */
JsonNode *
vh_run_nested (VigilTaskRun *outer, const char *task_id, GError **error)
{
  g_autoptr (GPtrArray) jobs = vh_tasks_claim_now (outer->host, task_id, error);
  GError *local = NULL;
  VigilTaskRun *run;
  JsonNode *result = NULL;
  gboolean ok;

  if (jobs == NULL)
    return NULL;
  if (jobs->len != 1)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "task %s has no run to start on the device", task_id);
      return NULL;
    }
  run = run_new (outer->host, jobs->pdata[0]);
  run->refs = 1;
  g_object_unref (run->cancellable);
  run->cancellable = g_object_ref (outer->cancellable);
  if (g_cancellable_is_cancelled (run->cancellable)
      || !vh_tasks_start_run (run->host, run->job->run_id))
    {
      vh_tasks_finish_run (run->host, run->job, "cancelled", "cancelled before it started",
                           0.0, NULL, NULL);
      run_unref (run);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "task %s was cancelled", task_id);
      return NULL;
    }
  ok = execute (run, &local);
  finish (run, ok, local);
  if (g_cancellable_is_cancelled (run->cancellable))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "task %s was cancelled", task_id);
  else if (!ok)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED, "%s",
                 local != NULL ? local->message : "the task failed without saying why");
  else
    result = run->result != NULL ? json_node_copy (run->result) : json_node_new (JSON_NODE_NULL);
  g_clear_error (&local);
  run_unref (run);
  return result;
}

/* ---- the main thread's watch ----------------------------------------- */

typedef struct {
  char   *task_id;
  char   *device_id;
  double  fraction;
  char   *message;
} Report;

/* Progress changes to relay, collected under the lock, called outside. */
static void
relay_progress (VigilHost *host, GPtrArray *runs)
{
  VhTasks *tasks = vh_context (host)->tasks;
  VhProgressFunc func;
  gpointer data;

  g_mutex_lock (&tasks->lock);
  func = tasks->progress_func;
  data = tasks->progress_data;
  g_mutex_unlock (&tasks->lock);
  if (func == NULL)
    return;
  for (guint i = 0; i < runs->len; i++)
    {
      VigilTaskRun *run = runs->pdata[i];
      g_autofree char *message = NULL;
      double fraction;
      gboolean changed;

      g_mutex_lock (&run->lock);
      changed = run->reported;
      run->reported = FALSE;
      fraction = run->fraction;
      message = g_strdup (run->message);
      g_mutex_unlock (&run->lock);
      if (changed)
        func (run->job->task_id, run->job->device_id, fraction, message, data);
    }
}

static void
poll_cancel_flags (VigilHost *host, GPtrArray *runs)
{
  for (guint i = 0; i < runs->len; i++)
    {
      VigilTaskRun *run = runs->pdata[i];
      if (!run->done && !g_cancellable_is_cancelled (run->cancellable)
          && vh_tasks_cancel_requested (host, run->job->run_id))
        g_cancellable_cancel (run->cancellable);
    }
}

static guint
count_done (VigilHost *host, GPtrArray *runs)
{
  guint done = 0;

  g_mutex_lock (&vh_context (host)->tasks->lock);
  for (guint i = 0; i < runs->len; i++)
    done += ((VigilTaskRun *) runs->pdata[i])->done ? 1 : 0;
  g_mutex_unlock (&vh_context (host)->tasks->lock);
  return done;
}

static void
wait_slice (VigilHost *host, GPtrArray *runs)
{
  gint64 until = g_get_monotonic_time () + WAIT_SLICE_US;
  gboolean all_done;

  g_mutex_lock (&vh_context (host)->tasks->lock);
  do
    {
      all_done = TRUE;
      for (guint i = 0; i < runs->len && all_done; i++)
        all_done = ((VigilTaskRun *) runs->pdata[i])->done;
    }
  while (!all_done && g_cond_wait_until (&vh_context (host)->tasks->cond, &vh_context (host)->tasks->lock, until));
  g_mutex_unlock (&vh_context (host)->tasks->lock);
}

/* Ends @run, cancelled CANCEL_GRACE_US ago and still running, unless its
 * worker began finishing meanwhile: recorded cancelled now, so that one
 * plugin ignoring the cancel does not hold the round (and serve) forever. */
static void
abandon (VigilHost *host, VigilTaskRun *run)
{
  g_autofree char *why = NULL;
  gboolean abandon;

  g_mutex_lock (&vh_context (host)->tasks->lock);
  abandon = !run->done && !run->finishing;
  if (abandon)
    run->abandoned = run->done = TRUE;
  g_mutex_unlock (&vh_context (host)->tasks->lock);
  if (!abandon)
    return;
  why = g_strdup_printf ("cancelled; the %s run of plugin %s did not stop within %d s of "
                         "the cancel: it was ended, and what it returns later is ignored",
                         run->job->type, run->plugin ? vh_plugin_id (run->plugin) : "?",
                         (int) (CANCEL_GRACE_US / G_TIME_SPAN_SECOND));
  vh_log (host, "host", G_LOG_LEVEL_WARNING, why);
  g_mutex_lock (&run->lock);
  vh_tasks_finish_run (host, run->job, "cancelled", why, run->fraction, run->message, NULL);
  g_mutex_unlock (&run->lock);
}

/* Notes when each run was seen cancelled; abandons those past the grace. */
static void
enforce_cancels (VigilHost *host, GPtrArray *runs)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < runs->len; i++)
    {
      VigilTaskRun *run = runs->pdata[i];

      if (!g_cancellable_is_cancelled (run->cancellable))
        continue;
      if (run->cancel_seen == 0)
        run->cancel_seen = now;
      else if (now - run->cancel_seen >= CANCEL_GRACE_US)
        abandon (host, run);
    }
}

static void
watch (VigilHost *host, GPtrArray *runs, GCancellable *cancellable)
{
  gint64 next_poll = 0;

  while (count_done (host, runs) < runs->len)
    {
      wait_slice (host, runs);
      if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
        for (guint i = 0; i < runs->len; i++)
          g_cancellable_cancel (((VigilTaskRun *) runs->pdata[i])->cancellable);
      if (g_get_monotonic_time () >= next_poll)
        {
          poll_cancel_flags (host, runs);
          next_poll = g_get_monotonic_time () + CANCEL_POLL_US;
        }
      enforce_cancels (host, runs);
      relay_progress (host, runs);
      while (vh_context (host)->tasks->pump && g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);
    }
  relay_progress (host, runs);
}

guint
vh_runner_execute (VigilHost *host, GPtrArray *jobs, GCancellable *cancellable)
{
  VhTasks *tasks = vh_context (host)->tasks;
  g_autoptr (GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) run_unref);

  /* A run the dispatcher takes executes elsewhere: this process neither
   * runs nor waits for it. */
  for (guint i = 0; i < jobs->len; i++)
    if (!vh_dispatch_offer (host, jobs->pdata[i]))
      g_ptr_array_add (runs, run_new (host, jobs->pdata[i]));

  g_mutex_lock (&tasks->lock);
  for (guint i = 0; i < runs->len; i++)
    g_ptr_array_add (tasks->active, runs->pdata[i]);
  g_mutex_unlock (&tasks->lock);

  for (guint i = 0; i < runs->len; i++)
    g_thread_pool_push (tasks->pool, runs->pdata[i], NULL);
  watch (host, runs, cancellable);

  g_mutex_lock (&tasks->lock);
  for (guint i = 0; i < runs->len; i++)
    g_ptr_array_remove_fast (tasks->active, runs->pdata[i]);
  g_mutex_unlock (&tasks->lock);
  return jobs->len;
}

void
vh_runner_cancel_task (VigilHost *host, const char *task_id)
{
  g_mutex_lock (&vh_context (host)->tasks->lock);
  for (guint i = 0; i < vh_context (host)->tasks->active->len; i++)
    {
      VigilTaskRun *run = vh_context (host)->tasks->active->pdata[i];
      if (g_str_equal (run->job->task_id, task_id))
        g_cancellable_cancel (run->cancellable);
    }
  g_mutex_unlock (&vh_context (host)->tasks->lock);
}

/* ---- entry points ---------------------------------------------------- */

guint
vh_tasks_run_due (VigilHost *host, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = NULL;

  g_return_val_if_fail (vh_context (host)->tasks != NULL, 0);
  vh_tasks_purge (host);
  vh_events_purge (host);
  vh_tasks_recover_interrupted (host);
  if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
    return 0;
  jobs = vh_tasks_claim_due (host, &error);
  if (jobs == NULL)
    {
      vh_log (host, "host", G_LOG_LEVEL_WARNING, error->message);
      return 0;
    }
  return jobs->len > 0 ? vh_runner_execute (host, jobs, cancellable) : 0;
}

guint
vh_run_until_idle (VigilHost *host, GCancellable *cancellable)
{
  guint total = 0;

  /* Bounded: a handler that keeps creating tasks that emit the event it
   * handles must not keep the caller forever. */
  for (int round = 0; round < MAX_IDLE_ROUNDS; round++)
    {
      guint events, runs;

      if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
        break;
      events = vh_events_dispatch (host);
      runs = vh_tasks_run_due (host, cancellable);
      total += runs;
      if (events == 0 && runs == 0)
        break;
    }
  return total;
}

guint
vh_tasks_run_now (VigilHost *host, const char *task_id, GCancellable *cancellable,
                  GError **error)
{
  g_autoptr (GPtrArray) jobs = vh_tasks_claim_now (host, task_id, error);
  guint count;

  if (jobs == NULL)
    return 0;
  count = vh_runner_execute (host, jobs, cancellable);
  return count + vh_run_until_idle (host, cancellable);
}
