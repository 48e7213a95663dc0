/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared between the files of the ioc-scan plugin (not the engine): the
 * host API and handle saved at init, the `ioc.scan` task (plugin-task.c)
 * and the `vigil ioc` command (plugin-cli.c), and the helpers both use to
 * turn JSON parameters into a collection and a scope.
 */
#pragma once

#include <vigil/plugin.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>

#include "scan.h"

G_BEGIN_DECLS

#define IOC_SECTION "ioc_scan"
#define IOC_TASK_TYPE "ioc.scan"
#define IOC_STORE_COLLECTIONS "collections"

/* Set once by init, read-only afterwards (safe from worker threads). */
extern const VigilHostApi *ioc_api;
extern VigilPlugin        *ioc_self;

/* plugin.c: the `ioc_scan` section, whose schema holds the settings' defaults. */
extern const VigilSection  ioc_section;

/* plugin-task.c */
gboolean       ioc_task_run        (VigilTaskRun *run, JsonObject *params,
                                    GCancellable *cancellable, gpointer user_data,
                                    GError **error);
void           ioc_task_validate   (JsonObject *params, VigilReport *report,
                                    gpointer user_data);
/* Parses {"iocs":[{"name","xml"}]} into a prepared collection, through
 * the cache of parsed documents when @cached. */
IocCollection *ioc_collection_from_json (JsonArray *iocs, gsize max_file_size,
                                         gboolean cached);
/* Points @coll at the plugin's cache of parsed documents (the folder
 * "ioc-cache" in its data folder); FALSE with @error when it cannot. */
gboolean       ioc_use_cache       (IocCollection *coll, GError **error);
/* Fills @scope from a task's "scope" object; FALSE with @error. */
gboolean       ioc_scope_from_json (JsonObject *object, IocScope *scope, GError **error);
void           ioc_scope_clear     (IocScope *scope);
/* The size limit for IOC files from the `ioc_scan` section for @device. */
gsize          ioc_max_file_size   (const char *device_id);

/* plugin-cli.c */
int            ioc_cli_run         (VigilPlugin *self, int argc, char **argv,
                                    gpointer user_data);

G_END_DECLS
