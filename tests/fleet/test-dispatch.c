/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs that execute elsewhere, through the public API only
 * (vigil_host_set_run_dispatcher, vigil_host_record_run_report(s), Since 1.1):
 * a run the dispatcher takes is stored "dispatched" and never executes
 * here, its task starts no new round until it ends, and the reports move
 * it dispatched → running → completed | failed; a report delivered twice
 * is stored once, a report about another device's run is refused, a
 * malformed one names its member; a run the dispatcher declines executes
 * in-process as before; cancelling a task ends its dispatched runs, and
 * those an agent reported running, at once; a batch of reports is stored
 * in one transaction, each on its own, and so is a batch of agents'
 * events; many devices' settings are read at once as each one's.
 */
#include "vigil-host.h"
#include "vt-cli.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char      *dir;
  char      *root;
  VigilHost *host;
  GPtrArray *offered;      /* JsonObject* runs the dispatcher saw */
} Fixture;

static gboolean
take_dev1 (VigilHost *host, JsonObject *run, gpointer data)
{
  Fixture *f = data;

  g_ptr_array_add (f->offered, json_object_ref (run));
  return g_strcmp0 (json_object_get_string_member (run, "device"), "dev-1") == 0;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VigilHostOptions options = { sizeof options };

  f->dir = g_dir_make_tmp ("vigil-dispatch-XXXXXX", &error);
  g_assert_no_error (error);
  f->root = g_build_filename (f->dir, "root", NULL);
  g_assert_cmpint (g_mkdir (f->root, 0700), ==, 0);
  options.state_dir = f->dir;
  f->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_load_plugins (f->host);
  g_assert_true (vigil_host_add_group (f->host, "lab", NULL, NULL, &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-1", NULL, "lab", f->root, &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-2", NULL, "lab", f->root, &error));
  g_assert_no_error (error);
  f->offered = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  vigil_host_set_run_dispatcher (f->host, take_dev1, f);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  vigil_host_free (f->host);
  g_ptr_array_unref (f->offered);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->root);
}

#define IOC "<?xml version=\"1.0\"?><OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" " \
  "id=\"t\"><criteria><Indicator operator=\"OR\" id=\"i\"><IndicatorItem id=\"a\" " \
  "condition=\"is\"><Context document=\"FileItem\" search=\"FileItem/FileName\" type=\"mir\"/>" \
  "<Content type=\"string\">evil.exe</Content></IndicatorItem></Indicator></criteria></OpenIOC>"

static JsonObject *
object (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static char *
create_scan (Fixture *f, const char *device)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;
  VigilTaskSpec spec = { .type = "ioc.scan", .device_id = device,
                         .schedule = "{\"kind\": \"manual\"}" };
  char *id;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "iocs");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, "evil.ioc");
  json_builder_set_member_name (b, "xml");
  json_builder_add_string_value (b, IOC);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "scope");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, "custom");
  json_builder_set_member_name (b, "paths");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "/");
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  node = json_builder_get_root (b);
  spec.params = json_node_get_object (node);
  id = vigil_host_create_task (f->host, "test", &spec, &error);
  g_assert_no_error (error);
  return id;
}

static JsonObject *
only_run (Fixture *f, const char *task, gboolean findings)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = vigil_host_task_runs (f->host, task, findings, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (runs), ==, 1);
  return json_object_ref (json_array_get_object_element (runs, 0));
}

static gboolean
report (Fixture *f, const char *device, gint64 run, const char *rest, GError **error)
{
  g_autofree char *json = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT "%s%s}", run,
                                           rest[0] ? ", " : "", rest);
  g_autoptr (JsonObject) o = object (json);
  return vigil_host_record_run_report (f->host, device, o, error);
}

static guint
count_events (Fixture *f, const char *type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) events = vigil_host_events (f->host, 0, type, NULL, 0, &error);
  g_assert_no_error (error);
  return json_array_get_length (events);
}

static void
test_dispatched_then_reported (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *task = create_scan (f, "dev-1");
  g_autoptr (JsonArray) round = vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error);
  g_autoptr (JsonObject) run = NULL, running = NULL, done = NULL;
  JsonObject *offered;
  gint64 id;

  g_assert_no_error (error);
  g_assert_cmpuint (f->offered->len, ==, 1);
  offered = f->offered->pdata[0];
  g_assert_cmpstr (json_object_get_string_member (offered, "task"), ==, task);
  g_assert_cmpstr (json_object_get_string_member (offered, "type"), ==, "ioc.scan");
  g_assert_cmpstr (json_object_get_string_member (offered, "device"), ==, "dev-1");
  g_assert_true (json_object_has_member (json_object_get_object_member (offered, "params"), "iocs"));
  run = only_run (f, task, FALSE);
  id = json_object_get_int_member (run, "id");
  g_assert_cmpint (json_object_get_int_member (offered, "run"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "dispatched");

  /* Not executed here, and no second round while it is out. */
  vigil_host_run_until_idle (f->host, NULL);
  g_assert_null (vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "already running"));
  g_clear_error (&error);
  g_assert_cmpuint (count_events (f, "task.*"), ==, 0);

  /* Another device cannot report about it, and learns nothing. */
  g_assert_false (report (f, "dev-2", id, "\"state\": \"completed\"", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (report (f, "dev-1", id + 1000, "\"state\": \"completed\"", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (report (f, "dev-1", id, "\"state\": \"running\", \"progress\": 0.25,"
                         " \"message\": \"walking\"", &error));
  g_assert_no_error (error);
  running = only_run (f, task, FALSE);
  g_assert_cmpstr (json_object_get_string_member (running, "state"), ==, "running");
  g_assert_cmpstr (json_object_get_string_member (running, "message"), ==, "walking");

  g_assert_true (report (f, "dev-1", id, "\"state\": \"completed\", \"result\": {\"found\": 1},"
                         " \"findings\": [{\"path\": \"/evil.exe\"}]", &error));
  g_assert_no_error (error);
  /* Delivered twice: stored once. */
  g_assert_true (report (f, "dev-1", id, "\"state\": \"completed\", \"result\": {\"found\": 1},"
                         " \"findings\": [{\"path\": \"/evil.exe\"}]", &error));
  g_assert_true (report (f, "dev-1", id, "\"state\": \"failed\", \"error\": \"late\"", &error));
  g_assert_true (report (f, "dev-1", id, "\"state\": \"running\"", &error));
  g_assert_no_error (error);
  done = only_run (f, task, TRUE);
  g_assert_cmpstr (json_object_get_string_member (done, "state"), ==, "completed");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (done, "result"), "found"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (done, "findings")), ==, 1);
  g_assert_cmpuint (count_events (f, "task.completed"), ==, 1);
  g_assert_cmpuint (count_events (f, "task.round_finished"), ==, 1);

  /* The round ended: the task may run again. */
  g_clear_pointer (&round, json_array_unref);
  round = vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->offered->len, ==, 2);
}

static void
test_failed_report (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *task = create_scan (f, "dev-1");
  g_autoptr (JsonArray) round = vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error);
  g_autoptr (JsonObject) run = only_run (f, task, FALSE), failed = NULL;
  g_autoptr (JsonArray) events = NULL;
  gint64 id = json_object_get_int_member (run, "id");

  g_assert_nonnull (round);
  g_assert_true (report (f, "dev-1", id, "\"state\": \"failed\","
                         " \"error\": \"the agent has no plugin for task type ioc.scan\"", &error));
  g_assert_no_error (error);
  failed = only_run (f, task, FALSE);
  g_assert_cmpstr (json_object_get_string_member (failed, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (failed, "error"), ==,
                   "the agent has no plugin for task type ioc.scan");
  events = vigil_host_events (f->host, 0, "task.failed", NULL, 0, &error);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
}

static void
test_bad_reports (Fixture *f, gconstpointer data)
{
  static const struct { const char *json; const char *member; } cases[] = {
    { "{\"state\": \"completed\"}", "\"run\"" },
    { "{\"run\": \"1\", \"state\": \"completed\"}", "\"run\"" },
    { "{\"run\": 0, \"state\": \"completed\"}", "\"run\"" },
    { "{\"run\": 1}", "\"state\"" },
    { "{\"run\": 1, \"state\": \"done\"}", "\"state\"" },
    { "{\"run\": 1, \"state\": 7}", "\"state\"" },
    { "{\"run\": 1, \"state\": \"failed\"}", "\"error\"" },
    { "{\"run\": 1, \"state\": \"completed\", \"progress\": 2}", "\"progress\"" },
    { "{\"run\": 1, \"state\": \"completed\", \"progress\": \"x\"}", "\"progress\"" },
    { "{\"run\": 1, \"state\": \"completed\", \"findings\": {}}", "\"findings\"" },
    { "{\"run\": 1, \"state\": \"completed\", \"findings\": [1]}", "\"findings\"[0]" },
    { "{\"run\": 1, \"state\": \"completed\", \"message\": []}", "\"message\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) o = object (cases[i].json);

      g_assert_false (vigil_host_record_run_report (f->host, "dev-1", o, &error));
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      if (strstr (error->message, cases[i].member) == NULL)
        g_error ("%s: \"%s\" does not name %s", cases[i].json, error->message, cases[i].member);
    }
}

static void
test_declined_runs_here (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *task = create_scan (f, "dev-2");
  g_autoptr (JsonArray) round = vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error);
  g_autoptr (JsonObject) run = only_run (f, task, FALSE);

  g_assert_nonnull (round);
  g_assert_no_error (error);
  g_assert_cmpuint (f->offered->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (run, "state"), ==, "completed");

  /* Without a dispatcher, dev-1's runs execute here too. */
  vigil_host_set_run_dispatcher (f->host, NULL, NULL);
  {
    g_autofree char *task1 = create_scan (f, "dev-1");
    g_autoptr (JsonArray) round1 = vigil_host_run_task (f->host, task1, NULL, NULL, NULL, &error);
    g_autoptr (JsonObject) run1 = only_run (f, task1, FALSE);

    g_assert_nonnull (round1);
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (run1, "state"), ==, "completed");
    g_assert_cmpuint (f->offered->len, ==, 1);
  }
}

/* A batch in one transaction (what `vigil serve` stores per fetch): each
 * report applied or refused on its own, in order, events as one by one. */
static void
test_batch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *task_a = create_scan (f, "dev-1"), *task_b = create_scan (f, "dev-1");
  g_autoptr (JsonArray) round_a = vigil_host_run_task (f->host, task_a, NULL, NULL, NULL, &error);
  g_autoptr (JsonArray) round_b = vigil_host_run_task (f->host, task_b, NULL, NULL, NULL, &error);
  g_autoptr (JsonObject) run_a = only_run (f, task_a, FALSE), run_b = only_run (f, task_b, FALSE);
  g_autoptr (JsonObject) done_a = NULL, done_b = NULL;
  gint64 a = json_object_get_int_member (run_a, "id"), b = json_object_get_int_member (run_b, "id");
  const char *devices[] = { "dev-1", "dev-2", "dev-1", "dev-1", "dev-1", "dev-1" };
  g_autofree char *j0 = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"state\": \"running\"}", a);
  g_autofree char *j1 = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"state\": \"completed\"}", b);
  g_autofree char *j2 = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"state\": \"done\"}", a);
  g_autofree char *j3 = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"state\": \"completed\","
                                         " \"findings\": [{\"path\": \"/evil.exe\"}]}", a);
  g_autofree char *j4 = g_strdup_printf ("{\"run\": %" G_GINT64_FORMAT ", \"state\": \"failed\","
                                         " \"error\": \"x\"}", b);
  JsonObject *reports[6];
  GError *errors[6] = { NULL };

  g_assert_nonnull (round_a);
  g_assert_nonnull (round_b);
  reports[0] = object (j0);
  reports[1] = object (j1);   /* dev-2 about dev-1's run: refused */
  reports[2] = object (j2);   /* malformed: refused */
  reports[3] = object (j3);
  reports[4] = object (j4);
  reports[5] = object (j3);   /* delivered twice: stored once */
  g_assert_cmpuint (vigil_host_record_run_reports (f->host, 6, devices, reports, errors), ==, 4);
  g_assert_no_error (errors[0]);
  g_assert_error (errors[1], VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_assert_error (errors[2], VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (errors[2]->message, "\"state\""));
  g_assert_no_error (errors[3]);
  g_assert_no_error (errors[4]);
  g_assert_no_error (errors[5]);
  for (guint i = 0; i < G_N_ELEMENTS (reports); i++)
    {
      g_clear_error (&errors[i]);
      json_object_unref (reports[i]);
    }
  done_a = only_run (f, task_a, TRUE);
  done_b = only_run (f, task_b, FALSE);
  g_assert_cmpstr (json_object_get_string_member (done_a, "state"), ==, "completed");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (done_a, "findings")), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (done_b, "state"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (done_b, "error"), ==, "x");
  g_assert_cmpuint (count_events (f, "task.completed"), ==, 1);
  g_assert_cmpuint (count_events (f, "task.failed"), ==, 1);
  g_assert_cmpuint (count_events (f, "task.round_finished"), ==, 2);
  /* An empty batch stores nothing. */
  g_assert_cmpuint (vigil_host_record_run_reports (f->host, 0, NULL, NULL, NULL), ==, 0);
}

static void
test_cancel_dispatched (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *task = create_scan (f, "dev-1");
  g_autoptr (JsonArray) round = vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error);
  g_autoptr (JsonObject) run = only_run (f, task, FALSE), after = NULL;
  gint64 id = json_object_get_int_member (run, "id");

  g_assert_nonnull (round);
  g_assert_true (vigil_host_cancel_task (f->host, task, &error));
  g_assert_no_error (error);
  /* The agent's late report changes nothing. */
  g_assert_true (report (f, "dev-1", id, "\"state\": \"completed\"", &error));
  after = only_run (f, task, FALSE);
  g_assert_cmpstr (json_object_get_string_member (after, "state"), ==, "cancelled");
}

/* A run its agent reported running ends cancelled at once when its task
 * is cancelled (the agent may never answer again), with its outcome and
 * the round's end; the agent's late end changes nothing. */
static void
test_cancel_running_elsewhere (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *task = create_scan (f, "dev-1");
  g_autoptr (JsonArray) round = vigil_host_run_task (f->host, task, NULL, NULL, NULL, &error);
  g_autoptr (JsonObject) run = only_run (f, task, FALSE), after = NULL;
  gint64 id = json_object_get_int_member (run, "id");

  g_assert_nonnull (round);
  g_assert_true (report (f, "dev-1", id, "\"state\": \"running\"", &error));
  g_assert_true (vigil_host_cancel_task (f->host, task, &error));
  g_assert_no_error (error);
  after = only_run (f, task, FALSE);
  g_assert_cmpstr (json_object_get_string_member (after, "state"), ==, "cancelled");
  g_assert_nonnull (strstr (json_object_get_string_member (after, "error"),
                            "cancelled while it ran on its device's agent"));
  g_assert_cmpuint (count_events (f, "task.failed"), ==, 1);
  g_assert_cmpuint (count_events (f, "task.round_finished"), ==, 1);
  g_assert_true (report (f, "dev-1", id, "\"state\": \"completed\", \"result\": {\"x\": 1}",
                         &error));
  g_clear_pointer (&after, json_object_unref);
  after = only_run (f, task, FALSE);
  g_assert_cmpstr (json_object_get_string_member (after, "state"), ==, "cancelled");
  g_assert_cmpuint (count_events (f, "task.completed"), ==, 0);
  g_assert_cmpuint (count_events (f, "task.failed"), ==, 1);
}

static void
enroll (Fixture *f, const char *device)
{
  g_autoptr (GError) error = NULL;
  const char *enrollment = "0123456789abcdef0123456789abcdef";
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "t", -1);

  g_assert_true (vigil_host_begin_device_enrollment (f->host, device, enrollment, hash,
                                                     G_MAXINT32, &error));
  g_assert_true (vigil_host_complete_device_enrollment (f->host, device, enrollment, &error));
  g_assert_no_error (error);
}

#define EVENT_ID "6b1c3e55-0a4e-4f7b-9a51-8c2d2f0e6a11"

static gboolean
device_event (Fixture *f, const char *device, const char *json, gboolean *duplicate,
              GError **error)
{
  g_autoptr (JsonObject) event = NULL;

  if (!vigil_host_record_device_event (f->host, device, json, -1, &event, error))
    return FALSE;
  g_assert_cmpstr (json_object_get_string_member (event, "device"), ==, device);
  *duplicate = json_object_get_boolean_member (event, "duplicate");
  return TRUE;
}

/* An agent's event is stored as the event of the device the transport
 * named, under the agent's id, once; the console's handlers see it. A
 * device without an enrolled agent, a malformed report, or the host's own
 * event types are refused, each naming what was wrong. */
static void
test_device_events (Fixture *f, gconstpointer data)
{
  const char *good = "{\"id\": \"" EVENT_ID "\", \"type\": \"lab.seen\","
                     " \"payload_version\": 1, \"payload\": {\"path\": \"/x\"},"
                     " \"source\": \"cli\"}";
  const struct { const char *json, *needle; } bad[] = {
    { "{\"id\": \"nope\", \"type\": \"lab.seen\", \"payload_version\": 1,"
      " \"payload\": {}, \"source\": \"cli\"}", "\"id\"" },
    { "{\"id\": \"" EVENT_ID "\", \"type\": \"task.completed\", \"payload_version\": 1,"
      " \"payload\": {}, \"source\": \"cli\"}", "task.*" },
    { "{\"id\": \"" EVENT_ID "\", \"type\": \"lab.seen\", \"payload_version\": 0,"
      " \"payload\": {}, \"source\": \"cli\"}", "\"payload_version\"" },
    { "{\"id\": \"" EVENT_ID "\", \"type\": \"lab.seen\", \"payload_version\": 1,"
      " \"payload\": [], \"source\": \"cli\"}", "\"payload\"" },
    { "{\"id\": \"" EVENT_ID "\", \"type\": \"lab.seen\", \"payload_version\": 1,"
      " \"payload\": {}, \"source\": \"Bad Source\"}", "\"source\"" },
    { "{\"id\": \"" EVENT_ID "\", \"type\": \"lab.seen\", \"payload_version\": 1,"
      " \"payload\": {}, \"source\": \"cli\", \"device\": \"dev-2\"}", "\"device\"" },
    { "{\"id\": ", "event report" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) events = NULL;
  gboolean duplicate = TRUE;
  JsonObject *e;

  /* No enrolled agent: refused as not found. */
  g_assert_false (device_event (f, "dev-1", good, &duplicate, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  enroll (f, "dev-1");
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (device_event (f, "dev-1", bad[i].json, &duplicate, &error));
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, bad[i].needle));
      g_clear_error (&error);
    }
  g_assert_cmpuint (count_events (f, "lab.seen"), ==, 0);

  g_assert_true (device_event (f, "dev-1", good, &duplicate, &error));
  g_assert_no_error (error);
  g_assert_false (duplicate);
  g_assert_true (device_event (f, "dev-1", good, &duplicate, &error));
  g_assert_true (duplicate);
  events = vigil_host_events (f->host, 0, "lab.seen", NULL, 0, &error);
  g_assert_cmpuint (json_array_get_length (events), ==, 1);
  e = json_array_get_object_element (events, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "id"), ==, EVENT_ID);
  g_assert_cmpstr (json_object_get_string_member (e, "device"), ==, "dev-1");
  g_assert_cmpstr (json_object_get_string_member (e, "source"), ==, "agent:cli");

  /* The same id from another device is not a duplicate: refused. */
  enroll (f, "dev-2");
  g_assert_false (device_event (f, "dev-2", good, &duplicate, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  /* A revoked device's events are refused. */
  g_assert_true (vigil_host_revoke_device_agent (f->host, "dev-1", &error));
  g_assert_false (device_event (f, "dev-1", good, &duplicate, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

#define EVENT_ID_2 "0d6c1a7e-5b2f-4c1e-8f3a-2b9d4e6f7a82"
#define EVENT_ID_3 "a3f1c2d4-7e8b-4a9c-b1d2-e3f4a5b6c7d8"
#define EVENT_ID_4 "f0e1d2c3-b4a5-4968-8776-655443322110"

static char *
quarantine_event (const char *id, const char *type, const char *object)
{
  return g_strdup_printf ("{\"id\": \"%s\", \"type\": \"%s\", \"payload_version\": 1,"
                          " \"payload\": {\"id\": \"%s\", \"path\": \"/evil.exe\","
                          " \"send_to_console\": true}, \"source\": \"quarantine\"}",
                          id, type, object);
}

/* Whether the console's common quarantine list (fed by the quarantine
 * plugin's handler of agents' events) has @key. */
static gboolean
in_common_list (Fixture *f, const char *key)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) rows = vigil_host_plugin_documents (f->host, "quarantine", "inventory",
                                                            &error);
  g_assert_no_error (error);
  return json_object_has_member (rows, key);
}

/* A batch of agents' events in one transaction (what `vigil serve` stores
 * per fetch): each stored or refused on its own, a duplicate id stored
 * once (earlier in the batch or in an earlier call), and each new event
 * answered once by the console's handlers: the quarantine plugin's row of
 * a put that the same batch then deletes does not come back with the
 * put's duplicate. */
static void
test_device_events_batch (Fixture *f, gconstpointer data)
{
  g_autofree char *added = quarantine_event (EVENT_ID, "quarantine.added", "obj-1");
  g_autofree char *deleted = quarantine_event (EVENT_ID_2, "quarantine.deleted", "obj-1");
  g_autofree char *other = quarantine_event (EVENT_ID_3, "quarantine.added", "obj-2");
  const char *bad = "{\"id\": \"" EVENT_ID_4 "\", \"type\": \"lab.seen\","
                    " \"payload_version\": 0, \"payload\": {}, \"source\": \"cli\"}";
  const char *devices[] = { "dev-1", "dev-1", "dev-1", "dev-1", "dev-3", "dev-2", "dev-2" };
  const char *reports[] = { added, bad, deleted, added, other, added, other };
  JsonObject *events[G_N_ELEMENTS (reports)] = { NULL };
  GError *errors[G_N_ELEMENTS (reports)] = { NULL };
  g_autoptr (GError) error = NULL;
  gboolean duplicate = FALSE;

  enroll (f, "dev-1");
  enroll (f, "dev-2");
  g_assert_cmpuint (vigil_host_record_device_events (f->host, G_N_ELEMENTS (reports), devices,
                                                     reports, NULL, events, errors), ==, 4);
  g_assert_no_error (errors[0]);
  g_assert_false (json_object_get_boolean_member (events[0], "duplicate"));
  g_assert_error (errors[1], VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (errors[1]->message, "\"payload_version\""));
  g_assert_null (events[1]);
  g_assert_no_error (errors[2]);
  g_assert_no_error (errors[3]);           /* the same id, same device: stored once */
  g_assert_true (json_object_get_boolean_member (events[3], "duplicate"));
  g_assert_error (errors[4], VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_assert_error (errors[5], VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);  /* another's id */
  g_assert_no_error (errors[6]);
  g_assert_cmpstr (json_object_get_string_member (events[6], "device"), ==, "dev-2");
  for (guint i = 0; i < G_N_ELEMENTS (reports); i++)
    {
      g_clear_error (&errors[i]);
      g_clear_pointer (&events[i], json_object_unref);
    }
  g_assert_cmpuint (count_events (f, "quarantine.added"), ==, 2);
  g_assert_cmpuint (count_events (f, "quarantine.deleted"), ==, 1);
  g_assert_cmpuint (count_events (f, "lab.seen"), ==, 0);

  /* The handlers answer each stored event once, in order. */
  vigil_host_run_until_idle (f->host, NULL);
  g_assert_false (in_common_list (f, "dev-1/obj-1"));
  g_assert_true (in_common_list (f, "dev-2/obj-2"));
  /* Delivered again later (a redelivery after a console restart): still
   * once, and no handler sees it again. */
  g_assert_true (device_event (f, "dev-1", added, &duplicate, &error));
  g_assert_no_error (error);
  g_assert_true (duplicate);
  vigil_host_run_until_idle (f->host, NULL);
  g_assert_false (in_common_list (f, "dev-1/obj-1"));
  g_assert_cmpuint (count_events (f, "quarantine.added"), ==, 2);
  /* An empty batch stores nothing. */
  g_assert_cmpuint (vigil_host_record_device_events (f->host, 0, NULL, NULL, NULL, NULL, NULL),
                    ==, 0);
}

/* The unmasked read has the secrets the masked one hides; both agree on
 * everything else. */
static void
test_settings_unmasked (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) policy = NULL, masked = NULL, plain = NULL;
  const char *json = "{\"name\": \"p\", \"group\": \"lab\", \"status\": \"active\","
    " \"settings\": {\"sandbox_response\": {\"schema_version\": 1, \"account\":"
    " {\"locked\": true, \"values\": {\"user\": \"svc\", \"password\": \"s3cret\"}}}}}";
  g_autofree char *m = NULL, *p = NULL;

  policy = vigil_host_parse_policy (json, strlen (json), NULL);
  g_assert_nonnull (policy);
  g_assert_true (vigil_host_apply_policy (f->host, policy, NULL, NULL, &error));
  g_assert_no_error (error);
  masked = vigil_host_effective_settings (f->host, "dev-1", "sandbox_response", NULL, &error);
  plain = vigil_host_effective_settings_unmasked (f->host, "dev-1", "sandbox_response", &error);
  g_assert_no_error (error);
  m = json_to_string (json_node_init_object (json_node_alloc (), masked), FALSE);
  p = json_to_string (json_node_init_object (json_node_alloc (), plain), FALSE);
  g_assert_null (strstr (m, "s3cret"));
  g_assert_nonnull (strstr (p, "s3cret"));
  g_assert_null (vigil_host_effective_settings_unmasked (f->host, "dev-1", "no_such", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* A local boolean setting of a section other than sandbox_response, set
 * to the opposite of its default: (transfer full) section -> group -> key. */
static JsonObject *
local_flip (Fixture *f)
{
  g_autoptr (JsonObject) defaults = vigil_host_default_policy (f->host);
  JsonObject *settings = json_object_get_object_member (defaults, "settings");
  g_autoptr (GList) sections = json_object_get_members (settings);

  for (GList *s = sections; s != NULL; s = s->next)
    {
      JsonObject *section = json_object_get_object_member (settings, s->data);
      g_autoptr (GList) groups = json_object_get_members (section);

      if (g_str_equal (s->data, "sandbox_response"))
        continue;
      for (GList *g = groups; g != NULL; g = g->next)
        {
          JsonNode *gn = json_object_get_member (section, g->data);
          JsonObject *values;
          g_autoptr (GList) keys = NULL;

          if (!JSON_NODE_HOLDS_OBJECT (gn)
              || (values = json_object_get_object_member (json_node_get_object (gn),
                                                          "values")) == NULL)
            continue;
          keys = json_object_get_members (values);
          for (GList *k = keys; k != NULL; k = k->next)
            {
              JsonNode *v = json_object_get_member (values, k->data);
              JsonObject *out, *sec, *grp;

              if (json_node_get_value_type (v) != G_TYPE_BOOLEAN)
                continue;
              out = json_object_new ();
              sec = json_object_new ();
              grp = json_object_new ();
              json_object_set_boolean_member (grp, k->data, !json_node_get_boolean (v));
              json_object_set_object_member (sec, g->data, grp);
              json_object_set_object_member (out, s->data, sec);
              return out;
            }
        }
    }
  g_assert_not_reached ();
  return NULL;
}

/* Many devices' settings at once (the console's dispatch of a round):
 * each device gets exactly what the one-device read gives, secrets
 * included; devices with the same group, out-of-office state and local
 * settings share one object; a device not in the inventory is left out. */
static void
test_devices_settings (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) policy = NULL, sub_policy = NULL, local = NULL, all = NULL;
  const char *json = "{\"name\": \"p\", \"group\": \"lab\", \"status\": \"active\","
    " \"settings\": {\"sandbox_response\": {\"schema_version\": 1, \"account\":"
    " {\"locked\": true, \"values\": {\"user\": \"svc\", \"password\": \"s3cret\"}}}}}";
  const char *sub_json = "{\"name\": \"q\", \"group\": \"sub\", \"status\": \"active\","
    " \"settings\": {\"sandbox_response\": {\"schema_version\": 1, \"account\":"
    " {\"values\": {\"user\": \"other\"}}}}}";
  const char *ids[] = { "dev-1", "dev-2", "dev-3", "dev-4", "dev-5", "ghost", NULL };
  g_autoptr (JsonArray) sections = vigil_host_sections (f->host);
  g_autofree char *text = NULL;

  policy = vigil_host_parse_policy (json, strlen (json), NULL);
  sub_policy = vigil_host_parse_policy (sub_json, strlen (sub_json), NULL);
  g_assert_true (vigil_host_add_group (f->host, "sub", NULL, "lab", &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-3", NULL, "sub", f->root, &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-4", NULL, "lab", f->root, &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-5", NULL, "lab", f->root, &error));
  g_assert_true (vigil_host_apply_policy (f->host, policy, NULL, NULL, &error));
  g_assert_true (vigil_host_apply_policy (f->host, sub_policy, NULL, NULL, &error));
  local = local_flip (f);
  g_assert_true (vigil_host_set_device_settings (f->host, "dev-2", local, NULL, NULL, &error));
  g_assert_true (vigil_host_set_device_out_of_office (f->host, "dev-5", TRUE, &error));
  g_assert_no_error (error);

  all = vigil_host_devices_settings_unmasked (f->host, ids, &error);
  g_assert_no_error (error);
  g_assert_nonnull (all);
  g_assert_cmpuint (json_object_get_size (all), ==, 5);
  g_assert_false (json_object_has_member (all, "ghost"));
  for (guint d = 0; d < 5; d++)
    {
      JsonObject *mine = json_object_get_object_member (all, ids[d]);

      g_assert_cmpuint (json_object_get_size (mine), ==, json_array_get_length (sections));
      for (guint i = 0; i < json_array_get_length (sections); i++)
        {
          const char *id = json_object_get_string_member (
              json_array_get_object_element (sections, i), "id");
          g_autoptr (JsonObject) one = vigil_host_effective_settings_unmasked (f->host, ids[d],
                                                                               id, &error);
          g_autofree char *a = NULL, *b = NULL;

          g_assert_no_error (error);
          a = json_to_string (json_node_init_object (json_node_alloc (), one), FALSE);
          b = json_to_string (json_node_init_object (json_node_alloc (),
                                                     json_object_get_object_member (mine, id)),
                              FALSE);
          g_assert_cmpstr (a, ==, b);
        }
    }
  /* dev-1 and dev-4: same group, in the office, no local settings. */
  g_assert_true (json_object_get_object_member (all, "dev-1")
                 == json_object_get_object_member (all, "dev-4"));
  g_assert_true (json_object_get_object_member (all, "dev-1")
                 != json_object_get_object_member (all, "dev-2"));
  g_assert_true (json_object_get_object_member (all, "dev-1")
                 != json_object_get_object_member (all, "dev-3"));
  text = json_to_string (json_node_init_object (json_node_alloc (),
                                                json_object_get_object_member (all, "dev-3")),
                         FALSE);
  g_assert_nonnull (strstr (text, "s3cret"));   /* locked above: kept */
  g_assert_nonnull (strstr (text, "\"svc\""));  /* locked: "other" does not win */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/fleet/dispatch/dispatched-then-reported", test_dispatched_then_reported);
  ADD ("/fleet/dispatch/failed-report", test_failed_report);
  ADD ("/fleet/dispatch/bad-reports", test_bad_reports);
  ADD ("/fleet/dispatch/declined-runs-here", test_declined_runs_here);
  ADD ("/fleet/dispatch/cancel-dispatched", test_cancel_dispatched);
  ADD ("/fleet/dispatch/cancel-running-elsewhere", test_cancel_running_elsewhere);
  ADD ("/fleet/dispatch/device-events", test_device_events);
  ADD ("/fleet/dispatch/settings-unmasked", test_settings_unmasked);
  ADD ("/fleet/dispatch/devices-settings", test_devices_settings);
  ADD ("/fleet/dispatch/batch", test_batch);
  ADD ("/fleet/dispatch/device-events-batch", test_device_events_batch);
  return g_test_run ();
}
