/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure parts of the engine: the server reply parsers (acknowledgement,
 * synchronization) with the JSON path they name on errors, the importance
 * of event types, and the TTL table. The HTTP head parser is the helper
 * library's (plugin-api/util/tests/test-https-head.c).
 */
#include "kata-engine.h"

#include <string.h>

static void
test_ack_reply (void)
{
  guint64 seq = 0;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (GError) e3 = NULL;

  g_assert_true (kata_reply_parse_ack ("{\"ack\":42}", 10, &seq, NULL));
  g_assert_cmpuint (seq, ==, 42);
  g_assert_false (kata_reply_parse_ack ("{\"ack\":\"42\"}", 12, &seq, &e1));
  g_assert_nonnull (strstr (e1->message, "$.ack"));
  g_assert_false (kata_reply_parse_ack ("[1]", 3, &seq, &e2));
  g_assert_false (kata_reply_parse_ack ("{\"ack\":1}\0x", 11, &seq, &e3));
  g_assert_error (e3, KATA_ERROR, KATA_ERROR_PROTOCOL);
}

/* A reply json-glib would misread (issue #14) is a protocol error naming
 * where: a second "ack", "\u0000" in a task id, 010, 0x10, 2^64. */
static void
test_reply_strict (void)
{
  static const char *const cases[][2] = {
    { "{\"ack\":7,\"ack\":8}", "duplicate key \"ack\" (at $)" },
    { "{\"ack\":010}", "non-standard number '010'" },
    { "{\"ack\":0x10}", "non-standard number '0x10'" },
    { "{\"ack\":18446744073709551623}", "outside the 64-bit range" },
    { "{\"tasks\":[{\"id\":\"t1\\u0000evil\",\"type\":\"ioc.scan\",\"params\":{}}]}",
      "\\u0000 (NUL) in a string (at $.tasks[0].id)" },
    { "{\"settings\":{},\"settings\":{\"x\":1}}", "duplicate key \"settings\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) e1 = NULL;
      g_autoptr (GError) e2 = NULL;
      g_autoptr (KataSyncReply) r = NULL;
      guint64 seq = 0;

      g_assert_false (kata_reply_parse_ack (cases[i][0], strlen (cases[i][0]), &seq, &e1));
      g_assert_error (e1, KATA_ERROR, KATA_ERROR_PROTOCOL);
      g_test_message ("%s", e1->message);
      g_assert_nonnull (strstr (e1->message, cases[i][1]));
      r = kata_reply_parse_sync (cases[i][0], strlen (cases[i][0]), &e2);
      g_assert_null (r);
      g_assert_nonnull (strstr (e2->message, cases[i][1]));
    }
}

static void
test_sync_reply (void)
{
  const char *ok = "{\"settings\":{\"throttling\":{\"max_events_per_hour\":50}},\"tasks\":[{\"id\":\"t1\",\"type\":\"ioc.scan\","
                   "\"params\":{}}]}";
  g_autoptr (KataSyncReply) r = kata_reply_parse_sync (ok, strlen (ok), NULL);
  g_autoptr (KataSyncReply) empty = kata_reply_parse_sync ("{}", 2, NULL);
  g_autoptr (GError) error = NULL;
  const char *bad = "{\"tasks\":[{\"id\":\"t1\",\"type\":\"ioc.scan\"},{\"id\":\"t2\","
                    "\"type\":\"ioc.scan\",\"params\":[]}]}";

  g_assert_nonnull (r);
  g_assert_cmpuint (r->tasks->len, ==, 1);
  g_assert_nonnull (r->settings);
  g_assert_cmpuint (empty->tasks->len, ==, 0);
  g_assert_null (kata_reply_parse_sync (bad, strlen (bad), &error));
  g_assert_nonnull (strstr (error->message, "$.tasks[1].params"));
}

/* Each reply breaks one rule of the settings the server may set; the error
 * names the JSON path. */
static void
test_sync_settings_checked (void)
{
  const struct { const char *body, *path; } bad[] = {
    { "{\"settings\":{\"throttling\":{\"excess_percent\":200}}}",
      "$.settings.throttling.excess_percent: 200 is out of range 5–100" },
    { "{\"settings\":{\"throttling\":{\"enabled\":1}}}",
      "$.settings.throttling.enabled: not a boolean" },
    { "{\"settings\":{\"connection\":{\"sync_period_min\":0}}}",
      "$.settings.connection.sync_period_min: 0 is out of range 1–60" },
    { "{\"settings\":{\"data_submission\":{\"transmission_period_sec\":\"30\"}}}",
      "$.settings.data_submission.transmission_period_sec: not an integer" },
    { "{\"settings\":{\"connection\":{\"servers\":[]}}}",
      "$.settings.connection.servers: not a setting the server may set" },
    { "{\"settings\":{\"trusted_connection\":{}}}",
      "$.settings.trusted_connection: not a settings group the server may set" },
    { "{\"settings\":{\"throttling\":[]}}", "$.settings.throttling: not an object" },
  };
  const char *ok = "{\"settings\":{\"connection\":{\"sync_period_min\":60},"
                   "\"data_submission\":{\"transmission_period_sec\":1,"
                   "\"max_events_per_package\":100000},\"throttling\":{\"enabled\":false,"
                   "\"max_events_per_hour\":1,\"excess_percent\":5}}}";
  g_autoptr (KataSyncReply) r = kata_reply_parse_sync (ok, strlen (ok), NULL);

  g_assert_nonnull (r);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (kata_reply_parse_sync (bad[i].body, strlen (bad[i].body), &error));
      g_assert_cmpstr (error->message, ==, bad[i].path);
    }
}

static void
test_sync_schedule_checked (void)
{
  g_autofree char *big = g_strdup_printf (
      "{\"tasks\":[{\"id\":\"a\",\"type\":\"ioc.scan\",\"schedule\":{\"kind\":\"now\","
      "\"pad\":\"%0*d\"}}]}", 5000, 0);
  const struct { const char *body, *path; } bad[] = {
    { "{\"tasks\":[{\"id\":\"a\",\"type\":\"ioc.scan\",\"schedule\":\"now\"}]}",
      "$.tasks[0].schedule: not an object" },
    { "{\"tasks\":[{\"id\":\"a\",\"type\":\"ioc.scan\"},{\"id\":\"b\",\"type\":\"ioc.scan\","
      "\"schedule\":{\"at\":\"2026-11-22T20:00:00Z\"}}]}",
      "$.tasks[1].schedule.kind: missing or not a short string" },
    { big, "$.tasks[0].schedule: larger than 4096 bytes" },
  };
  const char *ok = "{\"tasks\":[{\"id\":\"a\",\"type\":\"ioc.scan\",\"schedule\":"
                   "{\"kind\":\"once\",\"at\":\"2026-11-22T20:00:00Z\"}},"
                   "{\"id\":\"b\",\"type\":\"ioc.scan\",\"schedule\":null}]}";
  g_autoptr (KataSyncReply) r = kata_reply_parse_sync (ok, strlen (ok), NULL);

  g_assert_nonnull (r);
  g_assert_cmpuint (r->tasks->len, ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (kata_reply_parse_sync (bad[i].body, strlen (bad[i].body), &error));
      g_assert_cmpstr (error->message, ==, bad[i].path);
    }
}

static void
test_importance (void)
{
  g_assert_cmpint (kata_event_importance ("sandbox.threat_detected"), ==, KATA_IMPORTANCE_HIGH);
  g_assert_cmpint (kata_event_importance ("ioc.found"), ==, KATA_IMPORTANCE_HIGH);
  g_assert_cmpint (kata_event_importance ("epp.scan_finding"), ==, KATA_IMPORTANCE_HIGH);
  g_assert_cmpint (kata_event_importance ("quarantine.added"), ==, KATA_IMPORTANCE_HIGH);
  g_assert_cmpint (kata_event_importance ("process.started"), ==, KATA_IMPORTANCE_LOW);
  g_assert_cmpint (kata_event_importance ("quarantine.deleted"), ==, KATA_IMPORTANCE_LOW);
}

static void
test_throttle_disabled_admits_all (void)
{
  g_autoptr (KataThrottle) t = kata_throttle_new ();

  kata_throttle_configure (t, FALSE, 10, 15);
  for (guint i = 0; i < 100; i++)
    g_assert_true (kata_throttle_admit (t, "process.started", KATA_IMPORTANCE_LOW, i));
}

static void
test_throttle_burst_keeps_detections (void)
{
  g_autoptr (KataThrottle) t = kata_throttle_new ();
  guint low = 0, high = 0;

  kata_throttle_configure (t, TRUE, 100, 15);
  /* 1000 events within one minute: far more than 100 an hour. */
  for (guint i = 0; i < 1000; i++)
    {
      gboolean h = i % 10 == 0;
      if (kata_throttle_admit (t, h ? "ioc.found" : "process.started",
                               h ? KATA_IMPORTANCE_HIGH : KATA_IMPORTANCE_LOW, i * 1000))
        *(h ? &high : &low) += 1;
    }
  g_assert_cmpuint (high, ==, 100);
  g_assert_cmpuint (low, <=, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kata/reply/ack", test_ack_reply);
  g_test_add_func ("/kata/reply/sync", test_sync_reply);
  g_test_add_func ("/kata/reply/strict-json", test_reply_strict);
  g_test_add_func ("/kata/reply/sync-settings-checked", test_sync_settings_checked);
  g_test_add_func ("/kata/reply/sync-schedule-checked", test_sync_schedule_checked);
  g_test_add_func ("/kata/importance/detections-are-high", test_importance);
  g_test_add_func ("/kata/throttle/disabled-admits-all", test_throttle_disabled_admits_all);
  g_test_add_func ("/kata/throttle/burst-keeps-detections", test_throttle_burst_keeps_detections);
  return g_test_run ();
}
