/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CLI shell, run as a real child process ($VIGIL_CLI): global options
 * before the command, help listing built-in and plugin commands, exit
 * codes, dispatch to a plugin command, and `vigil plugins` with its table,
 * refusal reasons, JSON, show, enable and disable. Also the JSON reader
 * every command uses: errors name file:line:column, size and depth limits.
 */
#include "core-test.h"
#include "cli.h"

#include <fcntl.h>
#include <unistd.h>

typedef VtCli Run;

static void
run_clear (Run *r)
{
  vt_cli_clear (r);
}

/* Runs vigil --state-dir <fx.state> --plugin-dir <fx.plugins> ARGS... */
static Run
vigil (CoreFixture *fx, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  Run r = { 0 };
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, fx->state);
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, fx->plugins);
  va_start (args, fx);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (&r, NULL, (const char *const *) argv->pdata);
  return r;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("expected \"%s\" in:\n%s", needle, haystack);
}

static void
test_help_lists_commands (void)
{
  CoreFixture fx;
  Run r;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  r = vigil (&fx, "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "Built-in commands:");
  assert_contains (r.out, "  plugins ");
  assert_contains (r.out, "  policy ");
  assert_contains (r.out, "Plugin commands:");
  assert_contains (r.out, "(plugin basic)");
  assert_contains (r.out, "--state-dir DIR");
  run_clear (&r);
  core_fixture_clear (&fx);
}

static void
test_version (void)
{
  CoreFixture fx;
  g_autofree char *expected = g_strdup_printf ("(plugin ABI %d.%d)", VIGIL_ABI_MAJOR,
                                               VIGIL_ABI_MINOR);
  Run r;

  core_fixture_init (&fx);
  r = vigil (&fx, "--version", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "vigil "));
  assert_contains (r.out, expected);
  run_clear (&r);
  core_fixture_clear (&fx);
}

static void
test_usage_errors_exit_2 (void)
{
  CoreFixture fx;
  Run unknown, option, none, missing_value;

  core_fixture_init (&fx);
  unknown = vigil (&fx, "frobnicate", NULL);
  option = vigil (&fx, "--frob", "plugins", NULL);
  none = vigil (&fx, NULL);
  missing_value = vigil (&fx, "--config", NULL);
  g_assert_cmpint (unknown.status, ==, 2);
  assert_contains (unknown.err, "vigil: unknown command 'frobnicate'");
  g_assert_cmpint (option.status, ==, 2);
  assert_contains (option.err, "unknown global option '--frob'");
  g_assert_cmpint (none.status, ==, 2);
  assert_contains (none.err, "no command given");
  g_assert_cmpint (missing_value.status, ==, 2);
  assert_contains (missing_value.err, "--config needs a value");
  run_clear (&unknown), run_clear (&option), run_clear (&none), run_clear (&missing_value);
  core_fixture_clear (&fx);
}

static void
test_plugin_command_runs (void)
{
  CoreFixture fx;
  Run r;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  r = vigil (&fx, "basic", "one", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* --json reaches a plugin command untouched: it parses its own options. */
  assert_contains (r.out, "basic command ran with 2 argument(s): one --json\n");
  run_clear (&r);
  core_fixture_clear (&fx);
}

/* A global --json becomes the command's own --json when it has JSON
 * output, before a literal "--"; without JSON output it is a usage error. */
static void
test_global_json_to_plugin_command (void)
{
  CoreFixture fx;
  Run plain, with, literal, refused;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  g_free (core_copy_plugin ("json_cmd", fx.plugins));
  plain = vigil (&fx, "json-cmd", "a", NULL);
  with = vigil (&fx, "--json", "json-cmd", "a", NULL);
  literal = vigil (&fx, "--json", "json-cmd", "a", "--", "--json-looking-file", NULL);
  refused = vigil (&fx, "--json", "basic", "a", NULL);
  assert_contains (plain.out, "json_cmd command ran with 1 argument(s): a\n");
  g_assert_cmpint (with.status, ==, 0);
  assert_contains (with.out, "json_cmd command ran with 2 argument(s): a --json\n");
  assert_contains (literal.out, "ran with 4 argument(s): a --json -- --json-looking-file\n");
  g_assert_cmpint (refused.status, ==, 2);
  assert_contains (refused.err, "vigil basic: this command has no JSON output (--json)");
  g_assert_cmpstr (refused.out, ==, "");
  run_clear (&plain), run_clear (&with), run_clear (&literal), run_clear (&refused);
  core_fixture_clear (&fx);
}

static void
test_plugins_table_with_reasons (void)
{
  CoreFixture fx;
  g_autofree char *broken = NULL;
  g_autofree char *reason = NULL;
  Run r;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  broken = core_copy_plugin ("abi-major", fx.plugins);
  r = vigil (&fx, "plugins", NULL);
  /* A refused plugin is a problem found: exit 1, like an invalid policy. */
  g_assert_cmpint (r.status, ==, 1);
  assert_contains (r.out, "ID ");
  assert_contains (r.out, "CONTRIBUTES");
  assert_contains (r.out, "1 section, 1 task type, 1 handler, 1 command");
  reason = g_strdup_printf ("abi-major (refused): %s: built for plugin ABI %d.", broken,
                            VIGIL_ABI_MAJOR + 1);
  assert_contains (r.out, reason);
  run_clear (&r);
  core_fixture_clear (&fx);
}

/* A plugin that crashes in init kills every command, but it is named on
 * stderr before the process dies; `vigil --no-plugins` runs without it,
 * and `plugins disable` works without opening it, after which the other
 * commands work again. */
static void
test_plugin_crashing_in_init_recoverable (void)
{
  CoreFixture fx;
  g_autofree char *file = NULL;
  g_autofree char *named = NULL;
  Run r;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  file = core_copy_plugin ("init-crashes", fx.plugins);
  named = g_strdup_printf ("vigil: plugin 'init-crashes' (%s) crashed the process in its "
                           "init; disable it with 'vigil plugins disable init-crashes'", file);
  r = vigil (&fx, "plugins", NULL);
  /* Killed by the signal, as before; under AddressSanitizer its own SEGV
   * report ends the process with its exit code instead. Either way the
   * command fails and the plugin is named. */
  g_assert_cmpint (r.status, !=, 0);
  assert_contains (r.err, named);
  run_clear (&r);

  r = vigil (&fx, "--no-plugins", "plugins", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "init-crashes");
  assert_contains (r.out, "skipped");
  assert_contains (r.out, "not opened: the host was started without plugins (--no-plugins)");
  run_clear (&r);

  r = vigil (&fx, "plugins", "disable", "init-crashes", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "Plugin 'init-crashes' disabled");
  run_clear (&r);

  r = vigil (&fx, "plugins", "--all", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "init-crashes (disabled)");
  assert_contains (r.out, "1 section, 1 task type, 1 handler, 1 command");
  run_clear (&r);
  core_fixture_clear (&fx);
}

/* --json before or after the command gives the same machine output. */
static void
test_plugins_json (void)
{
  CoreFixture fx;
  Run before, after;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *plugins;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  before = vigil (&fx, "--json", "plugins", NULL);
  after = vigil (&fx, "plugins", "--json", NULL);
  g_assert_cmpint (before.status, ==, 0);
  g_assert_cmpstr (before.out, ==, after.out);
  g_assert_true (json_parser_load_from_data (parser, before.out, -1, NULL));
  plugins = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (plugins), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (
      json_array_get_object_element (plugins, 0), "state"), ==, "loaded");
  run_clear (&before), run_clear (&after);
  core_fixture_clear (&fx);
}

static void
test_plugins_show (void)
{
  CoreFixture fx;
  Run r, missing;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  r = vigil (&fx, "plugins", "show", "basic", NULL);
  missing = vigil (&fx, "plugins", "show", "nope", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "version:     1.2.3");
  assert_contains (r.out, "basic (schema 1): Basic");
  assert_contains (r.out, "basic.general: 3 settings");
  assert_contains (r.out, "basic.echo: Echo");
  assert_contains (r.out, "sandbox.threat_detected");
  g_assert_cmpint (missing.status, ==, 2);
  assert_contains (missing.err, "vigil plugins: no plugin 'nope'");
  run_clear (&r), run_clear (&missing);
  core_fixture_clear (&fx);
}

/* Disable hides the plugin and its command; enable brings both back. */
static void
test_disable_then_enable (void)
{
  CoreFixture fx;
  Run off, list, all, cmd, on, cmd_again;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("basic", fx.plugins));
  off = vigil (&fx, "plugins", "disable", "basic", NULL);
  list = vigil (&fx, "plugins", NULL);
  all = vigil (&fx, "plugins", "--all", NULL);
  cmd = vigil (&fx, "basic", NULL);
  on = vigil (&fx, "plugins", "enable", "basic", NULL);
  cmd_again = vigil (&fx, "basic", NULL);
  g_assert_cmpint (off.status, ==, 0);
  /* Disabled is the admin's choice, not a problem: exit 0. */
  g_assert_cmpint (list.status, ==, 0);
  g_assert_null (strstr (list.out, "basic "));
  assert_contains (list.out, "1 disabled plugin not shown (vigil plugins --all)");
  assert_contains (all.out, "basic (disabled): ");
  assert_contains (all.out, "basic.so: disabled in ");
  g_assert_cmpint (cmd.status, ==, 2);
  g_assert_cmpint (on.status, ==, 0);
  g_assert_cmpint (cmd_again.status, ==, 0);
  run_clear (&off), run_clear (&list), run_clear (&all);
  run_clear (&cmd), run_clear (&on), run_clear (&cmd_again);
  core_fixture_clear (&fx);
}

static void
test_help_command (void)
{
  CoreFixture fx;
  Run r, unknown;

  core_fixture_init (&fx);
  r = vigil (&fx, "help", "plugins", NULL);
  unknown = vigil (&fx, "help", "nope", NULL);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "Usage: vigil plugins");
  g_assert_cmpint (unknown.status, ==, 2);
  run_clear (&r), run_clear (&unknown);
  core_fixture_clear (&fx);
}

/* A broken host config stops every command, naming the file. */
static void
test_bad_config_names_file (void)
{
  CoreFixture fx;
  g_autofree char *conf = NULL;
  Run r;

  core_fixture_init (&fx);
  conf = g_build_filename (fx.root, "broken.conf", NULL);
  g_assert_true (g_file_set_contents (conf, "[plugins]\ndisabled=Not An Id\n", -1, NULL));
  r = vigil (&fx, "--config", conf, "plugins", NULL);
  g_assert_cmpint (r.status, ==, 2);
  assert_contains (r.err, conf);
  assert_contains (r.err, "'Not An Id' is not a plugin id");
  run_clear (&r);
  core_fixture_clear (&fx);
}

/* Enabling an unknown id is a typo, not a config change. */
static void
test_enable_unknown_plugin (void)
{
  CoreFixture fx;
  g_autofree char *conf = NULL;
  Run r;

  core_fixture_init (&fx);
  r = vigil (&fx, "plugins", "enable", "quarantin", NULL);
  g_assert_cmpint (r.status, ==, 2);
  assert_contains (r.err, "no plugin 'quarantin'");
  conf = g_build_filename (fx.state, "vigil.conf", NULL);
  g_assert_false (g_file_test (conf, G_FILE_TEST_EXISTS));
  run_clear (&r);
  core_fixture_clear (&fx);
}

/* ---- the JSON reader ----------------------------------------------- */

static char *
write_tmp (CoreFixture *fx, const char *name, const char *text)
{
  char *path = g_build_filename (fx->root, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_json_error_names_line_column (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  const char *rest;

  core_fixture_init (&fx);
  path = write_tmp (&fx, "bad.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
  g_assert_null (cli_read_json_object (path, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, path));
  /* "<file>:<line>:<column>: <what>", the line being json-glib's */
  rest = error->message + strlen (path);
  if (!g_regex_match_simple ("^:[0-9]+:[0-9]+: .", rest, 0, 0))
    g_error ("expected %s:LINE:COLUMN: ..., got %s", path, error->message);
  core_fixture_clear (&fx);
}

static void
test_json_size_limit (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) ok = NULL;

  core_fixture_init (&fx);
  path = write_tmp (&fx, "big.json", "{\"key\": \"0123456789\"}");
  g_assert_null (cli_read_json_object_full (path, 10, &error));
  assert_contains (error->message, "larger than the limit of 10 bytes");
  ok = cli_read_json_object_full (path, 64, NULL);
  g_assert_nonnull (ok);
  core_fixture_clear (&fx);
}

static void
test_json_depth_limit (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;
  g_autoptr(GString) deep = g_string_new ("{\"a\":");
  g_autoptr(GError) error = NULL;

  core_fixture_init (&fx);
  for (int i = 0; i < 600; i++)
    g_string_append_c (deep, '[');
  path = write_tmp (&fx, "deep.json", deep->str);
  g_assert_null (cli_read_json_object (path, &error));
  assert_contains (error->message, ":1:261: nested deeper than 256 levels");
  core_fixture_clear (&fx);
}

/* Task parameters and local settings files go through the strict reader
 * (issue #14): a duplicate key, "\u0000" or 010 is refused, not misread. */
static void
test_json_strict (void)
{
  static const char *const cases[][2] = {
    { "{\"sha256\": [\"a\"],\n \"sha256\": []}", ":2:2: duplicate key \"sha256\" (at $)" },
    { "{\"path\": \"/x\\u0000/y\"}", ":1:13: \\u0000 (NUL) in a string (at $.path)" },
    { "{\"retention_days\": 010}", ":1:20: non-standard number '010'" },
    { "{\"limit\": 9223372036854775808}", "outside the 64-bit range (-2^63 to 2^63-1) (at $.limit)" },
  };
  CoreFixture fx;

  core_fixture_init (&fx);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_tmp (&fx, "params.json", cases[i][0]);
      g_autoptr(GError) error = NULL;
      g_assert_null (cli_read_json_object (path, &error));
      assert_contains (error->message, cases[i][1]);
    }
  core_fixture_clear (&fx);
}

static void
test_json_top_level_object (void)
{
  CoreFixture fx;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  core_fixture_init (&fx);
  path = write_tmp (&fx, "array.json", "[1, 2]");
  g_assert_null (cli_read_json_object (path, &error));
  assert_contains (error->message, "expected a JSON object at the top level");
  core_fixture_clear (&fx);
}

/* "-" reads stdin, and errors call it <stdin>. */
static void
test_json_stdin (void)
{
  CoreFixture fx;
  g_autofree char *good = NULL;
  g_autofree char *bad = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  int saved = dup (STDIN_FILENO), fd;

  core_fixture_init (&fx);
  good = write_tmp (&fx, "good.json", "{\"device\": \"lab-1\"}");
  bad = write_tmp (&fx, "bad.json", "{\"device\": }");
  fd = open (good, O_RDONLY);
  dup2 (fd, STDIN_FILENO), close (fd);
  object = cli_read_json_object ("-", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (object, "device"), ==, "lab-1");
  fd = open (bad, O_RDONLY);
  dup2 (fd, STDIN_FILENO), close (fd);
  g_assert_null (cli_read_json_object ("-", &error));
  g_assert_true (g_str_has_prefix (error->message, "<stdin>:1:"));
  dup2 (saved, STDIN_FILENO), close (saved);
  core_fixture_clear (&fx);
}

static void
test_json_missing_file (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (cli_read_json_object ("/nonexistent/policy.json", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  assert_contains (error->message, "/nonexistent/policy.json");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_assert_nonnull (g_getenv ("VIGIL_CLI"));
  g_test_add_func ("/cli/help-lists-builtin-and-plugin-commands", test_help_lists_commands);
  g_test_add_func ("/cli/version-names-abi", test_version);
  g_test_add_func ("/cli/usage-errors-exit-2", test_usage_errors_exit_2);
  g_test_add_func ("/cli/plugin-command-runs", test_plugin_command_runs);
  g_test_add_func ("/cli/global-json-to-plugin-command", test_global_json_to_plugin_command);
  g_test_add_func ("/cli/plugins-table-shows-refusal-reasons", test_plugins_table_with_reasons);
  g_test_add_func ("/cli/plugins-json-before-or-after-command", test_plugins_json);
  g_test_add_func ("/cli/plugins-show", test_plugins_show);
  g_test_add_func ("/cli/plugins-disable-then-enable", test_disable_then_enable);
  g_test_add_func ("/cli/plugin-crashing-in-init-recoverable",
                   test_plugin_crashing_in_init_recoverable);
  g_test_add_func ("/cli/help-command", test_help_command);
  g_test_add_func ("/cli/enable-unknown-plugin-is-an-error", test_enable_unknown_plugin);
  g_test_add_func ("/cli/bad-config-names-the-file", test_bad_config_names_file);
  g_test_add_func ("/cli/read-json/error-names-file-line-column", test_json_error_names_line_column);
  g_test_add_func ("/cli/read-json/size-limit", test_json_size_limit);
  g_test_add_func ("/cli/read-json/depth-limit", test_json_depth_limit);
  g_test_add_func ("/cli/read-json/strict", test_json_strict);
  g_test_add_func ("/cli/read-json/top-level-must-be-object", test_json_top_level_object);
  g_test_add_func ("/cli/read-json/missing-file-named", test_json_missing_file);
  g_test_add_func ("/cli/read-json/stdin", test_json_stdin);
  return g_test_run ();
}
