/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Schedules as specifications: parsing (with the errors an admin sees) and
 * next-start times for every kind, including the start-window table of the
 * admin guide (window 20:00–07:00: created 19:00 starts at 20:00, created
 * 21:00 starts at once, created 08:00 starts at 20:00), windows that do not
 * cross midnight, missed windows, and daily runs across a DST change.
 */
#include "tasks/tasks-private.h"

static GTimeZone *utc_tz;

static gint64
at (GTimeZone *tz, int y, int mo, int d, int h, int mi)
{
  g_autoptr (GDateTime) dt = g_date_time_new (tz, y, mo, d, h, mi, 0);
  return vh_datetime_to_us (dt);
}

static gint64
utc (int y, int mo, int d, int h, int mi)
{
  return at (utc_tz, y, mo, d, h, mi);
}

static VhSchedule
parse_ok (const char *text)
{
  VhSchedule s;
  g_autoptr (GError) error = NULL;

  g_assert_true (vh_schedule_parse (text, utc_tz, &s, &error));
  g_assert_no_error (error);
  return s;
}

static void
assert_parse_error (const char *text, const char *expected_part)
{
  VhSchedule s;
  g_autoptr (GError) error = NULL;

  g_assert_false (vh_schedule_parse (text, utc_tz, &s, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  if (strstr (error->message, expected_part) == NULL)
    g_error ("'%s' does not contain '%s'", error->message, expected_part);
}

/* next start of a never-run task created at @created, seen at @now */
static gint64
next_fresh (const char *text, gint64 created, gint64 now)
{
  VhSchedule s = parse_ok (text);
  return vh_schedule_next (&s, created, 0, now, utc_tz);
}

#define NIGHT "{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"07:00\"}"

static void
test_window_created_before_starts_at_window_start (void)
{
  gint64 created = utc (2026, 11, 22, 19, 0);
  g_assert_cmpint (next_fresh (NIGHT, created, created), ==, utc (2026, 11, 22, 20, 0));
}

static void
test_window_created_inside_starts_at_once (void)
{
  gint64 created = utc (2026, 11, 22, 21, 0);
  g_assert_cmpint (next_fresh (NIGHT, created, created), ==, created);
}

static void
test_window_created_after_midnight_inside_starts_at_once (void)
{
  gint64 created = utc (2026, 11, 23, 3, 0);
  g_assert_cmpint (next_fresh (NIGHT, created, created), ==, created);
}

static void
test_window_created_after_starts_in_next_window (void)
{
  gint64 created = utc (2026, 11, 22, 8, 0);
  g_assert_cmpint (next_fresh (NIGHT, created, created), ==, utc (2026, 11, 22, 20, 0));
}

static void
test_window_end_is_exclusive (void)
{
  gint64 created = utc (2026, 11, 22, 7, 0);
  g_assert_cmpint (next_fresh (NIGHT, created, created), ==, utc (2026, 11, 22, 20, 0));
  created = utc (2026, 11, 22, 20, 0);
  g_assert_cmpint (next_fresh (NIGHT, created, created), ==, created);
}

static void
test_window_same_day (void)
{
  const char *office = "{\"kind\":\"window\",\"start\":\"09:00\",\"end\":\"17:30\"}";
  gint64 c;

  c = utc (2026, 11, 22, 8, 0);
  g_assert_cmpint (next_fresh (office, c, c), ==, utc (2026, 11, 22, 9, 0));
  c = utc (2026, 11, 22, 12, 0);
  g_assert_cmpint (next_fresh (office, c, c), ==, c);
  c = utc (2026, 11, 22, 17, 30);
  g_assert_cmpint (next_fresh (office, c, c), ==, utc (2026, 11, 23, 9, 0));
}

static void
test_window_missed_waits_for_next_window (void)
{
  gint64 created = utc (2026, 11, 22, 19, 0);
  gint64 now = utc (2026, 11, 23, 8, 0);   /* the host slept through it */
  g_assert_cmpint (next_fresh (NIGHT, created, now), ==, utc (2026, 11, 23, 20, 0));
}

static void
test_window_starts_once (void)
{
  VhSchedule s = parse_ok (NIGHT);
  gint64 created = utc (2026, 11, 22, 21, 0);
  g_assert_cmpint (vh_schedule_next (&s, created, created, created, utc_tz), ==,
                   VH_SCHEDULE_NEVER);
}

static void
test_window_empty_rejected (void)
{
  assert_parse_error ("{\"kind\":\"window\",\"start\":\"08:00\",\"end\":\"08:00\"}",
                      "is empty");
}

static void
test_window_bad_time_rejected (void)
{
  assert_parse_error ("{\"kind\":\"window\",\"start\":\"25:00\",\"end\":\"07:00\"}",
                      "schedule.start: '25:00' is not a time of day");
  assert_parse_error ("{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"7:0\"}",
                      "schedule.end");
  assert_parse_error ("{\"kind\":\"window\",\"start\":\"20:00\"}", "schedule.end: missing");
}

static void
test_window_in_local_time (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  VhSchedule s;
  /* 18:30Z is 19:30 in Berlin in November: before the window opens at 20:00
   * local, which is 19:00Z. */
  gint64 created = utc (2026, 11, 22, 18, 30);

  g_assert_nonnull (berlin);
  g_assert_true (vh_schedule_parse (NIGHT, berlin, &s, NULL));
  g_assert_cmpint (vh_schedule_next (&s, created, 0, created, berlin), ==,
                   utc (2026, 11, 22, 19, 0));
}

static void
test_window_start_skipped_by_dst (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  VhSchedule s;
  gint64 created = at (berlin, 2026, 3, 29, 1, 0);

  /* 02:30 does not exist on 29 March 2026 in Berlin (02:00 -> 03:00): the
   * window opens at the first local time that does, 03:00 CEST (01:00Z). */
  g_assert_true (vh_schedule_parse ("{\"kind\":\"window\",\"start\":\"02:30\",\"end\":\"04:00\"}",
                                    berlin, &s, NULL));
  g_assert_cmpint (vh_schedule_next (&s, created, 0, created, berlin), ==, utc (2026, 3, 29, 1, 0));
}

static void
test_hourly_next (void)
{
  VhSchedule s = parse_ok ("{\"kind\":\"hourly\",\"at\":\"2026-11-22T10:00:00Z\"}");
  gint64 created = utc (2026, 11, 22, 9, 0);

  g_assert_cmpint (vh_schedule_next (&s, created, 0, created, utc_tz), ==, utc (2026, 11, 22, 10, 0));
  g_assert_cmpint (vh_schedule_next (&s, created, utc (2026, 11, 22, 10, 0) + 5 * G_USEC_PER_SEC,
                                     0, utc_tz), ==, utc (2026, 11, 22, 11, 0));
  g_assert_cmpint (vh_schedule_next (&s, created, utc (2026, 11, 22, 13, 30), 0, utc_tz), ==,
                   utc (2026, 11, 22, 14, 0));
}

static void
test_daily_next (void)
{
  VhSchedule s = parse_ok ("{\"kind\":\"daily\",\"at\":\"2026-11-22T10:00:00Z\"}");
  gint64 created = utc (2026, 11, 20, 9, 0);

  g_assert_cmpint (vh_schedule_next (&s, created, utc (2026, 11, 22, 10, 0), 0, utc_tz), ==,
                   utc (2026, 11, 23, 10, 0));
  /* Down for three days: the missed start is due once (it lies in the
   * past), and after that catch-up run the next start is the next 10:00. */
  g_assert_cmpint (vh_schedule_next (&s, created, utc (2026, 11, 26, 9, 0), 0, utc_tz), ==,
                   utc (2026, 11, 26, 10, 0));
}

static void
test_daily_keeps_local_hour_across_dst (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  VhSchedule s;
  gint64 first = at (berlin, 2026, 3, 28, 10, 0);   /* CET, 09:00Z */

  g_assert_true (vh_schedule_parse ("{\"kind\":\"daily\",\"at\":\"2026-03-28T10:00:00\"}",
                                    berlin, &s, NULL));
  g_assert_cmpint (s.at_us, ==, first);
  /* 29 March 2026 is the switch to CEST: 10:00 local is 08:00Z. */
  g_assert_cmpint (vh_schedule_next (&s, first, first, first, berlin), ==,
                   utc (2026, 3, 29, 8, 0));
}

static void
test_weekly_next (void)
{
  VhSchedule s = parse_ok ("{\"kind\":\"weekly\",\"at\":\"2026-11-23T06:00:00Z\"}");
  gint64 first = utc (2026, 11, 23, 6, 0);

  g_assert_cmpint (vh_schedule_next (&s, first, first, first, utc_tz), ==, utc (2026, 11, 30, 6, 0));
  g_assert_cmpint (vh_schedule_next (&s, first, utc (2026, 12, 1, 0, 0), 0, utc_tz), ==,
                   utc (2026, 12, 7, 6, 0));
}

static void
test_periodic_without_at_starts_at_creation (void)
{
  gint64 created = utc (2026, 11, 22, 9, 15);
  VhSchedule s = parse_ok ("{\"kind\":\"daily\"}");

  g_assert_cmpint (vh_schedule_next (&s, created, 0, created, utc_tz), ==, created);
  g_assert_cmpint (vh_schedule_next (&s, created, created, created, utc_tz), ==,
                   utc (2026, 11, 23, 9, 15));
}

static void
test_once_in_the_past_is_due (void)
{
  gint64 now = utc (2026, 11, 22, 12, 0);
  VhSchedule s = parse_ok ("{\"kind\":\"once\",\"at\":\"2026-11-21T12:00:00Z\"}");

  g_assert_cmpint (vh_schedule_next (&s, now, 0, now, utc_tz), ==, utc (2026, 11, 21, 12, 0));
  g_assert_cmpint (vh_schedule_next (&s, now, now, now, utc_tz), ==, VH_SCHEDULE_NEVER);
}

static void
test_now_and_untimed_kinds (void)
{
  gint64 c = utc (2026, 11, 22, 12, 0);
  const char *untimed[] = { "{\"kind\":\"manual\"}", "{\"kind\":\"on_start\"}",
                            "{\"kind\":\"after_update\"}" };
  VhSchedule s;

  g_assert_true (vh_schedule_parse (NULL, utc_tz, &s, NULL));
  g_assert_cmpint (s.kind, ==, VH_SCHEDULE_NOW);
  g_assert_cmpint (vh_schedule_next (&s, c, 0, c, utc_tz), ==, c);
  g_assert_cmpint (vh_schedule_next (&s, c, c, c, utc_tz), ==, VH_SCHEDULE_NEVER);
  for (gsize i = 0; i < G_N_ELEMENTS (untimed); i++)
    g_assert_cmpint (next_fresh (untimed[i], c, c), ==, VH_SCHEDULE_NEVER);
}

static void
test_parse_errors_name_the_path (void)
{
  assert_parse_error ("{\"kind\":\"hourlyy\"}", "schedule.kind: unknown kind 'hourlyy'");
  assert_parse_error ("{\"kind\":\"once\"}", "schedule.at: missing");
  assert_parse_error ("{\"kind\":\"once\",\"at\":\"tomorrow\"}", "schedule.at: 'tomorrow'");
  assert_parse_error ("{\"kind\":\"now\",\"at\":\"2026-11-21T12:00:00Z\"}",
                      "schedule.at: unknown key for kind 'now'");
  assert_parse_error ("{\"kind\":3}", "schedule.kind: must be a string");
  assert_parse_error ("[\"now\"]", "must be a JSON object");
  assert_parse_error ("{\"kind\":", "not valid JSON");
}

static void
test_normalized_json_round_trips (void)
{
  const char *texts[] = { NIGHT, "{\"kind\":\"once\",\"at\":\"2026-11-21T13:00:00+01:00\"}",
                          "{\"kind\":\"manual\"}", "{\"kind\":\"weekly\"}" };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      VhSchedule a = parse_ok (texts[i]);
      g_autofree char *json = vh_schedule_to_json (&a);
      VhSchedule b = parse_ok (json);
      g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
    }
  VhSchedule once = parse_ok (texts[1]);
  g_autofree char *json = vh_schedule_to_json (&once);
  g_assert_cmpstr (json, ==, "{\"kind\":\"once\",\"at\":\"2026-11-21T12:00:00Z\"}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  utc_tz = g_time_zone_new_utc ();

  g_test_add_func ("/schedule/window/created-before-starts-at-window-start",
                   test_window_created_before_starts_at_window_start);
  g_test_add_func ("/schedule/window/created-inside-starts-at-once",
                   test_window_created_inside_starts_at_once);
  g_test_add_func ("/schedule/window/created-after-midnight-inside-starts-at-once",
                   test_window_created_after_midnight_inside_starts_at_once);
  g_test_add_func ("/schedule/window/created-after-starts-in-next-window",
                   test_window_created_after_starts_in_next_window);
  g_test_add_func ("/schedule/window/end-is-exclusive", test_window_end_is_exclusive);
  g_test_add_func ("/schedule/window/same-day", test_window_same_day);
  g_test_add_func ("/schedule/window/missed-waits-for-next-window",
                   test_window_missed_waits_for_next_window);
  g_test_add_func ("/schedule/window/starts-once", test_window_starts_once);
  g_test_add_func ("/schedule/window/empty-rejected", test_window_empty_rejected);
  g_test_add_func ("/schedule/window/bad-time-rejected", test_window_bad_time_rejected);
  g_test_add_func ("/schedule/window/local-time", test_window_in_local_time);
  g_test_add_func ("/schedule/window/start-skipped-by-dst", test_window_start_skipped_by_dst);
  g_test_add_func ("/schedule/hourly-next", test_hourly_next);
  g_test_add_func ("/schedule/daily-next", test_daily_next);
  g_test_add_func ("/schedule/daily-keeps-local-hour-across-dst",
                   test_daily_keeps_local_hour_across_dst);
  g_test_add_func ("/schedule/weekly-next", test_weekly_next);
  g_test_add_func ("/schedule/periodic-without-at-starts-at-creation",
                   test_periodic_without_at_starts_at_creation);
  g_test_add_func ("/schedule/once-in-the-past-is-due", test_once_in_the_past_is_due);
  g_test_add_func ("/schedule/now-and-untimed-kinds", test_now_and_untimed_kinds);
  g_test_add_func ("/schedule/parse-errors-name-the-path", test_parse_errors_name_the_path);
  g_test_add_func ("/schedule/normalized-json-round-trips", test_normalized_json_round_trips);

  int status = g_test_run ();
  g_time_zone_unref (utc_tz);
  return status;
}
