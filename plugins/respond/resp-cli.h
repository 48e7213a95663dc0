/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The `vigil respond` command (resp-cli.c). */
#pragma once

#include <vigil/plugin.h>

G_BEGIN_DECLS

gboolean resp_cli_register (const VigilHostApi *api, VigilPlugin *self, GError **error);

G_END_DECLS
