/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's settings (the fleet, #13): the console's effective settings
 * of the device become the local settings of its device `self`, which the
 * agent makes this machine's device, so that what the console's policy
 * says (password protection of local commands, respond's isolation
 * period, quarantine limits) holds on the endpoint without a run. They
 * arrive two ways, applied by one function: inside a run (agent-runs.c;
 * only until the key gave a value, which is then the one source) and,
 * between runs, from the device's own key of the VIGIL_SETTINGS bucket
 * (docs/fleet.md: a KV watch would need a consumer the device may not
 * create). A thread reads the key's current value once by direct get
 * (the store may have lost what the consumer delivered before), then
 * pulls the device's durable consumer settings-<id>, a value at a time,
 * and hands each to the main loop, which checks that it came from that
 * consumer (or that direct get) and names this device, applies it unless
 * it is the value applied last (its SHA-256 is kept in
 * STATE/agent/settings-applied), and acknowledges it. The settings
 * themselves live in the state folder's store, so an agent started while
 * the broker is down, or a device cut off from the console, keeps the
 * policy it had. The values hold secrets: nothing of them is printed.
 */
#include "agent-settings.h"
#include "stop-flag.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* A pending pull waits this long at the broker: a new value is delivered
 * at once, and an idle fleet asks rarely. A stop interrupts it. */
#define FETCH_WAIT_MS    10000
#define RETRY_WAIT_US    (500 * G_TIME_SPAN_MILLISECOND)
#define MAX_VALUE_BYTES  (1024 * 1024)

struct _AgentSettings {
  VigilHost        *host;
  natsConnection   *nc;
  jsCtx            *js;
  char             *device_id;
  char             *ack_prefix;    /* $JS.ACK.KV_VIGIL_SETTINGS.settings-<id>. */
  char             *applied_path;  /* STATE/agent/settings-applied */
  GThread          *thread;
  GMutex            lock;          /* guards sub, for a stop to interrupt a pull */
  natsSubscription *sub;
  gboolean          have_current;  /* the key's value read once at start */
  CliStopFlag       stop;
};

typedef struct {
  AgentSettings *settings;
  natsMsg       *msg;
  gboolean       direct;   /* a direct get of the key, not a delivery */
} Delivery;

/* ---- applying ---------------------------------------------------------- */

/* Sections of plugins the agent lacks are left out: nothing here reads
 * them, and the host would refuse them. */
gboolean
agent_settings_apply (VigilHost *host, JsonObject *settings, const char *what, char **why)
{
  g_autoptr (JsonArray) sections = vigil_host_sections (host);
  g_autoptr (JsonObject) known = json_object_new ();
  g_autoptr (JsonArray) problems = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; sections != NULL && i < json_array_get_length (sections); i++)
    {
      const char *id = json_object_get_string_member (json_array_get_object_element (sections, i),
                                                      "id");
      JsonNode *node = json_object_get_member (settings, id);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        json_object_set_member (known, id, json_node_copy (node));
    }
  if (vigil_host_apply_managed_settings (host, AGENT_SELF_DEVICE, known, &problems, &error))
    return TRUE;
  for (guint i = 0; problems != NULL && i < json_array_get_length (problems); i++)
    {
      JsonObject *p = json_array_get_object_element (problems, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (p, "severity", ""),
                     "error") == 0)
        {
          /* The path names the setting; the message is the checker's. */
          *why = g_strdup_printf ("the agent cannot apply %s: %s: %s", what,
                                  json_object_get_string_member_with_default (p, "path", "?"),
                                  json_object_get_string_member_with_default (p, "message", ""));
          return FALSE;
        }
    }
  *why = g_strdup_printf ("the agent cannot apply %s: %s", what, error->message);
  return FALSE;
}

static char *
applied_path (VigilHost *host)
{
  return g_build_filename (vigil_host_state_dir (host), "agent", "settings-applied", NULL);
}

gboolean
agent_settings_apply_run (VigilHost *host, JsonObject *settings, char **why)
{
  g_autofree char *path = applied_path (host);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  return agent_settings_apply (host, settings, "the run's settings", why);
}

/* The SHA-256 of the value applied last, or NULL. (transfer full) */
static char *
applied_hash (AgentSettings *s)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (s->applied_path, &text, NULL, NULL))
    return NULL;
  return g_strdup (g_strstrip (text));
}

/* The value's settings, checked: an object naming this device with a
 * settings object. (transfer full) */
static JsonObject *
read_value (AgentSettings *s, natsMsg *msg, GError **error)
{
  g_autoptr (JsonObject) body = NULL;
  JsonNode *node;

  if (natsMsg_GetDataLength (msg) > MAX_VALUE_BYTES)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, "larger than %d bytes",
                   MAX_VALUE_BYTES);
      return NULL;
    }
  body = vigil_host_parse_event_payload (natsMsg_GetData (msg), natsMsg_GetDataLength (msg),
                                         natsMsg_GetSubject (msg), error);
  if (body == NULL)
    return NULL;
  node = json_object_get_member (body, "settings");
  if (g_strcmp0 (json_object_get_string_member_with_default (body, "device", NULL),
                 s->device_id) != 0 || node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: the value needs this device and settings (object)",
                   natsMsg_GetSubject (msg));
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

/* Acknowledges (or terminates) a delivery; a direct get has nothing to
 * acknowledge. */
static void
settle (natsMsg *msg, gboolean direct, gboolean ok)
{
  if (direct)
    return;
  if (ok)
    natsMsg_Ack (msg, NULL);
  else
    natsMsg_Term (msg, NULL);
}

static void
handle (AgentSettings *s, natsMsg *msg, gboolean direct)
{
  const char *reply = natsMsg_GetReply (msg);
  const char *op = NULL;
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = NULL, *had = NULL, *why = NULL;
  guint64 revision = 0;
  jsMsgMetaData *meta = NULL;

  /* Only what the device's own consumer delivered (fleet.md, Security
   * model, Residual), or the answer to its own direct get. */
  if (!direct && (reply == NULL || !g_str_has_prefix (reply, s->ack_prefix)))
    {
      g_printerr ("vigil agent: a message on %s not from this device's settings ignored\n",
                  natsMsg_GetSubject (msg));
      return;
    }
  if (direct)
    {
      const char *seq = NULL;

      if (natsMsgHeader_Get (msg, "Nats-Sequence", &seq) == NATS_OK && seq != NULL)
        revision = g_ascii_strtoull (seq, NULL, 10);
    }
  else if (natsMsg_GetMetaData (&meta, msg) == NATS_OK)
    revision = meta->Sequence.Stream;
  jsMsgMetaData_Destroy (meta);
  /* A deleted key (the device removed on the console) takes nothing away:
   * the device keeps its last policy. */
  if (natsMsgHeader_Get (msg, "KV-Operation", &op) == NATS_OK && op != NULL)
    {
      g_printerr ("vigil agent: the console's settings were withdrawn (%s): the settings "
                  "applied last stay\n", op);
      settle (msg, direct, TRUE);
      return;
    }
  hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) natsMsg_GetData (msg),
                                      (gsize) natsMsg_GetDataLength (msg));
  had = applied_hash (s);
  if (g_strcmp0 (had, hash) == 0)
    {
      settle (msg, direct, TRUE);
      return;
    }
  settings = read_value (s, msg, &error);
  if (settings == NULL)
    {
      /* Wrong now, wrong at every redelivery: the next value will come. */
      g_printerr ("vigil agent: the console's settings refused: %s\n", error->message);
      settle (msg, direct, FALSE);
      return;
    }
  if (!agent_settings_apply (s->host, settings, "the console's settings", &why))
    {
      g_printerr ("vigil agent: %s; the settings applied last stay\n", why);
      settle (msg, direct, FALSE);
      return;
    }
  if (!g_file_set_contents_full (s->applied_path, hash, -1, G_FILE_SET_CONTENTS_CONSISTENT
                                 | G_FILE_SET_CONTENTS_DURABLE, 0600, &error))
    g_printerr ("vigil agent: %s\n", error->message);
  settle (msg, direct, TRUE);
  g_printerr ("vigil agent: the console's settings applied (revision %" G_GUINT64_FORMAT ")\n",
              revision);
}

static gboolean
on_delivery (gpointer data)
{
  Delivery *d = data;

  /* Stopping: not acknowledged, so the broker delivers it again. */
  if (!cli_stop_flag_raised (&d->settings->stop))
    handle (d->settings, d->msg, d->direct);
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

static void
hand_over (AgentSettings *s, natsMsg *msg, gboolean direct)
{
  Delivery *d = g_new0 (Delivery, 1);

  d->settings = s;
  d->msg = msg;
  d->direct = direct;
  g_idle_add_full (G_PRIORITY_DEFAULT, on_delivery, d, delivery_free);
}

/* The key's value now, once per process: the consumer delivers only what
 * came after the value it last had acknowledged, and the store may have
 * lost what was applied then (see agent_settings_new). FALSE while the
 * broker cannot say. */
static gboolean
read_current (AgentSettings *s)
{
  g_autofree char *subject = vigil_fleet_subject_settings (s->device_id);
  jsDirectGetMsgOptions dg;
  natsMsg *msg = NULL;
  natsStatus st;

  jsDirectGetMsgOptions_Init (&dg);
  dg.LastBySubject = subject;
  st = js_DirectGetMsg (&msg, s->js, VIGIL_FLEET_STREAM_SETTINGS, NULL, &dg);
  if (st == NATS_OK)
    hand_over (s, msg, TRUE);
  /* Nothing published yet: the consumer will bring the first value. */
  return st == NATS_OK || st == NATS_NOT_FOUND;
}

static gpointer
reader (gpointer data)
{
  AgentSettings *s = data;

  while (!cli_stop_flag_raised (&s->stop))
    {
      natsMsgList list = { 0 };
      jsErrCode jerr = 0;
      natsStatus st;

      if (s->sub == NULL)
        {
          /* The broker may be down: binding asks it about the consumer. */
          natsSubscription *sub = vigil_fleet_device_settings_subscribe (s->js, s->device_id,
                                                                         NULL);
          g_mutex_lock (&s->lock);
          s->sub = sub;
          g_mutex_unlock (&s->lock);
          if (sub == NULL && cli_stop_flag_wait (&s->stop, RETRY_WAIT_US))
            break;
          continue;
        }
      if (!s->have_current && !(s->have_current = read_current (s))
          && cli_stop_flag_wait (&s->stop, RETRY_WAIT_US))
        break;
      st = natsSubscription_Fetch (&list, s->sub, 1, FETCH_WAIT_MS, &jerr);
      if (st == NATS_OK)
        {
          for (int i = 0; i < list.Count; i++)
            hand_over (s, g_steal_pointer (&list.Msgs[i]), FALSE);
          natsMsgList_Destroy (&list);
        }
      else if (st != NATS_TIMEOUT && cli_stop_flag_wait (&s->stop, RETRY_WAIT_US))
        break;
    }
  g_mutex_lock (&s->lock);
  g_clear_pointer (&s->sub, natsSubscription_Destroy);
  g_mutex_unlock (&s->lock);
  return NULL;
}

/* ---- set-up -------------------------------------------------------------- */

/* Password protection and trace files are those of this machine's device
 * (docs/general-settings.md): the agent's device is this machine unless
 * the endpoint's admin chose another one. */
static void
claim_machine (VigilHost *host)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *machine = vigil_host_machine_device (host, &error);

  if (error != NULL)
    g_printerr ("vigil agent: cannot read this machine's device: %s\n", error->message);
  else if (machine == NULL && !vigil_host_set_machine_device (host, AGENT_SELF_DEVICE, &error))
    g_printerr ("vigil agent: cannot make '%s' this machine's device: %s\n", AGENT_SELF_DEVICE,
                error->message);
  else if (machine != NULL && g_strcmp0 (machine, AGENT_SELF_DEVICE) != 0)
    g_printerr ("vigil agent: this machine's device is '%s', not '%s': the console's password "
                "protection does not guard local commands ('vigil device set-machine %s' "
                "changes that)\n", machine, AGENT_SELF_DEVICE, AGENT_SELF_DEVICE);
}

static gboolean
has_local_settings (VigilHost *host)
{
  g_autoptr (JsonObject) local = vigil_host_device_settings (host, AGENT_SELF_DEVICE, NULL);

  return local != NULL && json_object_get_size (local) > 0;
}

AgentSettings *
agent_settings_new (VigilHost *host, const char *device_id, natsConnection *nc)
{
  g_autofree char *consumer = vigil_fleet_consumer_settings (device_id);
  AgentSettings *s = g_new0 (AgentSettings, 1);
  natsStatus st;

  claim_machine (host);
  s->host = host;
  s->applied_path = applied_path (host);
  /* `self` made again (another --root) has lost its settings: what the
   * file says was applied is not there any more. */
  if (!has_local_settings (host))
    g_unlink (s->applied_path);
  s->nc = nc;
  s->device_id = g_strdup (device_id);
  s->ack_prefix = g_strdup_printf ("$JS.ACK.%s.%s.", VIGIL_FLEET_STREAM_SETTINGS, consumer);
  g_mutex_init (&s->lock);
  cli_stop_flag_init (&s->stop);
  if ((st = natsConnection_JetStream (&s->js, nc, NULL)) != NATS_OK)
    {
      g_printerr ("vigil agent: the console's settings are not followed (no JetStream "
                  "context: %s); the settings applied last stay\n", natsStatus_GetText (st));
      return s;
    }
  s->thread = g_thread_new ("vigil-settings", reader, s);
  return s;
}

void
agent_settings_free (AgentSettings *s)
{
  if (s == NULL)
    return;
  cli_stop_flag_raise (&s->stop);
  /* Ends a pull waiting at the broker, so the stop does not wait it out. */
  g_mutex_lock (&s->lock);
  if (s->sub != NULL)
    natsSubscription_Unsubscribe (s->sub);
  g_mutex_unlock (&s->lock);
  if (s->thread != NULL)
    g_thread_join (s->thread);
  /* A value queued but not handled is not acknowledged: it comes again. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  jsCtx_Destroy (s->js);
  cli_stop_flag_clear (&s->stop);
  g_mutex_clear (&s->lock);
  g_free (s->device_id);
  g_free (s->ack_prefix);
  g_free (s->applied_path);
  g_free (s);
}
