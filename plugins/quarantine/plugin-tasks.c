/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The task types other plugins use to reach the quarantine through the
 * host: quarantine.put {"path","detection","delete_original","reason",
 * "origin":{"task","event","user"}}, quarantine.restore {"id","to":
 * "original"|"restore_folder"} and quarantine.delete {"id"}. Paths are
 * device paths, resolved inside the run's device root. Runs happen on
 * worker threads; each opens its own store handle.
 */
#include "qplugin.h"

static const char *const to_values[] = { "original", "restore_folder", NULL };

static const VigilField put_params[] = {
  { .key = "path", .type = VIGIL_FIELD_PATH, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "Device path of the file to quarantine." },
  { .key = "detection", .type = VIGIL_FIELD_STRING,
    .description = "Detection name recorded with the object." },
  { .key = "delete_original", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Delete the original once the object is safely stored." },
  { .key = "reason", .type = VIGIL_FIELD_STRING,
    .description = "Why the file is quarantined (free text)." },
  { .key = "origin", .type = VIGIL_FIELD_OBJECT,
    .description = "What put it there: {\"task\",\"event\",\"user\"} (strings)." },
};

static const VigilField restore_params[] = {
  { .key = "id", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "Object id (32 hex characters)." },
  { .key = "to", .type = VIGIL_FIELD_ENUM, .default_json = "\"original\"",
    .enum_values = to_values,
    .description = "Restore to the original path or into the restore folder." },
};

static const VigilField delete_params[] = {
  { .key = "id", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "Object id (32 hex characters)." },
};

static void
validate_id (JsonObject *params, VigilReport *report, gpointer user_data)
{
  const char *id = vigil_json_get_string (params, "id");
  g_autofree char *name = g_strconcat (id != NULL ? id : "", Q_OBJECT_SUFFIX, NULL);

  if (id != NULL && !qobject_name_parse (name, NULL))
    qp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "id",
                            "'%s' is not an object id (32 lower-case hex characters)", id);
}

static void
validate_put (JsonObject *params, VigilReport *report, gpointer user_data)
{
  JsonNode *origin = json_object_get_member (params, "origin");
  static const char *const keys[] = { "task", "event", "user", NULL };

  if (origin == NULL || JSON_NODE_HOLDS_NULL (origin))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (origin))
    {
      qp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "origin", "must be an object");
      return;
    }
  for (GList *l = json_object_get_members (json_node_get_object (origin)); l; l = g_list_delete_link (l, l))
    {
      const char *k = l->data;
      JsonNode *v = json_object_get_member (json_node_get_object (origin), k);
      gboolean known = g_strv_contains (keys, k);
      if (!known)
        qp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "origin",
                                "unknown key '%s' (expected task, event, user)", k);
      else if (!JSON_NODE_HOLDS_NULL (v) && (!JSON_NODE_HOLDS_VALUE (v)
               || json_node_get_value_type (v) != G_TYPE_STRING))
        qp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "origin", "%s must be a string", k);
    }
}

static QpDevice *
run_device (VigilTaskRun *run, GError **error)
{
  return qp_device_open (qp_api->task_device_id (run), qp_api->task_device_root (run), error);
}

/* Sets the result and a last progress line naming the object. */
static gboolean
finish (VigilTaskRun *run, JsonObject *result)
{
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *line = NULL;
  const char *to;

  if (result == NULL)
    return FALSE;
  to = json_object_get_string_member_with_default (result, "restored_to", NULL);
  line = to != NULL ? g_strdup_printf ("%s restored to %s",
                                       json_object_get_string_member (result, "id"), to)
                    : g_strdup_printf ("%s: %s", json_object_get_string_member (result, "id"),
                                       json_object_get_string_member_with_default (result, "path", ""));
  qp_api->task_progress (run, 1.0, line);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, result);
  qp_api->task_set_result (run, node);
  return TRUE;
}

static gboolean
run_put (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
         gpointer user_data, GError **error)
{
  g_autoptr (QpDevice) d = run_device (run, error);
  JsonNode *o = json_object_get_member (params, "origin");
  JsonObject *origin = o != NULL && JSON_NODE_HOLDS_OBJECT (o) ? json_node_get_object (o) : NULL;
  QpOrigin org = {
    .task_id = origin != NULL ? vigil_json_get_string (origin, "task") : NULL,
    .event_id = origin != NULL ? vigil_json_get_string (origin, "event") : NULL,
    .user = origin != NULL ? vigil_json_get_string (origin, "user") : NULL,
  };
  JsonNode *del = json_object_get_member (params, "delete_original");

  if (d == NULL)
    return FALSE;
  if (org.task_id == NULL)
    org.task_id = qp_api->task_id (run);
  qp_api->task_progress (run, 0.0, vigil_json_get_string (params, "path"));
  return finish (run, qp_op_put (d, vigil_json_get_string (params, "path"),
                                 vigil_json_get_string (params, "detection"),
                                 vigil_json_get_string (params, "reason"),
                                 del == NULL || JSON_NODE_HOLDS_NULL (del) || json_node_get_boolean (del),
                                 &org, run, cancellable, error));
}

static gboolean
run_restore (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
             gpointer user_data, GError **error)
{
  g_autoptr (QpDevice) d = run_device (run, error);
  const char *to = vigil_json_get_string (params, "to");

  if (d == NULL)
    return FALSE;
  return finish (run, qp_op_restore (d, vigil_json_get_string (params, "id"),
                                     g_strcmp0 (to, "restore_folder") == 0,
                                     cancellable, error));
}

static gboolean
run_delete (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  g_autoptr (QpDevice) d = run_device (run, error);

  if (d == NULL)
    return FALSE;
  return finish (run, qp_op_delete (d, vigil_json_get_string (params, "id"), error));
}

static const VigilTaskType types[] = {
  { .id = "quarantine.put", .title = "Quarantine a file",
    .description = "Moves a file of the device into its encrypted quarantine.",
    .params = VIGIL_ARRAY (put_params), .validate = validate_put, .run = run_put },
  { .id = "quarantine.restore", .title = "Restore from quarantine",
    .description = "Restores an object, never over an existing file (password-protected action).",
    .params = VIGIL_ARRAY (restore_params), .validate = validate_id, .run = run_restore },
  { .id = "quarantine.delete", .title = "Delete from quarantine",
    .description = "Deletes a quarantined object for good.",
    .params = VIGIL_ARRAY (delete_params), .validate = validate_id, .run = run_delete },
};

gboolean
qp_tasks_register (GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (!qp_api->register_task_type (qp_self, &types[i], sizeof types[i], error))
      return FALSE;
  return TRUE;
}
