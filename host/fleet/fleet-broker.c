/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Generates nats-server's configuration (see fleet-broker.h). The
 * permissions are allow-lists, so whatever is not listed is refused:
 * a device may publish under vigil.dev.<id>. and use exactly the
 * JetStream API subjects that pull from, and acknowledge, its own two
 * durable consumers and read its own settings key; it may subscribe only
 * to its own inbox, where its pull requests are answered, and to its own
 * cancel subject, where the console stops a run it executes. A device being
 * enrolled exists only as its bootstrap identity, which may publish its
 * one enrollment request and receive the reply, nothing else. The
 * console may use every Vigil subject and the JetStream API.
 */
#include "fleet-broker.h"
#include "fleet-common.h"
#include "fleet-pki.h"
#include "fleet-subjects.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* A path goes inside double quotes: refuse what would end or escape them. */
static gboolean
check_quotable (const char *what, const char *value, GError **error)
{
  if (value == NULL || *value == '\0' || strpbrk (value, "\"\\\n\r$") != NULL) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "broker configuration: %s \"%s\" is empty or has one of "
                 "\" \\ $ or a line break", what, value ? value : "");
    return FALSE;
  }
  return TRUE;
}

static void
append_list (GString *out, const char *key, const char *const *items)
{
  g_string_append_printf (out, "        %s: [", key);
  for (gsize i = 0; items[i]; i++)
    g_string_append_printf (out, "%s\"%s\"", i ? ", " : "", items[i]);
  g_string_append (out, "]\n");
}

static void
append_user (GString *out, const char *user, const char *const *pub,
             const char *const *sub)
{
  g_string_append_printf (out, "    {\n      user: \"%s\"\n"
                               "      permissions: {\n", user);
  g_string_append (out, "        publish: {\n  ");
  append_list (out, "allow", pub);
  g_string_append (out, "        }\n        subscribe: {\n  ");
  append_list (out, "allow", sub);
  g_string_append (out, "        }\n      }\n    }\n");
}

static void
append_console (GString *out)
{
  const char *const pub[] = {
    "vigil.>", "$JS.API.>", "$JS.ACK.>", "$KV." VIGIL_FLEET_SETTINGS_BUCKET ".>",
    "_INBOX.>", NULL,
  };
  const char *const sub[] = { "vigil.>", "_INBOX.>", NULL };

  append_user (out, "CN=" VIGIL_FLEET_CONSOLE_CN, pub, sub);
}

static void
append_device (GString *out, const VigilFleetBrokerDevice *device)
{
  const char *id = device->id;
  g_autofree char *user = vigil_fleet_device_identity (id, device->enrollment);
  g_autofree char *runs = vigil_fleet_consumer_runs (id);
  g_autofree char *settings = vigil_fleet_consumer_settings (id);
  g_autofree char *key = vigil_fleet_subject_settings (id);
  g_autofree char *inbox = vigil_fleet_inbox_prefix (id);
  g_autofree char *p0 = g_strdup_printf ("vigil.dev.%s.>", id);
  g_autofree char *p1 = g_strdup_printf ("$JS.API.CONSUMER.MSG.NEXT.%s.%s",
                                         VIGIL_FLEET_STREAM_RUNS, runs);
  g_autofree char *p2 = g_strdup_printf ("$JS.API.CONSUMER.INFO.%s.%s",
                                         VIGIL_FLEET_STREAM_RUNS, runs);
  g_autofree char *p3 = g_strdup_printf ("$JS.ACK.%s.%s.>",
                                         VIGIL_FLEET_STREAM_RUNS, runs);
  g_autofree char *p4 = g_strdup_printf ("$JS.API.CONSUMER.MSG.NEXT.%s.%s",
                                         VIGIL_FLEET_STREAM_SETTINGS, settings);
  g_autofree char *p5 = g_strdup_printf ("$JS.API.CONSUMER.INFO.%s.%s",
                                         VIGIL_FLEET_STREAM_SETTINGS, settings);
  g_autofree char *p6 = g_strdup_printf ("$JS.ACK.%s.%s.>",
                                         VIGIL_FLEET_STREAM_SETTINGS, settings);
  /* Direct get of the last value by subject: the key is in the subject. */
  g_autofree char *p7 = g_strdup_printf ("$JS.API.DIRECT.GET.%s.%s",
                                         VIGIL_FLEET_STREAM_SETTINGS, key);
  g_autofree char *s0 = g_strdup_printf ("%s.>", inbox);
  g_autofree char *s1 = vigil_fleet_subject_cancel (id);
  const char *const pub[] = { p0, p1, p2, p3, p4, p5, p6, p7, NULL };
  const char *const sub[] = { s0, s1, NULL };

  append_user (out, user, pub, sub);
}

static void
append_bootstrap (GString *out, const VigilFleetBrokerDevice *device)
{
  g_autofree char *user = vigil_fleet_bootstrap_identity (device->enrollment);
  g_autofree char *request = vigil_fleet_subject_enroll (device->enrollment);
  g_autofree char *inbox = vigil_fleet_enroll_inbox_prefix (device->enrollment);
  g_autofree char *replies = g_strdup_printf ("%s.>", inbox);
  const char *const pub[] = { request, NULL };
  const char *const sub[] = { replies, NULL };

  append_user (out, user, pub, sub);
}

static gboolean
check_config (const VigilFleetBrokerConfig *c, GError **error)
{
  if (!check_quotable ("server name", c->server_name, error) ||
      !check_quotable ("host", c->host, error) ||
      !check_quotable ("store folder", c->store_dir, error) ||
      !check_quotable ("CA file", c->ca_file, error) ||
      !check_quotable ("certificate file", c->cert_file, error) ||
      !check_quotable ("key file", c->key_file, error))
    return FALSE;
  if (c->port < 0 || c->port > 65535) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "broker configuration: port %d out of range", c->port);
    return FALSE;
  }
  for (gsize i = 0; i < c->n_devices; i++) {
    g_autoptr (GError) local = NULL;
    if (!vigil_fleet_device_id_check (c->devices[i].id, &local) ||
        !vigil_fleet_enrollment_check (c->devices[i].enrollment, &local)) {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "broker configuration: device %zu: %s", i + 1,
                   local->message);
      return FALSE;
    }
  }
  return TRUE;
}

char *
vigil_fleet_broker_config_render (const VigilFleetBrokerConfig *c,
                                  GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);

  g_return_val_if_fail (c != NULL, NULL);
  if (!check_config (c, error))
    return NULL;
  g_string_append (out, "# Generated by Vigil: rewritten on every enrollment "
                        "and revocation.\n");
  g_string_append_printf (out, "server_name: \"%s\"\nhost: \"%s\"\n"
                               "port: %d\n", c->server_name, c->host,
                          c->port ? c->port : -1);
  /* The limits nats-server 2.9 has per connection (it has no message
   * rates): a message is at most 1 MiB, and a connection holds at most
   * VIGIL_FLEET_BROKER_MAX_SUBS subscriptions (an agent needs a handful),
   * so one device cannot grow the broker's interest graph without bound. */
  g_string_append_printf (out, "http_port: 0\nmax_payload: %d\nmax_subscriptions: %d\n\n",
                          VIGIL_FLEET_BROKER_MAX_PAYLOAD, VIGIL_FLEET_BROKER_MAX_SUBS);
  /* verify_and_map: no certificate, no connection; the certificate's
   * identity (a device's URI, the console's subject) is the user. */
  g_string_append_printf (out, "tls {\n  ca_file: \"%s\"\n  cert_file: \"%s\"\n"
                               "  key_file: \"%s\"\n  verify_and_map: true\n"
                               "  timeout: 5\n}\n\n",
                          c->ca_file, c->cert_file, c->key_file);
  g_string_append_printf (out, "jetstream {\n  store_dir: \"%s\"\n}\n\n",
                          c->store_dir);
  g_string_append (out, "authorization {\n  users: [\n");
  append_console (out);
  for (gsize i = 0; i < c->n_devices; i++) {
    if (c->devices[i].pending)
      append_bootstrap (out, &c->devices[i]);
    else
      append_device (out, &c->devices[i]);
  }
  g_string_append (out, "  ]\n}\n");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
vigil_fleet_broker_config_write (const VigilFleetBrokerConfig *config,
                                 const char *path, GError **error)
{
  g_autofree char *text = vigil_fleet_broker_config_render (config, error);

  return text != NULL &&
         vigil_fleet_write_private_file (path, text, -1, error);
}

gboolean
vigil_fleet_broker_reload (GPid pid, GError **error)
{
  if (pid <= 0 || kill (pid, SIGHUP) != 0) {
    int saved = pid <= 0 ? ESRCH : errno;
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_BROKER,
                 "cannot ask the broker (pid %d) to reload: %s", (int) pid,
                 g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}
