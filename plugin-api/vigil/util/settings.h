/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a plugin's effective settings (group id -> key -> value), or a
 * task's parameters, with the defaults taken from the plugin's own schema: the VigilField that
 * declares a key also says its default, so a reader never keeps a second
 * copy that could drift from it. A value of the wrong type counts as
 * absent and gives the default; an integer outside the field's range is
 * clamped into it. Asking for a key the schema does not declare is a
 * programming error (a g_critical), answered like a null default.
 */
#pragma once

#include <vigil/plugin.h>

G_BEGIN_DECLS

/**
 * vigil_fields_find:
 * @fields: an array of fields, e.g. a task type's parameters
 * @n_fields: its length
 * @field_size: its element size (pass all three with VIGIL_ARRAY)
 * @key: the key
 *
 * Returns: (nullable): the field named @key, or %NULL.
 */
const VigilField *vigil_fields_find (const VigilField *fields,
                                     gsize             n_fields,
                                     gsize             field_size,
                                     const char       *key);

/**
 * vigil_field_dup_value:
 * @field: a field of a settings group or of a task type's parameters
 * @object: (nullable): the object that holds @field's key (a settings
 *   group's values, a task's parameters)
 *
 * Returns: (transfer full) (nullable): a copy of @object's member when it
 *   has the field's JSON type, else @field's parsed default; %NULL for null.
 */
JsonNode *vigil_field_dup_value (const VigilField *field, JsonObject *object);

/**
 * vigil_field_dup_string:
 * Returns: (transfer full) (nullable): vigil_field_dup_value() of a string
 *   field as a string; %NULL when it is null.
 */
char *vigil_field_dup_string (const VigilField *field, JsonObject *object);

/**
 * vigil_settings_field:
 * @section: the plugin's section
 * @group: a group id of @section
 * @key: a key of that group
 *
 * Returns: (nullable): the field that declares @group.@key, or %NULL.
 */
const VigilField *vigil_settings_field (const VigilSection *section,
                                        const char         *group,
                                        const char         *key);

/**
 * vigil_settings_dup_node:
 * @section: the plugin's section (its schema gives the default)
 * @values: (nullable): the effective settings, group id -> key -> value
 * @group: the group id
 * @key: the key
 *
 * Returns: (transfer full) (nullable): a copy of the value when it has the
 *   field's JSON type, else the parsed default; %NULL for null.
 */
JsonNode *vigil_settings_dup_node (const VigilSection *section,
                                   JsonObject         *values,
                                   const char         *group,
                                   const char         *key);

/**
 * vigil_settings_get_bool:
 * Returns: the BOOL setting @group.@key, or its schema default (FALSE for
 *   a null default).
 */
gboolean vigil_settings_get_bool (const VigilSection *section,
                                  JsonObject         *values,
                                  const char         *group,
                                  const char         *key);

/**
 * vigil_settings_get_int:
 * @is_set: (out) (optional): whether the value or the default is a number
 *   (FALSE: both are null, and the answer is 0)
 *
 * Returns: the INT setting @group.@key clamped into the field's range, or
 *   its schema default.
 */
gint64 vigil_settings_get_int (const VigilSection *section,
                               JsonObject         *values,
                               const char         *group,
                               const char         *key,
                               gboolean           *is_set);

/**
 * vigil_settings_dup_string:
 * Returns: (transfer full) (nullable): the string setting @group.@key
 *   (STRING, ENUM, PATH or TIME_OF_DAY), or its schema default; %NULL
 *   when both are null. An empty string is returned as it is.
 */
char *vigil_settings_dup_string (const VigilSection *section,
                                 JsonObject         *values,
                                 const char         *group,
                                 const char         *key);

G_END_DECLS
