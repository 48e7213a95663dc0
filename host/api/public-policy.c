/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's policies: parsing untrusted documents, validation,
 * apply and import, remove, list, show (masked), a default policy, and a
 * device's effective settings with the origin of each value. Thin wrappers
 * over the policy layer's store and checker (host/policy); problems come back as the
 * {severity, path, message} arrays `vigil policy --json` prints.
 */
#include "api-private.h"
#include "host-private.h"

G_STATIC_ASSERT (VIGIL_HOST_POLICY_MAX_BYTES == VH_POLICY_MAX_BYTES);

JsonObject *
vigil_host_parse_policy (const char *data, gsize length, JsonArray **problems)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  JsonObject *doc = NULL;

  if (data == NULL)
    vh_report_add (report, VIGIL_SEVERITY_ERROR, "", "no document given");
  else
    doc = vh_policy_parse (data, length, report);
  if (problems != NULL)
    *problems = vh_report_to_json (report);
  return doc;
}

static gboolean
apply (VigilHost *host, JsonObject *policy, gboolean import, JsonArray **problems,
       char **made_inactive, GError **error)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (GError) local = NULL;
  g_autofree char *demoted = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  if (policy == NULL)
    vh_report_add (report, VIGIL_SEVERITY_ERROR, "", "no document given");
  ok = policy != NULL && vh_policy_apply (host, policy, import, report, &demoted, &local);
  if (problems != NULL)
    *problems = vh_report_to_json (report);
  if (ok)
    {
      if (made_inactive != NULL)
        *made_inactive = g_steal_pointer (&demoted);
      return TRUE;
    }
  if (local != NULL)
    vh_api_guarded (FALSE, g_steal_pointer (&local), error);
  else
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                 "the policy has problems; nothing was stored");
  return FALSE;
}

gboolean
vigil_host_apply_policy (VigilHost *host, JsonObject *policy, JsonArray **problems,
                         char **made_inactive, GError **error)
{
  return apply (host, policy, FALSE, problems, made_inactive, error);
}

gboolean
vigil_host_import_policy (VigilHost *host, JsonObject *policy, JsonArray **problems,
                          char **made_inactive, GError **error)
{
  return apply (host, policy, TRUE, problems, made_inactive, error);
}

gboolean
vigil_host_remove_policy (VigilHost *host, const char *name, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_policy_remove (host, name, &local);
  return vh_api_guarded (ok, local, error);
}

JsonArray *
vigil_host_policies (VigilHost *host, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_policy_list (host, error);
}

JsonObject *
vigil_host_policy (VigilHost *host, const char *name, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_policy_get_masked (host, name, error);
}

JsonObject *
vigil_host_default_policy (VigilHost *host)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_policy_defaults (vh_registry_sections (host));
}

JsonObject *
vigil_host_effective_settings (VigilHost *host, const char *device, const char *section,
                               JsonObject **origins, GError **error)
{
  const VhSection *vs;
  JsonObject *values;

  g_return_val_if_fail (host != NULL, NULL);
  vs = section != NULL ? vh_registry_section (host, section) : NULL;
  if (vs == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "section '%s' is not registered by any loaded plugin",
                   section ? section : "");
      return NULL;
    }
  values = vh_effective_section (host, device, section, origins, error);
  if (values != NULL)
    vh_schema_mask_secrets (&vs->section, values);
  return values;
}

JsonObject *
vigil_host_effective_settings_unmasked (VigilHost *host, const char *device, const char *section,
                                        GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  if (section == NULL || vh_registry_section (host, section) == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "section '%s' is not registered by any loaded plugin",
                   section ? section : "");
      return NULL;
    }
  return vh_effective_section (host, device, section, NULL, error);
}

JsonObject *
vigil_host_devices_settings_unmasked (VigilHost *host, const char *const *devices, GError **error)
{
  g_return_val_if_fail (host != NULL && devices != NULL, NULL);
  return vh_effective_devices (host, devices, error);
}

JsonArray *
vigil_host_validate_policy (VigilHost *host, JsonObject *policy)
{
  g_return_val_if_fail (host != NULL && policy != NULL, json_array_new ());
  return vh_policy_validate (host, policy);
}
