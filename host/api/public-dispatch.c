/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API of runs that execute elsewhere (the fleet, #13): the
 * application registers a dispatcher and feeds back what the executing
 * side reports. Thin wrappers over the tasks layer's dispatch.c, which
 * takes the dispatcher as a hook so that tasks never calls up. Events
 * an agent reports are stored as the console's events of that device
 * (checked member by member, deduplicated by the agent's event id), and
 * an agent's own host runs no handlers: the console does.
 */
#include "api-private.h"
#include "host-private.h"

#include <string.h>

void
vigil_host_set_run_dispatcher (VigilHost *host, VigilRunDispatchFunc func, gpointer user_data)
{
  g_return_if_fail (host != NULL);
  /* Same signature: the public type is the layer's hook. */
  vh_tasks_set_dispatcher (host, (VhRunDispatchFunc) func, user_data);
}

gboolean
vigil_host_record_run_report (VigilHost *host, const char *device_id, JsonObject *report,
                              GError **error)
{
  g_return_val_if_fail (host != NULL && device_id != NULL && report != NULL, FALSE);
  return vh_tasks_record_run_report (host, device_id, report, error);
}

/* ---- events reported by agents ------------------------------------------ */

static gboolean
event_fail (GError **error, const char *device_id, const char *what)
{
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "event report of device %s: %s", device_id, what);
  return FALSE;
}

static gboolean
source_valid (const char *source)
{
  gsize n = source != NULL ? strlen (source) : 0;

  if (n == 0 || n > 64)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!(g_ascii_islower (source[i]) || g_ascii_isdigit (source[i]) || source[i] == '-'
          || source[i] == '_' || source[i] == '.'))
      return FALSE;
  return TRUE;
}

/* One event report, checked: what it holds (borrowed from @body). */
typedef struct {
  JsonObject *body;
  char       *source;
} Checked;

static void
checked_clear (Checked *c)
{
  g_clear_pointer (&c->body, json_object_unref);
  g_clear_pointer (&c->source, g_free);
}

/* Parses and checks one report of @device_id member by member into @out
 * (its record borrowing from @out). */
static gboolean
event_check (const char *device_id, const char *data, gssize length, Checked *out,
             VhEventRecord *record, GError **error)
{
  static const char *const members[] = { "id", "type", "payload_version", "payload", "source",
                                         NULL };
  const char *id, *type;
  JsonNode *node;
  gint64 version;

  if (data == NULL)
    return event_fail (error, device_id, "no data");
  out->body = vh_event_payload_parse (data, length, "event report", error);
  if (out->body == NULL)
    return FALSE;
  {
    g_autoptr (GList) names = json_object_get_members (out->body);

    for (GList *m = names; m != NULL; m = m->next)
      if (!g_strv_contains (members, m->data))
        {
          g_autofree char *what = g_strdup_printf ("unknown member \"%s\"", (char *) m->data);
          return event_fail (error, device_id, what);
        }
  }
  node = json_object_get_member (out->body, "id");
  id = node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
       ? json_node_get_string (node) : NULL;
  if (id == NULL || !g_uuid_string_is_valid (id))
    return event_fail (error, device_id, "\"id\" must be the event's UUID");
  node = json_object_get_member (out->body, "type");
  type = node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
  if (type == NULL || !vh_event_type_valid (type, NULL))
    return event_fail (error, device_id, "\"type\" must be an event type");
  /* The host's own records and the runs' outcomes are the console's to
   * make: a device forging task.round_finished could steer its handlers. */
  if (g_str_has_prefix (type, "host.") || g_str_has_prefix (type, "task."))
    return event_fail (error, device_id, "\"type\": host.* and task.* events are not "
                       "taken from devices");
  node = json_object_get_member (out->body, "payload_version");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64
      || (version = json_node_get_int (node)) < 1 || version > G_MAXINT)
    return event_fail (error, device_id, "\"payload_version\" must be an integer from 1");
  node = json_object_get_member (out->body, "payload");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return event_fail (error, device_id, "\"payload\" must be an object");
  node = json_object_get_member (out->body, "source");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING
      || !source_valid (json_node_get_string (node)))
    return event_fail (error, device_id, "\"source\" must be 1 to 64 of a-z 0-9 . - _");
  out->source = g_strconcat ("agent:", json_node_get_string (node), NULL);
  *record = (VhEventRecord) {
    .id = id, .source = out->source, .type = type, .device_id = device_id,
    .payload_version = (guint) version,
    .payload = json_object_get_object_member (out->body, "payload"),
  };
  return TRUE;
}

/* Whether @device_id has an enrolled agent, asked once per device of a
 * batch (@known: device -> GINT_TO_POINTER (1 + enrolled)). */
static gboolean
device_enrolled (VigilHost *host, GHashTable *known, const char *device_id, GError **error)
{
  gpointer seen = g_hash_table_lookup (known, device_id);

  if (seen == NULL)
    {
      g_autoptr (JsonObject) agent = vigil_host_device_agent (host, device_id, NULL);
      gboolean enrolled = agent != NULL
        && g_strcmp0 (json_object_get_string_member_with_default (agent, "state", ""),
                      "enrolled") == 0;

      seen = GINT_TO_POINTER (1 + enrolled);
      g_hash_table_insert (known, (gpointer) device_id, seen);
    }
  if (GPOINTER_TO_INT (seen) == 2)
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
               "event report: device %s has no enrolled agent", device_id);
  return FALSE;
}

guint
vigil_host_record_device_events (VigilHost *host, guint n, const char *const *device_ids,
                                 const char *const *data, const gssize *lengths,
                                 JsonObject **events, GError **errors)
{
  g_autoptr (GHashTable) known = NULL;
  g_autofree Checked *checked = NULL;
  g_autofree VhEventRecord *records = NULL;
  g_autofree guint *index = NULL;     /* records[k] is report index[k] */
  g_autofree gboolean *duplicates = NULL;
  g_autofree GError **store_errors = NULL;
  guint valid = 0, count, fresh = 0;

  g_return_val_if_fail (host != NULL && (n == 0 || (device_ids != NULL && data != NULL)), 0);
  for (guint i = 0; i < n; i++)
    g_return_val_if_fail (device_ids[i] != NULL, 0);
  if (n == 0)
    return 0;
  known = g_hash_table_new (g_str_hash, g_str_equal);
  checked = g_new0 (Checked, n);
  records = g_new0 (VhEventRecord, n);
  index = g_new0 (guint, n);
  for (guint i = 0; i < n; i++)
    {
      GError **error = errors != NULL ? &errors[i] : NULL;

      if (events != NULL)
        events[i] = NULL;
      if (device_enrolled (host, known, device_ids[i], error)
          && event_check (device_ids[i], data[i], lengths != NULL ? lengths[i] : -1,
                          &checked[i], &records[valid], error))
        index[valid++] = i;
    }
  duplicates = g_new0 (gboolean, MAX (valid, 1));
  store_errors = g_new0 (GError *, MAX (valid, 1));
  count = vh_events_record_many (host, valid, records, duplicates, store_errors);
  for (guint k = 0; k < valid; k++)
    {
      guint i = index[k];

      if (store_errors[k] != NULL)
        {
          if (errors != NULL)
            errors[i] = g_steal_pointer (&store_errors[k]);
          g_clear_error (&store_errors[k]);
          continue;
        }
      if (!duplicates[k])
        fresh++;
      if (events != NULL)
        {
          JsonObject *o = json_object_new ();

          json_object_set_string_member (o, "id", records[k].id);
          json_object_set_string_member (o, "type", records[k].type);
          json_object_set_string_member (o, "device", device_ids[i]);
          json_object_set_boolean_member (o, "duplicate", duplicates[k]);
          events[i] = o;
        }
    }
  for (guint i = 0; i < n; i++)
    checked_clear (&checked[i]);
  /* Subscribers hear of the new ones once for the batch. */
  if (fresh > 0)
    vigil_host_deliver_events (host);
  return count;
}

gboolean
vigil_host_record_device_event (VigilHost *host, const char *device_id, const char *data,
                                gssize length, JsonObject **event, GError **error)
{
  JsonObject *out[1] = { NULL };
  GError *errors[1] = { NULL };
  gboolean ok;

  g_return_val_if_fail (host != NULL && device_id != NULL, FALSE);
  ok = vigil_host_record_device_events (host, 1, &device_id, &data, &length,
                                        event != NULL ? out : NULL, errors) == 1;
  if (errors[0] != NULL)
    g_propagate_error (error, errors[0]);
  if (event != NULL)
    *event = out[0];
  return ok;
}

void
vigil_host_set_event_handlers (VigilHost *host, gboolean enabled)
{
  g_return_if_fail (host != NULL);
  vh_events_set_handlers (host, enabled);
}

guint
vigil_host_record_run_reports (VigilHost *host, guint n, const char *const *device_ids,
                               JsonObject *const *reports, GError **errors)
{
  g_return_val_if_fail (host != NULL && (n == 0 || (device_ids != NULL && reports != NULL)), 0);
  for (guint i = 0; i < n; i++)
    g_return_val_if_fail (device_ids[i] != NULL && reports[i] != NULL, 0);
  return n == 0 ? 0 : vh_tasks_record_run_reports (host, n, device_ids, reports, errors);
}
