/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plugins that register something already taken, one per build. In the
 * namespace of the plugin "basic": -DDUP_SECTION (the section "basic"),
 * -DDUP_TASK ("basic.echo"), -DDUP_COMMAND (the command "basic"),
 * -DSQUAT_EVENT (emits "basic.started" from init and fails with the
 * host's answer). -DDUP_HANDLER (two handlers for one event type),
 * -DDUP_SELF (its own task type twice), -DBUILTIN_COMMAND (the built-in
 * "policy"). Each first registers a task type of its own, which the host
 * must roll back when it refuses the plugin. They load after "basic" (file
 * names sort after it).
 */
#include <vigil/plugin.h>

static gboolean
run_nothing (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
             gpointer user_data, GError **error)
{
  return TRUE;
}

/* Each build uses only some of these. */
G_GNUC_UNUSED static void
on_event (const VigilEvent *event, gpointer user_data)
{
}

G_GNUC_UNUSED static int
command_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  return 0;
}

G_GNUC_UNUSED static const VigilField fields[] = {
  { .key = "on", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
};
G_GNUC_UNUSED static const VigilSettingsGroup groups[] = {
  { .id = "main", .fields = VIGIL_ARRAY (fields) },
};

static gboolean
register_duplicate (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
#if defined(DUP_SECTION)
  static const VigilSection section = {
    .id = "basic", .schema_version = 1, .groups = VIGIL_ARRAY (groups),
  };
  return api->register_section (self, &section, sizeof section, error);
#elif defined(DUP_TASK)
  static const VigilTaskType type = { .id = "basic.echo", .run = run_nothing };
  return api->register_task_type (self, &type, sizeof type, error);
#elif defined(DUP_HANDLER)
  static const VigilEventHandler handler = {
    .event_type = "quarantine.*", .handler = on_event,
  };
  return api->register_event_handler (self, &handler, sizeof handler, error) &&
         api->register_event_handler (self, &handler, sizeof handler, error);
#elif defined(DUP_SELF)
  static const VigilTaskType again = { .id = TEST_ID ".own", .run = run_nothing };
  return api->register_task_type (self, &again, sizeof again, error);
#elif defined(SQUAT_EVENT)
  g_autofree char *id = api->emit_event (self, "basic.started", NULL, 1, NULL, error);
  return id != NULL;
#elif defined(DUP_COMMAND) || defined(BUILTIN_COMMAND)
# if defined(DUP_COMMAND)
  static const VigilCommand command = { .name = "basic", .run = command_run };
# else
  static const VigilCommand command = { .name = "policy", .run = command_run };
# endif
  return api->register_command (self, &command, sizeof command, error);
#endif
}

static gboolean
dup_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilTaskType own = { .id = TEST_ID ".own", .run = run_nothing };

  if (!api->register_task_type (self, &own, sizeof own, error))
    return FALSE;
#if defined(SQUAT_EVENT)
  /* An emission is no registration: the plugin decides what a refusal
   * means, and this one gives up with the host's message. */
  return register_duplicate (api, self, error);
#else
  /* Ignore the failure on purpose: the host must refuse the plugin anyway. */
  register_duplicate (api, self, NULL);
  return TRUE;
#endif
}

VIGIL_PLUGIN_DEFINE (TEST_ID, "Duplicate registration", "0.1", "LGPL-2.1-or-later",
                     "Registers an id another plugin already has.", dup_init, NULL)
