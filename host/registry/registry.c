/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry: every plugin file the host has seen (loaded, refused or
 * disabled, in scan order) and everything the loaded ones registered:
 * sections, task types, event handlers, commands and protected actions,
 * each in registration order, and the password check a protected task type
 * asks before it is created or run. Ids are unique across plugins; a refused plugin's registrations
 * are rolled back so nothing of it stays reachable. The registry is written
 * only on the main thread while plugins load and is read-only afterwards,
 * which is what lets worker threads read it without a lock.
 */
#include "registry.h"

#include <string.h>

struct _VhRegistry {
  GPtrArray   *plugins;     /* VigilPlugin *, owned, scan order */
  VigilPlugin *host_plugin; /* the "host" pseudo-plugin */
  GPtrArray   *sections;    /* VhSection *, owned */
  GPtrArray   *task_types;  /* VhTaskType *, owned */
  GPtrArray   *handlers;    /* VhHandler *, owned */
  GPtrArray   *commands;    /* VhCommand *, owned */
  GPtrArray   *actions;     /* VhAction *, owned */
  VhProtectFunc protect;    /* installed by the settings layer */
  gpointer     hooks;       /* guard.c: the change guard and audit hooks */
  gboolean     loaded;
  const VigilHostApi *api; /* the table handed to plugin inits */
};

/* Names the CLI keeps for its own commands and options. */
static const char *const reserved_commands[] = {
  "help", "version", "plugins", "policy", "group", "device", "event",
  "events", "task", "serve", "fleet", "agent", NULL,
};

/* ---- plugin records ------------------------------------------------ */

VigilPlugin *
vh_plugin_new (VigilHost *host, const char *id, const char *file)
{
  VigilPlugin *plugin = g_new0 (VigilPlugin, 1);

  plugin->host = host;
  plugin->id = g_strdup (id);
  plugin->file = g_strdup (file);
  plugin->state = VH_PLUGIN_REFUSED;
  g_mutex_init (&plugin->lock);
  return plugin;
}

void
vh_plugin_free (VigilPlugin *plugin)
{
  if (plugin == NULL)
    return;
  g_free (plugin->id);
  g_free (plugin->file);
  g_free (plugin->name);
  g_free (plugin->version);
  g_free (plugin->license);
  g_free (plugin->description);
  g_free (plugin->reason);
  g_clear_error (&plugin->registration_error);
  g_free (plugin->data_dir);
  g_strfreev (plugin->namespaces);
  g_mutex_clear (&plugin->lock);
  /* plugin->module stays open on purpose: plugins are never unloaded */
  g_free (plugin);
}

void
vh_plugin_refuse (VigilPlugin *plugin, int code, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  plugin->state = VH_PLUGIN_REFUSED;
  plugin->refusal_code = code;
  g_free (plugin->reason);
  plugin->reason = g_strdup_printf ("%s: %s", plugin->file ? plugin->file : plugin->id,
                                    what);
}

const char *
vh_plugin_state_name (VhPluginState state)
{
  switch (state)
    {
    case VH_PLUGIN_LOADED:   return "loaded";
    case VH_PLUGIN_DISABLED: return "disabled";
    case VH_PLUGIN_SKIPPED:  return "skipped";
    case VH_PLUGIN_REFUSED:
    default:                 return "refused";
    }
}

const char *
vh_plugin_id (VigilPlugin *plugin)
{
  return plugin->id;
}

VigilHost *
vh_plugin_host (VigilPlugin *plugin)
{
  return plugin->host;
}

/* ---- the registry itself ------------------------------------------- */

VhRegistry *
vh_registry_new (VigilHost *host, const VigilHostApi *api)
{
  VhRegistry *registry = g_new0 (VhRegistry, 1);

  registry->api = api;

  registry->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) vh_plugin_free);
  registry->sections = g_ptr_array_new_with_free_func ((GDestroyNotify) vh_section_entry_free);
  registry->task_types = g_ptr_array_new_with_free_func ((GDestroyNotify) vh_task_type_entry_free);
  registry->handlers = g_ptr_array_new_with_free_func (g_free);
  registry->commands = g_ptr_array_new_with_free_func (g_free);
  registry->actions = g_ptr_array_new_with_free_func (g_free);
  registry->host_plugin = vh_plugin_new (host, "host", NULL);
  registry->host_plugin->builtin = TRUE;
  registry->host_plugin->state = VH_PLUGIN_LOADED;
  registry->host_plugin->name = g_strdup ("Vigil host");
  return registry;
}

void
vh_registry_free (VhRegistry *registry)
{
  if (registry == NULL)
    return;
  g_ptr_array_unref (registry->actions);
  g_ptr_array_unref (registry->commands);
  g_ptr_array_unref (registry->handlers);
  g_ptr_array_unref (registry->task_types);
  g_ptr_array_unref (registry->sections);
  g_ptr_array_unref (registry->plugins);
  vh_plugin_free (registry->host_plugin);
  g_free (registry->hooks);
  g_free (registry);
}

const VigilHostApi *
vh_registry_api (VigilHost *host)
{
  return vh_context (host)->registry->api;
}

VhConfig *
vh_registry_config (VigilHost *host)
{
  return vh_context (host)->config;
}

VigilPlugin *
vh_registry_host_plugin (VigilHost *host)
{
  return vh_context (host)->registry->host_plugin;
}

void
vh_registry_add_plugin (VigilHost *host, VigilPlugin *plugin)
{
  g_ptr_array_add (vh_context (host)->registry->plugins, plugin);
}

GPtrArray *
vh_registry_plugins (VigilHost *host)
{
  return vh_context (host)->registry->plugins;
}

VigilPlugin *
vh_registry_find_plugin (VigilHost *host, const char *id)
{
  GPtrArray *plugins = vh_context (host)->registry->plugins;
  VigilPlugin *found = NULL;

  for (guint i = 0; i < plugins->len; i++)
    {
      VigilPlugin *p = g_ptr_array_index (plugins, i);
      if (!g_str_equal (p->id, id))
        continue;
      if (p->state == VH_PLUGIN_LOADED)
        return p;
      if (found == NULL)
        found = p;
    }
  return found;
}

gboolean
vh_registry_is_loaded (VigilHost *host)
{
  return vh_context (host)->registry->loaded;
}

void
vh_registry_set_loaded (VigilHost *host)
{
  vh_context (host)->registry->loaded = TRUE;
}

gboolean
vh_registry_is_reserved_command (const char *name)
{
  return g_strv_contains (reserved_commands, name);
}

/* ---- registrations ------------------------------------------------- */

/* Each entry type starts with its VigilPlugin pointer. */
static void
remove_by_plugin (GPtrArray *entries, VigilPlugin *plugin)
{
  for (guint i = entries->len; i > 0; i--)
    if (*(VigilPlugin **) g_ptr_array_index (entries, i - 1) == plugin)
      g_ptr_array_remove_index (entries, i - 1);
}

void
vh_registry_rollback (VigilHost *host, VigilPlugin *plugin)
{
  VhRegistry *r = vh_context (host)->registry;

  remove_by_plugin (r->sections, plugin);
  remove_by_plugin (r->task_types, plugin);
  remove_by_plugin (r->handlers, plugin);
  remove_by_plugin (r->commands, plugin);
  remove_by_plugin (r->actions, plugin);
}

static gboolean
duplicate (GError **error, const char *kind, const char *id, VigilPlugin *owner)
{
  if (owner->file != NULL)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE,
                 "%s '%s' is already registered by the plugin '%s' (%s)",
                 kind, id, owner->id, owner->file);
  else
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE,
                 "%s '%s' is already registered by the host", kind, id);
  return FALSE;
}

gboolean
vh_registry_add_section (VigilHost *host, VhSection *entry, GError **error)
{
  const VhSection *other = vh_registry_section (host, entry->section.id);

  if (other != NULL)
    return duplicate (error, "section", entry->section.id, other->plugin);
  g_ptr_array_add (vh_context (host)->registry->sections, entry);
  return TRUE;
}

gboolean
vh_registry_add_task_type (VigilHost *host, VhTaskType *entry, GError **error)
{
  const VhTaskType *other = vh_registry_task_type (host, entry->type.id);

  if (other != NULL)
    return duplicate (error, "task type", entry->type.id, other->plugin);
  g_ptr_array_add (vh_context (host)->registry->task_types, entry);
  return TRUE;
}

/* A plugin handles each event type (or prefix) once: a second handler for
 * the same type from the same plugin is almost certainly a copy-paste bug.
 * Different plugins handling the same type is what the bus is for. */
gboolean
vh_registry_add_handler (VigilHost *host, VhHandler *entry, GError **error)
{
  GPtrArray *handlers = vh_context (host)->registry->handlers;

  for (guint i = 0; i < handlers->len; i++)
    {
      VhHandler *h = g_ptr_array_index (handlers, i);
      if (h->plugin == entry->plugin &&
          g_str_equal (h->handler.event_type, entry->handler.event_type))
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE,
                       "event handler for '%s' is already registered by this plugin",
                       entry->handler.event_type);
          return FALSE;
        }
    }
  g_ptr_array_add (handlers, entry);
  return TRUE;
}

gboolean
vh_registry_add_command (VigilHost *host, VhCommand *entry, GError **error)
{
  const VhCommand *other = vh_registry_command (host, entry->command.name);

  if (other != NULL)
    return duplicate (error, "command", entry->command.name, other->plugin);
  g_ptr_array_add (vh_context (host)->registry->commands, entry);
  return TRUE;
}

gboolean
vh_registry_add_action (VigilHost *host, VhAction *entry, GError **error)
{
  const VhAction *other = vh_registry_action (host, entry->action.id);

  if (other != NULL)
    return duplicate (error, "protected action", entry->action.id, other->plugin);
  g_ptr_array_add (vh_context (host)->registry->actions, entry);
  return TRUE;
}

/* ---- protected actions --------------------------------------------- */

void
vh_registry_set_protect_func (VigilHost *host, VhProtectFunc func)
{
  vh_context (host)->registry->protect = func;
}

gboolean
vh_registry_protect_task_type (VigilHost *host, const char *type_id, GError **error)
{
  if (type_id == NULL || vh_registry_action (host, type_id) == NULL)
    return TRUE;
  if (vh_context (host)->registry->protect == NULL)
    {
      /* Fail closed: a host without its settings layer cannot tell. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "task type '%s' is a protected action and this host has no "
                   "password check", type_id);
      return FALSE;
    }
  return vh_context (host)->registry->protect (host, type_id, error);
}

gpointer *
vh_registry_hook_slot (VigilHost *host)
{
  return &vh_context (host)->registry->hooks;
}

/* ---- look-ups ------------------------------------------------------ */

GPtrArray *
vh_registry_actions (VigilHost *host)
{
  return vh_context (host)->registry->actions;
}

const VhAction *
vh_registry_action (VigilHost *host, const char *id)
{
  GPtrArray *a = vh_context (host)->registry->actions;

  for (guint i = 0; id != NULL && i < a->len; i++)
    {
      const VhAction *entry = g_ptr_array_index (a, i);
      if (g_str_equal (entry->action.id, id))
        return entry;
    }
  return NULL;
}

GPtrArray *
vh_registry_sections (VigilHost *host)
{
  return vh_context (host)->registry->sections;
}

GPtrArray *
vh_registry_task_types (VigilHost *host)
{
  return vh_context (host)->registry->task_types;
}

GPtrArray *
vh_registry_handlers (VigilHost *host)
{
  return vh_context (host)->registry->handlers;
}

GPtrArray *
vh_registry_commands (VigilHost *host)
{
  return vh_context (host)->registry->commands;
}

const VhSection *
vh_registry_section (VigilHost *host, const char *id)
{
  GPtrArray *a = vh_context (host)->registry->sections;

  for (guint i = 0; id != NULL && i < a->len; i++)
    {
      const VhSection *s = g_ptr_array_index (a, i);
      if (g_str_equal (s->section.id, id))
        return s;
    }
  return NULL;
}

const VhTaskType *
vh_registry_task_type (VigilHost *host, const char *id)
{
  GPtrArray *a = vh_context (host)->registry->task_types;

  for (guint i = 0; id != NULL && i < a->len; i++)
    {
      const VhTaskType *t = g_ptr_array_index (a, i);
      if (g_str_equal (t->type.id, id))
        return t;
    }
  return NULL;
}

const VhCommand *
vh_registry_command (VigilHost *host, const char *name)
{
  GPtrArray *a = vh_context (host)->registry->commands;

  for (guint i = 0; name != NULL && i < a->len; i++)
    {
      const VhCommand *c = g_ptr_array_index (a, i);
      if (g_str_equal (c->command.name, name))
        return c;
    }
  return NULL;
}

static gboolean
handler_matches (const char *pattern, const char *event_type)
{
  gsize n;

  if (g_str_equal (pattern, "*") || g_str_equal (pattern, event_type))
    return TRUE;
  if (!g_str_has_suffix (pattern, ".*"))
    return FALSE;
  n = strlen (pattern) - 1; /* keep the dot: "quarantine." */
  return strncmp (pattern, event_type, n) == 0 && event_type[n] != '\0';
}

GPtrArray *
vh_registry_handlers_for (VigilHost *host, const char *event_type)
{
  GPtrArray *all = vh_context (host)->registry->handlers;
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    {
      VhHandler *h = g_ptr_array_index (all, i);
      if (handler_matches (h->handler.event_type, event_type))
        g_ptr_array_add (out, h);
    }
  return out;
}
