/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:vigil-host
 * @title: libvigil-host, the embedding API
 *
 * The small C API for applications that embed the Vigil plugin host: open a
 * state folder, load plugins, validate and apply policies, inject events and
 * drive tasks. The `vigil` CLI is one such application. Functions are not
 * thread-safe unless they say so: call them from the thread that created the
 * host (its "main thread").
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <vigil/plugin.h>

G_BEGIN_DECLS

typedef struct _VigilHost VigilHost;

/* Returns UTC microseconds; replaces the wall clock (tests, simulations). */
typedef gint64 (*VigilClockFunc) (gpointer user_data);

/**
 * VigilHostOptions:
 * @state_dir: the state folder (database, plugin data); NULL means
 *   $XDG_DATA_HOME/vigil
 * @config_file: the host config (GKeyFile); NULL means <state_dir>/vigil.conf.
 *   A missing file is not an error.
 * @plugin_dirs: extra plugin folders, searched before the install folder
 * @skip_install_dir: do not search $libdir/vigil/plugins-1 (tests)
 */
typedef struct {
  gsize               struct_size;
  const char         *state_dir;
  const char         *config_file;
  const char *const  *plugin_dirs;
  gboolean            skip_install_dir;
} VigilHostOptions;

/* Opens (creating if needed) the state folder and its database. */
VigilHost   *vigil_host_new              (const VigilHostOptions *options,
                                          GError                **error);
/* Runs plugin shutdowns in reverse load order and closes the store. */
void         vigil_host_free             (VigilHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilHost, vigil_host_free)

void         vigil_host_set_clock        (VigilHost      *host,
                                          VigilClockFunc  clock,
                                          gpointer        user_data);
gint64       vigil_host_now              (VigilHost *host);
const char  *vigil_host_state_dir        (VigilHost *host);

/* Loads every enabled plugin of the plugin folders. A plugin that fails is
 * kept with its reason (vigil_host_plugins) and never stops the others. */
void         vigil_host_load_plugins     (VigilHost *host);

/* Loaded and refused plugins: an array of objects with id, name, version,
 * license, description, file, abi, state ("loaded"|"refused"|"disabled"),
 * reason, sections, task_types, event_handlers, commands; one per plugin
 * file seen, in load order. "reason" starts with the file's path; it is
 * null for a loaded plugin. Contributions are empty unless loaded (a
 * refused plugin's registrations are rolled back). Returns: (transfer full). */
JsonArray   *vigil_host_plugins          (VigilHost *host);

/* Validates a policy document; every problem is added to the returned array
 * of {severity, path, message}. Returns: (transfer full). */
JsonArray   *vigil_host_validate_policy  (VigilHost  *host,
                                          JsonObject *policy);

/* Emits an event as @source ("cli", an application name). Thread-safe. */
char        *vigil_host_emit_event       (VigilHost   *host,
                                          const char  *source,
                                          const char  *type,
                                          const char  *device_id,
                                          guint        payload_version,
                                          JsonObject  *payload,
                                          GError     **error);

/* Dispatches pending events and runs every task run that is due now, until
 * nothing is left to do now. Returns the number of runs executed. */
guint        vigil_host_run_until_idle   (VigilHost     *host,
                                          GCancellable  *cancellable);

G_END_DECLS
