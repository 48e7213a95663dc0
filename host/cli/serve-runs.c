/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's runs over the broker, in `vigil serve` with a fleet.
 * Publishing: every run stored "dispatched" (fleet-dispatch.c took it, in
 * this process or another) is published to vigil.run.<device> with the
 * message id <task>.<run>, so however often it is published again (after
 * a reconnection, a console restart) the stream keeps it once. The body is
 * {run, task, type, device, params, settings}, settings being the device's
 * effective settings of every section, secrets included (never logged).
 * Ingesting: a thread pulls the devices' reports through the console's
 * durable consumer and hands what it fetched to the main loop, which
 * stores what came since it last looked in one transaction per kind (run
 * reports with vigil_host_record_run_reports) and only then acknowledges
 * each, so a console that stops in between gets them again.
 * The device a report is about is the one its subject names (the broker
 * lets a device publish under its own id only). Reports of kind `event`
 * are the agents' events, stored a batch at a time in one transaction as
 * well (vigil_host_record_device_events), which the console's handlers
 * then answer. Progress ticks (plain NATS) become the
 * run's progress. A run that ends before its device took it (task
 * cancelled or deleted, device revoked or removed) is withdrawn from the
 * stream by its sequence; every run also carries valid_until, which the
 * agent checks, for what could not be withdrawn. The same sweep trims the
 * reports stream below what the console acknowledged.
 */
#include "serve-runs.h"
#include "serve-evidence.h"
#include "stop-flag.h"
#include "fleet-common.h"
#include "fleet-subjects.h"

#include <string.h>

/* Reports asked for per fetch; and at most this many of those fetched
 * and not yet handled are stored in one transaction (one sync). What the
 * reader may hold ahead is bounded by the consumer's maximum of
 * unacknowledged messages (not set: the broker's default). */
#define FETCH_BATCH     128
#define STORE_BATCH     1024
#define FETCH_WAIT_MS   500
#define RETRY_WAIT_US   (500 * G_TIME_SPAN_MILLISECOND)
#define MAX_REPORT_BYTES (1024 * 1024)
/* How long a published run may wait for its device (console clock); the
 * agent refuses it after that (with RUN_SKEW_US of tolerance on its own
 * clock), so a run the console could not withdraw does not run forever
 * late. */
#define RUN_VALID_US    (7 * G_TIME_SPAN_DAY)
#define SWEEP_TICKS     5   /* ended runs looked for every 5 publish ticks */

struct _ServeRuns {
  Serve            *serve;
  jsCtx            *js;
  GHashTable       *published;   /* run id (gint64*) → stream seq (guint64*) of the
                                  * runs published since connecting, not ended */
  guint             ticks;
  guint64           trimmed;     /* VIGIL_REPORTS trimmed up to this sequence */
  gint64            cursor;      /* runs up to this id need no publishing */
  GThread          *thread;
  CliStopFlag       stop;
  GMutex            fetched_lock;
  GPtrArray        *fetched;     /* natsMsg* the reader fetched, not handled yet */
  gboolean          scheduled;   /* handle_reports is queued on the main loop */
};

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
      /* Unmasked: the agent applies them (secrets included) to its own
       * device; they travel only over TLS to the device's own subject. */
      JsonObject *values = vigil_host_effective_settings_unmasked (host, device, id, NULL);

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
  guint64 seq = 0;

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
  json_object_set_int_member (body, "valid_until", vigil_host_now (host) + RUN_VALID_US);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, body);
  text = json_to_string (node, FALSE);
  subject = vigil_fleet_subject_run (device);
  msg_id = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task_id, id);
  if (!vigil_fleet_publish_seq (runs->js, subject, msg_id, text, (int) strlen (text), &seq,
                                &duplicate, error))
    return FALSE;
  g_hash_table_insert (runs->published, g_memdup2 (&id, sizeof id),
                       g_memdup2 (&seq, sizeof seq));
  g_printerr ("vigil serve: fleet: run %s of task %s published to device '%s'%s\n", msg_id,
              task_id, device, duplicate ? " (the stream had it already)" : "");
  return TRUE;
}

/* Runs published but ended without their device's report (task cancelled
 * or deleted, device revoked or removed; in this process or another) are
 * withdrawn from the stream, so an agent that was away does not get them. */
static void
withdraw_ended (ServeRuns *runs)
{
  g_autoptr (GHashTable) open = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                       NULL);
  g_autoptr (JsonArray) all = NULL;
  GHashTableIter iter;
  gpointer key, value;
  gint64 first = G_MAXINT64;

  if (g_hash_table_size (runs->published) == 0)
    return;
  g_hash_table_iter_init (&iter, runs->published);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    first = MIN (first, *(gint64 *) key);
  all = vigil_host_runs_after (runs->serve->host, first - 1, NULL);
  if (all == NULL)
    return;
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *run = json_array_get_object_element (all, i);
      const char *state = json_object_get_string_member (run, "state");
      gint64 id = json_object_get_int_member (run, "id");

      if (g_strcmp0 (state, "dispatched") == 0 || g_strcmp0 (state, "running") == 0)
        g_hash_table_add (open, g_memdup2 (&id, sizeof id));
    }
  g_hash_table_iter_init (&iter, runs->published);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autoptr (GError) error = NULL;
      gboolean gone = FALSE;

      if (g_hash_table_contains (open, key))
        continue;
      if (!vigil_fleet_run_withdraw (runs->js, *(guint64 *) value, &gone, &error))
        {
          g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " not withdrawn yet: %s\n",
                      *(gint64 *) key, error->message);
          continue;
        }
      if (gone)
        g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " withdrawn: it ended before "
                    "its device took it\n", *(gint64 *) key);
      g_hash_table_iter_remove (&iter);
    }
}

/* Reports the console acknowledged leave VIGIL_REPORTS, which otherwise
 * grows with every report (fleet.md, Run dispatch, item 8). Only a floor
 * higher than the last one is logged (a broker that lost its store starts
 * its sequences again: trimmed all the same, logged once past the old). */
static void
trim_reports (ServeRuns *runs)
{
  g_autoptr (GError) error = NULL;
  guint64 floor = 0;

  if (!vigil_fleet_reports_trim (runs->js, &floor, &error))
    g_printerr ("vigil serve: fleet: reports not trimmed yet: %s\n", error->message);
  else if (floor > runs->trimmed)
    {
      runs->trimmed = floor;
      g_printerr ("vigil serve: fleet: reports stream trimmed up to sequence %" G_GUINT64_FORMAT
                  " (acknowledged)\n", floor);
    }
}

static void
sweep (ServeRuns *runs)
{
  withdraw_ended (runs);
  trim_reports (runs);
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
          if (!publish_one (runs, run, &error))
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
  if (++runs->ticks % SWEEP_TICKS == 0)
    sweep (runs);
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

/* Acknowledges, terminates or hands back @msg after the host said @ok /
 * @error about what @device reported. */
static void
settle (natsMsg *msg, const char *device, const char *what, gboolean ok, GError *error)
{
  if (ok)
    natsMsg_Ack (msg, NULL);
  else if (g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID)
           || g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND))
    {
      /* From the device: wrong now, wrong at every redelivery. */
      g_printerr ("vigil serve: fleet: %s of device '%s' refused: %s\n", what, device,
                  error->message);
      natsMsg_Term (msg, NULL);
    }
  else
    {
      g_printerr ("vigil serve: fleet: %s of device '%s' not stored, will come again: %s\n",
                  what, device, error->message);
      natsMsg_Nak (msg, NULL);
    }
}

void
serve_runs_progress (ServeRuns *runs, const char *device, const char *data, int length)
{
  g_autoptr (JsonObject) tick = NULL, report = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *node;

  tick = vigil_host_parse_event_payload (data, length, "progress tick", &error);
  if (tick != NULL)
    {
      /* Only what a tick may say: the run's progress, never its end. */
      report = json_object_new ();
      json_object_set_string_member (report, "state", "running");
      if ((node = json_object_get_member (tick, "run")) != NULL)
        json_object_set_member (report, "run", json_node_copy (node));
      if ((node = json_object_get_member (tick, "progress")) != NULL)
        json_object_set_member (report, "progress", json_node_copy (node));
      if ((node = json_object_get_member (tick, "message")) != NULL)
        json_object_set_member (report, "message", json_node_copy (node));
    }
  if (report == NULL || !vigil_host_record_run_report (runs->serve->host, device, report, &error))
    g_printerr ("vigil serve: fleet: progress of device '%s' refused: %s\n", device,
                error->message);
}

/* A report's device, and whether it is an event or an evidence part (else
 * a run report); NULL (and the message terminated) when it is none of
 * them. (transfer full) */
static char *
report_device (natsMsg *msg, gboolean *is_event, gboolean *is_evidence)
{
  const char *subject = natsMsg_GetSubject (msg);
  g_autofree char *device = token (subject, 2), *kind = token (subject, 4);

  if (device == NULL || !vigil_fleet_device_id_check (device, NULL)
      || natsMsg_GetDataLength (msg) > MAX_REPORT_BYTES
      || !(g_strcmp0 (kind, "run") == 0 || g_strcmp0 (kind, "event") == 0
           || g_strcmp0 (kind, "evidence") == 0))
    {
      /* Kept out of the way, not retried. */
      g_printerr ("vigil serve: fleet: report on %s dropped: not a run, event or evidence "
                  "report\n", subject);
      natsMsg_Term (msg, NULL);
      return NULL;
    }
  *is_event = g_str_equal (kind, "event");
  *is_evidence = g_str_equal (kind, "evidence");
  return g_steal_pointer (&device);
}

/* A run report stored (@error NULL) or not: logged, acknowledged or not. */
static void
run_report_done (ServeRuns *runs, natsMsg *msg, const char *device, JsonObject *report,
                 GError *error)
{
  if (error == NULL)
    {
      const char *state = json_object_get_string_member_with_default (report, "state", "");
      gint64 run = json_object_get_int_member_with_default (report, "run", 0);

      /* Its device took it: nothing to withdraw. The running state is
       * logged too, so one can wait for a run in progress. */
      g_hash_table_remove (runs->published, &run);
      g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " of device '%s' %s\n", run,
                  device, state);
    }
  settle (msg, device, "report", error == NULL, error);
}

/* Reports of one kind gathered from a fetch, stored together. */
typedef struct {
  GPtrArray *devices;   /* of char* */
  GPtrArray *reports;   /* of JsonObject* (run reports only) */
  GPtrArray *msgs;      /* of natsMsg* (borrowed) */
} Batch;

static void
batch_reset (Batch *batch)
{
  g_ptr_array_set_size (batch->devices, 0);
  g_ptr_array_set_size (batch->reports, 0);
  g_ptr_array_set_size (batch->msgs, 0);
}

/* Stores the run reports gathered so far in one transaction
 * (vigil_host_record_run_reports: one sync to disk for all of them), then
 * acknowledges each. */
static void
run_batch_flush (ServeRuns *runs, Batch *batch)
{
  g_autofree GError **errors = NULL;
  guint n = batch->msgs->len;

  if (n == 0)
    return;
  errors = g_new0 (GError *, n + 1);
  vigil_host_record_run_reports (runs->serve->host, n,
                                 (const char *const *) batch->devices->pdata,
                                 (JsonObject *const *) batch->reports->pdata, errors);
  for (guint i = 0; i < n; i++)
    {
      run_report_done (runs, batch->msgs->pdata[i], batch->devices->pdata[i],
                       batch->reports->pdata[i], errors[i]);
      g_clear_error (&errors[i]);
    }
  batch_reset (batch);
  serve_tick_soon (runs->serve);
}

/* Stores the events the devices' agents forwarded (agent-events.c),
 * gathered so far, in one transaction (vigil_host_record_device_events),
 * then acknowledges each; the console's handlers answer them at the next
 * tick. The lines saying so go out in one write. */
static void
event_batch_flush (ServeRuns *runs, Batch *batch)
{
  guint n = batch->msgs->len;
  g_autofree GError **errors = NULL;
  g_autofree JsonObject **events = NULL;
  g_autofree const char **data = NULL;
  g_autofree gssize *lengths = NULL;
  g_autoptr (GString) lines = NULL;
  gboolean any = FALSE;

  if (n == 0)
    return;
  errors = g_new0 (GError *, n);
  events = g_new0 (JsonObject *, n);
  data = g_new0 (const char *, n);
  lengths = g_new0 (gssize, n);
  lines = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      data[i] = natsMsg_GetData (batch->msgs->pdata[i]);
      lengths[i] = natsMsg_GetDataLength (batch->msgs->pdata[i]);
    }
  vigil_host_record_device_events (runs->serve->host, n,
                                   (const char *const *) batch->devices->pdata, data, lengths,
                                   events, errors);
  for (guint i = 0; i < n; i++)
    {
      if (events[i] != NULL && !json_object_get_boolean_member (events[i], "duplicate"))
        g_string_append_printf (lines, "vigil serve: fleet: event %s (%s) of device '%s' "
                                "stored\n", json_object_get_string_member (events[i], "id"),
                                json_object_get_string_member (events[i], "type"),
                                (const char *) batch->devices->pdata[i]);
      any = any || events[i] != NULL;
    }
  if (lines->len > 0)
    g_printerr ("%s", lines->str);
  for (guint i = 0; i < n; i++)
    {
      settle (batch->msgs->pdata[i], batch->devices->pdata[i], "event", events[i] != NULL,
              errors[i]);
      g_clear_error (&errors[i]);
      g_clear_pointer (&events[i], json_object_unref);
    }
  batch_reset (batch);
  if (any)
    serve_tick_soon (runs->serve);
}

/* Reports in order: consecutive reports of one kind (run reports,
 * events) are stored together; a change of kind stores what came before
 * first, so handlers see a device's reports in the order it sent them. */
static void
store_reports (ServeRuns *runs, natsMsg *const *msgs, guint count)
{
  Batch batch = {
    g_ptr_array_new_with_free_func (g_free),
    g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref),
    g_ptr_array_new (),
  };
  gboolean events = FALSE;   /* what @batch holds */

  for (guint i = 0; i < count; i++)
    {
      natsMsg *msg = msgs[i];
      gboolean is_event = FALSE, is_evidence = FALSE;
      g_autofree char *device = report_device (msg, &is_event, &is_evidence);
      g_autoptr (GError) error = NULL;
      JsonObject *report = NULL;

      if (device == NULL)
        continue;
      if (is_evidence)
        {
          if (events)
            event_batch_flush (runs, &batch);
          else
            run_batch_flush (runs, &batch);
          serve_evidence_handle (runs->serve, msg, device);
          continue;
        }
      if (is_event != events)
        {
          if (events)
            event_batch_flush (runs, &batch);
          else
            run_batch_flush (runs, &batch);
          events = is_event;
        }
      if (!is_event)
        {
          report = vigil_host_parse_event_payload (natsMsg_GetData (msg),
                                                   natsMsg_GetDataLength (msg),
                                                   natsMsg_GetSubject (msg), &error);
          if (report == NULL)
            {
              settle (msg, device, "report", FALSE, error);
              continue;
            }
          g_ptr_array_add (batch.reports, report);
        }
      g_ptr_array_add (batch.devices, g_steal_pointer (&device));
      g_ptr_array_add (batch.msgs, msg);
    }
  if (events)
    event_batch_flush (runs, &batch);
  else
    run_batch_flush (runs, &batch);
  g_ptr_array_unref (batch.devices);
  g_ptr_array_unref (batch.reports);
  g_ptr_array_unref (batch.msgs);
}

/* Everything the reader fetched since the last time, at most STORE_BATCH
 * per transaction: when the main loop was busy, several fetches are
 * stored together (fewer syncs the busier it is). */
static gboolean
handle_reports (gpointer data)
{
  ServeRuns *runs = data;
  g_autoptr (GPtrArray) msgs = NULL;

  g_mutex_lock (&runs->fetched_lock);
  msgs = g_steal_pointer (&runs->fetched);
  runs->fetched = g_ptr_array_new_with_free_func ((GDestroyNotify) natsMsg_Destroy);
  runs->scheduled = FALSE;
  g_mutex_unlock (&runs->fetched_lock);
  for (guint i = 0; i < msgs->len; i += STORE_BATCH)
    store_reports (runs, (natsMsg *const *) msgs->pdata + i, MIN (STORE_BATCH, msgs->len - i));
  return G_SOURCE_REMOVE;
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
          g_mutex_lock (&runs->fetched_lock);
          for (int i = 0; i < list.Count; i++)
            g_ptr_array_add (runs->fetched, g_steal_pointer (&list.Msgs[i]));
          if (!runs->scheduled && runs->fetched->len > 0)
            {
              runs->scheduled = TRUE;
              g_idle_add_full (G_PRIORITY_DEFAULT, handle_reports, runs, NULL);
            }
          g_mutex_unlock (&runs->fetched_lock);
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
  runs->published = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_mutex_init (&runs->fetched_lock);
  runs->fetched = g_ptr_array_new_with_free_func ((GDestroyNotify) natsMsg_Destroy);
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
  g_ptr_array_unref (runs->fetched);
  g_mutex_clear (&runs->fetched_lock);
  cli_stop_flag_clear (&runs->stop);
  g_free (runs);
}
