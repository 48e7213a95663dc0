/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's events: emit (with the inventory check the CLI makes),
 * parse untrusted payloads and envelopes, query, and subscriptions. A
 * subscription remembers the last event sequence it saw; at each public
 * entry point that may have stored events, vigil_host_deliver_events()
 * reads what is newer from the store (events of other processes included)
 * and queues the matching ones to the subscriber's GMainContext as one
 * idle source per batch, so that callbacks never run inside a host call.
 */
#include "api-private.h"
#include "host-private.h"

#include <string.h>

G_STATIC_ASSERT (VIGIL_HOST_EVENT_MAX_PAYLOAD == VH_EVENT_MAX_PAYLOAD);
G_STATIC_ASSERT (VIGIL_HOST_EVENT_MAX_ENVELOPE == VH_EVENT_MAX_ENVELOPE);

struct _VigilSubscription {
  gint                ref;          /* atomic: the owner and queued batches */
  gint                active;       /* atomic: cleared by unsubscribe */
  VigilHost          *host;
  char               *type;         /* NULL, exact, or "prefix.*" */
  char               *device;
  char               *task_id;
  gboolean            runs;         /* task.completed/failed payloads */
  gint64              seq;          /* last event sequence looked at */
  GMainContext       *context;
  VigilHostEventFunc  func;
  gpointer            user_data;
  GDestroyNotify      destroy;
};

/* host -> GPtrArray of its subscriptions (each holding a ref). */
static GMutex      subscribers_lock;
static GHashTable *subscribers;

static VigilSubscription *
subscription_ref (VigilSubscription *sub)
{
  g_atomic_int_inc (&sub->ref);
  return sub;
}

static void
subscription_unref (VigilSubscription *sub)
{
  if (!g_atomic_int_dec_and_test (&sub->ref))
    return;
  if (sub->destroy != NULL)
    sub->destroy (sub->user_data);
  g_main_context_unref (sub->context);
  g_free (sub->type);
  g_free (sub->device);
  g_free (sub->task_id);
  g_free (sub);
}

/* ---- emitting --------------------------------------------------------- */

char *
vigil_host_emit_event (VigilHost *host, const char *source, const char *type,
                       const char *device_id, guint payload_version,
                       JsonObject *payload, GError **error)
{
  char *id;

  g_return_val_if_fail (host != NULL, NULL);
  if (!vh_event_type_refuse_audit (type, error))
    return NULL;
  /* A malformed device id gets the emitter's own INVALID error below; a
   * well-formed one must name a device of the inventory. */
  if (device_id != NULL && vh_event_device_valid (device_id, NULL))
    {
      g_autoptr (JsonObject) device = vh_inventory_device (host, device_id, error);
      if (device == NULL)
        return NULL;
    }
  id = vh_events_emit (host, source, type, device_id, payload_version, payload, error);
  if (id != NULL)
    vigil_host_deliver_events (host);
  return id;
}

JsonObject *
vigil_host_parse_event_payload (const char *data, gssize length, const char *where,
                                GError **error)
{
  if (data == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: no payload given", where ? where : "payload");
      return NULL;
    }
  return vh_event_payload_parse (data, length, where ? where : "payload", error);
}

char *
vigil_host_emit_event_envelope (VigilHost *host, const char *source, const char *data,
                                gssize length, const char *where, JsonObject **event,
                                GError **error)
{
  g_autoptr (VhEventEnvelope) envelope = NULL;
  char *id;

  g_return_val_if_fail (host != NULL, NULL);
  where = where ? where : "event";
  if (data == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: no event given", where);
      return NULL;
    }
  envelope = vh_event_envelope_parse (data, length, where, error);
  if (envelope == NULL)
    return NULL;
  if (!vh_event_type_refuse_audit (envelope->type, error))
    return NULL;
  if (envelope->device_id != NULL)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (JsonObject) device = vh_inventory_device (host, envelope->device_id,
                                                           &local_error);
      if (device == NULL)
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND, "%s: %s",
                       where, local_error->message);
          return NULL;
        }
    }
  id = vh_events_emit (host, source, envelope->type, envelope->device_id,
                       envelope->payload_version, envelope->payload, error);
  if (id == NULL)
    return NULL;
  if (event != NULL)
    {
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "id", id);
      json_object_set_string_member (o, "type", envelope->type);
      if (envelope->device_id != NULL)
        json_object_set_string_member (o, "device", envelope->device_id);
      else
        json_object_set_null_member (o, "device");
      json_object_set_int_member (o, "payload_version", envelope->payload_version);
      *event = o;
    }
  vigil_host_deliver_events (host);
  return id;
}

/* ---- querying --------------------------------------------------------- */

JsonArray *
vigil_host_events (VigilHost *host, gint64 since_us, const char *type, const char *device,
                   guint limit, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_events_list (host, since_us, type, device, limit, error);
}

gboolean
vigil_host_events_foreach (VigilHost *host, gint64 since_us, const char *type,
                           const char *device, guint limit, VigilHostEventFunc func,
                           gpointer user_data, GError **error)
{
  g_return_val_if_fail (host != NULL && func != NULL, FALSE);
  return vh_events_foreach (host, since_us, type, device, limit, func, user_data, error);
}

gint64
vigil_host_last_event_seq (VigilHost *host)
{
  g_return_val_if_fail (host != NULL, 0);
  return vh_events_last_seq (host);
}

JsonArray *
vigil_host_events_after (VigilHost *host, gint64 seq, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_events_after (host, seq, error);
}

/* ---- subscriptions ---------------------------------------------------- */

static gboolean
type_matches (const char *pattern, const char *type)
{
  gsize n;

  if (pattern == NULL)
    return TRUE;
  if (type == NULL)
    return FALSE;
  n = strlen (pattern);
  if (n >= 2 && g_str_has_suffix (pattern, ".*"))
    return strncmp (pattern, type, n - 1) == 0;   /* "quarantine." prefix */
  return g_str_equal (pattern, type);
}

static const char *
member_string (JsonObject *o, const char *member)
{
  JsonNode *node = o != NULL ? json_object_get_member (o, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

/* The object @sub's callback gets for @event, or NULL when it does not
 * match. (transfer full) */
static JsonObject *
match (VigilSubscription *sub, JsonObject *event)
{
  const char *type = member_string (event, "type");

  if (sub->runs)
    {
      JsonObject *payload;

      if (g_strcmp0 (type, "task.completed") != 0 && g_strcmp0 (type, "task.failed") != 0)
        return NULL;
      payload = json_object_get_object_member (event, "payload");
      if (payload == NULL || (sub->task_id != NULL &&
                              g_strcmp0 (member_string (payload, "task_id"), sub->task_id) != 0))
        return NULL;
      return json_object_ref (payload);
    }
  if (!type_matches (sub->type, type))
    return NULL;
  if (sub->device != NULL && g_strcmp0 (member_string (event, "device"), sub->device) != 0)
    return NULL;
  return json_object_ref (event);
}

typedef struct {
  VigilSubscription *sub;
  GPtrArray         *objects;   /* JsonObject * */
} Batch;

static gboolean
deliver_batch (gpointer data)
{
  Batch *batch = data;

  for (guint i = 0; i < batch->objects->len; i++)
    if (g_atomic_int_get (&batch->sub->active))
      batch->sub->func (batch->sub->host, g_ptr_array_index (batch->objects, i),
                        batch->sub->user_data);
  return G_SOURCE_REMOVE;
}

static void
batch_free (gpointer data)
{
  Batch *batch = data;

  g_ptr_array_unref (batch->objects);
  subscription_unref (batch->sub);
  g_free (batch);
}

/* The events after @sub->seq, read so that none stored meanwhile is
 * skipped: the newest sequence must be the same before and after the read.
 * Returns: (transfer full) the events, NULL when none or on error. */
static JsonArray *
read_new_events (VigilSubscription *sub)
{
  for (int attempt = 0; attempt < 100; attempt++)
    {
      gint64 last = vh_events_last_seq (sub->host);
      g_autoptr (JsonArray) events = NULL;

      if (last <= sub->seq)
        return NULL;
      events = vh_events_after (sub->host, sub->seq, NULL);
      if (events == NULL)
        return NULL;
      if (vh_events_last_seq (sub->host) == last)
        {
          sub->seq = last;
          return g_steal_pointer (&events);
        }
    }
  return NULL;   /* events keep pouring in: the next delivery catches up */
}

static guint
deliver_one (VigilSubscription *sub)
{
  g_autoptr (JsonArray) events = read_new_events (sub);
  Batch *batch;
  GSource *source;
  guint n = events != NULL ? json_array_get_length (events) : 0;

  if (n == 0)
    return 0;
  batch = g_new0 (Batch, 1);
  batch->objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *o = match (sub, json_array_get_object_element (events, i));
      if (o != NULL)
        g_ptr_array_add (batch->objects, o);
    }
  if (batch->objects->len == 0)
    {
      g_ptr_array_unref (batch->objects);
      g_free (batch);
      return n;
    }
  batch->sub = subscription_ref (sub);
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver_batch, batch, batch_free);
  g_source_set_static_name (source, "vigil-host-events");
  g_source_attach (source, sub->context);
  g_source_unref (source);
  return n;
}

guint
vigil_host_deliver_events (VigilHost *host)
{
  GPtrArray *subs;
  guint most = 0;

  g_return_val_if_fail (host != NULL, 0);
  g_mutex_lock (&subscribers_lock);
  subs = subscribers != NULL ? g_hash_table_lookup (subscribers, host) : NULL;
  for (guint i = 0; subs != NULL && i < subs->len; i++)
    {
      guint n = deliver_one (g_ptr_array_index (subs, i));
      most = MAX (most, n);
    }
  g_mutex_unlock (&subscribers_lock);
  return most;
}

static VigilSubscription *
subscribe (VigilHost *host, GMainContext *context, VigilHostEventFunc func,
           gpointer user_data, GDestroyNotify destroy)
{
  VigilSubscription *sub = g_new0 (VigilSubscription, 1);
  GPtrArray *subs;

  sub->ref = 1;
  sub->active = 1;
  sub->host = host;
  sub->context = context != NULL ? g_main_context_ref (context)
                                 : g_main_context_ref_thread_default ();
  sub->func = func;
  sub->user_data = user_data;
  sub->destroy = destroy;
  sub->seq = vh_events_last_seq (host);

  g_mutex_lock (&subscribers_lock);
  if (subscribers == NULL)
    subscribers = g_hash_table_new (NULL, NULL);
  subs = g_hash_table_lookup (subscribers, host);
  if (subs == NULL)
    {
      subs = g_ptr_array_new_with_free_func ((GDestroyNotify) subscription_unref);
      g_hash_table_insert (subscribers, host, subs);
    }
  g_ptr_array_add (subs, subscription_ref (sub));
  g_mutex_unlock (&subscribers_lock);
  return sub;
}

VigilSubscription *
vigil_host_subscribe_events (VigilHost *host, const char *type, const char *device,
                             GMainContext *context, VigilHostEventFunc func,
                             gpointer user_data, GDestroyNotify destroy)
{
  VigilSubscription *sub;

  g_return_val_if_fail (host != NULL && func != NULL, NULL);
  sub = subscribe (host, context, func, user_data, destroy);
  sub->type = g_strdup (type);
  sub->device = g_strdup (device);
  return sub;
}

VigilSubscription *
vigil_host_subscribe_task_runs (VigilHost *host, const char *task_id, GMainContext *context,
                                VigilHostEventFunc func, gpointer user_data,
                                GDestroyNotify destroy)
{
  VigilSubscription *sub;

  g_return_val_if_fail (host != NULL && func != NULL, NULL);
  sub = subscribe (host, context, func, user_data, destroy);
  sub->runs = TRUE;
  sub->task_id = g_strdup (task_id);
  return sub;
}

void
vigil_host_unsubscribe (VigilSubscription *subscription)
{
  GPtrArray *subs;

  if (subscription == NULL)
    return;
  g_atomic_int_set (&subscription->active, 0);
  g_mutex_lock (&subscribers_lock);
  subs = subscribers != NULL ? g_hash_table_lookup (subscribers, subscription->host) : NULL;
  if (subs != NULL)
    {
      g_ptr_array_remove (subs, subscription);
      if (subs->len == 0)
        {
          g_hash_table_remove (subscribers, subscription->host);
          g_ptr_array_unref (subs);
        }
    }
  g_mutex_unlock (&subscribers_lock);
  subscription_unref (subscription);
}
