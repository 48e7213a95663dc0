/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tasks layer of libvigil-host (host/tasks/), above policy: events
 * (stored, then dispatched to the registry's handlers), tasks with their
 * schedules, runs on the worker pool, and the VigilTaskRun a plugin's task
 * type gets. It sees base.h, registry.h, inventory.h and policy.h;
 * tasks-private.h has what only the files of host/tasks/ and its tests
 * share. docs/architecture.md has the order.
 */
#pragma once

#include "policy/policy.h"

G_BEGIN_DECLS

gboolean  vh_events_init     (VigilHost *host, GError **error);
void      vh_events_free     (VigilHost *host);
/* Thread-safe: stores the event, then queues it for dispatch. */
/* FALSE with INVALID when @type is one of the host's audit events
 * (host.policy_applied, ...), which only the host records. */
gboolean  vh_event_type_refuse_audit (const char *type, GError **error);
char     *vh_events_emit     (VigilHost *host, const char *source,
                              const char *type, const char *device_id,
                              guint payload_version, JsonObject *payload,
                              GError **error);
/* Chains of events (events.c): a task a handler creates right now carries
 * the handler's chain (note_task); a run of it carries it again while it
 * runs (enter_task .. leave), so that what it emits is one link further. */
void      vh_events_chain_note_task  (VigilHost *host, const char *task_id);
void      vh_events_chain_enter_task (VigilHost *host, const char *task_id);
void      vh_events_chain_leave      (void);
/* Main thread: runs handlers of queued events. Returns how many events. */
guint     vh_events_dispatch (VigilHost *host);

gboolean  vh_tasks_init      (VigilHost *host, GError **error);
void      vh_tasks_free      (VigilHost *host);
/* Thread-safe. @source is the creating plugin id, "cli" or "host". */
char     *vh_tasks_create    (VigilHost *host, const char *source,
                              const VigilTaskSpec *spec, GError **error);
/* Like vh_tasks_create; @warnings (may be NULL) gets the parameters'
 * validation warnings of a created task, [{severity, path, message}]. */
char     *vh_tasks_create_full (VigilHost *host, const char *source,
                                const VigilTaskSpec *spec, JsonArray **warnings,
                                GError **error);
/* Main thread: runs all runs due now on the worker pool, waits for them. */
guint     vh_tasks_run_due   (VigilHost *host, GCancellable *cancellable);
/* Main thread: dispatches events and runs due tasks until neither is left
 * (bounded in rounds); behind vigil_host_run_until_idle. Returns how many
 * runs ran. */
guint     vh_run_until_idle (VigilHost *host, GCancellable *cancellable);

/* Called on the main thread while runs are active, about ten times a
 * second, for each active run whose progress changed. */
typedef void (*VhProgressFunc) (const char *task_id, const char *device_id,
                                 double fraction, const char *message,
                                 gpointer user_data);

void        vh_runner_set_progress_func (VigilHost *host, VhProgressFunc func,
                                         gpointer user_data);
/* While waiting for runs, also dispatch the thread-default main context
 * (serve keeps its socket alive that way). */
void        vh_runner_set_pump_main_context (VigilHost *host, gboolean pump);
/* Runs executed elsewhere (dispatch.c). The dispatcher is offered each
 * new run on the main thread, as {run, task, type, device, params}; it
 * returns TRUE when it took the run, which is then stored "dispatched" and
 * never reaches a worker. NULL @func: every run executes in-process. */
typedef gboolean (*VhRunDispatchFunc) (VigilHost *host, JsonObject *run,
                                       gpointer user_data);
void        vh_tasks_set_dispatcher (VigilHost *host, VhRunDispatchFunc func,
                                     gpointer user_data);
/* Applies what the executing side reports about a dispatched run of
 * @device_id: {run, state: running|completed|failed, error, progress,
 * message, result, findings}. Idempotent: a run that ended stays as it
 * ended. NOT_FOUND for a run that is not @device_id's. */
gboolean    vh_tasks_record_run_report (VigilHost *host, const char *device_id,
                                        JsonObject *report, GError **error);
/* The same for @n reports in one durable transaction; errors[i] (zeroed
 * by the caller, optional) says why report i was not stored. Returns how
 * many were stored. */
guint       vh_tasks_record_run_reports (VigilHost *host, guint n,
                                         const char *const *device_ids,
                                         JsonObject *const *reports, GError **errors);
/* (transfer full) the task as `vigil task show --json` prints it, NULL
 * with NOT_FOUND. Thread-safe. */
JsonObject *vh_tasks_get     (VigilHost *host, const char *task_id, GError **error);

/* The VigilTaskRun accessors behind the host API. */
const char  *vh_run_device_id   (VigilTaskRun *run);
const char  *vh_run_device_root (VigilTaskRun *run);
const char  *vh_run_task_id     (VigilTaskRun *run);
VigilPlugin *vh_run_plugin      (VigilTaskRun *run);
void         vh_run_progress    (VigilTaskRun *run, double fraction, const char *message);
void         vh_run_add_finding (VigilTaskRun *run, JsonObject *finding);
void         vh_run_set_result  (VigilTaskRun *run, JsonNode *result);
/* Runs one round of @task_id (a device task) at once on the calling
 * thread, inside @outer's run: recorded like any run, cancelled with
 * @outer. Returns: (transfer full) its result (JSON null when none), or
 * NULL with its error. */
JsonNode    *vh_run_nested      (VigilTaskRun *outer, const char *task_id, GError **error);

G_END_DECLS
