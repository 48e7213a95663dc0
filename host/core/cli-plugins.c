/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil plugins`: what the host loaded, what it refused and why, and what
 * each plugin contributes; `plugins show ID` for one plugin in detail; and
 * `plugins enable|disable ID`, which rewrite the host config (disabling is
 * a protected action when the admin set a password). Changes apply the
 * next time a host starts, which for the CLI is the next command.
 */
#include "cli.h"
#include "core-private.h"

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
      printf ("No plugins found. Plugin folders: --plugin-dir, VIGIL_PLUGIN_PATH, "
              "[plugins] folders in the host config, and %s.\n", VIGIL_PLUGINDIR);
      return;
    }
  printf ("%-20s %-10s %-9s %s\n", "ID", "VERSION", "STATE", "CONTRIBUTES");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      g_autofree char *what = contributions_summary (p);
      printf ("%-20s %-10s %-9s %s\n", str_or (p, "id", "?"), str_or (p, "version", "-"),
              str_or (p, "state", "?"), what);
      any_reason = any_reason || !g_str_equal (str_or (p, "state", ""), "loaded");
    }
  if (!any_reason)
    return;
  printf ("\nNot loaded:\n");
  for (guint i = 0; i < n; i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (!g_str_equal (str_or (p, "state", ""), "loaded"))
        printf ("  %s (%s): %s\n", str_or (p, "id", "?"), str_or (p, "state", "?"),
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
      g_autoptr(JsonNode) node = json_node_init_array (json_node_alloc (), shown);
      vh_cli_print_json (node);
      return refused > 0 ? 1 : 0;
    }
  print_table (shown);
  if (hidden > 0)
    printf ("\n%u disabled plugin%s not shown (vigil plugins --all).\n", hidden,
            hidden == 1 ? "" : "s");
  return refused > 0 ? 1 : 0;
}

/* ---- show ---------------------------------------------------------- */

static void
print_list (const char *title, GPtrArray *entries, VigilPlugin *plugin,
            void (*print_one) (gconstpointer entry))
{
  gboolean any = FALSE;

  for (guint i = 0; i < entries->len; i++)
    {
      gconstpointer e = g_ptr_array_index (entries, i);
      if (*(VigilPlugin *const *) e != plugin)
        continue;
      if (!any)
        printf ("%s:\n", title);
      any = TRUE;
      print_one (e);
    }
}

static void
print_section (gconstpointer e)
{
  const VigilSection *s = &((const VhSection *) e)->section;

  printf ("  %s (schema %u)%s%s\n", s->id, s->schema_version,
          s->title ? ": " : "", s->title ? s->title : "");
  for (gsize g = 0; g < s->n_groups; g++)
    printf ("    %s.%s: %" G_GSIZE_FORMAT " setting%s\n", s->id, s->groups[g].id,
            s->groups[g].n_fields, s->groups[g].n_fields == 1 ? "" : "s");
}

static void
print_task_type (gconstpointer e)
{
  const VigilTaskType *t = &((const VhTaskType *) e)->type;
  printf ("  %s%s%s\n", t->id, t->title ? ": " : "", t->title ? t->title : "");
}

static void
print_handler (gconstpointer e)
{
  printf ("  %s\n", ((const VhHandler *) e)->handler.event_type);
}

static void
print_command (gconstpointer e)
{
  const VigilCommand *c = &((const VhCommand *) e)->command;
  printf ("  vigil %s%s%s\n", c->name, c->summary ? ": " : "", c->summary ? c->summary : "");
}

static int
show_plugin (VigilHost *host, const char *id, gboolean json)
{
  VigilPlugin *p = vh_registry_find_plugin (host, id);
  g_autoptr(JsonObject) info = NULL;

  if (p == NULL)
    {
      vh_cli_error (CMD, "no plugin '%s' in the plugin folders (vigil plugins --all "
                    "lists them)", id);
      return 2;
    }
  info = vh_registry_plugin_to_json (host, p);
  if (json)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), info);
      vh_cli_print_json (node);
      return 0;
    }
  printf ("%s%s%s\n", p->id, p->name ? ": " : "", p->name ? p->name : "");
  printf ("  version:     %s\n  license:     %s\n  abi:         %s\n  file:        %s\n"
          "  state:       %s\n", str_or (info, "version", "-"), str_or (info, "license", "-"),
          str_or (info, "abi", "-"), str_or (info, "file", "-"), str_or (info, "state", "?"));
  if (p->description != NULL)
    printf ("  description: %s\n", p->description);
  if (p->reason != NULL)
    printf ("  reason:      %s\n", p->reason);
  print_list ("Sections", vh_registry_sections (host), p, print_section);
  print_list ("Task types", vh_registry_task_types (host), p, print_task_type);
  print_list ("Event handlers", vh_registry_handlers (host), p, print_handler);
  print_list ("Commands", vh_registry_commands (host), p, print_command);
  return 0;
}

/* ---- enable / disable ---------------------------------------------- */

static int
set_enabled (VigilHost *host, const char *id, gboolean enable)
{
  g_autoptr(GError) error = NULL;
  const char *verb = enable ? "enable" : "disable";

  /* A typo must not silently land in the config; but a plugin the config
   * disables may be enabled again even when its file is gone for now. */
  if (vh_registry_find_plugin (host, id) == NULL &&
      !(enable && vh_valid_id (id, "_-") && vh_config_is_disabled (vh_registry_config (host), id)))
    {
      vh_cli_error (CMD, "%s: no plugin '%s' in the plugin folders (vigil plugins --all "
                    "lists them)", verb, id);
      return 2;
    }
  if (!enable && !vh_protect_check (host, "plugins.disable", &error))
    {
      vh_cli_error (CMD, "disable %s: %s", id, error->message);
      return 2;
    }
  if (!vh_config_set_enabled (vh_registry_config (host), id, enable, &error))
    {
      vh_cli_error (CMD, "%s %s: %s (%s)", verb, id, error->message,
                    vh_config_path (vh_registry_config (host)));
      return 2;
    }
  printf ("Plugin '%s' %sd in %s; this applies from the next vigil command.\n", id, verb,
          vh_config_path (vh_registry_config (host)));
  return 0;
}

static int
plugins_run (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  gboolean all = FALSE, json = globals->json;
  const char *words[3] = { NULL, NULL, NULL };
  int n = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        return (printf ("%s", usage), 0);
      else if (g_str_equal (argv[i], "--all"))
        all = TRUE;
      else if (g_str_equal (argv[i], "--json"))
        json = TRUE;
      else if (argv[i][0] == '-' || n == 2)
        {
          vh_cli_error (CMD, "unexpected argument '%s'\n%s", argv[i], usage);
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
  vh_cli_error (CMD, "unknown or incomplete subcommand '%s'\n%s", words[0], usage);
  return 2;
}

const VhCliCommand vh_cli_plugins = {
  .name = "plugins",
  .summary = "List plugins, why any were refused, and enable or disable them",
  .usage = "plugins [--all] [--json] | plugins show ID | plugins enable|disable ID",
  .run = plugins_run,
};
