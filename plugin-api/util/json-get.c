/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Typed JSON member getters. json-glib's own getters warn (and answer a
 * zero) on a member of another type; plugins read policies, task
 * parameters and server replies, where a wrong type is bad input to refuse
 * quietly, not a programming error. So each getter here checks the node's
 * type and answers "absent" when it does not match.
 */
#include "vigil/util/json.h"

static JsonNode *
value_of_type (JsonObject *o, const char *key, GType type)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != type)
    return NULL;
  return n;
}

const char *
vigil_json_get_string (JsonObject *o, const char *key)
{
  JsonNode *n = value_of_type (o, key, G_TYPE_STRING);

  return n != NULL ? json_node_get_string (n) : NULL;
}

gboolean
vigil_json_get_int (JsonObject *o, const char *key, gint64 *out)
{
  JsonNode *n = value_of_type (o, key, G_TYPE_INT64);

  if (n == NULL)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

gint64
vigil_json_get_int_or (JsonObject *o, const char *key, gint64 fallback)
{
  gint64 v = fallback;

  vigil_json_get_int (o, key, &v);
  return v;
}

gboolean
vigil_json_get_bool (JsonObject *o, const char *key, gboolean fallback)
{
  JsonNode *n = value_of_type (o, key, G_TYPE_BOOLEAN);

  return n != NULL ? json_node_get_boolean (n) : fallback;
}

JsonObject *
vigil_json_get_object (JsonObject *o, const char *key)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;

  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

JsonArray *
vigil_json_get_array (JsonObject *o, const char *key)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;

  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}
