/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remembers the group IOC scans the response created and that have not
 * finished, so that the same object detected again in the same admin group
 * does not start a second scan of every device. Kept in the host's durable
 * document store (collection "pending_scans", key "<group>/<sha256>"), so
 * it survives restarts; an entry goes when its task's round has finished on
 * every device (task.round_finished).
 */
#include "sr-plugin.h"

#define PENDING "pending_scans"

static char *
pending_key (const char *group_id, const char *sha256)
{
  return g_strdup_printf ("%s/%s", group_id, sha256);
}

char *
sr_pending_find (const char *group_id, const char *sha256)
{
  g_autofree char *key = pending_key (group_id, sha256);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = sr_api->store_get (sr_self, PENDING, key, &error);

  if (error != NULL)
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "pending scans unreadable: %s",
                 error->message);
  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (doc),
                                                               "task_id", NULL));
}

void
sr_pending_add (const char *group_id, const char *sha256, const char *task_id,
                const char *event_id)
{
  g_autofree char *key = pending_key (group_id, sha256);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = json_node_new (JSON_NODE_OBJECT);
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "task_id", task_id);
  json_object_set_string_member (o, "group", group_id);
  json_object_set_string_member (o, "sha256", sha256);
  json_object_set_string_member (o, "event_id", event_id);
  json_object_set_int_member (o, "created_us", sr_api->now (sr_self));
  json_node_take_object (doc, o);
  if (!sr_api->store_put (sr_self, PENDING, key, doc, &error))
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING,
                 "pending scan %s not recorded (a repeat detection may start "
                 "another scan): %s", task_id, error->message);
}

guint
sr_pending_finish (const char *task_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) all = sr_api->store_list (sr_self, PENDING, &error);
  g_autoptr (GList) keys = NULL;
  guint n = 0;

  if (all == NULL)
    return 0;
  keys = json_object_get_members (all);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonNode *doc = json_object_get_member (all, l->data);

      if (!JSON_NODE_HOLDS_OBJECT (doc)
          || g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (doc),
                                                                    "task_id", NULL), task_id) != 0)
        continue;
      if (sr_api->store_delete (sr_self, PENDING, l->data, NULL))
        n++;
    }
  return n;
}
