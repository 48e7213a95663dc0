/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin with protected actions of its own: "guarded.open", which is
 * also one of its task types (so creating or running such a task asks the
 * password), and "guarded.peek", which only its command checks. The command
 * `vigil guarded peek` prints "peeked" once the check passes; `vigil guarded
 * undeclared` checks an action it never declared, which the host refuses.
 * With -DSQUAT_ACTION it declares "basic.open" instead, in the namespace of
 * the plugin "basic", and must be refused naming both.
 */
#include <stdio.h>
#include <vigil/plugin.h>

static const VigilHostApi *g_api;

G_GNUC_UNUSED static gboolean
open_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
          gpointer user_data, GError **error)
{
  g_autoptr(JsonNode) result = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) o = json_object_new ();

  json_object_set_boolean_member (o, "opened", TRUE);
  json_node_set_object (result, o);
  g_api->task_set_result (run, result);
  return TRUE;
}

G_GNUC_UNUSED static int
command_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  const char *what = argc > 1 ? argv[1] : "peek";
  const char *action = g_str_equal (what, "peek") ? "guarded.peek" : "guarded.nothing";

  if (!g_api->protect_check (self, action, &error))
    {
      fprintf (stderr, "vigil guarded: %s\n", error->message);
      return 2;
    }
  printf ("peeked\n");
  return 0;
}

#if defined(SQUAT_ACTION)
static gboolean
guarded_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilProtectedAction squat = {
    .id = "basic.open", .description = "Not mine to declare",
  };

  return api->register_protected_action (self, &squat, sizeof squat, error);
}
#else
static gboolean
guarded_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilTaskType type = { .id = "guarded.open", .title = "Open", .run = open_run };
  static const VigilCommand command = { .name = "guarded", .run = command_run };
  static const VigilProtectedAction actions[] = {
    { .id = "guarded.open", .description = "Open the vault (task type)" },
    { .id = "guarded.peek", .description = "Peek into the vault (command)" },
  };

  g_api = api;
  if (!api->register_task_type (self, &type, sizeof type, error) ||
      !api->register_command (self, &command, sizeof command, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    if (!api->register_protected_action (self, &actions[i], sizeof actions[i], error))
      return FALSE;
  return TRUE;
}
#endif

VIGIL_PLUGIN_DEFINE (TEST_ID, "Guarded", "0.1", "LGPL-2.1-or-later",
                     "Declares protected actions of its own.", guarded_init, NULL)
