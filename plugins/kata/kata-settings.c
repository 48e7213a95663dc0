/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `kata` policy section as the engine sees it: reading effective
 * settings (group -> key -> value) into a KataSettings, with the defaults
 * of the schema (kata-schema.c) for what is missing, and the checks the
 * host's generic schema cannot do: each server's address and port, the pinned certificate parsing as PEM,
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

static KataSettings *kata_settings_read (JsonObject *values);

KataSettings *
kata_settings_new_default (void)
{
  return kata_settings_read (NULL);
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

/* Returns NULL (and reports through @why) when @node is not a server. */
static KataServer *
server_from_node (JsonNode *node, const char **why, const char **field)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *address = vigil_json_get_string (o, "address");
  gint64 port = 0;
  KataServer *server;

  *field = "";
  if (o == NULL)
    return *why = "must be an object with \"address\" and \"port\"", NULL;
  *field = ".address";
  if (address == NULL || *address == '\0' || strlen (address) > 253 ||
      strpbrk (address, " /\\@?#") != NULL)
    return *why = "must be an IP address or a fully qualified domain name", NULL;
  *field = ".port";
  if (!vigil_json_get_int (o, "port", &port) || port < 1 || port > 65535)
    return *why = "must be an integer in the range 1–65535", NULL;
  server = g_new0 (KataServer, 1);
  server->address = g_strdup (address);
  server->port = (guint16) port;
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

#define BOOL(group, key) vigil_settings_get_bool (&kata_schema, values, group, key)
#define UINT(group, key) (guint) vigil_settings_get_int (&kata_schema, values, group, key, NULL)
#define STRING(group, key) vigil_settings_dup_string (&kata_schema, values, group, key)

/* Every value from @values, or the schema's default where it is missing
 * or of the wrong type; integers clamped into the schema's ranges. */
static KataSettings *
kata_settings_read (JsonObject *values)
{
  KataSettings *s = g_new0 (KataSettings, 1);
  g_autofree char *pfx = STRING ("trusted_connection", "client_pfx");

  s->servers = g_ptr_array_new_with_free_func (server_free);
  s->enabled = BOOL ("connection", "enabled");
  read_servers (vigil_json_get_object (values, "connection"), s->servers);
  s->use_proxy = BOOL ("connection", "use_proxy");
  s->timeout_sec = UINT ("connection", "timeout_sec");
  s->sync_period_min = UINT ("connection", "sync_period_min");
  s->use_ttl = BOOL ("connection", "use_ttl");
  s->ttl_min = UINT ("connection", "ttl_min");
  s->use_pinned = BOOL ("trusted_connection", "use_pinned_certificate");
  s->pinned_pem = STRING ("trusted_connection", "pinned_certificate");
  s->use_client_cert = BOOL ("trusted_connection", "use_client_certificate");
  s->client_pfx = decode_pfx (pfx);
  s->client_pfx_password = STRING ("trusted_connection", "client_pfx_password");
  s->period_sec = UINT ("data_submission", "transmission_period_sec");
  s->max_per_package = UINT ("data_submission", "max_events_per_package");
  s->spool_max_events = UINT ("data_submission", "spool_max_events");
  s->throttle_enabled = BOOL ("throttling", "enabled");
  s->max_per_hour = UINT ("throttling", "max_events_per_hour");
  s->excess_percent = UINT ("throttling", "excess_percent");
  return s;
}

#undef BOOL
#undef UINT
#undef STRING

KataSettings *
kata_settings_from_json (JsonObject *values, GError **error)
{
  if (values == NULL)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_INVALID, "no settings");
      return NULL;
    }
  return kata_settings_read (values);
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
  gboolean enabled = vigil_json_get_bool (conn, "enabled", FALSE);
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
  gboolean use = vigil_json_get_bool (trust, "use_pinned_certificate", FALSE);
  const char *pem = vigil_json_get_string (trust, "pinned_certificate");
  g_autoptr (GError) error = NULL;
  X509 *cert;

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
  gboolean use = vigil_json_get_bool (trust, "use_client_certificate", FALSE);
  const char *b64 = vigil_json_get_string (trust, "client_pfx");
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (KataClientCert) cc = NULL;

  if (b64 == NULL || *b64 == '\0')
    {
      if (use)
        problem ("trusted_connection.client_pfx",
                 "the client certificate is on but no PFX archive is given", data);
      return;
    }
  der = decode_pfx (b64);
  cc = kata_pfx_open (der, vigil_json_get_string (trust, "client_pfx_password"), &error);
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
  validate_servers (vigil_json_get_object (values, "connection"), problem, user_data);
  validate_pinned (vigil_json_get_object (values, "trusted_connection"), problem, user_data);
  validate_pfx (vigil_json_get_object (values, "trusted_connection"), problem, user_data);
}
