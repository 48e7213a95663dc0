/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin loader. For each `<id>.so` in the plugin folders, in folder
 * order and then by file name, it decides whether the file may run at all
 * (not disabled, not a second copy of an id, not writable by others than
 * its owner), opens it with G_MODULE_BIND_LOCAL and immediate binding,
 * reads and checks the descriptor before any plugin init runs (with the
 * namespaces it claims: a namespace another plugin loaded before it owns,
 * or the host reserves, refuses it), makes the module resident and calls
 * init. Every refusal is kept on the plugin's
 * record with a message that names the file; a refused plugin never stops
 * the host. The host can also list the plugins without opening any
 * (skipped), so that an admin can recover from a plugin whose init
 * crashes the process (init-crash.c names it). At exit, shutdowns run in
 * reverse load order.
 */
#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* The 1.0 descriptor ends with shutdown; later minors only append. */
#define DESC_SIZE_1_0 (G_STRUCT_OFFSET (VigilPluginDesc, shutdown) + \
                       sizeof (VigilPluginShutdownFunc))
#define DESC_HEADER_SIZE (G_STRUCT_OFFSET (VigilPluginDesc, abi_minor) + sizeof (guint16))

/* ---- may this file run? -------------------------------------------- */

/* Returns: (transfer full) why @path must not be loaded, or NULL. A file
 * or folder others can write to lets them run code as whoever runs vigil. */
static char *
unsafe_reason (const char *path, const char *what)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return g_strdup_printf ("cannot check the %s %s: %s", what, path, g_strerror (errno));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return g_strdup_printf ("the %s %s is writable by group or others (mode %04o): "
                            "refused; fix with chmod go-w", what, path,
                            (unsigned) (st.st_mode & 07777));
  if (st.st_uid != 0 && st.st_uid != getuid ())
    return g_strdup_printf ("the %s %s is owned by uid %u, neither root nor the user "
                            "running vigil (uid %u): refused", what, path,
                            (unsigned) st.st_uid, (unsigned) getuid ());
  return NULL;
}

/* The file itself, and, when it is a symlink, the folder it really lives
 * in: a link from a safe folder into a world-writable one is no safer. */
static char *
file_problem (const char *path)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *listed_dir = g_path_get_dirname (path);
  g_autofree char *real_dir = NULL;
  g_autofree char *listed_real_dir = NULL;
  char *problem = unsafe_reason (path, "file");

  if (problem != NULL || real == NULL)
    return problem;
  real_dir = g_path_get_dirname (real);
  listed_real_dir = realpath (listed_dir, NULL);
  if (listed_real_dir == NULL || !g_str_equal (real_dir, listed_real_dir))
    return unsafe_reason (real_dir, "folder");
  return NULL;
}

static char *
file_stem (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);

  return g_strndup (base, strlen (base) - strlen (".so"));
}

/* Checks that come before opening the file. Returns FALSE when @plugin
 * got a final state (disabled or refused). */
static gboolean
may_open (VigilHost *host, VigilPlugin *plugin, const char *folder_problem)
{
  VigilPlugin *earlier = vh_registry_find_plugin (host, plugin->id);
  g_autofree char *unsafe = NULL;

  if (!vh_valid_id (plugin->id, "_-") || g_str_equal (plugin->id, "host"))
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_NOT_A_PLUGIN,
                        "'%s' is not a usable plugin id: name the file <id>.so with "
                        "letters a-z, digits, '_' and '-' (and not 'host')", plugin->id);
      return FALSE;
    }
  if (vh_config_is_disabled (vh_context (host)->config, plugin->id))
    {
      plugin->state = VH_PLUGIN_DISABLED;
      plugin->refusal_code = VIGIL_PLUGIN_ERROR_DISABLED;
      plugin->reason = g_strdup_printf ("%s: disabled in %s (vigil plugins enable %s)",
                                        plugin->file, vh_config_path (vh_context (host)->config),
                                        plugin->id);
      return FALSE;
    }
  if (earlier != NULL)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_DUPLICATE,
                        "a plugin with the id '%s' was already %s from %s", plugin->id,
                        earlier->state == VH_PLUGIN_LOADED ? "loaded" : "found",
                        earlier->file);
      return FALSE;
    }
  unsafe = folder_problem ? g_strdup (folder_problem) : file_problem (plugin->file);
  if (unsafe != NULL)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_UNSAFE_FILE, "%s", unsafe);
      return FALSE;
    }
  return TRUE;
}

/* ---- the descriptor ------------------------------------------------ */

static void
copy_identity (VigilPlugin *plugin, const VigilPluginDesc *desc)
{
  plugin->name = g_strdup (desc->name);
  plugin->version = g_strdup (desc->version);
  plugin->license = g_strdup (desc->license);
  plugin->description = g_strdup (desc->description);
}

/* The namespaces of a 1.1 descriptor; a 1.0 one ends before the field. */
static const char *const *
declared_namespaces (const VigilPluginDesc *desc)
{
  if (desc->struct_size < G_STRUCT_OFFSET (VigilPluginDesc, namespaces) +
                          sizeof desc->namespaces)
    return NULL;
  return desc->namespaces;
}

/* Everything here reads only static data of the plugin: no plugin function
 * but the query has run when this says no. */
static gboolean
check_descriptor (VigilHost *host, VigilPlugin *plugin, const VigilPluginDesc *desc)
{
  g_autoptr(GError) error = NULL;

  if (desc == NULL || desc->struct_size < DESC_HEADER_SIZE)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                        "vigil_plugin_query_v1() returned %s", desc == NULL
                        ? "NULL" : "a descriptor too small to hold an ABI version");
      return FALSE;
    }
  plugin->abi_major = desc->abi_major;
  plugin->abi_minor = desc->abi_minor;
  if (desc->abi_major != VIGIL_ABI_MAJOR || desc->abi_minor > VIGIL_ABI_MINOR)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_ABI_MISMATCH,
                        "built for plugin ABI %u.%u, this host supports %u.0–%u.%u",
                        desc->abi_major, desc->abi_minor, VIGIL_ABI_MAJOR,
                        VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
      return FALSE;
    }
  if (desc->struct_size < DESC_SIZE_1_0)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                        "its descriptor is %u bytes, ABI %u.0 needs at least %u: "
                        "write it with VIGIL_PLUGIN_DEFINE()", desc->struct_size,
                        VIGIL_ABI_MAJOR, (unsigned) DESC_SIZE_1_0);
      return FALSE;
    }
  copy_identity (plugin, desc);
  if (desc->id == NULL || !g_str_equal (desc->id, plugin->id))
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_ID_MISMATCH,
                        "its descriptor says id '%s' but the file is named %s.so: "
                        "the file name must be <id>.so", desc->id ? desc->id : "(null)",
                        plugin->id);
      return FALSE;
    }
  if (desc->init == NULL)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                        "its descriptor has no init function");
      return FALSE;
    }
  if (!vh_namespaces_claim (host, plugin, declared_namespaces (desc), &error))
    {
      vh_plugin_refuse (plugin, error->code, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* Opens the file and reads the descriptor. On refusal the module is
 * closed again: none of its functions but the query has run. */
static gboolean
open_and_query (VigilHost *host, VigilPlugin *plugin)
{
  g_autoptr(GError) error = NULL;
  const VigilPluginDesc *(*query) (void) = NULL;

  /* Immediate binding: a missing symbol fails here, not at first call. */
  plugin->module = g_module_open_full (plugin->file, G_MODULE_BIND_LOCAL, &error);
  if (plugin->module == NULL)
    {
      vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_OPEN, "cannot open: %s", error->message);
      return FALSE;
    }
  if (!g_module_symbol (plugin->module, VIGIL_PLUGIN_QUERY_SYMBOL, (gpointer *) &query) ||
      query == NULL)
    vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_NOT_A_PLUGIN,
                      "not a Vigil plugin: it has no %s symbol (write it with "
                      "VIGIL_PLUGIN_DEFINE())", VIGIL_PLUGIN_QUERY_SYMBOL);
  else if (check_descriptor (host, plugin, (plugin->desc = query ())))
    return TRUE;
  plugin->desc = NULL;
  g_module_close (plugin->module);
  plugin->module = NULL;
  return FALSE;
}

/* ---- init ---------------------------------------------------------- */

static void
run_init (VigilHost *host, VigilPlugin *plugin)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_autofree char *starting = g_strdup_printf ("running the init of plugin %s from %s",
                                               plugin->id, plugin->file);

  g_module_make_resident (plugin->module);
  /* Said before the init runs: if it never returns, the last line of the
   * trace (and of -v) names the plugin. */
  vh_log (host, "host", G_LOG_LEVEL_DEBUG, starting);
  plugin->in_init = TRUE;
  vh_init_crash_guard_begin (plugin);
  ok = plugin->desc->init (vh_registry_api (host), plugin, &error);
  vh_init_crash_guard_end ();
  plugin->in_init = FALSE;
  if (ok && plugin->registration_error == NULL)
    {
      plugin->state = VH_PLUGIN_LOADED;
      return;
    }
  /* A failed registration refuses the plugin even when its init ignored
   * the error: it would otherwise run with part of its contract missing. */
  vh_registry_rollback (host, plugin);
  if (plugin->registration_error != NULL)
    vh_plugin_refuse (plugin, plugin->registration_error->code, "%s",
                      plugin->registration_error->message);
  else
    vh_plugin_refuse (plugin, VIGIL_PLUGIN_ERROR_INIT_FAILED, "init failed: %s",
                      error ? error->message : "it returned FALSE without an error");
}

static void
log_outcome (VigilHost *host, VigilPlugin *plugin)
{
  g_autofree char *message = NULL;

  if (plugin->state == VH_PLUGIN_LOADED)
    message = g_strdup_printf ("loaded plugin %s %s from %s", plugin->id,
                               plugin->version ? plugin->version : "", plugin->file);
  else if (plugin->state == VH_PLUGIN_REFUSED)
    message = g_strdup_printf ("refused plugin %s", plugin->reason);
  if (message != NULL)
    vh_log (host, "host", plugin->state == VH_PLUGIN_LOADED ? G_LOG_LEVEL_DEBUG
                                                            : G_LOG_LEVEL_MESSAGE, message);
}

/* Records the plugin of @path; opens it and runs its init unless
 * @skip_why says why not. */
static void
take_file (VigilHost *host, const char *path, const char *folder_problem,
           const char *skip_why)
{
  g_autofree char *stem = file_stem (path);
  VigilPlugin *plugin = vh_plugin_new (host, stem, path);
  gboolean go = may_open (host, plugin, folder_problem);

  vh_registry_add_plugin (host, plugin);
  if (go && skip_why != NULL)
    {
      plugin->state = VH_PLUGIN_SKIPPED;
      plugin->reason = g_strdup_printf ("%s: not opened: %s", plugin->file, skip_why);
    }
  else if (go && open_and_query (host, plugin))
    run_init (host, plugin);
  log_outcome (host, plugin);
}

/**
 * vh_loader_load_file:
 * @folder_problem: (nullable): why the file's folder is unsafe, if it is
 */
void
vh_loader_load_file (VigilHost *host, const char *path, const char *folder_problem)
{
  take_file (host, path, folder_problem, NULL);
}

/* ---- folders ------------------------------------------------------- */

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
list_plugin_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_str_has_suffix (name, ".so") && strlen (name) > 3 &&
          !g_file_test (path, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (files, g_steal_pointer (&path));
    }
  g_ptr_array_sort (files, compare_paths);
  return files;
}

static void
take_all (VigilHost *host, const char *const *plugin_dirs, const char *skip_why)
{
  for (const char *const *dir = plugin_dirs; dir != NULL && *dir != NULL; dir++)
    {
      g_autoptr(GPtrArray) files = NULL;
      g_autofree char *problem = NULL;

      if (!g_file_test (*dir, G_FILE_TEST_IS_DIR))
        continue; /* the install folder may not exist; neither may a configured one */
      files = list_plugin_files (*dir);
      if (files->len > 0)
        problem = unsafe_reason (*dir, "folder");
      for (guint i = 0; i < files->len; i++)
        take_file (host, g_ptr_array_index (files, i), problem, skip_why);
    }
}

void
vh_loader_load_all (VigilHost *host, const char *const *plugin_dirs)
{
  take_all (host, plugin_dirs, NULL);
}

void
vh_loader_skip_all (VigilHost *host, const char *const *plugin_dirs, const char *why)
{
  take_all (host, plugin_dirs, why);
}

void
vh_loader_shutdown_all (VigilHost *host)
{
  GPtrArray *plugins = vh_registry_plugins (host);

  for (guint i = plugins->len; i > 0; i--)
    {
      VigilPlugin *plugin = g_ptr_array_index (plugins, i - 1);
      if (plugin->state != VH_PLUGIN_LOADED || plugin->desc->shutdown == NULL)
        continue;
      plugin->desc->shutdown (plugin);
    }
}
