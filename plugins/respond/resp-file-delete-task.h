/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* file.delete's task type and its policy group (resp-file-delete-task.c). */
#pragma once

#include <vigil/plugin.h>

#include "resp-file-delete.h"

G_BEGIN_DECLS

/* Checks the `file_deletion` group of the respond section's @values. */
void     resp_delete_section_validate (JsonObject *values, VigilReport *report);
gboolean resp_file_delete_register    (const VigilHostApi *api, VigilPlugin *self,
                                       GError **error);

G_END_DECLS
