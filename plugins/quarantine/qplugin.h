/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the plugin's files: plugin.c (descriptor, init, start-up sweep),
 * plugin-settings.c (the `quarantine` section), plugin-device.c (a device's
 * store and settings), plugin-ops.c (put/restore/delete with events, limits
 * and the console inventory, used by the tasks and the CLI alike),
 * plugin-tasks.c (task types) and plugin-cli.c (`vigil quarantine`; its
 * restore asks the host's password check, api->protect_check).
 */
#pragma once

#include <vigil/plugin.h>
#include <vigil/util/command.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>

#include "qstore.h"

G_BEGIN_DECLS

/* Set once in init; the host API is thread-safe afterwards. */
extern const VigilHostApi *qp_api;
extern VigilPlugin        *qp_self;

#define QP_SECTION       "quarantine"
#define QP_INVENTORY     "inventory"   /* the console's common list */
#define QP_STORES        "stores"      /* device -> store folder, for the sweep */

extern const VigilSection qp_section;

/* One device's quarantine, as its effective settings place it. */
typedef struct {
  char    *device_id;
  char    *root;          /* host path of the device root; "/" for the machine */
  char    *store_dir;     /* host path of the quarantine folder */
  char    *restore_dir;   /* device path of the folder for restored objects */
  gint64   limit_mb;      /* 0: not set */
  gint64   threshold_mb;  /* 0: not set */
  gboolean sync;          /* send data about quarantined objects to the console */
  QStore  *store;
} QpDevice;

/* @root: the device root from a task run, or NULL to ask the inventory. */
QpDevice *qp_device_open (const char *device_id, const char *root, GError **error);
void      qp_device_free (QpDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QpDevice, qp_device_free)

/* Opens a store folder and logs what its recovery sweep removed. */
QStore   *qp_store_open_logged (const char *dir, GError **error);

typedef struct {
  const char *task_id;    /* the task doing it, or NULL */
  const char *event_id;
  const char *user;
} QpOrigin;

/* Each returns the task result / command output (transfer full), or NULL
 * with @error. Events, limit checks and the inventory are handled here.
 * @run (may be NULL) receives progress. */
JsonObject *qp_op_put     (QpDevice *d, const char *path, const char *detection,
                           const char *reason, gboolean delete_original,
                           const QpOrigin *origin, VigilTaskRun *run,
                           GCancellable *cancellable, GError **error);
JsonObject *qp_op_restore (QpDevice *d, const char *id, gboolean to_restore_folder,
                           GCancellable *cancellable, GError **error);
JsonObject *qp_op_delete  (QpDevice *d, const char *id, GError **error);

/* Registrations. */
gboolean qp_tasks_register   (GError **error);
gboolean qp_command_register (GError **error);
/* plugin-console.c: the common list fed by fleet agents' events. */
gboolean qp_console_register (GError **error);

G_END_DECLS
