/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin that declares namespaces (-DTEST_NAMESPACES="a", "b") and uses
 * the first one for everything it registers and emits: a section, a task
 * type "<ns>.run", a command and an event "<ns>.hello" from init. Built
 * under several ids: the owner of "shared", a second plugin claiming
 * "shared", one claiming a reserved namespace, a look-alike of another
 * plugin's id, and a malformed name, each of which the host must refuse
 * before init runs (init would leave a mark in $VIGIL_TEST_INIT_LOG).
 */
#include <stdio.h>
#include <vigil/plugin.h>

#ifndef TEST_NAMESPACES
#define TEST_NAMESPACES "shared"
#endif

static const char *const namespaces[] = { TEST_NAMESPACES, NULL };

static const VigilField fields[] = {
  { .key = "on", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
};
static const VigilSettingsGroup groups[] = {
  { .id = "main", .fields = VIGIL_ARRAY (fields) },
};

static gboolean
run_nothing (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
             gpointer user_data, GError **error)
{
  return TRUE;
}

static int
command_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  return 0;
}

static void
mark_init (void)
{
  const char *log = g_getenv ("VIGIL_TEST_INIT_LOG");
  FILE *f = log != NULL ? fopen (log, "a") : NULL;

  if (f != NULL)
    {
      fprintf (f, "%s\n", TEST_ID);
      fclose (f);
    }
}

static gboolean
ns_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static char type_id[80], event_type[80];
  static VigilSection section = {
    .schema_version = 1, .groups = VIGIL_ARRAY (groups),
  };
  static VigilTaskType type = { .run = run_nothing };
  static VigilCommand command = { .run = command_run };
  g_autofree char *event = NULL;

  mark_init ();
  g_snprintf (type_id, sizeof type_id, "%s.run", namespaces[0]);
  g_snprintf (event_type, sizeof event_type, "%s.hello", namespaces[0]);
  section.id = namespaces[0];
  type.id = type_id;
  command.name = namespaces[0];
  if (!api->register_section (self, &section, sizeof section, error) ||
      !api->register_task_type (self, &type, sizeof type, error) ||
      !api->register_command (self, &command, sizeof command, error))
    return FALSE;
  event = api->emit_event (self, event_type, NULL, 1, NULL, error);
  return event != NULL;
}

VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES (TEST_ID, "Namespaces", "0.1", "LGPL-2.1-or-later",
                                     "Declares namespaces and uses them.", ns_init, NULL,
                                     namespaces)
