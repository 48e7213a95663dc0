/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host clock as the layers below api see it: through the context the
 * api layer fills in (base.h), never through the host object, so that a
 * lower layer reading the time does not call up into the api layer.
 */
#include "base.h"

gint64
vh_now (VigilHost *host)
{
  VhContext *ctx = vh_context (host);

  g_return_val_if_fail (host != NULL && ctx->clock != NULL, 0);
  return ctx->clock (ctx->clock_data);
}
