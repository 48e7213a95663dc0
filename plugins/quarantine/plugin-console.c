/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's common list fed by fleet agents. On a console, an agent's
 * quarantine events arrive as events of its device with the source
 * "agent:quarantine" (the host stores what agents report so; an agent's
 * own host runs no handlers). A put on a device whose `sync.send_to_console`
 * is on says so in its quarantine.added payload, and becomes a row of the
 * console's inventory (collection "inventory", key "<device>/<id>", as a
 * local put makes it); restored and deleted remove the row whatever the
 * setting. Events of this host's own puts are left alone: the put itself
 * keeps the row (plugin-ops.c). The payload is a device's report: each
 * member is checked before it is kept.
 */
#include "qplugin.h"

#include <string.h>

#define MAX_PATH_CHARS 4096

static gboolean
from_agent (const VigilEvent *event)
{
  return event->device_id != NULL && event->source != NULL
         && g_str_has_prefix (event->source, "agent:");
}

/* An object id is what the store makes: letters, digits and '-'. */
static const char *
object_id (const VigilEvent *event)
{
  const char *id = vigil_json_get_string (event->payload, "id");
  gsize n = id != NULL ? strlen (id) : 0;

  if (n == 0 || n > 64)
    return NULL;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '-')
      return NULL;
  return id;
}

static void
copy_string (JsonObject *to, JsonObject *from, const char *member, gsize max)
{
  const char *v = vigil_json_get_string (from, member);

  if (v != NULL && strlen (v) <= max && g_utf8_validate (v, -1, NULL))
    json_object_set_string_member (to, member, v);
}

static void
on_agent_quarantine (const VigilEvent *event, gpointer user_data)
{
  g_autofree char *key = NULL;
  g_autoptr (GError) error = NULL;
  const char *id;

  if (!from_agent (event))
    return;
  if ((id = object_id (event)) == NULL)
    {
      qp_api->log (qp_self, G_LOG_LEVEL_WARNING, "%s of device %s: no valid object id; "
                   "the console's list is unchanged", event->type, event->device_id);
      return;
    }
  key = g_strdup_printf ("%s/%s", event->device_id, id);
  if (g_str_equal (event->type, "quarantine.added"))
    {
      g_autoptr (JsonNode) doc = json_node_new (JSON_NODE_OBJECT);
      JsonNode *sync = json_object_get_member (event->payload, "send_to_console");
      JsonNode *size = json_object_get_member (event->payload, "size");
      JsonObject *row;

      if (sync == NULL || json_node_get_value_type (sync) != G_TYPE_BOOLEAN
          || !json_node_get_boolean (sync))
        return;
      row = json_object_new ();
      json_object_set_string_member (row, "id", id);
      json_object_set_string_member (row, "device", event->device_id);
      copy_string (row, event->payload, "path", MAX_PATH_CHARS);
      copy_string (row, event->payload, "sha256", 64);
      copy_string (row, event->payload, "detection", 256);
      if (size != NULL && json_node_get_value_type (size) == G_TYPE_INT64
          && json_node_get_int (size) >= 0)
        json_object_set_int_member (row, "size", json_node_get_int (size));
      json_node_take_object (doc, row);
      if (!qp_api->store_put (qp_self, QP_INVENTORY, key, doc, &error))
        qp_api->log (qp_self, G_LOG_LEVEL_WARNING, "console inventory: %s", error->message);
    }
  else
    qp_api->store_delete (qp_self, QP_INVENTORY, key, NULL);
}

gboolean
qp_console_register (GError **error)
{
  static const VigilEventHandler handlers[] = {
    { .event_type = "quarantine.added", .handler = on_agent_quarantine },
    { .event_type = "quarantine.restored", .handler = on_agent_quarantine },
    { .event_type = "quarantine.deleted", .handler = on_agent_quarantine },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    if (!qp_api->register_event_handler (qp_self, &handlers[i], sizeof handlers[i], error))
      return FALSE;
  return TRUE;
}
