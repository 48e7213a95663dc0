/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Events through the real host: stored with the host clock and listed with
 * filters, refused when malformed, dispatched once, and chains of handlers
 * and tasks driven to their end by vigil_host_run_until_idle; dispatched
 * events purged after the host config's retention, undispatched ones kept.
 */
#include "fixture.h"
#include "tasks/tasks-private.h"
#include "host-private.h"

#include <math.h>

static char *
emit (Fixture *f, const char *type, const char *device)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) payload = json_object_new ();
  char *id;

  json_object_set_string_member (payload, "note", type);
  id = vigil_host_emit_event (f->host, "test", type, device, 1, payload, &error);
  g_assert_no_error (error);
  return id;
}

/* Events matching the filters, leaving out the host's own audit events
 * (host.inventory_changed of the fixture's devices, ...) unless @type asks
 * for them; @limit applies before that, as it does in the host. */
static guint
count (Fixture *f, gint64 since, const char *type, const char *device, guint limit)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) events = vh_events_list (f->host, since, type, device, limit, &error);
  guint n = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < json_array_get_length (events); i++)
    if (type || !g_str_has_prefix (json_object_get_string_member (
                    json_array_get_object_element (events, i), "type"), "host."))
      n++;
  return n;
}

static void
test_stored_with_envelope (Fixture *f, gconstpointer data)
{
  g_autofree char *id = emit (f, "sandbox.threat_detected", "a");
  /* The type filter leaves out the host's audit events of the fixture's
   * inventory (host.inventory_changed). */
  g_autoptr (JsonArray) events = vh_events_list (f->host, 0, "sandbox.threat_detected", NULL,
                                                 0, NULL);
  JsonObject *event = json_array_get_object_element (events, 0);

  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (event, "id"), ==, id);
  g_assert_cmpint (json_object_get_int_member (event, "time_us"), ==, T0);
  g_assert_cmpstr (json_object_get_string_member (event, "time"), ==, "2026-11-22T10:00:00Z");
  g_assert_cmpstr (json_object_get_string_member (event, "source"), ==, "test");
  g_assert_cmpint (json_object_get_int_member (event, "payload_version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (event, "payload"),
                                                  "note"), ==, "sandbox.threat_detected");
}

static void
test_listed_with_filters (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "quarantine.added", "a"));
  f->now += HOURS (1);
  g_free (emit (f, "quarantine.deleted", "b"));
  f->now += HOURS (1);
  g_free (emit (f, "ioc.found", "a"));
  g_free (emit (f, "quarantine_x.added", NULL));

  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 4);
  g_assert_cmpuint (count (f, T0 + HOURS (1), NULL, NULL, 0), ==, 3);
  g_assert_cmpuint (count (f, 0, "quarantine.added", NULL, 0), ==, 1);
  /* A prefix is literal: '_' is not a wildcard. */
  g_assert_cmpuint (count (f, 0, "quarantine.*", NULL, 0), ==, 2);
  g_assert_cmpuint (count (f, 0, NULL, "a", 0), ==, 2);
  g_assert_cmpuint (count (f, 0, "quarantine.*", "b", 0), ==, 1);
  g_assert_cmpuint (count (f, 0, NULL, NULL, 2), ==, 2);
}

static void
test_limit_keeps_the_newest_in_time_order (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonArray) events = NULL;

  g_free (emit (f, "x.first", NULL));
  f->now += MINUTES (1);
  g_free (emit (f, "x.second", NULL));
  f->now += MINUTES (1);
  g_free (emit (f, "x.third", NULL));
  events = vh_events_list (f->host, 0, NULL, NULL, 2, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (events, 0), "type"),
                   ==, "x.second");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (events, 1), "type"),
                   ==, "x.third");
}

static void
test_malformed_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (vigil_host_emit_event (f->host, "test", "No Type", NULL, 1, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (vigil_host_emit_event (f->host, "test", "a.b", NULL, 0, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (vigil_host_emit_event (f->host, "test", "a.b", "../etc", 1, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 0);
}

static void
test_payload_size_limited (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autofree char *big = g_malloc (VH_EVENT_MAX_PAYLOAD + 1);

  memset (big, 'x', VH_EVENT_MAX_PAYLOAD);
  big[VH_EVENT_MAX_PAYLOAD] = '\0';
  json_object_set_string_member (payload, "blob", big);
  g_assert_null (vigil_host_emit_event (f->host, "test", "a.b", NULL, 1, payload, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
}

/* Untrusted JSON (issue #14): a payload or an envelope with a duplicate
 * key, NUL in a string or a non-standard number is refused with line,
 * column and path; nothing is stored. */
static void
test_misread_json_refused (Fixture *f, gconstpointer data)
{
  static const struct { const char *text; const char *message; } payloads[] = {
    { "{\"path\":\"/a\",\"path\":\"/b\"}", "p.json: the payload is not valid JSON: line 1, "
      "column 14: duplicate key \"path\" (at $)" },
    { "{\"path\":\"/a\\u0000/b\"}", "\\u0000 (NUL) in a string (at $.path)" },
    { "{\"pid\":010}", "non-standard number '010'" },
    { "{\"pid\":0x10}", "non-standard number '0x10'" },
  };
  static const struct { const char *text; const char *message; } envelopes[] = {
    { "{\"type\":\"a.b\",\"device\":\"d1\",\"device\":\"d2\"}", "duplicate key \"device\" (at $)" },
    { "{\"type\":\"a.b\",\"payload\":{\"k\":1,\"k\":2}}", "duplicate key \"k\" (at $.payload)" },
    { "{\"type\":\"a.b\",\"device\":18446744073709551616}", "outside the 64-bit range (-2^63 to 2^63-1) (at $.device)" },
    { "{\"type\":\"a.b\",\"payload_version\":01}", "non-standard number '01'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) o = vh_event_payload_parse (payloads[i].text, -1, "p.json", &error);
      g_assert_null (o);
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, payloads[i].message));
    }
  for (guint i = 0; i < G_N_ELEMENTS (envelopes); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (VhEventEnvelope) e = vh_event_envelope_parse (envelopes[i].text, -1, "socket line 1", &error);
      g_assert_null (e);
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, envelopes[i].message));
    }
  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 0);
}

/* An integer beyond 2^63 in a payload (a device's unsigned 64-bit value)
 * is stored and listed as written, never wrapped: the payload is reported,
 * not acted on. */
static void
test_big_integers_in_payload_kept_as_written (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) payload = vh_event_payload_parse (
      "{\"inode\":18446744073709551615,\"delta\":-9223372036854775809,\"n\":7}", -1, "p.json", &error);
  g_autoptr (VhEventEnvelope) e = vh_event_envelope_parse (
      "{\"type\":\"a.b\",\"payload\":{\"big\":[99999999999999999999]}}", -1, "line 1", &error);
  g_autofree char *id = NULL;
  g_autoptr (JsonArray) events = NULL;
  JsonObject *listed;

  g_assert_no_error (error);
  g_assert_nonnull (e);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (e->payload, "big"), 0),
                   ==, "99999999999999999999");
  id = vigil_host_emit_event (f->host, "test", "a.b", NULL, 1, payload, &error);
  g_assert_no_error (error);
  /* By type: the fixture's set-up also left audit events (host.*). */
  events = vh_events_list (f->host, 0, "a.b", NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  listed = json_object_get_object_member (json_array_get_object_element (events, 0), "payload");
  g_assert_cmpstr (json_object_get_string_member (listed, "inode"), ==, "18446744073709551615");
  g_assert_cmpstr (json_object_get_string_member (listed, "delta"), ==, "-9223372036854775809");
  g_assert_cmpint (json_object_get_int_member (listed, "n"), ==, 7);
}

/* A payload json-glib would write as text no reader accepts (NaN as
 * nan.0, invalid UTF-8 raw) is refused when emitted, not stored to read
 * back as an empty payload. */
static void
test_unreadable_payload_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (JsonObject) nan_payload = json_object_new ();
  g_autoptr (JsonObject) utf8_payload = json_object_new ();

  json_object_set_double_member (nan_payload, "score", NAN);
  json_object_set_string_member (utf8_payload, "path", "/tmp/\xff");
  g_assert_null (vigil_host_emit_event (f->host, "test", "a.b", NULL, 1, nan_payload, &e1));
  g_assert_error (e1, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (e1->message, "would not read back as JSON"));
  g_assert_null (vigil_host_emit_event (f->host, "test", "a.b", NULL, 1, utf8_payload, &e2));
  g_assert_nonnull (strstr (e2->message, "not valid UTF-8 (at $.path)"));
  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 0);
}

static void
test_dispatched_once (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "tasks-test.ping", "a"));
  g_assert_cmpuint (vh_events_dispatch (f->host), ==, 1);
  g_assert_cmpuint (vh_events_dispatch (f->host), ==, 0);
}

static void
test_dispatched_once_by_two_hosts (Fixture *f, gconstpointer data)
{
  /* Two hosts on one state folder stand for `vigil serve` and a CLI. */
  VigilHost *other = fixture_open_host (f);

  g_free (emit (f, "tasks-test.ping", "a"));
  g_assert_cmpuint (vh_events_dispatch (other), ==, 1);
  g_assert_cmpuint (vh_events_dispatch (f->host), ==, 0);
  vigil_host_free (other);
}

static void
test_dispatched_by_a_later_host (Fixture *f, gconstpointer data)
{
  /* Emitted and stored, then the process ends before dispatching: the
   * next host on the same state folder dispatches it. */
  g_free (emit (f, "tasks-test.ping", "a"));
  vigil_host_free (f->host);
  f->host = fixture_open_host (f);
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 2);
}

static void
test_run_until_idle_drives_a_chain (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) tasks = NULL;
  g_autoptr (JsonArray) runs = NULL;
  JsonObject *record = NULL;

  /* ping -> handler creates an emit task -> its run emits pong -> handler
   * creates a record task -> its run completes. */
  g_free (emit (f, "tasks-test.ping", "c"));
  g_assert_cmpuint (vigil_host_run_until_idle (f->host, NULL), ==, 2);

  g_assert_cmpuint (count (f, 0, "tasks-test.pong", "c", 0), ==, 1);
  g_assert_cmpuint (count (f, 0, "task.completed", "c", 0), ==, 2);
  tasks = vh_tasks_list (f->host, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (tasks), ==, 2);
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    if (g_str_equal (json_object_get_string_member (json_array_get_object_element (tasks, i), "type"),
                     "tasks-test.record"))
      record = json_array_get_object_element (tasks, i);
  g_assert_nonnull (record);
  g_assert_cmpstr (json_object_get_string_member (record, "source"), ==, "tasks-test");
  runs = runs_of (f, json_object_get_string_member (record, "id"));
  g_assert_cmpstr (json_object_get_string_member (run_at (runs, 0), "state"), ==, "completed");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (run_at (runs, 0),
                                                                                 "result"), "label"),
                   ==, "from-pong");
}

/* Drives the host until nothing is left, however many calls it takes;
 * a loop that is never stopped fails the test at the bound. */
static void
run_until_quiet (Fixture *f)
{
  for (int i = 0; i < 1000; i++)
    if (vigil_host_run_until_idle (f->host, NULL) == 0 && vh_events_dispatch (f->host) == 0)
      return;
  g_error ("the host never went idle: a loop of events was not stopped");
}

/* A handler that re-emits the event it handles used to loop forever
 * (capped at 100 rounds per call, then again): the chain is stopped at
 * 16 events after the first. */
static void
test_handler_reemit_loop_stopped (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "tasks-test.echo", "c"));
  run_until_quiet (f);
  g_assert_cmpuint (count (f, 0, "tasks-test.echo", NULL, 0), ==, 1 + 16);
}

/* Two handlers feeding each other: stopped the same way. */
static void
test_two_handler_cycle_stopped (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "tasks-test.tick", "c"));
  run_until_quiet (f);
  g_assert_cmpuint (count (f, 0, "tasks-test.tick", NULL, 0)
                    + count (f, 0, "tasks-test.tock", NULL, 0), ==, 1 + 16);
}

/* A handler that creates a task whose run emits the event it handles: the
 * chain goes on through the task and is stopped too; the last run fails
 * saying why. */
static void
test_loop_through_tasks_stopped (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) failed = NULL;
  JsonObject *payload;

  g_free (emit (f, "tasks-test.again", "c"));
  run_until_quiet (f);
  g_assert_cmpuint (count (f, 0, "tasks-test.again", NULL, 0), ==, 1 + 16);
  failed = vh_events_list (f->host, 0, "task.failed", NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (failed), ==, 1);
  payload = json_object_get_object_member (json_array_get_object_element (failed, 0), "payload");
  g_assert_nonnull (strstr (json_object_get_string_member (payload, "error"),
                            "a loop, stopped; it last went through the handler of plugin "
                            "tasks-test for tasks-test.again"));
}

/* vh_events_purge, counting only the test's own events: the host's audit
 * events of the fixture's inventory (host.*) age and go with them. */
static guint
purge (Fixture *f)
{
  guint audit = count (f, 0, "host.*", NULL, 0);
  guint purged = vh_events_purge (f->host);

  return purged - (audit - count (f, 0, "host.*", NULL, 0));
}

/* The default retention is 30 days: what is older goes, what is not stays. */
static void
test_purged_after_retention (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "quarantine.added", "a"));
  f->now += DAYS (29);
  g_free (emit (f, "quarantine.deleted", "a"));
  vh_events_dispatch (f->host);
  f->now = T0 + DAYS (30) + 1;

  g_assert_cmpuint (purge (f), ==, 1);
  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 1);
  g_assert_cmpuint (count (f, 0, "quarantine.deleted", NULL, 0), ==, 1);
}

/* An event no handler has seen yet is work still owed: never purged. */
static void
test_undispatched_never_purged (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "tasks-test.ping", "a"));
  f->now += DAYS (400);

  g_assert_cmpuint (purge (f), ==, 0);
  g_assert_cmpuint (count (f, 0, "tasks-test.ping", NULL, 0), ==, 1);
}

/* The purge runs with the task results' one: on every run of due tasks. */
static void
test_purge_runs_with_due_tasks (Fixture *f, gconstpointer data)
{
  g_free (emit (f, "quarantine.added", "a"));
  vh_events_dispatch (f->host);
  f->now += DAYS (31);

  vh_tasks_run_due (f->host, NULL);
  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 0);
}

static void
reopen_with_config (Fixture *f, const char *text)
{
  g_autofree char *path = g_build_filename (f->dir, "vigil.conf", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  vigil_host_free (f->host);
  f->host = fixture_open_host (f);
}

/* With [events] retention_days=@days, one dispatched event @age old:
 * how many the purge removes. */
static guint
purged_at_age (Fixture *f, const char *days, gint64 age)
{
  g_autofree char *text = g_strdup_printf ("[events]\nretention_days=%s\n", days);

  reopen_with_config (f, text);
  g_free (emit (f, "quarantine.added", "a"));
  vh_events_dispatch (f->host);
  f->now += age;
  return purge (f);
}

static void
test_retention_from_config (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (purged_at_age (f, "2", DAYS (2)), ==, 0);
  f->now += 1;
  g_assert_cmpuint (purge (f), ==, 1);
}

static void
test_retention_zero_keeps_forever (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (purged_at_age (f, "0", DAYS (5000)), ==, 0);
  g_assert_cmpuint (count (f, 0, NULL, NULL, 0), ==, 1);
}

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int
main (int argc, char **argv)
{
  fixture_init_env ();
  g_test_init (&argc, &argv, NULL);

  ADD ("/events/stored-with-envelope", test_stored_with_envelope);
  ADD ("/events/listed-with-filters", test_listed_with_filters);
  ADD ("/events/limit-keeps-the-newest-in-time-order", test_limit_keeps_the_newest_in_time_order);
  ADD ("/events/malformed-refused", test_malformed_refused);
  ADD ("/events/payload-size-limited", test_payload_size_limited);
  ADD ("/events/misread-json-refused", test_misread_json_refused);
  ADD ("/events/unreadable-payload-refused", test_unreadable_payload_refused);
  ADD ("/events/big-integers-in-payload-kept-as-written", test_big_integers_in_payload_kept_as_written);
  ADD ("/events/dispatched-once", test_dispatched_once);
  ADD ("/events/dispatched-once-by-two-hosts", test_dispatched_once_by_two_hosts);
  ADD ("/events/dispatched-by-a-later-host", test_dispatched_by_a_later_host);
  ADD ("/events/run-until-idle-drives-a-chain", test_run_until_idle_drives_a_chain);
  ADD ("/events/handler-reemit-loop-stopped", test_handler_reemit_loop_stopped);
  ADD ("/events/two-handler-cycle-stopped", test_two_handler_cycle_stopped);
  ADD ("/events/loop-through-tasks-stopped", test_loop_through_tasks_stopped);
  ADD ("/events/purged-after-retention", test_purged_after_retention);
  ADD ("/events/undispatched-never-purged", test_undispatched_never_purged);
  ADD ("/events/purge-runs-with-due-tasks", test_purge_runs_with_due_tasks);
  ADD ("/events/retention-from-config", test_retention_from_config);
  ADD ("/events/retention-zero-keeps-forever", test_retention_zero_keeps_forever);
  return g_test_run ();
}
