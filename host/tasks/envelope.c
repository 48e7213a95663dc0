/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsing events that arrive from outside the process: `vigil event emit`
 * payload files, JSON lines on the serve socket and files dropped in the
 * serve inbox. Everything here is untrusted, so input is size-limited,
 * nesting depth is bounded before json-glib (which recurses) sees it, and
 * every error names where it came from and, for JSON errors, the line and
 * column. The JSON goes through the strict reader: a duplicate key, NUL in
 * a string or a non-standard number is refused; an integer beyond 64 bits
 * in the payload is kept as written (a string of its digits), because a
 * payload is reported, not acted on, and a device may well send a 64-bit
 * unsigned value; in the envelope's own fields it is refused. No host state is touched: the fuzz target links this file and the
 * helper library alone.
 */
#include "tasks/tasks-private.h"

#include "vigil/util/json.h"

/* Deeper nesting has no use in an event and would let a small input
 * exhaust the stack of a recursive parser. */
#define MAX_DEPTH 64
#define MAX_ID_LENGTH 128

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, message);
  return FALSE;
}

void
vh_event_envelope_free (VhEventEnvelope *envelope)
{
  if (envelope == NULL)
    return;
  g_free (envelope->type);
  g_free (envelope->device_id);
  g_clear_pointer (&envelope->payload, json_object_unref);
  g_free (envelope);
}

/* The deepest nesting of arrays and objects, strings skipped. Returns the
 * byte offset where MAX_DEPTH was passed, or -1. */
static gssize
find_too_deep (const char *data, gsize length)
{
  gboolean in_string = FALSE, escaped = FALSE;
  int depth = 0;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if ((c == '[' || c == '{') && ++depth > MAX_DEPTH)
        return (gssize) i;
      else if (c == ']' || c == '}')
        depth--;
    }
  return -1;
}

/* Parses @data as one JSON object; integers beyond 64 bits are kept as
 * written under @keep_under (the payload) and refused elsewhere. */
static JsonObject *
parse_object (const char *data, gsize length, gsize limit, const char *what,
              const char *keep_under, const char *where, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonNode) root = NULL;
  gssize deep;

  if (length > limit)
    return invalid (error, "%s: the %s is %" G_GSIZE_FORMAT " bytes, more than the "
                    "limit of %" G_GSIZE_FORMAT, where, what, length, limit), NULL;
  if (memchr (data, '\0', length) != NULL)
    return invalid (error, "%s: the %s contains a NUL byte", where, what), NULL;
  deep = find_too_deep (data, length);
  if (deep >= 0)
    return invalid (error, "%s: the %s nests deeper than %d levels (at byte %" G_GSSIZE_FORMAT ")",
                    where, what, MAX_DEPTH, deep), NULL;

  root = vigil_json_parse_full (data, (gssize) length, VIGIL_JSON_KEEP_BIG_INTEGERS, keep_under,
                                NULL, &local_error);
  if (root == NULL)
    return invalid (error, "%s: the %s is not valid JSON: %s", where, what,
                    local_error->message), NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, "%s: the %s must be a JSON object", where, what), NULL;
  return json_object_ref (json_node_get_object (root));
}

JsonObject *
vh_event_payload_parse (const char *data, gssize length, const char *where,
                        GError **error)
{
  gsize len = length < 0 ? strlen (data) : (gsize) length;
  return parse_object (data, len, VH_EVENT_MAX_PAYLOAD, "payload", "$", where, error);
}

gboolean
vh_event_type_valid (const char *type, GError **error)
{
  gsize len = type ? strlen (type) : 0;

  if (len == 0 || len > MAX_ID_LENGTH)
    return invalid (error, "an event type must have 1 to %d characters", MAX_ID_LENGTH);
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_islower (type[i]) || g_ascii_isdigit (type[i]) || type[i] == '_'
          || type[i] == '-' || type[i] == '.'))
      return invalid (error, "event type '%s': only a-z, 0-9, '_', '-' and '.' are allowed", type);
  if (strchr (type, '.') == NULL || type[0] == '.' || type[len - 1] == '.'
      || strstr (type, "..") != NULL)
    return invalid (error, "event type '%s' must look like 'area.what' "
                    "(for example sandbox.threat_detected)", type);
  return TRUE;
}

gboolean
vh_event_device_valid (const char *device_id, GError **error)
{
  gsize len = device_id ? strlen (device_id) : 0;

  if (len == 0 || len > MAX_ID_LENGTH)
    return invalid (error, "a device id must have 1 to %d characters", MAX_ID_LENGTH);
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (device_id[i]) || strchr ("._-", device_id[i]) != NULL))
      return invalid (error, "device id '%s': only A-Z, a-z, 0-9, '.', '_' and '-' are allowed",
                      device_id);
  return TRUE;
}

static gboolean
member_string (JsonObject *object, const char *key, gboolean nullable,
               const char **value, const char *where, GError **error)
{
  JsonNode *node = json_object_get_member (object, key);

  *value = NULL;
  if (node == NULL || (nullable && JSON_NODE_HOLDS_NULL (node)))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, "%s: %s must be a string", where, key);
  *value = json_node_get_string (node);
  return TRUE;
}

static gboolean
check_envelope_keys (JsonObject *object, const char *where, GError **error)
{
  static const char *const known[] = { "type", "device", "payload_version", "payload", NULL };
  g_autoptr (GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      if (g_strv_contains (known, key))
        continue;
      if (g_str_equal (key, "id") || g_str_equal (key, "time") || g_str_equal (key, "source"))
        return invalid (error, "%s: %s is assigned by the host; leave it out", where, key);
      return invalid (error, "%s: unknown key '%s' (an event has type, device, "
                      "payload_version and payload)", where, key);
    }
  return TRUE;
}

static gboolean
read_version (JsonObject *object, guint *version, const char *where, GError **error)
{
  JsonNode *node = json_object_get_member (object, "payload_version");
  gint64 v;

  *version = 1;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return invalid (error, "%s: payload_version must be an integer", where);
  v = json_node_get_int (node);
  if (v < 1 || v > G_MAXINT32)
    return invalid (error, "%s: payload_version %" G_GINT64_FORMAT " is out of range (1 or more)",
                    where, v);
  *version = (guint) v;
  return TRUE;
}

static gboolean
read_payload (JsonObject *object, JsonObject **payload, const char *where, GError **error)
{
  JsonNode *node = json_object_get_member (object, "payload");

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      *payload = json_object_new ();
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "%s: payload must be a JSON object", where);
  *payload = json_object_ref (json_node_get_object (node));
  return TRUE;
}

VhEventEnvelope *
vh_event_envelope_parse (const char *data, gssize length, const char *where,
                         GError **error)
{
  gsize len = length < 0 ? strlen (data) : (gsize) length;
  g_autoptr (JsonObject) object = NULL;
  g_autoptr (VhEventEnvelope) envelope = g_new0 (VhEventEnvelope, 1);
  g_autoptr (GError) local_error = NULL;
  const char *type, *device;

  object = parse_object (data, len, VH_EVENT_MAX_ENVELOPE, "event", "$.payload", where, error);
  if (object == NULL)
    return NULL;
  if (!check_envelope_keys (object, where, error)
      || !member_string (object, "type", FALSE, &type, where, error)
      || !member_string (object, "device", TRUE, &device, where, error)
      || !read_version (object, &envelope->payload_version, where, error)
      || !read_payload (object, &envelope->payload, where, error))
    return NULL;
  if (type == NULL)
    return invalid (error, "%s: type is missing (for example \"sandbox.threat_detected\")",
                    where), NULL;
  if (!vh_event_type_valid (type, &local_error)
      || (device != NULL && !vh_event_device_valid (device, &local_error)))
    return invalid (error, "%s: %s", where, local_error->message), NULL;
  envelope->type = g_strdup (type);
  envelope->device_id = g_strdup (device);
  return g_steal_pointer (&envelope);
}
