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

const VigilField *
vigil_fields_find (const VigilField *fields, gsize n_fields, gsize field_size, const char *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  for (gsize i = 0; i < n_fields; i++)
    {
      const VigilField *f = (const VigilField *) ((const char *) fields + i * field_size);
      if (g_strcmp0 (f->key, key) == 0)
        return f;
    }
  return NULL;
}

const VigilField *
vigil_settings_field (const VigilSection *section, const char *group, const char *key)
{
  g_return_val_if_fail (section != NULL && group != NULL && key != NULL, NULL);

  for (gsize i = 0; i < section->n_groups; i++)
    {
      const VigilSettingsGroup *g = group_at (section, i);
      if (g_strcmp0 (g->id, group) == 0)
        return vigil_fields_find (g->fields, g->n_fields, g->field_size, key);
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
vigil_field_dup_value (const VigilField *field, JsonObject *object)
{
  JsonNode *n;

  g_return_val_if_fail (field != NULL, NULL);

  n = object != NULL ? json_object_get_member (object, field->key) : NULL;
  if (n != NULL && fits (field, n))
    return json_node_copy (n);
  return parse_default (field);
}

char *
vigil_field_dup_string (const VigilField *field, JsonObject *object)
{
  g_autoptr (JsonNode) n = vigil_field_dup_value (field, object);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

/* The field of @group.@key; a key the schema does not declare is a bug in
 * the plugin, not bad input, hence the critical. */
static const VigilField *
declared_field (const VigilSection *section, const char *group, const char *key)
{
  const VigilField *field = vigil_settings_field (section, group, key);

  if (field == NULL)
    g_critical ("settings section '%s' declares no field %s.%s", section->id, group, key);
  return field;
}

static JsonObject *
group_values (JsonObject *values, const char *group)
{
  JsonNode *g = values != NULL ? json_object_get_member (values, group) : NULL;

  return g != NULL && JSON_NODE_HOLDS_OBJECT (g) ? json_node_get_object (g) : NULL;
}

JsonNode *
vigil_settings_dup_node (const VigilSection *section, JsonObject *values,
                         const char *group, const char *key)
{
  const VigilField *field = declared_field (section, group, key);

  return field != NULL ? vigil_field_dup_value (field, group_values (values, group)) : NULL;
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
  const VigilField *field = declared_field (section, group, key);
  g_autoptr (JsonNode) n = NULL;
  gint64 v;

  if (is_set != NULL)
    *is_set = FALSE;
  if (field != NULL)
    n = vigil_field_dup_value (field, group_values (values, group));
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return 0;
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
  const VigilField *field = declared_field (section, group, key);

  return field != NULL ? vigil_field_dup_string (field, group_values (values, group)) : NULL;
}
