/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Settings getters whose defaults come from the section schema. The host
 * fills defaults into the values it hands a plugin, but a plugin also
 * reads values it did not get from the host (a status command, a test, an
 * older state), and then it used to fall back on a default of its own: a
 * second copy that drifted from the schema's. Here the fallback is the
 * VigilField's default_json, parsed when it is needed.
 */
#include "vigil/util/settings.h"

static const VigilSettingsGroup *
group_at (const VigilSection *section, gsize i)
{
  return (const VigilSettingsGroup *) ((const char *) section->groups + i * section->group_size);
}

static const VigilField *
field_at (const VigilSettingsGroup *group, gsize i)
{
  return (const VigilField *) ((const char *) group->fields + i * group->field_size);
}

const VigilField *
vigil_settings_field (const VigilSection *section, const char *group, const char *key)
{
  g_return_val_if_fail (section != NULL && group != NULL && key != NULL, NULL);

  for (gsize i = 0; i < section->n_groups; i++)
    {
      const VigilSettingsGroup *g = group_at (section, i);
      if (g_strcmp0 (g->id, group) != 0)
        continue;
      for (gsize j = 0; j < g->n_fields; j++)
        if (g_strcmp0 (field_at (g, j)->key, key) == 0)
          return field_at (g, j);
    }
  return NULL;
}

/* Whether @n is of the JSON type @field declares. */
static gboolean
fits (const VigilField *field, JsonNode *n)
{
  switch (field->type)
    {
    case VIGIL_FIELD_BOOL:
      return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN;
    case VIGIL_FIELD_INT:
      return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64;
    case VIGIL_FIELD_LIST:
      return JSON_NODE_HOLDS_ARRAY (n);
    case VIGIL_FIELD_OBJECT:
      return JSON_NODE_HOLDS_OBJECT (n);
    default:
      return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING;
    }
}

/* The host checks at registration that every default_json parses and fits
 * its field, so a failure here is a schema the host would have refused. */
static JsonNode *
parse_default (const VigilField *field)
{
  g_autoptr (JsonNode) n = NULL;

  if (field->default_json == NULL)
    return NULL;
  n = json_from_string (field->default_json, NULL);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n) || !fits (field, n))
    return NULL;
  return g_steal_pointer (&n);
}

JsonNode *
vigil_settings_dup_node (const VigilSection *section, JsonObject *values,
                         const char *group, const char *key)
{
  const VigilField *field = vigil_settings_field (section, group, key);
  JsonNode *g = values != NULL ? json_object_get_member (values, group) : NULL;
  JsonNode *n = g != NULL && JSON_NODE_HOLDS_OBJECT (g)
                ? json_object_get_member (json_node_get_object (g), key) : NULL;

  if (field == NULL)
    {
      g_critical ("settings section '%s' declares no field %s.%s", section->id, group, key);
      return NULL;
    }
  if (n != NULL && fits (field, n))
    return json_node_copy (n);
  return parse_default (field);
}

gboolean
vigil_settings_get_bool (const VigilSection *section, JsonObject *values,
                         const char *group, const char *key)
{
  g_autoptr (JsonNode) n = vigil_settings_dup_node (section, values, group, key);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n)
         && json_node_get_value_type (n) == G_TYPE_BOOLEAN && json_node_get_boolean (n);
}

gint64
vigil_settings_get_int (const VigilSection *section, JsonObject *values,
                        const char *group, const char *key, gboolean *is_set)
{
  g_autoptr (JsonNode) n = vigil_settings_dup_node (section, values, group, key);
  const VigilField *field;
  gint64 v;

  if (is_set != NULL)
    *is_set = FALSE;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return 0;
  field = vigil_settings_field (section, group, key);
  v = json_node_get_int (n);
  if (field->has_range)
    v = CLAMP (v, field->min, field->max);
  if (is_set != NULL)
    *is_set = TRUE;
  return v;
}

char *
vigil_settings_dup_string (const VigilSection *section, JsonObject *values,
                           const char *group, const char *key)
{
  g_autoptr (JsonNode) n = vigil_settings_dup_node (section, values, group, key);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}
