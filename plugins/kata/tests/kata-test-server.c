/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata suite's central node (kata-test-server.h): the package and
 * synchronization logic as a handler of the shared loopback TLS server,
 * keep-alive HTTP/1.1 as the engine speaks it.
 */
#include "kata-test-server.h"

#include <string.h>

struct _KtServer {
  VtTlsServer *tls;
  GMutex       lock;
  KtReplyMode  mode;
  char        *sync_body;
  guint        packages, syncs, events_total;
  GHashTable  *seqs;          /* "agent/seq" seen */
  GHashTable  *event_ids;     /* event id -> "agent/seq" of first package */
  GHashTable  *types;         /* type -> count (distinct packages) */
  GHashTable  *last_payload;  /* type -> JSON of the last payload seen */
  GArray      *sizes;
  gboolean     duplicate;
};

static void
record_package (KtServer *s, JsonObject *pkg)
{
  g_autofree char *key = g_strdup_printf ("%s/%" G_GINT64_FORMAT,
      json_object_get_string_member (pkg, "agent_id"),
      json_object_get_int_member (pkg, "seq"));
  JsonArray *events = json_object_get_array_member (pkg, "events");
  guint n = json_array_get_length (events);

  s->packages++;
  s->events_total += n;
  if (g_hash_table_contains (s->seqs, key))
    return;   /* a re-sent package: de-duplicated by its sequence id */
  g_hash_table_add (s->seqs, g_strdup (key));
  g_array_append_val (s->sizes, n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      const char *id = json_object_get_string_member (e, "id");
      const char *type = json_object_get_string_member (e, "type");
      guint c = GPOINTER_TO_UINT (g_hash_table_lookup (s->types, type));
      if (g_hash_table_contains (s->event_ids, id))
        s->duplicate = TRUE;
      g_hash_table_insert (s->event_ids, g_strdup (id), g_strdup (key));
      g_hash_table_insert (s->types, g_strdup (type), GUINT_TO_POINTER (c + 1));
      if (json_object_has_member (e, "payload"))
        g_hash_table_insert (s->last_payload, g_strdup (type),
                             json_to_string (json_object_get_member (e, "payload"), FALSE));
    }
}

static VtAction
handle_post (KtServer *s, const VtRequest *req, GString *out)
{
  g_autoptr (JsonNode) root = json_from_string (req->body, NULL);
  JsonObject *pkg;
  g_autofree char *ack = NULL;
  KtReplyMode mode;
  gint64 seq;

  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  pkg = json_node_get_object (root);
  seq = json_object_get_int_member (pkg, "seq");
  g_mutex_lock (&s->lock);
  record_package (s, pkg);
  mode = s->mode;
  g_mutex_unlock (&s->lock);
  switch (mode)
    {
    case KT_REPLY_DROP:
      return VT_ACTION_CLOSE;
    case KT_REPLY_GARBAGE:
      vt_http_reply (out, 200, NULL, "this is not json");
      return VT_ACTION_KEEP;
    case KT_REPLY_WRONG_ACK:
      ack = g_strdup_printf ("{\"ack\":%" G_GINT64_FORMAT "}", seq + 1000);
      vt_http_reply (out, 200, NULL, ack);
      return VT_ACTION_KEEP;
    case KT_REPLY_HTTP_500:
      vt_http_reply (out, 500, NULL, "{}");
      return VT_ACTION_KEEP;
    case KT_REPLY_HTTP_503:
      vt_http_reply (out, 503, NULL, "{}");
      return VT_ACTION_KEEP;
    case KT_REPLY_STALL:
      return VT_ACTION_STALL;
    case KT_REPLY_CLOSE:
      ack = g_strdup_printf ("{\"ack\":%" G_GINT64_FORMAT "}", seq);
      vt_http_reply (out, 200, "Connection: close\r\n", ack);
      return VT_ACTION_CLOSE;
    case KT_REPLY_OK:
    default:
      ack = g_strdup_printf ("{\"ack\":%" G_GINT64_FORMAT "}", seq);
      vt_http_reply (out, 200, NULL, ack);
      return VT_ACTION_KEEP;
    }
}

static VtAction
handle (const VtRequest *req, GString *out, gpointer user_data)
{
  KtServer *s = user_data;

  if (g_str_equal (req->method, "POST") && g_str_equal (req->target, "/kata/v1/events"))
    return handle_post (s, req, out);
  if (g_str_equal (req->method, "GET") && g_str_has_prefix (req->target, "/kata/v1/sync?"))
    {
      g_mutex_lock (&s->lock);
      s->syncs++;
      vt_http_reply (out, 200, NULL, s->sync_body);
      g_mutex_unlock (&s->lock);
      return VT_ACTION_KEEP;
    }
  vt_http_reply (out, 404, NULL, "{}");
  return VT_ACTION_KEEP;
}

KtServer *
kt_server_start (const char *cert_pem, const char *key_pem,
                 const char *client_ca, guint16 port)
{
  KtServer *s = g_new0 (KtServer, 1);
  VtTlsServerOptions options = {
    .cert_pem = cert_pem, .key_pem = key_pem, .client_ca = client_ca,
    .port = port, .handler = handle, .user_data = s,
  };

  g_mutex_init (&s->lock);
  s->sync_body = g_strdup ("{\"tasks\":[]}");
  s->seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->event_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->last_payload = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  s->tls = vt_tls_server_start (&options);
  return s;
}

void
kt_server_stop (KtServer *s)
{
  if (s == NULL)
    return;
  vt_tls_server_stop (s->tls);
  g_hash_table_unref (s->seqs);
  g_hash_table_unref (s->event_ids);
  g_hash_table_unref (s->types);
  g_hash_table_unref (s->last_payload);
  g_array_unref (s->sizes);
  g_free (s->sync_body);
  g_mutex_clear (&s->lock);
  g_free (s);
}

guint16 kt_server_port (KtServer *s) { return vt_tls_server_port (s->tls); }
VtTlsServer *kt_server_tls (KtServer *s) { return s->tls; }
guint kt_server_connections (KtServer *s) { return vt_tls_server_handshakes (s->tls); }

void
kt_server_set_reply (KtServer *s, KtReplyMode mode)
{
  g_mutex_lock (&s->lock);
  s->mode = mode;
  g_mutex_unlock (&s->lock);
}

void
kt_server_set_sync_body (KtServer *s, const char *body)
{
  g_mutex_lock (&s->lock);
  g_free (s->sync_body);
  s->sync_body = g_strdup (body);
  g_mutex_unlock (&s->lock);
}

#define GETTER(name, expr)               \
  guint name (KtServer *s)               \
  {                                      \
    guint v;                             \
    g_mutex_lock (&s->lock);             \
    v = (expr);                          \
    g_mutex_unlock (&s->lock);           \
    return v;                            \
  }
GETTER (kt_server_packages, s->packages)
GETTER (kt_server_syncs, s->syncs)
GETTER (kt_server_unique_events, g_hash_table_size (s->event_ids))
GETTER (kt_server_events_total, s->events_total)
#undef GETTER

GArray *
kt_server_package_sizes (KtServer *s)
{
  GArray *copy;

  g_mutex_lock (&s->lock);
  copy = g_array_copy (s->sizes);
  g_mutex_unlock (&s->lock);
  return copy;
}

guint
kt_server_type_count (KtServer *s, const char *type)
{
  guint v;

  g_mutex_lock (&s->lock);
  v = GPOINTER_TO_UINT (g_hash_table_lookup (s->types, type));
  g_mutex_unlock (&s->lock);
  return v;
}

char *
kt_server_last_payload (KtServer *s, const char *type)
{
  char *v;

  g_mutex_lock (&s->lock);
  v = g_strdup (g_hash_table_lookup (s->last_payload, type));
  g_mutex_unlock (&s->lock);
  return v;
}

gboolean
kt_server_saw_duplicate_event (KtServer *s)
{
  gboolean v;

  g_mutex_lock (&s->lock);
  v = s->duplicate;
  g_mutex_unlock (&s->lock);
  return v;
}
