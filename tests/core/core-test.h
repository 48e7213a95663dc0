/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared fixture of the core tests: a private temporary state folder and
 * plugin folder, copies of the test plugins built in tests/core/plugins/
 * (found through $CORE_TEST_PLUGIN_DIR), and a host opened on them with the
 * install folder and VIGIL_PLUGIN_PATH left out, so each test sees exactly
 * the plugins it copied.
 */
#pragma once

#include "host-private.h"
#include "vt-cli.h"

#include <string.h>
#include <glib/gstdio.h>

typedef struct {
  char      *root;     /* removed with everything in it */
  char      *state;
  char      *plugins;
  VigilHost *host;
} CoreFixture;

void        core_fixture_init  (CoreFixture *fx);
void        core_fixture_clear (CoreFixture *fx);
/* Copies the built test plugin @id into @dir as <id>.so, mode 0755.
 * Returns: (transfer full) the new file's path. */
char       *core_copy_plugin   (const char *id, const char *dir);
/* Opens fx->host on fx->state with fx->plugins, then @extra_dirs, and
 * loads the plugins. */
VigilHost  *core_open_host     (CoreFixture *fx, const char *const *extra_dirs);
/* (transfer full) the nth (0-based) record with @id from
 * vigil_host_plugins(), or NULL. */
JsonObject *core_plugin_info   (VigilHost *host, const char *id, guint nth);
/* Asserts the plugin @id is refused with a reason containing @needle. */
void        core_assert_refused (VigilHost *host, const char *id, const char *needle);
