/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's side of the devices' settings between runs (the fleet,
 * #13): every enrolled device's effective settings of every section,
 * secrets included (never logged), are kept in its own key of the
 * VIGIL_SETTINGS bucket as {device, settings}; its agent follows the key
 * (agent-settings.c). A device's settings depend on the policies of its
 * group chain, its group, its out-of-office state, its local settings and
 * the plugin set, so they are looked at again when the host records
 * host.policy_applied, host.policy_removed or host.inventory_changed (also
 * when another process on the state folder made the change), when a
 * device enrolls, when the plugin set differs, and after each connection
 * to the broker; never on a timer alone. They are computed once per
 * distinct input: devices of one group with the same out-of-office state
 * and no local settings share one computation (a policy edit for 10,000
 * devices of one group costs one computation of every section, not
 * 10,000), a device with local settings gets its own. A value is
 * published only when its SHA-256 differs from what the bucket holds
 * (kept in memory; read back from the bucket after each connection, since
 * a broker may have lost its store), so an idle console publishes
 * nothing. Values are published asynchronously with one wait for all the
 * acknowledgements; whatever was not acknowledged is looked at again a
 * second later.
 */
#include "serve-settings.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"

#include <stdio.h>
#include <string.h>

#define CHECK_SECONDS     1
#define ACK_WAIT_MS       30000
#define MAX_PENDING       4096

struct _ServeSettings {
  Serve             *serve;
  natsConnection    *nc;
  jsCtx             *js;          /* its own: asynchronous publishing */
  kvStore           *kv;          /* NULL until the bucket is there */
  VigilSubscription *events;
  GHashTable        *published;   /* device id → SHA-256 of its value in the bucket */
  char              *plugin_set;  /* the sections and their schema versions */
  gboolean           dirty;
  gint               failed;      /* asynchronous publishes the broker refused */
  guint              timer_id;
};

/* ---- what the settings depend on ------------------------------------- */

/* "id:version ..." of every section: a plugin loaded, dropped or
 * upgraded changes the settings of every device. (transfer full) */
static char *
plugin_set (VigilHost *host)
{
  g_autoptr (JsonArray) sections = vigil_host_sections (host);
  GString *s = g_string_new (NULL);

  for (guint i = 0; sections != NULL && i < json_array_get_length (sections); i++)
    {
      JsonObject *o = json_array_get_object_element (sections, i);

      g_string_append_printf (s, "%s:%" G_GINT64_FORMAT " ",
                              json_object_get_string_member (o, "id"),
                              json_object_get_int_member_with_default (o, "schema_version", 0));
    }
  return g_string_free (s, FALSE);
}

static void
on_host_event (VigilHost *host, JsonObject *event, gpointer user_data)
{
  ServeSettings *s = user_data;
  const char *type = json_object_get_string_member_with_default (event, "type", "");

  if (g_str_equal (type, "host.policy_applied") || g_str_equal (type, "host.policy_removed")
      || g_str_equal (type, "host.inventory_changed"))
    s->dirty = TRUE;
}

/* ---- computing --------------------------------------------------------- */

/* Every section's effective settings of @device, secrets included, as
 * JSON text. (transfer full) */
static char *
compute (VigilHost *host, const char *device)
{
  g_autoptr (JsonArray) sections = vigil_host_sections (host);
  g_autoptr (JsonObject) settings = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; sections != NULL && i < json_array_get_length (sections); i++)
    {
      const char *id = json_object_get_string_member (json_array_get_object_element (sections, i),
                                                      "id");
      JsonObject *values = vigil_host_effective_settings_unmasked (host, device, id, NULL);

      if (values != NULL)
        json_object_set_object_member (settings, id, values);
    }
  json_node_set_object (node, json_object_ref (settings));
  return json_to_string (node, FALSE);
}

/* What the device's settings are computed from, when it shares them with
 * others ("group\nout-of-office"), or NULL when they are its own (local
 * settings). (transfer full) */
static char *
shared_input (VigilHost *host, JsonObject *device)
{
  const char *id = json_object_get_string_member (device, "id");
  g_autoptr (JsonObject) local = vigil_host_device_settings (host, id, NULL);
  JsonObjectIter iter;
  const char *section;
  JsonNode *node;

  if (local == NULL)
    return NULL;
  json_object_iter_init (&iter, local);
  while (json_object_iter_next (&iter, &section, &node))
    if (JSON_NODE_HOLDS_OBJECT (node) && json_object_get_size (json_node_get_object (node)) > 0)
      return NULL;
  return g_strdup_printf ("%s\n%d", json_object_get_string_member (device, "group"),
                          json_object_get_boolean_member_with_default (device, "out_of_office",
                                                                       FALSE));
}

/* ---- publishing --------------------------------------------------------- */

static void
on_publish_error (jsCtx *js, jsPubAckErr *pae, void *closure)
{
  ServeSettings *s = closure;

  g_atomic_int_inc (&s->failed);
}

/* The SHA-256 of the device's value in the bucket, "" when it has none,
 * NULL when the broker could not say. (transfer full) */
static char *
stored_hash (ServeSettings *s, const char *device)
{
  kvEntry *e = NULL;
  natsStatus st = kvStore_Get (&e, s->kv, device);
  char *hash;

  if (st == NATS_NOT_FOUND)
    return g_strdup ("");
  if (st != NATS_OK)
    return NULL;
  hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, kvEntry_Value (e),
                                      (gsize) MAX (kvEntry_ValueLen (e), 0));
  kvEntry_Destroy (e);
  return hash;
}

/* Publishes the values that differ from the bucket's; FALSE when some
 * could not be (the broker away): the next check tries again. */
static gboolean
sync_all (ServeSettings *s)
{
  VigilHost *host = s->serve->host;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) agents = vigil_host_device_agents (host, &error);
  g_autoptr (JsonArray) devices = NULL;
  g_autoptr (GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) computed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           g_free);
  g_autoptr (GHashTable) sent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n_computed = 0, n_devices = 0;
  gboolean ok = TRUE;
  GHashTableIter iter;
  gpointer key, value;
  jsPubOptions po;
  natsStatus st;

  if (agents == NULL || (devices = vigil_host_devices (host, NULL, &error)) == NULL)
    {
      g_printerr ("vigil serve: fleet: devices' settings not published yet: %s\n",
                  error->message);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);
      g_hash_table_insert (by_id, (gpointer) json_object_get_string_member (d, "id"), d);
    }
  g_atomic_int_set (&s->failed, 0);
  for (guint i = 0; i < json_array_get_length (agents); i++)
    {
      JsonObject *a = json_array_get_object_element (agents, i);
      const char *id = json_object_get_string_member (a, "device");
      JsonObject *device = g_hash_table_lookup (by_id, id);
      g_autofree char *input = NULL, *own = NULL, *text = NULL, *hash = NULL;
      g_autofree char *subject = NULL;
      const char *settings, *had;

      if (!g_str_equal (json_object_get_string_member (a, "state"), "enrolled") || device == NULL
          || !vigil_fleet_device_id_check (id, NULL))
        continue;
      n_devices++;
      input = shared_input (host, device);
      settings = input ? g_hash_table_lookup (computed, input) : NULL;
      if (settings == NULL)
        {
          own = compute (host, id);
          n_computed++;
          settings = own;
          if (input != NULL)
            g_hash_table_insert (computed, g_strdup (input), g_steal_pointer (&own));
        }
      /* The id is one subject token of [a-z0-9_-]: no escaping needed. */
      text = g_strdup_printf ("{\"device\":\"%s\",\"settings\":%s}", id, settings);
      hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
      had = g_hash_table_lookup (s->published, id);
      if (had == NULL)
        {
          char *stored = stored_hash (s, id);

          if (stored == NULL)
            {
              ok = FALSE;
              break;
            }
          g_hash_table_insert (s->published, g_strdup (id), stored);
          had = stored;
        }
      if (g_str_equal (had, hash))
        continue;
      subject = vigil_fleet_subject_settings (id);
      st = js_PublishAsync (s->js, subject, text, (int) strlen (text), NULL);
      if (st != NATS_OK)
        {
          ok = FALSE;
          break;
        }
      g_hash_table_insert (sent, g_strdup (id), g_steal_pointer (&hash));
    }
  jsPubOptions_Init (&po);
  po.MaxWait = ACK_WAIT_MS;
  st = js_PublishAsyncComplete (s->js, &po);
  if (st != NATS_OK || g_atomic_int_get (&s->failed) > 0)
    {
      natsMsgList pending = { 0 };

      if (js_PublishAsyncGetPendingList (&pending, s->js) == NATS_OK)
        natsMsgList_Destroy (&pending);
      /* Which ones did not arrive is read back from the bucket next time. */
      g_hash_table_iter_init (&iter, sent);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_hash_table_remove (s->published, key);
      g_printerr ("vigil serve: fleet: devices' settings not all published (%s): trying "
                  "again\n", st != NATS_OK ? natsStatus_GetText (st) : "refused by the broker");
      return FALSE;
    }
  g_hash_table_iter_init (&iter, sent);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_hash_table_insert (s->published, g_strdup (key), g_strdup (value));
      g_printerr ("vigil serve: fleet: settings of device '%s' published\n", (char *) key);
    }
  if (g_hash_table_size (sent) > 0)
    g_printerr ("vigil serve: fleet: settings of %u device(s) published (%u computation(s))\n",
                g_hash_table_size (sent), n_computed);
  else if (ok)
    g_printerr ("vigil serve: fleet: settings of %u device(s) checked, none changed "
                "(%u computation(s))\n", n_devices, n_computed);
  return ok;
}

static gboolean
on_check (gpointer data)
{
  ServeSettings *s = data;
  g_autofree char *plugins = plugin_set (s->serve->host);

  if (g_strcmp0 (plugins, s->plugin_set) != 0)
    {
      g_free (s->plugin_set);
      s->plugin_set = g_steal_pointer (&plugins);
      s->dirty = TRUE;
    }
  if (!s->dirty || s->kv == NULL || natsConnection_Status (s->nc) != NATS_CONN_STATUS_CONNECTED)
    return G_SOURCE_CONTINUE;
  s->dirty = !sync_all (s);
  return G_SOURCE_CONTINUE;
}

/* ---- start and stop ------------------------------------------------------ */

void
serve_settings_reconnected (ServeSettings *s)
{
  natsStatus st;

  if (s == NULL)
    return;
  g_hash_table_remove_all (s->published);
  s->dirty = TRUE;
  if (s->kv == NULL && (st = js_KeyValue (&s->kv, s->js, VIGIL_FLEET_SETTINGS_BUCKET)) != NATS_OK)
    {
      s->kv = NULL;
      g_printerr ("vigil serve: fleet: the settings bucket is not there yet: %s\n",
                  natsStatus_GetText (st));
      return;
    }
  on_check (s);
}

void
serve_settings_enrolled (ServeSettings *s, const char *device)
{
  if (s == NULL)
    return;
  g_hash_table_remove (s->published, device);
  s->dirty = TRUE;
}

ServeSettings *
serve_settings_new (Serve *serve, natsConnection *nc)
{
  ServeSettings *s = g_new0 (ServeSettings, 1);
  jsOptions o;
  natsStatus st;

  s->serve = serve;
  s->nc = nc;
  s->published = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->dirty = TRUE;
  jsOptions_Init (&o);
  o.PublishAsync.MaxPending = MAX_PENDING;
  o.PublishAsync.ErrHandler = on_publish_error;
  o.PublishAsync.ErrHandlerClosure = s;
  if ((st = natsConnection_JetStream (&s->js, nc, &o)) != NATS_OK)
    g_printerr ("vigil serve: fleet: devices' settings are not published: %s\n",
                natsStatus_GetText (st));
  else
    s->timer_id = g_timeout_add_seconds (CHECK_SECONDS, on_check, s);
  s->events = vigil_host_subscribe_events (serve->host, "host.*", NULL, NULL, on_host_event, s,
                                           NULL);
  return s;
}

void
serve_settings_free (ServeSettings *s)
{
  if (s == NULL)
    return;
  if (s->timer_id)
    g_source_remove (s->timer_id);
  vigil_host_unsubscribe (s->events);
  kvStore_Destroy (s->kv);
  jsCtx_Destroy (s->js);
  g_hash_table_destroy (s->published);
  g_free (s->plugin_set);
  g_free (s);
}
