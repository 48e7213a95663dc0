/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The respond plugin's registration: the Detection and Response actions
 * an endpoint performs, as task types in the `process`, `network` and
 * `file` namespaces (process.kill, process.run here; network.isolate and
 * network.release in resp-isolate-task.c; file.get and file.delete in
 * resp-file-get-task.c and resp-file-delete-task.c), so each can be run
 * manually (`vigil task create`, `vigil respond ...`), by a plugin's
 * policy, or by the central node through the kata sync. process.run is a
 * protected action: with password protection on, creating or running it
 * needs the password. See docs/respond.md.
 */
#include <vigil/plugin.h>

#include "resp-cli.h"
#include "resp-engine.h"
#include "resp-file-get.h"
#include "resp-file-delete-task.h"
#include "resp-isolate-task.h"

static const VigilHostApi *rp_api;

static void
report_check (char *(*check) (JsonObject *, const char **), JsonObject *params,
              VigilReport *report)
{
  const char *key = NULL;
  g_autofree char *problem = check (params, &key);

  if (problem != NULL)
    rp_api->report_problem (report, VIGIL_SEVERITY_ERROR, key, "%s", problem);
}

static void
kill_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  report_check (resp_kill_check, params, report);
}

static void
run_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  report_check (resp_run_check, params, report);
}

/* Stores @result (taken) and says how the run ends: a run whose action
 * did not fully succeed fails, with its result kept for the admin. */
static gboolean
finish (VigilTaskRun *run, JsonObject *result, gboolean ok, const char *failure,
        GError **error)
{
  JsonNode *node = json_node_init_object (json_node_alloc (), result);

  rp_api->task_set_result (run, node);
  json_node_unref (node);
  json_object_unref (result);
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", failure);
  return ok;
}

static gboolean
kill_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  gboolean all = FALSE;
  JsonObject *result;
  g_autofree char *failure = NULL;

  rp_api->task_progress (run, 0.0, "looking for the processes");
  result = resp_kill (rp_api->task_device_root (run), params, cancellable, &all, error);
  if (result == NULL)
    return FALSE;
  if (json_object_get_int_member (result, "matched") == 0)
    failure = g_strdup ("no process matched");
  else if (!all)
    failure = g_strdup_printf ("%u process(es) could not be killed: see the result",
                               json_array_get_length (json_object_get_array_member (result, "not_killed")));
  rp_api->task_progress (run, 1.0, all ? "killed" : failure);
  return finish (run, result, all, failure, error);
}

static gboolean
run_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
         gpointer user_data, GError **error)
{
  gboolean ok = FALSE;
  JsonObject *result;
  g_autofree char *failure = NULL;

  rp_api->task_progress (run, 0.0, "starting the program");
  result = resp_run (rp_api->task_device_root (run), params, cancellable, &ok, error);
  if (result == NULL)
    return FALSE;
  if (json_object_get_boolean_member (result, "timed_out"))
    failure = g_strdup_printf ("the program was killed at its timeout of %" G_GINT64_FORMAT " s",
                               json_object_get_int_member (params, "timeout_seconds"));
  else if (json_object_get_boolean_member (result, "cancelled"))
    failure = g_strdup ("cancelled: the program was killed");
  else if (json_object_has_member (result, "signal"))
    failure = g_strdup_printf ("the program was killed by signal %" G_GINT64_FORMAT,
                               json_object_get_int_member (result, "signal"));
  else if (!ok)
    failure = g_strdup_printf ("the program exited with status %" G_GINT64_FORMAT,
                               json_object_get_int_member (result, "exit_status"));
  rp_api->task_progress (run, 1.0, ok ? "the program exited with status 0" : failure);
  return finish (run, result, ok, failure, error);
}

static const VigilTaskType kill_type = {
  .id = "process.kill",
  .title = "Kill process",
  .description = "Ends processes by PID, executable path or SHA-256, optionally with their "
                 "descendants; never PID 1 or the agent. The result lists what was killed "
                 "and what was not.",
  .params = VIGIL_ARRAY (resp_kill_params),
  .validate = kill_validate,
  .run = kill_run,
};

static const VigilTaskType run_type = {
  .id = "process.run",
  .title = "Run process",
  .description = "Runs a program with arguments, working folder, environment and user, "
                 "with a timeout; the result has its exit status and bounded output.",
  .params = VIGIL_ARRAY (resp_run_params),
  .validate = run_validate,
  .run = run_run,
};

/* Named like the task type, so the task type is protected too. */
static const VigilProtectedAction run_action = {
  .id = "process.run",
  .description = "Run a program on the device (task)",
};

static gboolean
respond_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  rp_api = api;
  return api->register_task_type (self, &kill_type, sizeof kill_type, error)
         && api->register_task_type (self, &run_type, sizeof run_type, error)
         && api->register_protected_action (self, &run_action, sizeof run_action, error)
         && resp_cli_register (api, self, error)
         && resp_isolation_register (api, self, error)
         && resp_file_get_register (api, self, error)
         && resp_file_delete_register (api, self, error);
}

static const char *const respond_namespaces[] = { "process", "network", "file", NULL };

VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES ("respond", "Response actions", "0.1.0", "LGPL-2.1-or-later",
                                     "Detection and Response actions on the device: kill and "
                                     "run processes.",
                                     respond_init, NULL, respond_namespaces)
