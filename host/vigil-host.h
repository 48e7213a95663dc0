/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:vigil-host
 * @title: libvigil-host, the embedding API
 *
 * The C API for applications that embed the Vigil plugin host: open a state
 * folder, load plugins, manage the inventory (groups, devices), validate,
 * apply and inspect policies, create and run tasks and read their results,
 * emit and query events and subscribe to them. The `vigil` CLI is built on
 * this API only; docs/embedding.md walks through it.
 *
 * Threads: functions are not thread-safe unless they say so; call them from
 * the thread that created the host (its "main thread"). Subscriptions are
 * delivered on the GMainContext given when subscribing.
 *
 * Errors: a function that can fail takes a GError last and returns FALSE,
 * NULL or 0 with it set. Codes are VIGIL_PLUGIN_ERROR (NOT_FOUND for an
 * unknown group, device, policy, task or plugin; INVALID for a malformed
 * argument or document), VIGIL_HOST_ERROR_PROTECTED for a refused
 * password-protected action, and G_IO_ERROR / G_FILE_ERROR for files.
 *
 * JSON results are the objects `vigil ... --json` prints (docs/cli.md);
 * every secret a policy or settings value holds is masked ("********").
 *
 * Versions: the soname is libvigil-host.so.1; functions marked "Since: 1.1"
 * are in the VIGIL_HOST_1.1 symbol version. VIGIL_HOST_VERSION_MINOR tells
 * which minor version a header is.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <vigil/plugin.h>

G_BEGIN_DECLS

/* The minor version of this header: 1 means every "Since: 1.1" function
 * exists. Since: 1.1 */
#define VIGIL_HOST_VERSION_MAJOR 1
#define VIGIL_HOST_VERSION_MINOR 1

/**
 * VigilHost:
 * The plugin host on one state folder: opaque; vigil_host_new() makes one,
 * vigil_host_free() (or g_autoptr) ends it. Since: 1.0
 */
typedef struct _VigilHost VigilHost;

/**
 * VigilClockFunc:
 * @user_data: as given to vigil_host_set_clock()
 * Returns: the time in UTC microseconds; replaces the wall clock (tests,
 *   simulations). Called from any thread. Since: 1.0
 */
typedef gint64 (*VigilClockFunc) (gpointer user_data);

/**
 * VigilHostOptions:
 * @struct_size: sizeof (VigilHostOptions), so that later versions can add
 *   members
 * @state_dir: the state folder (database, plugin data); NULL means
 *   $XDG_DATA_HOME/vigil
 * @config_file: the host config (GKeyFile); NULL means <state_dir>/vigil.conf.
 *   A missing file is not an error.
 * @plugin_dirs: (nullable) extra plugin folders, NULL-terminated. Plugins
 *   are looked for in these, then in VIGIL_PLUGIN_PATH (colon-separated),
 *   then in the config's [plugins] folders, then in the install folder
 *   ($libdir/vigil/plugins-1).
 * @skip_install_dir: do not search the install folder (tests)
 * Since: 1.0
 */
typedef struct {
  gsize               struct_size;
  const char         *state_dir;
  const char         *config_file;
  const char *const  *plugin_dirs;
  gboolean            skip_install_dir;
} VigilHostOptions;

/**
 * vigil_host_new:
 * @options: (nullable) where the state, config and plugins are
 * @error: set when the state folder, config or store cannot be opened
 *
 * Opens (creating if needed) the state folder and its database. The thread
 * calling it is the host's main thread.
 * Returns: (transfer full) a host with no plugins loaded yet; call
 *   vigil_host_load_plugins() next. Since: 1.0
 */
VigilHost   *vigil_host_new              (const VigilHostOptions *options,
                                          GError                **error);

/**
 * vigil_host_free:
 * @host: (nullable) (transfer full) a host; end its subscriptions first
 *
 * Runs the plugins' shutdowns in reverse load order and closes the store.
 * Plugins stay mapped (never unloaded). Since: 1.0
 */
void         vigil_host_free             (VigilHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilHost, vigil_host_free)

/**
 * vigil_host_set_clock:
 * @host: the host
 * @clock: (nullable) the clock; NULL restores the wall clock
 * @user_data: for @clock
 * Since: 1.0
 */
void         vigil_host_set_clock        (VigilHost      *host,
                                          VigilClockFunc  clock,
                                          gpointer        user_data);

/**
 * vigil_host_now:
 * @host: the host
 * Returns: the host's time in UTC microseconds. Thread-safe. Since: 1.0
 */
gint64       vigil_host_now              (VigilHost *host);

/**
 * vigil_host_state_dir:
 * @host: the host
 * Returns: (transfer none) the absolute state folder. Since: 1.0
 */
const char  *vigil_host_state_dir        (VigilHost *host);

/**
 * vigil_host_load_plugins:
 * @host: the host
 *
 * Loads every enabled plugin of the plugin folders, once; later calls do
 * nothing. A plugin that fails is kept with its reason
 * (vigil_host_plugins()) and never stops the others. Since: 1.0
 */
void         vigil_host_load_plugins     (VigilHost *host);

/**
 * vigil_host_skip_plugins:
 * @host: the host
 *
 * Instead of vigil_host_load_plugins(): records every plugin of the plugin
 * folders (vigil_host_plugins() lists them, state "skipped", or "disabled"
 * or "refused" as the loader would say) without opening any file, so that
 * no plugin code runs. For starting without plugins (`vigil
 * --no-plugins`) and for changing which plugins load (`vigil plugins
 * enable|disable`) even when a plugin crashes the process. Once; later
 * calls of either function do nothing. Since: 1.1
 */
void         vigil_host_skip_plugins     (VigilHost *host);

/**
 * vigil_host_reload:
 * @host: the host
 *
 * For a long-running host (`vigil serve` on SIGHUP): re-reads this
 * machine's failure diagnosis settings and reopens the trace files, also
 * when the settings did not change, so that files logrotate moved away are
 * let go. Policies, inventory and plugins' settings need no reload: they
 * are read from the store at each use. Plugins and the host config are
 * read once at start: changing them needs a restart. Main thread.
 * Since: 1.1
 */
void         vigil_host_reload           (VigilHost *host);

/**
 * vigil_host_plugins:
 * @host: the host
 *
 * One object per plugin file seen, in load order: id, name, version,
 * license, description, file, abi, state ("loaded" | "refused" |
 * "disabled"), reason, sections, task_types, event_handlers, commands.
 * "reason" starts with the file's path; it is null for a loaded plugin.
 * Contributions are empty unless loaded (a refused plugin's registrations
 * are rolled back).
 * Returns: (transfer full) the array. Since: 1.0
 */
JsonArray   *vigil_host_plugins          (VigilHost *host);

/**
 * vigil_host_validate_policy:
 * @host: the host
 * @policy: a policy document (docs/policies.md)
 *
 * Checks @policy against the loaded sections, their validate callbacks
 * included; stores nothing.
 * Returns: (transfer full) every problem as {severity, path, message};
 *   empty when the policy is valid. Since: 1.0
 */
JsonArray   *vigil_host_validate_policy  (VigilHost  *host,
                                          JsonObject *policy);

/**
 * vigil_host_emit_event:
 * @host: the host
 * @source: who emits it ("cli", an application name)
 * @type: the event type ("sandbox.threat_detected", docs/events.md)
 * @device_id: (nullable) the device it concerns; NULL for a host-wide event
 * @payload_version: the version of the payload's layout, from 1
 * @payload: (nullable) the payload (copied); NULL means {}
 * @error: INVALID (type, device id, payload too large), NOT_FOUND (a
 *   well-formed @device_id that is not in the inventory; before 1.1 such an
 *   event was stored anyway)
 *
 * Stores the event and queues it for dispatch to the plugins' handlers at
 * the next vigil_host_run_until_idle(). Thread-safe.
 * Returns: (transfer full) the event id, or NULL. Since: 1.0
 */
char        *vigil_host_emit_event       (VigilHost   *host,
                                          const char  *source,
                                          const char  *type,
                                          const char  *device_id,
                                          guint        payload_version,
                                          JsonObject  *payload,
                                          GError     **error);

/**
 * vigil_host_run_until_idle:
 * @host: the host
 * @cancellable: (nullable) cancels the runs and stops the loop
 *
 * Dispatches pending events and runs every task run that is due now, then
 * again for what that set off, until nothing is left to do now (at most 100
 * rounds, so that a handler answering its own events cannot keep the caller
 * forever). Main thread.
 * Returns: the number of runs executed. Since: 1.0
 */
guint        vigil_host_run_until_idle   (VigilHost     *host,
                                          GCancellable  *cancellable);

/* ==================================================================== */
/* Since 1.1                                                            */
/* ==================================================================== */

/**
 * VigilHostError:
 * @VIGIL_HOST_ERROR_PROTECTED: a password-protected action was refused
 *   (wrong password, or no way to ask for one)
 *
 * Errors of the VIGIL_HOST_ERROR domain. Since: 1.1
 */
typedef enum {
  VIGIL_HOST_ERROR_PROTECTED = 1,
} VigilHostError;

#define VIGIL_HOST_ERROR (vigil_host_error_quark ())
/**
 * vigil_host_error_quark:
 * Returns: the quark of the VIGIL_HOST_ERROR domain. Since: 1.1
 */
GQuark       vigil_host_error_quark      (void);

/* Size limits the host applies to untrusted documents. Since: 1.1 */
#define VIGIL_HOST_POLICY_MAX_BYTES  (1024 * 1024)
#define VIGIL_HOST_EVENT_MAX_PAYLOAD (1024 * 1024)
#define VIGIL_HOST_EVENT_MAX_ENVELOPE (VIGIL_HOST_EVENT_MAX_PAYLOAD + 64 * 1024)

/* ---- host ----------------------------------------------------------- */

/**
 * vigil_host_config_path:
 * @host: the host
 * Returns: (transfer none) the host config file in use (it may not exist).
 * Since: 1.1
 */
const char  *vigil_host_config_path      (VigilHost *host);

/**
 * vigil_host_set_verbose:
 * @host: the host
 * @verbose: TRUE to let info and debug messages reach stderr (warnings and
 *   errors always do; the environment variable VIGIL_VERBOSE=1 also turns
 *   this on)
 * Since: 1.1
 */
void         vigil_host_set_verbose      (VigilHost *host,
                                          gboolean   verbose);

/* ---- plugins -------------------------------------------------------- */

/**
 * vigil_host_plugin:
 * @host: the host
 * @id: a plugin id
 * @error: NOT_FOUND when no plugin file of that id was seen
 * Returns: (transfer full) one element of vigil_host_plugins(), or NULL.
 * Since: 1.1
 */
JsonObject  *vigil_host_plugin           (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_set_plugin_enabled:
 * @host: the host
 * @id: a plugin id; one not seen is refused (NOT_FOUND), except that a
 *   plugin the config disables may always be enabled again
 * @enabled: FALSE to keep the host from ever opening the plugin
 * @error: NOT_FOUND, VIGIL_HOST_ERROR_PROTECTED (disabling is the
 *   protected action "plugins.disable"), or a file error writing the config
 *
 * Rewrites the host config (vigil_host_config_path()) atomically. The change
 * applies to hosts opened afterwards, not to this one.
 * Returns: TRUE when the config was written. Since: 1.1
 */
gboolean     vigil_host_set_plugin_enabled (VigilHost   *host,
                                            const char  *id,
                                            gboolean     enabled,
                                            GError     **error);

/**
 * vigil_host_sections:
 * @host: the host
 * Returns: (transfer full) the registered policy sections in registration
 *   order: {id, plugin, title, schema_version, groups: [{id, title,
 *   n_fields}]}. "plugin" is "host" for the host's own `general`.
 * Since: 1.1
 */
JsonArray   *vigil_host_sections         (VigilHost *host);

/**
 * vigil_host_task_types:
 * @host: the host
 * Returns: (transfer full) the registered task types: {id, plugin, title,
 *   description}. Since: 1.1
 */
JsonArray   *vigil_host_task_types       (VigilHost *host);

/**
 * vigil_host_event_handlers:
 * @host: the host
 * Returns: (transfer full) the registered event handlers in dispatch order:
 *   {event_type, plugin}. Since: 1.1
 */
JsonArray   *vigil_host_event_handlers   (VigilHost *host);

/**
 * vigil_host_commands:
 * @host: the host
 * Returns: (transfer full) the registered commands: {name, summary, plugin,
 *   json} ("json": the command accepts --json). Since: 1.1
 */
JsonArray   *vigil_host_commands         (VigilHost *host);

/**
 * vigil_host_run_command:
 * @host: the host
 * @name: a command a plugin (or the host) registered
 * @argc: the number of arguments in @argv
 * @argv: the arguments, argv[0] being @name; the command may reorder them
 * @exit_status: (out) the command's exit code
 * @error: NOT_FOUND when no command has that name
 * Returns: TRUE when the command ran (whatever its exit code). Since: 1.1
 */
gboolean     vigil_host_run_command      (VigilHost   *host,
                                          const char  *name,
                                          int          argc,
                                          char       **argv,
                                          int         *exit_status,
                                          GError     **error);

/* ---- password protection ------------------------------------------- */

/**
 * vigil_host_check_protected:
 * @host: the host
 * @action: a protected action ("plugins.disable", "task.delete",
 *   "quarantine.restore", ...)
 * @error: VIGIL_HOST_ERROR_PROTECTED with the reason when refused
 *
 * Checks the `general` password protection of @action: TRUE at once when
 * no password is set or @action is not protected; otherwise the password
 * is read from the file descriptor named by VIGIL_PASSWORD_FD, or asked on
 * the terminal, and compared with the stored hash. Never logs the password.
 * Returns: TRUE when the action may go ahead. Since: 1.1
 */
gboolean     vigil_host_check_protected  (VigilHost   *host,
                                          const char  *action,
                                          GError     **error);

/* ---- inventory ------------------------------------------------------ */

/**
 * vigil_host_add_group:
 * @host: the host
 * @id: the new group's id (letters, digits, '.', '_', '-'; at most 128)
 * @name: (nullable) a display name; NULL means the id
 * @parent: (nullable) the parent group; NULL means "root"
 * @error: INVALID (bad id, existing group), NOT_FOUND (parent)
 * Returns: TRUE when added. Since: 1.1
 */
gboolean     vigil_host_add_group        (VigilHost   *host,
                                          const char  *id,
                                          const char  *name,
                                          const char  *parent,
                                          GError     **error);

/**
 * vigil_host_move_group:
 * @host: the host
 * @id: the group to move (not "root")
 * @parent: its new parent; a move that would make a cycle is refused
 * @error: the reason when refused; VIGIL_HOST_ERROR_PROTECTED when the move
 *   would weaken this machine's password protection and the current
 *   password is not given (see vigil_host_add_device)
 * Returns: TRUE when moved. Since: 1.1
 */
gboolean     vigil_host_move_group       (VigilHost   *host,
                                          const char  *id,
                                          const char  *parent,
                                          GError     **error);

/**
 * vigil_host_remove_group:
 * @host: the host
 * @id: an empty group (no subgroups, devices or policies), not "root"
 * @error: the reason when refused
 * Returns: TRUE when removed. Since: 1.1
 */
gboolean     vigil_host_remove_group     (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_groups:
 * @host: the host
 * @error: a store error
 * Returns: (transfer full) every group {id, name, parent} ordered by id
 *   (the parent of "root" is null), or NULL. Since: 1.1
 */
JsonArray   *vigil_host_groups           (VigilHost   *host,
                                          GError     **error);

/**
 * vigil_host_group:
 * @host: the host
 * @id: a group id
 * @error: NOT_FOUND
 * Returns: (transfer full) the group {id, name, parent}, or NULL.
 * Since: 1.1
 */
JsonObject  *vigil_host_group            (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_add_device:
 * @host: the host
 * @id: the new device's id (same rules as group ids)
 * @name: (nullable) a display name; NULL means the id
 * @group: its admin group
 * @root: (nullable) an absolute folder standing for the device's file
 *   system (labs, tests); NULL means "/"
 * @error: INVALID, NOT_FOUND (group)
 *
 * The device is never made this machine by being added (see
 * vigil_host_set_machine_device; the `vigil device add` command does that
 * for the first device without a root folder of a host that has none).
 * Like every inventory change, the change is refused with
 * VIGIL_HOST_ERROR_PROTECTED when it would weaken this machine's password
 * protection and the current password is not given (asked on the
 * terminal or read from the fd named by env VIGIL_PASSWORD_FD).
 * Returns: TRUE when added. Since: 1.1
 */
gboolean     vigil_host_add_device       (VigilHost   *host,
                                          const char  *id,
                                          const char  *name,
                                          const char  *group,
                                          const char  *root,
                                          GError     **error);

/**
 * vigil_host_move_device:
 * @host: the host
 * @id: a device
 * @group: its new group
 * @error: NOT_FOUND, VIGIL_HOST_ERROR_PROTECTED (see vigil_host_add_device)
 * Returns: TRUE when moved. Since: 1.1
 */
gboolean     vigil_host_move_device      (VigilHost   *host,
                                          const char  *id,
                                          const char  *group,
                                          GError     **error);

/**
 * vigil_host_remove_device:
 * @host: the host
 * @id: a device
 * @error: NOT_FOUND, VIGIL_HOST_ERROR_PROTECTED (see vigil_host_add_device)
 *
 * Removing this machine's device leaves the machine without one. Also
 * forgets the device's agent record (vigil_host_device_agent()), so that a
 * device added again under the same id starts without an agent.
 * Returns: TRUE when removed. Since: 1.1
 */
gboolean     vigil_host_remove_device    (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_set_machine_device:
 * @host: the host
 * @id: a device
 * @error: NOT_FOUND, VIGIL_HOST_ERROR_PROTECTED (see vigil_host_add_device)
 *
 * Records @id as the device that stands for the machine this host runs
 * on: its effective `general` settings are this machine's password
 * protection and trace files. Nothing else (no environment variable, no
 * device id) chooses it.
 * Returns: TRUE when recorded. Since: 1.1
 */
gboolean     vigil_host_set_machine_device (VigilHost   *host,
                                            const char  *id,
                                            GError     **error);

/**
 * vigil_host_machine_device:
 * @host: the host
 * @error: a store error
 * Returns: (transfer full) (nullable) the id of this machine's device, or
 *   NULL when none is recorded (@error unset). Since: 1.1
 */
char        *vigil_host_machine_device   (VigilHost   *host,
                                          GError     **error);

/**
 * vigil_host_device:
 * @host: the host
 * @id: a device
 * @error: NOT_FOUND
 * Returns: (transfer full) {id, name, group, group_path, root (or null),
 *   out_of_office, this_machine}, or NULL. Since: 1.1
 */
JsonObject  *vigil_host_device           (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_devices:
 * @host: the host
 * @group: (nullable) only this group and its subgroups; NULL for all
 * @error: NOT_FOUND (group)
 * Returns: (transfer full) device objects as vigil_host_device(), by id.
 * Since: 1.1
 */
JsonArray   *vigil_host_devices          (VigilHost   *host,
                                          const char  *group,
                                          GError     **error);

/**
 * vigil_host_begin_device_enrollment:
 * @host: the host (a console)
 * @device_id: a device of the inventory
 * @enrollment: the new enrollment's id
 * @token_sha256: the hex SHA-256 of its one-time token (the token itself
 *   is never stored)
 * @expires: Unix time (seconds) after which the token is refused
 * @error: NOT_FOUND (device), INVALID, or a store error
 *
 * Records that @device_id is being enrolled as an agent of the fleet:
 * its state becomes "pending", replacing whatever it was (a new
 * enrollment makes any older certificate of the device a stranger).
 * Returns: TRUE on success. Since: 1.1
 */
gboolean     vigil_host_begin_device_enrollment (VigilHost   *host,
                                                 const char  *device_id,
                                                 const char  *enrollment,
                                                 const char  *token_sha256,
                                                 gint64       expires,
                                                 GError     **error);

/**
 * vigil_host_complete_device_enrollment:
 * @host: the host
 * @device_id: a device
 * @enrollment: the pending enrollment's id
 * @error: NOT_FOUND when @device_id has no such pending enrollment (never
 *   started, already completed by another process, or replaced)
 *
 * Spends the enrollment's token: the state becomes "enrolled" and the
 * token's hash is forgotten. Succeeds once per enrollment, also across
 * processes sharing the state folder.
 * Returns: TRUE on success. Since: 1.1
 */
gboolean     vigil_host_complete_device_enrollment (VigilHost   *host,
                                                    const char  *device_id,
                                                    const char  *enrollment,
                                                    GError     **error);

/**
 * vigil_host_revoke_device_agent:
 * @host: the host
 * @device_id: a device
 * @error: NOT_FOUND when the device never had an agent
 *
 * Marks the device's agent "revoked": its heartbeats are no longer
 * recorded. Cutting it off the broker is the caller's part.
 * Returns: TRUE on success. Since: 1.1
 */
gboolean     vigil_host_revoke_device_agent (VigilHost   *host,
                                             const char  *device_id,
                                             GError     **error);

/**
 * vigil_host_record_device_heartbeat:
 * @host: the host
 * @device_id: the device the heartbeat came from (as the transport
 *   authenticated it, not as the heartbeat claims)
 * @heartbeat: the heartbeat, untrusted: {agent_version (string, at most
 *   64), plugins ([{name, version}], at most 256), interval (seconds, 1 to
 *   3600), status ("online" or "stopping")}; other members are ignored
 * @error: INVALID (naming the member), NOT_FOUND when the device is not
 *   enrolled (pending, revoked or unknown: the heartbeat is dropped)
 *
 * Stores what the heartbeat says, with the host clock's time as last seen.
 * Returns: TRUE if stored. Since: 1.1
 */
gboolean     vigil_host_record_device_heartbeat (VigilHost   *host,
                                                 const char  *device_id,
                                                 JsonObject  *heartbeat,
                                                 GError     **error);

/**
 * vigil_host_device_agent:
 * @host: the host
 * @device_id: a device
 * @error: NOT_FOUND when the device never had an agent
 *
 * Returns: (transfer full) {device, state ("pending", "enrolled",
 *   "revoked"), enrollment, token_sha256 and expires (pending only, else
 *   null), enrolled_at, last_seen (microseconds, or null), agent_version,
 *   plugins ([{name, version}]), heartbeat_interval (seconds), online
 *   (enrolled, and its last heartbeat said "online" less than three
 *   intervals ago)}, or NULL. Since: 1.1
 */
JsonObject  *vigil_host_device_agent     (VigilHost   *host,
                                          const char  *device_id,
                                          GError     **error);

/**
 * vigil_host_device_agents:
 * @host: the host
 * @error: a store error
 * Returns: (transfer full) every agent record, as vigil_host_device_agent(),
 *   by device id. Since: 1.1
 */
JsonArray   *vigil_host_device_agents    (VigilHost   *host,
                                          GError     **error);

/**
 * vigil_host_set_device_out_of_office:
 * @host: the host
 * @id: a device
 * @out_of_office: TRUE when the device left the corporate network
 * @error: NOT_FOUND, VIGIL_HOST_ERROR_PROTECTED (see vigil_host_add_device)
 * Returns: TRUE when changed. Since: 1.1
 */
gboolean     vigil_host_set_device_out_of_office (VigilHost   *host,
                                                  const char  *id,
                                                  gboolean     out_of_office,
                                                  GError     **error);

/**
 * vigil_host_set_device_settings:
 * @host: the host
 * @id: a device
 * @settings: local settings, section -> group -> key -> value
 * @problems: (out) (optional) (transfer full) {severity, path, message} of
 *   every problem found, warnings included
 * @stored: (out) (optional) (transfer full) the settings as stored (known
 *   keys only)
 * @error: INVALID when @problems has errors (nothing changed), NOT_FOUND,
 *   VIGIL_HOST_ERROR_PROTECTED (see vigil_host_add_device)
 *
 * Checks @settings against the loaded sections, then replaces the device's
 * local settings. They apply only to settings groups no policy locks.
 * Returns: TRUE when stored. Since: 1.1
 */
gboolean     vigil_host_set_device_settings (VigilHost   *host,
                                             const char  *id,
                                             JsonObject  *settings,
                                             JsonArray  **problems,
                                             JsonObject **stored,
                                             GError     **error);

/**
 * vigil_host_apply_managed_settings:
 * @host: the host (a fleet agent's)
 * @id: the agent's own device
 * @settings: section -> group -> key -> value: the device's effective
 *   settings as its managing console computed them, secrets included
 * @problems: (out) (optional) (transfer full) as for
 *   vigil_host_set_device_settings()
 * @error: INVALID (nothing changed), NOT_FOUND
 *
 * vigil_host_set_device_settings() for settings that come from the
 * device's managing console over the fleet's authenticated channel (the
 * agent's own settings key, docs/fleet.md). The console's policy is the
 * authority over a managed machine's password protection, so a change
 * that weakens it (the console turned protection off or changed the
 * password) is stored without asking the local password; the change is
 * still recorded (host.inventory_changed, device_local_settings). Every
 * other check applies. Never call it with settings from anywhere else:
 * it is how the console lifts what its policy set, not a way around the
 * local password.
 * Returns: TRUE when stored. Since: 1.1
 */
gboolean     vigil_host_apply_managed_settings (VigilHost   *host,
                                                const char  *id,
                                                JsonObject  *settings,
                                                JsonArray  **problems,
                                                GError     **error);

/**
 * vigil_host_device_settings:
 * @host: the host
 * @id: a device
 * @error: NOT_FOUND
 * Returns: (transfer full) the device's local settings (section -> group ->
 *   key -> value; empty when none), secrets masked. Since: 1.1
 */
JsonObject  *vigil_host_device_settings  (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/* ---- policies ------------------------------------------------------- */

/**
 * vigil_host_parse_policy:
 * @data: untrusted bytes
 * @length: their length (at most VIGIL_HOST_POLICY_MAX_BYTES)
 * @problems: (out) (transfer full) the syntax problems with line and
 *   column, or an empty array
 *
 * Parses a policy document with the host's size and depth limits. It does
 * not validate it: see vigil_host_validate_policy().
 * Returns: (transfer full) the object, or NULL when @problems has errors.
 * Since: 1.1
 */
JsonObject  *vigil_host_parse_policy     (const char  *data,
                                          gsize        length,
                                          JsonArray  **problems);

/**
 * vigil_host_apply_policy:
 * @host: the host
 * @policy: a policy document (docs/policies.md)
 * @problems: (out) (optional) (transfer full) every problem found
 * @made_inactive: (out) (optional) (transfer full) the name of the policy of
 *   the same group and status that this one displaced (it is now
 *   inactive), or NULL
 * @error: INVALID when @problems has errors, a store error, or
 *   VIGIL_HOST_ERROR_PROTECTED
 *
 * Validates @policy and stores it, replacing a policy of the same name.
 * When the change would weaken this machine's password protection (turn
 * it off, change the password, narrow the protected actions; also by
 * making the policy that carries it inactive) it asks the current
 * password (terminal, or the fd named by env VIGIL_PASSWORD_FD) and is
 * refused with VIGIL_HOST_ERROR_PROTECTED without it.
 * Returns: TRUE when stored. Since: 1.1
 */
gboolean     vigil_host_apply_policy     (VigilHost   *host,
                                          JsonObject  *policy,
                                          JsonArray  **problems,
                                          char       **made_inactive,
                                          GError     **error);

/**
 * vigil_host_import_policy:
 * Like vigil_host_apply_policy(), but first migrates sections written for
 * an older schema version of their plugin. Since: 1.1
 */
gboolean     vigil_host_import_policy    (VigilHost   *host,
                                          JsonObject  *policy,
                                          JsonArray  **problems,
                                          char       **made_inactive,
                                          GError     **error);

/**
 * vigil_host_remove_policy:
 * @host: the host
 * @name: a stored policy
 * @error: NOT_FOUND, VIGIL_HOST_ERROR_PROTECTED (as vigil_host_apply_policy)
 * Returns: TRUE when removed. Since: 1.1
 */
gboolean     vigil_host_remove_policy    (VigilHost   *host,
                                          const char  *name,
                                          GError     **error);

/**
 * vigil_host_policies:
 * @host: the host
 * @error: a store error
 * Returns: (transfer full) [{name, group, status, sections}] by group then
 *   name, or NULL. Since: 1.1
 */
JsonArray   *vigil_host_policies         (VigilHost   *host,
                                          GError     **error);

/**
 * vigil_host_policy:
 * @host: the host
 * @name: a stored policy
 * @error: NOT_FOUND
 * Returns: (transfer full) the stored document with every secret masked,
 *   or NULL. Since: 1.1
 */
JsonObject  *vigil_host_policy           (VigilHost   *host,
                                          const char  *name,
                                          GError     **error);

/**
 * vigil_host_default_policy:
 * @host: the host
 * Returns: (transfer full) a complete policy document with the defaults of
 *   every loaded section, secrets masked. Since: 1.1
 */
JsonObject  *vigil_host_default_policy   (VigilHost *host);

/**
 * vigil_host_effective_settings:
 * @host: the host
 * @device: a device
 * @section: a registered section id
 * @origins: (out) (optional) (transfer full) group -> key -> "default" |
 *   "policy:<name>" | "policy:<name> (locked)" | "local"
 * @error: NOT_FOUND (device, or a section no loaded plugin registered)
 *
 * What the device's plugins see for @section: the defaults, overlaid by
 * the policies of its groups from the root down and by its local settings
 * where no policy locks (docs/policies.md).
 * Returns: (transfer full) group -> key -> value, secrets masked, or NULL.
 * Since: 1.1
 */
JsonObject  *vigil_host_effective_settings (VigilHost   *host,
                                            const char  *device,
                                            const char  *section,
                                            JsonObject **origins,
                                            GError     **error);

/* ---- tasks ---------------------------------------------------------- */

/**
 * VigilProgressFunc:
 * @task_id: the task
 * @device_id: the device of the run
 * @fraction: 0 to 1
 * @message: (nullable) what the run is doing
 * @user_data: as given
 *
 * Called on the main thread, about ten times a second, for each running
 * run whose progress changed. Since: 1.1
 */
typedef void (*VigilProgressFunc) (const char *task_id, const char *device_id,
                                   double fraction, const char *message,
                                   gpointer user_data);

/**
 * vigil_host_create_task:
 * @host: the host
 * @source: who creates it ("cli", an application name)
 * @spec: the task (vigil/plugin.h, VigilTaskSpec); params are checked
 *   against the task type's schema; each exclude_devices entry is a
 *   device id, a group id (every device of that group and its subgroups)
 *   or, to say which, "device:ID" / "group:ID"
 * @error: INVALID, NOT_FOUND (type, device, group, an exclusion naming
 *   neither) with what to do
 *
 * Thread-safe. The task runs when due: vigil_host_run_until_idle(),
 * vigil_host_run_task(), or `vigil serve`.
 * Returns: (transfer full) the task id, or NULL. Since: 1.1
 */
char        *vigil_host_create_task      (VigilHost            *host,
                                          const char           *source,
                                          const VigilTaskSpec  *spec,
                                          GError              **error);

/**
 * vigil_host_create_task_checked:
 * @host: the host
 * @source: who creates it ("cli", an application name)
 * @spec: the task, as for vigil_host_create_task()
 * @warnings: (out) (optional): when the task is created, the warnings its
 *   type's validation gave ([{severity, path, message}], maybe empty), to
 *   show whoever created it (an oversized or unusable IOC file, an
 *   unsupported data type); NULL on error
 * @error: as vigil_host_create_task()
 *
 * Like vigil_host_create_task(), and says what validation warned about.
 * Returns: (transfer full) the task id, or NULL. Since: 1.1
 */
char        *vigil_host_create_task_checked (VigilHost            *host,
                                             const char           *source,
                                             const VigilTaskSpec  *spec,
                                             JsonArray           **warnings,
                                             GError              **error);

/**
 * vigil_host_tasks:
 * @host: the host
 * @error: a store error
 * Returns: (transfer full) every task, oldest first, as vigil_host_task().
 * Since: 1.1
 */
JsonArray   *vigil_host_tasks            (VigilHost   *host,
                                          GError     **error);

/**
 * vigil_host_task:
 * @host: the host
 * @id: a task
 * @error: NOT_FOUND
 * Returns: (transfer full) the task as `vigil task show --json` prints it
 *   (without "runs"): id, name, type, device or group, exclude, params,
 *   schedule, schedule_text, state, next_start, ...
 *   Thread-safe. Since: 1.1
 */
JsonObject  *vigil_host_task             (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_task_runs:
 * @host: the host
 * @id: a task
 * @findings: TRUE to give each run its "findings" array
 * @error: NOT_FOUND, a store error
 * Returns: (transfer full) the task's runs, newest first: {id, task_id,
 *   device, state, progress, message, error, result, ...}. Since: 1.1
 */
JsonArray   *vigil_host_task_runs        (VigilHost   *host,
                                          const char  *id,
                                          gboolean     findings,
                                          GError     **error);

/**
 * vigil_host_run_task:
 * @host: the host
 * @id: a task
 * @progress: (nullable) called while the runs go on
 * @user_data: for @progress
 * @cancellable: (nullable) cancels the runs
 * @error: NOT_FOUND, or why the task cannot start
 *
 * Starts a round of the task now on all its devices, whatever its
 * schedule, waits for it, then dispatches what followed until idle.
 * Returns: (transfer full) the runs of that round (possibly empty: no
 *   device to run on), or NULL. Since: 1.1
 */
JsonArray   *vigil_host_run_task         (VigilHost         *host,
                                          const char        *id,
                                          VigilProgressFunc  progress,
                                          gpointer           user_data,
                                          GCancellable      *cancellable,
                                          GError           **error);

/**
 * vigil_host_run_due:
 * @host: the host
 * @cancellable: (nullable) cancels the runs
 * @error: a store error
 *
 * vigil_host_run_until_idle(), returning what ran.
 * Returns: (transfer full) the runs started, or NULL. Since: 1.1
 */
JsonArray   *vigil_host_run_due          (VigilHost     *host,
                                          GCancellable  *cancellable,
                                          GError       **error);

/**
 * VigilRunDispatchFunc:
 * @host: the host
 * @run: the new run: {run (integer id), task, type, device, params}
 * @user_data: as given to vigil_host_set_run_dispatcher()
 *
 * Offered each new run on the main thread, before it would execute in
 * this process. Return TRUE to take it: the run is then stored
 * "dispatched" and executes elsewhere (an agent); what happens to it comes
 * back through vigil_host_record_run_report(). Return FALSE to let it
 * execute here as usual. Since: 1.1
 */
typedef gboolean (*VigilRunDispatchFunc) (VigilHost  *host,
                                          JsonObject *run,
                                          gpointer    user_data);

/**
 * vigil_host_set_run_dispatcher:
 * @host: the host
 * @func: (nullable) the dispatcher; NULL: every run executes in-process
 * @user_data: for @func
 *
 * Registers the dispatcher of this host object (a fleet console does).
 * vigil_host_run_until_idle() and vigil_host_run_task() wait only for the
 * runs that execute in this process; a dispatched run stays "dispatched"
 * (then "running") until its reports end it, and its task does not start
 * another round before. Since: 1.1
 */
void         vigil_host_set_run_dispatcher (VigilHost            *host,
                                            VigilRunDispatchFunc  func,
                                            gpointer              user_data);

/**
 * vigil_host_record_run_report:
 * @host: the host
 * @device_id: the device the report came from (as the transport
 *   authenticated it, not as the report claims)
 * @report: untrusted: {run (integer), state ("running", "completed" or
 *   "failed"), error (string, required when failed), progress (0 to 1),
 *   message (string), result (any JSON), findings (array of objects)}
 * @error: INVALID naming the member; NOT_FOUND when @device_id has no
 *   such run (another device's run is refused the same way)
 *
 * Applies what the executing side says about a dispatched run:
 * dispatched → running → completed | failed. An ending stores the
 * findings and emits task.completed or task.failed (and
 * task.round_finished after the round's last run), as an in-process run
 * does. Idempotent: a run that ended stays as it ended, so a report
 * delivered twice is stored once and returns TRUE. The report is stored
 * durably when this returns, so a transport may acknowledge it then.
 * Returns: TRUE when applied (or already applied). Since: 1.1
 */
gboolean     vigil_host_record_run_report  (VigilHost   *host,
                                            const char  *device_id,
                                            JsonObject  *report,
                                            GError     **error);

/**
 * vigil_host_record_device_event:
 * @host: the host
 * @device_id: the device the event came from (as the transport
 *   authenticated it; a device id in the body is not read)
 * @data: untrusted: {"id" (the event id on the device, a UUID), "type",
 *   "payload_version" (integer from 1), "payload" (object), "source"
 *   (who emitted it on the device)}; no other member
 * @length: its length, or -1 when NUL-terminated
 * @event: (out) (optional) (transfer full) {id, type, device, duplicate}
 * @error: INVALID naming the member (also for the types the host and the
 *   runs' reports make, host.* and task.*); NOT_FOUND when @device_id has
 *   no enrolled agent (unknown, pending, revoked)
 *
 * Stores an event an agent reported as an event of @device_id, under the
 * device's own event id, with the source "agent:<source>" and the time of
 * this host's clock, and queues it for the plugins' handlers like any
 * other event. The same id reported again by the same device is stored
 * once (*@event's duplicate is TRUE); an id another device or source used
 * is refused (INVALID). Durable when this returns. A batch is
 * vigil_host_record_device_events().
 * Returns: TRUE when stored (or already stored). Since: 1.1
 */
gboolean     vigil_host_record_device_event (VigilHost   *host,
                                             const char  *device_id,
                                             const char  *data,
                                             gssize       length,
                                             JsonObject **event,
                                             GError     **error);

/**
 * vigil_host_record_device_events:
 * @host: the host
 * @n: how many event reports
 * @device_ids: (array length=n): the device each came from, as the
 *   transport authenticated it
 * @data: (array length=n): the reports, untrusted, as
 *   vigil_host_record_device_event()'s @data
 * @lengths: (array length=n) (nullable): their lengths (-1: NUL-terminated);
 *   NULL when all are NUL-terminated
 * @events: (array length=n) (out caller-allocates) (optional): filled with
 *   {id, type, device, duplicate} (transfer full) for each stored (or
 *   already stored) event, NULL for the others
 * @errors: (array length=n) (optional): filled with why each was not
 *   stored (the caller sets every element to NULL and frees those set), as
 *   vigil_host_record_device_event()'s error
 *
 * vigil_host_record_device_event() for a batch, in one durable
 * transaction: one sync to disk for all of them rather than one each,
 * which is what bounds how many events a console ingests per second. Each
 * is checked and stored (or refused) on its own: one refused leaves the
 * others stored. An id stored already (in an earlier call or earlier in
 * the batch) by the same device is stored once (duplicate TRUE). Each new
 * event is queued for the plugins' handlers like any other, which answer
 * it once. If the transaction cannot be committed none is stored and each
 * error says so (FAILED: worth trying again). Durable when this returns,
 * so a transport may acknowledge the stored ones then.
 * Returns: how many were stored (or already stored). Since: 1.1
 */
guint        vigil_host_record_device_events (VigilHost          *host,
                                              guint               n,
                                              const char *const  *device_ids,
                                              const char *const  *data,
                                              const gssize       *lengths,
                                              JsonObject        **events,
                                              GError            **errors);

/**
 * vigil_host_set_event_handlers:
 * @host: the host
 * @enabled: FALSE: events are stored (and delivered to subscriptions) but
 *   no plugin handler runs for them in this host object
 *
 * For a fleet agent, whose events are forwarded to the console and
 * handled there: a response must not happen on both sides. On by default.
 * Since: 1.1
 */
void         vigil_host_set_event_handlers (VigilHost *host,
                                            gboolean   enabled);

/**
 * vigil_host_effective_settings_unmasked:
 * @host: the host
 * @device: a device
 * @section: a registered section id
 * @error: NOT_FOUND (device, or a section no loaded plugin registered)
 *
 * As vigil_host_effective_settings(), secrets included, for the console's
 * own dispatch of a run to the device's agent (over the broker's TLS, to
 * the device's own subject). Never print or log the result.
 * Returns: (transfer full) group -> key -> value, or NULL. Since: 1.1
 */
JsonObject  *vigil_host_effective_settings_unmasked (VigilHost   *host,
                                                     const char  *device,
                                                     const char  *section,
                                                     GError     **error);

/**
 * vigil_host_devices_settings_unmasked:
 * @host: the host
 * @devices: (array zero-terminated=1): device ids
 * @error: a store error
 *
 * vigil_host_effective_settings_unmasked() of every registered section,
 * for many devices at once: what a console needs to dispatch a round to
 * a fleet. A device's effective settings depend on its group, its
 * out-of-office state and its local settings: they are computed once for
 * each distinct combination, and the devices that share one share the
 * same object (read it, do not change it). A device not in the inventory
 * is left out. Never print or log the result.
 * Returns: (transfer full) device -> section -> group -> key -> value, or
 *   NULL. Since: 1.1
 */
JsonObject  *vigil_host_devices_settings_unmasked (VigilHost          *host,
                                                   const char *const  *devices,
                                                   GError            **error);

/**
 * vigil_host_record_run_reports:
 * @host: the host
 * @n: how many reports
 * @device_ids: (array length=n): the device each report came from
 * @reports: (array length=n): the reports, as vigil_host_record_run_report()
 * @errors: (array length=n) (optional): filled with why each report was
 *   not stored (the caller sets every element to NULL and frees those
 *   set), as vigil_host_record_run_report()'s error
 *
 * vigil_host_record_run_report() for a batch, in one durable transaction:
 * one sync to disk for all of them rather than one each, which is what
 * bounds how many reports a console stores per second. Each report is
 * applied (or refused) on its own, in order, as if recorded one after the
 * other: one refused leaves the others stored. If the transaction cannot
 * be committed, none is stored and each error says so.
 * Returns: how many were applied (or already applied). Since: 1.1
 */
guint        vigil_host_record_run_reports (VigilHost         *host,
                                            guint              n,
                                            const char *const *device_ids,
                                            JsonObject *const *reports,
                                            GError           **errors);

/**
 * vigil_host_cancel_task:
 * @host: the host
 * @id: a task
 * @error: NOT_FOUND
 *
 * The task will not start again; its pending runs are dropped and running
 * ones cancelled (in another process too, at their next check).
 * Returns: TRUE when cancelled. Since: 1.1
 */
gboolean     vigil_host_cancel_task      (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_delete_task:
 * @host: the host
 * @id: a task
 * @error: VIGIL_HOST_ERROR_PROTECTED (the protected action "task.delete"),
 *   NOT_FOUND
 * Returns: TRUE when the task and its results are gone. Since: 1.1
 */
gboolean     vigil_host_delete_task      (VigilHost   *host,
                                          const char  *id,
                                          GError     **error);

/**
 * vigil_host_trigger_tasks:
 * @host: the host
 * @kind: "on_start" (an application started) or "after_update" (the
 *   security product's databases were updated)
 * @error: INVALID for another kind
 * Marks every task scheduled with @kind as due now.
 * Returns: how many tasks, 0 with @error on failure. Since: 1.1
 */
guint        vigil_host_trigger_tasks    (VigilHost   *host,
                                          const char  *kind,
                                          GError     **error);

/**
 * vigil_host_last_run_id:
 * @host: the host
 * Returns: the highest run id so far (0 when none); with
 *   vigil_host_runs_after(), what ran since a moment. Since: 1.1
 */
gint64       vigil_host_last_run_id      (VigilHost *host);

/**
 * vigil_host_runs_after:
 * @host: the host
 * @run_id: a value of vigil_host_last_run_id()
 * @error: a store error
 * Returns: (transfer full) the runs with a higher id, oldest first.
 * Since: 1.1
 */
JsonArray   *vigil_host_runs_after       (VigilHost   *host,
                                          gint64       run_id,
                                          GError     **error);

/**
 * vigil_host_set_pump_main_context:
 * @host: the host
 * @pump: TRUE to iterate the thread-default main context while the host
 *   waits for runs, so that an application's sockets and timers go on
 *   (`vigil serve` does this)
 * Since: 1.1
 */
void         vigil_host_set_pump_main_context (VigilHost *host,
                                               gboolean   pump);

/**
 * vigil_host_plugin_documents:
 * @host: the host
 * @plugin: a plugin id
 * @collection: one of its document collections
 * @error: a store error
 * Returns: (transfer full) key -> document of what the plugin stored with
 *   store_put (read-only view, e.g. sandbox-response's "responses").
 * Since: 1.1
 */
JsonObject  *vigil_host_plugin_documents (VigilHost   *host,
                                          const char  *plugin,
                                          const char  *collection,
                                          GError     **error);

/**
 * vigil_host_plugin_document:
 * @host: the host
 * @plugin: a plugin id
 * @collection: one of its collections
 * @key: a document key
 * @error: NOT_FOUND
 * Returns: (transfer full) the document, or NULL. Since: 1.1
 */
JsonNode    *vigil_host_plugin_document  (VigilHost   *host,
                                          const char  *plugin,
                                          const char  *collection,
                                          const char  *key,
                                          GError     **error);

/* ---- events --------------------------------------------------------- */

/**
 * vigil_host_parse_event_payload:
 * @data: untrusted bytes
 * @length: their length, or -1 when NUL-terminated
 * @where: names the source in errors ("stdin", a file name)
 * @error: INVALID with line and column
 * Returns: (transfer full) a JSON object of at most
 *   VIGIL_HOST_EVENT_MAX_PAYLOAD bytes, or NULL. Since: 1.1
 */
JsonObject  *vigil_host_parse_event_payload (const char  *data,
                                             gssize       length,
                                             const char  *where,
                                             GError     **error);

/**
 * vigil_host_emit_event_envelope:
 * @host: the host
 * @source: who emits it ("serve", an application name)
 * @data: an untrusted envelope {"type", "device"?, "payload_version"?,
 *   "payload"?} (docs/events.md)
 * @length: its length, or -1 when NUL-terminated
 * @where: names the source in errors ("inbox/x.json", "socket line 3")
 * @event: (out) (optional) (transfer full) {id, type, device,
 *   payload_version} of the stored event
 * @error: INVALID, NOT_FOUND (device), every message starting with @where
 *
 * Parses, checks and stores one event, as `vigil serve` takes them.
 * Thread-safe. Returns: (transfer full) the event id, or NULL. Since: 1.1
 */
char        *vigil_host_emit_event_envelope (VigilHost    *host,
                                             const char   *source,
                                             const char   *data,
                                             gssize        length,
                                             const char   *where,
                                             JsonObject  **event,
                                             GError      **error);

/**
 * vigil_host_events:
 * @host: the host
 * @since_us: only events at or after this UTC time in microseconds; 0 all
 * @type: (nullable) an exact type, or a prefix ending in ".*"
 * @device: (nullable) only events of this device
 * @limit: at most this many (the newest); 0 for no limit
 * @error: a store error
 * Returns: (transfer full) event objects {id, time, time_us, type, device,
 *   source, payload_version, payload}, oldest first. Since: 1.1
 */
JsonArray   *vigil_host_events           (VigilHost   *host,
                                          gint64       since_us,
                                          const char  *type,
                                          const char  *device,
                                          guint        limit,
                                          GError     **error);

/**
 * vigil_host_last_event_seq:
 * @host: the host
 * Returns: the sequence number of the newest stored event (0 when none);
 *   with vigil_host_events_after(), what happened since. Since: 1.1
 */
gint64       vigil_host_last_event_seq   (VigilHost *host);

/**
 * vigil_host_events_after:
 * @host: the host
 * @seq: a value of vigil_host_last_event_seq()
 * @error: a store error
 * Returns: (transfer full) the events stored after @seq, in order.
 * Since: 1.1
 */
JsonArray   *vigil_host_events_after     (VigilHost   *host,
                                          gint64       seq,
                                          GError     **error);

/**
 * VigilSubscription:
 * A subscription to the host's events; end it with vigil_host_unsubscribe()
 * (or g_autoptr), before freeing the host. Since: 1.1
 */
typedef struct _VigilSubscription VigilSubscription;

/**
 * VigilHostEventFunc:
 * @host: the host
 * @event: (transfer none) the event, as vigil_host_events() gives them
 * @user_data: as given
 * Since: 1.1
 */
typedef void (*VigilHostEventFunc) (VigilHost *host, JsonObject *event,
                                    gpointer user_data);

/**
 * vigil_host_events_foreach:
 * @host: the host
 * @since_us: as for vigil_host_events()
 * @type: (nullable) as for vigil_host_events()
 * @device: (nullable) as for vigil_host_events()
 * @limit: at most this many (the newest); 0 for no limit
 * @func: called with each event, oldest first
 * @user_data: for @func
 * @error: a store error
 *
 * The events vigil_host_events() would return, handed to @func one at a
 * time, so that listing a long log takes memory for one event, not for all
 * of them. @func runs under the store's lock: it must not call the host.
 * Returns: %FALSE with @error when the store could not be read (@func may
 *   have seen some events by then). Since: 1.1
 */
gboolean     vigil_host_events_foreach   (VigilHost          *host,
                                          gint64              since_us,
                                          const char         *type,
                                          const char         *device,
                                          guint               limit,
                                          VigilHostEventFunc  func,
                                          gpointer            user_data,
                                          GError            **error);

/**
 * vigil_host_subscribe_events:
 * @host: the host
 * @type: (nullable) an exact type, or a prefix ending in ".*"; NULL for all
 * @device: (nullable) only events of this device
 * @context: (nullable) where @func is called; NULL means the thread-default
 *   main context of the calling thread
 * @func: called once per matching event, in the order they were stored
 * @user_data: for @func
 * @destroy: (nullable) frees @user_data when the subscription ends
 *
 * Events stored from now on (by this host, its plugins and task runs, or
 * another process on the same state folder) are delivered on @context
 * after the host's main thread notices them: when vigil_host_emit_event(),
 * vigil_host_emit_event_envelope(), vigil_host_run_until_idle(),
 * vigil_host_run_task() or vigil_host_run_due() return, or at
 * vigil_host_deliver_events(). @func only runs while @context is iterated.
 * Returns: (transfer full) the subscription. Since: 1.1
 */
VigilSubscription *vigil_host_subscribe_events (VigilHost          *host,
                                                const char         *type,
                                                const char         *device,
                                                GMainContext       *context,
                                                VigilHostEventFunc  func,
                                                gpointer            user_data,
                                                GDestroyNotify      destroy);

/**
 * vigil_host_subscribe_task_runs:
 * @host: the host
 * @task_id: (nullable) only the runs of this task
 * @context: (nullable) as for vigil_host_subscribe_events()
 * @func: called with the payload of each task.completed / task.failed
 *   event: {task_id, type, device, state ("completed", "failed",
 *   "cancelled"), error (failed only)}
 * @user_data: for @func
 * @destroy: (nullable) frees @user_data
 *
 * A run's end, one call per device; delivered like events.
 * Returns: (transfer full) the subscription. Since: 1.1
 */
VigilSubscription *vigil_host_subscribe_task_runs (VigilHost          *host,
                                                   const char         *task_id,
                                                   GMainContext       *context,
                                                   VigilHostEventFunc  func,
                                                   gpointer            user_data,
                                                   GDestroyNotify      destroy);

/**
 * vigil_host_deliver_events:
 * @host: the host
 *
 * Looks for events stored since the last delivery (for instance by another
 * process) and queues them to the subscribers' contexts. Main thread.
 * Returns: how many events were new. Since: 1.1
 */
guint        vigil_host_deliver_events   (VigilHost *host);

/**
 * vigil_host_unsubscribe:
 * @subscription: (transfer full) (nullable) a subscription
 *
 * Ends it: @func is not called any more, even for events already queued.
 * Call it from the thread that iterates the subscription's context.
 * Since: 1.1
 */
void         vigil_host_unsubscribe      (VigilSubscription *subscription);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilSubscription, vigil_host_unsubscribe)


/* ---- the evidence store (files retrieved from devices: file.get) ---- */

/**
 * VigilHostEvidenceFunc:
 * @data: the next slice of the file's content
 * @len: its length
 * @user_data: as given
 * @error: set it when returning %FALSE
 *
 * Returns: %FALSE to stop the read. Since: 1.1
 */
typedef gboolean (*VigilHostEvidenceFunc) (const guint8 *data, gsize len, gpointer user_data,
                                           GError **error);

/**
 * vigil_host_evidence_list:
 * @host: the host
 * @error: return location for a #GError
 *
 * The files in the state folder's evidence store (STATE/evidence), oldest
 * first, each {id, device, path, size, sha256, md5, task, retrieved_at,
 * stored_at} (times in microseconds); a file that does not verify is
 * listed as {id, damaged: why}. Reads no content.
 * Returns: (transfer full) or %NULL with @error. Since: 1.1
 */
JsonArray  *vigil_host_evidence_list    (VigilHost *host, GError **error);

/**
 * vigil_host_evidence_get:
 * @host: the host
 * @id: an evidence id (a UUID)
 * @error: NOT_FOUND when there is no such evidence
 *
 * Returns: (transfer full) its metadata as listed, or %NULL. Since: 1.1
 */
JsonObject *vigil_host_evidence_get     (VigilHost *host, const char *id, GError **error);

/**
 * vigil_host_evidence_read:
 * @host: the host
 * @id: an evidence id
 * @func: handed the decrypted content slice by slice, in order
 * @user_data: for @func
 * @error: NOT_FOUND; G_IO_ERROR_INVALID_DATA when the stored file does not
 *   verify (every slice is authenticated before @func sees it; a file cut
 *   short or not matching its SHA-256 fails at the end)
 *
 * The content is potentially malicious: an application writes it only
 * where a person deliberately asked for it.
 * Returns: %TRUE when all of it was read and verified. Since: 1.1
 */
gboolean    vigil_host_evidence_read    (VigilHost *host, const char *id,
                                         VigilHostEvidenceFunc func, gpointer user_data,
                                         GError **error);

/**
 * vigil_host_evidence_delete:
 * @host: the host
 * @id: an evidence id
 * @error: NOT_FOUND
 *
 * Removes it from the store, durably. Returns: %TRUE. Since: 1.1
 */
gboolean    vigil_host_evidence_delete  (VigilHost *host, const char *id, GError **error);

/**
 * vigil_host_evidence_receive:
 * @host: the host (a console)
 * @device_id: the device the part came from (as the transport
 *   authenticated it)
 * @report: untrusted: {evidence (UUID), part, parts, data (base64 of at
 *   most 512 KiB), meta {path, size, sha256, md5, task, retrieved_at}}
 * @stored: (out) (optional) (transfer full): the evidence's metadata when
 *   this part completed it, else %NULL
 * @error: INVALID naming the member (also when the parts put together are
 *   not the file the device described: nothing is stored); NOT_FOUND when
 *   @device_id has no enrolled agent
 *
 * Keeps one part of a file an agent sends, durably (a transport may
 * acknowledge it when this returns); once every part is there they are
 * put together, checked against the SHA-256, MD5 and size, and the file
 * appears in the store whole. A part again is kept once. Since: 1.1
 */
gboolean    vigil_host_evidence_receive (VigilHost *host, const char *device_id,
                                         JsonObject *report, JsonObject **stored,
                                         GError **error);

G_END_DECLS
