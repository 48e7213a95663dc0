/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remembers the group IOC scans the response created (or will create) and
 * that have not finished, so that the same object detected again in the
 * same admin group does not start a second scan of every device. Kept in
 * the host's durable document store (collection "pending_scans", key
 * "<group>/<sha256>"), so it survives restarts. An entry is either a scan
 * waiting for the detecting device's local quarantine to end ("after_task"
 * and the scan to create, "scan") or a created scan ("task_id"). It goes
 * when its task's round has finished on every device (task.round_finished),
 * and is found stale, and dropped, when the task it names was deleted or
 * cancelled since: such a task never finishes its round.
 */
#include "sr-plugin.h"

#define PENDING "pending_scans"

static char *
pending_key (const char *group_id, const char *sha256)
{
  return g_strdup_printf ("%s/%s", group_id, sha256);
}

/* Whether @task_id is still a task that will run: not deleted, not
 * cancelled. A task the host cannot show (an error) counts as current, so
 * a store hiccup never starts a second scan. */
static gboolean
task_current (const char *task_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) task = NULL;

  if (task_id == NULL)
    return FALSE;
  task = sr_api->get_task (sr_self, task_id, &error);
  if (task == NULL)
    return !g_error_matches (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  return g_strcmp0 (vigil_json_get_string (task, "state"), "cancelled") != 0;
}

JsonObject *
sr_pending_find (const char *group_id, const char *sha256)
{
  g_autofree char *key = pending_key (group_id, sha256);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = sr_api->store_get (sr_self, PENDING, key, &error);
  JsonObject *entry;
  const char *task_id;

  if (error != NULL)
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING, "pending scans unreadable: %s",
                 error->message);
  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    return NULL;
  entry = json_node_get_object (doc);
  task_id = vigil_json_get_string (entry, "task_id");
  if (task_current (task_id != NULL ? task_id : vigil_json_get_string (entry, "after_task")))
    return json_object_ref (entry);
  sr_api->log (sr_self, G_LOG_LEVEL_INFO, "the pending IOC scan %s of group %s for %s "
               "was deleted or cancelled: forgotten", task_id ? task_id : "(not created)",
               group_id, sha256);
  sr_api->store_delete (sr_self, PENDING, key, NULL);
  return NULL;
}

static void
put (const char *group_id, const char *sha256, JsonObject *o)
{
  g_autofree char *key = pending_key (group_id, sha256);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (doc, o);
  if (!sr_api->store_put (sr_self, PENDING, key, doc, &error))
    sr_api->log (sr_self, G_LOG_LEVEL_WARNING,
                 "pending scan of %s not recorded (a repeat detection may start "
                 "another scan): %s", key, error->message);
}

static JsonObject *
entry_new (const char *group_id, const char *sha256, const char *event_id)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "group", group_id);
  json_object_set_string_member (o, "sha256", sha256);
  json_object_set_string_member (o, "event_id", event_id);
  json_object_set_int_member (o, "created_us", sr_api->now (sr_self));
  return o;
}

void
sr_pending_add (const char *group_id, const char *sha256, const char *task_id,
                const char *event_id)
{
  g_autoptr (JsonObject) o = entry_new (group_id, sha256, event_id);

  json_object_set_string_member (o, "task_id", task_id);
  put (group_id, sha256, o);
}

void
sr_pending_defer (const char *group_id, const char *sha256, const char *event_id,
                  const char *after_task, JsonObject *scan)
{
  g_autoptr (JsonObject) o = entry_new (group_id, sha256, event_id);

  json_object_set_string_member (o, "after_task", after_task);
  json_object_set_object_member (o, "scan", json_object_ref (scan));
  put (group_id, sha256, o);
}

/* Calls @func for each entry whose @member is @task_id, with its key. */
static guint
for_each_entry (const char *member, const char *task_id,
                void (*func) (const char *key, JsonObject *entry))
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
          || g_strcmp0 (vigil_json_get_string (json_node_get_object (doc), member), task_id) != 0)
        continue;
      func (l->data, json_node_get_object (doc));
      n++;
    }
  return n;
}

static void
forget (const char *key, JsonObject *entry)
{
  sr_api->store_delete (sr_self, PENDING, key, NULL);
}

guint
sr_pending_finish (const char *task_id)
{
  return for_each_entry ("task_id", task_id, forget);
}

static void
start_deferred (const char *key, JsonObject *entry)
{
  g_autofree char *task_id = sr_start_deferred_scan (entry);
  const char *group = vigil_json_get_string (entry, "group");
  const char *sha256 = vigil_json_get_string (entry, "sha256");

  if (task_id == NULL)
    {
      forget (key, entry);
      return;
    }
  sr_pending_add (group, sha256, task_id, vigil_json_get_string (entry, "event_id"));
}

guint
sr_pending_local_ended (const char *task_id)
{
  return for_each_entry ("after_task", task_id, start_deferred);
}
