/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin built against the frozen ABI 1.0 header (abi-1.0/vigil/plugin.h,
 * a copy of the released one), as a third party built it before 1.1: its
 * descriptor ends at shutdown, it cannot declare namespaces or protected
 * actions, and its VigilCommand's tail padding is garbage, as a struct
 * filled field by field on the stack may have it. The host must load it
 * unchanged.
 */
#include <string.h>
#include <vigil/plugin.h>

#if VIGIL_ABI_MINOR != 0
#error "old-abi must be built against the ABI 1.0 header"
#endif

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

static gboolean
old_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilSection section = {
    .id = "old_abi", .schema_version = 1, .groups = VIGIL_ARRAY (groups),
  };
  static const VigilTaskType type = { .id = "old-abi.run", .run = run_nothing };
  VigilCommand command;

  memset (&command, 0xA5, sizeof command);
  command.name = "old-abi";
  command.summary = "A command of a 1.0 plugin";
  command.run = command_run;
  command.user_data = NULL;
  command.flags = 0;
  return api->register_section (self, &section, sizeof section, error) &&
         api->register_task_type (self, &type, sizeof type, error) &&
         api->register_command (self, &command, sizeof command, error);
}

VIGIL_PLUGIN_DEFINE ("old-abi", "Old ABI", "0.1", "LGPL-2.1-or-later",
                     "Built against ABI 1.0.", old_init, NULL)
