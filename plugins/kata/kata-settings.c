/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `kata` policy section as the engine sees it: defaults from the
 * product reference, reading effective settings (group -> key -> value)
 * into a KataSettings, and the checks the host's generic schema cannot do:
 * each server's address and port, the pinned certificate parsing as PEM,
 * the PFX archive opening with its password (a wrong password reported
 * apart from an unsupported format), and cross-field rules. Every problem
 * names its field; the PFX and its password are never quoted.
 */
#include "kata-engine.h"
#include "kata-limits.h"

#include <string.h>

static void
server_free (gpointer p)
{
  KataServer *server = p;

  g_free (server->address);
  g_free (server);
}

KataSettings *
kata_settings_new_default (void)
{
  KataSettings *s = g_new0 (KataSettings, 1);

  s->servers = g_ptr_array_new_with_free_func (server_free);
  s->timeout_sec = KATA_TIMEOUT_SEC_DEFAULT;
  s->sync_period_min = KATA_SYNC_PERIOD_MIN_DEFAULT;
  s->ttl_min = KATA_TTL_MIN_DEFAULT;
  s->period_sec = KATA_PERIOD_SEC_DEFAULT;
  s->max_per_package = KATA_PACKAGE_EVENTS_DEFAULT;
  s->throttle_enabled = TRUE;
  s->max_per_hour = KATA_EVENTS_PER_HOUR_DEFAULT;
  s->excess_percent = KATA_EXCESS_PERCENT_DEFAULT;
  s->spool_max_events = KATA_SPOOL_EVENTS_DEFAULT;
  return s;
}

void
kata_settings_free (KataSettings *s)
{
  if (s == NULL)
    return;
  g_ptr_array_unref (s->servers);
  g_free (s->pinned_pem);
  g_clear_pointer (&s->client_pfx, g_bytes_unref);
  if (s->client_pfx_password)
    memset (s->client_pfx_password, 0, strlen (s->client_pfx_password));
  g_free (s->client_pfx_password);
  g_free (s);
}

static JsonObject *
group (JsonObject *values, const char *id)
{
  JsonNode *n = values ? json_object_get_member (values, id) : NULL;

  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonNode *
member (JsonObject *g, const char *key, GType type)
{
  JsonNode *n = g ? json_object_get_member (g, key) : NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != type)
    return NULL;
  return n;
}

static void
read_bool (JsonObject *g, const char *key, gboolean *out)
{
  JsonNode *n = member (g, key, G_TYPE_BOOLEAN);

  if (n)
    *out = json_node_get_boolean (n);
}

static void
read_uint (JsonObject *g, const char *key, guint min, guint max, guint *out)
{
  JsonNode *n = member (g, key, G_TYPE_INT64);

  if (n)
    *out = (guint) CLAMP (json_node_get_int (n), (gint64) min, (gint64) max);
}

static const char *
read_string (JsonObject *g, const char *key)
{
  JsonNode *n = member (g, key, G_TYPE_STRING);

  return n ? json_node_get_string (n) : NULL;
}

/* Returns NULL (and reports through @why) when @node is not a server. */
static KataServer *
server_from_node (JsonNode *node, const char **why, const char **field)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *address = o ? read_string (o, "address") : NULL;
  JsonNode *port = o ? member (o, "port", G_TYPE_INT64) : NULL;
  KataServer *server;

  *field = "";
  if (o == NULL)
    return *why = "must be an object with \"address\" and \"port\"", NULL;
  *field = ".address";
  if (address == NULL || *address == '\0' || strlen (address) > 253 ||
      strpbrk (address, " /\\@?#") != NULL)
    return *why = "must be an IP address or a fully qualified domain name", NULL;
  *field = ".port";
  if (port == NULL || json_node_get_int (port) < 1 || json_node_get_int (port) > 65535)
    return *why = "must be an integer in the range 1–65535", NULL;
  server = g_new0 (KataServer, 1);
  server->address = g_strdup (address);
  server->port = (guint16) json_node_get_int (port);
  return server;
}

static void
read_servers (JsonObject *conn, GPtrArray *servers)
{
  JsonNode *n = conn ? json_object_get_member (conn, "servers") : NULL;
  JsonArray *arr;

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return;
  arr = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      const char *why, *field;
      KataServer *s = server_from_node (json_array_get_element (arr, i), &why, &field);
      if (s)
        g_ptr_array_add (servers, s);
    }
}

static GBytes *
decode_pfx (const char *b64)
{
  gsize len = 0;
  guchar *der;

  if (b64 == NULL || *b64 == '\0')
    return NULL;
  der = g_base64_decode (b64, &len);
  return g_bytes_new_take (der, len);
}

KataSettings *
kata_settings_from_json (JsonObject *values, GError **error)
{
  g_autoptr (KataSettings) s = kata_settings_new_default ();
  JsonObject *conn = group (values, "connection");
  JsonObject *trust = group (values, "trusted_connection");
  JsonObject *data = group (values, "data_submission");
  JsonObject *thr = group (values, "throttling");

  read_bool (conn, "enabled", &s->enabled);
  read_servers (conn, s->servers);
  read_bool (conn, "use_proxy", &s->use_proxy);
  read_uint (conn, "timeout_sec", KATA_TIMEOUT_SEC_MIN, KATA_TIMEOUT_SEC_MAX, &s->timeout_sec);
  read_uint (conn, "sync_period_min", KATA_SYNC_PERIOD_MIN_MIN, KATA_SYNC_PERIOD_MIN_MAX, &s->sync_period_min);
  read_bool (conn, "use_ttl", &s->use_ttl);
  read_uint (conn, "ttl_min", KATA_TTL_MIN_MIN, KATA_TTL_MIN_MAX, &s->ttl_min);
  read_bool (trust, "use_pinned_certificate", &s->use_pinned);
  s->pinned_pem = g_strdup (read_string (trust, "pinned_certificate"));
  read_bool (trust, "use_client_certificate", &s->use_client_cert);
  s->client_pfx = decode_pfx (read_string (trust, "client_pfx"));
  s->client_pfx_password = g_strdup (read_string (trust, "client_pfx_password"));
  read_uint (data, "transmission_period_sec", KATA_PERIOD_SEC_MIN, KATA_PERIOD_SEC_MAX, &s->period_sec);
  read_uint (data, "max_events_per_package", KATA_PACKAGE_EVENTS_MIN,
             KATA_PACKAGE_EVENTS_MAX, &s->max_per_package);
  read_uint (data, "spool_max_events", KATA_SPOOL_EVENTS_MIN, KATA_SPOOL_EVENTS_MAX, &s->spool_max_events);
  read_bool (thr, "enabled", &s->throttle_enabled);
  read_uint (thr, "max_events_per_hour", KATA_EVENTS_PER_HOUR_MIN,
             KATA_EVENTS_PER_HOUR_MAX, &s->max_per_hour);
  read_uint (thr, "excess_percent", KATA_EXCESS_PERCENT_MIN, KATA_EXCESS_PERCENT_MAX, &s->excess_percent);
  if (values == NULL)
    g_set_error (error, KATA_ERROR, KATA_ERROR_INVALID, "no settings");
  return values ? g_steal_pointer (&s) : NULL;
}

KataSettings *
kata_settings_copy (const KataSettings *s)
{
  KataSettings *c = g_memdup2 (s, sizeof *s);

  c->servers = g_ptr_array_new_with_free_func (server_free);
  for (guint i = 0; i < s->servers->len; i++)
    {
      const KataServer *from = g_ptr_array_index (s->servers, i);
      KataServer *to = g_new0 (KataServer, 1);
      to->address = g_strdup (from->address);
      to->port = from->port;
      g_ptr_array_add (c->servers, to);
    }
  c->pinned_pem = g_strdup (s->pinned_pem);
  c->client_pfx = s->client_pfx ? g_bytes_ref (s->client_pfx) : NULL;
  c->client_pfx_password = g_strdup (s->client_pfx_password);
  return c;
}

void
kata_settings_add_server (KataSettings *s, const char *address, guint16 port)
{
  KataServer *server = g_new0 (KataServer, 1);

  server->address = g_strdup (address);
  server->port = port;
  g_ptr_array_add (s->servers, server);
}

/* ---- validation ----------------------------------------------------- */

static void
report_unknown_keys (JsonObject *server, guint i, KataProblemFunc problem,
                     gpointer data)
{
  g_autoptr (GList) keys = json_object_get_members (server);

  for (GList *l = keys; l != NULL; l = l->next)
    if (strcmp (l->data, "address") != 0 && strcmp (l->data, "port") != 0)
      {
        g_autofree char *path = g_strdup_printf ("connection.servers[%u].%s", i,
                                                 (const char *) l->data);
        problem (path, "unknown key (a server has \"address\" and \"port\")", data);
      }
}

static void
validate_servers (JsonObject *conn, KataProblemFunc problem, gpointer data)
{
  JsonNode *n = conn ? json_object_get_member (conn, "servers") : NULL;
  JsonArray *arr;
  gboolean enabled = FALSE;

  read_bool (conn, "enabled", &enabled);
  if (n != NULL && !JSON_NODE_HOLDS_NULL (n) && !JSON_NODE_HOLDS_ARRAY (n))
    {
      problem ("connection.servers", "must be a list of servers", data);
      return;
    }
  arr = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  if (enabled && (arr == NULL || json_array_get_length (arr) == 0))
    problem ("connection.servers",
             "integration is enabled but no server is listed", data);
  for (guint i = 0; arr && i < json_array_get_length (arr); i++)
    {
      const char *why, *field;
      KataServer *s = server_from_node (json_array_get_element (arr, i), &why, &field);
      g_autofree char *path = NULL;
      if (s)
        {
          server_free (s);
          report_unknown_keys (json_array_get_object_element (arr, i), i, problem, data);
          continue;
        }
      path = g_strdup_printf ("connection.servers[%u]%s", i, field);
      problem (path, why, data);
    }
}

static void
validate_pinned (JsonObject *trust, KataProblemFunc problem, gpointer data)
{
  gboolean use = FALSE;
  const char *pem = read_string (trust, "pinned_certificate");
  g_autoptr (GError) error = NULL;
  X509 *cert;

  read_bool (trust, "use_pinned_certificate", &use);
  if (pem == NULL || *pem == '\0')
    {
      if (use)
        problem ("trusted_connection.pinned_certificate",
                 "pinning is on but no certificate is given", data);
      return;
    }
  cert = kata_cert_from_pem (pem, &error);
  if (cert == NULL)
    problem ("trusted_connection.pinned_certificate", error->message, data);
  X509_free (cert);
}

static void
validate_pfx (JsonObject *trust, KataProblemFunc problem, gpointer data)
{
  gboolean use = FALSE;
  const char *b64 = read_string (trust, "client_pfx");
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (KataClientCert) cc = NULL;

  read_bool (trust, "use_client_certificate", &use);
  if (b64 == NULL || *b64 == '\0')
    {
      if (use)
        problem ("trusted_connection.client_pfx",
                 "the client certificate is on but no PFX archive is given", data);
      return;
    }
  der = decode_pfx (b64);
  cc = kata_pfx_open (der, read_string (trust, "client_pfx_password"), &error);
  if (cc != NULL)
    return;
  if (g_error_matches (error, KATA_ERROR, KATA_ERROR_BAD_PASSWORD))
    problem ("trusted_connection.client_pfx_password", error->message, data);
  else
    problem ("trusted_connection.client_pfx", error->message, data);
}

void
kata_settings_validate (JsonObject *values, KataProblemFunc problem,
                        gpointer user_data)
{
  validate_servers (group (values, "connection"), problem, user_data);
  validate_pinned (group (values, "trusted_connection"), problem, user_data);
  validate_pfx (group (values, "trusted_connection"), problem, user_data);
}
