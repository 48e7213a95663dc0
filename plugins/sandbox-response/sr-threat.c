/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation of the `sandbox.threat_detected` payload (version 1), which
 * comes from outside (the sandbox, a file, a socket) and is untrusted: every
 * member is type-checked and bounded, hashes must be hexadecimal of the
 * right length, the path absolute and free of "..", the time ISO 8601. The
 * first problem found is reported with its JSON path; nothing is done with
 * a payload that fails.
 */
#include "sr-engine.h"

#define MAX_TEXT 1024
#define MAX_PATH 4096

void
sr_threat_clear (SrThreat *t)
{
  g_clear_pointer (&t->user, g_free);
  g_clear_pointer (&t->path, g_free);
  g_clear_pointer (&t->md5, g_free);
  g_clear_pointer (&t->sha256, g_free);
  g_clear_pointer (&t->threat, g_free);
  g_clear_pointer (&t->detected_at, g_free);
}

static gboolean
fail (GError **error, const char *key, const char *message)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "payload.%s: %s",
               key, message);
  return FALSE;
}

static gboolean
get_text (JsonObject *p, const char *key, gsize max, char **out, GError **error)
{
  JsonNode *n = json_object_get_member (p, key);
  const char *s;

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return fail (error, key, "missing");
  if (json_node_get_value_type (n) != G_TYPE_STRING)
    return fail (error, key, "must be a string");
  s = json_node_get_string (n);
  if (*s == '\0')
    return fail (error, key, "must not be empty");
  if (strlen (s) > max)
    return fail (error, key, "is too long");
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
get_hash (JsonObject *p, const char *key, gsize digits, char **out, GError **error)
{
  g_autofree char *msg = g_strdup_printf ("expected %zu hexadecimal digits", digits);

  if (!get_text (p, key, MAX_TEXT, out, error))
    return FALSE;
  g_strstrip (*out);
  for (const char *c = *out; *c; c++)
    if (!g_ascii_isxdigit (*c))
      return fail (error, key, msg);
  if (strlen (*out) != digits)
    return fail (error, key, msg);
  for (char *c = *out; *c; c++)
    *c = g_ascii_tolower (*c);
  return TRUE;
}

static gboolean
check_path (const char *path, GError **error)
{
  g_auto (GStrv) parts = NULL;

  if (path[0] != '/')
    return fail (error, "path", "must be an absolute path on the device");
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_strcmp0 (parts[i], "..") == 0)
      return fail (error, "path", "must not contain '..'");
  return TRUE;
}

static gboolean
get_size (JsonObject *p, gint64 *out, GError **error)
{
  JsonNode *n = json_object_get_member (p, "size");

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return fail (error, "size", "missing");
  if (json_node_get_value_type (n) != G_TYPE_INT64 || json_node_get_int (n) < 0)
    return fail (error, "size", "must be a non-negative integer (bytes)");
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_riskware (JsonObject *p, gboolean *out, GError **error)
{
  JsonNode *n = json_object_get_member (p, "riskware");

  *out = FALSE;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return fail (error, "riskware", "must be true or false");
  *out = json_node_get_boolean (n);
  return TRUE;
}

static gboolean
check_time (const char *text, GError **error)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);

  if (dt == NULL)
    return fail (error, "detected_at", "must be an ISO 8601 time with a zone, "
                 "e.g. 2026-11-22T10:00:00Z");
  return TRUE;
}

gboolean
sr_threat_parse (JsonObject *p, guint version, SrThreat *t, GError **error)
{
  memset (t, 0, sizeof *t);
  if (version != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "payload version %u is not supported (sandbox-response "
                   "reads version 1)", version);
      return FALSE;
    }
  if (get_text (p, "user", MAX_TEXT, &t->user, error)
      && get_text (p, "path", MAX_PATH, &t->path, error)
      && check_path (t->path, error)
      && get_hash (p, "md5", 32, &t->md5, error)
      && get_hash (p, "sha256", 64, &t->sha256, error)
      && get_size (p, &t->size, error)
      && get_text (p, "threat", MAX_TEXT, &t->threat, error)
      && get_riskware (p, &t->riskware, error)
      && get_text (p, "detected_at", MAX_TEXT, &t->detected_at, error)
      && check_time (t->detected_at, error))
    return TRUE;
  sr_threat_clear (t);
  return FALSE;
}
