/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reputation protocol (docs/ksn.md) and its cache. A request carries
 * only hashes: no paths, user names or device ids leave the device. Verdicts
 * are cached under "<type>:<hash>" with the time they were fetched and
 * reused while younger than the time-to-live, measured on the host clock
 * (so that tests move time without sleeping). Replies are untrusted: size
 * limited by the client, checked member by member here, errors named by
 * their JSON path.
 */
#include "ksn-private.h"

#include <string.h>

static const char *const verdicts[] = { "malicious", "clean", "unknown", NULL };

void
ksn_verdict_free (KsnVerdict *v)
{
  if (v == NULL)
    return;
  g_free (v->type);
  g_free (v->value);
  g_free (v->verdict);
  g_free (v->threat);
  g_free (v);
}

gboolean
ksn_hash_valid (const char *type, const char *value)
{
  gsize want = g_strcmp0 (type, "sha256") == 0 ? 64 : g_strcmp0 (type, "md5") == 0 ? 32 : 0;

  if (want == 0 || value == NULL || strlen (value) != want)
    return FALSE;
  for (const char *p = value; *p; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  return TRUE;
}

char *
ksn_request_body (GPtrArray *hashes)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "protocol");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "hashes");
  json_builder_begin_array (b);
  for (guint i = 0; i < hashes->len; i++)
    {
      KsnVerdict *v = hashes->pdata[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, v->type);
      json_builder_set_member_name (b, "value");
      json_builder_add_string_value (b, v->value);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

static KsnVerdict *
find_hash (GPtrArray *hashes, const char *type, const char *value)
{
  for (guint i = 0; i < hashes->len; i++)
    {
      KsnVerdict *v = hashes->pdata[i];

      if (g_strcmp0 (v->type, type) == 0 && g_ascii_strcasecmp (v->value, value) == 0)
        return v;
    }
  return NULL;
}

static gboolean
apply_result (JsonNode *node, guint index, GPtrArray *hashes, GError **error)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *type, *value, *verdict, *threat;
  KsnVerdict *v;

  if (o == NULL)
    goto bad;
  type = vigil_json_get_string (o, "type");
  value = vigil_json_get_string (o, "value");
  verdict = vigil_json_get_string (o, "verdict");
  threat = vigil_json_get_string (o, "threat");
  if (type == NULL || value == NULL || verdict == NULL)
    goto bad;
  if (!g_strv_contains (verdicts, verdict))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "reputation reply: $.results[%u].verdict '%.40s' is not one of "
                   "malicious, clean, unknown", index, verdict);
      return FALSE;
    }
  /* A verdict for a hash that was not asked about is ignored. */
  if ((v = find_hash (hashes, type, value)) == NULL)
    return TRUE;
  g_free (v->verdict);
  v->verdict = g_strdup (verdict);
  g_clear_pointer (&v->threat, g_free);
  if (threat && *threat)
    v->threat = g_strndup (threat, 256);
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "reputation reply: $.results[%u] needs the strings type, value and verdict",
               index);
  return FALSE;
}

gboolean
ksn_parse_reply (GBytes *reply, GPtrArray *hashes, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (reply, &len);
  JsonNode *results;
  JsonArray *array;

  if (len > KSN_MAX_REPLY)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "reputation reply: larger than %d bytes", KSN_MAX_REPLY);
      return FALSE;
    }
  /* The strict reader: a second "verdict" for a hash, NUL in a string or
   * a non-standard number is refused, not read the way json-glib would. */
  root = vigil_json_parse (data, (gssize) len, VIGIL_JSON_STRICT, NULL, &local);
  if (root == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "reputation reply: not a JSON document: %s", local->message);
      return FALSE;
    }
  results = JSON_NODE_HOLDS_OBJECT (root)
    ? json_object_get_member (json_node_get_object (root), "results") : NULL;
  if (results == NULL || !JSON_NODE_HOLDS_ARRAY (results))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "reputation reply: $.results is missing or not an array");
      return FALSE;
    }
  array = json_node_get_array (results);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!apply_result (json_array_get_element (array, i), i, hashes, error))
      return FALSE;
  for (guint i = 0; i < hashes->len; i++)
    {
      KsnVerdict *v = hashes->pdata[i];

      if (v->verdict == NULL)
        v->verdict = g_strdup ("unknown");
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Cache and look-up                                                   */
/* ------------------------------------------------------------------ */

static char *
cache_key (const KsnVerdict *v)
{
  g_autofree char *lower = g_ascii_strdown (v->value, -1);

  return g_strdup_printf ("%s:%s", v->type, lower);
}

static gboolean
from_cache (const KsnCache *cache, KsnVerdict *v)
{
  g_autofree char *key = cache_key (v);
  g_autoptr (JsonNode) doc = NULL;
  JsonObject *o;
  gint64 fetched;

  if (cache == NULL || cache->ttl_us <= 0 || (doc = cache->get (cache->data, key)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (doc))
    return FALSE;
  o = json_node_get_object (doc);
  fetched = vigil_json_get_int_or (o, "fetched_us", 0);
  if (cache->now (cache->data) - fetched >= cache->ttl_us
      || vigil_json_get_string (o, "verdict") == NULL
      || !g_strv_contains (verdicts, vigil_json_get_string (o, "verdict")))
    return FALSE;
  v->verdict = g_strdup (vigil_json_get_string (o, "verdict"));
  v->threat = g_strdup (vigil_json_get_string (o, "threat"));
  v->cached = TRUE;
  return TRUE;
}

static void
to_cache (const KsnCache *cache, const KsnVerdict *v)
{
  g_autofree char *key = cache_key (v);
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) doc = NULL;

  if (cache == NULL || cache->ttl_us <= 0)
    return;
  json_object_set_string_member (o, "verdict", v->verdict);
  if (v->threat)
    json_object_set_string_member (o, "threat", v->threat);
  json_object_set_int_member (o, "fetched_us", cache->now (cache->data));
  doc = json_node_init_object (json_node_alloc (), o);
  cache->put (cache->data, key, doc);
}

guint
ksn_cache_prune (const KsnCache *cache)
{
  g_autoptr (JsonObject) all = NULL;
  g_autoptr (GList) keys = NULL;
  gint64 now;
  guint removed = 0;

  if (cache == NULL || cache->list == NULL || cache->remove == NULL
      || (all = cache->list (cache->data)) == NULL)
    return 0;
  now = cache->now (cache->data);
  keys = json_object_get_members (all);
  for (GList *l = keys; l; l = l->next)
    {
      JsonNode *doc = json_object_get_member (all, l->data);
      gint64 fetched = JSON_NODE_HOLDS_OBJECT (doc)
        ? vigil_json_get_int_or (json_node_get_object (doc), "fetched_us", 0)
        : 0;

      if (cache->ttl_us <= 0 || now - fetched >= cache->ttl_us)
        {
          cache->remove (cache->data, l->data);
          removed++;
        }
    }
  return removed;
}

gboolean
ksn_lookup (const KsnLookup *lookup, GPtrArray *hashes, GError **error)
{
  g_autoptr (GPtrArray) missing = g_ptr_array_new ();
  g_autofree char *body = NULL;
  g_autoptr (GBytes) reply = NULL;
  KsnHttpsRequest req = lookup->https;

  for (guint i = 0; i < hashes->len; i++)
    if (!from_cache (lookup->cache, hashes->pdata[i]))
      g_ptr_array_add (missing, hashes->pdata[i]);
  if (missing->len == 0)
    return TRUE;

  body = ksn_request_body (missing);
  req.body = body;
  reply = ksn_https_post (&req, error);
  if (reply == NULL || !ksn_parse_reply (reply, missing, error))
    return FALSE;
  for (guint i = 0; i < missing->len; i++)
    to_cache (lookup->cache, missing->pdata[i]);
  return TRUE;
}
