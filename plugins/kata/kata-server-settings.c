/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Settings the central node sets through synchronization. Only a few keys
 * of the policy section may come from the server (periods, package size,
 * throttling: what a node tunes to its own load), with the policy's group
 * and key names and the same ranges; connection targets and trust never
 * do, so that a server cannot redirect or unpin the agent. A reply's
 * `settings` object is the server's complete set of overrides: it replaces
 * the previous one (an empty object clears them all), and each override
 * wins over the policy's value until the server sends a different set.
 * Overrides are kept in the spool so that they hold after a restart.
 */
#include "kata-engine-private.h"
#include "kata-limits.h"

#include <stddef.h>
#include <string.h>

#define OVERRIDES_META "server_overrides"

typedef struct {
  const char *group;
  const char *key;
  gboolean    is_bool;
  gint64      min, max;
  size_t      offset;      /* of a guint or gboolean in KataSettings */
} Overridable;

/* Names and ranges are the policy section's (kata-limits.h): a server
 * cannot set what a policy could not. */
static const Overridable overridable[] = {
  { "connection", "sync_period_min", FALSE,
    KATA_SYNC_PERIOD_MIN_MIN, KATA_SYNC_PERIOD_MIN_MAX,
    offsetof (KataSettings, sync_period_min) },
  { "data_submission", "transmission_period_sec", FALSE,
    KATA_PERIOD_SEC_MIN, KATA_PERIOD_SEC_MAX,
    offsetof (KataSettings, period_sec) },
  { "data_submission", "max_events_per_package", FALSE,
    KATA_PACKAGE_EVENTS_MIN, KATA_PACKAGE_EVENTS_MAX,
    offsetof (KataSettings, max_per_package) },
  { "throttling", "enabled", TRUE, 0, 1,
    offsetof (KataSettings, throttle_enabled) },
  { "throttling", "max_events_per_hour", FALSE,
    KATA_EVENTS_PER_HOUR_MIN, KATA_EVENTS_PER_HOUR_MAX,
    offsetof (KataSettings, max_per_hour) },
  { "throttling", "excess_percent", FALSE,
    KATA_EXCESS_PERCENT_MIN, KATA_EXCESS_PERCENT_MAX,
    offsetof (KataSettings, excess_percent) },
};

static const Overridable *
find (const char *group, const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (overridable); i++)
    if (strcmp (overridable[i].group, group) == 0 &&
        (key == NULL || strcmp (overridable[i].key, key) == 0))
      return &overridable[i];
  return NULL;
}

static gboolean
fail (GError **error, const char *group, const char *key, const char *what)
{
  g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL, "$.settings.%s%s%s: %s",
               group, key ? "." : "", key ? key : "", what);
  return FALSE;
}

static gboolean
check_value (const Overridable *o, JsonNode *n, GError **error)
{
  g_autofree char *why = NULL;
  GType type = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;

  if (o->is_bool)
    return type == G_TYPE_BOOLEAN ? TRUE
        : fail (error, o->group, o->key, "not a boolean");
  if (type != G_TYPE_INT64)
    return fail (error, o->group, o->key, "not an integer");
  if (json_node_get_int (n) >= o->min && json_node_get_int (n) <= o->max)
    return TRUE;
  why = g_strdup_printf ("%" G_GINT64_FORMAT " is out of range %" G_GINT64_FORMAT
                         "–%" G_GINT64_FORMAT, json_node_get_int (n), o->min, o->max);
  return fail (error, o->group, o->key, why);
}

static gboolean
check_group (const char *group, JsonNode *node, GError **error)
{
  g_autoptr (GList) keys = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, group, NULL, "not an object");
  keys = json_object_get_members (json_node_get_object (node));
  for (GList *l = keys; l != NULL; l = l->next)
    {
      const Overridable *o = find (group, l->data);
      if (o == NULL)
        return fail (error, group, l->data, "not a setting the server may set");
      if (!check_value (o, json_object_get_member (json_node_get_object (node), l->data), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
kata_server_settings_check (JsonObject *settings, GError **error)
{
  g_autoptr (GList) groups = json_object_get_members (settings);

  for (GList *l = groups; l != NULL; l = l->next)
    {
      if (find (l->data, NULL) == NULL)
        return fail (error, l->data, NULL, "not a settings group the server may set");
      if (!check_group (l->data, json_object_get_member (settings, l->data), error))
        return FALSE;
    }
  return TRUE;
}

static JsonNode *
override_of (JsonObject *overrides, const Overridable *o)
{
  JsonNode *g = overrides ? json_object_get_member (overrides, o->group) : NULL;

  return g && JSON_NODE_HOLDS_OBJECT (g)
      ? json_object_get_member (json_node_get_object (g), o->key) : NULL;
}

void
kata_settings_apply_overrides (KataSettings *s, JsonObject *overrides)
{
  for (guint i = 0; overrides && i < G_N_ELEMENTS (overridable); i++)
    {
      const Overridable *o = &overridable[i];
      JsonNode *n = override_of (overrides, o);
      if (n == NULL)
        continue;
      if (o->is_bool)
        *(gboolean *) ((char *) s + o->offset) = json_node_get_boolean (n);
      else
        *(guint *) ((char *) s + o->offset) = (guint) json_node_get_int (n);
    }
}

/* {group: {key: value}} of the overridable keys of @s. */
static JsonObject *
overridable_values (const KataSettings *s)
{
  JsonObject *out = json_object_new ();

  for (guint i = 0; i < G_N_ELEMENTS (overridable); i++)
    {
      const Overridable *o = &overridable[i];
      const char *p = (const char *) s + o->offset;
      JsonObject *g;
      if (!json_object_has_member (out, o->group))
        json_object_set_object_member (out, o->group, json_object_new ());
      g = json_object_get_object_member (out, o->group);
      if (o->is_bool)
        json_object_set_boolean_member (g, o->key, *(const gboolean *) p);
      else
        json_object_set_int_member (g, o->key, *(const guint *) p);
    }
  return out;
}

/* Under engine->lock: the effective settings from the policy's and the
 * server's. */
void
kata_engine_apply_settings (KataEngine *engine)
{
  KataSettings *effective = kata_settings_copy (engine->policy);

  kata_settings_apply_overrides (effective, engine->overrides);
  kata_settings_free (engine->settings);
  engine->settings = effective;
  kata_throttle_configure (engine->throttle, effective->throttle_enabled,
                           effective->max_per_hour, effective->excess_percent);
}

gboolean
kata_engine_set_overrides (KataEngine *engine, JsonObject *overrides,
                           GError **error)
{
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), overrides);
  g_autofree char *text = json_to_string (n, FALSE);

  /* Kept first: an override shown as applied must also hold after a
   * restart. */
  if (!kata_spool_meta_set (engine->spool, OVERRIDES_META, text, error))
    return FALSE;
  g_mutex_lock (&engine->lock);
  g_clear_pointer (&engine->overrides, json_object_unref);
  engine->overrides = json_object_ref (overrides);
  kata_engine_apply_settings (engine);
  g_mutex_unlock (&engine->lock);
  return TRUE;
}

void
kata_engine_load_overrides (KataEngine *engine)
{
  g_autofree char *text = kata_spool_meta_get (engine->spool, OVERRIDES_META);
  g_autoptr (JsonNode) n = text ? vigil_json_parse (text, -1, VIGIL_JSON_STRICT, NULL, NULL) : NULL;

  /* Only what passed the check was stored; check again all the same, the
   * file is not ours alone. */
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n) ||
      !kata_server_settings_check (json_node_get_object (n), NULL))
    return;
  g_mutex_lock (&engine->lock);
  engine->overrides = json_object_ref (json_node_get_object (n));
  kata_engine_apply_settings (engine);
  g_mutex_unlock (&engine->lock);
}

/* Under engine->lock: {"policy","server","effective"} for the status. */
JsonObject *
kata_engine_settings_status (KataEngine *engine)
{
  JsonObject *o = json_object_new ();

  json_object_set_object_member (o, "policy", overridable_values (engine->policy));
  json_object_set_object_member (o, "server", engine->overrides
                                 ? json_object_ref (engine->overrides)
                                 : json_object_new ());
  json_object_set_object_member (o, "effective", overridable_values (engine->settings));
  return o;
}
