/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host object, private to the files of host/api/ (and the tests of the
 * host object). The layers below get the VhContext it starts with, never
 * the rest of it; see base.h.
 */
#pragma once

#include "api/api.h"
/* The api layer sees every module, the tasks layer's own interface too
 * (event envelopes, run rows): the public API wraps them. */
#include "tasks/tasks-private.h"

G_BEGIN_DECLS

struct _VigilHost {
  VhContext      context;           /* first: what the lower layers see */
  char          *state_dir;
  char          *config_file;
  GStrv          plugin_dirs;       /* extra folders, then the install dir */
  gboolean       skip_install_dir;
};

/* Applies the migrations of the store's tables in dependency order: the
 * inventory's, the policies' (they refer to groups), the plugin
 * documents'. Called by vigil_host_new once the store is open. */
gboolean  vh_data_init (VigilHost *host, GError **error);

/* For the wrappers of changes the change guard watches (policies, the
 * inventory): returns @ok; @local (transfer full) goes to @error, a
 * refusal for want of the password (G_IO_ERROR_PERMISSION_DENIED) as
 * VIGIL_HOST_ERROR_PROTECTED, the code the public API documents. */
gboolean  vh_api_guarded (gboolean ok, GError *local, GError **error);

/* The host API's evidence_put (public-evidence.c): stores what @fd holds
 * from its offset on (at most @max_bytes; more is refused) as a file of
 * @device_id's @path in the state folder's evidence store. Returns:
 * (transfer full) its metadata {id, device, path, task, size, sha256,
 * md5, retrieved_at, stored_at}. Thread-safe. */
JsonObject *vh_api_evidence_put (VigilHost *host, const char *device_id, const char *task_id,
                                 const char *path, int fd, gint64 max_bytes, GError **error);

G_END_DECLS
