/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Command boilerplate: options and --json parsed, positional arguments
 * left in argv, a usage error printed with the usage text and answered
 * with exit code 2, --json refused by a command without JSON output, and
 * errors printed as "vigil CMD: what".
 */
#include "vigil/util/command.h"

static const char usage[] = "Usage: vigil demo [--name N] [--json] THING\n";

static void
test_parse_options_and_json (void)
{
  g_auto (GStrv) argv = g_strsplit ("demo --name x THING --json", " ", -1);
  g_autofree char *name = NULL;
  GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "a name", "N" },
    G_OPTION_ENTRY_NULL
  };
  gboolean json = FALSE;
  int code = -1;

  g_assert_true (vigil_command_parse ("demo", usage, entries, &json, &argv, &code));
  g_assert_cmpint (code, ==, VIGIL_EXIT_OK);
  g_assert_true (json);
  g_assert_cmpstr (name, ==, "x");
  g_assert_cmpuint (g_strv_length (argv), ==, 2);
  g_assert_cmpstr (argv[1], ==, "THING");
}

static void
test_usage_error (void)
{
  if (g_test_subprocess ())
    {
      g_auto (GStrv) argv = g_strsplit ("demo --bogus", " ", -1);
      gboolean json;
      int code = -1;
      g_assert_false (vigil_command_parse ("demo", usage, NULL, &json, &argv, &code));
      g_assert_cmpint (code, ==, VIGIL_EXIT_USAGE);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("vigil demo: Unknown option --bogus\nUsage: vigil demo*");
}

static void
test_json_refused_without_json_output (void)
{
  if (g_test_subprocess ())
    {
      g_auto (GStrv) argv = g_strsplit ("demo --json", " ", -1);
      int code = -1;
      g_assert_false (vigil_command_parse ("demo", usage, NULL, NULL, &argv, &code));
      g_assert_cmpint (code, ==, 2);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("vigil demo: Unknown option --json*");
}

static void
test_fail (void)
{
  if (g_test_subprocess ())
    {
      g_assert_cmpint (vigil_command_fail ("demo show", "no thing '%s'", "x"), ==, 2);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("vigil demo show: no thing 'x'\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/command/parses-options-and-json", test_parse_options_and_json);
  g_test_add_func ("/util/command/usage-error-prints-usage-exit-2", test_usage_error);
  g_test_add_func ("/util/command/json-refused-without-json-output", test_json_refused_without_json_output);
  g_test_add_func ("/util/command/fail-prints-command-and-what", test_fail);
  return g_test_run ();
}
