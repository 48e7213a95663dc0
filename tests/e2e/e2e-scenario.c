/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The demo scenario end to end: the sandbox detects invoice.exe on pc-alice
 * under the lab policy (every action on, IOC scan started immediately).
 * The policy is configured for the office group, so the group scan hunts
 * every device under office: pc-alice's own subgroup sales and its sibling
 * engineering. Afterwards the file is quarantined and gone on pc-alice, on
 * the two other devices of sales that had copies and on build-1 in
 * engineering; the decoy of the same size is untouched; the quarantined
 * objects are listed and verify; the detecting device's own scan run came
 * after its local quarantine, so it finds nothing there; and the store
 * holds the expected events and task results.
 */
#include "e2e-cases.h"
#include "lab-fixture.h"

#define ALICE_FILE "/home/alice/Downloads/invoice.exe"
#define BOB_FILE   "/home/bob/Downloads/invoice.exe"
#define CAROL_FILE "/home/carol/Documents/old/invoice-copy.exe"
#define DAVE_DECOY "/home/dave/Downloads/invoice.exe"
#define BUILD_COPY "/srv/builds/invoice.exe"

static JsonObject *
action_of (JsonObject *response, const char *action)
{
  JsonArray *actions = json_object_get_array_member (response, "actions");

  for (guint i = 0; i < json_array_get_length (actions); i++)
    {
      JsonObject *a = json_array_get_object_element (actions, i);
      if (g_strcmp0 (json_object_get_string_member (a, "action"), action) == 0)
        return a;
    }
  return NULL;
}

/* Every object in @device's quarantine is the detected one, from @path,
 * and verifies; returns how many there are. */
static guint
assert_quarantined (Lab *lab, const char *device, const char *path)
{
  g_autoptr (JsonNode) list = lab_cli_json (lab, 0, "quarantine", "list", "--device", device, NULL);
  JsonArray *objects = json_node_get_array (list);
  guint n = json_array_get_length (objects);

  for (guint i = 0; i < n; i++)
    {
      JsonObject *o = json_array_get_object_element (objects, i);
      const char *id = json_object_get_string_member (o, "id");
      g_autoptr (JsonNode) shown = lab_cli_json (lab, 0, "quarantine", "show", id,
                                                 "--device", device, "--verify", NULL);

      g_assert_cmpstr (json_object_get_string_member (o, "path"), ==, path);
      g_assert_cmpstr (json_object_get_string_member (o, "sha256"), ==, LAB_SHA256);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (shown), "verified"),
                       ==, "yes");
    }
  return n;
}

static void
assert_group_scan (Lab *lab)
{
  g_autoptr (JsonArray) scans = lab_tasks (lab, "ioc.scan");
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *task;
  g_autoptr (GHashTable) devices = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (json_array_get_length (scans), ==, 1);
  task = json_array_get_object_element (scans, 0);
  g_assert_cmpstr (json_object_get_string_member (task, "group"), ==, "office");
  runs = lab_runs (lab, json_object_get_string_member (task, "id"));
  for (guint i = 0; i < json_array_get_length (runs); i++)
    {
      JsonObject *r = json_array_get_object_element (runs, i);
      g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "completed");
      g_hash_table_add (devices, (gpointer) json_object_get_string_member (r, "device"));
    }
  /* The policy's group: sales and its sibling subgroup engineering. */
  g_assert_cmpuint (g_hash_table_size (devices), ==, 5);
  g_assert_true (g_hash_table_contains (devices, "pc-dave"));
  g_assert_true (g_hash_table_contains (devices, "build-1"));
}

static void
assert_notification (Lab *lab)
{
  g_autoptr (JsonArray) tasks = lab_tasks (lab, "notify.user");
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *result;

  g_assert_cmpuint (json_array_get_length (tasks), ==, 1);
  runs = lab_runs (lab, json_object_get_string_member (json_array_get_object_element (tasks, 0), "id"));
  result = json_object_get_object_member (json_array_get_object_element (runs, 0), "result");
  /* alice is logged in on pc-alice, without a desktop session bus. */
  g_assert_false (json_object_get_boolean_member (result, "displayed"));
  g_assert_cmpstr (json_object_get_string_member (result, "reason_code"), ==, "no_session_bus");
}

static void
test_demo_scenario (void)
{
  Lab lab;
  g_autofree char *event = NULL;
  g_autoptr (JsonObject) response = NULL;
  g_autoptr (JsonObject) pending = NULL;
  g_autoptr (GError) error = NULL;
  const char *actions[] = { "quarantine", "notify_user", "critical_scan", "ioc_scan" };

  lab_setup (&lab, NULL);
  event = lab_detect (&lab, "pc-alice", NULL);

  response = lab_response (&lab, event);
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      JsonObject *a = action_of (response, actions[i]);
      g_assert_nonnull (a);
      g_assert_nonnull (json_object_get_string_member_with_default (a, "task_id", NULL));
    }
  pending = vigil_host_plugin_documents (lab.host, "sandbox-response", "pending_scans", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (pending), ==, 0);
  lab_close (&lab);

  /* Files: the detected object and its two copies in the group are gone. */
  g_assert_false (lab_file_exists (&lab, "pc-alice", ALICE_FILE));
  g_assert_false (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  g_assert_false (lab_file_exists (&lab, "pc-carol", CAROL_FILE));
  g_assert_true (lab_file_exists (&lab, "pc-dave", DAVE_DECOY));
  g_assert_false (lab_file_exists (&lab, "build-1", BUILD_COPY));

  /* Quarantines hold exactly what was removed, and it verifies. */
  g_assert_cmpuint (assert_quarantined (&lab, "pc-alice", ALICE_FILE), ==, 1);
  g_assert_cmpuint (assert_quarantined (&lab, "pc-bob", BOB_FILE), ==, 1);
  g_assert_cmpuint (assert_quarantined (&lab, "pc-carol", CAROL_FILE), ==, 1);
  g_assert_cmpuint (assert_quarantined (&lab, "build-1", BUILD_COPY), ==, 1);
  g_assert_cmpuint (assert_quarantined (&lab, "pc-dave", NULL), ==, 0);

  /* Events. */
  g_assert_cmpuint (lab_count_events (&lab, "sandbox.threat_detected", "pc-alice", NULL, NULL), ==, 1);
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "pc-bob", "path", BOB_FILE), ==, 1);
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "pc-carol", "path", CAROL_FILE), ==, 1);
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "pc-dave", NULL, NULL), ==, 0);
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "build-1", "path", BUILD_COPY), ==, 1);
  g_assert_cmpuint (lab_count_events (&lab, "ioc.found", "pc-alice", NULL, NULL), ==, 0);
  g_assert_cmpuint (lab_count_events (&lab, "quarantine.added", NULL, "sha256", LAB_SHA256), ==, 4);
  g_assert_cmpuint (lab_count_events (&lab, "task.failed", NULL, NULL, NULL), ==, 0);
  g_assert_cmpuint (lab_count_events (&lab, "epp.scan_finding", "pc-carol", "path",
                                      "/home/carol/.config/autostart/updater.desktop"), ==, 1);
  g_assert_cmpuint (lab_count_events (&lab, "response.failed", NULL, NULL, NULL), ==, 0);

  /* Task results. */
  assert_group_scan (&lab);
  assert_notification (&lab);
  lab_teardown (&lab);
}

void
e2e_add_scenario_tests (void)
{
  g_test_add_func ("/e2e/demo/detection-to-quarantine-across-the-group", test_demo_scenario);
}
