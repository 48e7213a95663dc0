/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `vigil` command line: parses the global options, which come before
 * the command like `git -C` (--json may also follow the command), opens the
 * host on the state folder, loads the plugins and dispatches to a built-in
 * command (cli.h) or to a command a plugin registered. Built-in names win
 * over plugin commands; the registry refuses plugins that try to take one.
 * Exit codes: 0 success, 1 problems found, 2 usage or runtime error.
 */
#include "cli.h"
#include "fleet-config.h"
#include "vigil-version.h"
#include "fleet-connect.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const CliCommand *const builtins[] = {
  &cli_plugins, &cli_policy, &cli_group, &cli_device,
  &cli_event, &cli_events, &cli_task, &cli_serve, &cli_fleet, &cli_agent,
  &cli_evidence, NULL,
};

typedef struct {
  char       *state_dir;
  char       *config;
  GPtrArray  *plugin_dirs;
  gboolean    help;
  gboolean    version;
  gboolean    no_plugins;   /* open no plugin file (--no-plugins) */
  CliGlobals globals;
} Options;

static const char global_usage[] =
  "Usage: vigil [--state-dir DIR] [--plugin-dir DIR]... [--config FILE] [--no-plugins]\n"
  "             [--json] [-v] COMMAND [ARGS...]\n";

static const char global_options_help[] =
  "Global options (before the command):\n"
  "  --state-dir DIR    state folder (default $XDG_DATA_HOME/vigil)\n"
  "  --plugin-dir DIR   also load plugins from DIR (repeatable; searched first)\n"
  "  --config FILE      host config (default <state-dir>/vigil.conf)\n"
  "  --no-plugins       open no plugin (to recover from one that crashes vigil)\n"
  "  --json             machine-readable output (also accepted after the command)\n"
  "  -v, --verbose      more detail on stderr\n"
  "  -h, --help         this help; --version prints the version\n"
  "\n"
  "Environment: VIGIL_PLUGIN_PATH (colon-separated plugin folders).\n"
  "Exit codes: 0 success, 1 problems found, 2 usage or runtime error.\n"
  "Run 'vigil help COMMAND' or 'vigil COMMAND --help' for a command's options.\n";

static const CliCommand *
find_builtin (const char *name)
{
  for (gsize i = 0; builtins[i] != NULL; i++)
    if (g_str_equal (builtins[i]->name, name))
      return builtins[i];
  return NULL;
}

/* "--opt VALUE" or "--opt=VALUE". Returns the value or NULL; advances @i. */
static const char *
option_value (int argc, char **argv, int *i, const char *name, gboolean *usage_error)
{
  gsize n = strlen (name);

  if (strncmp (argv[*i], name, n) == 0 && argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (!g_str_equal (argv[*i], name))
    return NULL;
  if (*i + 1 >= argc)
    {
      cli_error (NULL, "%s needs a value (see vigil --help)", name);
      *usage_error = TRUE;
      return NULL;
    }
  return argv[++*i];
}

/* Returns the index of the command in @argv, or -1 on a usage error. */
static int
parse_globals (int argc, char **argv, Options *o)
{
  int i;

  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *arg = argv[i], *v;
      gboolean bad = FALSE;

      if (g_str_equal (arg, "--"))
        return i + 1;
      else if ((v = option_value (argc, argv, &i, "--state-dir", &bad)) != NULL)
        g_free (o->state_dir), o->state_dir = g_strdup (v);
      else if (!bad && (v = option_value (argc, argv, &i, "--config", &bad)) != NULL)
        g_free (o->config), o->config = g_strdup (v);
      else if (!bad && (v = option_value (argc, argv, &i, "--plugin-dir", &bad)) != NULL)
        g_ptr_array_add (o->plugin_dirs, g_strdup (v));
      else if (bad)
        return -1;
      else if (g_str_equal (arg, "--json"))
        o->globals.json = TRUE;
      else if (g_str_equal (arg, "--no-plugins"))
        o->no_plugins = TRUE;
      else if (g_str_equal (arg, "-v") || g_str_equal (arg, "--verbose"))
        o->globals.verbose = TRUE;
      else if (g_str_equal (arg, "-h") || g_str_equal (arg, "--help"))
        o->help = TRUE;
      else if (g_str_equal (arg, "--version"))
        o->version = TRUE;
      else
        {
          cli_error (NULL, "unknown global option '%s' (global options go before "
                        "the command; see vigil --help)", arg);
          return -1;
        }
    }
  return i;
}

/* `vigil agent --state-dir DIR`: a --state-dir after the command (before
 * "--") is the global one, so that an endpoint's service line reads
 * naturally. No built-in command has an option of that name. */
static gboolean
hoist_state_dir (int argc, char **argv, int first, Options *o)
{
  int out = first;
  gboolean bad = FALSE;

  for (int i = first; i < argc; i++)
    {
      const char *v = NULL;

      if (g_str_equal (argv[i], "--"))
        {
          while (i < argc)
            argv[out++] = argv[i++];
          break;
        }
      if (i > first && (v = option_value (argc, argv, &i, "--state-dir", &bad)) != NULL)
        {
          g_free (o->state_dir);
          o->state_dir = g_strdup (v);
          continue;
        }
      if (bad)
        return FALSE;
      argv[out++] = argv[i];
    }
  argv[out] = NULL;
  return TRUE;
}

/* Takes --json out of a built-in command's arguments (up to "--"). */
static void
strip_json (int *argc, char **argv, CliGlobals *globals)
{
  int out = 0;
  gboolean literal = FALSE;

  for (int i = 0; i < *argc; i++)
    {
      if (!literal && g_str_equal (argv[i], "--json"))
        {
          globals->json = TRUE;
          continue;
        }
      literal = literal || g_str_equal (argv[i], "--");
      argv[out++] = argv[i];
    }
  argv[out] = NULL;
  *argc = out;
}

static VigilHost *
open_host (Options *o, GError **error)
{
  VigilHostOptions options = { sizeof options };
  VigilHost *host;

  g_ptr_array_add (o->plugin_dirs, NULL);
  options.state_dir = o->state_dir;
  options.config_file = o->config;
  options.plugin_dirs = (const char *const *) o->plugin_dirs->pdata;
  host = vigil_host_new (&options, error);
  g_ptr_array_remove_index (o->plugin_dirs, o->plugin_dirs->len - 1);
  if (host == NULL)
    return NULL;
  /* Before loading, so -v also shows what the loader did. */
  if (o->globals.verbose)
    vigil_host_set_verbose (host, TRUE);
  if (o->no_plugins)
    vigil_host_skip_plugins (host);
  else
    vigil_host_load_plugins (host);
  cli_fleet_dispatch_install (host);
  return host;
}

/* Commands registered through the registry: those of the host itself
 * ("host" pseudo-plugin) read as built-ins, the others name their plugin. */
static void
print_registered (VigilHost *host, gboolean from_host)
{
  g_autoptr (JsonArray) commands = host != NULL ? vigil_host_commands (host) : NULL;
  gboolean any = FALSE;

  for (guint i = 0; commands != NULL && i < json_array_get_length (commands); i++)
    {
      JsonObject *c = json_array_get_object_element (commands, i);
      const char *plugin = json_object_get_string_member (c, "plugin");
      const char *summary = json_object_get_string_member_with_default (c, "summary", NULL);
      gboolean is_host = g_strcmp0 (plugin, "host") == 0;

      if (is_host != from_host)
        continue;
      if (!from_host && !any)
        vigil_print ("\nPlugin commands:\n");
      any = TRUE;
      vigil_print ("  %-10s %s", json_object_get_string_member (c, "name"), summary ? summary : "");
      if (!from_host)
        vigil_print (" (plugin %s)", plugin);
      vigil_print ("\n");
    }
}

/* (transfer full) the registered command @name, or NULL. */
static JsonObject *
find_registered (VigilHost *host, const char *name)
{
  g_autoptr (JsonArray) commands = vigil_host_commands (host);

  for (guint i = 0; i < json_array_get_length (commands); i++)
    {
      JsonObject *c = json_array_get_object_element (commands, i);
      if (g_strcmp0 (json_object_get_string_member (c, "name"), name) == 0)
        return json_object_ref (c);
    }
  return NULL;
}

static void
print_help (VigilHost *host)
{
  vigil_print_usage (stdout, global_usage);
  vigil_print ("\nVigil %s, an open plugin host for endpoint-security management.\n\n"
               "Built-in commands:\n", VIGIL_VERSION);
  for (gsize i = 0; builtins[i] != NULL; i++)
    vigil_print ("  %-10s %s\n", builtins[i]->name, builtins[i]->summary);
  print_registered (host, TRUE);
  vigil_print ("  %-10s %s\n", "help", "Show the help of a command: vigil help COMMAND");
  print_registered (host, FALSE);
  vigil_print ("\n");
  vigil_print_usage (stdout, global_options_help);
}

/* A global --json reaches a registered command as its own --json, put
 * before a literal "--" so that it stays an option; a command without JSON
 * output refuses it rather than printing text to a script expecting JSON. */
static int
run_plugin_command (VigilHost *host, JsonObject *c, const CliGlobals *globals, int argc,
                    char **argv)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) copy = NULL;
  gboolean json_added = !globals->json;
  const char *name = json_object_get_string_member (c, "name");
  int status = 2;

  if (globals->json && !json_object_get_boolean_member (c, "json"))
    {
      cli_error (name, "this command has no JSON output (--json)");
      return 2;
    }
  /* The plugin may let GOptionContext rearrange its argv: give it a copy. */
  for (int i = 0; i < argc; i++)
    {
      if (!json_added && g_str_equal (argv[i], "--"))
        g_strv_builder_add (builder, "--json"), json_added = TRUE;
      g_strv_builder_add (builder, argv[i]);
    }
  if (!json_added)
    g_strv_builder_add (builder, "--json");
  copy = g_strv_builder_end (builder);
  if (!vigil_host_run_command (host, name, (int) g_strv_length (copy), copy, &status, &error))
    {
      cli_error (name, "%s", error->message);
      return 2;
    }
  return status;
}

static int
dispatch (VigilHost *host, Options *o, int argc, char **argv)
{
  const CliCommand *builtin = find_builtin (argv[0]);
  g_autoptr (JsonObject) plugin_command = find_registered (host, argv[0]);

  if (builtin != NULL)
    {
      strip_json (&argc, argv, &o->globals);
      return builtin->run (host, &o->globals, argc, argv);
    }
  if (plugin_command != NULL)
    return run_plugin_command (host, plugin_command, &o->globals, argc, argv);
  cli_error (NULL, "unknown command '%s' (see vigil --help)", argv[0]);
  return 2;
}

/* `vigil help [COMMAND]`: the command's own --help. */
static int
help_command (VigilHost *host, Options *o, int argc, char **argv)
{
  char *help_argv[] = { argv[1], (char *) "--help", NULL };
  g_autoptr (JsonObject) registered = argc >= 2 ? find_registered (host, argv[1]) : NULL;

  if (argc < 2)
    {
      print_help (host);
      return 0;
    }
  if (find_builtin (argv[1]) == NULL && registered == NULL)
    {
      cli_error ("help", "unknown command '%s' (see vigil --help)", argv[1]);
      return 2;
    }
  return dispatch (host, o, 2, help_argv);
}

/* `vigil --help`, `vigil help ...`, `vigil CMD --help` (or -h, before a
 * "--"): what prints a help and changes nothing. */
static gboolean
wants_help (int argc, char **argv, int first, const Options *o)
{
  if (o->help || first >= argc || g_str_equal (argv[first], "help"))
    return TRUE;
  for (int i = first + 1; i < argc && !g_str_equal (argv[i], "--"); i++)
    if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
      return TRUE;
  return FALSE;
}

/* Commands by what they need of the state folder, for a folder with no
 * state yet (cli-state.c): one that only reads it says there is nothing to
 * read rather than create an empty state; one that needs none runs on a
 * throw-away state, like a help. A NULL subcommand matches the command
 * alone (options only); "*" any subcommand. */
typedef struct {
  const char *command;
  const char *sub;
} CommandForm;

static const CommandForm reads_state[] = {
  { "device", "list" }, { "device", "show" }, { "group", "list" },
  { "policy", "list" }, { "policy", "show" }, { "policy", "effective" },
  { "task", "list" }, { "task", "show" }, { "task", "results" },
  { "events", "*" }, { "fleet", "show" }, { "exclusions", "export" },
  { "evidence", "list" }, { "evidence", "show" }, { "evidence", "export" },
};

static const CommandForm needs_no_state[] = {
  { "policy", "validate" }, { "policy", "defaults" }, { "password", "hash" },
  { "plugins", NULL }, { "plugins", "show" },
};

static gboolean
command_is (int argc, char **argv, int first, const CommandForm *forms, gsize n)
{
  const char *sub = first + 1 < argc ? argv[first + 1] : NULL;

  if (first >= argc)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      if (!g_str_equal (argv[first], forms[i].command))
        continue;
      if (forms[i].sub == NULL ? (sub == NULL || sub[0] == '-')
                               : (g_str_equal (forms[i].sub, "*")
                                  || (sub != NULL && g_str_equal (sub, forms[i].sub))))
        return TRUE;
    }
  return FALSE;
}

static void
options_clear (Options *o)
{
  g_free (o->state_dir);
  g_free (o->config);
  g_ptr_array_unref (o->plugin_dirs);
}

int
main (int argc, char **argv)
{
  Options o = { .plugin_dirs = g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(VigilHost) host = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *temp_state = NULL;
  gboolean help, fresh;
  int first, status;

  setlocale (LC_ALL, "");
  cli_escape_printerr ();
  /* Before anything touches OpenSSL (fleet-connect.h says why). */
  vigil_fleet_process_init ();
  first = parse_globals (argc, argv, &o);
  if (first >= 0 && first < argc && find_builtin (argv[first]) != NULL)
    {
      int before = argc;
      if (!hoist_state_dir (argc, argv, first, &o))
        first = -1;
      else
        for (argc = first; argv[argc] != NULL && argc < before; argc++)
          ;
    }
  if (first < 0 || (first >= argc && !o.help && !o.version))
    {
      if (first >= 0)
        {
          vigil_print_usage (stderr, global_usage);
          vigil_print_to (stderr, "vigil: no command given (see vigil --help)\n");
        }
      options_clear (&o);
      return 2;
    }
  /* Changing which plugins load runs no plugin code: it must work when a
   * plugin crashes every command. */
  if (first >= 0 && argc - first >= 3 && g_str_equal (argv[first], "plugins")
      && (g_str_equal (argv[first + 1], "enable") || g_str_equal (argv[first + 1], "disable")))
    o.no_plugins = TRUE;
  if (o.version)
    {
      vigil_print ("vigil %s (plugin ABI %d.%d)\n", VIGIL_VERSION, VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
      options_clear (&o);
      return 0;
    }
  if (!cli_state_check (o.state_dir, &error))
    {
      cli_error (NULL, "%s", error->message);
      options_clear (&o);
      return 2;
    }
  help = wants_help (argc, argv, first, &o);
  fresh = !cli_state_exists (o.state_dir);
  if (fresh && !help && command_is (argc, argv, first, reads_state, G_N_ELEMENTS (reads_state)))
    {
      g_autofree char *where = cli_state_describe (o.state_dir);

      cli_error (argv[first], "no state in %s: nothing to read yet (a command that changes "
                 "something creates it; is --state-dir right?)", where);
      options_clear (&o);
      return 2;
    }
  if ((help || command_is (argc, argv, first, needs_no_state, G_N_ELEMENTS (needs_no_state))
       || (first < argc && find_builtin (argv[first]) == NULL))
      && fresh && (temp_state = cli_state_temp_new (&error)) != NULL)
    {
      /* A help, a command that needs no state, or a plugin's command (the
       * plugin API cannot say whether it needs one; with no devices,
       * policies or tasks it has nothing to act on) leaves none behind:
       * the host opens a throw-away one. */
      g_free (o.state_dir);
      o.state_dir = g_strdup (temp_state);
    }
  g_clear_error (&error);
  host = open_host (&o, &error);
  if (host == NULL && help)
    {
      /* Help without plugin commands beats no help at all. */
      print_help (NULL);
      cli_error (NULL, "plugin commands not listed: %s", error->message);
      options_clear (&o);
      cli_state_temp_remove (temp_state);
      return 0;
    }
  if (host == NULL)
    {
      cli_error (NULL, "%s", error->message);
      options_clear (&o);
      return 2;
    }
  if (fresh && !help && temp_state == NULL)
    {
      g_autofree char *where = cli_state_describe (o.state_dir);
      vigil_print_to (stderr, "vigil: a new state in %s\n", where);
    }
  if (o.help || first >= argc)
    status = (print_help (host), 0);
  else if (g_str_equal (argv[first], "help"))
    status = help_command (host, &o, argc - first, argv + first);
  else
    status = dispatch (host, &o, argc - first, argv + first);
  g_clear_pointer (&host, vigil_host_free);
  cli_state_temp_remove (temp_state);
  options_clear (&o);
  return status;
}
