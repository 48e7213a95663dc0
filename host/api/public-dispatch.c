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

gboolean
vigil_host_record_device_event (VigilHost *host, const char *device_id, const char *data,
                                gssize length, JsonObject **event, GError **error)
{
  static const char *const members[] = { "id", "type", "payload_version", "payload", "source",
                                         NULL };
  g_autoptr (JsonObject) body = NULL, agent = NULL;
  g_autofree char *source = NULL;
  const char *id, *type;
  JsonNode *node;
  gint64 version;
  gboolean duplicate = FALSE;

  g_return_val_if_fail (host != NULL && device_id != NULL, FALSE);
  agent = vigil_host_device_agent (host, device_id, NULL);
  if (agent == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (agent, "state", ""),
                    "enrolled") != 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "event report: device %s has no enrolled agent", device_id);
      return FALSE;
    }
  if (data == NULL)
    return event_fail (error, device_id, "no data");
  body = vh_event_payload_parse (data, length, "event report", error);
  if (body == NULL)
    return FALSE;
  {
    g_autoptr (GList) names = json_object_get_members (body);

    for (GList *m = names; m != NULL; m = m->next)
      if (!g_strv_contains (members, m->data))
        {
          g_autofree char *what = g_strdup_printf ("unknown member \"%s\"", (char *) m->data);
          return event_fail (error, device_id, what);
        }
  }
  node = json_object_get_member (body, "id");
  id = node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
       ? json_node_get_string (node) : NULL;
  if (id == NULL || !g_uuid_string_is_valid (id))
    return event_fail (error, device_id, "\"id\" must be the event's UUID");
  node = json_object_get_member (body, "type");
  type = node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
  if (type == NULL || !vh_event_type_valid (type, NULL))
    return event_fail (error, device_id, "\"type\" must be an event type");
  /* The host's own records and the runs' outcomes are the console's to
   * make: a device forging task.round_finished could steer its handlers. */
  if (g_str_has_prefix (type, "host.") || g_str_has_prefix (type, "task."))
    return event_fail (error, device_id, "\"type\": host.* and task.* events are not "
                       "taken from devices");
  node = json_object_get_member (body, "payload_version");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64
      || (version = json_node_get_int (node)) < 1 || version > G_MAXINT)
    return event_fail (error, device_id, "\"payload_version\" must be an integer from 1");
  node = json_object_get_member (body, "payload");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return event_fail (error, device_id, "\"payload\" must be an object");
  node = json_object_get_member (body, "source");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING
      || !source_valid (json_node_get_string (node)))
    return event_fail (error, device_id, "\"source\" must be 1 to 64 of a-z 0-9 . - _");
  source = g_strconcat ("agent:", json_node_get_string (node), NULL);
  if (!vh_events_record (host, id, source, type, device_id, (guint) version,
                         json_object_get_object_member (body, "payload"), &duplicate, error))
    return FALSE;
  if (event != NULL)
    {
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "id", id);
      json_object_set_string_member (o, "type", type);
      json_object_set_string_member (o, "device", device_id);
      json_object_set_boolean_member (o, "duplicate", duplicate);
      *event = o;
    }
  if (!duplicate)
    vigil_host_deliver_events (host);
  return TRUE;
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
