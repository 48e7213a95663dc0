/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checks of what plugins register, run once at load time so that a
 * malformed schema is the plugin author's error message, not an admin's
 * puzzle later: id syntax, field types, enum values for ENUM fields, ranges
 * only where they mean something, and defaults that parse and fit their own
 * field. Every message names the id or key it is about.
 */
#include "registry.h"

#include "vigil/util/json.h"

#include <string.h>

#define MAX_ID_LEN 64

/* Marks a range failure, which check_default spells out with the range. */
static const char OUT_OF_RANGE[] = "is out of range";

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID, message);
  return FALSE;
}

/* Lower-case letters, digits and @extra_chars; at most MAX_ID_LEN. */
gboolean
vh_valid_id (const char *id, const char *extra_chars)
{
  gsize len = id != NULL ? strlen (id) : 0;

  if (len == 0 || len > MAX_ID_LEN)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) &&
        strchr (extra_chars, *p) == NULL)
      return FALSE;
  return TRUE;
}

/* "<namespace>.<verb>": dotted, no empty part. */
static gboolean
valid_dotted_id (const char *id)
{
  g_auto(GStrv) parts = NULL;

  if (!vh_valid_id (id, "_-.") || strchr (id, '.') == NULL)
    return FALSE;
  parts = g_strsplit (id, ".", -1);
  for (char **p = parts; *p != NULL; p++)
    if (**p == '\0')
      return FALSE;
  return TRUE;
}

static const char *
type_name (VigilFieldType type)
{
  static const char *const names[] = {
    NULL, "bool", "int", "string", "enum", "time-of-day", "path", "list", "object",
  };
  return type >= VIGIL_FIELD_BOOL && type <= VIGIL_FIELD_OBJECT ? names[type] : NULL;
}

static gboolean
in_enum (const VigilField *field, const char *value)
{
  return field->enum_values != NULL &&
         g_strv_contains ((const char *const *) field->enum_values, value);
}

static gboolean
valid_time_of_day (const char *s)
{
  return strlen (s) == 5 && g_ascii_isdigit (s[0]) && g_ascii_isdigit (s[1]) &&
         s[2] == ':' && g_ascii_isdigit (s[3]) && g_ascii_isdigit (s[4]) &&
         (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
}

static gboolean
scalar_fits (const VigilField *field, VigilFieldType type, JsonNode *node,
             const char **why)
{
  GType vt = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  const char *s = vt == G_TYPE_STRING ? json_node_get_string (node) : NULL;

  switch (type)
    {
    case VIGIL_FIELD_BOOL:
      return vt == G_TYPE_BOOLEAN || (*why = "is not true or false", FALSE);
    case VIGIL_FIELD_INT:
      if (vt != G_TYPE_INT64)
        return *why = "is not an integer", FALSE;
      if (field->has_range && type == field->type &&
          (json_node_get_int (node) < field->min || json_node_get_int (node) > field->max))
        return *why = OUT_OF_RANGE, FALSE;
      return TRUE;
    case VIGIL_FIELD_STRING:
      return s != NULL || (*why = "is not a string", FALSE);
    case VIGIL_FIELD_ENUM:
      return (s != NULL && in_enum (field, s)) || (*why = "is not one of the enum values", FALSE);
    case VIGIL_FIELD_TIME_OF_DAY:
      return (s != NULL && valid_time_of_day (s)) || (*why = "is not a time hh:mm", FALSE);
    case VIGIL_FIELD_PATH:
      return (s != NULL && (*s == '\0' || g_path_is_absolute (s))) ||
             (*why = "is not an absolute path", FALSE);
    case VIGIL_FIELD_OBJECT:
      return JSON_NODE_HOLDS_OBJECT (node) || (*why = "is not an object", FALSE);
    default:
      return *why = "has a type that cannot be a list item", FALSE;
    }
}

static gboolean
default_fits (const VigilField *field, JsonNode *node, const char **why)
{
  JsonArray *array;
  guint len;

  if (JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (field->type != VIGIL_FIELD_LIST)
    return scalar_fits (field, field->type, node, why);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return *why = "is not a list", FALSE;
  array = json_node_get_array (node);
  len = json_array_get_length (array);
  if (field->has_range && (len < field->min || len > field->max))
    return *why = OUT_OF_RANGE, FALSE;
  for (guint i = 0; i < len; i++)
    if (!scalar_fits (field, field->item_type, json_array_get_element (array, i), why))
      return FALSE;
  return TRUE;
}

static gboolean
check_default (const VigilField *field, const char *where, GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local = NULL;
  const char *why = NULL;

  if (field->default_json == NULL)
    return TRUE;
  /* The strict reader, as for every document: a default of 010 or with a
   * duplicate key would otherwise be read differently from how it reads. */
  root = vigil_json_parse (field->default_json, -1, VIGIL_JSON_STRICT, NULL, &local);
  if (root == NULL)
    return invalid (error, "%s.%s: default_json '%s' is not JSON: %s", where,
                    field->key, field->default_json, local->message);
  if (default_fits (field, root, &why))
    return TRUE;
  if (why == OUT_OF_RANGE)
    return invalid (error, "%s.%s: default %s %s %" G_GINT64_FORMAT "–%" G_GINT64_FORMAT
                    "%s", where, field->key, field->default_json, why, field->min,
                    field->max, field->type == VIGIL_FIELD_LIST ? " (list length)" : "");
  return invalid (error, "%s.%s: default %s %s (%s field)", where, field->key,
                  field->default_json, why, type_name (field->type));
}

static gboolean
check_type (const VigilField *field, const char *where, GError **error)
{
  gboolean is_enum = field->type == VIGIL_FIELD_ENUM ||
    (field->type == VIGIL_FIELD_LIST && field->item_type == VIGIL_FIELD_ENUM);

  if (type_name (field->type) == NULL)
    return invalid (error, "%s.%s: unknown field type %d", where, field->key, field->type);
  if (field->type == VIGIL_FIELD_LIST &&
      (type_name (field->item_type) == NULL || field->item_type == VIGIL_FIELD_LIST))
    return invalid (error, "%s.%s: a list needs an item_type other than list", where,
                    field->key);
  if (is_enum && (field->enum_values == NULL || field->enum_values[0] == NULL))
    return invalid (error, "%s.%s: an enum field needs enum_values", where, field->key);
  if (field->has_range && field->type != VIGIL_FIELD_INT && field->type != VIGIL_FIELD_LIST)
    return invalid (error, "%s.%s: has_range is only for int and list fields", where,
                    field->key);
  if (field->has_range && field->min > field->max)
    return invalid (error, "%s.%s: range %" G_GINT64_FORMAT "–%" G_GINT64_FORMAT
                    " is empty", where, field->key, field->min, field->max);
  if ((field->flags & ~(guint32) (VIGIL_FIELD_FLAG_SECRET | VIGIL_FIELD_FLAG_REQUIRED)) != 0)
    return invalid (error, "%s.%s: unknown flags 0x%x", where, field->key, field->flags);
  return TRUE;
}

/**
 * vh_validate_fields:
 * @where: the path of the array in messages ("kata.connection", "params")
 */
gboolean
vh_validate_fields (const VigilField *fields, gsize n_fields, const char *where,
                    GError **error)
{
  g_autoptr(GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);

  for (gsize i = 0; i < n_fields; i++)
    {
      const VigilField *field = &fields[i];

      if (!vh_valid_id (field->key, "_"))
        return invalid (error, "%s: field %" G_GSIZE_FORMAT " has an invalid key '%s' "
                        "(letters a-z, digits and '_')", where, i,
                        field->key ? field->key : "(null)");
      if (!g_hash_table_add (keys, (gpointer) field->key))
        return invalid (error, "%s.%s: the key is used twice", where, field->key);
      if (!check_type (field, where, error) || !check_default (field, where, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
vh_validate_section (const VigilSection *section, GError **error)
{
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  if (!vh_valid_id (section->id, "_"))
    return invalid (error, "section id '%s' is invalid (letters a-z, digits and '_')",
                    section->id ? section->id : "(null)");
  if (section->schema_version < 1)
    return invalid (error, "section '%s': schema_version must be 1 or more", section->id);
  if (section->n_groups == 0)
    return invalid (error, "section '%s': has no settings groups", section->id);
  for (gsize i = 0; i < section->n_groups; i++)
    {
      const VigilSettingsGroup *group = &section->groups[i];
      g_autofree char *where = NULL;

      if (!vh_valid_id (group->id, "_"))
        return invalid (error, "section '%s': group %" G_GSIZE_FORMAT " has an invalid id '%s'",
                        section->id, i, group->id ? group->id : "(null)");
      if (!g_hash_table_add (ids, (gpointer) group->id))
        return invalid (error, "section '%s': group '%s' is defined twice", section->id,
                        group->id);
      where = g_strdup_printf ("%s.%s", section->id, group->id);
      if (!vh_validate_fields (group->fields, group->n_fields, where, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
vh_validate_task_type (const VigilTaskType *type, GError **error)
{
  g_autofree char *where = NULL;

  if (!valid_dotted_id (type->id))
    return invalid (error, "task type id '%s' is invalid: use '<namespace>.<verb>' "
                    "(letters a-z, digits, '_', '-')", type->id ? type->id : "(null)");
  if (type->run == NULL)
    return invalid (error, "task type '%s': run is NULL", type->id);
  where = g_strdup_printf ("%s.params", type->id);
  return vh_validate_fields (type->params, type->n_params, where, error);
}

gboolean
vh_validate_action (const VigilProtectedAction *action, GError **error)
{
  if (!valid_dotted_id (action->id))
    return invalid (error, "protected action id '%s' is invalid: use '<namespace>.<verb>' "
                    "(letters a-z, digits, '_', '-')", action->id ? action->id : "(null)");
  return TRUE;
}

gboolean
vh_validate_handler (const VigilEventHandler *handler, GError **error)
{
  const char *t = handler->event_type;
  gboolean ok = t != NULL && (g_str_equal (t, "*") ||
                              (g_str_has_suffix (t, ".*") && strlen (t) > 2) ||
                              vh_valid_id (t, "_-."));

  if (ok && g_str_has_suffix (t, ".*"))
    {
      g_autofree char *prefix = g_strndup (t, strlen (t) - 2);
      ok = vh_valid_id (prefix, "_-.");
    }
  if (!ok)
    return invalid (error, "event handler: event type '%s' is invalid (a type such as "
                    "'sandbox.threat_detected', a prefix such as 'quarantine.*', or '*')",
                    t ? t : "(null)");
  if (handler->handler == NULL)
    return invalid (error, "event handler for '%s': handler is NULL", t);
  return TRUE;
}

gboolean
vh_validate_command (const VigilCommand *command, GError **error)
{
  if (!vh_valid_id (command->name, "-") || !g_ascii_islower (command->name[0]))
    return invalid (error, "command name '%s' is invalid (a-z first, then a-z, 0-9, '-')",
                    command->name ? command->name : "(null)");
  if (vh_registry_is_reserved_command (command->name))
    return invalid (error, "command '%s' is a built-in command of vigil", command->name);
  if (command->run == NULL)
    return invalid (error, "command '%s': run is NULL", command->name);
  if ((command->flags & ~(guint) VIGIL_COMMAND_JSON) != 0)
    return invalid (error, "command '%s': unknown flags 0x%x", command->name,
                    command->flags & ~(guint) VIGIL_COMMAND_JSON);
  return TRUE;
}
