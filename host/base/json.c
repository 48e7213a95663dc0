/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Typed reads of JSON settings for every layer: each returns the member
 * when it has the expected type and a fallback otherwise, so callers never
 * trip over a missing group or a value of the wrong type (the schema checks
 * have normally ruled both out, but settings also come from files).
 */
#include "base.h"

static JsonNode *
member (JsonObject *obj, const char *key)
{
  return obj ? json_object_get_member (obj, key) : NULL;
}

const char *
vh_json_string (JsonObject *obj, const char *key)
{
  JsonNode *node = member (obj, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
vh_json_int (JsonObject *obj, const char *key, gint64 *out)
{
  JsonNode *node = member (obj, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

gboolean
vh_json_bool (JsonObject *obj, const char *key, gboolean fallback)
{
  JsonNode *node = member (obj, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return fallback;
  return json_node_get_boolean (node);
}

JsonArray *
vh_json_array (JsonObject *obj, const char *key)
{
  JsonNode *node = member (obj, key);

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

JsonObject *
vh_json_object (JsonObject *obj, const char *key)
{
  JsonNode *node = member (obj, key);

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}
