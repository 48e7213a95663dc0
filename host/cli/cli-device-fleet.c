/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet's `vigil device` subcommands on the console: `enroll ID --group
 * G` (adds the device to the inventory if new, starts an enrollment: the
 * host keeps the token's hash, the broker lets the file's bootstrap
 * identity in, and the one-time file is written 0600), `revoke ID` (the
 * broker drops the device's user on a reload, without a restart, and its
 * consumers and pending runs are deleted), and `show ID` (the device with
 * its agent: state, online, last seen, agent version, plugins).
 */
#include "cli-data.h"
#include "fleet-config.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "serve-cancel.h"

#include <stdio.h>

#define ENROLL_HOURS_DEFAULT 24
#define ENROLL_HOURS_MAX     (24 * 30)

static void
print_object (JsonObject *o)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
  vigil_json_print (node);
}

void
cli_device_add_agent (VigilHost *host, JsonObject *device)
{
  g_autoptr (JsonObject) agent = vigil_host_device_agent (
      host, json_object_get_string_member (device, "id"), NULL);

  if (agent == NULL)
    {
      json_object_set_null_member (device, "agent");
      return;
    }
  /* A hash of a secret is still nobody's business on a screen. */
  json_object_remove_member (agent, "token_sha256");
  json_object_set_object_member (device, "agent", g_steal_pointer (&agent));
}

char *
cli_device_agent_summary (JsonObject *device)
{
  JsonObject *agent = json_object_get_null_member (device, "agent") ? NULL
                      : json_object_get_object_member (device, "agent");
  const char *state = agent ? json_object_get_string_member (agent, "state") : NULL;

  if (agent == NULL)
    return g_strdup ("-");
  if (!g_str_equal (state, "enrolled"))
    return g_strdup (state);
  return g_strdup (json_object_get_boolean_member (agent, "online") ? "online" : "offline");
}

int
cli_device_enroll (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *group = NULL, *name = NULL, *output = NULL, *url = NULL;
  int hours = ENROLL_HOURS_DEFAULT;
  g_autoptr (GError) error = NULL;
  g_autoptr (CliFleet) f = NULL;
  g_autoptr (VigilFleetCa) ca = NULL;
  g_autoptr (VigilFleetEnrollmentFile) file = NULL;
  g_autoptr (JsonObject) existing = NULL;
  g_auto (VigilFleetPendingEnrollment) pending = { 0 };
  gboolean reloaded = FALSE;
  const char *id;
  const GOptionEntry entries[] = {
    { "group", 0, 0, G_OPTION_ARG_STRING, &group, "Admin group (required for a new device)", "G" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Display name of a new device", "NAME" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Enrollment file (default ./ID.enroll)", "FILE" },
    { "hours", 0, 0, G_OPTION_ARG_INT, &hours, "How long the file may be used (default 24)", "H" },
    { NULL },
  };

  if (!cli_parse ("device", "enroll ID --group G",
                  "Write a one-time enrollment file for the device's agent.", entries,
                  &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device enroll ID --group G [--name NAME] "
                      "[--output FILE] [--hours H]"))
    return 2;
  id = argv[1];
  if (hours < 1 || hours > ENROLL_HOURS_MAX)
    {
      cli_error ("device", "--hours must be 1 to %d", ENROLL_HOURS_MAX);
      return 2;
    }
  if (!vigil_fleet_device_id_check (id, &error))
    {
      /* Fleet ids are stricter than inventory ids: they become subjects. */
      g_prefix_error (&error, "cannot enroll '%s' as an agent: ", id);
      return cli_fail ("device", error);
    }
  f = cli_fleet_load (host, &error);
  if (f == NULL)
    return cli_fail ("device", error);
  existing = vigil_host_device (host, id, NULL);
  if (existing == NULL && group == NULL)
    {
      cli_error ("device", "enroll needs --group G for a device not in the inventory");
      return 2;
    }
  if (existing != NULL && group != NULL &&
      g_strcmp0 (json_object_get_string_member (existing, "group"), group) != 0)
    {
      cli_error ("device", "device '%s' is in group '%s', not '%s' (move it first)", id,
                 json_object_get_string_member (existing, "group"), group);
      return 2;
    }
  ca = vigil_fleet_ca_load (f->ca_crt, f->ca_key, &error);
  if (ca == NULL)
    return cli_fail ("device", error);
  url = cli_fleet_url (f);
  file = vigil_fleet_enrollment_start (ca, id, url, (guint) hours,
                                       vigil_host_now (host) / G_USEC_PER_SEC, &pending, &error);
  if (file == NULL)
    return cli_fail ("device", error);
  if (output == NULL)
    output = g_strdup_printf ("%s.enroll", id);
  /* The file first: if it cannot be written, nothing else changed. */
  if (!vigil_fleet_enrollment_file_write (file, output, &error))
    return cli_fail ("device", error);
  if ((existing == NULL && !vigil_host_add_device (host, id, name, group, NULL, &error)) ||
      !vigil_host_begin_device_enrollment (host, id, pending.enrollment, pending.token_sha256,
                                           pending.expires, &error) ||
      !cli_fleet_sync_broker (f, host, &reloaded, &error))
    {
      remove (output);
      return cli_fail ("device", error);
    }
  if (globals->json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      json_object_set_string_member (o, "device", id);
      json_object_set_string_member (o, "enrollment", pending.enrollment);
      json_object_set_string_member (o, "file", output);
      json_object_set_string_member (o, "broker", url);
      json_object_set_int_member (o, "expires", pending.expires);
      json_object_set_boolean_member (o, "broker_reloaded", reloaded);
      print_object (o);
    }
  else
    {
      vigil_print ("wrote enrollment file %s for device '%s' (valid %d h)\n", output, id, hours);
      vigil_print ("on the device: vigil --state-dir DIR agent enroll %s\n", output);
      if (!reloaded)
        vigil_print ("note: the broker is not running; it will accept the file once started\n");
    }
  return 0;
}

/* Deletes the device's consumers and pending runs, as the console. */
static gboolean
delete_consumers (CliFleet *f, const char *id, GError **error)
{
  natsOptions *opts = cli_fleet_console_options (f, error);
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  natsStatus s;
  gboolean ok = FALSE;

  if (opts == NULL)
    return FALSE;
  s = natsConnection_Connect (&nc, opts);
  if (s != NATS_OK)
    vigil_fleet_set_nats_error (error, s, 0, "connecting to the broker");
  else if ((s = natsConnection_JetStream (&js, nc, NULL)) != NATS_OK)
    vigil_fleet_set_nats_error (error, s, 0, "JetStream");
  else
    ok = vigil_fleet_device_consumers_delete (js, id, error);
  jsCtx_Destroy (js);
  natsConnection_Destroy (nc);
  natsOptions_Destroy (opts);
  return ok;
}

int
cli_device_revoke (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL, cleanup = NULL;
  g_autoptr (CliFleet) f = NULL;
  gboolean reloaded = FALSE, cleaned = FALSE;
  const char *id;
  guint failed;

  if (!cli_parse ("device", "revoke ID",
                  "Cut a device's agent off the broker now (no broker restart).", NULL,
                  &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device revoke ID"))
    return 2;
  id = argv[1];
  f = cli_fleet_load (host, &error);
  if (f == NULL)
    return cli_fail ("device", error);
  /* Its agent hears it while it still can: the reload cuts it off. */
  cli_fleet_cancel_device_runs (f, host, id);
  if (!vigil_host_revoke_device_agent (host, id, &error) ||
      !cli_fleet_sync_broker (f, host, &reloaded, &error))
    return cli_fail ("device", error);
  failed = cli_fleet_fail_device_runs (host, id, "the device's agent was revoked");
  /* The device is out once the broker reloaded; its consumers can only go
   * while the broker runs (a stopped broker lets nobody in anyway). */
  if (reloaded)
    {
      cleaned = delete_consumers (f, id, &cleanup);
      if (!cleaned)
        cli_error ("device", "revoked, but its runs were not deleted: %s", cleanup->message);
    }
  if (globals->json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      json_object_set_string_member (o, "device", id);
      json_object_set_string_member (o, "state", "revoked");
      json_object_set_boolean_member (o, "broker_reloaded", reloaded);
      json_object_set_boolean_member (o, "runs_deleted", cleaned);
      json_object_set_int_member (o, "runs_failed", failed);
      print_object (o);
    }
  else
    vigil_print ("revoked device '%s'%s; %u open run%s failed\n", id,
            reloaded ? "; the broker closed its connection" : " (the broker is not running)",
            failed, failed == 1 ? "" : "s");
  return 0;
}

int
cli_device_show (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) d = NULL;
  JsonObject *agent;

  if (!cli_parse ("device", "show ID", "Show a device and its agent.", NULL, &argc, &argv) ||
      !cli_need_args ("device", argc, 2, "device show ID"))
    return 2;
  d = vigil_host_device (host, argv[1], &error);
  if (d == NULL)
    return cli_fail ("device", error);
  cli_device_add_agent (host, d);
  if (globals->json)
    {
      print_object (d);
      return 0;
    }
  vigil_print ("device:        %s (%s)\n", json_object_get_string_member (d, "id"),
          json_object_get_string_member (d, "name"));
  vigil_print ("group:         %s\n", json_object_get_string_member (d, "group"));
  agent = json_object_get_null_member (d, "agent") ? NULL
          : json_object_get_object_member (d, "agent");
  if (agent == NULL)
    {
      vigil_print ("agent:         none (runs execute in this process)\n");
      return 0;
    }
  vigil_print ("agent:         %s, %s\n", json_object_get_string_member (agent, "state"),
          json_object_get_boolean_member (agent, "online") ? "online" : "offline");
  if (json_object_get_null_member (agent, "last_seen"))
    vigil_print ("last seen:     never\n");
  else
    {
      g_autofree char *when = cli_format_time (json_object_get_int_member (agent, "last_seen"));
      vigil_print ("last seen:     %s\n", when);
    }
  if (!json_object_get_null_member (agent, "agent_version"))
    vigil_print ("agent version: %s\n", json_object_get_string_member (agent, "agent_version"));
  {
    JsonArray *plugins = json_object_get_array_member (agent, "plugins");
    vigil_print ("plugins:      ");
    for (guint i = 0; i < json_array_get_length (plugins); i++)
      {
        JsonObject *p = json_array_get_object_element (plugins, i);
        vigil_print (" %s %s", json_object_get_string_member (p, "name"),
                json_object_get_string_member (p, "version"));
      }
    vigil_print ("%s\n", json_array_get_length (plugins) ? "" : " (none reported)");
  }
  return 0;
}
