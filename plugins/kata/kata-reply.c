/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers for the central node's JSON replies: the acknowledgement of a
 * package and the synchronization answer (settings and tasks). Replies are
 * untrusted: sizes are limited, the text goes through the strict reader
 * (duplicate keys, NUL in strings, non-standard numbers and integers
 * beyond 64 bits refused), every member is type-checked, and errors
 * name the JSON path that was wrong, so that the event reporting a garbage
 * reply tells an admin what the server got wrong.
 */
#include "kata-engine.h"

#include <string.h>

#include <vigil/util/json.h>

#define MAX_REPLY       (1024 * 1024)
#define MAX_SYNC_TASKS  256
#define MAX_SCHEDULE    4096   /* a schedule's JSON text, bytes */

static JsonObject *
parse_object (const char *data, gsize len, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) root = NULL;

  if (len > MAX_REPLY)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "reply larger than %d bytes", MAX_REPLY);
      return NULL;
    }
  if (len == 0 || memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   len ? "reply contains NUL bytes" : "empty reply");
      return NULL;
    }
  /* The strict reader: a duplicate key, NUL in a string, 010 or an
   * integer beyond 64 bits in a reply is a protocol error, not a value
   * json-glib would pick or wrap silently. */
  root = vigil_json_parse (data, (gssize) len, VIGIL_JSON_STRICT, NULL, &local);
  if (root == NULL)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "reply is not JSON: %s", local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "reply ($) is not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static gboolean
get_uint (JsonObject *o, const char *key, guint64 *out)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || json_node_get_value_type (n) != G_TYPE_INT64 ||
      json_node_get_int (n) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (n);
  return TRUE;
}

gboolean
kata_reply_parse_ack (const char *data, gsize len, guint64 *seq, GError **error)
{
  g_autoptr (JsonObject) o = parse_object (data, len, error);

  if (o == NULL)
    return FALSE;
  if (!get_uint (o, "ack", seq))
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "$.ack: missing or not a non-negative integer");
      return FALSE;
    }
  return TRUE;
}

void
kata_sync_reply_free (KataSyncReply *reply)
{
  if (reply == NULL)
    return;
  g_clear_pointer (&reply->settings, json_object_unref);
  g_clear_pointer (&reply->tasks, g_ptr_array_unref);
  g_free (reply);
}

/* The host checks what a schedule means (docs/tasks.md) and may refuse it
 * (kata.sync_task_rejected); here only its shape and size, so that a
 * server cannot hand the host an unbounded document. */
static gboolean
check_schedule (JsonObject *t, guint i, GError **error)
{
  JsonNode *n = json_object_get_member (t, "schedule");
  g_autofree char *text = NULL;
  JsonNode *kind;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (n))
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].schedule: not an object", i), FALSE;
  kind = json_object_get_member (json_node_get_object (n), "kind");
  if (kind == NULL || json_node_get_value_type (kind) != G_TYPE_STRING ||
      strlen (json_node_get_string (kind)) > 32)
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].schedule.kind: missing or not a short string", i), FALSE;
  text = json_to_string (n, FALSE);
  if (strlen (text) > MAX_SCHEDULE)
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].schedule: larger than %d bytes", i, MAX_SCHEDULE), FALSE;
  return TRUE;
}

static gboolean
check_task (JsonNode *node, guint i, GError **error)
{
  JsonObject *t;
  const char *id, *type;
  JsonNode *params;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad_obj;
  t = json_node_get_object (node);
  id = vigil_json_get_string (t, "id");
  type = vigil_json_get_string (t, "type");
  if (id == NULL || *id == '\0' || strlen (id) > 128)
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].id: missing or not a short string", i), FALSE;
  if (type == NULL || strchr (type, '.') == NULL || strlen (type) > 64)
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].type: missing or not a task type id", i), FALSE;
  params = json_object_get_member (t, "params");
  if (params != NULL && !JSON_NODE_HOLDS_OBJECT (params))
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].params: not an object", i), FALSE;
  if (json_object_has_member (t, "name") && vigil_json_get_string (t, "name") == NULL)
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks[%u].name: not a string", i), FALSE;
  return check_schedule (t, i, error);

bad_obj:
  g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
               "$.tasks[%u]: not an object", i);
  return FALSE;
}

static gboolean
collect_tasks (JsonObject *o, KataSyncReply *reply, GError **error)
{
  JsonNode *n = json_object_get_member (o, "tasks");
  JsonArray *arr;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (n))
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks: not an array"), FALSE;
  arr = json_node_get_array (n);
  if (json_array_get_length (arr) > MAX_SYNC_TASKS)
    return g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                        "$.tasks: more than %d tasks", MAX_SYNC_TASKS), FALSE;
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonNode *t = json_array_get_element (arr, i);
      if (!check_task (t, i, error))
        return FALSE;
      g_ptr_array_add (reply->tasks, json_object_ref (json_node_get_object (t)));
    }
  return TRUE;
}

KataSyncReply *
kata_reply_parse_sync (const char *data, gsize len, GError **error)
{
  g_autoptr (JsonObject) o = parse_object (data, len, error);
  g_autoptr (KataSyncReply) reply = NULL;
  JsonNode *settings;

  if (o == NULL)
    return NULL;
  reply = g_new0 (KataSyncReply, 1);
  reply->tasks = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  settings = json_object_get_member (o, "settings");
  if (settings != NULL && !JSON_NODE_HOLDS_NULL (settings))
    {
      if (!JSON_NODE_HOLDS_OBJECT (settings))
        {
          g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                       "$.settings: not an object");
          return NULL;
        }
      if (!kata_server_settings_check (json_node_get_object (settings), error))
        return NULL;
      reply->settings = json_object_ref (json_node_get_object (settings));
    }
  if (!collect_tasks (o, reply, error))
    return NULL;
  return g_steal_pointer (&reply);
}
