/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.get's task type and its group of the `respond` policy section
 * (resp-file-get-task.c): registered by the plugin's init.
 */
#pragma once

#include <vigil/plugin.h>

G_BEGIN_DECLS

#define RESP_N_GET_FILE_FIELDS 1

/* The section's `get_file` group (resp-isolate-task.c lists it). */
extern const VigilField resp_get_file_fields[RESP_N_GET_FILE_FIELDS];

gboolean resp_file_get_register (const VigilHostApi *api, VigilPlugin *self, GError **error);

G_END_DECLS
