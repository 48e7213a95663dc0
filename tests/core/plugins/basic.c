/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A well-behaved test plugin that contributes one of everything: a section,
 * a task type, an event handler and a command. Built several times under
 * other ids (-DTEST_ID) for the load-order and shutdown-order tests; its
 * shutdown appends its id to $VIGIL_TEST_SHUTDOWN_LOG when that is set.
 * Its command prints the arguments it got (-DTEST_COMMAND_FLAGS sets the
 * command's flags, -DTEST_COMMAND_RESERVED its reserved member, which a
 * plugin built for ABI 1.1 must leave zero).
 */
#include <stdio.h>
#include <vigil/plugin.h>

#ifndef TEST_ID
#define TEST_ID "basic"
#endif
#ifndef TEST_COMMAND
#define TEST_COMMAND TEST_ID
#endif
#ifndef TEST_COMMAND_FLAGS
#define TEST_COMMAND_FLAGS 0
#endif
#ifndef TEST_COMMAND_RESERVED
#define TEST_COMMAND_RESERVED 0
#endif

static const char *const modes[] = { "fast", "slow", NULL };

static const VigilField fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Whether the plugin acts at all." },
  { .key = "level", .type = VIGIL_FIELD_INT, .default_json = "5",
    .has_range = TRUE, .min = 1, .max = 10, .description = "How hard to try." },
  { .key = "mode", .type = VIGIL_FIELD_ENUM, .default_json = "\"fast\"",
    .enum_values = modes, .description = "Speed over thoroughness." },
};

static const VigilSettingsGroup groups[] = {
  { .id = "general", .title = "General", .fields = VIGIL_ARRAY (fields) },
};

static gboolean
echo_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  return TRUE;
}

static void
on_event (const VigilEvent *event, gpointer user_data)
{
}

static int
command_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  printf ("%s command ran with %d argument(s):", TEST_ID, argc - 1);
  for (int i = 1; i < argc; i++)
    printf (" %s", argv[i]);
  printf ("\n");
  return 0;
}

static gboolean
basic_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  /* TEST_ID doubles as the section id: the ids built from this file use
   * letters and '_' only, valid for both. */
  static const VigilSection section = {
    .id = TEST_ID, .title = "Basic", .schema_version = 1,
    .groups = VIGIL_ARRAY (groups),
  };
  static const VigilTaskType type = {
    .id = TEST_ID ".echo", .title = "Echo", .run = echo_run,
  };
  static const VigilEventHandler handler = {
    .event_type = "sandbox.threat_detected", .handler = on_event,
  };
  static const VigilCommand command = {
    .name = TEST_COMMAND, .summary = "Say that the " TEST_ID " plugin ran", .run = command_run,
    .flags = TEST_COMMAND_FLAGS, .reserved = TEST_COMMAND_RESERVED,
  };

  return api->register_section (self, &section, sizeof section, error) &&
         api->register_task_type (self, &type, sizeof type, error) &&
         api->register_event_handler (self, &handler, sizeof handler, error) &&
         api->register_command (self, &command, sizeof command, error);
}

static void
basic_shutdown (VigilPlugin *self)
{
  const char *log = g_getenv ("VIGIL_TEST_SHUTDOWN_LOG");
  FILE *f = log != NULL ? fopen (log, "a") : NULL;

  if (f != NULL)
    {
      fprintf (f, "%s\n", TEST_ID);
      fclose (f);
    }
}

VIGIL_PLUGIN_DEFINE (TEST_ID, "Basic test plugin", "1.2.3", "LGPL-2.1-or-later",
                     "Contributes one of everything, for the loader tests.",
                     basic_init, basic_shutdown)
