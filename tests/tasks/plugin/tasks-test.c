/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small plugin for the tasks tests, built and loaded like a real one.
 * Task types: tasks-test.record (progress, a finding and a result that
 * shows the device root), tasks-test.fail, tasks-test.wait (waits until
 * cancelled, after creating a marker file so the test knows it started) and
 * tasks-test.emit (emits tasks-test.pong). Handlers: tasks-test.ping
 * creates a tasks-test.emit task for the event's device, tasks-test.pong a
 * tasks-test.record task labelled "from-pong": a chain that
 * vigil_host_run_until_idle must drive to its end. And three loops the
 * host must stop: tasks-test.echo re-emits itself, tasks-test.tick and
 * tasks-test.tock emit each other, and tasks-test.again creates a
 * tasks-test.reemit task whose run emits tasks-test.again. And
 * tasks-test.stubborn, a run that ignores its cancel. And tasks-test.nest,
 * whose run runs another task inside it (task_run_nested) and puts what
 * came back in its result, and tasks-test.guarded, a protected task type.
 */
#include <vigil/plugin.h>
#include <glib/gstdio.h>

static const VigilHostApi *api;
static VigilPlugin *self_plugin;

static const VigilField record_params[] = {
  { .key = "label", .type = VIGIL_FIELD_STRING, .default_json = "\"plain\"",
    .description = "Copied into the result and the finding." },
  { .key = "count", .type = VIGIL_FIELD_INT, .default_json = "1", .has_range = TRUE,
    .min = 0, .max = 10, .description = "How many findings to add." },
};

static const VigilField wait_params[] = {
  { .key = "marker", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "File created (with the device id appended) once the run waits." },
};

static void
record_validate (JsonObject *params, VigilReport *report, gpointer user_data)
{
  if (g_strcmp0 (json_object_get_string_member (params, "label"), "bad") == 0)
    api->report_problem (report, VIGIL_SEVERITY_ERROR, "label", "'bad' is not a good label");
  if (g_strcmp0 (json_object_get_string_member (params, "label"), "odd") == 0)
    api->report_problem (report, VIGIL_SEVERITY_WARNING, "label", "'odd' is an odd label");
}

static gboolean
record_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  const char *label = json_object_get_string_member (params, "label");
  g_autoptr (JsonObject) result = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  api->task_progress (run, 0.5, "halfway");
  for (gint64 i = 0; i < json_object_get_int_member (params, "count"); i++)
    {
      g_autoptr (JsonObject) finding = json_object_new ();
      json_object_set_string_member (finding, "label", label);
      json_object_set_string_member (finding, "device", api->task_device_id (run));
      json_object_set_int_member (finding, "index", i);
      api->task_add_finding (run, finding);
    }
  json_object_set_string_member (result, "device", api->task_device_id (run));
  json_object_set_string_member (result, "root", api->task_device_root (run));
  json_object_set_string_member (result, "label", label);
  json_node_set_object (node, result);
  api->task_set_result (run, node);
  return TRUE;
}

static gboolean
fail_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  api->task_progress (run, 0.3, "about to fail");
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED, "asked to fail");
  return FALSE;
}

static gboolean
wait_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  g_autofree char *marker = g_strconcat (json_object_get_string_member (params, "marker"),
                                         ".", api->task_device_id (run), NULL);

  api->task_progress (run, 0.1, "waiting to be cancelled");
  g_file_set_contents (marker, "started", -1, NULL);
  /* Bounded, so that a broken cancel fails the test instead of hanging it. */
  for (int i = 0; i < 6000 && !g_cancellable_is_cancelled (cancellable); i++)
    g_usleep (10 * 1000);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED, "never cancelled");
  return FALSE;
}

/* Ignores the cancel, as a badly written plugin does: waits for the file
 * MARKER.release, then returns a result and a finding the host must
 * ignore (bounded, so that a broken test does not hang forever). */
static gboolean
stubborn_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
              gpointer user_data, GError **error)
{
  const char *marker = json_object_get_string_member (params, "marker");
  g_autofree char *started = g_strconcat (marker, ".", api->task_device_id (run), NULL);
  g_autofree char *release = g_strconcat (marker, ".release", NULL);
  g_autoptr (JsonObject) finding = json_object_new ();
  g_autoptr (JsonNode) result = json_node_init_object (json_node_alloc (), finding);

  g_file_set_contents (started, "started", -1, NULL);
  for (int i = 0; i < 6000 && !g_file_test (release, G_FILE_TEST_EXISTS); i++)
    g_usleep (10 * 1000);
  json_object_set_string_member (finding, "late", "yes");
  api->task_add_finding (run, finding);
  api->task_set_result (run, result);
  return TRUE;
}

static gboolean
emit_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autofree char *id = NULL;

  json_object_set_string_member (payload, "from", api->task_id (run));
  id = api->emit_event (api->task_plugin (run), "tasks-test.pong",
                        api->task_device_id (run), 1, payload, error);
  return id != NULL;
}

static gboolean
reemit_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
            gpointer user_data, GError **error)
{
  g_autofree char *id = api->emit_event (api->task_plugin (run), "tasks-test.again",
                                         api->task_device_id (run), 1, NULL, error);
  return id != NULL;
}

/* Emits @type as a handler; a refusal is the host stopping a loop. */
static void
emit_from_handler (const VigilEvent *event, const char *type)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = api->emit_event (self_plugin, type, event->device_id, 1, NULL, &error);

  if (id == NULL)
    api->log (self_plugin, G_LOG_LEVEL_MESSAGE, "not emitted: %s", error->message);
}

static void
on_echo (const VigilEvent *event, gpointer user_data)
{
  emit_from_handler (event, "tasks-test.echo");
}

static void
on_tick (const VigilEvent *event, gpointer user_data)
{
  emit_from_handler (event, "tasks-test.tock");
}

static void
on_tock (const VigilEvent *event, gpointer user_data)
{
  emit_from_handler (event, "tasks-test.tick");
}

static void
create_for (const VigilEvent *event, const char *type, const char *label)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  VigilTaskSpec spec = { .type = type, .device_id = event->device_id, .params = params };

  if (label != NULL)
    json_object_set_string_member (params, "label", label);
  id = api->create_task (self_plugin, &spec, sizeof spec, &error);
  if (id == NULL)
    api->log (self_plugin, G_LOG_LEVEL_WARNING, "cannot create %s: %s", type, error->message);
}

static void
on_ping (const VigilEvent *event, gpointer user_data)
{
  create_for (event, "tasks-test.emit", NULL);
}

static void
on_pong (const VigilEvent *event, gpointer user_data)
{
  create_for (event, "tasks-test.record", "from-pong");
}

static void
on_again (const VigilEvent *event, gpointer user_data)
{
  create_for (event, "tasks-test.reemit", NULL);
}

static void
on_doom (const VigilEvent *event, gpointer user_data)
{
  create_for (event, "tasks-test.fail", NULL);
}

static const char *const nest_steps[] = { "record", "fail", "group", "wait", "guarded", NULL };

static const VigilField nest_params[] = {
  { .key = "step", .type = VIGIL_FIELD_ENUM, .default_json = "\"record\"",
    .enum_values = nest_steps,
    .description = "record: a tasks-test.record inside; fail: a tasks-test.fail; group: "
                   "a spec naming a group (refused); wait: a tasks-test.wait; guarded: "
                   "a protected type (refused)." },
  { .key = "marker", .type = VIGIL_FIELD_STRING,
    .description = "For wait: the inner run's marker." },
};

static gboolean
nest_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  const char *step = json_object_get_string_member (params, "step");
  g_autoptr (JsonObject) p = json_object_new ();
  g_autoptr (JsonObject) result = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (GError) local = NULL;
  g_autofree char *task = NULL;
  VigilTaskSpec spec = {
    .type = g_str_equal (step, "fail") ? "tasks-test.fail"
          : g_str_equal (step, "wait") ? "tasks-test.wait"
          : g_str_equal (step, "guarded") ? "tasks-test.guarded" : "tasks-test.record",
    .group_id = g_str_equal (step, "group") ? "lab" : NULL, .params = p,
  };
  JsonNode *nested;

  if (g_str_equal (step, "wait"))
    json_object_set_string_member (p, "marker", json_object_get_string_member (params, "marker"));
  else if (!g_str_equal (step, "fail"))
    json_object_set_string_member (p, "label", "nested");
  nested = api->task_run_nested (run, &spec, sizeof spec, &task, &local);
  if (task != NULL)
    json_object_set_string_member (result, "task", task);
  if (nested != NULL)
    json_object_set_member (result, "result", nested);
  if (local != NULL)
    json_object_set_string_member (result, "error", local->message);
  json_node_set_object (node, result);
  api->task_set_result (run, node);
  return TRUE;
}

static gboolean
tt_init (const VigilHostApi *host_api, VigilPlugin *self, GError **error)
{
  static const VigilTaskType types[] = {
    { .id = "tasks-test.record", .title = "Record", .params = VIGIL_ARRAY (record_params),
      .validate = record_validate, .run = record_run },
    { .id = "tasks-test.fail", .title = "Fail", .run = fail_run },
    { .id = "tasks-test.wait", .title = "Wait", .params = VIGIL_ARRAY (wait_params),
      .run = wait_run },
    { .id = "tasks-test.emit", .title = "Emit pong", .run = emit_run },
    { .id = "tasks-test.reemit", .title = "Emit again", .run = reemit_run },
    { .id = "tasks-test.stubborn", .title = "Ignore cancel", .params = VIGIL_ARRAY (wait_params),
      .run = stubborn_run },
    { .id = "tasks-test.nest", .title = "Nest", .params = VIGIL_ARRAY (nest_params),
      .run = nest_run },
    { .id = "tasks-test.guarded", .title = "Record, protected",
      .params = VIGIL_ARRAY (record_params), .run = record_run },
  };
  /* Named like the type: a protected task type. */
  static const VigilProtectedAction guarded = {
    .id = "tasks-test.guarded", .description = "A protected task type (tests)",
  };
  static const VigilEventHandler handlers[] = {
    { .event_type = "tasks-test.ping", .handler = on_ping },
    { .event_type = "tasks-test.pong", .handler = on_pong },
    { .event_type = "tasks-test.echo", .handler = on_echo },
    { .event_type = "tasks-test.tick", .handler = on_tick },
    { .event_type = "tasks-test.tock", .handler = on_tock },
    { .event_type = "tasks-test.again", .handler = on_again },
    { .event_type = "tasks-test.doom", .handler = on_doom },
  };

  api = host_api;
  self_plugin = self;
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    if (!api->register_task_type (self, &types[i], sizeof types[i], error))
      return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    if (!api->register_event_handler (self, &handlers[i], sizeof handlers[i], error))
      return FALSE;
  return api->register_protected_action (self, &guarded, sizeof guarded, error);
}

VIGIL_PLUGIN_DEFINE ("tasks-test", "Tasks test plugin", "1.0", "LGPL-2.1-or-later",
                     "Task types and handlers for the host's tasks tests.", tt_init, NULL)
