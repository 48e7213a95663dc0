/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's runs over the broker, in `vigil serve` with a fleet.
 * Publishing: every run stored "dispatched" (fleet-dispatch.c took it, in
 * this process or another) is published to vigil.run.<device> with the
 * message id <task>.<run>, so however often it is published again (after
 * a reconnection, a console restart) the stream keeps it once. The body is
 * {run, task, type, device, params, settings}, settings being the device's
 * effective settings of every section. Ingesting: a thread pulls the
 * devices' reports through the console's durable consumer and hands each
 * fetched batch to the main loop, which stores it in one transaction with
 * vigil_host_record_run_reports and only then acknowledges each report,
 * so a console that stops in between gets them again. The device a report is about is the one its subject names (the
 * broker lets a device publish under its own id only).
 */
#include "serve-runs.h"
#include "stop-flag.h"
#include "fleet-common.h"
#include "fleet-subjects.h"

#include <string.h>

/* Up to this many reports are stored in one transaction (one sync). */
#define FETCH_BATCH     128
#define FETCH_WAIT_MS   500
#define RETRY_WAIT_US   (500 * G_TIME_SPAN_MILLISECOND)
#define MAX_REPORT_BYTES (1024 * 1024)

struct _ServeRuns {
  Serve            *serve;
  jsCtx            *js;
  GHashTable       *published;   /* run ids (gint64*) published since connecting */
  gint64            cursor;      /* runs up to this id need no publishing */
  GThread          *thread;
  CliStopFlag       stop;
};

typedef struct {
  ServeRuns *runs;
  natsMsg  **msgs;
  int        count;
} Reports;

/* ---- publishing ------------------------------------------------------- */

static JsonObject *
device_settings (VigilHost *host, const char *device)
{
  g_autoptr (JsonArray) sections = vigil_host_sections (host);
  JsonObject *settings = json_object_new ();

  for (guint i = 0; sections != NULL && i < json_array_get_length (sections); i++)
    {
      const char *id = json_object_get_string_member (json_array_get_object_element (sections, i),
                                                      "id");
      JsonObject *values = vigil_host_effective_settings (host, device, id, NULL, NULL);

      if (values != NULL)
        json_object_set_object_member (settings, id, values);
    }
  return settings;
}

static gboolean
publish_one (ServeRuns *runs, JsonObject *run, GError **error)
{
  VigilHost *host = runs->serve->host;
  const char *task_id = json_object_get_string_member (run, "task_id");
  const char *device = json_object_get_string_member (run, "device");
  gint64 id = json_object_get_int_member (run, "id");
  g_autoptr (JsonObject) task = vigil_host_task (host, task_id, error);
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL, *subject = NULL, *msg_id = NULL;
  gboolean duplicate = FALSE;

  if (task == NULL)
    return FALSE;
  body = json_object_new ();
  json_object_set_int_member (body, "run", id);
  json_object_set_string_member (body, "task", task_id);
  json_object_set_string_member (body, "type", json_object_get_string_member (task, "type"));
  json_object_set_string_member (body, "device", device);
  json_object_set_member (body, "params",
                          json_node_copy (json_object_get_member (task, "params")));
  json_object_set_object_member (body, "settings", device_settings (host, device));
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, body);
  text = json_to_string (node, FALSE);
  subject = vigil_fleet_subject_run (device);
  msg_id = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task_id, id);
  if (!vigil_fleet_publish (runs->js, subject, msg_id, text, (int) strlen (text), &duplicate,
                            error))
    return FALSE;
  g_printerr ("vigil serve: fleet: run %s of task %s published to device '%s'%s\n", msg_id,
              task_id, device, duplicate ? " (the stream had it already)" : "");
  return TRUE;
}

void
serve_runs_publish (ServeRuns *runs)
{
  g_autoptr (JsonArray) all = vigil_host_runs_after (runs->serve->host, runs->cursor, NULL);
  gint64 cursor = runs->cursor;
  gboolean blocked = FALSE;

  gboolean held = FALSE;

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *run = json_array_get_object_element (all, i);
      const char *state = json_object_get_string_member (run, "state");
      gint64 id = json_object_get_int_member (run, "id");
      g_autoptr (GError) error = NULL;

      if (!blocked && g_strcmp0 (state, "dispatched") == 0
          && !g_hash_table_contains (runs->published, &id))
        {
          if (publish_one (runs, run, &error))
            g_hash_table_add (runs->published, g_memdup2 (&id, sizeof id));
          else
            {
              g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " not published yet: %s\n",
                          id, error->message);
              blocked = TRUE;   /* in order: the later ones wait too */
            }
        }
      /* The cursor stops before a run not published yet, and before a
       * pending one: another process may dispatch it a moment later. */
      if (blocked || g_strcmp0 (state, "pending") == 0)
        held = TRUE;
      if (!held)
        cursor = id;
    }
  runs->cursor = cursor;
}

void
serve_runs_reconnected (ServeRuns *runs)
{
  g_hash_table_remove_all (runs->published);
  runs->cursor = 0;
  serve_runs_publish (runs);
}

/* ---- ingesting -------------------------------------------------------- */

/* The subject's token @index (0-based), or NULL. (transfer full) */
static char *
token (const char *subject, guint index)
{
  g_auto (GStrv) tokens = g_strsplit (subject, ".", 8);
  return index < g_strv_length (tokens) ? g_strdup (tokens[index]) : NULL;
}

/* A report's device, or NULL (and the message terminated) when it is not
 * a run report. (transfer full) */
static char *
run_report_device (natsMsg *msg)
{
  const char *subject = natsMsg_GetSubject (msg);
  g_autofree char *device = token (subject, 2), *kind = token (subject, 4);

  if (device == NULL || !vigil_fleet_device_id_check (device, NULL)
      || g_strcmp0 (kind, "run") != 0 || natsMsg_GetDataLength (msg) > MAX_REPORT_BYTES)
    {
      /* Nothing else is reported yet; kept out of the way, not retried. */
      g_printerr ("vigil serve: fleet: report on %s dropped: not a run report\n", subject);
      natsMsg_Term (msg, NULL);
      return NULL;
    }
  return g_steal_pointer (&device);
}

/* Acknowledges a report once stored, or says why not: refused (from the
 * device: wrong now, wrong at every redelivery) or to come again. */
static void
report_done (natsMsg *msg, const char *device, JsonObject *report, GError *error)
{
  if (error == NULL)
    {
      const char *state = json_object_get_string_member_with_default (report, "state", "");

      if (!g_str_equal (state, "running"))
        g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " of device '%s' %s\n",
                    json_object_get_int_member_with_default (report, "run", 0), device, state);
      natsMsg_Ack (msg, NULL);
    }
  else if (g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID)
           || g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND))
    {
      g_printerr ("vigil serve: fleet: report of device '%s' refused: %s\n", device,
                  error->message);
      natsMsg_Term (msg, NULL);
    }
  else
    {
      g_printerr ("vigil serve: fleet: report of device '%s' not stored, will come again: %s\n",
                  device, error->message);
      natsMsg_Nak (msg, NULL);
    }
}

/* One fetched batch: the run reports are stored in one transaction
 * (vigil_host_record_run_reports: one sync to disk for the batch), each
 * acknowledged only then. */
static gboolean
handle_reports (gpointer data)
{
  Reports *b = data;
  VigilHost *host = b->runs->serve->host;
  g_autoptr (GPtrArray) devices = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) reports = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr (GPtrArray) msgs = g_ptr_array_new ();
  g_autofree GError **errors = NULL;

  for (int i = 0; i < b->count; i++)
    {
      natsMsg *msg = b->msgs[i];
      g_autofree char *device = run_report_device (msg);
      g_autoptr (GError) error = NULL;
      JsonObject *report;

      if (device == NULL)
        continue;
      report = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                               natsMsg_GetSubject (msg), &error);
      if (report == NULL)
        {
          report_done (msg, device, NULL, error);
          continue;
        }
      g_ptr_array_add (devices, g_steal_pointer (&device));
      g_ptr_array_add (reports, report);
      g_ptr_array_add (msgs, msg);
    }
  errors = g_new0 (GError *, msgs->len + 1);
  if (msgs->len > 0)
    vigil_host_record_run_reports (host, msgs->len, (const char *const *) devices->pdata,
                                   (JsonObject *const *) reports->pdata, errors);
  for (guint i = 0; i < msgs->len; i++)
    {
      report_done (msgs->pdata[i], devices->pdata[i], reports->pdata[i], errors[i]);
      g_clear_error (&errors[i]);
    }
  if (msgs->len > 0)
    serve_tick_soon (b->runs->serve);
  return G_SOURCE_REMOVE;
}

static void
reports_free (gpointer data)
{
  Reports *b = data;

  for (int i = 0; i < b->count; i++)
    natsMsg_Destroy (b->msgs[i]);
  g_free (b->msgs);
  g_free (b);
}

static gpointer
reader (gpointer data)
{
  ServeRuns *runs = data;
  natsSubscription *sub = NULL;

  while (!cli_stop_flag_raised (&runs->stop))
    {
      natsMsgList list = { 0 };
      jsErrCode jerr = 0;
      natsStatus s;

      if (sub == NULL)
        {
          /* The broker may be down, or the layout not made yet. */
          sub = vigil_fleet_console_reports_subscribe (runs->js, NULL);
          if (sub == NULL && cli_stop_flag_wait (&runs->stop, RETRY_WAIT_US))
            break;
          continue;
        }
      s = natsSubscription_Fetch (&list, sub, FETCH_BATCH, FETCH_WAIT_MS, &jerr);
      if (s == NATS_OK)
        {
          Reports *b = g_new0 (Reports, 1);

          b->runs = runs;
          b->count = list.Count;
          b->msgs = g_new0 (natsMsg *, MAX (list.Count, 1));
          for (int i = 0; i < list.Count; i++)
            b->msgs[i] = g_steal_pointer (&list.Msgs[i]);
          g_idle_add_full (G_PRIORITY_DEFAULT, handle_reports, b, reports_free);
          natsMsgList_Destroy (&list);
        }
      else if (s != NATS_TIMEOUT && cli_stop_flag_wait (&runs->stop, RETRY_WAIT_US))
        break;
    }
  if (sub != NULL)
    natsSubscription_Destroy (sub);
  return NULL;
}

ServeRuns *
serve_runs_new (Serve *serve, jsCtx *js)
{
  ServeRuns *runs = g_new0 (ServeRuns, 1);

  runs->serve = serve;
  runs->js = js;
  runs->published = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  cli_stop_flag_init (&runs->stop);
  runs->thread = g_thread_new ("vigil-reports", reader, runs);
  return runs;
}

void
serve_runs_free (ServeRuns *runs)
{
  if (runs == NULL)
    return;
  cli_stop_flag_raise (&runs->stop);
  g_thread_join (runs->thread);
  /* Reports already handed to the main loop are stored (and acknowledged)
   * now rather than dropped: either way the stream keeps what was not. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_hash_table_destroy (runs->published);
  cli_stop_flag_clear (&runs->stop);
  g_free (runs);
}
