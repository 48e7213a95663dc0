/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The task type file.delete (the engine is resp-file-delete.c): its
 * parameter checks, the `file_deletion` group of the `respond` policy
 * section (the protected paths), the copy into the quarantine, and the
 * record: the result lists what was deleted and what was not, and each
 * deleted object is a `file.deleted` event for the device. The copy is
 * made by the quarantine plugin's own task, quarantine.put with the
 * original kept, run at once inside this run through the host
 * (task_run_nested), so there is one copy of the quarantine's code and
 * its events, limits and console inventory apply; the engine deletes a
 * file only after that task has completed with a copy of the same
 * SHA-256. file.delete is a protected action: with password protection
 * on, creating or running it by hand needs the password.
 */
#include "resp-file-delete-task.h"

#include <string.h>
#include <vigil/util/json.h>
#include <vigil/util/path.h>

#include "resp-file-delete.h"

static const VigilHostApi *rf_api;
static VigilPlugin *rf_self;

#define QUARANTINE_TYPE "quarantine.put"

/* ---- checks --------------------------------------------------------- */

void
resp_delete_section_validate (JsonObject *values, VigilReport *report)
{
  JsonArray *list = vigil_json_get_array (vigil_json_get_object (values, "file_deletion"),
                                          "protected_paths");

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      g_autofree char *why = resp_delete_protected_check (json_array_get_string_element (list, i));

      if (why != NULL)
        rf_api->report_problem (report, VIGIL_SEVERITY_ERROR, "file_deletion.protected_paths",
                                "item %u (\"%s\"): %s", i,
                                json_array_get_string_element (list, i), why);
    }
}

static void
delete_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  const char *path = vigil_json_get_string (params, "path");
  g_autofree char *norm = path != NULL ? vigil_path_normalize (path, &error) : NULL;

  if (path == NULL)
    return;
  if (norm == NULL)
    rf_api->report_problem (report, VIGIL_SEVERITY_ERROR, "path", "%s", error->message);
  else if (strcmp (norm, "/") == 0)
    rf_api->report_problem (report, VIGIL_SEVERITY_ERROR, "path",
                            "the device's root folder is never deleted");
}

/* ---- the copy into the quarantine ------------------------------------ */

static gboolean
quarantine_copy (const char *device_path, const char *sha256, gpointer data,
                 char **object_id, GError **error)
{
  VigilTaskRun *run = data;
  g_autoptr (JsonObject) params = json_object_new ();
  JsonObject *origin = json_object_new ();
  g_autofree char *name = g_strdup_printf ("Delete file: quarantine copy of %s", device_path);
  VigilTaskSpec spec = { .type = QUARANTINE_TYPE, .name = name, .params = params };
  g_autoptr (JsonNode) done = NULL;
  JsonObject *o;
  const char *id, *copied;

  json_object_set_string_member (params, "path", device_path);
  json_object_set_boolean_member (params, "delete_original", FALSE);
  json_object_set_string_member (params, "reason", "copy kept by file.delete before deleting");
  json_object_set_string_member (origin, "task", rf_api->task_id (run));
  json_object_set_object_member (params, "origin", origin);
  done = rf_api->task_run_nested (run, &spec, sizeof spec, NULL, error);
  if (done == NULL)
    return FALSE;
  o = JSON_NODE_HOLDS_OBJECT (done) ? json_node_get_object (done) : NULL;
  id = vigil_json_get_string (o, "id");
  copied = vigil_json_get_string (o, "sha256");
  if (id == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s completed without naming the quarantine object", QUARANTINE_TYPE);
      return FALSE;
    }
  if (g_strcmp0 (copied, sha256) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the file changed while it was copied (object %s holds SHA-256 %s, "
                   "the file had %s)", id, copied != NULL ? copied : "?", sha256);
      return FALSE;
    }
  *object_id = g_strdup (id);
  return TRUE;
}

/* Before anything is touched: a copy that cannot be made deletes nothing. */
static gboolean
quarantine_available (GError **error)
{
  if (!VIGIL_API_HAS (rf_api, task_run_nested))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "params.quarantine: this host cannot run the quarantine's task inside "
                   "another (it needs task_run_nested): nothing was deleted");
      return FALSE;
    }
  if (!rf_api->has_task_type (rf_self, QUARANTINE_TYPE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "params.quarantine: the device has no quarantine (task type %s is not "
                   "available: vigil plugins enable quarantine): nothing was deleted",
                   QUARANTINE_TYPE);
      return FALSE;
    }
  return TRUE;
}

/* ---- the run -------------------------------------------------------- */

static void
emit_deleted (VigilTaskRun *run, JsonArray *deleted)
{
  for (guint i = 0; i < json_array_get_length (deleted); i++)
    {
      g_autoptr (JsonObject) payload = json_object_ref (json_array_get_object_element (deleted, i));
      g_autoptr (GError) error = NULL;
      g_autofree char *id = NULL;

      id = rf_api->emit_event (rf_self, "file.deleted", rf_api->task_device_id (run), 1,
                               payload, &error);
      if (id == NULL)
        rf_api->log (rf_self, G_LOG_LEVEL_WARNING, "file.deleted not recorded: %s",
                     error->message);
    }
}

/* The policy's protected paths, as a NULL-terminated vector. */
static GStrv
protected_paths (JsonObject *settings)
{
  JsonArray *list = vigil_json_get_array (vigil_json_get_object (settings, "file_deletion"),
                                          "protected_paths");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    if (json_array_get_string_element (list, i) != NULL)
      g_strv_builder_add (b, json_array_get_string_element (list, i));
  return g_strv_builder_end (b);
}

static gboolean
delete_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  g_autoptr (JsonObject) settings = NULL;
  g_auto (GStrv) protect = NULL;
  g_autofree char *plugins_dir = g_path_get_dirname (rf_api->data_dir (rf_self));
  g_autofree char *state_dir = g_path_get_dirname (plugins_dir);
  g_autofree char *failure = NULL;
  gboolean copy = json_object_get_boolean_member_with_default (params, "quarantine", FALSE);
  RespDelete req = {
    .root = rf_api->task_device_root (run), .state_dir = state_dir,
    .recursive = json_object_get_boolean_member_with_default (params, "recursive", FALSE),
    .quarantine = copy ? quarantine_copy : NULL, .quarantine_data = run,
  };
  gboolean all = FALSE;
  JsonObject *result;
  JsonNode *node;
  guint n_not;

  settings = rf_api->get_effective_settings (rf_self, rf_api->task_device_id (run), "respond",
                                             error);
  if (settings == NULL || (copy && !quarantine_available (error)))
    return FALSE;
  protect = protected_paths (settings);
  req.protected_paths = (const char *const *) protect;
  rf_api->task_progress (run, 0.0, vigil_json_get_string (params, "path"));
  result = resp_file_delete (&req, vigil_json_get_string (params, "path"), cancellable, &all,
                             error);
  if (result == NULL)
    return FALSE;
  emit_deleted (run, json_object_get_array_member (result, "deleted"));
  n_not = json_array_get_length (json_object_get_array_member (result, "not_deleted"));
  if (g_cancellable_is_cancelled (cancellable))
    failure = g_strdup ("cancelled: what was deleted before is in the result");
  else if (!all)
    failure = g_strdup_printf ("%u object(s) could not be deleted: see not_deleted in the result",
                               n_not);
  rf_api->task_progress (run, 1.0, all ? "deleted" : failure);
  node = json_node_init_object (json_node_alloc (), result);
  rf_api->task_set_result (run, node);
  json_node_unref (node);
  json_object_unref (result);
  if (!all)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", failure);
  return all;
}

static const VigilTaskType delete_type = {
  .id = "file.delete",
  .title = "Delete file",
  .description = "Deletes a file, a link or (recursive) a folder on the device, optionally "
                 "after a copy into the quarantine; never a protected system path. The "
                 "result records path, hashes, size, owner and mode of what was deleted.",
  .params = VIGIL_ARRAY (resp_delete_params),
  .validate = delete_validate,
  .run = delete_run,
};

/* Named like the task type: a local user cannot delete through the agent
 * what they could not delete themselves without the password. */
static const VigilProtectedAction delete_action = {
  .id = "file.delete",
  .description = "Delete a file or folder on the device (task)",
};

gboolean
resp_file_delete_register (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  rf_api = api;
  rf_self = self;
  return api->register_task_type (self, &delete_type, sizeof delete_type, error)
         && api->register_protected_action (self, &delete_action, sizeof delete_action, error);
}
