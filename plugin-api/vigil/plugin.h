/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:plugin
 * @title: Vigil plugin ABI, version 1
 *
 * The one header a Vigil plugin includes. A plugin is a shared object named
 * `<id>.so` that exports exactly one symbol, vigil_plugin_query_v1(), which
 * returns a static #VigilPluginDesc. The host reads and checks that
 * descriptor before any other plugin code runs, then calls its init function
 * with a #VigilHostApi: a table of host services. Plugins link no host
 * symbols; everything they need from the host goes through that table.
 *
 * Compatibility rules (see docs/abi.md):
 * - Within a major version, structs only grow at the end and every struct
 *   passed between host and plugin is size-stamped (struct_size or an
 *   explicit size argument). The host copies what it knows and zero-fills
 *   the rest, so a plugin built against an older minor loads unchanged, and
 *   one built against a newer minor is refused with a clear message. A
 *   struct larger than the host knows is accepted only when every byte the
 *   host does not know is zero (as Linux's copy_struct_from_user): a set
 *   field the host cannot see would otherwise be silently ignored.
 * - Function slots in #VigilHostApi are append-only; a retired slot stays in
 *   place. Each slot says the minor version that added it (Since: 1.N).
 *   Before calling a slot added after 1.0, check VIGIL_API_HAS(api, slot).
 * - Enum values are never renumbered.
 *
 * Threading contract:
 * - init, shutdown, event handlers, section validate/migrate callbacks and
 *   command callbacks run on the host's main thread.
 * - Task run callbacks run on worker threads, possibly several at once for
 *   different devices. They must touch only their own data (or data they
 *   lock themselves) and the host API.
 * - A task type's validate callback runs on the thread that creates the
 *   task: the main thread for the CLI, an event handler or a command, a
 *   worker thread when a task run calls create_task (say, an IOC scan
 *   asking for a quarantine). It must be reentrant and must not depend on
 *   main-thread state.
 * - Every #VigilHostApi function is thread-safe except the register_*
 *   functions, which are only valid during init, and protect_check, which
 *   may prompt on the terminal: off the main thread it fails whenever it
 *   would have to ask.
 *
 * Loading: the host reads the descriptor and checks it (ABI version, size,
 * id = file name, init present, namespaces free) before calling any plugin
 * function but vigil_plugin_query_v1(). ELF constructors run as soon as
 * the file is mapped, so a plugin must not have any. Files and folders
 * writable by group or others are never opened, nor are plugins disabled
 * in the host config.
 *
 * Namespaces: a plugin owns its id and the namespaces its descriptor
 * declares; "host" and the host's own namespaces (task, plugins, general,
 * the built-in commands) are reserved. A task type, a protected action or
 * an event type a plugin emits is "<namespace>.<name>", a section id or a
 * command name is a namespace itself, always one of the plugin's own
 * ('-' and '_' count as the same character, so the plugin "sandbox-response"
 * owns the section "sandbox_response"). Anything else is refused with
 * VIGIL_PLUGIN_ERROR_NAMESPACE naming both plugins; of two plugins claiming
 * one namespace, the one loaded second is refused.
 *
 * Ownership: unless a function says "(transfer full)", pointers passed to the
 * plugin are borrowed and valid only for the duration of the call, and
 * pointers passed to the host are copied by it. Registration structs,
 * field arrays and strings in them must stay valid for the life of the
 * process (use static data): plugins are never unloaded.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define VIGIL_ABI_MAJOR 1
#define VIGIL_ABI_MINOR 1

/* The install folder for plugins carries the major version. */
#define VIGIL_PLUGIN_SUBDIR "vigil/plugins-1"

/* The one exported symbol, as a string for g_module_symbol(). */
#define VIGIL_PLUGIN_QUERY_SYMBOL "vigil_plugin_query_v1"

/**
 * VigilPluginError:
 * Errors in the VIGIL_PLUGIN_ERROR domain, raised by the host while loading
 * and by plugins from init or from registrations.
 */
typedef enum {
  VIGIL_PLUGIN_ERROR_OPEN = 1,         /* dlopen failed */
  VIGIL_PLUGIN_ERROR_NOT_A_PLUGIN,     /* no vigil_plugin_query_v1 */
  VIGIL_PLUGIN_ERROR_ABI_MISMATCH,     /* major differs or minor too new */
  VIGIL_PLUGIN_ERROR_BAD_DESCRIPTOR,   /* struct too small, missing fields */
  VIGIL_PLUGIN_ERROR_ID_MISMATCH,      /* id differs from the file name */
  VIGIL_PLUGIN_ERROR_DUPLICATE,        /* plugin, section, task type, ... */
  VIGIL_PLUGIN_ERROR_INIT_FAILED,      /* init returned FALSE */
  VIGIL_PLUGIN_ERROR_UNSAFE_FILE,      /* writable by others than the owner */
  VIGIL_PLUGIN_ERROR_INVALID,          /* a registration is malformed */
  VIGIL_PLUGIN_ERROR_DISABLED,         /* disabled in the host config */
  VIGIL_PLUGIN_ERROR_NOT_FOUND,        /* task type, section, device, ... */
  VIGIL_PLUGIN_ERROR_FAILED,           /* anything else */
  VIGIL_PLUGIN_ERROR_NAMESPACE,        /* another plugin's or the host's
                                        * namespace; Since: 1.1 */
} VigilPluginError;

#define VIGIL_PLUGIN_ERROR (vigil_plugin_error_quark ())
/* Defined as a static inline so plugins need no host symbol for it. */
static inline GQuark
vigil_plugin_error_quark (void)
{
  return g_quark_from_static_string ("vigil-plugin-error-quark");
}

typedef struct _VigilHostApi VigilHostApi;

/* The host's handle for one loaded plugin; opaque. */
typedef struct _VigilPlugin VigilPlugin;

/* One run of a task on one device; opaque. Valid during the run callback. */
typedef struct _VigilTaskRun VigilTaskRun;

/* Collects problems found by a validate callback; opaque. */
typedef struct _VigilReport VigilReport;

/* ------------------------------------------------------------------ */
/* Descriptor                                                          */
/* ------------------------------------------------------------------ */

/**
 * VigilPluginInitFunc:
 * @api: the host services; valid for the life of the process
 * @self: this plugin's handle, to pass back to @api
 * @error: set on failure; its message is kept and shown by `vigil plugins`
 *
 * Registers the plugin's sections, task types, event handlers and commands.
 * Returns: %TRUE on success. On %FALSE, the host discards everything the
 * plugin registered and keeps it listed as refused.
 */
typedef gboolean (*VigilPluginInitFunc) (const VigilHostApi *api,
                                         VigilPlugin        *self,
                                         GError            **error);

/* Called at host exit, in reverse load order. The module stays mapped. */
typedef void (*VigilPluginShutdownFunc) (VigilPlugin *self);

/**
 * VigilPluginDesc:
 * Returned by vigil_plugin_query_v1(). Write it with VIGIL_PLUGIN_DEFINE()
 * or, to declare namespaces, VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES().
 *
 * @namespaces: Since: 1.1. The namespaces the plugin owns besides its id
 *   (see "Namespaces" above): a NULL-terminated array of names (letters
 *   a-z, digits, '_' and '-'), or NULL for none. The ioc-scan plugin
 *   declares "ioc" for its task type "ioc.scan", its event "ioc.found" and
 *   its command "ioc". Checked before init runs: a plugin declaring a
 *   reserved namespace or one a plugin loaded before it owns is refused.
 */
typedef struct {
  guint32                 struct_size; /* sizeof (VigilPluginDesc) */
  guint16                 abi_major;   /* VIGIL_ABI_MAJOR at build time */
  guint16                 abi_minor;   /* VIGIL_ABI_MINOR at build time */
  const char             *id;          /* [a-z0-9_-]{1,64}, equals the file
                                        * stem; not a reserved namespace */
  const char             *name;        /* human-readable name */
  const char             *version;     /* the plugin's own version */
  const char             *license;     /* SPDX identifier */
  const char             *description; /* one sentence */
  VigilPluginInitFunc     init;        /* required */
  VigilPluginShutdownFunc shutdown;    /* optional */
  const char *const      *namespaces;  /* Since: 1.1; may be NULL */
} VigilPluginDesc;

#if defined(__GNUC__)
#define VIGIL_PLUGIN_EXPORT __attribute__ ((visibility ("default")))
#else
#define VIGIL_PLUGIN_EXPORT G_MODULE_EXPORT
#endif

/**
 * VIGIL_PLUGIN_DEFINE:
 * Writes the descriptor and the exported entry point. Use once per plugin,
 * and build with -fvisibility=hidden so that this is the only export. The
 * plugin owns no namespace but its id.
 */
#define VIGIL_PLUGIN_DEFINE(id_, name_, version_, license_, description_,  \
                            init_, shutdown_)                               \
  VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES (id_, name_, version_, license_,      \
                                       description_, init_, shutdown_, NULL)

/**
 * VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES:
 * @namespaces_: a static NULL-terminated array of the namespaces the
 *   plugin owns besides its id, e.g.
 *   `static const char *const my_namespaces[] = { "ioc", NULL };`
 *
 * Like VIGIL_PLUGIN_DEFINE(). Since: 1.1
 */
#define VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES(id_, name_, version_, license_, \
                                            description_, init_, shutdown_, \
                                            namespaces_)                    \
  static const VigilPluginDesc vigil_plugin_desc_ = {                       \
    sizeof (VigilPluginDesc), VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR,             \
    id_, name_, version_, license_, description_, init_, shutdown_,         \
    namespaces_                                                             \
  };                                                                        \
  VIGIL_PLUGIN_EXPORT const VigilPluginDesc *vigil_plugin_query_v1 (void);  \
  VIGIL_PLUGIN_EXPORT const VigilPluginDesc *vigil_plugin_query_v1 (void)   \
  {                                                                         \
    return &vigil_plugin_desc_;                                             \
  }

/* ------------------------------------------------------------------ */
/* Settings schema                                                     */
/* ------------------------------------------------------------------ */

typedef enum {
  VIGIL_FIELD_BOOL = 1,     /* JSON true/false */
  VIGIL_FIELD_INT,          /* JSON integer; range checked when has_range */
  VIGIL_FIELD_STRING,       /* JSON string */
  VIGIL_FIELD_ENUM,         /* JSON string, one of enum_values */
  VIGIL_FIELD_TIME_OF_DAY,  /* JSON string "hh:mm", 00:00 to 23:59 */
  VIGIL_FIELD_PATH,         /* JSON string, absolute path */
  VIGIL_FIELD_LIST,         /* JSON array of item_type */
  VIGIL_FIELD_OBJECT,       /* JSON object; checked by validate only */
} VigilFieldType;

typedef enum {
  VIGIL_FIELD_FLAG_NONE     = 0,
  VIGIL_FIELD_FLAG_SECRET   = 1 << 0, /* masked in every output and export */
  VIGIL_FIELD_FLAG_REQUIRED = 1 << 1, /* must be set (non-null) */
} VigilFieldFlags;

/**
 * VigilField:
 * One setting. Arrays of fields are passed with their element size (see
 * VIGIL_ARRAY) so that this struct can grow within a major version.
 */
typedef struct {
  const char         *key;          /* [a-z0-9_]+, unique within its group */
  VigilFieldType      type;
  const char         *default_json; /* JSON text; NULL means null (unset) */
  gboolean            has_range;    /* INT and LIST (length) only */
  gint64              min;
  gint64              max;
  const char *const  *enum_values;  /* ENUM: NULL-terminated */
  VigilFieldType      item_type;    /* LIST: type of each item */
  guint32             flags;        /* VigilFieldFlags */
  const char         *description;  /* one or two sentences, for help */
} VigilField;

/**
 * VIGIL_ARRAY:
 * Expands to the three members that describe an array: pointer, length,
 * element size. Use after a designator: `.fields = VIGIL_ARRAY (my_fields)`.
 */
#define VIGIL_ARRAY(a) (a), G_N_ELEMENTS (a), sizeof ((a)[0])

/**
 * VigilSettingsGroup:
 * A settings group is the unit a policy locks or leaves unlocked.
 */
typedef struct {
  const char       *id;          /* [a-z0-9_]+, unique within its section */
  const char       *title;
  const VigilField *fields;
  gsize             n_fields;
  gsize             field_size;  /* sizeof (VigilField) */
} VigilSettingsGroup;

/**
 * VigilValidateFunc:
 * @values: the section's values after the host's generic checks, defaults
 *   filled in: an object of group id -> object of key -> value. Read-only.
 * @report: where to add problems with vigil_api->report_problem()
 *
 * Cross-field rules ("usage cannot be enabled unless the statement is
 * accepted"). Runs on the main thread.
 */
typedef void (*VigilValidateFunc) (JsonObject  *values,
                                   VigilReport *report,
                                   gpointer     user_data);

/**
 * VigilMigrateFunc:
 * @values: the section as written for @from_version (same layout as policy
 *   documents: group id -> object with "locked" and "values")
 * Returns: (transfer full): the section for the current schema version, or
 *   %NULL with @error set.
 */
typedef JsonObject *(*VigilMigrateFunc) (JsonObject *values,
                                         guint       from_version,
                                         gpointer    user_data,
                                         GError    **error);

typedef struct {
  const char               *id;            /* "kata": one of the plugin's
                                            * namespaces; unique in the host */
  const char               *title;
  guint                     schema_version; /* >= 1 */
  const VigilSettingsGroup *groups;
  gsize                     n_groups;
  gsize                     group_size;     /* sizeof (VigilSettingsGroup) */
  VigilValidateFunc         validate;       /* optional */
  VigilMigrateFunc          migrate;        /* optional */
  gpointer                  user_data;
} VigilSection;

/* ------------------------------------------------------------------ */
/* Tasks                                                               */
/* ------------------------------------------------------------------ */

/**
 * VigilTaskRunFunc:
 * @run: this run; pass to the task_* functions of the API
 * @params: the task's parameters, validated against the type's schema,
 *   defaults filled in. Read-only.
 * @cancellable: cancelled when the task is cancelled; check it often
 * Returns: %TRUE when the run completed (its result set with
 *   task_set_result), %FALSE with @error set when it failed. A run that
 *   returns after @cancellable was cancelled is recorded as cancelled.
 *
 * Runs on a worker thread (see the threading contract above).
 */
typedef gboolean (*VigilTaskRunFunc) (VigilTaskRun *run,
                                      JsonObject   *params,
                                      GCancellable *cancellable,
                                      gpointer      user_data,
                                      GError      **error);

/* Cross-field validation of a task's parameters; like VigilValidateFunc,
 * but called on whichever thread creates the task (threading contract). */
typedef void (*VigilTaskValidateFunc) (JsonObject  *params,
                                       VigilReport *report,
                                       gpointer     user_data);

typedef struct {
  const char           *id;       /* "quarantine.put": "<namespace>.<verb>",
                                   * in one of the plugin's namespaces */
  const char           *title;
  const char           *description;
  const VigilField     *params;   /* parameters schema */
  gsize                 n_params;
  gsize                 param_size; /* sizeof (VigilField) */
  VigilTaskValidateFunc validate; /* optional */
  VigilTaskRunFunc      run;      /* required */
  gpointer              user_data;
} VigilTaskType;

/**
 * VigilTaskSpec:
 * A task to create, for one device (device_id) or for every device of an
 * admin group and its subgroups (group_id), minus exclusions.
 *
 * @schedule: JSON text, one of
 *   {"kind":"manual"}, {"kind":"now"}, {"kind":"once","at":"ISO-8601"},
 *   {"kind":"hourly"|"daily"|"weekly","at":"ISO-8601 first start"},
 *   {"kind":"on_start"}, {"kind":"after_update"},
 *   {"kind":"window","start":"hh:mm","end":"hh:mm"} (daily window, may
 *   cross midnight). NULL means {"kind":"now"}.
 * @retention_days: days the results are kept, at most 3650; 0 means the
 *   default (7).
 * @reserved: Since: 1.1 (tail padding in 1.0). Must be zero: a plugin
 *   built for 1.1 or later that sets it is refused with INVALID. It keeps
 *   sizeof this struct from hiding a field appended later.
 */
typedef struct {
  const char         *type;           /* a registered task type id */
  const char         *name;           /* shown to admins; may be NULL */
  const char         *device_id;      /* exactly one of device_id, group_id */
  const char         *group_id;
  const char *const  *exclude_devices;/* NULL-terminated, or NULL: device
                                       * ids, or groups ("group:ID", or a
                                       * bare group id); an unknown id is
                                       * refused (since 1.1) */
  JsonObject         *params;         /* copied by the host */
  const char         *schedule;       /* JSON text, see above */
  guint               retention_days; /* 0 means the default (7) */
  guint32             reserved;       /* Since: 1.1; must be zero */
} VigilTaskSpec;

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/**
 * VigilEvent:
 * An event as handed to handlers. Read-only, valid during the call.
 */
typedef struct {
  guint32     struct_size;
  const char *id;              /* unique, assigned by the host */
  const char *type;            /* "sandbox.threat_detected" */
  const char *device_id;       /* may be NULL for host-wide events */
  gint64      time_us;         /* UTC, microseconds since the epoch */
  guint       payload_version; /* version of the payload's layout */
  JsonObject *payload;         /* never NULL (may be empty) */
  const char *source;          /* a plugin id, "host", "cli", "serve" or
                                * the name an embedding application gave */
} VigilEvent;

typedef void (*VigilEventFunc) (const VigilEvent *event, gpointer user_data);

typedef struct {
  const char    *event_type;  /* an exact type ("ioc.found"), a prefix
                              * ending in ".*" ("quarantine.*"), or "*" for
                              * every event; any plugin's events */
  VigilEventFunc handler;
  gpointer       user_data;
} VigilEventHandler;

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/**
 * VigilCommandFunc:
 * @argv: the arguments after the command name (argv[0] is the command
 *   name); the plugin may parse them with GOptionContext
 * Returns: the process exit code.
 *
 * A plugin command runs in the `vigil` process on the main thread with the
 * host loaded: `vigil <name> ...`. It prints to stdout/stderr itself.
 */
typedef int (*VigilCommandFunc) (VigilPlugin *self,
                                 int          argc,
                                 char       **argv,
                                 gpointer     user_data);

/* VigilCommand.flags. */
typedef enum {
  /* The command takes --json (after its own arguments) for machine output:
   * a global `vigil --json CMD ...` appends --json to its arguments. Without
   * the flag, a global --json before the command is refused as a usage
   * error rather than silently giving text. */
  VIGIL_COMMAND_JSON = 1 << 0,
} VigilCommandFlags;

/**
 * VigilCommand:
 * @reserved: Since: 1.1 (tail padding in 1.0). Must be zero: a plugin
 *   built for 1.1 or later that sets it is refused with INVALID.
 */
typedef struct {
  const char      *name;     /* "ioc": one of the plugin's namespaces, not a
                              * built-in command; unique */
  const char      *summary;  /* one line for `vigil --help` */
  VigilCommandFunc run;
  gpointer         user_data;
  guint            flags;    /* VigilCommandFlags; Since: 1.0 */
  guint32          reserved; /* Since: 1.1; must be zero */
} VigilCommand;

/* ------------------------------------------------------------------ */
/* Protected actions                                                   */
/* ------------------------------------------------------------------ */

/**
 * VigilProtectedAction:
 * An action an admin can put under the host's password protection (the
 * `general` section, group `password_protection`). Since: 1.1
 *
 * A protected action whose id is one of the plugin's task types protects
 * that task type too: creating a task of it (from the CLI, the host API or
 * a plugin) and running one by hand first pass the password check. A
 * plugin checks its other protected actions itself with protect_check.
 */
typedef struct {
  const char *id;          /* "quarantine.restore": "<namespace>.<verb>",
                            * in one of the plugin's namespaces; unique */
  const char *description; /* one line, for admins */
} VigilProtectedAction;

/* ------------------------------------------------------------------ */
/* Host services                                                       */
/* ------------------------------------------------------------------ */

typedef enum {
  VIGIL_SEVERITY_WARNING = 1,
  VIGIL_SEVERITY_ERROR,
} VigilSeverity;

/**
 * VigilHostApi:
 * Host services. Check api->struct_size (or VIGIL_API_HAS) before using a
 * slot added after 1.0. A slot that takes a GError sets it on every
 * failure, a NULL argument the slot does not allow included (INVALID); the
 * others return NULL, FALSE or 0 on a NULL argument.
 */
struct _VigilHostApi {
  guint32 struct_size;
  guint16 abi_major;
  guint16 abi_minor;

  /* Since: 1.0. Logs through the host's logger, tagged with the plugin id. */
  void (*log) (VigilPlugin *self, GLogLevelFlags level, const char *format, ...)
      G_GNUC_PRINTF (3, 4);

  /* Since: 1.0. Registrations, during init only. @size is sizeof the struct
   * as the plugin knows it. Errors: DUPLICATE, INVALID, NAMESPACE. Any
   * failed registration refuses the whole plugin, even if init goes on and
   * returns TRUE, and everything it registered is rolled back.
   * Rules checked: section, group and field ids [a-z0-9_]+, unique; a
   * section id is one of the plugin's namespaces; task type ids
   * "<namespace>.<verb>" in one of the plugin's namespaces, unique; one
   * handler per event type (or prefix) per plugin; command names
   * [a-z][a-z0-9-]*, one of the plugin's namespaces, unique, not a
   * built-in command; ENUM fields have enum_values; ranges only on INT and
   * LIST; default_json parses and fits its field; unknown flags and
   * non-zero reserved members are refused. */
  gboolean (*register_section) (VigilPlugin *self, const VigilSection *section,
                                gsize size, GError **error);
  gboolean (*register_task_type) (VigilPlugin *self, const VigilTaskType *type,
                                  gsize size, GError **error);
  gboolean (*register_event_handler) (VigilPlugin *self,
                                      const VigilEventHandler *handler,
                                      gsize size, GError **error);
  gboolean (*register_command) (VigilPlugin *self, const VigilCommand *command,
                                gsize size, GError **error);

  /* Since: 1.0. Adds a problem to a validation report. @path is relative
   * to the section or task params ("connection.servers[1].port"). */
  void (*report_problem) (VigilReport *report, VigilSeverity severity,
                          const char *path, const char *format, ...)
      G_GNUC_PRINTF (4, 5);

  /* Since: 1.0. Emits an event; handlers run later on the main thread, the
   * event is stored first. @type is "<namespace>.<what>" in one of the
   * plugin's namespaces (NAMESPACE otherwise); @device_id may be NULL for
   * a host-wide event; @payload (may be NULL: empty) is copied. Returns:
   * (transfer full) the event id, or NULL with @error. */
  char *(*emit_event) (VigilPlugin *self, const char *type,
                       const char *device_id, guint payload_version,
                       JsonObject *payload, GError **error);

  /* Since: 1.0. Creates a task. Errors: NOT_FOUND (type, device or group;
   * for a type, the message names the plugin to enable when known),
   * INVALID (params, spec); for a protected task type (see
   * #VigilProtectedAction), the password check's error. Returns: (transfer
   * full) the task id, or NULL. */
  char *(*create_task) (VigilPlugin *self, const VigilTaskSpec *spec,
                        gsize spec_size, GError **error);

  /* Since: 1.0. Whether a task type is registered (by any plugin). */
  gboolean (*has_task_type) (VigilPlugin *self, const char *type_id);

  /* Since: 1.0. The effective settings of @section_id for @device_id: group
   * id -> key -> value, with defaults filled in. Secrets are included (the
   * plugin needs them); never log them. Returns: (transfer full). */
  JsonObject *(*get_effective_settings) (VigilPlugin *self,
                                         const char *device_id,
                                         const char *section_id,
                                         GError **error);

  /* Since: 1.0. Device inventory. Returns: (transfer full) an object with
   * "id", "name", "group" (group id), "group_path", "root" (or null),
   * "out_of_office"; NULL with NOT_FOUND. */
  JsonObject *(*get_device) (VigilPlugin *self, const char *device_id,
                             GError **error);

  /* Since: 1.0. The host clock (injectable in tests): UTC microseconds. */
  gint64 (*now) (VigilPlugin *self);

  /* Since: 1.0. A folder private to this plugin in the state folder,
   * created on first call (mode 0700). (transfer none), valid for life. */
  const char *(*data_dir) (VigilPlugin *self);

  /* Since: 1.0. A small durable document store in the host database,
   * namespaced by plugin and collection. put replaces; get returns
   * (transfer full) or NULL when absent; list returns (transfer full) an
   * object key -> document, keys in ascending order. */
  gboolean (*store_put) (VigilPlugin *self, const char *collection,
                         const char *key, JsonNode *document, GError **error);
  JsonNode *(*store_get) (VigilPlugin *self, const char *collection,
                          const char *key, GError **error);
  gboolean (*store_delete) (VigilPlugin *self, const char *collection,
                            const char *key, GError **error);
  JsonObject *(*store_list) (VigilPlugin *self, const char *collection,
                             GError **error);

  /* Since: 1.0. Inside a task run. */
  const char *(*task_device_id) (VigilTaskRun *run);
  /* The device's root folder ("/" when it has none); every file the task
   * touches on the device goes through it. (transfer none) */
  const char *(*task_device_root) (VigilTaskRun *run);
  const char *(*task_id) (VigilTaskRun *run);
  void (*task_progress) (VigilTaskRun *run, double fraction,
                         const char *message);
  void (*task_add_finding) (VigilTaskRun *run, JsonObject *finding);
  void (*task_set_result) (VigilTaskRun *run, JsonNode *result);
  /* The plugin that owns the run's task type: pass it to create_task or
   * emit_event from inside a run (e.g. quarantine what was found). */
  VigilPlugin *(*task_plugin) (VigilTaskRun *run);

  /* Since: 1.0. The proxy to use for @url from @device_id, per the host's
   * `general` section (do not use / from the environment / specified, with
   * bypass for local addresses). Returns: (transfer full) a proxy URI such
   * as "http://user:pass@host:8080", or NULL for a direct connection (with
   * @error unset) or on error. The URI may hold a secret: never log it. */
  char *(*resolve_proxy) (VigilPlugin *self, const char *device_id,
                          const char *url, GError **error);

  /* Since: 1.0. Whether @event is excluded from EDR telemetry by the
   * `general` section's exclusion rules for its device. */
  gboolean (*telemetry_excluded) (VigilPlugin *self, const VigilEvent *event);

  /* Since: 1.0. The host's password protection of a protected action
   * ("quarantine.restore"): TRUE when the action is not protected, or when
   * the password the user gives (asked on the terminal, or read from the fd
   * named by VIGIL_PASSWORD_FD) matches; FALSE with @error otherwise, and
   * whenever the host cannot tell (it fails closed). @action is one the
   * host or a loaded plugin declared (register_protected_action); for a
   * plugin built for 1.1 or later an undeclared one is an INVALID error (a
   * 1.0 plugin could not declare it, so it is never protected). It may
   * prompt: main thread only, never from a task run. */
  gboolean (*protect_check) (VigilPlugin *self, const char *action,
                             GError **error);

  /* Since: 1.0. A task of one of this plugin's own task types, as
   * `vigil task show ID --json` prints it ("id", "type", "name", "params",
   * "schedule", "device" or "group", "state", ...). A plugin reads only its
   * own tasks (since 1.1 also those it created with create_task, of any
   * type): another plugin's is NOT_FOUND like a missing one.
   * Returns: (transfer full) or NULL with @error. */
  JsonObject *(*get_task) (VigilPlugin *self, const char *task_id, GError **error);

  /* Since: 1.1. Declares a protected action (see #VigilProtectedAction),
   * during init only, like the other registrations. Errors: DUPLICATE,
   * INVALID, NAMESPACE. */
  gboolean (*register_protected_action) (VigilPlugin *self,
                                         const VigilProtectedAction *action,
                                         gsize size, GError **error);

  /* Since: 1.1. Where each of @device_id's effective settings of
   * @section_id (as get_effective_settings returns them) comes from: group
   * id -> key -> {"source": "default" | "policy" | "local"}, a policy's
   * also with "policy" (its name), "group" (the admin group the policy is
   * configured for) and "locked". A response that acts on "the admin group
   * of the policy" asks here which group that is. Returns: (transfer full),
   * or NULL with @error (NOT_FOUND: device or section). */
  JsonObject *(*get_effective_origins) (VigilPlugin *self, const char *device_id,
                                        const char *section_id, GError **error);

  /* Since: 1.1 (appended after the first 1.1 slots: check VIGIL_API_HAS).
   * Tells the host that the protection product's databases of @device_id
   * (NULL: host-wide) were updated: the host emits `host.database_updated`
   * with the plugin's id as source and @payload (may be NULL: empty;
   * copied), and when it is dispatched the tasks scheduled
   * {"kind":"after_update"} start, exactly as for the event emitted by
   * `vigil event emit`. The only host event a plugin can cause. Thread-safe
   * (callable from a task run). Returns: (transfer full) the event id, or
   * NULL with @error. */
  char *(*database_updated) (VigilPlugin *self, const char *device_id,
                             JsonObject *payload, GError **error);

  /* Since: 1.1 (appended after database_updated: check VIGIL_API_HAS).
   * Inside a task run: hands the file open on @fd (read from its current
   * offset to its end, at most @max_bytes: a file that grew past it is
   * refused, nothing kept) to the console's evidence store as a file of
   * the run's device at device path @path. On a console or a single
   * machine it goes into the state folder's store at once; on an agent it
   * is kept in the agent's store and sent to the console's (docs/fleet.md
   * "Evidence"). Stored encrypted, whole or not at all. Thread-safe.
   * Returns: (transfer full) {id, device, path, task, size, sha256, md5,
   * retrieved_at, stored_at}, or NULL with @error. */
  JsonObject *(*evidence_put) (VigilTaskRun *run, const char *path, int fd,
                               gint64 max_bytes, GError **error);
  /* Since: 1.1 (appended after evidence_put: check VIGIL_API_HAS). Inside a task run only:
   * creates a task of @spec for the run's own device (@spec names no
   * device or group; its schedule is ignored: "manual") and runs it at
   * once on the calling thread, recorded like any run (its
   * task.completed / task.failed emitted), cancelled with @run. For an
   * action that needs another plugin's task as one of its steps and must
   * know it finished first (file.delete copies into the quarantine with
   * quarantine.put before it deletes), without a second copy of that
   * plugin's code. A protected task type is refused (INVALID): no
   * password can be asked from a run. @task_id (optional) receives the
   * new task's id. Returns: (transfer full) the run's result (a JSON null
   * when it set none), or NULL with the run's error (CANCELLED when it
   * was cancelled). */
  JsonNode *(*task_run_nested) (VigilTaskRun *run, const VigilTaskSpec *spec,
                                gsize spec_size, char **task_id, GError **error);
};

/* Whether @api has the slot @member (added in a later minor). */
#define VIGIL_API_HAS(api, member) \
  ((api)->struct_size >= G_STRUCT_OFFSET (VigilHostApi, member) + sizeof ((api)->member))

G_END_DECLS
