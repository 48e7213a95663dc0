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

G_END_DECLS
