/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil kata status|cert-info|flush`: the state and counters of each
 * device's sender (spooled, sent, held back by throttling, suppressed by
 * TTL, dropped, last error), the details of the pinned and the client
 * certificates (never the PFX or its password), and a synchronous
 * transmission and synchronization for when `vigil serve` is not running.
 */
#include "plugin-private.h"

#include <vigil/util/text.h>
#include <stdio.h>
#include <string.h>

static void
print_value (JsonObject *o, const char *group, const char *key)
{
  JsonObject *g = o && json_object_has_member (o, group)
      ? json_object_get_object_member (o, group) : NULL;
  JsonNode *n = g ? json_object_get_member (g, key) : NULL;

  if (n == NULL)
    vigil_print (" %10s", "-");
  else if (json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    vigil_print (" %10s", json_node_get_boolean (n) ? "true" : "false");
  else
    vigil_print (" %10" G_GINT64_FORMAT, json_node_get_int (n));
}

/* The keys the central node may set: the policy's value, the server's
 * override ("-": none) and the one in effect. */
static void
print_settings_text (JsonObject *settings)
{
  JsonObject *policy = json_object_get_object_member (settings, "policy");
  g_autoptr (GList) groups = json_object_get_members (policy);

  vigil_print ("  %-40s %10s %10s %10s\n", "settings", "policy", "server", "effective");
  for (GList *g = groups; g != NULL; g = g->next)
    {
      g_autoptr (GList) keys = json_object_get_members (
          json_object_get_object_member (policy, g->data));
      for (GList *k = keys; k != NULL; k = k->next)
        {
          g_autofree char *name = g_strdup_printf ("%s.%s", (char *) g->data,
                                                   (char *) k->data);
          vigil_print ("  %-40s", name);
          print_value (policy, g->data, k->data);
          print_value (json_object_get_object_member (settings, "server"), g->data, k->data);
          print_value (json_object_get_object_member (settings, "effective"),
                       g->data, k->data);
          vigil_print ("\n");
        }
    }
}

/* Per server: failures in total and per stage (connect, tls, ...). */
static void
print_failures_text (JsonObject *failures)
{
  g_autoptr (GList) servers = json_object_get_members (failures);

  for (GList *l = servers; l != NULL; l = l->next)
    {
      JsonObject *s = json_object_get_object_member (failures, l->data);
      g_autoptr (GList) stages = json_object_get_members (s);
      vigil_print ("  server %s failed %" G_GINT64_FORMAT " times:", (char *) l->data,
              json_object_get_int_member (s, "total"));
      for (GList *k = stages; k != NULL; k = k->next)
        if (strcmp (k->data, "total") != 0)
          vigil_print (" %s %" G_GINT64_FORMAT, (char *) k->data,
                  json_object_get_int_member (s, k->data));
      vigil_print ("\n");
    }
}

static void
print_status_text (JsonObject *st)
{
  JsonObject *thr = json_object_get_object_member (st, "throttling");
  const char *err = json_object_get_string_member_with_default (st, "last_error", NULL);

  vigil_print ("device %s: %s\n",
          json_object_get_string_member_with_default (st, "device", "(host)"),
          json_object_get_boolean_member (st, "enabled") ? "enabled" : "disabled");
  vigil_print ("  spooled %" G_GINT64_FORMAT ", sent %" G_GINT64_FORMAT " events in %"
          G_GINT64_FORMAT " packages, last delivery %s\n",
          json_object_get_int_member (st, "spooled"),
          json_object_get_int_member (st, "sent_events"),
          json_object_get_int_member (st, "sent_packages"),
          json_object_get_string_member_with_default (st, "last_delivery", "never"));
  vigil_print ("  throttling: offered %" G_GINT64_FORMAT ", admitted %" G_GINT64_FORMAT
          ", held back %" G_GINT64_FORMAT "; TTL suppressed %" G_GINT64_FORMAT
          "; excluded %" G_GINT64_FORMAT "; dropped %" G_GINT64_FORMAT "\n",
          json_object_get_int_member (thr, "offered"),
          json_object_get_int_member (thr, "admitted"),
          json_object_get_int_member (thr, "held_back"),
          json_object_get_int_member (st, "ttl_suppressed"),
          json_object_get_int_member (st, "excluded"),
          json_object_get_int_member (st, "dropped_low") +
          json_object_get_int_member (st, "dropped_high"));
  vigil_print ("  synchronizations %" G_GINT64_FORMAT " (failed %" G_GINT64_FORMAT
          "), tasks created %" G_GINT64_FORMAT "\n",
          json_object_get_int_member (st, "syncs"),
          json_object_get_int_member (st, "sync_failures"),
          json_object_get_int_member (st, "tasks_created"));
  print_settings_text (json_object_get_object_member (st, "settings"));
  print_failures_text (json_object_get_object_member (st, "server_failures"));
  if (err != NULL)
    vigil_print ("  last error: %s\n", err);
}

static gboolean
engine_matches (KataEngine *engine, const char *device)
{
  return device == NULL || g_strcmp0 (kata_engine_device (engine), device) == 0;
}

static int
cmd_status (const char *device, gboolean json)
{
  g_autoptr (GPtrArray) all = kata_engines_all ();
  g_autoptr (JsonArray) arr = json_array_new ();

  for (guint i = 0; i < all->len; i++)
    if (engine_matches (g_ptr_array_index (all, i), device))
      json_array_add_object_element (arr, kata_engine_status (g_ptr_array_index (all, i)));
  if (json)
    {
      g_autoptr (JsonNode) n = json_node_init_array (json_node_alloc (), arr);
      vigil_json_print (n);
      return 0;
    }
  if (json_array_get_length (arr) == 0)
    vigil_print ("no device sends telemetry (integration disabled or no event yet)\n");
  for (guint i = 0; i < json_array_get_length (arr); i++)
    print_status_text (json_array_get_object_element (arr, i));
  return 0;
}

static int
cmd_flush (const char *device, gboolean json)
{
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (JsonArray) arr = json_array_new ();
  int rc = 0;

  kata_engines_refresh ();
  /* A device named here gets its engine now if its integration is on,
   * so that it synchronizes (and receives the node's tasks) before it has
   * sent any telemetry. */
  if (device != NULL)
    kata_engines_for (device);
  all = kata_engines_all ();
  for (guint i = 0; i < all->len; i++)
    {
      KataEngine *engine = g_ptr_array_index (all, i);
      KataCycleResult r;
      JsonObject *o;
      gboolean synced;

      if (!engine_matches (engine, device))
        continue;
      o = kata_engine_status (engine);
      if (!json_object_get_boolean_member (o, "enabled"))
        {
          /* Integration off: nothing is sent, synchronized or dropped; the
           * spool waits for it to be on again, and the last error belongs
           * to the settings before. Not a failed flush. */
          json_object_set_boolean_member (o, "skipped", TRUE);
          json_array_add_object_element (arr, o);
          continue;
        }
      json_object_unref (o);
      kata_engine_send_now (engine, &r);
      synced = kata_engine_sync_now (engine);
      if (synced && kata_engine_spooled (engine) > 0)
        {
          /* What the synchronization queued for the node (tasks it
           * rejected) goes now too. */
          KataCycleResult again;

          kata_engine_send_now (engine, &again);
          r.events += again.events;
          r.packages += again.packages;
          if (again.server_index >= 0)
            r.server_index = again.server_index;
        }
      o = kata_engine_status (engine);
      json_object_set_boolean_member (o, "skipped", FALSE);
      json_object_set_int_member (o, "flushed_events", r.events);
      json_object_set_int_member (o, "flushed_packages", r.packages);
      json_object_set_int_member (o, "server_index", r.server_index);
      json_object_set_boolean_member (o, "synchronized", synced);
      if (kata_engine_spooled (engine) > 0)
        rc = 1;
      json_array_add_object_element (arr, o);
    }
  if (json)
    {
      g_autoptr (JsonNode) n = json_node_init_array (json_node_alloc (), arr);
      vigil_json_print (n);
      return rc;
    }
  if (json_array_get_length (arr) == 0)
    vigil_print ("nothing to send (integration disabled or no event yet)\n");
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonObject *o = json_array_get_object_element (arr, i);
      if (json_object_get_boolean_member (o, "skipped"))
        {
          vigil_print ("device %s: integration disabled, nothing sent; %" G_GINT64_FORMAT
                       " events stay spooled\n",
                       json_object_get_string_member_with_default (o, "device", "(host)"),
                       json_object_get_int_member (o, "spooled"));
          continue;
        }
      vigil_print ("device %s: sent %" G_GINT64_FORMAT " events in %" G_GINT64_FORMAT
              " packages, %" G_GINT64_FORMAT " still spooled%s%s\n",
              json_object_get_string_member_with_default (o, "device", "(host)"),
              json_object_get_int_member (o, "flushed_events"),
              json_object_get_int_member (o, "flushed_packages"),
              json_object_get_int_member (o, "spooled"),
              json_object_get_string_member_with_default (o, "last_error", NULL) ? ": " : "",
              json_object_get_string_member_with_default (o, "last_error", ""));
    }
  return rc;
}

static JsonObject *
client_info (const KataSettings *s, GError **error)
{
  g_autoptr (KataClientCert) cc = NULL;

  if (s->client_pfx == NULL)
    return NULL;
  cc = kata_pfx_open (s->client_pfx, s->client_pfx_password, error);
  return cc ? kata_cert_info (cc->cert) : NULL;
}

static int
cert_info_file (const char *file, gboolean json)
{
  g_autofree char *pem = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) info = NULL;
  X509 *cert;

  if (!g_file_get_contents (file, &pem, NULL, &error) ||
      (cert = kata_cert_from_pem (pem, &error)) == NULL)
    {
      return vigil_command_fail ("kata cert-info", "%s (%s)", error->message, file);
    }
  info = kata_cert_info (cert);
  X509_free (cert);
  {
    g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), info);
    vigil_json_print (n);
  }
  return 0;
}

static int
cmd_cert_info (const char *device, const char *file, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (KataSettings) s = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  g_autoptr (JsonNode) n = NULL;

  if (file != NULL)
    return cert_info_file (file, json);
  if ((s = kata_settings_for (device, &error)) == NULL)
    {
      return vigil_command_fail ("kata cert-info", "%s", error->message);
    }
  if (s->pinned_pem != NULL)
    {
      X509 *cert = kata_cert_from_pem (s->pinned_pem, &error);
      if (cert != NULL)
        json_object_set_object_member (out, "pinned", kata_cert_info (cert));
      else
        json_object_set_string_member (out, "pinned_error", error->message);
      X509_free (cert);
      g_clear_error (&error);
    }
  if (s->client_pfx != NULL)
    {
      JsonObject *ci = client_info (s, &error);
      if (ci != NULL)
        json_object_set_object_member (out, "client", ci);
      else
        json_object_set_string_member (out, "client_error", error->message);
    }
  n = json_node_init_object (json_node_alloc (), out);
  vigil_json_print (n);
  return 0;
}

static const char usage[] =
  "usage: vigil kata status [--device D] [--json]\n"
  "       vigil kata cert-info [--device D] [FILE.pem]\n"
  "       vigil kata flush [--device D] [--json]\n"
  "\n"
  "EDR telemetry to the central node (KATA).\n\n"
  "  status     spooled and sent events, throttling, TTL, drops, last error\n"
  "  cert-info  the pinned and the client certificate of a device's settings,\n"
  "             or of FILE.pem (never the PFX or its password)\n"
  "  flush      send what is spooled and synchronize now (exit 1 when events\n"
  "             stay spooled; a device whose integration is disabled is left\n"
  "             as it is)\n";

int
kata_command_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  g_autofree char *device = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Only this device", "D" },
    { NULL },
  };
  /* parse_strv frees what it removes: parse a copy, the host frees @argv. */
  g_auto (GStrv) args = g_strdupv (argv);
  int code;
  const char *verb;

  if (!vigil_command_parse ("kata", usage, entries, &json, &args, &code))
    return code;
  argc = (int) g_strv_length (args);
  argv = args;
  if (argc < 2)
    return vigil_command_usage_error ("kata", usage, "missing command");
  verb = argv[1];
  if (strcmp (verb, "status") == 0 && argc == 2)
    return cmd_status (device, json);
  if (strcmp (verb, "flush") == 0 && argc == 2)
    return cmd_flush (device, json);
  if (strcmp (verb, "cert-info") == 0 && argc <= 3)
    return cmd_cert_info (device, argc == 3 ? argv[2] : NULL, json);
  return vigil_command_usage_error ("kata", usage, "unknown command or extra arguments");
}
