/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A test plugin for the fleet's fault tests: task type `gate.wait`, whose
 * run reports that it started and then waits until the file its params
 * name (`file`, an absolute path under the device's root) exists. A test therefore knows a run is
 * in progress (its `running` state reached the console) for as long as it
 * wants, and ends it by creating the file: a kill, a broker restart or a
 * console restart happens in the middle of a real run, never on a timing
 * guess. A cancelled run stops waiting.
 */
#include <glib/gstdio.h>
#include <vigil/plugin.h>

/* How often the run looks for the file. Only the time the test takes to
 * release the run depends on it, never whether the test passes. */
#define LOOK_EVERY_US (20 * G_TIME_SPAN_MILLISECOND)

static const VigilField params[] = {
  { .key = "file", .type = VIGIL_FIELD_PATH, .default_json = "\"/nonexistent\"",
    .description = "The run ends once this file exists." },
};

static const VigilHostApi *host_api;

static gboolean
wait_run (VigilTaskRun *run, JsonObject *p, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  /* Under the device's root: each agent of a group run has its own gate. */
  g_autofree char *file = g_build_filename (host_api->task_device_root (run),
                                            json_object_get_string_member (p, "file"), NULL);

  host_api->task_progress (run, 0.0, "waiting for the gate file");
  while (!g_file_test (file, G_FILE_TEST_EXISTS))
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_usleep (LOOK_EVERY_US);
    }
  host_api->task_progress (run, 1.0, "the gate opened");
  return TRUE;
}

static gboolean
gate_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilTaskType type = {
    .id = "gate.wait", .title = "Wait for a file",
    .description = "Runs until a file exists (fleet fault tests).",
    .params = params, .n_params = G_N_ELEMENTS (params), .param_size = sizeof (VigilField),
    .run = wait_run,
  };

  host_api = api;
  return api->register_task_type (self, &type, sizeof type, error);
}

VIGIL_PLUGIN_DEFINE ("gate", "Gate test plugin", "1.0.0", "LGPL-2.1-or-later",
                     "A task that runs until the test lets it end.", gate_init, NULL)
