/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's plugin side: one plugin's record, enabling and
 * disabling plugins in the host config, what the loaded plugins registered
 * (sections, task types, handlers, commands) as JSON, and running a
 * registered command. Thin wrappers over the registry and the config.
 */
#include "api-private.h"
#include "host-private.h"

static void
set_plugin (JsonObject *o, VigilPlugin *plugin)
{
  json_object_set_string_member (o, "plugin", vh_plugin_id (plugin));
}

static void
set_string_or_null (JsonObject *o, const char *member, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, member, value);
  else
    json_object_set_null_member (o, member);
}

JsonObject *
vigil_host_plugin (VigilHost *host, const char *id, GError **error)
{
  VigilPlugin *plugin;

  g_return_val_if_fail (host != NULL, NULL);
  plugin = id != NULL ? vh_registry_find_plugin (host, id) : NULL;
  if (plugin == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "no plugin '%s' in the plugin folders (vigil plugins --all lists them)",
                   id ? id : "");
      return NULL;
    }
  return vh_registry_plugin_to_json (host, plugin);
}

gboolean
vigil_host_set_plugin_enabled (VigilHost *host, const char *id, gboolean enabled,
                               GError **error)
{
  g_return_val_if_fail (host != NULL, FALSE);
  /* A typo must not silently land in the config; but a plugin the config
   * disables may be enabled again even when its file is gone for now. */
  if (id == NULL || (vh_registry_find_plugin (host, id) == NULL &&
                     !(enabled && vh_valid_id (id, "_-") &&
                       vh_config_is_disabled (vh_registry_config (host), id))))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "no plugin '%s' in the plugin folders (vigil plugins --all lists them)",
                   id ? id : "");
      return FALSE;
    }
  if (!enabled && !vigil_host_check_protected (host, "plugins.disable", error))
    return FALSE;
  return vh_config_set_enabled (vh_registry_config (host), id, enabled, error);
}

JsonArray *
vigil_host_sections (VigilHost *host)
{
  GPtrArray *sections;
  JsonArray *out = json_array_new ();

  g_return_val_if_fail (host != NULL, out);
  sections = vh_registry_sections (host);
  for (guint i = 0; sections != NULL && i < sections->len; i++)
    {
      const VhSection *vs = g_ptr_array_index (sections, i);
      JsonObject *o = json_object_new ();
      JsonArray *groups = json_array_new ();

      json_object_set_string_member (o, "id", vs->section.id);
      set_plugin (o, vs->plugin);
      set_string_or_null (o, "title", vs->section.title);
      json_object_set_int_member (o, "schema_version", vs->section.schema_version);
      for (gsize g = 0; g < vs->section.n_groups; g++)
        {
          const VigilSettingsGroup *group = vh_section_group (&vs->section, g);
          JsonObject *go = json_object_new ();

          json_object_set_string_member (go, "id", group->id);
          set_string_or_null (go, "title", group->title);
          json_object_set_int_member (go, "n_fields", (gint64) group->n_fields);
          json_array_add_object_element (groups, go);
        }
      json_object_set_array_member (o, "groups", groups);
      json_array_add_object_element (out, o);
    }
  return out;
}

JsonArray *
vigil_host_task_types (VigilHost *host)
{
  GPtrArray *types;
  JsonArray *out = json_array_new ();

  g_return_val_if_fail (host != NULL, out);
  types = vh_registry_task_types (host);
  for (guint i = 0; types != NULL && i < types->len; i++)
    {
      const VhTaskType *t = g_ptr_array_index (types, i);
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "id", t->type.id);
      set_plugin (o, t->plugin);
      set_string_or_null (o, "title", t->type.title);
      set_string_or_null (o, "description", t->type.description);
      json_array_add_object_element (out, o);
    }
  return out;
}

JsonArray *
vigil_host_event_handlers (VigilHost *host)
{
  GPtrArray *handlers;
  JsonArray *out = json_array_new ();

  g_return_val_if_fail (host != NULL, out);
  handlers = vh_registry_handlers (host);
  for (guint i = 0; handlers != NULL && i < handlers->len; i++)
    {
      const VhHandler *h = g_ptr_array_index (handlers, i);
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "event_type", h->handler.event_type);
      set_plugin (o, h->plugin);
      json_array_add_object_element (out, o);
    }
  return out;
}

JsonArray *
vigil_host_commands (VigilHost *host)
{
  GPtrArray *commands;
  JsonArray *out = json_array_new ();

  g_return_val_if_fail (host != NULL, out);
  commands = vh_registry_commands (host);
  for (guint i = 0; commands != NULL && i < commands->len; i++)
    {
      const VhCommand *c = g_ptr_array_index (commands, i);
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "name", c->command.name);
      set_string_or_null (o, "summary", c->command.summary);
      set_plugin (o, c->plugin);
      json_object_set_boolean_member (o, "json", (c->command.flags & VIGIL_COMMAND_JSON) != 0);
      json_array_add_object_element (out, o);
    }
  return out;
}

gboolean
vigil_host_run_command (VigilHost *host, const char *name, int argc, char **argv,
                        int *exit_status, GError **error)
{
  const VhCommand *c;

  g_return_val_if_fail (host != NULL, FALSE);
  c = name != NULL ? vh_registry_command (host, name) : NULL;
  if (c == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "unknown command '%s'", name ? name : "");
      return FALSE;
    }
  *exit_status = c->command.run (c->plugin, argc, argv, c->command.user_data);
  return TRUE;
}
