/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The settings that change what the response does, end to end: the main
 * switch, each local action, the actions on IOC finds, the scope, the
 * riskware switch, the console account, de-duplication of group scans,
 * invalid payloads, disabled plugins (a clear recorded failure, the rest
 * still works) and the policy's validation messages.
 */
#include "e2e-cases.h"
#include "lab-fixture.h"

#define ALICE_FILE "/home/alice/Downloads/invoice.exe"
#define BOB_FILE   "/home/bob/Downloads/invoice.exe"
#define CAROL_AUTOSTART "/home/carol/.config/autostart/updater.desktop"

static guint
task_count (Lab *lab, const char *type)
{
  g_autoptr (JsonArray) tasks = lab_tasks (lab, type);

  return json_array_get_length (tasks);
}

/* The reason of the response.failed event for @action (transfer full),
 * or NULL when there is none. */
static char *
failure_reason (Lab *lab, const char *action)
{
  g_autoptr (JsonArray) events = lab_events (lab, "response.failed");

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *p = json_object_get_object_member (json_array_get_object_element (events, i),
                                                     "payload");
      if (g_strcmp0 (json_object_get_string_member (p, "action"), action) == 0)
        return g_strdup (json_object_get_string_member (p, "reason"));
    }
  return NULL;
}

static void
assert_contains (const char *text, const char *part)
{
  if (text == NULL || strstr (text, part) == NULL)
    g_error ("expected '%s' in: %s", part, text ? text : "(nothing)");
}

/* Why a detection got no response is in the CLI's own output, not only in
 * the plugin's document store: a response.skipped event for the
 * detection, naming the setting, listed by `vigil events`. */
static void
assert_skipped_shown (Lab *lab, const char *event, const char *setting)
{
  g_autofree char *out = NULL;
  int status = -1;

  g_assert_cmpuint (lab_count_events (lab, "response.skipped", "pc-alice", "event_id", event), ==, 1);
  g_assert_cmpuint (lab_count_events (lab, "response.skipped", "pc-alice", "setting", setting), ==, 1);
  lab_close (lab);
  out = lab_cli (lab, &status, "events", "--type", "response.*", NULL);
  g_assert_cmpint (status, ==, 0);
  assert_contains (out, "response.skipped");
  assert_contains (out, setting);
}

static void
test_disabled_does_nothing (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("threat_response.enabled", "false", NULL);
  g_autofree char *event = NULL;
  g_autoptr (JsonObject) response = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  response = lab_response (&lab, event);
  assert_contains (json_object_get_string_member (response, "skipped"), "threat_response.enabled");
  assert_skipped_shown (&lab, event, "sandbox_response.threat_response.enabled");
  g_assert_cmpuint (task_count (&lab, NULL), ==, 0);
  g_assert_true (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  lab_teardown (&lab);
}

static void
test_riskware_off_ignores_riskware (void)
{
  g_autofree char *event = NULL;
  g_autoptr (JsonObject) response = NULL;
  Lab lab;

  lab_setup (&lab, NULL);
  event = lab_detect (&lab, "pc-alice", "riskware", "true", "threat", "\"not-a-virus:RemoteAdmin.Linux.Agent\"", NULL);
  response = lab_response (&lab, event);
  assert_contains (json_object_get_string_member (response, "skipped"), "riskware detection is off");
  assert_skipped_shown (&lab, event, "sandbox_response.riskware.detect");
  g_assert_cmpuint (task_count (&lab, NULL), ==, 0);
  g_assert_true (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  g_assert_true (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

static void
test_riskware_on_responds (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("riskware.detect", "true", NULL);
  g_autofree char *event = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", "riskware", "true", NULL);
  g_assert_cmpuint (task_count (&lab, "quarantine.put"), >=, 1);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 1);
  g_assert_false (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  g_assert_false (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

static const char *const local_keys[] = { "quarantine", "notify_user", "critical_scan" };
static const char *const local_types[] = { "quarantine.put", "notify.user", "epp.critical_scan" };

/* Only the local action local_keys[i] on, no group actions: only its task. */
static void
test_only_local_action (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  g_autoptr (JsonObject) policy = lab_policy_with (
      "local_actions.quarantine", i == 0 ? "true" : "false",
      "local_actions.notify_user", i == 1 ? "true" : "false",
      "local_actions.critical_scan", i == 2 ? "true" : "false",
      "group_actions.ioc_scan", "false",
      "group_actions.quarantine_when_found", "false",
      "group_actions.critical_scan_when_found", "false", NULL);
  g_autofree char *event = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  for (guint k = 0; k < G_N_ELEMENTS (local_types); k++)
    g_assert_cmpuint (task_count (&lab, local_types[k]), ==, k == i ? 1 : 0);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 0);
  g_assert_true (lab_file_exists (&lab, "pc-alice", ALICE_FILE) == (i != 0));
  g_assert_true (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

static void
test_finds_reported_without_find_actions (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("group_actions.quarantine_when_found", "false",
                                                   "group_actions.critical_scan_when_found", "false",
                                                   NULL);
  g_autofree char *event = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "pc-bob", "path", BOB_FILE), ==, 1);
  g_assert_true (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  g_assert_cmpuint (lab_count_events (&lab, "epp.scan_finding", "pc-carol", NULL, NULL), ==, 0);
  lab_teardown (&lab);
}

static void
test_critical_scan_when_found_only (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("group_actions.quarantine_when_found", "false",
                                                   "local_actions.critical_scan", "false", NULL);
  g_autofree char *event = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  /* carol had a copy: her critical areas were scanned and the autostart
   * entry found; her copy stays (no quarantine when found). */
  g_assert_cmpuint (lab_count_events (&lab, "epp.scan_finding", "pc-carol", "path", CAROL_AUTOSTART), ==, 1);
  g_assert_true (lab_file_exists (&lab, "pc-carol", "/home/carol/Documents/old/invoice-copy.exe"));
  /* dave had no copy: no scan there. */
  g_assert_cmpuint (lab_count_events (&lab, "task.completed", "pc-dave", "type", "epp.critical_scan"), ==, 0);
  lab_teardown (&lab);
}

static void
test_scope_passed_to_scan (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("ioc_scanning.scope", "\"critical_areas\"", NULL);
  g_autofree char *event = NULL;
  g_autoptr (JsonArray) scans = NULL;
  JsonObject *params;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  scans = lab_tasks (&lab, "ioc.scan");
  g_assert_cmpuint (json_array_get_length (scans), ==, 1);
  params = json_object_get_object_member (json_array_get_object_element (scans, 0), "params");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (params, "scope"), "kind"),
                   ==, "critical_areas");
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (params, "on_detection"),
                                                 "quarantine"));
  lab_teardown (&lab);
}

/* Without a user (NULL data), or with a user but no password: group
 * actions fail with a recorded event, local actions still run. */
static void
test_missing_account (gconstpointer user)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("account.user", user ? user : "null",
                                                   "account.password", "null", NULL);
  g_autofree char *event = NULL;
  g_autofree char *reason = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  reason = failure_reason (&lab, "ioc_scan");
  assert_contains (reason, "no console account");
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 0);
  g_assert_true (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  g_assert_false (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  g_assert_cmpuint (task_count (&lab, "notify.user"), ==, 1);
  g_assert_cmpuint (task_count (&lab, "epp.critical_scan"), ==, 1);
  lab_teardown (&lab);
}

static void
disable_plugin (Lab *lab, const char *id)
{
  g_autofree char *out = NULL;
  int status;

  out = lab_cli (lab, &status, "plugins", "disable", id, NULL);
  if (status != 0)
    g_error ("vigil plugins disable %s: %s", id, out);
}

static void
test_quarantine_plugin_disabled (void)
{
  g_autofree char *event = NULL;
  g_autofree char *local = NULL;
  g_autofree char *found = NULL;
  Lab lab;

  lab_setup (&lab, NULL);
  disable_plugin (&lab, "quarantine");
  event = lab_detect (&lab, "pc-alice", NULL);
  local = failure_reason (&lab, "quarantine");
  found = failure_reason (&lab, "quarantine_when_found");
  assert_contains (local, "quarantine.put");
  assert_contains (local, "'quarantine'");
  assert_contains (local, "disabled");
  assert_contains (found, "quarantine.put");
  /* Nothing else broke: the scan ran and reported, the other actions ran. */
  g_assert_true (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  g_assert_true (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "pc-bob", "path", BOB_FILE), ==, 1);
  g_assert_cmpuint (task_count (&lab, "notify.user"), ==, 1);
  g_assert_cmpuint (lab_count_events (&lab, "epp.scan_finding", "pc-carol", NULL, NULL), ==, 1);
  lab_teardown (&lab);
}

static void
test_ioc_scan_plugin_disabled (void)
{
  g_autofree char *event = NULL;
  g_autofree char *reason = NULL;
  Lab lab;

  lab_setup (&lab, NULL);
  disable_plugin (&lab, "ioc-scan");
  event = lab_detect (&lab, "pc-alice", NULL);
  reason = failure_reason (&lab, "ioc_scan");
  assert_contains (reason, "ioc.scan");
  assert_contains (reason, "ioc-scan");
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 0);
  g_assert_true (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  g_assert_false (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  g_assert_cmpuint (task_count (&lab, "notify.user"), ==, 1);
  lab_teardown (&lab);
}

static void
test_invalid_payload_recorded (void)
{
  g_autofree char *event = NULL;
  g_autofree char *reason = NULL;
  Lab lab;

  lab_setup (&lab, NULL);
  event = lab_detect (&lab, "pc-alice", "md5", "\"not-a-hash\"", NULL);
  reason = failure_reason (&lab, "validate_payload");
  assert_contains (reason, "payload.md5");
  g_assert_cmpuint (lab_count_events (&lab, "response.failed", "pc-alice", "event_id", event), ==, 1);
  g_assert_cmpuint (task_count (&lab, NULL), ==, 0);
  g_assert_true (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  lab_teardown (&lab);
}

static const char *
scan_action_task (JsonObject *response, gboolean *pending)
{
  JsonArray *actions = json_object_get_array_member (response, "actions");

  for (guint i = 0; i < json_array_get_length (actions); i++)
    {
      JsonObject *a = json_array_get_object_element (actions, i);
      if (g_strcmp0 (json_object_get_string_member (a, "action"), "ioc_scan") == 0)
        {
          *pending = json_object_get_boolean_member_with_default (a, "already_pending", FALSE);
          return json_object_get_string_member_with_default (a, "task_id", NULL);
        }
    }
  return NULL;
}

static void
test_same_object_while_pending_one_scan (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("ioc_scanning.start", "\"manual\"", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autofree char *other = NULL;
  g_autofree char *out = NULL;
  g_autoptr (JsonObject) r1 = NULL;
  g_autoptr (JsonObject) r2 = NULL;
  g_autoptr (JsonObject) r3 = NULL;
  gboolean pending = FALSE;
  g_autofree char *task = NULL;
  int status;
  Lab lab;

  lab_setup (&lab, policy);
  first = lab_detect (&lab, "pc-alice", NULL);
  second = lab_detect (&lab, "pc-bob", "user", "\"bob\"", "path", "\"" BOB_FILE "\"", NULL);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 1);
  r1 = lab_response (&lab, first);
  r2 = lab_response (&lab, second);
  task = g_strdup (scan_action_task (r1, &pending));
  g_assert_false (pending);
  g_assert_cmpstr (scan_action_task (r2, &pending), ==, task);
  g_assert_true (pending);
  /* A sibling subgroup under the same policy is in the same scan. */
  other = lab_detect (&lab, "build-1", "user", "\"builder\"", "path", "\"/srv/builds/invoice.exe\"", NULL);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 1);
  /* Once the scan has run (an admin starts it), the object may be scanned
   * for again. */
  out = lab_cli (&lab, &status, "task", "run", task, NULL);
  g_assert_cmpint (status, ==, 0);
  third = lab_detect (&lab, "pc-alice", NULL);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 2);
  r3 = lab_response (&lab, third);
  g_assert_cmpstr (scan_action_task (r3, &pending), !=, task);
  g_assert_false (pending);
  lab_teardown (&lab);
}

static void
emit_task_event (Lab *lab, const char *type, const char *task, const char *device)
{
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  json_object_set_string_member (payload, "task_id", task);
  json_object_set_string_member (payload, "type", "ioc.scan");
  if (device != NULL)
    {
      json_object_set_string_member (payload, "device", device);
      json_object_set_string_member (payload, "state", "completed");
    }
  id = vigil_host_emit_event (lab->host, "test", type, device, 1, payload, &error);
  g_assert_no_error (error);
  vigil_host_run_until_idle (lab->host, NULL);
}

/* A group scan stays pending until its round has finished on every device:
 * one device's task.completed does not end it, task.round_finished does. */
static void
test_pending_until_round_finished (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("ioc_scanning.start", "\"manual\"", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *third = NULL;
  g_autoptr (JsonObject) r1 = NULL;
  g_autoptr (JsonObject) r2 = NULL;
  g_autoptr (JsonObject) r3 = NULL;
  g_autofree char *task = NULL;
  gboolean pending = TRUE;
  Lab lab;

  lab_setup (&lab, policy);
  first = lab_detect (&lab, "pc-alice", NULL);
  r1 = lab_response (&lab, first);
  task = g_strdup (scan_action_task (r1, &pending));
  g_assert_nonnull (task);
  g_assert_false (pending);

  emit_task_event (&lab, "task.completed", task, "pc-bob");
  second = lab_detect (&lab, "pc-alice", NULL);
  r2 = lab_response (&lab, second);
  g_assert_cmpstr (scan_action_task (r2, &pending), ==, task);
  g_assert_true (pending);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 1);

  emit_task_event (&lab, "task.round_finished", task, NULL);
  third = lab_detect (&lab, "pc-alice", NULL);
  r3 = lab_response (&lab, third);
  g_assert_cmpstr (scan_action_task (r3, &pending), !=, task);
  g_assert_false (pending);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 2);
  lab_teardown (&lab);
}

static void
test_other_object_gets_its_own_scan (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("ioc_scanning.start", "\"manual\"", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  first = lab_detect (&lab, "pc-alice", NULL);
  second = lab_detect (&lab, "pc-alice", "sha256",
                       "\"1111111111111111111111111111111111111111111111111111111111111111\"", NULL);
  g_assert_cmpuint (task_count (&lab, "ioc.scan"), ==, 2);
  lab_teardown (&lab);
}

static char *
validate (Lab *lab, JsonObject *policy, int *status)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), policy);
  g_autofree char *text = json_to_string (node, TRUE);
  g_autofree char *path = g_build_filename (lab->dir, "check.json", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return lab_cli (lab, status, "policy", "validate", path, NULL);
}

/* Every example policy shipped is valid. */
static void
assert_examples_valid (Lab *lab)
{
  g_autofree char *dir = g_build_filename (g_getenv ("VIGIL_SOURCE_DIR"), "examples/policies", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *out = NULL;
      int status;

      if (!g_str_has_suffix (name, ".json"))
        continue;
      out = lab_cli (lab, &status, "policy", "validate", path, NULL);
      if (status != 0)
        g_error ("%s: %s", name, out);
      n++;
    }
  g_assert_cmpuint (n, >=, 2);
}

static void
test_policy_validation_messages (void)
{
  g_autoptr (JsonObject) needs_scan = lab_policy_with ("group_actions.ioc_scan", "false", NULL);
  g_autoptr (JsonObject) equal = lab_policy_with ("ioc_scanning.start", "\"window\"",
                                                  "ioc_scanning.window_end", "\"20:00\"", NULL);
  g_autoptr (JsonObject) no_account = lab_policy_with ("account.user", "null", NULL);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  int status;
  Lab lab;

  lab_setup (&lab, NULL);
  a = validate (&lab, needs_scan, &status);
  g_assert_cmpint (status, ==, 1);
  assert_contains (a, "sandbox_response.group_actions.quarantine_when_found");
  assert_contains (a, "needs group_actions.ioc_scan");
  b = validate (&lab, equal, &status);
  g_assert_cmpint (status, ==, 1);
  assert_contains (b, "sandbox_response.ioc_scanning.window_end");
  assert_contains (b, "equals window_start (20:00)");
  c = validate (&lab, no_account, &status);
  assert_contains (c, "sandbox_response.account.user");
  assert_contains (c, "no console account");
  assert_examples_valid (&lab);
  lab_teardown (&lab);
}

void
e2e_add_response_tests (void)
{
  g_test_add_func ("/e2e/response/disabled-does-nothing", test_disabled_does_nothing);
  g_test_add_func ("/e2e/response/riskware-off-ignores-riskware", test_riskware_off_ignores_riskware);
  g_test_add_func ("/e2e/response/riskware-on-responds", test_riskware_on_responds);
  for (guint i = 0; i < G_N_ELEMENTS (local_keys); i++)
    {
      g_autofree char *path = g_strdup_printf ("/e2e/response/only-local-action/%s", local_keys[i]);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_only_local_action);
    }
  g_test_add_func ("/e2e/response/finds-reported-without-find-actions", test_finds_reported_without_find_actions);
  g_test_add_func ("/e2e/response/critical-scan-when-found-only", test_critical_scan_when_found_only);
  g_test_add_func ("/e2e/response/scope-passed-to-scan", test_scope_passed_to_scan);
  g_test_add_data_func ("/e2e/response/missing-account/no-user", NULL, test_missing_account);
  g_test_add_data_func ("/e2e/response/missing-account/no-password", "\"svc-ioc-scan\"",
                        test_missing_account);
  g_test_add_func ("/e2e/response/quarantine-plugin-disabled", test_quarantine_plugin_disabled);
  g_test_add_func ("/e2e/response/ioc-scan-plugin-disabled", test_ioc_scan_plugin_disabled);
  g_test_add_func ("/e2e/response/invalid-payload-recorded-nothing-done", test_invalid_payload_recorded);
  g_test_add_func ("/e2e/dedup/same-object-while-pending-one-scan", test_same_object_while_pending_one_scan);
  g_test_add_func ("/e2e/dedup/pending-until-round-finished", test_pending_until_round_finished);
  g_test_add_func ("/e2e/dedup/other-object-own-scan", test_other_object_gets_its_own_scan);
  g_test_add_func ("/e2e/policy/validation-messages", test_policy_validation_messages);
}
