/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by the files of host/core/ only: the plugin handle, the
 * registry of loaded plugins and their registrations, the host config, the
 * loader, and the checks that turn what a plugin passes into the host's own
 * normalized copy. Other host areas use host-private.h, never this file.
 */
#pragma once

#include "host-private.h"

G_BEGIN_DECLS

/* ---- plugin handle ------------------------------------------------- */

typedef enum {
  VH_PLUGIN_LOADED,
  VH_PLUGIN_REFUSED,
  VH_PLUGIN_DISABLED,
} VhPluginState;

struct _VigilPlugin {
  VigilHost             *host;
  char                  *id;
  char                  *file;          /* NULL for the "host" pseudo-plugin */
  char                  *name;
  char                  *version;
  char                  *license;
  char                  *description;
  guint                  abi_major;     /* 0 when never read */
  guint                  abi_minor;
  VhPluginState          state;
  int                    refusal_code;  /* a VigilPluginError, or 0 */
  char                  *reason;        /* why it was refused or disabled */
  GError                *registration_error; /* first failed register_* */
  GModule               *module;
  const VigilPluginDesc *desc;
  gboolean               in_init;       /* register_* is allowed */
  gboolean               builtin;       /* the "host" pseudo-plugin */
  GMutex                 lock;          /* guards data_dir */
  char                  *data_dir;
};

VigilPlugin *vh_plugin_new  (VigilHost *host, const char *id, const char *file);
void         vh_plugin_free (VigilPlugin *plugin);
/* Marks @plugin refused with @code and the message "<file>: <what>". */
void         vh_plugin_refuse (VigilPlugin *plugin, int code,
                               const char *format, ...) G_GNUC_PRINTF (3, 4);
const char  *vh_plugin_state_name (VhPluginState state);

/* ---- registry ------------------------------------------------------ */

VhRegistry  *vh_registry_new  (VigilHost *host);
void         vh_registry_free (VhRegistry *registry);

/* Takes ownership of @plugin; keeps scan order. */
void         vh_registry_add_plugin  (VigilHost *host, VigilPlugin *plugin);
/* (transfer none) plugins in scan order, loaded, refused and disabled. */
GPtrArray   *vh_registry_plugins     (VigilHost *host);
/* (transfer none) all event handlers, in registration order. */
GPtrArray   *vh_registry_handlers    (VigilHost *host);
/* The first record with @id in any state, preferring a loaded one. */
VigilPlugin *vh_registry_find_plugin (VigilHost *host, const char *id);
/* Removes everything @plugin registered. */
void         vh_registry_rollback    (VigilHost *host, VigilPlugin *plugin);
gboolean     vh_registry_is_loaded   (VigilHost *host);
void         vh_registry_set_loaded  (VigilHost *host);

/* Adds a normalized, validated registration; fails with DUPLICATE. The
 * registry takes ownership of the entry (and its nested arrays). */
gboolean     vh_registry_add_section    (VigilHost *host, VhSection *entry,
                                         GError **error);
gboolean     vh_registry_add_task_type  (VigilHost *host, VhTaskType *entry,
                                         GError **error);
gboolean     vh_registry_add_handler    (VigilHost *host, VhHandler *entry,
                                         GError **error);
gboolean     vh_registry_add_command    (VigilHost *host, VhCommand *entry,
                                         GError **error);
void         vh_section_entry_free      (VhSection *entry);
void         vh_task_type_entry_free    (VhTaskType *entry);

/* (transfer full) one element of vigil_host_plugins(). */
JsonObject  *vh_registry_plugin_to_json (VigilHost *host, VigilPlugin *plugin);

/* Command names the CLI keeps for itself; plugins cannot take them. */
gboolean     vh_registry_is_reserved_command (const char *name);

/* ---- normalizing and validating registrations ---------------------- */

/* Copies a struct of @src_size bytes into @dst of @dst_size bytes: a
 * smaller one is zero-filled, a larger one is accepted only when every
 * byte the host does not know is zero (the rule of Linux's
 * copy_struct_from_user): otherwise a newer plugin relies on a field this
 * host would silently ignore. @what names the struct in the error. */
gboolean     vh_copy_struct (gpointer dst, gsize dst_size,
                             gconstpointer src, gsize src_size,
                             const char *what, GError **error);

/* (transfer full) the host's copies; NULL with INVALID. */
VhSection   *vh_normalize_section   (VigilPlugin *plugin, const VigilSection *section,
                                     gsize size, GError **error);
VhTaskType  *vh_normalize_task_type (VigilPlugin *plugin, const VigilTaskType *type,
                                     gsize size, GError **error);

/* Registration checks; messages name the offending id or key. */
gboolean     vh_valid_id        (const char *id, const char *extra_chars);
gboolean     vh_validate_fields (const VigilField *fields, gsize n_fields,
                                 const char *where, GError **error);
gboolean     vh_validate_section   (const VigilSection *section, GError **error);
gboolean     vh_validate_task_type (const VigilTaskType *type, GError **error);
gboolean     vh_validate_handler   (const VigilEventHandler *handler, GError **error);
gboolean     vh_validate_command   (const VigilCommand *command, GError **error);

/* ---- host config --------------------------------------------------- */

/* Loads @path (a GKeyFile); a missing file is an empty config. */
VhConfig    *vh_config_load        (const char *path, GError **error);
void         vh_config_free        (VhConfig *config);
const char  *vh_config_path        (VhConfig *config);
/* (transfer none) plugin folders listed in the config, absolute. */
const char *const *vh_config_plugin_dirs (VhConfig *config);
/* Whether the config keeps @id from being opened. */
gboolean     vh_config_is_disabled (VhConfig *config, const char *id);
/* Enables or disables @id and rewrites the file atomically. */
gboolean     vh_config_set_enabled (VhConfig *config, const char *id,
                                    gboolean enabled, GError **error);

/* ---- loader -------------------------------------------------------- */

/* Loads one plugin file; always leaves a record in the registry. */
void         vh_loader_load_file (VigilHost *host, const char *path,
                                  const char *folder_problem);
/* Scans host->plugin_dirs in order, files by name. */
void         vh_loader_load_all  (VigilHost *host);
/* Runs the loaded plugins' shutdowns in reverse load order. */
void         vh_loader_shutdown_all (VigilHost *host);

G_END_DECLS
