/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the host tells people about plugins: the JSON record behind
 * `vigil plugins` and vigil_host_plugins() (identity, state, refusal
 * reason, namespaces, contributions), and the sentence that explains a
 * missing task type by naming the plugin that owns its namespace and what
 * to do about it. The host never guesses a provider from a plugin's name:
 * only a plugin's id and its declared namespaces say what it owns.
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
static const char *action_id (gconstpointer e) { return ((const VhAction *) e)->action.id; }

/* The id first, then the declared ones; empty when the file was never read. */
static JsonArray *
namespaces_of (VigilPlugin *plugin)
{
  JsonArray *out = json_array_new ();

  if (plugin->abi_major == 0 && !plugin->builtin)
    return out;
  json_array_add_string_element (out, plugin->id);
  for (char **n = plugin->namespaces; n != NULL && *n != NULL; n++)
    json_array_add_string_element (out, *n);
  return out;
}

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
  json_object_set_array_member (o, "namespaces", namespaces_of (plugin));
  json_object_set_array_member (o, "sections",
      contributions (vh_registry_sections (host), plugin, section_id));
  json_object_set_array_member (o, "task_types",
      contributions (vh_registry_task_types (host), plugin, task_type_id));
  json_object_set_array_member (o, "event_handlers", contributions (vh_registry_handlers (host), plugin, handler_type));
  json_object_set_array_member (o, "commands",
      contributions (vh_registry_commands (host), plugin, command_name));
  json_object_set_array_member (o, "protected_actions",
      contributions (vh_registry_actions (host), plugin, action_id));
  return o;
}

/* A plugin that is not loaded but claims @ns: refused after its descriptor
 * was read (its namespaces are known), or disabled or refused before that
 * with @ns as its id (a plugin always owns its id). */
static VigilPlugin *
unloaded_owner (VigilHost *host, const char *ns)
{
  GPtrArray *plugins = vh_registry_plugins (host);

  for (guint i = 0; i < plugins->len; i++)
    {
      VigilPlugin *p = g_ptr_array_index (plugins, i);
      if (p->state == VH_PLUGIN_LOADED)
        continue;
      if (vh_namespace_owned_by (p, ns))
        return p;
    }
  return NULL;
}

/* (transfer full) ": disabled plugins: a, b (...)", or "". */
static char *
disabled_hint (VigilHost *host)
{
  GPtrArray *plugins = vh_registry_plugins (host);
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < plugins->len; i++)
    {
      VigilPlugin *p = g_ptr_array_index (plugins, i);
      if (p->state == VH_PLUGIN_DISABLED)
        g_string_append_printf (ids, "%s%s", ids->len ? ", " : "", p->id);
    }
  if (ids->len == 0)
    return g_strdup ("");
  return g_strdup_printf ("; disabled plugins, which may provide it: %s "
                          "(vigil plugins enable ID)", ids->str);
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
  g_autofree char *ns = g_strndup (type_id, strcspn (type_id, "."));
  g_autofree char *hint = NULL;
  VigilPlugin *p;

  if (vh_registry_task_type (host, type_id) != NULL)
    return g_strdup_printf ("task type '%s' is available", type_id);
  p = vh_namespace_owner (host, ns);
  if (p == NULL)
    p = unloaded_owner (host, ns);
  if (p == NULL)
    {
      hint = disabled_hint (host);
      return g_strdup_printf ("task type '%s' is not available: no installed plugin "
                              "owns the namespace '%s'%s", type_id, ns, hint);
    }
  if (p->builtin)
    return g_strdup_printf ("task type '%s' is not available: the namespace '%s' "
                            "is the host's, and the host has no such task type",
                            type_id, ns);
  switch (p->state)
    {
    case VH_PLUGIN_DISABLED:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' is "
                              "disabled (vigil plugins enable %s)", type_id, p->id, p->id);
    case VH_PLUGIN_REFUSED:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' was "
                              "refused: %s", type_id, p->id, p->reason);
    case VH_PLUGIN_SKIPPED:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' was "
                              "not loaded (vigil --no-plugins)", type_id, p->id);
    case VH_PLUGIN_LOADED:
    default:
      return g_strdup_printf ("task type '%s' is not available: the plugin '%s' "
                              "(version %s) does not provide it", type_id, p->id,
                              p->version ? p->version : "unknown");
    }
}
