/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal interfaces between the modules of libvigil-host. Nothing here is
 * installed or visible to plugins. Each block names the folder that owns it:
 *   host/core/    host object, loader, registry, host API table, config
 *   host/data/    SQLite store, inventory, schema checks, reports, policies,
 *                 effective settings, the plugin document store
 *   host/tasks/   events, tasks, schedules, runs, worker pool
 *   host/general/ logger and trace files, the host-owned `general` section,
 *                 password protection
 */
#pragma once

#include <sqlite3.h>
#include "vigil-host.h"

G_BEGIN_DECLS

typedef struct _VhStore       VhStore;
typedef struct _VhRegistry    VhRegistry;
typedef struct _VhConfig      VhConfig;
typedef struct _VhEvents      VhEvents;
typedef struct _VhTasks       VhTasks;
typedef struct _VhLogger      VhLogger;

/* The host object; each module owns its own member. */
struct _VigilHost {
  char          *state_dir;
  char          *config_file;
  GStrv          plugin_dirs;       /* extra folders, then the install dir */
  gboolean       skip_install_dir;
  VigilClockFunc clock;
  gpointer       clock_data;
  GThread       *main_thread;
  VhConfig      *config;            /* core */
  VhRegistry    *registry;          /* core */
  VhStore       *store;             /* data */
  VhEvents      *events;            /* tasks */
  VhTasks       *tasks;             /* tasks */
  VhLogger      *logger;            /* general */
};

/* ---- core: host/core/ ---------------------------------------------- */

/* The static host API table handed to plugins. */
const VigilHostApi *vh_api (void);

/* Days dispatched events are kept (host config [events] retention_days);
 * 0 keeps them forever. */
guint vh_config_event_retention_days (VhConfig *config);

/* The plugin handle's accessors. The host itself registers the `general`
 * section through a pseudo-plugin whose id is "host". */
const char  *vh_plugin_id          (VigilPlugin *plugin);
VigilHost   *vh_plugin_host        (VigilPlugin *plugin);
VigilPlugin *vh_registry_host_plugin (VigilHost *host);

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
/* For error messages: "enable the plugin 'quarantine' (it is disabled)". */
char             *vh_registry_explain_missing_task_type (VigilHost *host,
                                                         const char *type_id);

/* ---- data: host/data/ ---------------------------------------------- */

VhStore  *vh_store_open    (const char *path, GError **error);
void      vh_store_close   (VhStore *store);

/* A module's schema migrations, applied in order, each once, each in its
 * own transaction; versions start at 1 and never change once released. */
typedef struct {
  guint       version;
  const char *sql;
} VhMigration;

gboolean  vh_store_migrate (VhStore *store, const char *module,
                            const VhMigration *migrations, gsize n,
                            GError **error);
/* The connection is shared by all threads: take it with lock, release it
 * with unlock. Everything between is serialized. */
sqlite3  *vh_store_lock    (VhStore *store);
void      vh_store_unlock  (VhStore *store);
/* Sets @error from the connection's last error, with @what as context. */
void      vh_store_set_error (sqlite3 *db, const char *what, GError **error);

/* Reports: problems with JSON paths. */
VigilReport *vh_report_new        (void);
void         vh_report_free       (VigilReport *report);
/* Prepended to the paths of problems added from now on ("kata."). */
void         vh_report_set_prefix (VigilReport *report, const char *prefix);
void         vh_report_add        (VigilReport *report, VigilSeverity severity,
                                   const char *path, const char *format, ...)
                                   G_GNUC_PRINTF (4, 5);
void         vh_report_addv       (VigilReport *report, VigilSeverity severity,
                                   const char *path, const char *format,
                                   va_list args) G_GNUC_PRINTF (4, 0);
gboolean     vh_report_has_errors (VigilReport *report);
/* (transfer full) array of {severity, path, message}. */
JsonArray   *vh_report_to_json    (VigilReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilReport, vh_report_free)

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

/* Effective settings of one section for one device: group -> key -> value.
 * With @origins, also group -> key -> "default" | "policy:<name>" |
 * "policy:<name> (locked)" | "local". Returns: (transfer full). */
JsonObject  *vh_effective_section (VigilHost *host, const char *device_id,
                                   const char *section_id,
                                   JsonObject **origins, GError **error);

/* Inventory. A device object: id, name, group, group_path, root (or null),
 * out_of_office. Returns: (transfer full), NULL with NOT_FOUND. */
JsonObject  *vh_inventory_device        (VigilHost *host, const char *device_id,
                                         GError **error);
gboolean     vh_inventory_group_exists  (VigilHost *host, const char *group_id);
/* (transfer full) device ids of the group and its subgroups, sorted. */
GPtrArray   *vh_inventory_group_devices (VigilHost *host, const char *group_id,
                                         GError **error);

/* The plugins' document store (VigilHostApi store_*). */
gboolean     vh_docs_put    (VigilHost *host, const char *plugin, const char *collection,
                             const char *key, JsonNode *document, GError **error);
JsonNode    *vh_docs_get    (VigilHost *host, const char *plugin, const char *collection,
                             const char *key, GError **error);
gboolean     vh_docs_delete (VigilHost *host, const char *plugin, const char *collection,
                             const char *key, GError **error);
JsonObject  *vh_docs_list   (VigilHost *host, const char *plugin, const char *collection,
                             GError **error);

/* Called by vigil_host_new after the store is open: applies the module's
 * migrations. */
gboolean     vh_data_init   (VigilHost *host, GError **error);

/* ---- tasks: host/tasks/ -------------------------------------------- */

gboolean  vh_events_init     (VigilHost *host, GError **error);
void      vh_events_free     (VigilHost *host);
/* Thread-safe: stores the event, then queues it for dispatch. */
char     *vh_events_emit     (VigilHost *host, const char *source,
                              const char *type, const char *device_id,
                              guint payload_version, JsonObject *payload,
                              GError **error);
/* Main thread: runs handlers of queued events. Returns how many events. */
guint     vh_events_dispatch (VigilHost *host);

gboolean  vh_tasks_init      (VigilHost *host, GError **error);
void      vh_tasks_free      (VigilHost *host);
/* Thread-safe. @source is the creating plugin id, "cli" or "host". */
char     *vh_tasks_create    (VigilHost *host, const char *source,
                              const VigilTaskSpec *spec, GError **error);
/* Main thread: dispatches pending events and runs what is due now, until
 * idle (behind vigil_host_run_until_idle). Returns how many runs ran. */
guint     vh_run_until_idle  (VigilHost *host, GCancellable *cancellable);
/* Main thread: runs all runs due now on the worker pool, waits for them. */
guint     vh_tasks_run_due   (VigilHost *host, GCancellable *cancellable);
/* (transfer full) the task as `vigil task show --json` prints it, NULL
 * with NOT_FOUND. Thread-safe. */
JsonObject *vh_tasks_get     (VigilHost *host, const char *task_id, GError **error);

/* The VigilTaskRun accessors behind the host API. */
const char  *vh_run_device_id   (VigilTaskRun *run);
const char  *vh_run_device_root (VigilTaskRun *run);
const char  *vh_run_task_id     (VigilTaskRun *run);
VigilPlugin *vh_run_plugin      (VigilTaskRun *run);
void         vh_run_progress    (VigilTaskRun *run, double fraction, const char *message);
void         vh_run_add_finding (VigilTaskRun *run, JsonObject *finding);
void         vh_run_set_result  (VigilTaskRun *run, JsonNode *result);

/* ---- general: host/general/ ---------------------------------------- */

/* Thread-safe. @domain is a plugin id or "host". Writes stderr (by level)
 * and the trace files when failure diagnosis is on. */
void      vh_log             (VigilHost *host, const char *domain,
                              GLogLevelFlags level, const char *message);
gboolean  vh_logger_init     (VigilHost *host, GError **error);
void      vh_logger_free     (VigilHost *host);
/* Registers the host-owned `general` section. */
gboolean  vh_general_init    (VigilHost *host, GError **error);
/* Password protection of @action, one the host ("plugins.disable",
 * "task.delete") or a loaded plugin declared: TRUE when it is not protected
 * or the password given (prompt, or the fd in VIGIL_PASSWORD_FD) matches;
 * FALSE with @error otherwise, for an undeclared action, and off the main
 * thread when it would have to ask. */
gboolean  vh_protect_check   (VigilHost *host, const char *action, GError **error);
/* Behind VigilHostApi resolve_proxy and telemetry_excluded. */
char     *vh_general_resolve_proxy      (VigilHost *host, const char *device_id,
                                         const char *url, GError **error);
gboolean  vh_general_telemetry_excluded (VigilHost *host, const VigilEvent *event);
/* Info and debug messages reach stderr only when verbose (the CLI's -v, or
 * env VIGIL_VERBOSE=1); warnings and errors always do. */
void      vh_logger_set_verbose  (VigilHost *host, gboolean verbose);
/* Re-reads the local machine's failure_diagnosis settings and opens,
 * closes or re-limits the trace files accordingly. Main thread. */
void      vh_logger_reload       (VigilHost *host);
/* Trace files in @folder (NULL: none) of at most @max_bytes, at most
 * @max_files per trace log. Thread-safe. */
gboolean  vh_logger_set_trace    (VigilHost *host, const char *folder,
                                  guint64 max_bytes, guint max_files,
                                  GError **error);

G_END_DECLS

/* The api layer (host/api/public-*.c) sees every module: it defines
 * VH_HOST_UMBRELLA before including this header. */
#ifdef VH_HOST_UMBRELLA
#include "core/core-private.h"
#include "data/data-private.h"
#include "tasks/tasks-private.h"
#endif
