/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interfaces shared by the files of host/tasks/ (events, schedules, tasks,
 * the runner, the CLI commands, serve) and by their tests. Nothing outside
 * host/tasks/ and tests/tasks/ includes this header; the layers above use
 * tasks/tasks.h.
 */
#pragma once

#include "tasks/tasks.h"

G_BEGIN_DECLS

/* ---- schedule.c: pure schedule parsing and next-start computation ---- */

typedef enum {
  VH_SCHEDULE_MANUAL = 1,
  VH_SCHEDULE_NOW,
  VH_SCHEDULE_ONCE,
  VH_SCHEDULE_HOURLY,
  VH_SCHEDULE_DAILY,
  VH_SCHEDULE_WEEKLY,
  VH_SCHEDULE_ON_START,
  VH_SCHEDULE_AFTER_UPDATE,
  VH_SCHEDULE_WINDOW,
} VhScheduleKind;

typedef struct {
  VhScheduleKind kind;
  gboolean       has_at;     /* once (always), hourly/daily/weekly (optional) */
  gint64         at_us;      /* UTC microseconds */
  int            start_min;  /* window: minutes after local midnight */
  int            end_min;
} VhSchedule;

/* "No time-based start": manual, triggered kinds, or already run. */
#define VH_SCHEDULE_NEVER G_MININT64

#define VH_SCHEDULE_MAX_TEXT 4096

/* Parses schedule JSON text (NULL means {"kind":"now"}). Times without a
 * zone designator are read in @tz. Errors name the JSON path. */
gboolean  vh_schedule_parse    (const char *text, GTimeZone *tz,
                                VhSchedule *out, GError **error);
/* Normalized JSON text of @schedule (times in UTC ISO-8601). */
char     *vh_schedule_to_json  (const VhSchedule *schedule);
/* One line for people: "daily from 2026-11-22 10:00", "window 20:00–07:00". */
char     *vh_schedule_describe (const VhSchedule *schedule, GTimeZone *tz);
/* The next time the task should start, or VH_SCHEDULE_NEVER.
 * @last_run_us is the start of the task's last round, or 0 when it never
 * ran. Triggers (manual runs, on_start, after_update) are not seen here. */
gint64    vh_schedule_next     (const VhSchedule *schedule, gint64 created_us,
                                gint64 last_run_us, gint64 now_us,
                                GTimeZone *tz);
/* Whether @time_us falls inside the window [start, end) in @tz. */
gboolean  vh_schedule_in_window (const VhSchedule *schedule, gint64 time_us,
                                 GTimeZone *tz);
const char *vh_schedule_kind_name (VhScheduleKind kind);

/* ---- envelope.c: parsing events from files, the socket, the inbox ---- */

#define VH_EVENT_MAX_PAYLOAD (1024 * 1024)
#define VH_EVENT_MAX_ENVELOPE (VH_EVENT_MAX_PAYLOAD + 64 * 1024)

typedef struct {
  char       *type;
  char       *device_id;        /* NULL for host-wide events */
  guint       payload_version;
  JsonObject *payload;
} VhEventEnvelope;

void             vh_event_envelope_free  (VhEventEnvelope *envelope);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VhEventEnvelope, vh_event_envelope_free)

/* An envelope: {"type", "device"?, "payload_version"?, "payload"?}.
 * @where names the source in errors ("inbox/x.json", "socket line 3"). */
VhEventEnvelope *vh_event_envelope_parse (const char *data, gssize length,
                                          const char *where, GError **error);
/* A bare payload: a JSON object of at most VH_EVENT_MAX_PAYLOAD bytes. */
JsonObject      *vh_event_payload_parse  (const char *data, gssize length,
                                          const char *where, GError **error);
gboolean         vh_event_type_valid     (const char *type, GError **error);
gboolean         vh_event_device_valid   (const char *device_id, GError **error);

/* ---- events.c ---- */

/* Events filtered by time (>= @since_us, 0 for all), type (exact, or a
 * prefix ending in ".*"), device; the newest @limit (0 = no limit), in
 * time order. Returns: (transfer full) array of event objects. */
JsonArray  *vh_events_list      (VigilHost *host, gint64 since_us,
                                 const char *type, const char *device_id,
                                 guint limit, GError **error);
/* One event of vh_events_record_many(). */
typedef struct {
  const char *id;
  const char *source;
  const char *type;
  const char *device_id;
  guint       payload_version;
  JsonObject *payload;
} VhEventRecord;
/* Stores events made elsewhere (an agent's) under their own ids, in one
 * durable transaction (one sync for all): the same id again from the same
 * device and source sets @duplicates[i] and stores nothing, from anyone
 * else it is refused (INVALID). Each is stored or refused on its own (@errors[i], optional,
 * the caller's to free), @duplicates[i] (optional) set for an id already
 * stored; a commit that fails stores none, each error saying so. Returns
 * how many were stored or found already stored. */
guint       vh_events_record_many (VigilHost *host, guint n, const VhEventRecord *records,
                                   gboolean *duplicates, GError **errors);
/* Off: events are stored and marked dispatched, no plugin handler runs. */
void        vh_events_set_handlers (VigilHost *host, gboolean enabled);
/* The same events handed to @func one at a time, oldest first, so that a
 * long listing is never held in memory whole. @func runs under the store's
 * lock: it must not call into the host. (The type of
 * VigilHostEventFunc, so that the public function passes it through.) */
typedef void (*VhEventsFunc) (VigilHost *host, JsonObject *event, gpointer user_data);
gboolean    vh_events_foreach   (VigilHost *host, gint64 since_us,
                                 const char *type, const char *device_id,
                                 guint limit, VhEventsFunc func,
                                 gpointer user_data, GError **error);
/* The highest event sequence number stored so far (0 when none). */
gint64      vh_events_last_seq  (VigilHost *host);
/* (transfer full) events stored after sequence @seq, in order. */
JsonArray  *vh_events_after     (VigilHost *host, gint64 seq, GError **error);
JsonObject *vh_event_to_json    (const VigilEvent *event);
/* Deletes dispatched events older than the config's retention; undispatched
 * ones always stay. Returns how many went. */
guint       vh_events_purge     (VigilHost *host);

/* ---- tasks.c (definitions) and runs-read.c (runs, retention) ---- */

/* (transfer full) every task, oldest first. */
JsonArray  *vh_tasks_list       (VigilHost *host, GError **error);
/* (transfer full) the runs of a task, newest first; with @findings, each
 * run carries its "findings" array. */
JsonArray  *vh_tasks_runs       (VigilHost *host, const char *task_id,
                                 gboolean findings, GError **error);
/* Cancels a task: it will not start again, its pending runs are dropped and
 * running ones cancelled (in this process at once, in others by the flag
 * their runner polls). */
gboolean    vh_tasks_cancel     (VigilHost *host, const char *task_id,
                                 GError **error);
gboolean    vh_tasks_delete     (VigilHost *host, const char *task_id,
                                 GError **error);
/* Marks every task of @kind (ON_START, AFTER_UPDATE) as requested now. */
guint       vh_tasks_trigger    (VigilHost *host, VhScheduleKind kind);
/* Deletes runs and findings older than their task's retention. Returns how
 * many runs went. */
guint       vh_tasks_purge      (VigilHost *host);
/* Closes runs left pending or running by a process that no longer
 * exists (killed serve): failed, "interrupted". Returns how many. */
guint       vh_tasks_recover_interrupted (VigilHost *host);
/* The highest run id so far (0 when none). */
gint64      vh_tasks_last_run_id (VigilHost *host);
/* (transfer full) runs with an id above @run_id, in order. */
JsonArray  *vh_tasks_runs_after (VigilHost *host, gint64 run_id, GError **error);

/* ---- runner.c (worker pool) and runs.c (claims, run rows) ---- */


/* The module's state (host->tasks); runner fields are runner.c's. */
struct _VhTasks {
  GTimeZone      *tz;            /* local time zone, for schedules */
  GThreadPool    *pool;          /* two workers */
  /* Held while a run's end is stored and its events emitted, so that the
   * round's last run emits task.round_finished after every other run of
   * the round has emitted its outcome (vh_tasks_finish_run). */
  GMutex          finish_lock;
  GMutex          lock;          /* guards the fields below */
  GCond           cond;          /* a run finished */
  GPtrArray      *active;        /* VigilTaskRun* running in this process */
  VhProgressFunc  progress_func;
  gpointer        progress_data;
  gboolean        pump;
  VhRunDispatchFunc dispatch_func;  /* dispatch.c: runs executed elsewhere */
  gpointer        dispatch_data;
};

/* Internal between tasks.c and runner.c: a run to execute. */
typedef struct {
  gint64      run_id;
  char       *task_id;
  char       *type;
  char       *device_id;
  char       *params;       /* JSON text */
} VhRunJob;

void        vh_run_job_free  (VhRunJob *job);
gboolean    vh_runner_init     (VigilHost *host, GError **error);
/* Waits for queued runs and stops the workers. */
void        vh_runner_shutdown (VigilHost *host);
/* Claims every due task and returns its new runs (transfer full). */
GPtrArray  *vh_tasks_claim_due (VigilHost *host, GError **error);
/* Starts a round of @task_id now, whatever its schedule. */
GPtrArray  *vh_tasks_claim_now (VigilHost *host, const char *task_id, GError **error);
/* Runs one round of @task_id now on the pool, waits, then dispatches what
 * followed until idle. Returns how many runs ran (the task's and others). */
guint       vh_tasks_run_now   (VigilHost *host, const char *task_id,
                                GCancellable *cancellable, GError **error);
/* Runner side of a cancel in this process. */
void        vh_runner_cancel_task (VigilHost *host, const char *task_id);
/* Marks the run running if it is still pending; FALSE when it was
 * cancelled before it started. */
gboolean    vh_tasks_start_run  (VigilHost *host, gint64 run_id);
/* Executes @jobs on the worker pool and waits; returns how many ran. */
guint       vh_runner_execute  (VigilHost *host, GPtrArray *jobs,
                                GCancellable *cancellable);
/* Records a run's end in the store and emits task.completed/task.failed. */
void        vh_tasks_finish_run (VigilHost *host, const VhRunJob *job,
                                 const char *state, const char *error_message,
                                 double fraction, const char *message,
                                 JsonNode *result);
void        vh_tasks_store_progress (VigilHost *host, gint64 run_id,
                                     double fraction, const char *message);
void        vh_tasks_store_finding  (VigilHost *host, gint64 run_id,
                                     JsonObject *finding);
/* dispatch.c: offers a new run to the registered dispatcher; TRUE when it
 * took the run (stored "dispatched", not for a worker). */
gboolean    vh_dispatch_offer (VigilHost *host, const VhRunJob *job);
/* dispatch.c: ends @task_id's runs executing elsewhere (dispatched and
 * reported running: no runner here) as cancelled, with their events;
 * returns how many. The executing side is told by the fleet. */
guint       vh_dispatch_cancel_running (VigilHost *host, const char *task_id);
/* runs.c: task.completed/task.failed and task.round_finished. */
/* Runs of the task not ended yet (pending, dispatched, running); called
 * with the store locked. */
gint64      vh_tasks_unfinished_runs     (sqlite3 *db, const char *task_id);
void        vh_tasks_emit_run_outcome    (VigilHost *host, const VhRunJob *job,
                                          const char *state, const char *error_message);
void        vh_tasks_emit_round_finished (VigilHost *host, const VhRunJob *job);
/* Whether another process asked to cancel this run. */
gboolean    vh_tasks_cancel_requested (VigilHost *host, gint64 run_id);

/* Small SQLite helpers (sql.c). vh_sql_exec binds @args, a string of
 * 's' (const char *, may be NULL), 'i' (gint64) and 'd' (double), from the
 * varargs. Called with the store locked. */
gboolean    vh_sql_exec      (sqlite3 *db, const char *sql, GError **error,
                              const char *args, ...);
sqlite3_stmt *vh_sql_prepare (sqlite3 *db, const char *sql, GError **error,
                              const char *args, ...);
JsonNode   *vh_json_parse_text (const char *text);   /* NULL when invalid */
gint64      vh_tasks_active_runs (VigilHost *host, const char *task_id);

/* CLI helpers shared by cli-event.c, cli-task.c and cli-serve.c. */
JsonObject *vh_cli_read_payload     (const char *path, GError **error);
gboolean    vh_cli_parse_since      (const char *text, gint64 now, gint64 *since,
                                     GError **error);
void        vh_cli_print_event_line (JsonObject *event);
void        vh_cli_print_run_line   (JsonObject *run);

/* Time helpers (schedule.c). GLib 2.74 has no microsecond variants. */
GDateTime  *vh_datetime_from_us (gint64 time_us);   /* UTC */
gint64      vh_datetime_to_us   (GDateTime *dt);
char       *vh_format_time   (gint64 time_us);   /* local "2026-11-22 10:00:00" */
char       *vh_iso_time      (gint64 time_us);   /* UTC ISO-8601 with Z */

G_END_DECLS
