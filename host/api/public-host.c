/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's host-wide odds and ends: the VIGIL_HOST_ERROR domain,
 * the config path, verbosity and main-context pumping. Each function is a
 * thin wrapper over the owning module's vh_* call; the public API's
 * contract (docs/embedding.md) lives in vigil-host.h.
 */
#include "api-private.h"
#include "host-private.h"

G_DEFINE_QUARK (vigil-host-error-quark, vigil_host_error)

const char *
vigil_host_config_path (VigilHost *host)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_config_path (vh_registry_config (host));
}

void
vigil_host_set_verbose (VigilHost *host, gboolean verbose)
{
  g_return_if_fail (host != NULL);
  vh_logger_set_verbose (host, verbose);
}

void
vigil_host_set_pump_main_context (VigilHost *host, gboolean pump)
{
  g_return_if_fail (host != NULL);
  vh_runner_set_pump_main_context (host, pump);
}

gboolean
vh_api_guarded (gboolean ok, GError *local, GError **error)
{
  if (local == NULL)
    return ok;
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    {
      g_set_error_literal (error, VIGIL_HOST_ERROR, VIGIL_HOST_ERROR_PROTECTED, local->message);
      g_error_free (local);
    }
  else
    g_propagate_error (error, local);
  return ok;
}

gboolean
vigil_host_check_protected (VigilHost *host, const char *action, GError **error)
{
  GError *local = NULL;

  g_return_val_if_fail (host != NULL, FALSE);
  if (action == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "no protected action named");
      return FALSE;
    }
  if (vh_protect_check (host, action, &local))
    return TRUE;
  /* One code for every refusal, whatever failed underneath (reading the
   * password, a wrong one), so that callers can tell it from other errors. */
  g_set_error_literal (error, VIGIL_HOST_ERROR, VIGIL_HOST_ERROR_PROTECTED, local->message);
  g_error_free (local);
  return FALSE;
}
