/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cancelling the run the agent executes (the fleet, #13), the agent's
 * side. The console tells the device on vigil.cancel.<id> (plain NATS,
 * which only this device may receive) when a run it executes ended on the
 * console: its task cancelled or deleted. Because a plain message is lost
 * when the agent is not connected at that moment (or the console was not
 * running when the task was cancelled), the agent also asks
 * vigil.dev.<id>.check whether the run is still current: before it starts
 * (waiting PRECHECK_MS at most: without a console it runs anyway; the
 * answer also tells the console to watch it), and then every
 * CHECK_EVERY_S while it executes. Either answer cancels the run's
 * GCancellable, which the host's runner passes to the plugin; a plugin
 * that ignores it is ended by the host after its cancel grace (3 s). The
 * answers come to a subject under the device's inbox with a random token,
 * so another device cannot steer replies there, and an answer counts only
 * for the run executing now and for this device.
 */
#include "agent-cancel.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define CHECK_EVERY_S    10
/* How long a run waits for the console's answer before it starts; a
 * console that is not running answers at once (no responders). */
#define PRECHECK_MS      2000
#define MAX_BYTES        4096

struct _AgentCancel {
  natsConnection   *nc;
  char             *device_id;
  char             *check_subject;
  char             *reply_subject;
  natsSubscription *cancel_sub, *reply_sub;
  /* The run executing now (main thread only). */
  char             *task;
  gint64            run;
  GCancellable     *cancellable;
  gboolean          cancelled;
  guint             timer_id;
};

typedef struct {
  AgentCancel *cancel;
  natsMsg     *msg;
} Message;

/* ---- what the console says -------------------------------------------- */

static JsonObject *
read_object (natsMsg *msg)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (natsMsg_GetDataLength (msg) > MAX_BYTES
      || !json_parser_load_from_data (parser, natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                      NULL))
    return NULL;
  root = json_parser_get_root (parser);
  return root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_ref (json_node_get_object (root))
                                               : NULL;
}

static void
cancel_run (AgentCancel *cancel, const char *how)
{
  if (cancel->cancellable == NULL || g_cancellable_is_cancelled (cancel->cancellable))
    return;
  cancel->cancelled = TRUE;
  g_printerr ("vigil agent: run %s.%" G_GINT64_FORMAT " cancelled by the console (%s)\n",
              cancel->task, cancel->run, how);
  g_cancellable_cancel (cancel->cancellable);
}

/* A cancel: {run, task}, from the console (only it may publish there). */
static void
handle_cancel (AgentCancel *cancel, JsonObject *o)
{
  if (json_object_get_int_member_with_default (o, "run", 0) == cancel->run
      && g_strcmp0 (json_object_get_string_member_with_default (o, "task", NULL),
                    cancel->task) == 0)
    cancel_run (cancel, "its cancel message");
}

/* Whether @o, an answer to a check, says run @run of this device is not
 * current: {run, device, current: false}. */
static gboolean
says_ended (AgentCancel *cancel, JsonObject *o, gint64 run)
{
  JsonNode *current = json_object_get_member (o, "current");

  return json_object_get_int_member_with_default (o, "run", 0) == run
         && g_strcmp0 (json_object_get_string_member_with_default (o, "device", NULL),
                       cancel->device_id) == 0
         && current != NULL && json_node_get_value_type (current) == G_TYPE_BOOLEAN
         && !json_node_get_boolean (current);
}

static void
handle_answer (AgentCancel *cancel, JsonObject *o)
{
  if (says_ended (cancel, o, cancel->run))
    cancel_run (cancel, "the run is not current any more on the console");
}

static gboolean
on_message_main (gpointer data)
{
  Message *m = data;
  g_autoptr (JsonObject) o = NULL;

  if (m->cancel->run <= 0 || (o = read_object (m->msg)) == NULL)
    return G_SOURCE_REMOVE;
  if (g_str_equal (natsMsg_GetSubject (m->msg), m->cancel->reply_subject))
    handle_answer (m->cancel, o);
  else
    handle_cancel (m->cancel, o);
  return G_SOURCE_REMOVE;
}

static void
message_free (gpointer data)
{
  Message *m = data;

  natsMsg_Destroy (m->msg);
  g_free (m);
}

/* libnats' thread: handed to the main loop, which the host keeps turning
 * while a run executes. */
static void
on_message (natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
  Message *m = g_new0 (Message, 1);

  m->cancel = closure;
  m->msg = msg;
  g_idle_add_full (G_PRIORITY_DEFAULT, on_message_main, m, message_free);
}

/* ---- checks ------------------------------------------------------------ */

/* {run, task}: the question a check asks. (transfer full) */
static char *
check_body (const char *task, gint64 run)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_int_member (o, "run", run);
  json_object_set_string_member (o, "task", task);
  json_node_set_object (node, o);
  return json_to_string (node, FALSE);
}

gboolean
agent_cancel_still_current (AgentCancel *cancel, const char *task, gint64 run)
{
  g_autofree char *body = check_body (task, run);
  g_autoptr (JsonObject) o = NULL;
  natsMsg *reply = NULL;

  /* The reply comes to the connection's inbox, under the device's own
   * prefix, which is where the console sends it. */
  if (natsConnection_RequestString (&reply, cancel->nc, cancel->check_subject, body,
                                    PRECHECK_MS) != NATS_OK)
    return TRUE;
  o = read_object (reply);
  natsMsg_Destroy (reply);
  return o == NULL || !says_ended (cancel, o, run);
}

static gboolean
on_check_timer (gpointer data)
{
  AgentCancel *cancel = data;
  g_autofree char *body = check_body (cancel->task, cancel->run);

  /* Not connected: libnats keeps it for the reconnection, or it is lost
   * and the next check asks again. */
  natsConnection_PublishRequestString (cancel->nc, cancel->check_subject, cancel->reply_subject,
                                       body);
  cancel->timer_id = g_timeout_add_seconds (CHECK_EVERY_S, on_check_timer, cancel);
  return G_SOURCE_REMOVE;
}

GCancellable *
agent_cancel_begin (AgentCancel *cancel, const char *task, gint64 run)
{
  g_return_val_if_fail (cancel->cancellable == NULL, NULL);
  cancel->task = g_strdup (task);
  cancel->run = run;
  cancel->cancelled = FALSE;
  cancel->cancellable = g_cancellable_new ();
  cancel->timer_id = g_timeout_add_seconds (CHECK_EVERY_S, on_check_timer, cancel);
  return cancel->cancellable;
}

gboolean
agent_cancel_end (AgentCancel *cancel)
{
  gboolean cancelled = cancel->cancelled;

  if (cancel->timer_id)
    g_source_remove (cancel->timer_id);
  cancel->timer_id = 0;
  g_clear_object (&cancel->cancellable);
  g_clear_pointer (&cancel->task, g_free);
  cancel->run = 0;
  cancel->cancelled = FALSE;
  return cancelled;
}

/* ---- set-up ------------------------------------------------------------ */

AgentCancel *
agent_cancel_new (natsConnection *nc, const char *device_id, GError **error)
{
  AgentCancel *cancel = g_new0 (AgentCancel, 1);
  g_autofree char *inbox = vigil_fleet_inbox_prefix (device_id);
  g_autofree char *token = g_uuid_string_random ();
  g_autofree char *cancels = vigil_fleet_subject_cancel (device_id);
  natsStatus s;

  cancel->nc = nc;
  cancel->device_id = g_strdup (device_id);
  cancel->check_subject = vigil_fleet_subject_check (device_id);
  cancel->reply_subject = g_strdup_printf ("%s.check.%s", inbox, token);
  if ((s = natsConnection_Subscribe (&cancel->cancel_sub, nc, cancels, on_message,
                                     cancel)) != NATS_OK
      || (s = natsConnection_Subscribe (&cancel->reply_sub, nc, cancel->reply_subject,
                                        on_message, cancel)) != NATS_OK)
    {
      vigil_fleet_set_nats_error (error, s, 0, "subscribing to the device's cancels");
      agent_cancel_free (cancel);
      return NULL;
    }
  return cancel;
}

void
agent_cancel_free (AgentCancel *cancel)
{
  if (cancel == NULL)
    return;
  if (cancel->cancel_sub != NULL)
    natsSubscription_Unsubscribe (cancel->cancel_sub);
  if (cancel->reply_sub != NULL)
    natsSubscription_Unsubscribe (cancel->reply_sub);
  natsSubscription_Destroy (cancel->cancel_sub);
  natsSubscription_Destroy (cancel->reply_sub);
  agent_cancel_end (cancel);
  /* Messages already handed to the main loop still point at @cancel. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_free (cancel->device_id);
  g_free (cancel->check_subject);
  g_free (cancel->reply_subject);
  g_free (cancel);
}
