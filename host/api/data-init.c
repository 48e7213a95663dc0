/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store's tables at start-up: applies each layer's migrations once the
 * host has opened the store, in dependency order (policies refer to
 * groups).
 */
#include "api-private.h"

gboolean
vh_data_init (VigilHost *host, GError **error)
{
  g_return_val_if_fail (host != NULL && host->context.store != NULL, FALSE);
  return vh_inventory_init (host, error) &&
         vh_device_agents_init (host, error) &&
         vh_policy_init (host, error) &&
         vh_docs_init (host, error);
}
