/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's runs (the fleet, #13). A thread pulls the device's runs
 * from its own consumer, one at a time, and hands each to the main loop,
 * where the host is used. A run is claimed in the run journal
 * (STATE/agent/runs/<task>.<run>, durable, once) before anything else:
 * a run already claimed is never executed again, however often it is
 * delivered (an ended one has its end sent again, which only counts when
 * the broker lost the first). The delivery is then acknowledged, and the
 * run executes through the public API on the agent's own device `self`
 * (root --root, or /), as a local task. Its reports ("running", then the end with result
 * and findings) go to the outbox on disk first (STATE/agent/outbox/) and
 * are published from there with the message ids <task>.<run>.running and
 * <task>.<run>.end, so that a report re-sent after a crash or a broker
 * outage is stored once. A run claimed but never ended (the agent died
 * during it) is reported failed when the agent starts again; its end
 * carries the same message id as a real end would, so only one of them
 * is ever stored. Before executing, a run the console says ended meanwhile
 * is not executed, a run past its valid_until (console clock, with some
 * skew forgiven) is failed instead, and the run's settings become the
 * local settings of `self`
 * (agent-settings.c); while it executes, its progress goes out as
 * plain NATS ticks, and the console may cancel it (agent-cancel.c).
 */
#include "agent-runs.h"
#include "agent-cancel.h"
#include "agent-events.h"
#include "agent-settings.h"
#include "stop-flag.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"
#include "fleet-outbox.h"
#include "fleet-subjects.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define SELF_DEVICE     "self"
#define SELF_GROUP      "agent"
#define FETCH_WAIT_MS   30000
#define RETRY_WAIT_US   (500 * G_TIME_SPAN_MILLISECOND)
#define MAX_RUN_BYTES   (1024 * 1024)
#define DIED_REASON     "the agent stopped during the run"
#define CANCELLED_REASON "cancelled by the console while the agent ran it"
#define ENDED_REASON    "not executed: it ended on the console before the agent started it"
#define LOST_REASON     "the agent ran it once already, and its report of that was lost " \
                        "(the broker lost its store): executed once, result unknown"
/* A run's valid_until is on the console's clock: this much skew is
 * forgiven before a late run is refused. */
#define RUN_SKEW_US     (10 * G_TIME_SPAN_MINUTE)
/* Progress ticks are plain NATS and at most this often per run. */
#define TICK_EVERY_US   G_TIME_SPAN_SECOND

struct _AgentRuns {
  VigilHost        *host;
  char             *device_id;
  char             *journal_dir, *done_dir;
  char             *ack_prefix;   /* $JS.ACK.VIGIL_RUNS.run-<id>. */
  char             *report_subject;
  char             *progress_subject;
  gint64            current_run;   /* the run executing now, for its ticks */
  gint64            last_tick_us;
  natsConnection   *nc;
  jsCtx            *js;
  VigilFleetOutbox *outbox;
  AgentEvents      *events;       /* the event log's way to the outbox */
  AgentCancel      *cancel;       /* the console's cancels of the run executing */
  GThread          *thread;
  GAsyncQueue      *handled;      /* main → reader: a run was handled */
  CliStopFlag       stop;
  guint             flush_id;
};

typedef struct {
  AgentRuns *runs;
  natsMsg   *msg;
} Delivery;

/* ---- reports ---------------------------------------------------------- */

static void
flush (AgentRuns *runs)
{
  g_autoptr (GError) error = NULL;

  if (vigil_fleet_outbox_pending (runs->outbox) == 0
      || natsConnection_Status (runs->nc) != NATS_CONN_STATUS_CONNECTED)
    return;
  if (!vigil_fleet_outbox_flush (runs->outbox, runs->js, NULL, NULL, &error))
    g_printerr ("vigil agent: reports kept on disk for later: %s\n", error->message);
}

static gboolean
on_flush_timer (gpointer data)
{
  AgentRuns *runs = data;

  agent_events_collect (runs->events);
  flush (runs);
  return G_SOURCE_CONTINUE;
}

/* Writes @report to the outbox under <@run_key>.<@suffix>. */
static gboolean
put_report (AgentRuns *runs, const char *run_key, const char *suffix, JsonObject *report)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL, *msg_id = g_strdup_printf ("%s.%s", run_key, suffix);
  g_autoptr (GError) error = NULL;

  json_node_set_object (node, report);
  text = json_to_string (node, FALSE);
  if (vigil_fleet_outbox_put (runs->outbox, runs->report_subject, msg_id, text, -1, &error))
    return TRUE;
  g_printerr ("vigil agent: cannot keep the report %s: %s\n", msg_id, error->message);
  return FALSE;
}

static JsonObject *
report_new (gint64 run, const char *state, const char *why)
{
  JsonObject *o = json_object_new ();

  json_object_set_int_member (o, "run", run);
  json_object_set_string_member (o, "state", state);
  if (why != NULL)
    json_object_set_string_member (o, "error", why);
  return o;
}

/* The run's end is written, so a restart does not report it again. */
static void
mark_done (AgentRuns *runs, const char *run_key)
{
  g_autofree char *path = g_build_filename (runs->done_dir, run_key, NULL);
  g_autoptr (GError) error = NULL;

  if (!g_file_set_contents_full (path, "", 0, G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE, 0600, &error))
    g_printerr ("vigil agent: %s\n", error->message);
}

static gboolean
is_done (AgentRuns *runs, const char *run_key)
{
  g_autofree char *path = g_build_filename (runs->done_dir, run_key, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* "<task>.<run>" → run, or 0. */
static gint64
run_of_key (const char *run_key)
{
  const char *dot = strrchr (run_key, '.');
  gint64 run = 0;

  if (dot == NULL || !g_ascii_string_to_signed (dot + 1, 10, 1, G_MAXINT64, &run, NULL))
    return 0;
  return run;
}

/* Runs claimed by an earlier process that never ended: it died during
 * them. They end failed, and the next round is not held up. */
static void
recover (AgentRuns *runs)
{
  g_autoptr (GDir) dir = g_dir_open (runs->journal_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autoptr (JsonObject) report = NULL;
      gint64 run = run_of_key (name);

      if (run == 0 || is_done (runs, name))
        continue;
      report = report_new (run, "failed", DIED_REASON);
      if (put_report (runs, name, "end", report))
        {
          mark_done (runs, name);
          g_printerr ("vigil agent: run %s was interrupted: reported failed (in the outbox "
                      "until the broker has it)\n", name);
        }
    }
}

/* ---- executing --------------------------------------------------------- */

static gboolean
has_task_type (VigilHost *host, const char *type)
{
  g_autoptr (JsonArray) types = vigil_host_task_types (host);

  for (guint i = 0; types != NULL && i < json_array_get_length (types); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (types, i), "id"),
                   type) == 0)
      return TRUE;
  return FALSE;
}

static void
copy_member (JsonObject *to, JsonObject *from, const char *from_name, const char *to_name)
{
  JsonNode *node = json_object_get_member (from, from_name);

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    json_object_set_member (to, to_name, json_node_copy (node));
}

/* The executing run's progress, to the console (it may be lost: the end
 * report carries the last value anyway). */
static void
on_progress (const char *task_id, const char *device_id, double fraction, const char *message,
             gpointer user_data)
{
  AgentRuns *runs = user_data;
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  gint64 now = g_get_monotonic_time ();

  if (runs->current_run <= 0 || (now - runs->last_tick_us < TICK_EVERY_US && fraction < 1.0)
      || natsConnection_Status (runs->nc) != NATS_CONN_STATUS_CONNECTED)
    return;
  runs->last_tick_us = now;
  json_object_set_int_member (o, "run", runs->current_run);
  json_object_set_double_member (o, "progress", CLAMP (fraction, 0.0, 1.0));
  if (message != NULL)
    json_object_set_string_member (o, "message", message);
  json_node_set_object (node, json_object_ref (o));
  text = json_to_string (node, FALSE);
  natsConnection_PublishString (runs->nc, runs->progress_subject, text);
}

/* Executes the run on `self`; returns its end report. */
static JsonObject *
execute (AgentRuns *runs, const char *run_key, gint64 run, const char *type, JsonObject *params,
         GCancellable *cancellable)
{
  VigilHost *host = runs->host;
  VigilTaskSpec spec = { .type = type, .name = run_key, .device_id = SELF_DEVICE,
                         .params = params, .schedule = "{\"kind\": \"manual\"}" };
  g_autoptr (GError) error = NULL;
  g_autofree char *task = NULL, *why = NULL;
  g_autoptr (JsonArray) round = NULL, stored = NULL;
  JsonObject *local, *report;
  const char *state;

  if (!has_task_type (host, type))
    {
      why = g_strdup_printf ("the agent has no plugin for task type %s", type);
      return report_new (run, "failed", why);
    }
  task = vigil_host_create_task (host, "agent", &spec, &error);
  if (task == NULL)
    return report_new (run, "failed", error->message);
  runs->current_run = run;
  runs->last_tick_us = 0;
  round = vigil_host_run_task (host, task, on_progress, runs, cancellable, &error);
  runs->current_run = 0;
  stored = round ? vigil_host_task_runs (host, task, TRUE, &error) : NULL;
  if (stored == NULL || json_array_get_length (stored) != 1)
    return report_new (run, "failed", error ? error->message : "the run did not start");
  local = json_array_get_object_element (stored, 0);
  state = json_object_get_string_member (local, "state");
  if (g_strcmp0 (state, "completed") == 0)
    report = report_new (run, "completed", NULL);
  else
    report = report_new (run, "failed",
                         json_object_get_string_member_with_default (local, "error", NULL)
                         ? json_object_get_string_member (local, "error") : state);
  copy_member (report, local, "progress", "progress");
  copy_member (report, local, "message", "message");
  copy_member (report, local, "result", "result");
  copy_member (report, local, "findings", "findings");
  return report;
}


/* ---- one delivery, on the main thread ---------------------------------- */

static gboolean
read_run (AgentRuns *runs, natsMsg *msg, gint64 *run, char **task, char **type,
          JsonObject **params, JsonObject **settings, gint64 *valid_until, GError **error)
{
  g_autoptr (JsonObject) body = NULL;
  JsonNode *node;

  if (natsMsg_GetDataLength (msg) > MAX_RUN_BYTES)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, "larger than %d bytes",
                   MAX_RUN_BYTES);
      return FALSE;
    }
  body = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                         natsMsg_GetSubject (msg), error);
  if (body == NULL)
    return FALSE;
  node = json_object_get_member (body, "run");
  *run = node && json_node_get_value_type (node) == G_TYPE_INT64 ? json_node_get_int (node) : 0;
  *task = g_strdup (json_object_get_string_member_with_default (body, "task", NULL));
  *type = g_strdup (json_object_get_string_member_with_default (body, "type", NULL));
  node = json_object_get_member (body, "params");
  *params = node && JSON_NODE_HOLDS_OBJECT (node) ? json_object_ref (json_node_get_object (node))
                                                  : NULL;
  node = json_object_get_member (body, "valid_until");
  *valid_until = node && json_node_get_value_type (node) == G_TYPE_INT64
                 ? json_node_get_int (node) : 0;
  if (node != NULL && *valid_until <= 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: \"valid_until\" must be a time in microseconds", natsMsg_GetSubject (msg));
      return FALSE;
    }
  node = json_object_get_member (body, "settings");
  *settings = node && JSON_NODE_HOLDS_OBJECT (node)
              ? json_object_ref (json_node_get_object (node)) : NULL;
  if (node != NULL && *settings == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: \"settings\" must be an object", natsMsg_GetSubject (msg));
      return FALSE;
    }
  if (*run <= 0 || *task == NULL || *type == NULL || *params == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (body, "device", NULL),
                    runs->device_id) != 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: a run needs run (integer), task, type, params (object) and this "
                   "device", natsMsg_GetSubject (msg));
      return FALSE;
    }
  return TRUE;
}

/* A run delivered again after it ended here: its end goes out once more
 * under the end's message id. Inside the stream's duplicate window the
 * stream drops it; after that the console's run has ended and keeps its
 * state. Only when the first end never reached the console (the broker
 * lost its store after acknowledging it, and the console published the
 * run again) does this one end the run, saying so. */
static void
resend_end (AgentRuns *runs, const char *run_key, gint64 run)
{
  g_autoptr (JsonObject) end = NULL;

  if (!is_done (runs, run_key))
    return;
  end = report_new (run, "failed", LOST_REASON);
  put_report (runs, run_key, "end", end);
  flush (runs);
}

static void
handle (AgentRuns *runs, natsMsg *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = NULL, settings = NULL, running = NULL, end = NULL;
  g_autofree char *task = NULL, *type = NULL, *run_key = NULL, *why = NULL;
  const char *reply = natsMsg_GetReply (msg);
  gint64 run = 0, valid_until = 0;

  /* Only what the device's own consumer delivered is a run (fleet.md,
   * Security model, Residual). */
  if (reply == NULL || !g_str_has_prefix (reply, runs->ack_prefix))
    {
      g_printerr ("vigil agent: a message on %s not from this device's runs ignored\n",
                  natsMsg_GetSubject (msg));
      return;
    }
  if (!read_run (runs, msg, &run, &task, &type, &params, &settings, &valid_until, &error))
    {
      g_printerr ("vigil agent: run refused: %s\n", error->message);
      natsMsg_Term (msg, NULL);
      return;
    }
  run_key = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task, run);
  switch (vigil_fleet_run_claim (runs->journal_dir, run_key, &error))
    {
    case VIGIL_FLEET_CLAIM_TAKEN:
      g_printerr ("vigil agent: run %s delivered again: not executed again\n", run_key);
      natsMsg_Ack (msg, NULL);
      resend_end (runs, run_key, run);
      return;
    case VIGIL_FLEET_CLAIM_ERROR:
      /* Not acknowledged: the broker delivers it again later. */
      g_printerr ("vigil agent: run %s not claimed: %s\n", run_key, error->message);
      return;
    case VIGIL_FLEET_CLAIM_NEW:
      break;
    }
  natsMsg_Ack (msg, NULL);
  /* Ended on the console meanwhile (a cancel the console could not
   * withdraw from the stream): not executed. */
  if (!agent_cancel_still_current (runs->cancel, task, run))
    {
      g_printerr ("vigil agent: run %s not executed: it ended on the console before it "
                  "started\n", run_key);
      end = report_new (run, "failed", ENDED_REASON);
      if (put_report (runs, run_key, "end", end))
        mark_done (runs, run_key);
      flush (runs);
      return;
    }
  g_printerr ("vigil agent: run %s (%s) started\n", run_key, type);
  running = report_new (run, "running", NULL);
  put_report (runs, run_key, "running", running);
  flush (runs);
  if (valid_until > 0 && vigil_host_now (runs->host) > valid_until + RUN_SKEW_US)
    {
      g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (valid_until / G_USEC_PER_SEC);
      g_autofree char *when = t ? g_date_time_format_iso8601 (t) : g_strdup ("?");

      why = g_strdup_printf ("the run came too late: it was valid until %s", when);
      end = report_new (run, "failed", why);
    }
  else if (settings != NULL && !agent_settings_apply_run (runs->host, settings, &why))
    end = report_new (run, "failed", why);
  else
    {
      end = execute (runs, run_key, run, type, params,
                     agent_cancel_begin (runs->cancel, task, run));
      /* The console has it cancelled already; its end says why. */
      if (agent_cancel_end (runs->cancel)
          && g_strcmp0 (json_object_get_string_member (end, "state"), "completed") != 0)
        json_object_set_string_member (end, "error", CANCELLED_REASON);
    }
  /* What the run's plugins emitted goes before its end. */
  agent_events_collect (runs->events);
  if (put_report (runs, run_key, "end", end))
    mark_done (runs, run_key);
  g_printerr ("vigil agent: run %s %s%s%s\n", run_key,
              json_object_get_string_member (end, "state"),
              json_object_has_member (end, "error") ? ": " : "",
              json_object_get_string_member_with_default (end, "error", ""));
  flush (runs);
}

static gboolean
on_delivery (gpointer data)
{
  Delivery *d = data;

  /* Stopping: not acknowledged, so the broker delivers it again. */
  if (!cli_stop_flag_raised (&d->runs->stop))
    handle (d->runs, d->msg);
  g_async_queue_push (d->runs->handled, GINT_TO_POINTER (1));
  return G_SOURCE_REMOVE;
}

static void
delivery_free (gpointer data)
{
  Delivery *d = data;
  natsMsg_Destroy (d->msg);
  g_free (d);
}

/* ---- the reader thread -------------------------------------------------- */

static gpointer
reader (gpointer data)
{
  AgentRuns *runs = data;
  natsSubscription *sub = NULL;

  while (!cli_stop_flag_raised (&runs->stop))
    {
      natsMsgList list = { 0 };
      jsErrCode jerr = 0;
      natsStatus s;

      if (sub == NULL)
        {
          sub = vigil_fleet_device_runs_subscribe (runs->js, runs->device_id, NULL);
          if (sub == NULL && cli_stop_flag_wait (&runs->stop, RETRY_WAIT_US))
            break;
          continue;
        }
      /* One at a time: the next is fetched once this one was handled. */
      s = natsSubscription_Fetch (&list, sub, 1, FETCH_WAIT_MS, &jerr);
      if (s == NATS_OK)
        {
          for (int i = 0; i < list.Count; i++)
            {
              Delivery *d = g_new0 (Delivery, 1);

              d->runs = runs;
              d->msg = g_steal_pointer (&list.Msgs[i]);
              g_idle_add_full (G_PRIORITY_DEFAULT, on_delivery, d, delivery_free);
              /* Handled, or the main loop is gone and so is the agent. */
              while (g_async_queue_timeout_pop (runs->handled, RETRY_WAIT_US) == NULL)
                if (cli_stop_flag_raised (&runs->stop))
                  break;
            }
          natsMsgList_Destroy (&list);
        }
      else if (s != NATS_TIMEOUT && cli_stop_flag_wait (&runs->stop, RETRY_WAIT_US))
        break;
    }
  if (sub != NULL)
    natsSubscription_Destroy (sub);
  return NULL;
}

/* ---- set-up ------------------------------------------------------------ */

/* The agent's one device, `self`, rooted where the runs read files. */
static gboolean
ensure_self (VigilHost *host, const char *root, GError **error)
{
  g_autoptr (JsonObject) device = vigil_host_device (host, SELF_DEVICE, NULL);
  g_autoptr (JsonObject) group = vigil_host_group (host, SELF_GROUP, NULL);
  const char *want = root ? root : "/";

  if (group == NULL && !vigil_host_add_group (host, SELF_GROUP, "This device", NULL, error))
    return FALSE;
  if (device != NULL)
    {
      const char *had = json_object_get_string_member_with_default (device, "root", NULL);
      if (g_strcmp0 (had ? had : "/", want) == 0)
        return TRUE;
      if (!vigil_host_remove_device (host, SELF_DEVICE, error))
        return FALSE;
    }
  return vigil_host_add_device (host, SELF_DEVICE, "This device", SELF_GROUP,
                                root, error);
}

AgentRuns *
agent_runs_new (VigilHost *host, const char *device_id, const char *root, natsConnection *nc,
                GError **error)
{
  g_autofree char *outbox_dir = g_build_filename (vigil_host_state_dir (host), "agent", "outbox",
                                                  NULL);
  g_autofree char *consumer = vigil_fleet_consumer_runs (device_id);
  AgentRuns *runs;
  natsStatus s;

  if (!ensure_self (host, root, error))
    return NULL;
  runs = g_new0 (AgentRuns, 1);
  runs->host = host;
  runs->nc = nc;
  runs->device_id = g_strdup (device_id);
  runs->journal_dir = g_build_filename (vigil_host_state_dir (host), "agent", "runs", NULL);
  runs->done_dir = g_build_filename (vigil_host_state_dir (host), "agent", "ended", NULL);
  runs->ack_prefix = g_strdup_printf ("$JS.ACK.%s.%s.", VIGIL_FLEET_STREAM_RUNS, consumer);
  runs->report_subject = vigil_fleet_subject_report (device_id, "run");
  runs->progress_subject = vigil_fleet_subject_live (device_id, "progress");
  runs->handled = g_async_queue_new ();
  cli_stop_flag_init (&runs->stop);
  if (g_mkdir_with_parents (runs->journal_dir, 0700) != 0
      || g_mkdir_with_parents (runs->done_dir, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot create %s: %s",
                   runs->done_dir, g_strerror (errno));
      agent_runs_free (runs);
      return NULL;
    }
  if ((runs->outbox = vigil_fleet_outbox_open (outbox_dir, error)) == NULL)
    {
      agent_runs_free (runs);
      return NULL;
    }
  if ((s = natsConnection_JetStream (&runs->js, nc, NULL)) != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "the agent's JetStream context");
      agent_runs_free (runs);
      return NULL;
    }
  if ((runs->events = agent_events_new (host, runs->outbox, device_id, error)) == NULL
      || (runs->cancel = agent_cancel_new (nc, device_id, error)) == NULL)
    {
      agent_runs_free (runs);
      return NULL;
    }
  recover (runs);
  /* Heartbeats and flushes go on while a run executes. */
  vigil_host_set_pump_main_context (host, TRUE);
  runs->flush_id = g_timeout_add_seconds (1, on_flush_timer, runs);
  runs->thread = g_thread_new ("vigil-runs", reader, runs);
  return runs;
}

void
agent_runs_free (AgentRuns *runs)
{
  if (runs == NULL)
    return;
  cli_stop_flag_raise (&runs->stop);
  if (runs->thread != NULL)
    g_thread_join (runs->thread);
  if (runs->flush_id)
    g_source_remove (runs->flush_id);
  /* A delivery queued but not handled is not acknowledged: it comes again. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  agent_events_free (runs->events);
  agent_cancel_free (runs->cancel);
  if (runs->outbox != NULL)
    vigil_fleet_outbox_free (runs->outbox);
  jsCtx_Destroy (runs->js);
  g_async_queue_unref (runs->handled);
  cli_stop_flag_clear (&runs->stop);
  g_free (runs->device_id);
  g_free (runs->journal_dir);
  g_free (runs->done_dir);
  g_free (runs->ack_prefix);
  g_free (runs->report_subject);
  g_free (runs->progress_subject);
  g_free (runs);
}
