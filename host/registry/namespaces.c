/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who owns a name. A plugin owns its id and the namespaces its descriptor
 * declares (VigilPluginDesc.namespaces, ABI 1.1); the host owns "host" and
 * the names of its own sections, task events, protected actions and
 * commands. Task types, protected actions and the events a plugin emits are
 * "<namespace>.<name>"; a section id or a command name is a namespace
 * itself. Everything a plugin registers or emits must be in one of its own
 * namespaces, so that no plugin can take `quarantine.put` or the section
 * `kata` before the plugin that owns it loads. Names compare with '-' and
 * '_' as one character: ids allow '-', section ids only '_', command names
 * only '-', and look-alikes must not belong to two plugins. Ownership is
 * decided while plugins load, on the main thread; afterwards it is only
 * read, which is what lets worker threads check an emission without a lock.
 */
#include "registry.h"

#include <string.h>

/* A guard against an array that is not NULL-terminated. */
#define MAX_NAMESPACES 64

/* The host's own namespaces: its pseudo-plugin, its section, the events it
 * emits (task.*), its protected actions (plugins.*, task.*), the commands
 * it registers, and the CLI's built-in command names. */
static const char *const host_namespaces[] = {
  "host", "vigil", "cli", "general", "task", "tasks", "plugins", "password",
  "exclusions", "help", "version", "policy", "group", "device", "event",
  "events", "serve", "fleet", "agent", NULL,
};

static gboolean
same_name (const char *a, gsize a_len, const char *b)
{
  gsize i;

  for (i = 0; i < a_len && b[i] != '\0'; i++)
    {
      char x = a[i] == '-' ? '_' : a[i];
      char y = b[i] == '-' ? '_' : b[i];
      if (x != y)
        return FALSE;
    }
  return i == a_len && b[i] == '\0';
}

static gboolean
plugin_has (VigilPlugin *plugin, const char *ns, gsize len)
{
  if (same_name (ns, len, plugin->id))
    return TRUE;
  for (char **n = plugin->namespaces; n != NULL && *n != NULL; n++)
    if (same_name (ns, len, *n))
      return TRUE;
  return FALSE;
}

static gboolean
reserved (const char *ns, gsize len)
{
  for (const char *const *n = host_namespaces; *n != NULL; n++)
    if (same_name (ns, len, *n))
      return TRUE;
  return FALSE;
}

/* The first @len bytes of @ns: the host's pseudo-plugin for a reserved
 * name, a loaded plugin (or the one in init) that owns it, or NULL. */
static VigilPlugin *
owner_of (VigilHost *host, const char *ns, gsize len)
{
  GPtrArray *plugins = vh_registry_plugins (host);

  if (reserved (ns, len))
    return vh_registry_host_plugin (host);
  for (guint i = 0; i < plugins->len; i++)
    {
      VigilPlugin *p = g_ptr_array_index (plugins, i);
      if ((p->state == VH_PLUGIN_LOADED || p->in_init) && plugin_has (p, ns, len))
        return p;
    }
  return NULL;
}

gboolean
vh_namespace_owned_by (VigilPlugin *plugin, const char *ns)
{
  g_return_val_if_fail (ns != NULL, FALSE);
  return plugin_has (plugin, ns, strlen (ns));
}

VigilPlugin *
vh_namespace_owner (VigilHost *host, const char *ns)
{
  g_return_val_if_fail (ns != NULL, NULL);
  return owner_of (host, ns, strlen (ns));
}

/* "the plugin 'x' (/path/x.so)" or "the host". (transfer full) */
static char *
describe (VigilPlugin *plugin)
{
  if (plugin->builtin)
    return g_strdup ("the host");
  return g_strdup_printf ("the plugin '%s' (%s)", plugin->id,
                          plugin->file ? plugin->file : "built in");
}

/* (transfer full) "'a', 'b'": the id first, then the declared ones. */
static char *
list_namespaces (VigilPlugin *plugin)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "'%s'", plugin->id);
  for (char **n = plugin->namespaces; n != NULL && *n != NULL; n++)
    g_string_append_printf (out, ", '%s'", *n);
  return g_string_free (out, FALSE);
}

gboolean
vh_namespaces_claim (VigilHost *host, VigilPlugin *plugin,
                     const char *const *declared, GError **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  g_ptr_array_add (names, plugin->id);
  for (const char *const *n = declared; n != NULL && *n != NULL; n++)
    {
      if (names->len > MAX_NAMESPACES)
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                       "its descriptor declares more than %d namespaces (is the "
                       "array NULL-terminated?)", MAX_NAMESPACES);
          return FALSE;
        }
      if (!vh_valid_id (*n, "_-"))
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                       "its descriptor declares the namespace '%s': use letters a-z, "
                       "digits, '_' and '-'", *n);
          return FALSE;
        }
      g_ptr_array_add (names, (gpointer) *n);
    }
  for (guint i = 0; i < names->len; i++)
    {
      const char *ns = g_ptr_array_index (names, i);
      VigilPlugin *owner = owner_of (host, ns, strlen (ns));
      g_autofree char *who = owner ? describe (owner) : NULL;

      if (owner == NULL || owner == plugin)
        continue;
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NAMESPACE,
                   owner->builtin ? "the namespace '%s' is reserved by %s"
                                  : "the namespace '%s' already belongs to %s, "
                                    "loaded before it", ns, who);
      return FALSE;
    }
  plugin->namespaces = g_strdupv ((char **) declared);
  return TRUE;
}

/**
 * vh_namespace_check:
 * @kind: what @name is, for the message ("task type", "section")
 * @dotted: %TRUE when @name is "<namespace>.<rest>", %FALSE when it is a
 *   namespace itself
 *
 * Whether @plugin may register or emit @name. The host itself is not held
 * to namespaces: it owns the reserved ones and registers on behalf of
 * embedding applications and tests. Errors: NAMESPACE, naming the plugin
 * and, when another one owns @name, that one too.
 */
gboolean
vh_namespace_check (VigilPlugin *plugin, const char *kind, const char *name,
                    gboolean dotted, GError **error)
{
  gsize len = dotted ? strcspn (name, ".") : strlen (name);
  g_autofree char *ns = g_strndup (name, len);
  g_autofree char *mine = NULL;
  g_autofree char *who = NULL;
  VigilPlugin *owner;

  if (plugin->builtin || plugin_has (plugin, name, len))
    return TRUE;
  owner = owner_of (plugin->host, name, len);
  mine = list_namespaces (plugin);
  if (owner == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NAMESPACE,
                   "%s '%s' is outside the namespaces of the plugin '%s' (%s): "
                   "declare '%s' in its descriptor (VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES)",
                   kind, name, plugin->id, mine, ns);
      return FALSE;
    }
  who = describe (owner);
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NAMESPACE,
               "%s '%s' is in the namespace '%s' of %s, not of the plugin '%s' "
               "(its namespaces: %s)", kind, name, ns, who, plugin->id, mine);
  return FALSE;
}
