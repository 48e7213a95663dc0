/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The start modes of the group IOC scan, end to end with the host's fake
 * clock: the window table admins are given (window 20:00-07:00; created at
 * 19:00 -> starts within 20:00-07:00; at 21:00 -> starts at 21:00; at
 * 08:00 -> starts in the next window), and manual start (created, never
 * started until an admin runs it).
 */
#include "e2e-cases.h"
#include "lab-fixture.h"

#define BOB_FILE "/home/bob/Downloads/invoice.exe"

static JsonObject *
window_policy (void)
{
  return lab_policy_with ("ioc_scanning.start", "\"window\"",
                          "ioc_scanning.window_start", "\"20:00\"",
                          "ioc_scanning.window_end", "\"07:00\"", NULL);
}

/* The one group scan's id (transfer full). */
static char *
scan_task (Lab *lab)
{
  g_autoptr (JsonArray) scans = lab_tasks (lab, "ioc.scan");

  g_assert_cmpuint (json_array_get_length (scans), ==, 1);
  return g_strdup (json_object_get_string_member (json_array_get_object_element (scans, 0), "id"));
}

static guint
run_count (Lab *lab, const char *task_id)
{
  g_autoptr (JsonArray) runs = lab_runs (lab, task_id);

  return json_array_get_length (runs);
}

/* Steps the clock from (day, hh:mm) in 30-minute steps, running what is
 * due, until the scan has runs or @steps are done; returns the step at
 * which it started, or -1. */
static int
first_start_step (Lab *lab, const char *task_id, int day, int hour, int minute, int steps)
{
  for (int i = 0; i < steps; i++)
    {
      int m = hour * 60 + minute + 30 * i;
      lab_set_time (lab, day + m / 1440, (m % 1440) / 60, m % 60);
      lab_run (lab);
      if (run_count (lab, task_id) > 0)
        return i;
    }
  return -1;
}

static void
assert_not_started_at (Lab *lab, const char *task_id, int day, int hour, int minute)
{
  lab_set_time (lab, day, hour, minute);
  lab_run (lab);
  g_assert_cmpuint (run_count (lab, task_id), ==, 0);
  g_assert_true (lab_file_exists (lab, "pc-bob", BOB_FILE));
}

static void
test_created_before_window (void)
{
  g_autoptr (JsonObject) policy = window_policy ();
  g_autofree char *event = NULL;
  g_autofree char *task = NULL;
  Lab lab;
  int step;

  lab_setup (&lab, policy);
  lab_set_time (&lab, 0, 19, 0);
  event = lab_detect (&lab, "pc-alice", NULL);
  task = scan_task (&lab);
  g_assert_cmpuint (run_count (&lab, task), ==, 0);
  assert_not_started_at (&lab, task, 0, 19, 59);
  /* 20:00 to 06:30 next day: 22 half-hour steps, all inside the window. */
  step = first_start_step (&lab, task, 0, 20, 0, 22);
  g_assert_cmpint (step, >=, 0);
  g_assert_false (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

static void
test_created_inside_window (void)
{
  g_autoptr (JsonObject) policy = window_policy ();
  g_autofree char *event = NULL;
  g_autofree char *task = NULL;
  Lab lab;

  lab_setup (&lab, policy);
  lab_set_time (&lab, 0, 21, 0);
  event = lab_detect (&lab, "pc-alice", NULL);
  task = scan_task (&lab);
  /* Started at once: the runs of 21:00 are done. */
  g_assert_cmpuint (run_count (&lab, task), ==, 5);
  g_assert_false (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

static void
test_created_after_window (void)
{
  g_autoptr (JsonObject) policy = window_policy ();
  g_autofree char *event = NULL;
  g_autofree char *task = NULL;
  Lab lab;
  int step;

  lab_setup (&lab, policy);
  lab_set_time (&lab, 0, 8, 0);
  event = lab_detect (&lab, "pc-alice", NULL);
  task = scan_task (&lab);
  g_assert_cmpuint (run_count (&lab, task), ==, 0);
  assert_not_started_at (&lab, task, 0, 12, 0);
  assert_not_started_at (&lab, task, 0, 19, 59);
  step = first_start_step (&lab, task, 0, 20, 0, 22);
  g_assert_cmpint (step, >=, 0);
  g_assert_false (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

static void
test_manual_start (void)
{
  g_autoptr (JsonObject) policy = lab_policy_with ("ioc_scanning.start", "\"manual\"", NULL);
  g_autofree char *event = NULL;
  g_autofree char *task = NULL;
  g_autofree char *out = NULL;
  g_autoptr (JsonArray) scans = NULL;
  Lab lab;
  int status;

  lab_setup (&lab, policy);
  event = lab_detect (&lab, "pc-alice", NULL);
  task = scan_task (&lab);
  scans = lab_tasks (&lab, "ioc.scan");
  g_assert_cmpstr (json_object_get_string_member (
                     json_object_get_object_member (json_array_get_object_element (scans, 0),
                                                    "schedule"), "kind"), ==, "manual");
  /* Local actions ran; the group scan waits for an admin, even a day later. */
  g_assert_false (lab_file_exists (&lab, "pc-alice", "/home/alice/Downloads/invoice.exe"));
  assert_not_started_at (&lab, task, 1, 10, 0);
  out = lab_cli (&lab, &status, "task", "run", task, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpuint (run_count (&lab, task), ==, 5);
  g_assert_false (lab_file_exists (&lab, "pc-bob", BOB_FILE));
  lab_teardown (&lab);
}

void
e2e_add_window_tests (void)
{
  g_test_add_func ("/e2e/start/window/created-before-starts-within-window", test_created_before_window);
  g_test_add_func ("/e2e/start/window/created-inside-starts-at-once", test_created_inside_window);
  g_test_add_func ("/e2e/start/window/created-after-starts-in-next-window", test_created_after_window);
  g_test_add_func ("/e2e/start/manual-created-not-started", test_manual_start);
}
