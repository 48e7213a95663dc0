/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying and removing the isolation table through libnftables, in the
 * process itself (no `nft` binary, no shell): each script is one
 * transaction, so the device is never half isolated. Only the table
 * `inet vigil_isolation` is ever created, replaced or deleted.
 */
#include "resp-isolation.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

gboolean
resp_nft_run (const char *script, GError **error)
{
  struct nft_ctx *nft = nft_ctx_new (NFT_CTX_DEFAULT);
  int rc;

  if (nft == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "nftables: cannot create a context");
      return FALSE;
    }
  nft_ctx_buffer_output (nft);
  nft_ctx_buffer_error (nft);
  rc = nft_run_cmd_from_buffer (nft, script);
  if (rc != 0)
    {
      g_autofree char *msg = g_strstrip (g_strdup (nft_ctx_get_error_buffer (nft)));

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "nftables refused the isolation rules: %s",
                   *msg != '\0' ? msg : "no reason given (is this process root, with CAP_NET_ADMIN?)");
    }
  nft_ctx_free (nft);
  return rc == 0;
}

gboolean
resp_nft_apply (const RespIsolation *iso, GError **error)
{
  g_autofree char *script = resp_isolation_script (iso);

  return resp_nft_run (script, error);
}

gboolean
resp_nft_remove (GError **error)
{
  return resp_nft_run ("table inet " RESP_NFT_TABLE "\ndelete table inet " RESP_NFT_TABLE "\n",
                       error);
}

gboolean
resp_nft_present (void)
{
  struct nft_ctx *nft = nft_ctx_new (NFT_CTX_DEFAULT);
  gboolean present;

  if (nft == NULL)
    return FALSE;
  nft_ctx_buffer_output (nft);
  nft_ctx_buffer_error (nft);
  present = nft_run_cmd_from_buffer (nft, "list table inet " RESP_NFT_TABLE) == 0;
  nft_ctx_free (nft);
  return present;
}
