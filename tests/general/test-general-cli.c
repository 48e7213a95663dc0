/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `general` section through the built `vigil` CLI, run as child
 * processes: the section's validation rules, password protection of
 * protected actions (a wrong password is refused, the right one passes),
 * secrets (the password hash and the proxy password) never appearing in
 * any output or export, and the exclusion list's XML import and export.
 */
#include "vt-cli.h"

#include <string.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#define PASSWORD "Vigil-Test-2026!"
#define PROXY_SECRET "Pr0xy-S3cret-XYZ"

typedef struct {
  char *dir;     /* temp folder: state/ and files */
  char *state;
} Fx;

static void
setup (Fx *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-general-cli-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  /* The device without a root folder is the machine itself. */
  vt_cli_ok (f->state, "device", "add", "here", "--group", "root", NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
}

static char *
write_file (Fx *f, const char *name, const char *content)
{
  char *path = g_build_filename (f->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  return path;
}

static char *
read_file (const char *path)
{
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  return data;
}

/* A root policy with password protection set through `vigil password set`
 * and a manual proxy with a password; returns the stored hash. */
static char *
protect_with_password (Fx *f)
{
  g_autofree char *policy = write_file (f, "base.json",
    "{\"name\":\"Base\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"proxy\":{\"locked\":true,\"values\":{\"mode\":\"manual\","
    "\"address\":\"proxy.corp\",\"user\":\"svc\",\"password\":\"" PROXY_SECRET "\"}}}}}");
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonNode) doc = NULL;
  g_autofree char *text = NULL;
  JsonObject *values;

  vt_cli_run (&r, f->state, PASSWORD, NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "$pbkdf2"));
  text = read_file (policy);
  g_assert_null (strstr (text, PASSWORD));
  doc = json_from_string (text, NULL);
  values = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (
             json_object_get_object_member (json_node_get_object (doc), "settings"), "general"),
             "password_protection"), "values");
  g_assert_true (json_object_get_boolean_member (values, "enabled"));
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  return g_strdup (json_object_get_string_member (values, "password_hash"));
}

/* ------------------------------------------------------------------ */
/* Password protection                                                 */
/* ------------------------------------------------------------------ */

static void
test_wrong_password_refused (Fx *f, gconstpointer data)
{
  g_auto (VtCli) wrong = { 0 };
  g_auto (VtCli) right = { 0 };

  g_free (protect_with_password (f));
  vt_cli_run (&wrong, f->state, "not-the-password", NULL, "password", "check", "task.delete", NULL);
  g_assert_cmpint (wrong.status, ==, 1);
  g_assert_nonnull (strstr (wrong.err, "wrong password: 'task.delete' is password-protected"));
  vt_cli_run (&right, f->state, PASSWORD, NULL, "password", "check", "task.delete", NULL);
  g_assert_cmpint (right.status, ==, 0);
}

static void
test_no_terminal_refused (Fx *f, gconstpointer data)
{
  g_auto (VtCli) r = { 0 };

  g_free (protect_with_password (f));
  /* Neither VIGIL_PASSWORD_FD nor a terminal: refused, not waved through. */
  vt_cli_run (&r, f->state, NULL, NULL, "password", "check", "task.delete", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "no terminal to ask it on"));
}

static void
test_no_password_no_prompt (Fx *f, gconstpointer data)
{
  g_auto (VtCli) r = { 0 };

  /* No protection set: allowed without reading any password. */
  vt_cli_run (&r, f->state, NULL, NULL, "password", "check", "plugins.disable", NULL);
  g_assert_cmpint (r.status, ==, 0);
}

static void
test_unprotected_action_allowed (Fx *f, gconstpointer data)
{
  g_autofree char *hash = protect_with_password (f);
  g_autofree char *policy = write_file (f, "narrow.json",
    "{\"name\":\"Base\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"password_protection\":{\"locked\":true,\"values\":{\"enabled\":true,"
    "\"actions\":[\"task.delete\"]}}}}}");
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonNode) doc = NULL;
  g_autofree char *text = NULL;

  /* Keep the hash, protect only task.delete. */
  text = read_file (policy);
  doc = json_from_string (text, NULL);
  json_object_set_string_member (json_object_get_object_member (json_object_get_object_member (
    json_object_get_object_member (json_object_get_object_member (json_node_get_object (doc),
    "settings"), "general"), "password_protection"), "values"), "password_hash", hash);
  g_free (text);
  text = json_to_string (doc, FALSE);
  g_assert_true (g_file_set_contents (policy, text, -1, NULL));
  /* Narrowing the protected actions weakens protection: it takes the
   * password, and only the right one. */
  vt_cli_run (&r, f->state, "wrong", NULL, "policy", "apply", policy, NULL);
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "would narrow the protected actions"));
  vt_cli_run (&r, f->state, PASSWORD, NULL, "policy", "apply", policy, NULL);
  g_assert_cmpint (r.status, ==, 0);
  vt_cli_run (&r, f->state, "wrong", NULL, "password", "check", "plugins.disable", NULL);
  g_assert_cmpint (r.status, ==, 0);
}

static void
test_task_delete_protected (Fx *f, gconstpointer data)
{
  g_autofree char *params = write_file (f, "params.json",
    "{\"sha256\":[\"a0000000000000000000000000000000000000000000000000000000000000aa\"]}");
  g_auto (VtCli) created = { 0 };
  g_auto (VtCli) wrong = { 0 };
  g_auto (VtCli) still = { 0 };
  g_auto (VtCli) right = { 0 };
  g_autofree char *id = NULL;

  g_free (protect_with_password (f));
  vt_cli_run (&created, f->state, NULL, NULL, "task", "create", "--type", "ksn.lookup",
              "--device", "here", "--params", params, "--schedule", "{\"kind\":\"manual\"}",
              "--json", NULL);
  g_assert_cmpint (created.status, ==, 0);
  id = vt_cli_json_id (&created);

  vt_cli_run (&wrong, f->state, "bad guess", NULL, "task", "delete", id, NULL);
  g_assert_cmpint (wrong.status, !=, 0);
  g_assert_nonnull (strstr (wrong.err, "wrong password"));
  vt_cli_run (&still, f->state, NULL, NULL, "task", "show", id, NULL);
  g_assert_cmpint (still.status, ==, 0);
  vt_cli_run (&right, f->state, PASSWORD, NULL, "task", "delete", id, NULL);
  g_assert_cmpint (right.status, ==, 0);
}

/* Turning a plugin off is protected too: a wrong password leaves the
 * config untouched and the plugin loaded. */
static void
test_plugins_disable_protected (Fx *f, gconstpointer data)
{
  g_autofree char *conf = g_build_filename (f->state, "vigil.conf", NULL);
  g_auto (VtCli) wrong = { 0 };
  g_auto (VtCli) still = { 0 };
  g_auto (VtCli) right = { 0 };
  g_auto (VtCli) after = { 0 };
  g_autofree char *text = NULL;

  g_free (protect_with_password (f));
  vt_cli_run (&wrong, f->state, "bad guess", NULL, "plugins", "disable", "ksn", NULL);
  g_assert_cmpint (wrong.status, !=, 0);
  g_assert_nonnull (strstr (wrong.err, "wrong password"));
  g_assert_true (!g_file_get_contents (conf, &text, NULL, NULL) ||
                 strstr (text, "ksn") == NULL);
  vt_cli_run (&still, f->state, NULL, NULL, "plugins", "show", "ksn", "--json", NULL);
  g_assert_cmpint (still.status, ==, 0);
  g_assert_nonnull (strstr (still.out, "\"state\" : \"loaded\""));

  vt_cli_run (&right, f->state, PASSWORD, NULL, "plugins", "disable", "ksn", NULL);
  g_assert_cmpint (right.status, ==, 0);
  vt_cli_run (&after, f->state, NULL, NULL, "plugins", "show", "ksn", "--json", NULL);
  g_assert_nonnull (strstr (after.out, "\"state\" : \"disabled\""));
}

/* ------------------------------------------------------------------ */
/* Secrets never printed                                               */
/* ------------------------------------------------------------------ */

static void
assert_clean (const VtCli *r, const char *what, const char *hash)
{
  g_auto (GStrv) parts = g_strsplit (hash, "$", -1);

  /* The whole hash, its salt and its key, the clear password, the proxy
   * password: none may appear anywhere. */
  for (gsize i = 0; i < 2; i++)
    {
      const char *text = i == 0 ? r->out : r->err;

      if (strstr (text, hash) || strstr (text, parts[3]) || strstr (text, parts[4])
          || strstr (text, PASSWORD) || strstr (text, PROXY_SECRET))
        g_error ("a secret appears in the output of %s:\n%s", what, text);
    }
}

static void
test_secrets_never_printed (Fx *f, gconstpointer data)
{
  g_autofree char *hash = protect_with_password (f);
  g_autofree char *xml = g_build_filename (f->dir, "out.xml", NULL);
  const char *const commands[][8] = {
    { "policy", "show", "Base", NULL },
    { "--json", "policy", "show", "Base", NULL },
    { "policy", "list", NULL },
    { "policy", "defaults", NULL },
    { "policy", "effective", "--device", "here", NULL },
    { "--json", "policy", "effective", "--device", "here", "--section", "general" },
    { "exclusions", "export", "-", NULL },
    { "exclusions", "export", xml, "--device", "here", NULL },
    { "password", "check", "plugins.disable", NULL },
    { "plugins", "disable", "ksn", NULL },
  };
  /* Verbose, so that debug logging would show a leak too. */
  const char *const verbose_env[] = { "VIGIL_VERBOSE=1", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto (VtCli) r = { 0 };
      const char *argv[9] = { NULL };
      g_autofree char *what = NULL;

      memcpy (argv, commands[i], sizeof commands[i]);
      what = g_strjoinv (" ", (char **) argv);
      vt_cli_runv (&r, f->state, "wrong", verbose_env, argv);
      assert_clean (&r, what, hash);
    }
  {
    g_autofree char *exported = read_file (xml);
    VtCli fake = { 0, exported, (char *) "" };

    assert_clean (&fake, "the exported XML", hash);
  }
}

static void
test_hash_command_output (Fx *f, gconstpointer data)
{
  g_auto (VtCli) r = { 0 };

  /* The one place a hash is printed is where it is asked for. */
  vt_cli_run (&r, f->state, "short", NULL, "password", "hash", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "$pbkdf2-sha256$i=600000,w=3$"));
  g_assert_null (strstr (r.out, "short"));
  g_assert_nonnull (strstr (r.err, "shorter than 8 characters"));
}

static void
test_hash_cost_floor (Fx *f, gconstpointer data)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, "Long-enough-1", NULL, "password", "hash", "--iterations", "5000", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "--iterations must be 100000 to 10000000"));
  /* And a ceiling: a count that would make every check spin for hours. */
  vt_cli_run (&r, f->state, "Long-enough-1", NULL, "password", "hash", "--iterations",
              "2000000000", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "--iterations must be 100000 to 10000000"));
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static void
test_weak_password_warnings (Fx *f, gconstpointer data)
{
  g_autofree char *policy = write_file (f, "weak.json",
    "{\"name\":\"Weak\",\"group\":\"root\",\"status\":\"active\",\"settings\":{}}");
  g_auto (VtCli) set = { 0 };
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&set, f->state, "here1234", NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  g_assert_cmpint (set.status, ==, 0);
  vt_cli_run (&r, f->state, NULL, NULL, "policy", "validate", policy, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "warning: general.password_protection.password_hash: weak "
                            "password: the password uses fewer than 3"));
  /* "here" is the device's id. */
  g_assert_nonnull (strstr (r.out, "contains an account or device name"));
  g_assert_null (strstr (r.out, "shorter than 8"));
}

typedef struct {
  const char *values;    /* the general section of a policy */
  const char *path;      /* the problem expected */
  const char *message;
} Rule;

static const Rule rules[] = {
  { "\"proxy\":{\"values\":{\"mode\":\"manual\"}}",
    "general.proxy.address", "required when proxy.mode is manual" },
  { "\"proxy\":{\"values\":{\"address\":\"user@proxy\"}}",
    "general.proxy.address", "is not a host name" },
  { "\"proxy\":{\"values\":{\"address\":\"http://proxy.example/\"}}",
    "general.proxy.address", "it contains '/' (give the host alone" },
  { "\"failure_diagnosis\":{\"values\":{\"folder\":\"/var/log/vigil/../../../etc\"}}",
    "general.failure_diagnosis.folder", "contains '..'" },
  { "\"proxy\":{\"values\":{\"password\":\"x\"}}",
    "general.proxy.user", "a proxy password is set without a user name" },
  { "\"proxy\":{\"values\":{\"port\":0}}", "general.proxy.port", "out of range" },
  { "\"proxy\":{\"values\":{\"mode\":\"pac\"}}", "general.proxy.mode", "" },
  { "\"password_protection\":{\"values\":{\"enabled\":true}}",
    "general.password_protection.password_hash", "required when password protection is enabled" },
  { "\"password_protection\":{\"values\":{\"password_hash\":\"hunter2\"}}",
    "general.password_protection.password_hash", "not a password hash" },
  { "\"password_protection\":{\"values\":{\"actions\":[\"policy.remove\"]}}",
    "general.password_protection.actions[0]", "'policy.remove' is not a protected action" },
  { "\"failure_diagnosis\":{\"values\":{\"enabled\":true}}",
    "general.failure_diagnosis.folder", "required when failure diagnosis is enabled" },
  { "\"failure_diagnosis\":{\"values\":{\"max_file_size_mb\":0}}",
    "general.failure_diagnosis.max_file_size_mb", "out of range" },
  { "\"failure_diagnosis\":{\"values\":{\"max_files\":101}}",
    "general.failure_diagnosis.max_files", "out of range" },
  { "\"telemetry_exclusions\":{\"values\":{\"processes\":[{}]}}",
    "general.telemetry_exclusions.processes[0]", "the rule sets no criterion" },
  { "\"telemetry_exclusions\":{\"values\":{\"processes\":[{\"cmdline\":\"([\"}]}}",
    "general.telemetry_exclusions.processes[0].cmdline", "not a valid regular expression" },
  { "\"telemetry_exclusions\":{\"values\":{\"networks\":[{\"address\":\"10.0.0.0/33\"}]}}",
    "general.telemetry_exclusions.networks[0].address", "not an IP address" },
  { "\"telemetry_exclusions\":{\"values\":{\"networks\":[{\"port\":80,\"direction\":\"up\"}]}}",
    "general.telemetry_exclusions.networks[0].direction", "not one of inbound, outbound, any" },
};

static void
test_validation_rules (Fx *f, gconstpointer data)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      g_autofree char *doc = g_strdup_printf (
        "{\"name\":\"R\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"general\":"
        "{\"schema_version\":1,%s}}}", rules[i].values);
      g_autofree char *policy = write_file (f, "rule.json", doc);
      g_autofree char *expected = g_strdup_printf ("%s: ", rules[i].path);
      g_auto (VtCli) r = { 0 };
      const char *at;
      g_autofree char *line = NULL;

      vt_cli_run (&r, f->state, NULL, NULL, "policy", "validate", policy, NULL);
      at = strstr (r.out, expected);
      line = at ? g_strndup (at, strcspn (at, "\n")) : NULL;
      if (r.status != 1 || line == NULL || !strstr (line, rules[i].message))
        g_error ("rule %zu: expected exit 1 and '%s...%s', got %d:\n%s%s", i, expected,
                 rules[i].message, r.status, r.out, r.err);
    }
}

/* Credentials typed into proxy.address (issue #14) are refused without
 * being echoed: neither the text nor the JSON output of `policy validate`
 * holds them. */
static void
test_proxy_address_credentials_not_echoed (Fx *f, gconstpointer data)
{
  g_autofree char *policy = write_file (f, "creds.json",
    "{\"name\":\"C\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"proxy\":{\"values\":{\"mode\":\"manual\","
    "\"address\":\"alice:" PROXY_SECRET "@proxy.example\"}}}}}");
  g_auto (VtCli) r = { 0 };
  g_auto (VtCli) j = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "policy", "validate", policy, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "general.proxy.address: is not a host name or IP address: "
                            "it contains '@'"));
  g_assert_null (strstr (r.out, PROXY_SECRET));
  g_assert_null (strstr (r.err, PROXY_SECRET));
  vt_cli_run (&j, f->state, NULL, NULL, "--json", "policy", "validate", policy, NULL);
  g_assert_cmpint (j.status, ==, 1);
  g_assert_nonnull (strstr (j.out, "general.proxy.address"));
  g_assert_null (strstr (j.out, PROXY_SECRET));
  g_assert_null (strstr (j.err, PROXY_SECRET));
}

/* ------------------------------------------------------------------ */
/* Exclusions XML                                                      */
/* ------------------------------------------------------------------ */

static const char *exclusions_xml =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<telemetry-exclusions version=\"1\">\n"
  "  <process>\n"
  "    <image>/opt/backup/*</image>\n"
  "    <user>backup</user>\n"
  "  </process>\n"
  "  <network>\n"
  "    <address>10.0.0.0/8</address>\n"
  "    <port>445</port>\n"
  "    <direction>outbound</direction>\n"
  "  </network>\n"
  "</telemetry-exclusions>\n";

static void
test_exclusions_import_export (Fx *f, gconstpointer data)
{
  g_autofree char *xml = write_file (f, "in.xml", exclusions_xml);
  g_autofree char *policy = write_file (f, "excl.json",
    "{\"name\":\"Excl\",\"group\":\"root\",\"status\":\"active\",\"settings\":{}}");
  g_autofree char *out = g_build_filename (f->dir, "out.xml", NULL);
  g_autofree char *exported = NULL;
  g_auto (VtCli) r = { 0 };

  vt_cli_ok (f->state, "exclusions", "import", xml, "--policy", policy, NULL);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  vt_cli_ok (f->state, "exclusions", "export", out, "--device", "here", NULL);
  exported = read_file (out);
  g_assert_cmpstr (exported, ==, exclusions_xml);
  /* And back in through stdout, unchanged. */
  vt_cli_run (&r, f->state, NULL, NULL, "exclusions", "import", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"image\" : \"/opt/backup/*\""));
}

static void
test_exclusions_import_error (Fx *f, gconstpointer data)
{
  g_autofree char *xml = write_file (f, "bad.xml",
    "<telemetry-exclusions>\n<network>\n<port>http</port>\n</network>\n</telemetry-exclusions>\n");
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "exclusions", "import", xml, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "bad.xml:3: <port> 'http' is not a number"));
}

/* /dev/zero never ends and a FIFO without a writer never answers: both
 * are refused at once, before a byte is read. */
static void
test_exclusions_import_not_regular (Fx *f, gconstpointer data)
{
  g_autofree char *fifo = g_build_filename (f->dir, "b.xml", NULL);
  const char *paths[] = { "/dev/zero", fifo };

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_auto (VtCli) r = { 0 };
      g_autofree char *expected = g_strconcat (paths[i], ": not a regular file", NULL);

      vt_cli_run (&r, f->state, NULL, NULL, "exclusions", "import", paths[i], NULL);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, expected));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)
  ADD ("/general/cli/proxy-address-credentials-not-echoed", test_proxy_address_credentials_not_echoed);
  ADD ("/general/cli/wrong-password-refused", test_wrong_password_refused);
  ADD ("/general/cli/no-terminal-refused", test_no_terminal_refused);
  ADD ("/general/cli/no-password-no-prompt", test_no_password_no_prompt);
  ADD ("/general/cli/unprotected-action-allowed", test_unprotected_action_allowed);
  ADD ("/general/cli/task-delete-protected", test_task_delete_protected);
  ADD ("/general/cli/plugins-disable-protected", test_plugins_disable_protected);
  ADD ("/general/cli/secrets-never-printed", test_secrets_never_printed);
  ADD ("/general/cli/hash-command-output", test_hash_command_output);
  ADD ("/general/cli/hash-cost-floor", test_hash_cost_floor);
  ADD ("/general/cli/weak-password-warnings", test_weak_password_warnings);
  ADD ("/general/cli/validation-rules", test_validation_rules);
  ADD ("/general/cli/exclusions-import-export", test_exclusions_import_export);
  ADD ("/general/cli/exclusions-import-error", test_exclusions_import_error);
  ADD ("/general/cli/exclusions-import-not-regular", test_exclusions_import_not_regular);
#undef ADD
  return g_test_run ();
}
