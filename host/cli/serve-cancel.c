/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cancelling a run while it executes on its agent (the fleet, #13), the
 * console's side. An agent asks on vigil.dev.<id>.check whether a run is
 * still current before it starts it and then every 10 s while it
 * executes; the console answers from its store ({run, device, current})
 * and, while it is, keeps the run in its watch. Every second the watched
 * runs are looked up (each task's runs read once): one the console ended
 * (its task cancelled — the host ends an agent's running run `cancelled`
 * at once — or deleted) gets a cancel on
 * vigil.cancel.<device>, plain NATS, which only that device can receive.
 * A cancel lost on the way (the agent disconnected at that moment, the
 * console down when the task was cancelled) is made up for by the agent's
 * next check, which is answered "not current". The device a check is from
 * is the one its subject names, and its reply must go to that device's
 * own inbox. `vigil device revoke|remove` send the cancels themselves,
 * before the broker's reload cuts the agent off.
 */
#include "serve-cancel.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"

#include <string.h>

#define MAX_CHECK_BYTES 4096
#define WATCH_EVERY_S   1

struct _ServeCancel {
  Serve            *serve;
  natsConnection   *nc;
  natsSubscription *sub;
  GHashTable       *watch;   /* run id (gint64*) → Watched* */
  GHashTable       *cache;   /* task → its runs by id (GHashTable*), read at
                              * most once per tick (the store is not asked
                              * for every check of a group's runs) */
  guint             timer_id;
};

typedef struct {
  char  *task, *device;
} Watched;

typedef struct {
  ServeCancel *cancel;
  natsMsg     *msg;
} Check;

static void
watched_free (gpointer data)
{
  Watched *w = data;

  g_free (w->task);
  g_free (w->device);
  g_free (w);
}

static void
runs_unref (gpointer runs)
{
  if (runs != NULL)
    g_hash_table_unref (runs);
}

/* @task's runs by id, from the store; NULL when the task is gone. */
static GHashTable *
load_runs (VigilHost *host, const char *task)
{
  g_autoptr (JsonArray) all = vigil_host_task_runs (host, task, FALSE, NULL);
  GHashTable *runs;

  if (all == NULL)
    return NULL;
  runs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                (GDestroyNotify) json_object_unref);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *r = json_array_get_object_element (all, i);
      gint64 id = json_object_get_int_member (r, "id");

      g_hash_table_insert (runs, g_memdup2 (&id, sizeof id), json_object_ref (r));
    }
  return runs;
}

/* Run @run of @task as the console has it ({id, device, state, ...}), or
 * NULL when it is gone (the task deleted, the run dropped by retention).
 * A run the cached runs lack is read again: it may be newer. (transfer
 * none: valid until the next tick) */
static JsonObject *
find_run (ServeCancel *cancel, const char *task, gint64 run)
{
  GHashTable *runs = g_hash_table_lookup (cancel->cache, task);

  if (runs == NULL || !g_hash_table_contains (runs, &run))
    {
      runs = load_runs (cancel->serve->host, task);
      g_hash_table_replace (cancel->cache, g_strdup (task), runs);
    }
  return runs ? g_hash_table_lookup (runs, &run) : NULL;
}

static const char *
state_of (JsonObject *run)
{
  return run ? json_object_get_string_member (run, "state") : NULL;
}

/* Ended by the console, not by its agent's report: cancelled, or deleted
 * with its task. (A revoke or removal sends its own cancels.) */
static gboolean
ended_on_console (const char *state)
{
  return state == NULL || g_strcmp0 (state, "cancelled") == 0;
}

static gboolean
is_current (const char *state)
{
  return g_strcmp0 (state, "dispatched") == 0 || g_strcmp0 (state, "running") == 0;
}

/* @members' text as a JSON object. (transfer full) */
static char *
object_text (JsonObject *members)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, members);
  return json_to_string (node, FALSE);
}

/* {run, task} on vigil.cancel.<device>. */
static void
publish_cancel (natsConnection *nc, const char *device, gint64 run, const char *task)
{
  g_autofree char *subject = vigil_fleet_subject_cancel (device);
  g_autoptr (JsonObject) o = json_object_new ();
  g_autofree char *body = NULL;

  json_object_set_int_member (o, "run", run);
  json_object_set_string_member (o, "task", task);
  body = object_text (o);
  natsConnection_PublishString (nc, subject, body);
}

static void
send_cancel (ServeCancel *cancel, gint64 run, const Watched *w, const char *state)
{
  publish_cancel (cancel->nc, w->device, run, w->task);
  g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " of device '%s' ended on the console "
              "(%s) while its agent ran it: cancel sent\n", run, w->device,
              state ? state : "deleted");
}

/* Every watched run the console ended: its agent is told. One its agent
 * ended (its report came) is simply not watched any more. */
static gboolean
on_watch_timer (gpointer data)
{
  ServeCancel *cancel = data;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_remove_all (cancel->cache);
  g_hash_table_iter_init (&iter, cancel->watch);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Watched *w = value;
      const char *state = state_of (find_run (cancel, w->task, *(gint64 *) key));

      if (is_current (state))
        continue;
      if (ended_on_console (state))
        send_cancel (cancel, *(gint64 *) key, w, state);
      g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- checks ------------------------------------------------------------ */

/* The device a check is from: the subject's second token. */
static char *
check_device (const char *subject)
{
  g_auto (GStrv) tokens = g_strsplit (subject, ".", 5);

  if (g_strv_length (tokens) != 4 || !vigil_fleet_device_id_check (tokens[2], NULL))
    return NULL;
  return g_strdup (tokens[2]);
}

static void
answer (ServeCancel *cancel, natsMsg *msg, const char *device, gint64 run, gboolean current)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autofree char *body = NULL;

  json_object_set_int_member (o, "run", run);
  json_object_set_string_member (o, "device", device);
  json_object_set_boolean_member (o, "current", current);
  body = object_text (o);
  natsConnection_PublishString (cancel->nc, natsMsg_GetReply (msg), body);
}

static void
handle_check (ServeCancel *cancel, natsMsg *msg)
{
  g_autofree char *device = check_device (natsMsg_GetSubject (msg));
  g_autofree char *prefix = NULL, *inbox = NULL;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  const char *reply = natsMsg_GetReply (msg), *task, *state;
  JsonObject *found;
  JsonNode *node;
  gint64 run;
  gboolean current, foreign;

  if (device == NULL || natsMsg_GetDataLength (msg) > MAX_CHECK_BYTES)
    return;
  /* Answers go to the asking device only (fleet.md, Security model). */
  prefix = vigil_fleet_inbox_prefix (device);
  inbox = g_strdup_printf ("%s.", prefix);
  if (reply == NULL || !g_str_has_prefix (reply, inbox))
    {
      g_printerr ("vigil serve: fleet: check of device '%s' refused: its reply subject is "
                  "not the device's own inbox\n", device);
      return;
    }
  body = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                         natsMsg_GetSubject (msg), &error);
  node = body ? json_object_get_member (body, "run") : NULL;
  run = node && json_node_get_value_type (node) == G_TYPE_INT64 ? json_node_get_int (node) : 0;
  task = body ? json_object_get_string_member_with_default (body, "task", NULL) : NULL;
  if (run <= 0 || task == NULL || strlen (task) > 128)
    {
      g_printerr ("vigil serve: fleet: check of device '%s' refused: %s\n", device,
                  error ? error->message : "it needs run (integer) and task");
      return;
    }
  found = find_run (cancel, task, run);
  /* Another device's run looks like no run at all to the asker. */
  foreign = found != NULL
            && g_strcmp0 (json_object_get_string_member (found, "device"), device) != 0;
  state = foreign ? NULL : state_of (found);
  current = is_current (state);
  answer (cancel, msg, device, run, current);
  if (current && !g_hash_table_contains (cancel->watch, &run))
    {
      Watched *w = g_new0 (Watched, 1);

      w->task = g_strdup (task);
      w->device = g_steal_pointer (&device);
      g_hash_table_insert (cancel->watch, g_memdup2 (&run, sizeof run), w);
      g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " of device '%s' executing: "
                  "watched for a cancel\n", run, w->device);
    }
  else if (!current && !foreign && ended_on_console (state))
    g_printerr ("vigil serve: fleet: run %" G_GINT64_FORMAT " of device '%s' is %s on the "
                "console: its agent is told to stop it\n", run, device,
                state ? state : "deleted");
}

static gboolean
on_check_main (gpointer data)
{
  Check *c = data;

  handle_check (c->cancel, c->msg);
  return G_SOURCE_REMOVE;
}

static void
check_free (gpointer data)
{
  Check *c = data;

  natsMsg_Destroy (c->msg);
  g_free (c);
}

static void
on_check (natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
  Check *c = g_new0 (Check, 1);

  c->cancel = closure;
  c->msg = msg;
  g_idle_add_full (G_PRIORITY_DEFAULT, on_check_main, c, check_free);
}

/* ---- set-up ------------------------------------------------------------ */

ServeCancel *
serve_cancel_new (Serve *serve, natsConnection *nc, GError **error)
{
  ServeCancel *cancel = g_new0 (ServeCancel, 1);
  g_autofree char *subject = vigil_fleet_subject_check ("*");
  natsStatus s;

  cancel->serve = serve;
  cancel->nc = nc;
  cancel->watch = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, watched_free);
  cancel->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, runs_unref);
  if ((s = natsConnection_Subscribe (&cancel->sub, nc, subject, on_check, cancel)) != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "subscribing to the agents' run checks");
      serve_cancel_free (cancel);
      return NULL;
    }
  cancel->timer_id = g_timeout_add_seconds (WATCH_EVERY_S, on_watch_timer, cancel);
  return cancel;
}

void
serve_cancel_free (ServeCancel *cancel)
{
  if (cancel == NULL)
    return;
  if (cancel->timer_id)
    g_source_remove (cancel->timer_id);
  if (cancel->sub != NULL)
    natsSubscription_Unsubscribe (cancel->sub);
  natsSubscription_Destroy (cancel->sub);
  /* Checks already handed to the main loop still point at @cancel. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_hash_table_destroy (cancel->watch);
  g_hash_table_destroy (cancel->cache);
  g_free (cancel);
}

/* ---- before a device is cut off ------------------------------------------ */

guint
cli_fleet_cancel_device_runs (CliFleet *fleet, VigilHost *host, const char *device_id)
{
  g_autoptr (JsonArray) all = vigil_host_runs_after (host, 0, NULL);
  g_autoptr (GPtrArray) running = g_ptr_array_new ();
  natsOptions *opts = NULL;
  natsConnection *nc = NULL;
  guint sent = 0;

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *run = json_array_get_object_element (all, i);

      if (g_strcmp0 (json_object_get_string_member (run, "device"), device_id) == 0
          && g_strcmp0 (json_object_get_string_member (run, "state"), "running") == 0)
        g_ptr_array_add (running, run);
    }
  if (running->len == 0 || (opts = cli_fleet_console_options (fleet, NULL)) == NULL)
    return 0;
  if (natsConnection_Connect (&nc, opts) == NATS_OK)
    {
      for (guint i = 0; i < running->len; i++, sent++)
        publish_cancel (nc, device_id, json_object_get_int_member (running->pdata[i], "id"),
                        json_object_get_string_member (running->pdata[i], "task_id"));
      /* Through the broker before its reload closes the agent's connection. */
      if (natsConnection_FlushTimeout (nc, 5000) != NATS_OK)
        sent = 0;
    }
  natsConnection_Destroy (nc);
  natsOptions_Destroy (opts);
  return sent;
}
