/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry layer of libvigil-host (host/registry/), above base: the
 * plugin handle, the loader, the host config, the registry of loaded
 * plugins and their registrations, the checks that turn what a plugin
 * passes into the host's own normalized copy, and the generic settings
 * schema checks. It sees base.h only; docs/architecture.md has the order.
 */
#pragma once

#include "base/base.h"

G_BEGIN_DECLS

/* Documents nested deeper are refused before a recursive parser sees them. */
#define VH_JSON_MAX_DEPTH     64

/* Registrations as the host keeps them: copied, zero-filled to the current
 * struct sizes, nested arrays (groups, fields) normalized the same way. */
typedef struct {
  VigilPlugin  *plugin;
  VigilSection  section;
} VhSection;

typedef struct {
  VigilPlugin   *plugin;
  VigilTaskType  type;
} VhTaskType;

typedef struct {
  VigilPlugin       *plugin;
  VigilEventHandler  handler;
} VhHandler;

typedef struct {
  VigilPlugin  *plugin;
  VigilCommand  command;
} VhCommand;

typedef struct {
  VigilPlugin          *plugin;
  VigilProtectedAction  action;
} VhAction;

/* ---- plugin handle ------------------------------------------------- */

typedef enum {
  VH_PLUGIN_LOADED,
  VH_PLUGIN_REFUSED,
  VH_PLUGIN_DISABLED,
  VH_PLUGIN_SKIPPED,   /* found, not opened: the host started without plugins */
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
  GStrv                  namespaces;    /* declared besides the id, or NULL */
};

VigilPlugin *vh_plugin_new  (VigilHost *host, const char *id, const char *file);
void         vh_plugin_free (VigilPlugin *plugin);
/* Marks @plugin refused with @code and the message "<file>: <what>". */
void         vh_plugin_refuse (VigilPlugin *plugin, int code,
                               const char *format, ...) G_GNUC_PRINTF (3, 4);
const char  *vh_plugin_state_name (VhPluginState state);

/* ---- registry ------------------------------------------------------ */

/* The plugin handle's accessors. The host itself registers the `general`
 * section through a pseudo-plugin whose id is "host". */
const char  *vh_plugin_id          (VigilPlugin *plugin);
VigilHost   *vh_plugin_host        (VigilPlugin *plugin);
VigilPlugin *vh_registry_host_plugin (VigilHost *host);
/* The table given to vh_registry_new, and the host config. */
const VigilHostApi *vh_registry_api (VigilHost *host);
VhConfig    *vh_registry_config    (VigilHost *host);

/* (transfer none) arrays in registration order. */
GPtrArray        *vh_registry_actions     (VigilHost *host);
const VhAction   *vh_registry_action      (VigilHost *host, const char *id);
GPtrArray        *vh_registry_sections    (VigilHost *host);
GPtrArray        *vh_registry_task_types  (VigilHost *host);
GPtrArray        *vh_registry_commands    (VigilHost *host);
const VhSection  *vh_registry_section     (VigilHost *host, const char *id);
const VhTaskType *vh_registry_task_type   (VigilHost *host, const char *id);
const VhCommand  *vh_registry_command     (VigilHost *host, const char *name);
/* (transfer container) the handlers matching @event_type, in load order. */
GPtrArray        *vh_registry_handlers_for (VigilHost *host, const char *event_type);
/* The password check of protected actions. The settings layer installs it
 * (vh_protect_check) so that the layers below it can ask it. */
typedef gboolean (*VhProtectFunc) (VigilHost *host, const char *action, GError **error);
void              vh_registry_set_protect_func (VigilHost *host, VhProtectFunc func);
/* Before a task of @type_id is created or run by hand: TRUE when the type
 * is no protected action, else the password check (failing closed when
 * none is installed). */
gboolean          vh_registry_protect_task_type (VigilHost *host, const char *type_id,
                                                 GError **error);

/* ---- guard.c: the change guard and the audit trail ------------------ */

/* This machine's password protection at one moment; made, compared and
 * freed by the settings layer only. */
typedef struct _VhProtection VhProtection;
typedef struct {
  /* (transfer full) the protection now, or NULL with @error. */
  VhProtection *(*snapshot)  (VigilHost *host, GError **error);
  /* TRUE when @after protects all that @before did, or the user gave the
   * current password; @change says what is done ("removing policy 'PW'"). */
  gboolean      (*authorize) (VigilHost *host, const VhProtection *before,
                              const VhProtection *after, const char *change,
                              GError **error);
  void          (*free)      (VhProtection *protection);
} VhGuardFuncs;
/* The settings layer installs its guard (a copy of @funcs is kept). */
void      vh_registry_set_guard (VigilHost *host, const VhGuardFuncs *funcs);
/* (internal to guard.c) where the hooks are kept. */
gpointer *vh_registry_hook_slot (VigilHost *host);

/* A change that may weaken password protection is bracketed by these.
 * Inside the transaction that makes it: begin takes a snapshot (NULL with
 * @error when it cannot: refuse the change), the change is made, check
 * takes another and asks the settings layer (which may ask the current
 * password); commit only when check returns TRUE. After the commit or
 * rollback, finish (NULL-safe) records a refused check as
 * host.password_refused and frees the guard. */
typedef struct _VhGuard VhGuard;
VhGuard  *vh_guard_begin  (VigilHost *host, GError **error);
gboolean  vh_guard_check  (VhGuard *guard, const char *change, GError **error);
void      vh_guard_finish (VhGuard *guard);
/* While set (@trusted TRUE) the calling thread's changes are authorized
 * even when they weaken protection: for settings that come from the
 * device's managing console, whose policy is the authority over it
 * (vigil_host_apply_managed_settings). Other threads are not affected.
 * Set and cleared around one change, never left set. */
void      vh_guard_trust  (VigilHost *host, gboolean trusted);

/* Records an audit event (host.*) with the account and pid of this
 * process added to @payload (transfer full; NULL for none). The tasks
 * layer, which owns the event log, installs the recorder; without one
 * nothing is recorded. Called inside a transaction, the event is part of
 * it: it is stored if and only if the change is. */
typedef gboolean (*VhAuditFunc) (VigilHost *host, const char *type, const char *device_id,
                                 JsonObject *payload, GError **error);
void      vh_registry_set_audit_func (VigilHost *host, VhAuditFunc func);
gboolean  vh_audit (VigilHost *host, const char *type, const char *device_id,
                    JsonObject *payload, GError **error);

/* For error messages: "enable the plugin 'quarantine' (it is disabled)". */
char             *vh_registry_explain_missing_task_type (VigilHost *host,
                                                         const char *type_id);

/* @api is the host API table plugin inits get; the api layer owns it. */
VhRegistry  *vh_registry_new  (VigilHost *host, const VigilHostApi *api);
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
gboolean     vh_registry_add_action     (VigilHost *host, VhAction *entry,
                                         GError **error);
void         vh_section_entry_free      (VhSection *entry);
void         vh_task_type_entry_free    (VhTaskType *entry);

/* (transfer full) one element of vigil_host_plugins(). */
JsonObject  *vh_registry_plugin_to_json (VigilHost *host, VigilPlugin *plugin);

/* Command names the CLI keeps for itself; plugins cannot take them. */
gboolean     vh_registry_is_reserved_command (const char *name);

/* ---- namespaces (namespaces.c) ------------------------------------ */

/* The owner of the namespace @ns: the host's pseudo-plugin for a reserved
 * one, the loaded plugin (or the one in init) that owns it, or NULL. */
VigilPlugin *vh_namespace_owner  (VigilHost *host, const char *ns);
/* Whether @plugin's id or declared namespaces include @ns, in any state. */
gboolean     vh_namespace_owned_by (VigilPlugin *plugin, const char *ns);
/* Before init: @plugin claims its id and @declared (NULL-terminated, may
 * be NULL). Fails (BAD_DESCRIPTOR, NAMESPACE) on a malformed, reserved or
 * already owned one, naming the owner. */
gboolean     vh_namespaces_claim (VigilHost *host, VigilPlugin *plugin,
                                  const char *const *declared, GError **error);
/* Whether @plugin may register or emit @name ("<ns>.<x>" when @dotted,
 * else a namespace itself); NAMESPACE naming both plugins otherwise. */
gboolean     vh_namespace_check  (VigilPlugin *plugin, const char *kind,
                                  const char *name, gboolean dotted,
                                  GError **error);

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
gboolean     vh_validate_action    (const VigilProtectedAction *action, GError **error);

/* ---- host config --------------------------------------------------- */

/* Days dispatched events are kept (host config [events] retention_days);
 * 0 keeps them forever. */
guint vh_config_event_retention_days (VhConfig *config);
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
/* Scans @plugin_dirs (NULL-terminated) in order, files by name. */
void         vh_loader_load_all  (VigilHost *host, const char *const *plugin_dirs);
/* Like vh_loader_load_all, but opens no file: each plugin that would be
 * opened is recorded as skipped, with @why as its reason. */
void         vh_loader_skip_all  (VigilHost *host, const char *const *plugin_dirs,
                                  const char *why);
/* Runs the loaded plugins' shutdowns in reverse load order. */
void         vh_loader_shutdown_all (VigilHost *host);

/* init-crash.c: while @plugin's init runs, a fatal signal first writes
 * a line naming the plugin and how to disable it to stderr. */
void         vh_init_crash_guard_begin (VigilPlugin *plugin);
void         vh_init_crash_guard_end   (void);

/* ---- schema.c: generic settings checks ------------------------------ */

/* Generic checks of @values against @fields (type, range, enum, required,
 * unknown keys with a suggestion). Problems go to @report under @path.
 * Returns: (transfer full) a copy of @values with defaults filled in. */
JsonObject  *vh_schema_check      (const VigilField *fields, gsize n_fields,
                                   JsonObject *values, const char *path,
                                   VigilReport *report);
JsonObject  *vh_schema_defaults   (const VigilField *fields, gsize n_fields);
/* Secrets: replace every non-null value of a SECRET field with "********"
 * in place, before anything is printed, logged or exported. _fields works
 * on key -> value (task params), _secrets on a section's group -> key ->
 * value. */
void         vh_schema_mask_fields  (const VigilField *fields, gsize n_fields,
                                     JsonObject *values);
void         vh_schema_mask_secrets (const VigilSection *section, JsonObject *values);

/* The closest of @candidates to @word by edit distance (or prefix), when
 * close enough to be a likely typo; NULL otherwise. (transfer none) */
const char *vh_suggest (const char *word, const char *const *candidates, gsize n);
/* " (did you mean 'x'?)"-style suffix, or "" — (transfer full). */
char       *vh_suggest_suffix (const char *word, const char *const *candidates, gsize n);

/* A section's groups and a group's fields, indexed with their element
 * sizes so that registrations of any minor version read correctly. */
const VigilSettingsGroup *vh_section_group (const VigilSection *section, gsize i);
const VigilSettingsGroup *vh_section_find_group (const VigilSection *section,
                                                 const char *group_id);
const VigilField         *vh_group_field (const VigilSettingsGroup *group, gsize i);
/* Checks one settings group's values: like vh_schema_check, with the
 * group's stride-aware field array. With @partial, no defaults and no
 * required check: the result holds only the (known) keys given. */
JsonObject *vh_schema_check_group (const VigilSettingsGroup *group,
                                   JsonObject *values, const char *path,
                                   gboolean partial, VigilReport *report);
JsonObject *vh_schema_group_defaults (const VigilSettingsGroup *group);

/* Masks the secret fields of one settings group's key -> value object. */
void        vh_schema_mask_group (const VigilSettingsGroup *group, JsonObject *values);
/* Deep copies, so that masking a copy never touches the original. */
JsonNode   *vh_json_node_copy (JsonNode *node);
JsonObject *vh_json_object_copy (JsonObject *object);

/* Rejects documents nested deeper than VH_JSON_MAX_DEPTH before a
 * recursive parser sees them. */
gboolean    vh_json_depth_ok (const char *data, gsize len);

G_END_DECLS
