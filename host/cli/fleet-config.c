/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's fleet configuration (STATE/fleet/) and the agent's
 * credentials (STATE/agent/): where each file is, reading and writing
 * fleet.json and agent.json (checked member by member: they are files an
 * admin may edit), and regenerating the broker's configuration from the
 * host's record of device agents. See fleet-config.h.
 */
#include "fleet-config.h"
#include "fleet-broker.h"
#include "fleet-common.h"
#include "fleet-connect.h"
#include "fleet-pki.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

int
cli_fail (const char *command, GError *error)
{
  cli_error (command, "%s", error->message);
  return 2;
}

void
cli_fleet_free (CliFleet *f)
{
  if (f == NULL)
    return;
  g_free (f->dir);
  g_free (f->json_path);
  g_free (f->ca_crt);
  g_free (f->ca_key);
  g_free (f->broker_crt);
  g_free (f->broker_key);
  g_free (f->console_crt);
  g_free (f->console_key);
  g_free (f->nats_conf);
  g_free (f->pid_file);
  g_free (f->store_dir);
  g_free (f->listen);
  g_free (f->url_host);
  g_strfreev (f->names);
  g_free (f);
}

CliFleet *
cli_fleet_paths (VigilHost *host)
{
  CliFleet *f = g_new0 (CliFleet, 1);

  f->dir = g_build_filename (vigil_host_state_dir (host), "fleet", NULL);
  f->json_path = g_build_filename (f->dir, "fleet.json", NULL);
  f->ca_crt = g_build_filename (f->dir, "ca.crt", NULL);
  f->ca_key = g_build_filename (f->dir, "ca.key", NULL);
  f->broker_crt = g_build_filename (f->dir, "broker.crt", NULL);
  f->broker_key = g_build_filename (f->dir, "broker.key", NULL);
  f->console_crt = g_build_filename (f->dir, "console.crt", NULL);
  f->console_key = g_build_filename (f->dir, "console.key", NULL);
  f->nats_conf = g_build_filename (f->dir, "nats-server.conf", NULL);
  f->pid_file = g_build_filename (f->dir, "broker.pid", NULL);
  f->store_dir = g_build_filename (f->dir, "jetstream", NULL);
  return f;
}

gboolean
cli_fleet_configured (VigilHost *host)
{
  g_autoptr (CliFleet) f = cli_fleet_paths (host);
  return g_file_test (f->json_path, G_FILE_TEST_EXISTS);
}

static gboolean
bad_member (const char *path, const char *member, const char *want, GError **error)
{
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "%s: member '%s' must be %s", path, member, want);
  return FALSE;
}

/* A string member of 1 to 255 characters, or NULL. */
static const char *
string_member (JsonObject *o, const char *member)
{
  JsonNode *n = json_object_get_member (o, member);
  const char *s;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  s = json_node_get_string (n);
  return *s && strlen (s) < 256 ? s : NULL;
}

CliFleet *
cli_fleet_load (VigilHost *host, GError **error)
{
  g_autoptr (CliFleet) f = cli_fleet_paths (host);
  g_autoptr (JsonObject) o = NULL;
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  JsonNode *port, *list;
  const char *listen, *url_host;

  if (!g_file_test (f->json_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "no fleet is configured in %s (run 'vigil fleet init' first)",
                   vigil_host_state_dir (host));
      return NULL;
    }
  o = cli_read_json_object_full (f->json_path, 64 * 1024, error);
  if (o == NULL)
    return NULL;
  listen = string_member (o, "listen");
  url_host = string_member (o, "url_host");
  port = json_object_get_member (o, "port");
  list = json_object_get_member (o, "names");
  if (listen == NULL)
    return bad_member (f->json_path, "listen", "an address", error), NULL;
  if (url_host == NULL)
    return bad_member (f->json_path, "url_host", "a host name or address", error), NULL;
  if (port == NULL || !JSON_NODE_HOLDS_VALUE (port) ||
      json_node_get_value_type (port) != G_TYPE_INT64 ||
      json_node_get_int (port) < 1 || json_node_get_int (port) > 65535)
    return bad_member (f->json_path, "port", "a port number (1 to 65535)", error), NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    return bad_member (f->json_path, "names", "an array of host names", error), NULL;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    {
      JsonNode *e = json_array_get_element (json_node_get_array (list), i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        return bad_member (f->json_path, "names", "an array of host names", error), NULL;
      g_strv_builder_add (names, json_node_get_string (e));
    }
  f->listen = g_strdup (listen);
  f->url_host = g_strdup (url_host);
  f->port = (int) json_node_get_int (port);
  f->names = g_strv_builder_end (names);
  f->own_ca = json_object_get_boolean_member_with_default (o, "own_ca", FALSE);
  return g_steal_pointer (&f);
}

gboolean
cli_fleet_save (CliFleet *f, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  JsonArray *names = json_array_new ();

  json_object_set_int_member (o, "vigil-fleet", 1);
  json_object_set_string_member (o, "listen", f->listen);
  json_object_set_int_member (o, "port", f->port);
  json_object_set_string_member (o, "url_host", f->url_host);
  for (gsize i = 0; f->names && f->names[i]; i++)
    json_array_add_string_element (names, f->names[i]);
  json_object_set_array_member (o, "names", names);
  json_object_set_boolean_member (o, "own_ca", f->own_ca);
  json_node_set_object (node, o);
  text = json_to_string (node, TRUE);
  return vigil_fleet_write_private_file (f->json_path, text, -1, error);
}

char *
cli_fleet_url (CliFleet *f)
{
  /* An IPv6 address goes in brackets. */
  if (strchr (f->url_host, ':') != NULL)
    return g_strdup_printf ("tls://[%s]:%d", f->url_host, f->port);
  return g_strdup_printf ("tls://%s:%d", f->url_host, f->port);
}

GPid
cli_fleet_broker_pid (CliFleet *f)
{
  g_autofree char *text = NULL;
  gint64 pid;

  if (!g_file_get_contents (f->pid_file, &text, NULL, NULL))
    return 0;
  pid = g_ascii_strtoll (g_strstrip (text), NULL, 10);
  /* A stale pid file (the broker died) names a process that is gone. */
  if (pid <= 1 || pid > G_MAXINT || (kill ((pid_t) pid, 0) != 0 && errno == ESRCH))
    return 0;
  return (GPid) pid;
}

gboolean
cli_fleet_sync_broker (CliFleet *f, VigilHost *host, gboolean *reloaded, GError **error)
{
  g_autoptr (JsonArray) agents = vigil_host_device_agents (host, error);
  g_autoptr (GArray) devices = g_array_new (FALSE, TRUE, sizeof (VigilFleetBrokerDevice));
  VigilFleetBrokerConfig config = { 0 };
  gint64 now = vigil_host_now (host) / G_USEC_PER_SEC;
  GPid pid;

  if (reloaded)
    *reloaded = FALSE;
  if (agents == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (agents); i++)
    {
      JsonObject *a = json_array_get_object_element (agents, i);
      const char *state = json_object_get_string_member (a, "state");
      gint64 expires = json_object_get_null_member (a, "expires") ? 0
                       : json_object_get_int_member (a, "expires");
      gboolean seen = !json_object_get_null_member (a, "last_seen");
      VigilFleetBrokerDevice d = {
        json_object_get_string_member (a, "device"),
        json_object_get_string_member (a, "enrollment"), FALSE,
      };

      g_autoptr (JsonObject) in_inventory = vigil_host_device (host, d.id, NULL);

      /* A device removed from the inventory is let in no more. */
      if (in_inventory == NULL)
        continue;
      if (g_str_equal (state, "enrolled"))
        g_array_append_val (devices, d);
      /* The bootstrap identity may ask while the file is valid. Once the
       * device is enrolled it stays until the device first connects as
       * itself, so that the reload never cuts the connection the
       * certificate is still on its way through; its requests are refused
       * by then (the token is spent). */
      if ((g_str_equal (state, "pending") || (g_str_equal (state, "enrolled") && !seen)) &&
          expires > now)
        {
          d.pending = TRUE;
          g_array_append_val (devices, d);
        }
    }
  config.server_name = "vigil";
  config.host = f->listen;
  config.port = f->port;
  config.store_dir = f->store_dir;
  config.ca_file = f->ca_crt;
  config.cert_file = f->broker_crt;
  config.key_file = f->broker_key;
  config.devices = (const VigilFleetBrokerDevice *) devices->data;
  config.n_devices = devices->len;
  if (!vigil_fleet_broker_config_write (&config, f->nats_conf, error))
    return FALSE;
  pid = cli_fleet_broker_pid (f);
  if (pid == 0)
    return TRUE;
  if (!vigil_fleet_broker_reload (pid, error))
    return FALSE;
  if (reloaded)
    *reloaded = TRUE;
  return TRUE;
}

natsOptions *
cli_fleet_console_options (CliFleet *f, GError **error)
{
  g_autofree char *url = cli_fleet_url (f);
  return vigil_fleet_options_new (url, f->ca_crt, f->console_crt, f->console_key, NULL, error);
}

/* ---- the agent's credentials ----------------------------------------- */

void
cli_agent_identity_free (CliAgentIdentity *a)
{
  if (a == NULL)
    return;
  g_free (a->dir);
  g_free (a->json_path);
  g_free (a->ca_crt);
  g_free (a->crt);
  g_free (a->key);
  g_free (a->device_id);
  g_free (a->broker_url);
  g_free (a->enrollment);
  g_free (a);
}

CliAgentIdentity *
cli_agent_identity_paths (VigilHost *host)
{
  CliAgentIdentity *a = g_new0 (CliAgentIdentity, 1);

  a->dir = g_build_filename (vigil_host_state_dir (host), "agent", NULL);
  a->json_path = g_build_filename (a->dir, "agent.json", NULL);
  a->ca_crt = g_build_filename (a->dir, "ca.crt", NULL);
  a->crt = g_build_filename (a->dir, "device.crt", NULL);
  a->key = g_build_filename (a->dir, "device.key", NULL);
  return a;
}

CliAgentIdentity *
cli_agent_identity_load (VigilHost *host, GError **error)
{
  g_autoptr (CliAgentIdentity) a = cli_agent_identity_paths (host);
  g_autoptr (JsonObject) o = NULL;
  const char *device, *url, *enrollment;

  if (!g_file_test (a->json_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "this state folder (%s) has no agent credentials (run "
                   "'vigil agent enroll FILE' first)", vigil_host_state_dir (host));
      return NULL;
    }
  o = cli_read_json_object_full (a->json_path, 64 * 1024, error);
  if (o == NULL)
    return NULL;
  device = string_member (o, "device");
  url = string_member (o, "broker");
  enrollment = string_member (o, "enrollment");
  if (device == NULL || !vigil_fleet_device_id_check (device, NULL))
    return bad_member (a->json_path, "device", "a device id", error), NULL;
  if (url == NULL || !g_str_has_prefix (url, "tls://"))
    return bad_member (a->json_path, "broker", "a tls://HOST:PORT URL", error), NULL;
  if (enrollment == NULL || !vigil_fleet_enrollment_check (enrollment, NULL))
    return bad_member (a->json_path, "enrollment", "an enrollment id", error), NULL;
  a->device_id = g_strdup (device);
  a->broker_url = g_strdup (url);
  a->enrollment = g_strdup (enrollment);
  return g_steal_pointer (&a);
}

gboolean
cli_agent_identity_save (CliAgentIdentity *a, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  json_object_set_int_member (o, "vigil-agent", 1);
  json_object_set_string_member (o, "device", a->device_id);
  json_object_set_string_member (o, "broker", a->broker_url);
  json_object_set_string_member (o, "enrollment", a->enrollment);
  json_node_set_object (node, o);
  text = json_to_string (node, TRUE);
  return vigil_fleet_write_private_file (a->json_path, text, -1, error);
}
