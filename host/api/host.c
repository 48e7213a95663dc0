/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host object: opening a state folder (created private, 0700), reading
 * the host config, putting together the list of plugin folders, opening the
 * store and starting each layer in layer order (filling in the context the
 * lower layers see), and tearing all of it down again in the reverse
 * order. Plugin loading itself lives in the registry layer's loader.c;
 * this file only decides where to look.
 */
#include "api-private.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

/* The lower layers reach the context through the VigilHost handle. */
G_STATIC_ASSERT (G_STRUCT_OFFSET (VigilHost, context) == 0);

static gint64
wall_clock (gpointer user_data)
{
  return g_get_real_time ();
}

/* Copies what the caller's VigilHostOptions knows; a caller built against
 * an older header passes a smaller struct_size. */
static VigilHostOptions
read_options (const VigilHostOptions *options)
{
  VigilHostOptions o = { sizeof o, NULL, NULL, NULL, FALSE };

  if (options != NULL && options->struct_size > 0)
    memcpy (&o, options, MIN (options->struct_size, sizeof o));
  o.struct_size = sizeof o;
  return o;
}

static void
add_dir (GPtrArray *dirs, const char *dir)
{
  g_autofree char *canonical = NULL;

  if (dir == NULL || *dir == '\0')
    return;
  canonical = g_canonicalize_filename (dir, NULL);
  for (guint i = 0; i < dirs->len; i++)
    if (g_str_equal (g_ptr_array_index (dirs, i), canonical))
      return; /* the same folder twice would refuse every plugin as a duplicate */
  g_ptr_array_add (dirs, g_steal_pointer (&canonical));
}

/* Folder order decides which copy of a plugin wins: --plugin-dir, then
 * VIGIL_PLUGIN_PATH, then the config, then the install folder. */
static GStrv
plugin_dirs (const VigilHostOptions *o, VhConfig *config)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("VIGIL_PLUGIN_PATH");

  for (const char *const *d = o->plugin_dirs; d != NULL && *d != NULL; d++)
    add_dir (dirs, *d);
  if (env != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (char **p = parts; *p != NULL; p++)
        add_dir (dirs, *p);
    }
  for (const char *const *d = vh_config_plugin_dirs (config); *d != NULL; d++)
    add_dir (dirs, *d);
  if (!o->skip_install_dir)
    add_dir (dirs, VIGIL_PLUGINDIR);
  g_ptr_array_add (dirs, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&dirs), FALSE);
}

static gboolean
make_state_dir (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create the state folder %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Starts the layers: the store first, the logger before anything that
 * logs, then settings (which registers the `general` section through the
 * API table, as a plugin would) out of layer order, before events and
 * tasks, so that the trace files the local machine's settings ask for are
 * open before they start. */
static gboolean
start_modules (VigilHost *host, GError **error)
{
  g_autofree char *db = g_build_filename (host->state_dir, "vigil.db", NULL);

  host->context.store = vh_store_open (db, error);
  if (host->context.store == NULL)
    return FALSE;
  return vh_data_init (host, error) && vh_logger_init (host, error) &&
         vh_general_init (host, vh_api (), error) &&
         vh_events_init (host, error) && vh_tasks_init (host, error);
}

/**
 * vigil_host_new:
 * @options: (nullable): where the state, config and plugins are
 * @error: set when the state folder, config or store cannot be opened
 *
 * Returns: (transfer full): a host with no plugins loaded yet; call
 *   vigil_host_load_plugins() next.
 */
VigilHost *
vigil_host_new (const VigilHostOptions *options, GError **error)
{
  VigilHostOptions o = read_options (options);
  g_autoptr(VigilHost) host = g_new0 (VigilHost, 1);

  host->context.clock = wall_clock;
  host->context.main_thread = g_thread_self ();
  host->skip_install_dir = o.skip_install_dir;
  host->state_dir = o.state_dir != NULL
    ? g_canonicalize_filename (o.state_dir, NULL)
    : g_build_filename (g_get_user_data_dir (), "vigil", NULL);
  host->config_file = o.config_file != NULL
    ? g_canonicalize_filename (o.config_file, NULL)
    : g_build_filename (host->state_dir, "vigil.conf", NULL);
  host->context.registry = vh_registry_new (host, vh_api ());

  if (!make_state_dir (host->state_dir, error))
    return NULL;
  host->context.config = vh_config_load (host->config_file, error);
  if (host->context.config == NULL)
    return NULL;
  host->plugin_dirs = plugin_dirs (&o, host->context.config);
  if (!start_modules (host, error))
    return NULL;
  return g_steal_pointer (&host);
}

/**
 * vigil_host_free:
 * Runs plugin shutdowns in reverse load order, then stops the modules in
 * the reverse of their start order. Plugins stay mapped (never unloaded).
 */
void
vigil_host_free (VigilHost *host)
{
  if (host == NULL)
    return;
  if (host->context.registry != NULL)
    vh_loader_shutdown_all (host);
  if (host->context.tasks != NULL)
    vh_tasks_free (host);
  if (host->context.events != NULL)
    vh_events_free (host);
  /* After the runs, which may still ask for a proxy. */
  vh_general_free (host);
  if (host->context.logger != NULL)
    vh_logger_free (host);
  g_clear_pointer (&host->context.store, vh_store_close);
  g_clear_pointer (&host->context.registry, vh_registry_free);
  g_clear_pointer (&host->context.config, vh_config_free);
  g_strfreev (host->plugin_dirs);
  g_free (host->state_dir);
  g_free (host->config_file);
  g_free (host);
}

void
vigil_host_set_clock (VigilHost *host, VigilClockFunc clock, gpointer user_data)
{
  g_return_if_fail (host != NULL);
  host->context.clock = clock != NULL ? clock : wall_clock;
  host->context.clock_data = clock != NULL ? user_data : NULL;
}

gint64
vigil_host_now (VigilHost *host)
{
  g_return_val_if_fail (host != NULL, 0);
  return vh_now (host);
}

const char *
vigil_host_state_dir (VigilHost *host)
{
  g_return_val_if_fail (host != NULL, NULL);
  return host->state_dir;
}

/**
 * vigil_host_load_plugins:
 * Loads every enabled plugin of the plugin folders, once; later calls do
 * nothing. Refusals are kept, see vigil_host_plugins().
 */
void
vigil_host_load_plugins (VigilHost *host)
{
  g_return_if_fail (host != NULL);
  if (vh_registry_is_loaded (host))
    return;
  vh_loader_load_all (host, (const char *const *) host->plugin_dirs);
  vh_registry_set_loaded (host);
}

/**
 * vigil_host_skip_plugins:
 * Records every plugin of the plugin folders without opening any, once,
 * instead of vigil_host_load_plugins(); later calls of either do nothing.
 */
void
vigil_host_skip_plugins (VigilHost *host)
{
  g_return_if_fail (host != NULL);
  if (vh_registry_is_loaded (host))
    return;
  vh_loader_skip_all (host, (const char *const *) host->plugin_dirs,
                      "the host was started without plugins (--no-plugins)");
  vh_registry_set_loaded (host);
}

/**
 * vigil_host_reload:
 * Re-reads what a long-running host keeps in memory: closes and reopens
 * the trace files as this machine's failure diagnosis settings now say.
 */
void
vigil_host_reload (VigilHost *host)
{
  g_return_if_fail (host != NULL);
  /* Closed first, so that a file logrotate moved away is let go even when
   * the settings did not change. */
  vh_logger_set_trace (host, NULL, 0, 0, NULL);
  vh_logger_reload (host);
  vh_log (host, "host", G_LOG_LEVEL_INFO, "reloaded: trace files reopened");
}

/**
 * vigil_host_plugins:
 * Returns: (transfer full): one object per plugin file seen (loaded,
 *   refused or disabled), in load order.
 */
JsonArray *
vigil_host_plugins (VigilHost *host)
{
  JsonArray *out;
  GPtrArray *plugins;

  g_return_val_if_fail (host != NULL, NULL);
  out = json_array_new ();
  plugins = vh_registry_plugins (host);
  for (guint i = 0; i < plugins->len; i++)
    json_array_add_object_element (
        out, vh_registry_plugin_to_json (host, g_ptr_array_index (plugins, i)));
  return out;
}
