/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil plugins`: what the host loaded, what it refused and why, and what
 * each plugin contributes; `plugins show ID` for one plugin in detail; and
 * `plugins enable|disable ID`, which rewrite the host config (disabling is
 * a protected action when the admin set a password). Changes apply the
 * next time a host starts, which for the CLI is the next command.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define CMD "plugins"

static const char usage[] =
  "Usage: vigil plugins [--all] [--json]      loaded and refused plugins (--all: also disabled)\n"
  "       vigil plugins show ID [--json]      one plugin: identity, state, contributions\n"
  "       vigil plugins enable ID             let the host load ID again\n"
  "       vigil plugins disable ID            never open ID (password-protected if set)\n";

static guint
count (JsonObject *p, const char *member)
{
  return json_array_get_length (json_object_get_array_member (p, member));
}

/* "2 sections, 1 task type, 1 handler, 1 command" or "-". */
static char *
contributions_summary (JsonObject *p)
{
  static const struct { const char *member, *one, *many; } kinds[] = {
    { "sections", "section", "sections" },
    { "task_types", "task type", "task types" },
    { "event_handlers", "handler", "handlers" },
    { "commands", "command", "commands" },
  };
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      guint n = count (p, kinds[i].member);
      if (n > 0)
        g_string_append_printf (s, "%s%u %s", s->len ? ", " : "", n,
                                n == 1 ? kinds[i].one : kinds[i].many);
    }
  if (s->len == 0)
    g_string_append (s, "-");
  return g_string_free (s, FALSE);
}

static const char *
str_or (JsonObject *o, const char *member, const char *fallback)
{
  const char *v = json_object_get_string_member_with_default (o, member, NULL);
  return v != NULL ? v : fallback;
}

static void
print_table (JsonArray *plugins)
{
  guint n = json_array_get_length (plugins);
  gboolean any_reason = FALSE;

  if (n == 0)
    {
      vigil_print ("No plugins found. Plugin folders: --plugin-dir, VIGIL_PLUGIN_PATH, "
              "[plugins] folders in the host config, and %s.\n", VIGIL_PLUGINDIR);
      return;
    }
  vigil_print ("%-20s %-10s %-9s %s\n", "ID", "VERSION", "STATE", "CONTRIBUTES");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      g_autofree char *what = contributions_summary (p);
      vigil_print ("%-20s %-10s %-9s %s\n", str_or (p, "id", "?"), str_or (p, "version", "-"),
              str_or (p, "state", "?"), what);
      any_reason = any_reason || !g_str_equal (str_or (p, "state", ""), "loaded");
    }
  if (!any_reason)
    return;
  vigil_print ("\nNot loaded:\n");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (!g_str_equal (str_or (p, "state", ""), "loaded"))
        vigil_print ("  %s (%s): %s\n", str_or (p, "id", "?"), str_or (p, "state", "?"),
                str_or (p, "reason", "no reason recorded"));
    }
}

/* Exit 1 when a plugin was refused: a problem found, as with an invalid
 * policy, so that scripts and monitoring notice a broken deployment.
 * Disabled plugins are the admin's choice, not a problem. */
static int
list_plugins (VigilHost *host, gboolean json, gboolean all)
{
  g_autoptr(JsonArray) every = vigil_host_plugins (host);
  g_autoptr(JsonArray) shown = json_array_new ();
  guint hidden = 0, refused = 0;

  for (guint i = 0; i < json_array_get_length (every); i++)
    {
      JsonObject *p = json_array_get_object_element (every, i);
      const char *state = str_or (p, "state", "");
      if (all || !g_str_equal (state, "disabled"))
        json_array_add_object_element (shown, json_object_ref (p));
      else
        hidden++;
      refused += g_str_equal (state, "refused");
    }
  if (json)
    {
      vigil_json_print_array (shown);
      return refused > 0 ? 1 : 0;
    }
  print_table (shown);
  if (hidden > 0)
    vigil_print ("\n%u disabled plugin%s not shown (vigil plugins --all).\n", hidden,
            hidden == 1 ? "" : "s");
  return refused > 0 ? 1 : 0;
}

/* ---- show ---------------------------------------------------------- */

/* Prints the entries of @entries (vigil_host_sections() and the like)
 * whose "plugin" is @plugin, under @title. */
static void
print_list (const char *title, JsonArray *entries, const char *plugin,
            void (*print_one) (JsonObject *entry))
{
  gboolean any = FALSE;

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *e = json_array_get_object_element (entries, i);
      if (g_strcmp0 (json_object_get_string_member (e, "plugin"), plugin) != 0)
        continue;
      if (!any)
        vigil_print ("%s:\n", title);
      any = TRUE;
      print_one (e);
    }
}

static void
print_titled (const char *prefix, const char *id, JsonObject *e, const char *member)
{
  const char *title = str_or (e, member, NULL);

  vigil_print ("%s%s%s%s\n", prefix, id, title ? ": " : "", title ? title : "");
}

static void
print_section (JsonObject *s)
{
  const char *id = json_object_get_string_member (s, "id");
  const char *title = str_or (s, "title", NULL);
  JsonArray *groups = json_object_get_array_member (s, "groups");

  vigil_print ("  %s (schema %" G_GINT64_FORMAT ")%s%s\n", id,
          json_object_get_int_member (s, "schema_version"), title ? ": " : "",
          title ? title : "");
  for (guint g = 0; g < json_array_get_length (groups); g++)
    {
      JsonObject *group = json_array_get_object_element (groups, g);
      gint64 n = json_object_get_int_member (group, "n_fields");
      vigil_print ("    %s.%s: %" G_GINT64_FORMAT " setting%s\n", id,
              json_object_get_string_member (group, "id"), n, n == 1 ? "" : "s");
    }
}

static void
print_task_type (JsonObject *t)
{
  print_titled ("  ", json_object_get_string_member (t, "id"), t, "title");
}

static void
print_handler (JsonObject *h)
{
  vigil_print ("  %s\n", json_object_get_string_member (h, "event_type"));
}

static void
print_command (JsonObject *c)
{
  print_titled ("  vigil ", json_object_get_string_member (c, "name"), c, "summary");
}

static int
show_plugin (VigilHost *host, const char *id, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) info = vigil_host_plugin (host, id, &error);
  g_autoptr (JsonArray) sections = NULL, types = NULL, handlers = NULL, commands = NULL;

  if (info == NULL)
    {
      cli_error (CMD, "%s", error->message);
      return 2;
    }
  if (json)
    {
      vigil_json_print_object (info);
      return 0;
    }
  id = json_object_get_string_member (info, "id");
  print_titled ("", id, info, "name");
  vigil_print ("  version:     %s\n  license:     %s\n  abi:         %s\n  file:        %s\n"
          "  state:       %s\n", str_or (info, "version", "-"), str_or (info, "license", "-"),
          str_or (info, "abi", "-"), str_or (info, "file", "-"), str_or (info, "state", "?"));
  if (str_or (info, "description", NULL) != NULL)
    vigil_print ("  description: %s\n", str_or (info, "description", NULL));
  if (str_or (info, "reason", NULL) != NULL)
    vigil_print ("  reason:      %s\n", str_or (info, "reason", NULL));
  sections = vigil_host_sections (host);
  types = vigil_host_task_types (host);
  handlers = vigil_host_event_handlers (host);
  commands = vigil_host_commands (host);
  print_list ("Sections", sections, id, print_section);
  print_list ("Task types", types, id, print_task_type);
  print_list ("Event handlers", handlers, id, print_handler);
  print_list ("Commands", commands, id, print_command);
  return 0;
}

/* ---- enable / disable ---------------------------------------------- */

static int
set_enabled (VigilHost *host, const char *id, gboolean enable)
{
  g_autoptr(GError) error = NULL;
  const char *verb = enable ? "enable" : "disable";

  if (vigil_host_set_plugin_enabled (host, id, enable, &error))
    {
      vigil_print ("Plugin '%s' %sd in %s; this applies from the next vigil command.\n", id, verb,
              vigil_host_config_path (host));
      return 0;
    }
  if (g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND))
    cli_error (CMD, "%s: %s", verb, error->message);
  else if (g_error_matches (error, VIGIL_HOST_ERROR, VIGIL_HOST_ERROR_PROTECTED))
    cli_error (CMD, "disable %s: %s", id, error->message);
  else
    cli_error (CMD, "%s %s: %s (%s)", verb, id, error->message, vigil_host_config_path (host));
  return 2;
}

static int
plugins_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  gboolean all = FALSE, json = globals->json;
  const char *words[3] = { NULL, NULL, NULL };
  int n = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        return (vigil_print_usage (stdout, usage), 0);
      else if (g_str_equal (argv[i], "--all"))
        all = TRUE;
      else if (g_str_equal (argv[i], "--json"))
        json = TRUE;
      else if (argv[i][0] == '-' || n == 2)
        {
          cli_error (CMD, "unexpected argument '%s'\n%s", argv[i], usage);
          return 2;
        }
      else
        words[n++] = argv[i];
    }
  if (n == 0)
    return list_plugins (host, json, all);
  if (n == 2 && g_str_equal (words[0], "show"))
    return show_plugin (host, words[1], json);
  if (n == 2 && (g_str_equal (words[0], "enable") || g_str_equal (words[0], "disable")))
    return set_enabled (host, words[1], g_str_equal (words[0], "enable"));
  cli_error (CMD, "unknown or incomplete subcommand '%s'\n%s", words[0], usage);
  return 2;
}

const CliCommand cli_plugins = {
  .name = "plugins",
  .summary = "List plugins, why any were refused, and enable or disable them",
  .usage = "plugins [--all] [--json] | plugins show ID | plugins enable|disable ID",
  .run = plugins_run,
};
