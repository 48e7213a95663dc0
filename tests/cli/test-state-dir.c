/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state folder a command opens: a help creates none (and still lists
 * the plugins' commands), a --state-dir with a typo (a parent that does not
 * exist, a file) is refused with what was wrong instead of starting a new
 * empty state, a command that does start a new state says where, once, a
 * command that only reads says there is no state instead of making one,
 * and one that needs no state (policy validate, a plugin's ioc check)
 * leaves none.
 */
#include "vt-cli.h"

#include <string.h>

typedef struct {
  char *base;
  char *state;
} Lab;

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->base = g_dir_make_tmp ("vigil-state-XXXXXX", NULL);
  lab->state = g_build_filename (lab->base, "state", NULL);
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->base);
  g_free (lab->base);
  g_free (lab->state);
}

static void
assert_contains (const char *text, const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("expected \"%s\" in:\n%s", part, text);
}

static void
test_help_creates_nothing (Lab *lab, gconstpointer data)
{
  static const char *const helps[][3] = {
    { "--help", NULL }, { "help", "device", NULL }, { "device", "--help", NULL },
    { "task", "create", "-h" }, { "ioc", "--help", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (helps); i++)
    {
      g_auto (VtCli) r = { 0 };
      const char *argv[] = { "--state-dir", lab->state, helps[i][0], helps[i][1], helps[i][2],
                             NULL };

      vt_cli_spawn (&r, NULL, argv);
      g_assert_cmpint (r.status, ==, 0);
      assert_contains (r.out, "Usage");
      g_assert_false (g_file_test (lab->state, G_FILE_TEST_EXISTS));
    }
}

static void
test_help_lists_plugin_commands (Lab *lab, gconstpointer data)
{
  g_auto (VtCli) r = { 0 };
  const char *argv[] = { "--state-dir", lab->state, "--help", NULL };

  vt_cli_spawn (&r, NULL, argv);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "Plugin commands:");
  assert_contains (r.out, "(plugin ioc-scan)");
  g_assert_false (g_file_test (lab->state, G_FILE_TEST_EXISTS));
}

static void
test_missing_parent_refused (Lab *lab, gconstpointer data)
{
  g_autofree char *typo = g_build_filename (lab->base, "stat", "state", NULL);
  g_autofree char *parent = g_path_get_dirname (typo);
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, typo, NULL, NULL, "group", "list", NULL);
  g_assert_cmpint (r.status, ==, 2);
  assert_contains (r.err, "does not exist");
  assert_contains (r.err, parent);
  g_assert_false (g_file_test (parent, G_FILE_TEST_EXISTS));
}

static void
test_file_refused (Lab *lab, gconstpointer data)
{
  g_autofree char *file = g_build_filename (lab->base, "vigil.db", NULL);
  g_auto (VtCli) r = { 0 };

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  vt_cli_run (&r, file, NULL, NULL, "group", "list", NULL);
  g_assert_cmpint (r.status, ==, 2);
  assert_contains (r.err, "not a folder");
}

static void
test_new_state_said_once (Lab *lab, gconstpointer data)
{
  g_auto (VtCli) first = { 0 };
  g_auto (VtCli) second = { 0 };

  vt_cli_run (&first, lab->state, NULL, NULL, "group", "add", "office", NULL);
  g_assert_cmpint (first.status, ==, 0);
  assert_contains (first.err, "a new state in");
  assert_contains (first.err, lab->state);
  vt_cli_run (&second, lab->state, NULL, NULL, "group", "add", "lab", NULL);
  g_assert_cmpint (second.status, ==, 0);
  g_assert_null (strstr (second.err, "a new state"));
}

/* A command that only reads, where there is no state, says so and
 * creates none; once there is one, it reads it. */
static void
test_read_without_state (Lab *lab, gconstpointer data)
{
  static const char *const reads[][3] = {
    { "device", "list", NULL }, { "group", "list", NULL }, { "task", "list", NULL },
    { "events", NULL, NULL }, { "policy", "list", NULL }, { "evidence", "list", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (reads); i++)
    {
      g_auto (VtCli) r = { 0 };
      const char *argv[] = { "--state-dir", lab->state, reads[i][0], reads[i][1], NULL };
      VtCliSpawn how = { 0 };

      vt_cli_spawn (&r, &how, argv);
      g_assert_cmpint (r.status, ==, 2);
      assert_contains (r.err, "no state in");
      g_assert_false (g_file_test (lab->state, G_FILE_TEST_EXISTS));
    }
  {
    g_auto (VtCli) r = { 0 };

    vt_cli_ok (lab->state, "group", "add", "office", NULL);
    vt_cli_run (&r, lab->state, NULL, NULL, "group", "list", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_contains (r.out, "office");
  }
}

/* A command that needs no state (validating a policy) runs and leaves none. */
static void
test_stateless_command_creates_nothing (Lab *lab, gconstpointer data)
{
  g_autofree char *dir = g_path_get_dirname (lab->state);
  g_autofree char *policy = g_build_filename (dir, "p.json", NULL);
  g_auto (VtCli) r = { 0 };

  g_assert_true (g_file_set_contents (policy, "{\"name\":\"P\",\"group\":\"root\","
                                      "\"status\":\"active\",\"settings\":{}}", -1, NULL));
  vt_cli_run (&r, lab->state, NULL, NULL, "policy", "validate", policy, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.err, "a new state"));
  g_assert_false (g_file_test (lab->state, G_FILE_TEST_EXISTS));
  vt_cli_clear (&r);
  /* A plugin's command: ioc check reads only the file it is given. */
  g_assert_true (g_file_set_contents (policy, "not an IOC", -1, NULL));
  vt_cli_run (&r, lab->state, NULL, NULL, "ioc", "check", policy, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_true (strstr (r.out, policy) != NULL || strstr (r.err, policy) != NULL);
  g_assert_null (strstr (r.err, "a new state"));
  g_assert_false (g_file_test (lab->state, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/cli/state/help-creates-nothing", test_help_creates_nothing);
  ADD ("/cli/state/help-lists-plugin-commands", test_help_lists_plugin_commands);
  ADD ("/cli/state/missing-parent-refused", test_missing_parent_refused);
  ADD ("/cli/state/file-refused", test_file_refused);
  ADD ("/cli/state/new-state-said-once", test_new_state_said_once);
  ADD ("/cli/state/read-without-state", test_read_without_state);
  ADD ("/cli/state/stateless-command-creates-nothing", test_stateless_command_creates_nothing);
#undef ADD
  return g_test_run ();
}
