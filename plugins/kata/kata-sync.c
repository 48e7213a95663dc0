/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Synchronization with the central node: every sync period, ask the first
 * reachable server for this agent's settings and tasks (GET
 * /kata/v1/sync), apply the settings it may set (kata-server-settings.c),
 * and create each task it lists through the host, once per task id (ids are
 * remembered in the spool database across restarts). The node learns what
 * became of each: a task the device would not create goes back to it as a
 * task.rejected record in the next package (saying whether the device
 * cannot run the type at all), and a created one is remembered with the
 * node's id so that its task.completed / task.failed go back too
 * (plugin.c). A reply that is not what the protocol says gets a
 * kata.sync_failed event naming the server and what was wrong, never a
 * crash.
 */
#include "kata-engine-private.h"

#include <string.h>

static void
report_sync_failure (KataEngine *engine, const char *server, const GError *error)
{
  g_autoptr (JsonObject) p = json_object_new ();

  json_object_set_string_member (p, "server", server);
  json_object_set_string_member (p, "reason", error->message);
  kata_engine_emit (engine, "kata.sync_failed", p);
}

/* The node learns that a task it sent was not created: a task.rejected
 * record (high importance) in the next package, with the node's task id. */
static void
queue_rejection (KataEngine *engine, JsonObject *task, const GError *error,
                 gboolean unsupported, gint64 now)
{
  g_autoptr (JsonObject) record = json_object_new ();
  JsonObject *p = json_object_new ();
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *time = kata_iso_time (now);
  g_autoptr (GError) local = NULL;

  json_object_set_string_member (p, "node_task_id", json_object_get_string_member (task, "id"));
  json_object_set_string_member (p, "type", json_object_get_string_member (task, "type"));
  json_object_set_string_member (p, "state", "rejected");
  json_object_set_boolean_member (p, "unsupported", unsupported);
  json_object_set_string_member (p, "reason", error ? error->message : "not created");
  json_object_set_string_member (record, "id", id);
  json_object_set_string_member (record, "type", "task.rejected");
  if (engine->device_id != NULL)
    json_object_set_string_member (record, "device", engine->device_id);
  json_object_set_string_member (record, "time", time);
  json_object_set_int_member (record, "payload_version", 1);
  json_object_set_string_member (record, "source", "kata");
  json_object_set_object_member (record, "payload", p);
  if (!kata_engine_submit (engine, "task.rejected", record, &local))
    kata_engine_set_error (engine, NULL, local);
}

/* The host would not create a task the server sent (a type this device
 * cannot run, bad parameters, a schedule it refuses): it is not asked for
 * again, the admin learns why from the event, and the node from the next
 * package. */
static void
report_rejected (KataEngine *engine, JsonObject *task, const GError *error, gint64 now)
{
  g_autoptr (JsonObject) p = json_object_new ();
  gboolean unsupported = g_error_matches (error, KATA_ERROR, KATA_ERROR_TASK_UNSUPPORTED);

  json_object_set_string_member (p, "task", json_object_get_string_member (task, "id"));
  json_object_set_string_member (p, "type", json_object_get_string_member (task, "type"));
  json_object_set_boolean_member (p, "unsupported", unsupported);
  json_object_set_string_member (p, "reason", error ? error->message : "not created");
  kata_engine_emit (engine, "kata.sync_task_rejected", p);
  queue_rejection (engine, task, error, unsupported, now);
}

/* Where the node's id of a created task is kept (spool meta). */
static char *
node_task_key (const char *host_task_id)
{
  return g_strconcat ("node_task/", host_task_id, NULL);
}

char *
kata_engine_node_task (KataEngine *engine, const char *host_task_id)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (engine != NULL, NULL);
  if (host_task_id == NULL)
    return NULL;
  key = node_task_key (host_task_id);
  return kata_spool_meta_get (engine->spool, key);
}

static void
create_tasks (KataEngine *engine, KataSyncReply *reply, gint64 now)
{
  for (guint i = 0; i < reply->tasks->len; i++)
    {
      JsonObject *task = g_ptr_array_index (reply->tasks, i);
      const char *id = json_object_get_string_member (task, "id");
      g_autoptr (GError) error = NULL;
      g_autofree char *task_id = NULL;

      if (!kata_spool_mark_task (engine->spool, id, now, NULL))
        continue;
      task_id = engine->hooks.create_task
          ? engine->hooks.create_task (engine->hooks.user_data, task, &error) : NULL;
      if (task_id == NULL)
        {
          report_rejected (engine, task, error, now);
          continue;
        }
      {
        g_autofree char *key = node_task_key (task_id);
        g_autoptr (GError) link_error = NULL;

        /* Without it the outcome would not go back: say so, go on. */
        if (!kata_spool_meta_set (engine->spool, key, id, &link_error))
          kata_engine_set_error (engine, NULL, link_error);
      }
      g_mutex_lock (&engine->lock);
      engine->tasks_created++;
      g_mutex_unlock (&engine->lock);
    }
}

static gboolean
apply_reply (KataEngine *engine, GBytes *body, const char *name, GError **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  g_autoptr (KataSyncReply) reply = kata_reply_parse_sync (data, len, error);
  gint64 now = engine->hooks.now ? engine->hooks.now (engine->hooks.user_data)
                                 : g_get_real_time ();

  if (reply == NULL)
    {
      g_prefix_error (error, "%s: synchronization reply: ", name);
      return FALSE;
    }
  /* Absent or null: the server said nothing, the overrides stay. */
  if (reply->settings != NULL &&
      !kata_engine_set_overrides (engine, reply->settings, error))
    return FALSE;
  create_tasks (engine, reply, now);
  return TRUE;
}

static gboolean
sync_with (KataEngine *engine, KataSnapshot *snap, guint i, gboolean *garbage,
           GError **error)
{
  const KataServer *server = g_ptr_array_index (snap->settings->servers, i);
  g_autofree char *name = kata_server_name (server);
  g_autoptr (VigilHttpsClient) client = kata_snapshot_client (engine, snap, i, error);
  g_autofree char *agent = g_uri_escape_string (kata_spool_agent_id (engine->spool), NULL, FALSE);
  g_autofree char *device = g_uri_escape_string (engine->device_id ? engine->device_id : "", NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/kata/v1/sync?agent_id=%s&device=%s", agent, device);
  g_auto (VigilHttpsReply) reply = { 0 };

  *garbage = FALSE;
  if (client == NULL ||
      !kata_request (engine, client, name, "GET", path, NULL, &reply, error))
    return FALSE;
  if (reply.status / 100 != 2)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_HTTP_STATUS,
                   "%s: the server answered HTTP %u to the synchronization", name,
                   reply.status);
      return FALSE;
    }
  *garbage = TRUE;
  return apply_reply (engine, reply.body, name, error);
}

gboolean
kata_engine_sync_now (KataEngine *engine)
{
  g_autoptr (KataSnapshot) snap = NULL;
  gboolean ok = FALSE;

  g_mutex_lock (&engine->cycle_lock);
  g_mutex_lock (&engine->lock);
  engine->last_sync_us = engine->hooks.now
      ? engine->hooks.now (engine->hooks.user_data) : g_get_real_time ();
  g_mutex_unlock (&engine->lock);
  snap = kata_snapshot_take (engine);
  for (guint i = 0; snap->settings->enabled && !ok && i < snap->settings->servers->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = kata_server_name (g_ptr_array_index (snap->settings->servers, i));
      gboolean garbage = FALSE;
      ok = sync_with (engine, snap, i, &garbage, &error);
      if (!ok && (garbage || g_error_matches (error, KATA_ERROR, KATA_ERROR_PROTOCOL)))
        report_sync_failure (engine, name, error);
      /* Whatever failed, the next server is tried: say which one failed. */
      if (!ok && !g_error_matches (error, KATA_ERROR, KATA_ERROR_IO))
        kata_engine_server_failed (engine, name, "sync", error);
    }
  g_mutex_lock (&engine->lock);
  if (ok)
    engine->syncs++;
  else
    engine->sync_failures++;
  g_mutex_unlock (&engine->lock);
  kata_engine_save_counters (engine);
  g_mutex_unlock (&engine->cycle_lock);
  return ok;
}
