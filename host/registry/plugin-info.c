/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the host tells people about plugins: the JSON record behind
 * `vigil plugins` and vigil_host_plugins() (identity, state, refusal
 * reason, contributions), and the sentence that explains a missing task
 * type by naming the plugin that would provide it and what to do about it.
 */
#include "registry.h"

#include <string.h>

static void
set_string_or_null (JsonObject *o, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, key, value);
  else
    json_object_set_null_member (o, key);
}

/* Each entry type starts with its VigilPlugin pointer; @id_of gives the
 * string to list. */
static JsonArray *
contributions (GPtrArray *entries, VigilPlugin *plugin,
               const char *(*id_of) (gconstpointer entry))
{
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < entries->len; i++)
    {
      gconstpointer e = g_ptr_array_index (entries, i);
      if (*(VigilPlugin *const *) e == plugin)
        json_array_add_string_element (out, id_of (e));
    }
  return out;
}

static const char *section_id (gconstpointer e) { return ((const VhSection *) e)->section.id; }
static const char *task_type_id (gconstpointer e) { return ((const VhTaskType *) e)->type.id; }
static const char *command_name (gconstpointer e) { return ((const VhCommand *) e)->command.name; }

static const char *handler_type (gconstpointer e) { return ((const VhHandler *) e)->handler.event_type; }

JsonObject *
vh_registry_plugin_to_json (VigilHost *host, VigilPlugin *plugin)
{
  JsonObject *o = json_object_new ();
  g_autofree char *abi = NULL;

  if (plugin->abi_major > 0)
    abi = g_strdup_printf ("%u.%u", plugin->abi_major, plugin->abi_minor);
  json_object_set_string_member (o, "id", plugin->id);
  set_string_or_null (o, "name", plugin->name);
  set_string_or_null (o, "version", plugin->version);
  set_string_or_null (o, "license", plugin->license);
  set_string_or_null (o, "description", plugin->description);
  set_string_or_null (o, "file", plugin->file);
  set_string_or_null (o, "abi", abi);
  json_object_set_string_member (o, "state", vh_plugin_state_name (plugin->state));
  set_string_or_null (o, "reason", plugin->reason);
  json_object_set_array_member (o, "sections",
      contributions (vh_registry_sections (host), plugin, section_id));
  json_object_set_array_member (o, "task_types",
      contributions (vh_registry_task_types (host), plugin, task_type_id));
  json_object_set_array_member (o, "event_handlers", contributions (vh_registry_handlers (host), plugin, handler_type));
  json_object_set_array_member (o, "commands",
      contributions (vh_registry_commands (host), plugin, command_name));
  return o;
}

/* The plugin that would provide @type_id: the one named like its prefix
 * ("quarantine" for "quarantine.put"), or one whose id starts with it
 * ("ioc-scan" for "ioc.scan"). */
static VigilPlugin *
provider_of (VigilHost *host, const char *prefix)
{
  GPtrArray *plugins = vh_registry_plugins (host);
  g_autofree char *dash = g_strconcat (prefix, "-", NULL);
  g_autofree char *underscore = g_strconcat (prefix, "_", NULL);
  VigilPlugin *exact = vh_registry_find_plugin (host, prefix);

  if (exact != NULL)
    return exact;
  for (guint i = 0; i < plugins->len; i++)
    {
      VigilPlugin *p = g_ptr_array_index (plugins, i);
      if (g_str_has_prefix (p->id, dash) || g_str_has_prefix (p->id, underscore))
        return p;
    }
  return NULL;
}

/**
 * vh_registry_explain_missing_task_type:
 * Returns: (transfer full): why @type_id cannot be used and what to do,
 *   e.g. "task type 'quarantine.put' is not available: the plugin
 *   'quarantine' is disabled (vigil plugins enable quarantine)".
 */
char *
vh_registry_explain_missing_task_type (VigilHost *host, const char *type_id)
{
  g_autofree char *prefix = g_strndup (type_id, strcspn (type_id, "."));
  VigilPlugin *p;

  if (vh_registry_task_type (host, type_id) != NULL)
    return g_strdup_printf ("task type '%s' is available", type_id);
  p = provider_of (host, prefix);
  if (p == NULL)
    return g_strdup_printf ("task type '%s' is not available: the plugin '%s' is "
                            "not installed", type_id, prefix);
  switch (p->state)
    {
    case VH_PLUGIN_DISABLED:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' is "
                              "disabled (vigil plugins enable %s)", type_id, p->id, p->id);
    case VH_PLUGIN_REFUSED:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' was "
                              "refused: %s", type_id, p->id, p->reason);
    case VH_PLUGIN_LOADED:
    default:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' "
                              "(version %s) does not provide it", type_id, p->id,
                              p->version ? p->version : "unknown");
    }
}
