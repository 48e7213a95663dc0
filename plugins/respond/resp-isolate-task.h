/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network.isolate / network.release and the `respond` section (resp-isolate-task.c). */
#pragma once

#include <vigil/plugin.h>

G_BEGIN_DECLS

#define RESP_N_ISOLATE_PARAMS 2
extern const VigilField resp_isolate_params[RESP_N_ISOLATE_PARAMS];

void     resp_isolate_validate (JsonObject *params, VigilReport *report, gpointer user_data);
gboolean resp_isolation_register (const VigilHostApi *api, VigilPlugin *self, GError **error);

G_END_DECLS
