/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.get, the "Get file" response action: copies a file of the device
 * to the console's evidence store. The file is opened confined to the
 * device's root and checked (resp-file-get.c), its size held to the
 * policy's limit (section `respond`, get_file.max_size_mb), and handed to
 * the host's evidence store (the host API's evidence_put), which hashes
 * and seals it and keeps it whole or not at all; on an agent the host
 * sends it on to the console. The result and the event `file.retrieved`
 * name the path, the size and the hashes, never the content. A protected
 * action: with password protection on, a local user cannot use the agent
 * to read a file they could not.
 */
#include "resp-file-get.h"

#include <unistd.h>
#include <vigil/util/json.h>

#include "resp-engine.h"

#define DEFAULT_MAX_MB 100

static const VigilHostApi *rg_api;
static VigilPlugin *rg_self;

const VigilField resp_get_file_fields[RESP_N_GET_FILE_FIELDS] = {
  { .key = "max_size_mb", .type = VIGIL_FIELD_INT, .default_json = "100",
    .has_range = TRUE, .min = 1, .max = 8192,
    .description = "Get file refuses a file larger than this many MiB (default 100)." },
};

static void
get_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  const char *key = NULL;
  g_autofree char *problem = resp_get_check (params, &key);

  if (problem != NULL)
    rg_api->report_problem (report, VIGIL_SEVERITY_ERROR, key, "%s", problem);
}

static gint64
max_bytes (const char *device, GError **error)
{
  g_autoptr (JsonObject) settings = rg_api->get_effective_settings (rg_self, device, "respond",
                                                                    error);
  JsonObject *g = settings != NULL ? vigil_json_get_object (settings, "get_file") : NULL;

  if (settings == NULL)
    return -1;
  return (g != NULL ? json_object_get_int_member_with_default (g, "max_size_mb", DEFAULT_MAX_MB)
                    : DEFAULT_MAX_MB) * 1024 * 1024;
}

static void
emit_retrieved (const char *device, JsonObject *stored)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  static const char *const keys[] = { "path", "size", "sha256", "md5", NULL };

  for (guint i = 0; keys[i] != NULL; i++)
    json_object_set_member (payload, keys[i],
                            json_node_copy (json_object_get_member (stored, keys[i])));
  json_object_set_string_member (payload, "evidence", json_object_get_string_member (stored, "id"));
  id = rg_api->emit_event (rg_self, "file.retrieved", device, 1, payload, &error);
  if (id == NULL)
    rg_api->log (rg_self, G_LOG_LEVEL_WARNING, "file.retrieved not emitted: %s", error->message);
}

static gboolean
get_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
         gpointer user_data, GError **error)
{
  const char *device = rg_api->task_device_id (run);
  const char *path = json_object_get_string_member_with_default (params, "path", "");
  g_autoptr (JsonObject) stored = NULL;
  g_autoptr (JsonObject) result = json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  gint64 limit, size = 0;
  int fd;

  if (!VIGIL_API_HAS (rg_api, evidence_put))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "this host has no evidence store (evidence_put, Vigil 1.1)");
      return FALSE;
    }
  if ((limit = max_bytes (device, error)) < 0)
    return FALSE;
  rg_api->task_progress (run, 0.0, "opening the file");
  if ((fd = resp_file_open (rg_api->task_device_root (run), path, limit, &size, error)) < 0)
    return FALSE;
  rg_api->task_progress (run, 0.1, "copying the file to the evidence store");
  stored = rg_api->evidence_put (run, path, fd, limit, error);
  close (fd);
  if (stored == NULL)
    return FALSE;
  json_object_set_string_member (result, "evidence", json_object_get_string_member (stored, "id"));
  json_object_set_string_member (result, "path", path);
  json_object_set_int_member (result, "size", json_object_get_int_member (stored, "size"));
  json_object_set_string_member (result, "sha256", json_object_get_string_member (stored, "sha256"));
  json_object_set_string_member (result, "md5", json_object_get_string_member (stored, "md5"));
  node = json_node_init_object (json_node_alloc (), result);
  rg_api->task_set_result (run, node);
  emit_retrieved (device, stored);
  rg_api->task_progress (run, 1.0, "retrieved");
  return TRUE;
}

static const VigilTaskType get_type = {
  .id = "file.get",
  .title = "Get file",
  .description = "Copies a regular file of the device (no symbolic link or '..', at most the "
                 "policy's size limit) to the console's evidence store, encrypted; the result "
                 "has its size, SHA-256 and MD5.",
  .params = VIGIL_ARRAY (resp_get_params),
  .validate = get_validate,
  .run = get_run,
};

/* Named like the task type, so the task type is protected too. */
static const VigilProtectedAction get_action = {
  .id = "file.get",
  .description = "Copy a file of the device to the evidence store (task)",
};

gboolean
resp_file_get_register (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  rg_api = api;
  rg_self = self;
  return api->register_task_type (self, &get_type, sizeof get_type, error)
         && api->register_protected_action (self, &get_action, sizeof get_action, error);
}
