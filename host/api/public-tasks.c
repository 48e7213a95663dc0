/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's tasks: create, list, show, runs and results, run one
 * now or everything due, cancel, delete (password-protected), trigger the
 * on-start and after-update schedules, and the plugins' documents. Thin
 * wrappers over host/tasks; every entry point that runs something hands
 * the events it caused to the subscribers (public-events.c) on return.
 */
#include "api-private.h"
#include "host-private.h"

guint
vigil_host_run_until_idle (VigilHost *host, GCancellable *cancellable)
{
  guint runs;

  g_return_val_if_fail (host != NULL, 0);
  runs = vh_run_until_idle (host, cancellable);
  vigil_host_deliver_events (host);
  return runs;
}

char *
vigil_host_create_task (VigilHost *host, const char *source, const VigilTaskSpec *spec,
                        GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  if (spec == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, "no task given");
      return NULL;
    }
  return vh_tasks_create (host, source ? source : "host", spec, error);
}

char *
vigil_host_create_task_checked (VigilHost *host, const char *source,
                                const VigilTaskSpec *spec, JsonArray **warnings,
                                GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  if (spec == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, "no task given");
      return NULL;
    }
  return vh_tasks_create_full (host, source ? source : "host", spec, warnings, error);
}

JsonArray *
vigil_host_tasks (VigilHost *host, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_tasks_list (host, error);
}

JsonObject *
vigil_host_task (VigilHost *host, const char *id, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_tasks_get (host, id, error);
}

JsonArray *
vigil_host_task_runs (VigilHost *host, const char *id, gboolean findings, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_tasks_runs (host, id, findings, error);
}

JsonArray *
vigil_host_run_task (VigilHost *host, const char *id, VigilProgressFunc progress,
                     gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) jobs = NULL;
  JsonArray *runs;
  gint64 before;

  g_return_val_if_fail (host != NULL, NULL);
  before = vh_tasks_last_run_id (host);
  jobs = vh_tasks_claim_now (host, id, error);
  if (jobs == NULL)
    return NULL;
  if (progress != NULL)
    vh_runner_set_progress_func (host, progress, user_data);
  vh_runner_execute (host, jobs, cancellable);
  vh_runner_set_progress_func (host, NULL, NULL);
  /* The round's runs, read before what they set off runs. */
  runs = vh_tasks_runs_after (host, before, error);
  vigil_host_run_until_idle (host, cancellable);
  return runs;
}

JsonArray *
vigil_host_run_due (VigilHost *host, GCancellable *cancellable, GError **error)
{
  gint64 before;

  g_return_val_if_fail (host != NULL, NULL);
  before = vh_tasks_last_run_id (host);
  vigil_host_run_until_idle (host, cancellable);
  return vh_tasks_runs_after (host, before, error);
}

gboolean
vigil_host_cancel_task (VigilHost *host, const char *id, GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  return vh_tasks_cancel (host, id, error);
}

gboolean
vigil_host_delete_task (VigilHost *host, const char *id, GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  return vigil_host_check_protected (host, "task.delete", error)
         && vh_tasks_delete (host, id, error);
}

guint
vigil_host_trigger_tasks (VigilHost *host, const char *kind, GError **error)
{
  g_return_val_if_fail (host != NULL, 0);
  if (g_strcmp0 (kind, "on_start") == 0)
    return vh_tasks_trigger (host, VH_SCHEDULE_ON_START);
  if (g_strcmp0 (kind, "after_update") == 0)
    return vh_tasks_trigger (host, VH_SCHEDULE_AFTER_UPDATE);
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "unknown trigger '%s' (expected on_start or after_update)", kind ? kind : "");
  return 0;
}

gint64
vigil_host_last_run_id (VigilHost *host)
{
  g_return_val_if_fail (host != NULL, 0);
  return vh_tasks_last_run_id (host);
}

JsonArray *
vigil_host_runs_after (VigilHost *host, gint64 run_id, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_tasks_runs_after (host, run_id, error);
}

JsonObject *
vigil_host_plugin_documents (VigilHost *host, const char *plugin, const char *collection,
                             GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_docs_list (host, plugin, collection, error);
}

JsonNode *
vigil_host_plugin_document (VigilHost *host, const char *plugin, const char *collection,
                            const char *key, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_docs_get (host, plugin, collection, key, error);
}
