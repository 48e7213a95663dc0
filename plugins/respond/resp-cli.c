/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil respond kill|run`: the command an admin reaches for to take a
 * response action on a device or a group. It builds the task's parameters
 * from options, creates the task through the host (the same checks and
 * password protection as `vigil task create`) with the schedule "now",
 * and says how to follow it. The action itself runs where tasks run:
 * under `vigil serve`, on the device's agent in a fleet, or at once with
 * `vigil task run ID`.
 */
#include "resp-cli.h"

#include <vigil/util/command.h>
#include <vigil/util/json.h>
#include <vigil/util/text.h>

#define KILL_USAGE                                                              \
  "Usage: vigil respond kill (--device ID | --group ID)\n"                    \
  "                           (--pid PID | --path PATH | --sha256 HASH)\n"     \
  "                           [--children] [--signal KILL|TERM] [--json]\n"    \
  "Ends processes on the device(s): by PID, by executable path or by the\n"    \
  "executable's SHA-256, optionally with all their descendants. Never PID 1\n" \
  "or the agent itself. Creates a process.kill task that runs now.\n"

#define RUN_USAGE                                                               \
  "Usage: vigil respond run (--device ID | --group ID)\n"                     \
  "                          (--command 'SHELL LINE' | -- PROGRAM [ARG...])\n" \
  "                          [--cwd DIR] [--env NAME=VALUE]... [--user USER]\n" \
  "                          [--timeout SECONDS] [--max-output BYTES] [--json]\n" \
  "Runs a program on the device(s), directly (no shell) unless --command is\n" \
  "given; the task's result has its exit status and the first bytes of its\n" \
  "stdout and stderr. A protected action: with password protection on, it\n"  \
  "asks for the password. Creates a process.run task that runs now.\n"

#define ISOLATE_USAGE                                                           \
  "Usage: vigil respond isolate (--device ID | --group ID) [--minutes N]\n"   \
  "                             [--exclusions FILE.json] [--json]\n"          \
  "Cuts the device(s) off the network except loopback, the agent's\n"        \
  "connection to the console, DNS/DHCP if the policy allows them, the\n"     \
  "policy's exclusions and those in FILE.json (a list of {\"address\",\n"    \
  "\"port\", \"protocol\", \"direction\"}). Ends by itself after N minutes\n" \
  "(default: the policy's period, 480). Creates a network.isolate task.\n"

#define RELEASE_USAGE                                                           \
  "Usage: vigil respond release (--device ID | --group ID) [--json]\n"        \
  "Ends the isolation now. A protected action: with password protection\n"   \
  "on, it asks for the password. Creates a network.release task.\n"

#define GET_USAGE                                                               \
  "Usage: vigil respond get (--device ID | --group ID) PATH [--json]\n"         \
  "Copies the file PATH of the device(s) to the console's evidence store\n"   \
  "(a regular file, no symbolic link or '..', at most the policy's size\n"   \
  "limit); `vigil evidence list` shows it. A protected action. Creates a\n"  \
  "file.get task that runs now.\n"

#define DELETE_USAGE                                                            \
  "Usage: vigil respond delete PATH (--device ID | --group ID)\n"             \
  "                             [--recursive] [--quarantine] [--json]\n"      \
  "Deletes PATH on the device(s): a file, a symbolic link (the link itself,\n" \
  "never what it points to) or, with --recursive, a folder and everything\n"  \
  "it holds. PATH is absolute on the device; a path with '..' or through a\n" \
  "symbolic link is refused, and so are the policy's protected paths\n"      \
  "(respond.file_deletion.protected_paths: /, /etc/**, /usr/bin/**, ...)\n"  \
  "and the agent's own state. With --quarantine each file is first copied\n" \
  "into the device's quarantine (restorable with `vigil quarantine\n"        \
  "restore`), and deleted only once the copy is stored. The result records\n" \
  "path, SHA-256, MD5, size, owner and mode of each object, and lists what\n" \
  "could not be deleted with the reason. A protected action: with password\n" \
  "protection on, it asks for the password. Creates a file.delete task.\n"

#define USAGE                                                                   \
  "Usage: vigil respond COMMAND ...\n"                                        \
  "Detection and Response actions on devices (docs/respond.md):\n"           \
  "  kill     end processes by PID, executable path or SHA-256\n"              \
  "  run      run a program, with a timeout, capturing its output\n"           \
  "  isolate  cut the device off the network, except what must keep working\n" \
  "  release  end a network isolation\n"                                      \
  "  get      copy a file of the device to the evidence store\n"              \
  "  delete   delete a file or folder, optionally quarantining a copy first\n" \
  "Each creates a task that runs now; follow it with `vigil task show ID`.\n"

static const VigilHostApi *rc_api;
static VigilPlugin *rc_self;

typedef struct {
  char    *device;
  char    *group;
  gboolean json;
} Target;

static void
target_clear (Target *t)
{
  g_free (t->device);
  g_free (t->group);
}

/* Creates the task and prints its id; the exit code of the command. */
static int
create (const char *command, const char *type, const Target *t, JsonObject *params)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("Response: %s on %s %s", type,
                                           t->device != NULL ? "device" : "group",
                                           t->device != NULL ? t->device : t->group);
  VigilTaskSpec spec = {
    .type = type, .name = name, .device_id = t->device, .group_id = t->group,
    .params = params, .schedule = "{\"kind\":\"now\"}",
  };
  g_autofree char *id = NULL;

  if ((t->device == NULL) == (t->group == NULL))
    return vigil_command_fail (command, "give exactly one of --device and --group");
  id = rc_api->create_task (rc_self, &spec, sizeof spec, &error);
  if (id == NULL)
    return vigil_command_fail (command, "%s", error->message);
  if (t->json)
    {
      g_autoptr (JsonObject) o = json_object_new ();

      json_object_set_string_member (o, "id", id);
      json_object_set_string_member (o, "type", type);
      vigil_json_print_object (o);
    }
  else
    vigil_print ("task %s: %s; it runs under `vigil serve` (on the device's agent in a "
                 "fleet), or now with `vigil task run %s`\n", id, name, id);
  return VIGIL_EXIT_OK;
}

static int
respond_kill (int argc, char **argv)
{
  g_auto (GStrv) args = g_strdupv (argv);
  Target t = { 0 };
  g_autofree char *path = NULL, *sha256 = NULL, *sig = NULL;
  gint64 pid = 0;
  gboolean children = FALSE;
  int rc;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &t.device, "The device", "ID" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &t.group, "Every device of the admin group", "ID" },
    { "pid", 0, 0, G_OPTION_ARG_INT64, &pid, "The process, by PID", "PID" },
    { "path", 0, 0, G_OPTION_ARG_STRING, &path, "Every process running this executable", "PATH" },
    { "sha256", 0, 0, G_OPTION_ARG_STRING, &sha256, "Every process whose executable has this hash", "HASH" },
    { "children", 0, 0, G_OPTION_ARG_NONE, &children, "Also end their descendants", NULL },
    { "signal", 0, 0, G_OPTION_ARG_STRING, &sig, "KILL (default) or TERM", "SIGNAL" },
    { NULL },
  };
  g_autoptr (JsonObject) params = json_object_new ();

  if (!vigil_command_parse ("respond kill", KILL_USAGE, entries, &t.json, &args, &rc))
    {
      target_clear (&t);
      return rc;
    }
  if (g_strv_length (args) > 1)
    rc = vigil_command_usage_error ("respond kill", KILL_USAGE, "unexpected arguments");
  else
    {
      if (pid != 0)
        json_object_set_int_member (params, "pid", pid);
      if (path != NULL)
        json_object_set_string_member (params, "path", path);
      if (sha256 != NULL)
        json_object_set_string_member (params, "sha256", sha256);
      json_object_set_boolean_member (params, "children", children);
      if (sig != NULL)
        json_object_set_string_member (params, "signal", sig);
      rc = create ("respond kill", "process.kill", &t, params);
    }
  target_clear (&t);
  return rc;
}

static JsonArray *
strv_to_array (char **v)
{
  JsonArray *a = json_array_new ();

  for (; v != NULL && *v != NULL; v++)
    json_array_add_string_element (a, *v);
  return a;
}

static int
respond_run (int argc, char **argv)
{
  g_auto (GStrv) args = g_strdupv (argv);
  Target t = { 0 };
  g_autofree char *command = NULL, *cwd = NULL, *user = NULL;
  g_auto (GStrv) env = NULL;
  gint64 timeout = 0, max_output = -1;
  int rc;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &t.device, "The device", "ID" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &t.group, "Every device of the admin group", "ID" },
    { "command", 0, 0, G_OPTION_ARG_STRING, &command, "A command line for /bin/sh -c", "LINE" },
    { "cwd", 0, 0, G_OPTION_ARG_STRING, &cwd, "Working folder on the device", "DIR" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &env, "An environment variable (repeatable)", "NAME=VALUE" },
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "Run as this account", "USER" },
    { "timeout", 0, 0, G_OPTION_ARG_INT64, &timeout, "Kill it after this long (default 60)", "SECONDS" },
    { "max-output", 0, 0, G_OPTION_ARG_INT64, &max_output, "Bytes of stdout and stderr kept (default 65536)", "BYTES" },
    { NULL },
  };
  g_autoptr (JsonObject) params = json_object_new ();
  guint n;

  if (!vigil_command_parse ("respond run", RUN_USAGE, entries, &t.json, &args, &rc))
    {
      target_clear (&t);
      return rc;
    }
  n = g_strv_length (args);
  if ((command != NULL) == (n > 1))
    rc = vigil_command_usage_error ("respond run", RUN_USAGE,
                                    "give either --command or -- PROGRAM [ARG...]");
  else
    {
      if (command != NULL)
        json_object_set_string_member (params, "command", command);
      else
        {
          json_object_set_string_member (params, "path", args[1]);
          json_object_set_array_member (params, "args", strv_to_array (args + 2));
        }
      if (cwd != NULL)
        json_object_set_string_member (params, "cwd", cwd);
      if (env != NULL)
        json_object_set_array_member (params, "env", strv_to_array (env));
      if (user != NULL)
        json_object_set_string_member (params, "user", user);
      if (timeout != 0)
        json_object_set_int_member (params, "timeout_seconds", timeout);
      if (max_output >= 0)
        json_object_set_int_member (params, "max_output_bytes", max_output);
      rc = create ("respond run", "process.run", &t, params);
    }
  target_clear (&t);
  return rc;
}

static int
respond_isolate (int argc, char **argv)
{
  g_auto (GStrv) args = g_strdupv (argv);
  Target t = { 0 };
  g_autofree char *file = NULL;
  gint64 minutes = 0;
  int rc;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &t.device, "The device", "ID" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &t.group, "Every device of the admin group", "ID" },
    { "minutes", 0, 0, G_OPTION_ARG_INT64, &minutes, "How long (default: the policy's period)", "N" },
    { "exclusions", 0, 0, G_OPTION_ARG_FILENAME, &file, "Traffic still allowed (JSON list)", "FILE" },
    { NULL },
  };
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (GError) error = NULL;

  if (!vigil_command_parse ("respond isolate", ISOLATE_USAGE, entries, &t.json, &args, &rc))
    {
      target_clear (&t);
      return rc;
    }
  if (g_strv_length (args) > 1)
    rc = vigil_command_usage_error ("respond isolate", ISOLATE_USAGE, "unexpected arguments");
  else if (file != NULL && (list = vigil_json_read_file (file, 1 << 20, &error)) == NULL)
    rc = vigil_command_fail ("respond isolate", "%s", error->message);
  else if (list != NULL && !JSON_NODE_HOLDS_ARRAY (list))
    rc = vigil_command_fail ("respond isolate", "%s: must be a JSON list of exclusions", file);
  else
    {
      if (minutes != 0)
        json_object_set_int_member (params, "minutes", minutes);
      if (list != NULL)
        json_object_set_member (params, "exclusions", json_node_ref (list));
      rc = create ("respond isolate", "network.isolate", &t, params);
    }
  target_clear (&t);
  return rc;
}

static int
respond_release (int argc, char **argv)
{
  g_auto (GStrv) args = g_strdupv (argv);
  Target t = { 0 };
  int rc;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &t.device, "The device", "ID" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &t.group, "Every device of the admin group", "ID" },
    { NULL },
  };
  g_autoptr (JsonObject) params = json_object_new ();

  if (!vigil_command_parse ("respond release", RELEASE_USAGE, entries, &t.json, &args, &rc))
    {
      target_clear (&t);
      return rc;
    }
  rc = g_strv_length (args) > 1
         ? vigil_command_usage_error ("respond release", RELEASE_USAGE, "unexpected arguments")
         : create ("respond release", "network.release", &t, params);
  target_clear (&t);
  return rc;
}

static int
respond_get (int argc, char **argv)
{
  g_auto (GStrv) args = g_strdupv (argv);
  Target t = { 0 };
  int rc;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &t.device, "The device", "ID" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &t.group, "Every device of the admin group", "ID" },
    { NULL },
  };
  g_autoptr (JsonObject) params = json_object_new ();

  if (!vigil_command_parse ("respond get", GET_USAGE, entries, &t.json, &args, &rc))
    {
      target_clear (&t);
      return rc;
    }
  if (g_strv_length (args) != 2)
    rc = vigil_command_usage_error ("respond get", GET_USAGE, "give one PATH");
  else
    {
      json_object_set_string_member (params, "path", args[1]);
      rc = create ("respond get", "file.get", &t, params);
    }
  target_clear (&t);
  return rc;
}

static int
respond_delete (int argc, char **argv)
{
  g_auto (GStrv) args = g_strdupv (argv);
  Target t = { 0 };
  gboolean recursive = FALSE, quarantine = FALSE;
  int rc;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &t.device, "The device", "ID" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &t.group, "Every device of the admin group", "ID" },
    { "recursive", 0, 0, G_OPTION_ARG_NONE, &recursive, "Delete a folder and all it holds", NULL },
    { "quarantine", 0, 0, G_OPTION_ARG_NONE, &quarantine, "Copy each file into the quarantine first", NULL },
    { NULL },
  };
  g_autoptr (JsonObject) params = json_object_new ();

  if (!vigil_command_parse ("respond delete", DELETE_USAGE, entries, &t.json, &args, &rc))
    {
      target_clear (&t);
      return rc;
    }
  if (g_strv_length (args) != 2)
    rc = vigil_command_usage_error ("respond delete", DELETE_USAGE, "give exactly one PATH");
  else
    {
      json_object_set_string_member (params, "path", args[1]);
      json_object_set_boolean_member (params, "recursive", recursive);
      json_object_set_boolean_member (params, "quarantine", quarantine);
      rc = create ("respond delete", "file.delete", &t, params);
    }
  target_clear (&t);
  return rc;
}

static int
respond_command (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  if (argc >= 2 && g_strcmp0 (argv[1], "kill") == 0)
    return respond_kill (argc - 1, argv + 1);
  if (argc >= 2 && g_strcmp0 (argv[1], "run") == 0)
    return respond_run (argc - 1, argv + 1);
  if (argc >= 2 && g_strcmp0 (argv[1], "isolate") == 0)
    return respond_isolate (argc - 1, argv + 1);
  if (argc >= 2 && g_strcmp0 (argv[1], "release") == 0)
    return respond_release (argc - 1, argv + 1);
  if (argc >= 2 && g_strcmp0 (argv[1], "get") == 0)
    return respond_get (argc - 1, argv + 1);
  if (argc >= 2 && g_strcmp0 (argv[1], "delete") == 0)
    return respond_delete (argc - 1, argv + 1);
  if (argc >= 2 && (g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0))
    {
      vigil_print_usage (stdout, USAGE);
      return VIGIL_EXIT_OK;
    }
  g_printerr ("%s", USAGE);
  return VIGIL_EXIT_USAGE;
}

static const VigilCommand respond_cmd = {
  .name = "respond",
  .summary = "Take a response action on devices: kill or run processes, isolate",
  .run = respond_command,
  .flags = VIGIL_COMMAND_JSON,
};

gboolean
resp_cli_register (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  rc_api = api;
  rc_self = self;
  return api->register_command (self, &respond_cmd, sizeof respond_cmd, error);
}
