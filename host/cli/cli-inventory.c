/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil group ...` and `vigil device ...`: the inventory from the command
 * line. Groups list as a readable tree (or JSON with --json); devices as a
 * table. `device settings ID FILE.json` sets a device's local settings
 * (section -> group -> key -> value) after checking them against the loaded
 * sections; they apply only to settings groups no policy locks.
 */
#include "cli-data.h"
#include "fleet-config.h"
#include "serve-cancel.h"

#include <stdio.h>
#include <string.h>

static int
fail (const char *command, GError *error)
{
  cli_error (command, "%s", error->message);
  return 2;
}

/* With --json, a changed object is printed as it now is. */
static void
print_group_json (VigilHost *host, const char *id)
{
  g_autoptr (JsonObject) g = vigil_host_group (host, id, NULL);

  if (g != NULL)
    vigil_json_print_object (g);
}

static void
print_device_json (VigilHost *host, const char *id)
{
  g_autoptr (JsonObject) d = vigil_host_device (host, id, NULL);

  if (d != NULL)
    vigil_json_print_object (d);
}

static void
print_removed_json (const char *id)
{
  g_autoptr (JsonObject) o = json_object_new ();

  json_object_set_string_member (o, "removed", id);
  vigil_json_print_object (o);
}

/* ---- groups ---------------------------------------------------------- */

static void
print_tree (JsonArray *groups, const char *parent, const char *indent)
{
  g_autoptr (GPtrArray) kids = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (groups); i++)
    {
      JsonObject *g = json_array_get_object_element (groups, i);
      const char *p = json_object_get_string_member_with_default (g, "parent", NULL);
      if (g_strcmp0 (p, parent) == 0)
        g_ptr_array_add (kids, g);
    }
  for (guint i = 0; i < kids->len; i++)
    {
      JsonObject *g = kids->pdata[i];
      gboolean last = i + 1 == kids->len;
      const char *id = json_object_get_string_member (g, "id");
      g_autofree char *next = g_strconcat (indent, last ? "    " : "│   ", NULL);

      vigil_print ("%s%s%s  (%s)\n", indent, last ? "└── " : "├── ", id,
              json_object_get_string_member (g, "name"));
      print_tree (groups, id, next);
    }
}

static int
group_list (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) groups = NULL;

  if (!cli_parse ("group", "list", "List the admin groups as a tree.", NULL, &argc, &argv) ||
      !cli_need_args ("group", argc, 1, "group list"))
    return 2;
  groups = vigil_host_groups (host, &error);
  if (groups == NULL)
    return fail ("group", error);
  if (globals->json)
    {
      vigil_json_print_array (groups);
      return 0;
    }
  for (guint i = 0; i < json_array_get_length (groups); i++)
    {
      JsonObject *g = json_array_get_object_element (groups, i);
      if (json_object_get_null_member (g, "parent"))
        {
          vigil_print ("%s  (%s)\n", json_object_get_string_member (g, "id"),
                  json_object_get_string_member (g, "name"));
          print_tree (groups, json_object_get_string_member (g, "id"), "");
        }
    }
  return 0;
}

static int
group_add (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *name = NULL, *parent = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Display name (default: the id)", "NAME" },
    { "parent", 0, 0, G_OPTION_ARG_STRING, &parent, "Parent group (default: root)", "PARENT" },
    { NULL },
  };

  if (!cli_parse ("group", "add ID", "Add an admin group.", entries, &argc, &argv) ||
      !cli_need_args ("group", argc, 2, "group add ID [--name NAME] [--parent PARENT]"))
    return 2;
  if (!vigil_host_add_group (host, argv[1], name, parent, &error))
    return fail ("group", error);
  if (globals->json)
    print_group_json (host, argv[1]);
  else
    vigil_print ("added group '%s' under '%s'\n", argv[1], parent ? parent : "root");
  return 0;
}

static int
group_move (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *parent = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "parent", 0, 0, G_OPTION_ARG_STRING, &parent, "New parent group", "PARENT" },
    { NULL },
  };

  if (!cli_parse ("group", "move ID --parent PARENT", "Move a group under another one.",
                  entries, &argc, &argv) ||
      !cli_need_args ("group", argc, 2, "group move ID --parent PARENT"))
    return 2;
  if (parent == NULL)
    {
      cli_error ("group", "move needs --parent PARENT");
      return 2;
    }
  if (!vigil_host_move_group (host, argv[1], parent, &error))
    return fail ("group", error);
  if (globals->json)
    print_group_json (host, argv[1]);
  else
    vigil_print ("moved group '%s' under '%s'\n", argv[1], parent);
  return 0;
}

static int
group_remove (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!cli_parse ("group", "remove ID", "Remove an empty group.", NULL, &argc, &argv) ||
      !cli_need_args ("group", argc, 2, "group remove ID"))
    return 2;
  if (!vigil_host_remove_group (host, argv[1], &error))
    return fail ("group", error);
  if (globals->json)
    print_removed_json (argv[1]);
  else
    vigil_print ("removed group '%s'\n", argv[1]);
  return 0;
}

static int
group_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : "";

  if (g_str_equal (sub, "list"))
    return group_list (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "add"))
    return group_add (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "move"))
    return group_move (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "remove"))
    return group_remove (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      vigil_print ("Usage: vigil group %s\n", cli_group.usage);
      return 0;
    }
  cli_error ("group", "unknown subcommand '%s' (expected: %s)", sub, cli_group.usage);
  return 2;
}

const CliCommand cli_group = {
  "group", "Admin groups: add, list, move, remove",
  "add ID [--name NAME] [--parent PARENT] | list | move ID --parent P | remove ID",
  group_run,
};

/* ---- devices --------------------------------------------------------- */

static int
device_list (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *group = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) devices = NULL;
  const GOptionEntry entries[] = {
    { "group", 0, 0, G_OPTION_ARG_STRING, &group, "Only this group and its subgroups", "G" },
    { NULL },
  };

  if (!cli_parse ("device", "list", "List devices.", entries, &argc, &argv) ||
      !cli_need_args ("device", argc, 1, "device list [--group G]"))
    return 2;
  devices = vigil_host_devices (host, group, &error);
  if (devices == NULL)
    return fail ("device", error);
  for (guint i = 0; i < json_array_get_length (devices); i++)
    cli_device_add_agent (host, json_array_get_object_element (devices, i));
  if (globals->json)
    {
      vigil_json_print_array (devices);
      return 0;
    }
  vigil_print ("%-20s %-20s %-24s %-4s %-17s %s\n", "ID", "NAME", "GROUP", "AWAY", "AGENT", "ROOT");
  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);
      g_autofree char *agent = cli_device_agent_summary (d);
      vigil_print ("%-20s %-20s %-24s %-4s %-17s %s\n", json_object_get_string_member (d, "id"),
              json_object_get_string_member (d, "name"),
              json_object_get_string_member (d, "group_path"),
              json_object_get_boolean_member (d, "out_of_office") ? "yes" : "no",
              agent,
              json_object_get_string_member_with_default (d, "root", NULL)
                ? json_object_get_string_member (d, "root") : "/");
    }
  return 0;
}

static int
device_add (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *group = NULL, *name = NULL, *root = NULL, *abs_root = NULL;
  g_autofree char *machine = NULL;
  g_autoptr (GError) error = NULL;
  gboolean made_machine = FALSE;
  const GOptionEntry entries[] = {
    { "group", 0, 0, G_OPTION_ARG_STRING, &group, "Admin group (required)", "G" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Display name (default: the id)", "NAME" },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root, "Root folder of the device's files", "DIR" },
    { NULL },
  };

  if (!cli_parse ("device", "add ID --group G", "Add a device.", entries, &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device add ID --group G [--name NAME] [--root DIR]"))
    return 2;
  if (group == NULL)
    {
      cli_error ("device", "add needs --group G");
      return 2;
    }
  if (root != NULL)
    abs_root = g_canonicalize_filename (root, NULL);
  if (!vigil_host_add_device (host, argv[1], name, group, abs_root, &error))
    return fail ("device", error);
  /* An admin adding a device without a root folder on a host that has no
   * machine device is setting up this machine: record it, and say so. The
   * library never does this by itself (enrolled devices are not it). */
  machine = vigil_host_machine_device (host, &error);
  if (machine == NULL && error == NULL && abs_root == NULL)
    {
      if (!vigil_host_set_machine_device (host, argv[1], &error))
        return fail ("device", error);
      made_machine = TRUE;
    }
  g_clear_error (&error);
  if (globals->json)
    print_device_json (host, argv[1]);
  else
    vigil_print ("added device '%s' to group '%s'\n", argv[1], group);
  if (made_machine)
    vigil_print_to (globals->json ? stderr : stdout,
                    "device '%s' is this machine (`vigil device set-machine ID` changes it)\n",
                    argv[1]);
  return 0;
}

static int
device_move (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *group = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "group", 0, 0, G_OPTION_ARG_STRING, &group, "New admin group", "G" },
    { NULL },
  };

  if (!cli_parse ("device", "move ID --group G", "Move a device to another group.",
                  entries, &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device move ID --group G"))
    return 2;
  if (group == NULL)
    {
      cli_error ("device", "move needs --group G");
      return 2;
    }
  if (!vigil_host_move_device (host, argv[1], group, &error))
    return fail ("device", error);
  if (globals->json)
    print_device_json (host, argv[1]);
  else
    vigil_print ("moved device '%s' to group '%s'\n", argv[1], group);
  return 0;
}

static int
device_remove (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!cli_parse ("device", "remove ID", "Remove a device.", NULL, &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device remove ID"))
    return 2;
  /* Its agent will never report again: runs still out end now, and `vigil
   * serve` withdraws those its agent has not taken. */
  if (cli_fleet_configured (host))
    {
      g_autoptr (JsonObject) agent = vigil_host_device_agent (host, argv[1], NULL);
      g_autoptr (CliFleet) f = agent ? cli_fleet_load (host, NULL) : NULL;

      /* Its agent hears it while it still can: the reload cuts it off. */
      if (f != NULL)
        cli_fleet_cancel_device_runs (f, host, argv[1]);
      if (agent != NULL)
        cli_fleet_fail_device_runs (host, argv[1], "the device was removed");
    }
  if (!vigil_host_remove_device (host, argv[1], &error))
    return fail ("device", error);
  /* A device that had an agent is let into the broker no more. */
  if (cli_fleet_configured (host))
    {
      g_autoptr (CliFleet) f = cli_fleet_load (host, &error);
      if (f == NULL || !cli_fleet_sync_broker (f, host, NULL, &error))
        cli_error ("device", "removed, but the broker was not updated: %s", error->message);
    }
  if (globals->json)
    print_removed_json (argv[1]);
  else
    vigil_print ("removed device '%s'\n", argv[1]);
  return 0;
}

static int
device_set (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *away = NULL;
  g_autoptr (GError) error = NULL;
  gboolean yes;
  const GOptionEntry entries[] = {
    { "out-of-office", 0, 0, G_OPTION_ARG_STRING, &away,
      "yes: the device left the corporate network", "yes|no" },
    { NULL },
  };

  if (!cli_parse ("device", "set ID --out-of-office yes|no", "Change a device's state.",
                  entries, &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device set ID --out-of-office yes|no"))
    return 2;
  if (away == NULL || (!g_str_equal (away, "yes") && !g_str_equal (away, "no")))
    {
      cli_error ("device", "set needs --out-of-office yes|no");
      return 2;
    }
  yes = g_str_equal (away, "yes");
  if (!vigil_host_set_device_out_of_office (host, argv[1], yes, &error))
    return fail ("device", error);
  if (globals->json)
    print_device_json (host, argv[1]);
  else
    vigil_print ("device '%s' is %s\n", argv[1], yes ? "out of the office" : "in the office");
  return 0;
}

/* The machine's device is explicit: set here, asked with the password
 * when the change weakens this machine's protection (the host decides). */
static int
device_set_machine (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!cli_parse ("device", "set-machine ID",
                  "Record ID as the device that stands for this machine.", NULL, &argc,
                  &argv) ||
      !cli_need_args ("device", argc, 2, "device set-machine ID"))
    return 2;
  if (!vigil_host_set_machine_device (host, argv[1], &error))
    return fail ("device", error);
  if (globals->json)
    print_device_json (host, argv[1]);
  else
    vigil_print ("device '%s' is this machine\n", argv[1]);
  return 0;
}

/* Local values of a group a policy locks are kept but ignored: say so, so
 * that an admin is not surprised by `policy effective`. */
static void
warn_locked (VigilHost *host, const char *device, JsonObject *local)
{
  g_autoptr (GList) sections = json_object_get_members (local);

  for (GList *s = sections; s; s = s->next)
    {
      g_autoptr (JsonObject) origins = NULL;
      g_autoptr (JsonObject) values = vigil_host_effective_settings (host, device, s->data, &origins, NULL);
      g_autoptr (GList) groups = json_object_get_members (json_object_get_object_member (local, s->data));

      for (GList *g = groups; values && g; g = g->next)
        {
          JsonObject *o = json_object_get_object_member (origins, g->data);
          g_autoptr (GList) keys = o ? json_object_get_values (o) : NULL;
          const char *origin = keys ? json_node_get_string (keys->data) : NULL;

          /* "policy:<name> (locked)" */
          if (origin && g_str_has_prefix (origin, "policy:") && g_str_has_suffix (origin, " (locked)"))
            {
              g_autofree char *name = g_strndup (origin + 7, strlen (origin) - 7 - 9);
              vigil_print ("warning: %s.%s is locked by policy '%s'; the local values are ignored "
                      "while the lock holds\n", (char *) s->data, (char *) g->data, name);
            }
        }
    }
}

static int
device_settings (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) given = NULL, local = NULL;
  g_autoptr (JsonArray) problems = NULL;

  if (!cli_parse ("device", "settings ID FILE.json",
                  "Set a device's local settings (section -> group -> key -> value).",
                  NULL, &argc, &argv) ||
      !cli_need_args ("device", argc, 3, "device settings ID FILE.json"))
    return 2;
  given = cli_read_json_object (argv[2], &error);
  if (given == NULL)
    return fail ("device", error);
  if (!vigil_host_set_device_settings (host, argv[1], given, &problems, &local, &error))
    {
      /* Problems in the file exit 1; a missing device or a store error 2. */
      if (problems != NULL && cli_print_problems (problems, argv[2]) > 0)
        {
          cli_error ("device", "local settings not changed (%s)", argv[2]);
          return 1;
        }
      return fail ("device", error);
    }
  cli_print_problems (problems, argv[2]);
  if (globals->json)
    vigil_json_print_object (local);
  else
    {
      vigil_print ("set the local settings of device '%s'\n", argv[1]);
      warn_locked (host, argv[1], local);
    }
  return 0;
}

static int
device_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*run) (VigilHost *, const CliGlobals *, int, char **);
  } subs[] = {
    { "list", device_list }, { "add", device_add }, { "move", device_move },
    { "remove", device_remove }, { "set", device_set }, { "settings", device_settings },
    { "show", cli_device_show }, { "enroll", cli_device_enroll }, { "revoke", cli_device_revoke },
    { "set-machine", device_set_machine },
  };
  const char *sub = argc > 1 ? argv[1] : "";

  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    if (g_str_equal (sub, subs[i].name))
      return subs[i].run (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      vigil_print ("Usage: vigil device %s\n", cli_device.usage);
      return 0;
    }
  cli_error ("device", "unknown subcommand '%s' (expected: %s)", sub, cli_device.usage);
  return 2;
}

const CliCommand cli_device = {
  "device", "Devices: add, list, show, move, remove, out-of-office, local settings, "
  "this machine's device, enroll and revoke agents",
  "add ID --group G [--name NAME] [--root DIR] | list [--group G] | show ID | "
  "move ID --group G | remove ID | set ID --out-of-office yes|no | settings ID FILE.json | "
  "set-machine ID | enroll ID --group G [--output FILE] [--hours H] | revoke ID",
  device_run,
};
