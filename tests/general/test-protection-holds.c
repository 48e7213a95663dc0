/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Password protection holds against every way issue #14 found to switch it
 * off without the password. Each case sets up this machine's device in
 * group "office" under a policy that turns protection on and locks it,
 * tries one change through the real `vigil` CLI without the password
 * (refused, and `vigil password check` still asks), then, where the change
 * is legitimate, with the right password (done). The audit trail (host.*
 * events) and the refusal of absurd hash iteration counts are checked the
 * same way.
 */
#include "vt-cli.h"

#include <string.h>
#include <json-glib/json-glib.h>

#define PASSWORD "Vigil-Hold-2026!"

typedef struct {
  char *dir;
  char *state;
} Fx;

static char *
write_file (Fx *f, const char *name, const char *content)
{
  char *path = g_build_filename (f->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  return path;
}

static void
expect (const VtCli *r, int status, const char *needle)
{
  if (r->status != status || (needle && !strstr (r->out, needle) && !strstr (r->err, needle)))
    g_error ("expected exit %d and \"%s\", got %d:\nstdout: %s\nstderr: %s", status,
             needle ? needle : "", r->status, r->out, r->err);
}

/* The change ran without the password: the hole is open. */
static void
expect_refused (const VtCli *r)
{
  if (r->status == 0)
    g_error ("changed without the password:\nstdout: %s\nstderr: %s", r->out, r->err);
  expect (r, r->status, "password");
}

/* Protection is still on for this machine: no password, no "allowed". */
static void
assert_protected (Fx *f, const char *const *env)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, env, "password", "check", "task.delete", NULL);
  if (r.status == 0 || strstr (r.out, "allowed"))
    g_error ("password check allowed without the password:\n%s%s", r.out, r.err);
  expect (&r, 1, "no terminal to ask it on");
  vt_cli_run (&r, f->state, PASSWORD, env, "password", "check", "task.delete", NULL);
  expect (&r, 0, "task.delete: allowed");
}

static void
setup (Fx *f, gconstpointer data)
{
  g_autofree char *policy = NULL;
  g_auto (VtCli) r = { 0 };

  f->dir = g_dir_make_tmp ("vigil-protect-hold-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  vt_cli_ok (f->state, "group", "add", "office", NULL);
  vt_cli_ok (f->state, "device", "add", "here", "--group", "office", NULL);
  policy = write_file (f, "pw.json",
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1}}}");
  vt_cli_run (&r, f->state, PASSWORD, NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  expect (&r, 0, NULL);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  assert_protected (f, NULL);
}

static void
teardown (Fx *f, gconstpointer data)
{
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
}

/* Without the password: refused, still protected. With it: done. */
static void
try_change (Fx *f, const char *const *argv, gboolean then_allowed)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_runv (&r, f->state, NULL, NULL, argv);
  expect_refused (&r);
  assert_protected (f, NULL);
  vt_cli_runv (&r, f->state, "not-the-password", NULL, argv);
  expect (&r, r.status ? r.status : 1, "wrong password");
  assert_protected (f, NULL);
  if (!then_allowed)
    return;
  vt_cli_runv (&r, f->state, PASSWORD, NULL, argv);
  expect (&r, 0, NULL);
}

static void
test_policy_remove (Fx *f, gconstpointer data)
{
  const char *argv[] = { "policy", "remove", "PW", NULL };
  g_auto (VtCli) r = { 0 };

  try_change (f, argv, TRUE);
  /* Removed with the password: protection is gone, legitimately. */
  vt_cli_run (&r, f->state, NULL, NULL, "password", "check", "task.delete", NULL);
  expect (&r, 0, "task.delete: allowed");
}

static void
test_policy_apply_disabled (Fx *f, gconstpointer data)
{
  /* The same policy again, with protection off. */
  g_autofree char *off = write_file (f, "off.json",
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"password_protection\":{\"locked\":true,\"values\":"
    "{\"enabled\":false}}}}}");
  /* Or without the section at all. */
  g_autofree char *bare = write_file (f, "bare.json",
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":{}}");
  /* Or locked off from the group above. */
  g_autofree char *above = write_file (f, "above.json",
    "{\"name\":\"Top\",\"group\":\"root\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"password_protection\":{\"locked\":true,\"values\":"
    "{\"enabled\":false}}}}}");
  const char *a1[] = { "policy", "apply", off, NULL };
  const char *a2[] = { "policy", "apply", bare, NULL };
  const char *a3[] = { "policy", "apply", above, NULL };

  try_change (f, a1, FALSE);
  try_change (f, a2, FALSE);
  try_change (f, a3, TRUE);
}

/* Any other active policy of the group demotes the one with protection. */
static void
test_other_active_policy (Fx *f, gconstpointer data)
{
  g_autofree char *other = write_file (f, "other.json",
    "{\"name\":\"Other\",\"group\":\"office\",\"status\":\"active\",\"settings\":{}}");
  g_autofree char *inactive = write_file (f, "inactive.json",
    "{\"name\":\"Spare\",\"group\":\"office\",\"status\":\"inactive\",\"settings\":{}}");
  const char *argv[] = { "policy", "apply", other, NULL };
  g_auto (VtCli) r = { 0 };

  /* A change that does not touch protection needs no password. */
  vt_cli_run (&r, f->state, NULL, NULL, "policy", "apply", inactive, NULL);
  expect (&r, 0, NULL);
  try_change (f, argv, TRUE);
}

/* A rootless device whose id sorts first does not become this machine. */
static void
test_device_add_sorting_first (Fx *f, gconstpointer data)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "device", "add", "0-first", "--group", "root", NULL);
  expect (&r, 0, NULL);
  assert_protected (f, NULL);
}

static void
test_device_move (Fx *f, gconstpointer data)
{
  const char *argv[] = { "device", "move", "here", "--group", "root", NULL };

  try_change (f, argv, TRUE);
}

static void
test_device_remove (Fx *f, gconstpointer data)
{
  const char *argv[] = { "device", "remove", "here", NULL };

  try_change (f, argv, TRUE);
}

/* Out of the office, another policy applies: one without protection. */
static void
test_device_out_of_office (Fx *f, gconstpointer data)
{
  g_autofree char *away = write_file (f, "away.json",
    "{\"name\":\"Away\",\"group\":\"office\",\"status\":\"out-of-office\",\"settings\":{}}");
  const char *argv[] = { "device", "set", "here", "--out-of-office", "yes", NULL };

  vt_cli_ok (f->state, "policy", "apply", away, NULL);
  try_change (f, argv, TRUE);
}

static void
test_local_device_env_ignored (Fx *f, gconstpointer data)
{
  const char *env[] = { "VIGIL_LOCAL_DEVICE=zz-other", NULL };

  vt_cli_ok (f->state, "device", "add", "zz-other", "--group", "root", NULL);
  assert_protected (f, env);
}

/* The machine's device is changed explicitly, with the password. */
static void
test_set_machine (Fx *f, gconstpointer data)
{
  const char *argv[] = { "device", "set-machine", "zz-other", NULL };
  g_auto (VtCli) r = { 0 };

  vt_cli_ok (f->state, "device", "add", "zz-other", "--group", "root", NULL);
  try_change (f, argv, TRUE);
  /* zz-other, in the root group, is not protected. */
  vt_cli_run (&r, f->state, NULL, NULL, "password", "check", "task.delete", NULL);
  expect (&r, 0, "task.delete: allowed");
  /* Back to the protected one: nothing is weakened, nothing asked. */
  vt_cli_run (&r, f->state, NULL, NULL, "device", "set-machine", "here", NULL);
  expect (&r, 0, NULL);
  assert_protected (f, NULL);
}

/* A policy with another password: choosing it takes the current one. */
static void
test_password_change (Fx *f, gconstpointer data)
{
  g_autofree char *other = write_file (f, "other-pw.json",
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1}}}");
  const char *argv[] = { "policy", "apply", other, NULL };
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, "An0ther-Secret!", NULL, "password", "set", "--policy", other,
              "--iterations", "100000", NULL);
  expect (&r, 0, NULL);
  vt_cli_runv (&r, f->state, NULL, NULL, argv);
  expect_refused (&r);
  /* Only the current password, not the new one, lets it through. */
  vt_cli_runv (&r, f->state, "An0ther-Secret!", NULL, argv);
  expect (&r, 2, "wrong password: applying policy 'PW' would change the password");
  assert_protected (f, NULL);
  vt_cli_runv (&r, f->state, PASSWORD, NULL, argv);
  expect (&r, 0, NULL);
  vt_cli_run (&r, f->state, "An0ther-Secret!", NULL, "password", "check", "task.delete", NULL);
  expect (&r, 0, "task.delete: allowed");
}

/* Moving the machine's group under one that locks protection off. */
static void
test_group_move (Fx *f, gconstpointer data)
{
  g_autofree char *off = write_file (f, "lockoff.json",
    "{\"name\":\"Off\",\"group\":\"lockoff\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1,\"password_protection\":{\"locked\":true,"
    "\"values\":{\"enabled\":false}}}}}");
  const char *argv[] = { "group", "move", "office", "--parent", "lockoff", NULL };
  g_auto (VtCli) r = { 0 };

  /* Neither touches this machine: no password. */
  vt_cli_ok (f->state, "group", "add", "lockoff", NULL);
  vt_cli_run (&r, f->state, NULL, NULL, "policy", "apply", off, NULL);
  expect (&r, 0, NULL);
  try_change (f, argv, TRUE);
}

/* Local settings switch protection off where no policy locks it. */
static void
test_local_settings (Fx *f, gconstpointer data)
{
  g_autofree char *unlocked = NULL;
  g_autofree char *local = write_file (f, "local.json",
    "{\"general\":{\"password_protection\":{\"enabled\":false}}}");
  const char *argv[] = { "device", "settings", "here", local, NULL };
  g_auto (VtCli) r = { 0 };
  g_autofree char *hash = NULL;
  g_autofree char *doc = NULL;

  vt_cli_run (&r, f->state, PASSWORD, NULL, "password", "hash", "--iterations", "100000", NULL);
  expect (&r, 0, NULL);
  hash = g_strstrip (g_strdup (r.out));
  doc = g_strdup_printf ("{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\","
    "\"settings\":{\"general\":{\"schema_version\":1,\"password_protection\":{\"locked\":"
    "false,\"values\":{\"enabled\":true,\"password_hash\":\"%s\"}}}}}", hash);
  unlocked = write_file (f, "unlocked.json", doc);
  /* A new hash of the same password is still a new hash: it takes the
   * current password, given here. */
  vt_cli_run (&r, f->state, PASSWORD, NULL, "policy", "apply", unlocked, NULL);
  expect (&r, 0, NULL);
  assert_protected (f, NULL);
  try_change (f, argv, TRUE);
}

/* A quarantine.restore task, however created, asks the password. */
static void
test_restore_task_create (Fx *f, gconstpointer data)
{
  g_autofree char *params = write_file (f, "params.json",
    "{\"id\":\"0123456789abcdef0123456789abcdef\",\"to\":\"original\"}");
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "task", "create", "--type", "quarantine.restore",
              "--device", "here", "--params", params, NULL);
  expect_refused (&r);
  vt_cli_run (&r, f->state, NULL, NULL, "task", "list", "--json", NULL);
  expect (&r, 0, NULL);
  g_assert_null (strstr (r.out, "quarantine.restore"));
  vt_cli_run (&r, f->state, PASSWORD, NULL, "task", "create", "--type", "quarantine.restore",
              "--device", "here", "--params", params, NULL);
  expect (&r, 0, NULL);
}

/* (transfer full) the types of the stored host.* events, in order. */
static GStrv
host_events (Fx *f)
{
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GStrvBuilder) types = g_strv_builder_new ();
  JsonArray *events;

  vt_cli_run (&r, f->state, NULL, NULL, "events", "--type", "host.*", "--limit", "0",
              "--json", NULL);
  expect (&r, 0, NULL);
  node = json_from_string (r.out, NULL);
  g_assert_nonnull (node);
  events = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      g_strv_builder_add (types, json_object_get_string_member (e, "type"));
      /* Never the password nor its hash. */
      g_autoptr (JsonNode) copy = json_node_init_object (json_node_alloc (), e);
      g_autofree char *text = json_to_string (copy, FALSE);
      g_assert_null (strstr (text, PASSWORD));
      g_assert_null (strstr (text, "pbkdf2"));
    }
  return g_strv_builder_end (types);
}

static void
test_audit_events (Fx *f, gconstpointer data)
{
  g_autofree char *forged = write_file (f, "forged.json", "{\"name\":\"PW\"}");
  g_auto (GStrv) types = NULL;
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, "wrong", NULL, "password", "check", "task.delete", NULL);
  expect (&r, 1, "wrong password");
  vt_cli_ok (f->state, "device", "add", "pc2", "--group", "office", NULL);
  vt_cli_run (&r, f->state, PASSWORD, NULL, "policy", "remove", "PW", NULL);
  expect (&r, 0, NULL);
  types = host_events (f);
  g_assert_true (g_strv_contains ((const char *const *) types, "host.policy_applied"));
  g_assert_true (g_strv_contains ((const char *const *) types, "host.password_refused"));
  g_assert_true (g_strv_contains ((const char *const *) types, "host.inventory_changed"));
  g_assert_true (g_strv_contains ((const char *const *) types, "host.policy_removed"));

  /* The trail cannot be forged from outside. */
  vt_cli_run (&r, f->state, NULL, NULL, "event", "emit", "host.policy_removed", forged,
              "--no-run", NULL);
  expect (&r, 2, "audit event the host records itself");
}

static void
test_audit_task_deleted (Fx *f, gconstpointer data)
{
  g_autofree char *params = write_file (f, "params.json",
    "{\"id\":\"0123456789abcdef0123456789abcdef\",\"to\":\"original\"}");
  g_autofree char *id = NULL;
  g_auto (GStrv) types = NULL;
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, PASSWORD, NULL, "task", "create", "--type", "quarantine.restore",
              "--device", "here", "--params", params, "--json", NULL);
  expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_run (&r, f->state, PASSWORD, NULL, "task", "delete", id, NULL);
  expect (&r, 0, NULL);
  types = host_events (f);
  g_assert_true (g_strv_contains ((const char *const *) types, "host.task_deleted"));
}

/* i=2000000000 would make every check spin for hours: refused at once. */
static void
test_absurd_iterations_refused (Fx *f, gconstpointer data)
{
  g_autofree char *slow = write_file (f, "slow.json",
    "{\"name\":\"Slow\",\"group\":\"root\",\"status\":\"inactive\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"password_protection\":{\"values\":{\"enabled\":true,"
    "\"password_hash\":\"$pbkdf2-sha256$i=2000000000,w=0$c2FsdHNhbHRzYWx0c2FsdA==$"
    "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=\"}}}}}");
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, f->state, NULL, NULL, "policy", "validate", slow, NULL);
  g_assert_cmpint (r.status, !=, 0);
  expect (&r, r.status, "iterations, more than the maximum");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PASSWORD_FD");
  g_unsetenv ("VIGIL_LOCAL_DEVICE");
#define ADD(path, fn) g_test_add ("/protection-holds/" path, Fx, NULL, setup, fn, teardown)
  ADD ("policy-remove", test_policy_remove);
  ADD ("policy-apply-disabled", test_policy_apply_disabled);
  ADD ("other-active-policy", test_other_active_policy);
  ADD ("device-add-sorting-first", test_device_add_sorting_first);
  ADD ("device-move", test_device_move);
  ADD ("device-remove", test_device_remove);
  ADD ("device-out-of-office", test_device_out_of_office);
  ADD ("local-device-env-ignored", test_local_device_env_ignored);
  ADD ("set-machine", test_set_machine);
  ADD ("password-change", test_password_change);
  ADD ("group-move", test_group_move);
  ADD ("local-settings", test_local_settings);
  ADD ("restore-task-create", test_restore_task_create);
  ADD ("audit-events", test_audit_events);
  ADD ("audit-task-deleted", test_audit_task_deleted);
  ADD ("absurd-iterations-refused", test_absurd_iterations_refused);
  return g_test_run ();
}
