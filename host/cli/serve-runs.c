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
#define SWEEP_EVERY_US  (5 * G_TIME_SPAN_SECOND)   /* ended runs looked for */
/* Runs handed to libnats before one wait for all the stream's answers
 * (and at most this many unanswered), so that the main loop is not held
 * for a whole round; the wait is bounded. */
#define PUBLISH_SLICE   1000
#define PUBLISH_WAIT_MS 5000

/* The stream's answer to one run published asynchronously. */
typedef struct {
  gint64   run;
  guint64  seq;
  gboolean duplicate;
  char    *error;      /* NULL when stored */
} PublishAck;

/* One publishing pass over the runs after the cursor, in slices. */
typedef struct {
  JsonArray  *all;            /* the runs after the cursor, oldest first */
  guint       next;           /* the next one to look at */
  gboolean    blocked;        /* a publish failed: the rest waits */
  GHashTable *tasks;          /* task id → TaskText */
  JsonObject *settings;       /* device → section → values (shared objects) */
  GHashTable *settings_text;  /* settings object → its JSON text */
} Pass;

struct _ServeRuns {
  Serve            *serve;
  jsCtx            *js;
  natsConnection   *nc;
  jsCtx            *pub;         /* for asynchronous publishing (on_publish_ack) */
  gboolean          pub_used;    /* libnats 3.4.1 sets up its async state at the
                                  * first publish, and its pending-list call
                                  * needs it */
  GHashTable       *published;   /* run id (gint64*) → stream seq (guint64*) of the
                                  * runs published since connecting, not ended */
  guint             ticks;
  guint64           trimmed;     /* VIGIL_REPORTS trimmed up to this sequence */
  GHashTable       *inflight;    /* run id → message id, handed to libnats, no answer yet */
  GHashTable       *inflight_device; /* run id → device */
  GMutex            acks_lock;
  GArray           *acks;        /* of PublishAck, from libnats' thread */
  Pass             *pass;        /* the pass going on, or NULL */
  guint             more_id;     /* its next slice */
  gboolean          again;       /* runs were dispatched during the pass */
  gint64            last_sweep_us;
  gint64            cursor;      /* runs up to this id need no publishing */
  GThread          *thread;
  CliStopFlag       stop;
  GMutex            fetched_lock;
  GPtrArray        *fetched;     /* natsMsg* the reader fetched, not handled yet */
  gboolean          scheduled;   /* handle_reports is queued on the main loop */
};

/* ---- publishing ------------------------------------------------------- */

/* Called by libnats (its thread) with the stream's answer to one run
 * published asynchronously: handed to the main thread through runs->acks. */
static void
on_publish_ack (jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
  ServeRuns *runs = closure;
  const char *msg_id = NULL;
  const char *dot;
  PublishAck ack = { 0 };

  if (natsMsgHeader_Get (msg, "Nats-Msg-Id", &msg_id) == NATS_OK && msg_id != NULL
      && (dot = strrchr (msg_id, '.')) != NULL)
    {
      ack.run = g_ascii_strtoll (dot + 1, NULL, 10);
      if (pa != NULL)
        {
          ack.seq = pa->Sequence;
          ack.duplicate = pa->Duplicate;
        }
      else
        ack.error = g_strdup (pae != NULL && pae->ErrText != NULL ? pae->ErrText
                              : "the stream did not take it");
      g_mutex_lock (&runs->acks_lock);
      g_array_append_val (runs->acks, ack);
      g_mutex_unlock (&runs->acks_lock);
    }
  natsMsg_Destroy (msg);
}

/* Main thread: what the stream answered since the last call. */
static void
take_acks (ServeRuns *runs)
{
  g_autoptr (GArray) acks = NULL;

  g_mutex_lock (&runs->acks_lock);
  acks = g_steal_pointer (&runs->acks);
  runs->acks = g_array_new (FALSE, TRUE, sizeof (PublishAck));
  g_mutex_unlock (&runs->acks_lock);
  for (guint i = 0; i < acks->len; i++)
    {
      PublishAck *a = &g_array_index (acks, PublishAck, i);
      const char *msg_id = g_hash_table_lookup (runs->inflight, &a->run);

      if (msg_id == NULL)
        {
          /* Taken back from libnats meanwhile, or from before a
           * reconnection: published again anyway. */
          g_free (a->error);
          continue;
        }
      if (a->error == NULL)
        {
          /* The message id is <task>.<run>. */
          int task_len = (int) (strrchr (msg_id, '.') - msg_id);

          g_hash_table_insert (runs->published, g_memdup2 (&a->run, sizeof a->run),
                               g_memdup2 (&a->seq, sizeof a->seq));
          g_printerr ("vigil serve: fleet: run %s of task %.*s published to device '%s'%s\n",
                      msg_id, task_len, msg_id,
                      (const char *) g_hash_table_lookup (runs->inflight_device, &a->run),
                      a->duplicate ? " (the stream had it already)" : "");
        }
      else
        {
          g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " not published yet: %s\n",
                      a->run, a->error);
          g_free (a->error);
        }
      g_hash_table_remove (runs->inflight, &a->run);
      g_hash_table_remove (runs->inflight_device, &a->run);
    }
}

/* What the runs of one task share: read once per pass. */
typedef struct {
  char *type;
  char *params;    /* JSON text */
  char *error;     /* why the task cannot be read, or NULL */
} TaskText;

static void
task_text_free (gpointer data)
{
  TaskText *t = data;

  g_free (t->type);
  g_free (t->params);
  g_free (t->error);
  g_free (t);
}

static void
append_json_string (GString *out, const char *text)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
  g_autofree char *quoted = NULL;

  json_node_set_string (node, text);
  quoted = json_to_string (node, FALSE);
  g_string_append (out, quoted);
}

static TaskText *
task_text (Pass *pass, VigilHost *host, const char *task_id)
{
  TaskText *t = g_hash_table_lookup (pass->tasks, task_id);
  g_autoptr (JsonObject) task = NULL;
  g_autoptr (JsonNode) params = NULL;
  g_autoptr (GError) error = NULL;

  if (t != NULL)
    return t;
  t = g_new0 (TaskText, 1);
  task = vigil_host_task (host, task_id, &error);
  if (task == NULL)
    t->error = g_strdup (error->message);
  else
    {
      t->type = g_strdup (json_object_get_string_member (task, "type"));
      params = json_node_copy (json_object_get_member (task, "params"));
      t->params = params != NULL ? json_to_string (params, FALSE) : g_strdup ("null");
    }
  g_hash_table_insert (pass->tasks, g_strdup (task_id), t);
  return t;
}

/* The device's effective settings of every section as JSON text, shared
 * with every device of the same settings (vigil_host_devices_settings_unmasked):
 * computed and written once per distinct policy chain, not per device. */
static const char *
settings_text (Pass *pass, const char *device)
{
  JsonObject *settings = pass->settings != NULL
                         ? json_object_get_object_member (pass->settings, device) : NULL;
  char *text;

  if (settings == NULL)
    return NULL;
  text = g_hash_table_lookup (pass->settings_text, settings);
  if (text == NULL)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (node, settings);
      text = json_to_string (node, FALSE);
      g_hash_table_insert (pass->settings_text, settings, text);
    }
  return text;
}

/* Hands one run to libnats (asynchronously; the stream's answer comes
 * back through on_publish_ack). The body is {run, task, type, device,
 * params, settings, valid_until}; settings are unmasked: the agent
 * applies them (secrets included) to its own device, and they travel only
 * over TLS to the device's own subject. */
static gboolean
publish_async (ServeRuns *runs, Pass *pass, JsonObject *run, GError **error)
{
  VigilHost *host = runs->serve->host;
  const char *task_id = json_object_get_string_member (run, "task_id");
  const char *device = json_object_get_string_member (run, "device");
  gint64 id = json_object_get_int_member (run, "id");
  TaskText *task = task_text (pass, host, task_id);
  const char *settings = settings_text (pass, device);
  g_autoptr (GString) body = NULL;
  g_autofree char *subject = NULL, *msg_id = NULL;
  jsPubOptions po;
  natsStatus s;

  if (task->error != NULL)
    {
      g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND, task->error);
      return FALSE;
    }
  if (settings == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "no settings for device '%s' (not in the inventory?)", device);
      return FALSE;
    }
  body = g_string_sized_new (strlen (settings) + strlen (task->params) + 256);
  g_string_append_printf (body, "{\"run\":%" G_GINT64_FORMAT ",\"task\":", id);
  append_json_string (body, task_id);
  g_string_append (body, ",\"type\":");
  append_json_string (body, task->type);
  g_string_append (body, ",\"device\":");
  append_json_string (body, device);
  g_string_append_printf (body, ",\"params\":%s,\"settings\":%s,\"valid_until\":%" G_GINT64_FORMAT
                          "}", task->params, settings, vigil_host_now (host) + RUN_VALID_US);
  subject = vigil_fleet_subject_run (device);
  msg_id = g_strdup_printf ("%s.%" G_GINT64_FORMAT, task_id, id);
  jsPubOptions_Init (&po);
  po.MsgId = msg_id;
  /* In flight before libnats has it: the answer may come at once. */
  g_hash_table_insert (runs->inflight, g_memdup2 (&id, sizeof id), g_strdup (msg_id));
  g_hash_table_insert (runs->inflight_device, g_memdup2 (&id, sizeof id), g_strdup (device));
  runs->pub_used = TRUE;
  s = js_PublishAsync (runs->pub, subject, body->str, (int) body->len, &po);
  if (s != NATS_OK)
    {
      g_hash_table_remove (runs->inflight, &id);
      g_hash_table_remove (runs->inflight_device, &id);
      vigil_fleet_set_nats_error (error, s, 0, "cannot publish a run");
      return FALSE;
    }
  return TRUE;
}

/* Waits (bounded) for the stream's answers to what was handed to libnats;
 * what is still unanswered then is taken back from libnats and stays
 * unpublished, for the next pass. */
static void
publish_complete (ServeRuns *runs)
{
  jsPubOptions po;
  natsMsgList pending = { 0 };

  jsPubOptions_Init (&po);
  po.MaxWait = PUBLISH_WAIT_MS;
  if (js_PublishAsyncComplete (runs->pub, &po) != NATS_OK
      && js_PublishAsyncGetPendingList (&pending, runs->pub) == NATS_OK)
    {
      for (int i = 0; i < pending.Count; i++)
        {
          const char *msg_id = NULL, *dot;
          gint64 id;

          if (natsMsgHeader_Get (pending.Msgs[i], "Nats-Msg-Id", &msg_id) != NATS_OK
              || msg_id == NULL || (dot = strrchr (msg_id, '.')) == NULL)
            continue;
          id = g_ascii_strtoll (dot + 1, NULL, 10);
          g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " not published yet: the "
                      "stream did not answer within %d ms\n", id, PUBLISH_WAIT_MS);
          g_hash_table_remove (runs->inflight, &id);
          g_hash_table_remove (runs->inflight_device, &id);
        }
      natsMsgList_Destroy (&pending);
    }
  take_acks (runs);
}

static void
pass_free (Pass *pass)
{
  if (pass == NULL)
    return;
  g_clear_pointer (&pass->all, json_array_unref);
  g_clear_pointer (&pass->settings, json_object_unref);
  g_clear_pointer (&pass->tasks, g_hash_table_unref);
  g_clear_pointer (&pass->settings_text, g_hash_table_unref);
  g_free (pass);
}

/* A new pass: the runs after the cursor, the tasks and settings they need. */
static Pass *
pass_new (ServeRuns *runs)
{
  VigilHost *host = runs->serve->host;
  g_autoptr (GPtrArray) devices = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  Pass *pass = g_new0 (Pass, 1);

  pass->all = vigil_host_runs_after (host, runs->cursor, NULL);
  pass->tasks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, task_text_free);
  pass->settings_text = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  for (guint i = 0; pass->all != NULL && i < json_array_get_length (pass->all); i++)
    {
      JsonObject *run = json_array_get_object_element (pass->all, i);
      gint64 id = json_object_get_int_member (run, "id");

      if (g_strcmp0 (json_object_get_string_member (run, "state"), "dispatched") == 0
          && !g_hash_table_contains (runs->published, &id))
        g_ptr_array_add (devices, (gpointer) json_object_get_string_member (run, "device"));
    }
  if (devices->len > 0)
    {
      g_ptr_array_add (devices, NULL);
      pass->settings = vigil_host_devices_settings_unmasked (host,
                                                             (const char *const *) devices->pdata,
                                                             &error);
      if (pass->settings == NULL)
        g_printerr ("vigil serve: fleet: runs not published yet: %s\n", error->message);
    }
  return pass;
}

/* The cursor moves past the runs that need no publishing; it stops before
 * a run not published yet, and before a pending one: another process may
 * dispatch it a moment later. */
static void
advance_cursor (ServeRuns *runs, JsonArray *all)
{
  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *run = json_array_get_object_element (all, i);
      const char *state = json_object_get_string_member (run, "state");
      gint64 id = json_object_get_int_member (run, "id");

      if (g_strcmp0 (state, "pending") == 0
          || (g_strcmp0 (state, "dispatched") == 0 && !g_hash_table_contains (runs->published, &id)))
        return;
      runs->cursor = id;
    }
}

/* One slice of a pass: up to PUBLISH_SLICE runs handed to libnats, then
 * one wait for all their answers, so the main loop (reports, heartbeats)
 * is never held for more than a slice. TRUE while the pass has more. */
static gboolean
publish_slice (ServeRuns *runs)
{
  Pass *pass = runs->pass;
  guint n = pass->all != NULL ? json_array_get_length (pass->all) : 0;
  guint sent = 0;

  /* Disconnected meanwhile: libnats would only buffer them. */
  if (natsConnection_Status (runs->nc) != NATS_CONN_STATUS_CONNECTED)
    pass->blocked = TRUE;
  while (pass->next < n && sent < PUBLISH_SLICE && !pass->blocked)
    {
      JsonObject *run = json_array_get_object_element (pass->all, pass->next++);
      gint64 id = json_object_get_int_member (run, "id");
      g_autoptr (GError) error = NULL;

      if (g_strcmp0 (json_object_get_string_member (run, "state"), "dispatched") != 0
          || g_hash_table_contains (runs->published, &id)
          || g_hash_table_contains (runs->inflight, &id))
        continue;
      if (!publish_async (runs, pass, run, &error))
        {
          g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " not published yet: %s\n",
                      id, error->message);
          pass->blocked = TRUE;   /* the broker is away: the later ones wait too */
          break;
        }
      sent++;
    }
  if (sent > 0)
    publish_complete (runs);
  return pass->next < n && !pass->blocked;
}

static gboolean
on_publish_more (gpointer data)
{
  ServeRuns *runs = data;

  if (runs->pass != NULL && publish_slice (runs))
    return G_SOURCE_CONTINUE;
  runs->more_id = 0;
  if (runs->pass != NULL)
    {
      advance_cursor (runs, runs->pass->all);
      g_clear_pointer (&runs->pass, pass_free);
    }
  if (runs->again)
    {
      /* Runs were dispatched while this pass went on. */
      runs->again = FALSE;
      serve_runs_publish (runs);
    }
  return G_SOURCE_REMOVE;
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
  if (runs->pass != NULL)
    {
      runs->again = TRUE;   /* after the pass going on */
      return;
    }
  take_acks (runs);
  runs->pass = pass_new (runs);
  /* The first slice now, the others from the main loop. */
  if (publish_slice (runs))
    runs->more_id = g_idle_add (on_publish_more, runs);
  else
    {
      advance_cursor (runs, runs->pass->all);
      g_clear_pointer (&runs->pass, pass_free);
    }
  if (g_get_monotonic_time () - runs->last_sweep_us >= SWEEP_EVERY_US)
    {
      runs->last_sweep_us = g_get_monotonic_time ();
      sweep (runs);
    }
}

void
serve_runs_reconnected (ServeRuns *runs)
{
  if (runs->more_id != 0)
    g_source_remove (runs->more_id);
  runs->more_id = 0;
  g_clear_pointer (&runs->pass, pass_free);
  runs->again = FALSE;
  g_hash_table_remove_all (runs->published);
  /* What libnats had not answered is published again with the rest. */
  g_hash_table_remove_all (runs->inflight);
  g_hash_table_remove_all (runs->inflight_device);
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
serve_runs_new (Serve *serve, natsConnection *nc, jsCtx *js)
{
  ServeRuns *runs = g_new0 (ServeRuns, 1);
  jsOptions jo;
  natsStatus s;

  runs->serve = serve;
  runs->js = js;
  runs->nc = nc;
  runs->published = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_mutex_init (&runs->fetched_lock);
  runs->fetched = g_ptr_array_new_with_free_func ((GDestroyNotify) natsMsg_Destroy);
  runs->inflight = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  runs->inflight_device = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_mutex_init (&runs->acks_lock);
  runs->acks = g_array_new (FALSE, TRUE, sizeof (PublishAck));
  jsOptions_Init (&jo);
  jo.PublishAsync.MaxPending = PUBLISH_SLICE;
  jo.PublishAsync.AckHandler = on_publish_ack;
  jo.PublishAsync.AckHandlerClosure = runs;
  /* Only out of memory fails here (the context is local until used). */
  if ((s = natsConnection_JetStream (&runs->pub, nc, &jo)) != NATS_OK)
    g_error ("vigil serve: fleet: the publishing context: %s", natsStatus_GetText (s));
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
  if (runs->more_id != 0)
    g_source_remove (runs->more_id);
  g_clear_pointer (&runs->pass, pass_free);
  /* Unanswered runs taken back (published again at the next start, stored
   * once by their message id), then a wait for an answer libnats may be
   * handing to on_publish_ack right now, before @runs goes. */
  if (runs->pub_used)
  {
    natsMsgList pending = { 0 };
    jsPubOptions po;

    if (js_PublishAsyncGetPendingList (&pending, runs->pub) == NATS_OK)
      natsMsgList_Destroy (&pending);
    jsPubOptions_Init (&po);
    po.MaxWait = PUBLISH_WAIT_MS;
    js_PublishAsyncComplete (runs->pub, &po);
  }
  jsCtx_Destroy (runs->pub);
  take_acks (runs);
  g_array_unref (runs->acks);
  g_mutex_clear (&runs->acks_lock);
  g_hash_table_destroy (runs->inflight);
  g_hash_table_destroy (runs->inflight_device);
  g_hash_table_destroy (runs->published);
  g_ptr_array_unref (runs->fetched);
  g_mutex_clear (&runs->fetched_lock);
  cli_stop_flag_clear (&runs->stop);
  g_free (runs);
}
