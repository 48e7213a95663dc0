/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API's inventory: admin groups and devices (add, move, remove,
 * list, show), this machine's device, a device's out-of-office state and
 * its local settings, checked against the loaded sections before they are
 * stored (also those an agent's console sends, which may lift protection). Thin wrappers over the inventory layer (host/inventory), which
 * guards every change against weakening password protection.
 */
#include "api-private.h"
#include "host-private.h"

gboolean
vigil_host_add_group (VigilHost *host, const char *id, const char *name,
                      const char *parent, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_group_add (host, id, name, parent, &local);
  return vh_api_guarded (ok, local, error);
}

gboolean
vigil_host_move_group (VigilHost *host, const char *id, const char *parent, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_group_move (host, id, parent, &local);
  return vh_api_guarded (ok, local, error);
}

gboolean
vigil_host_remove_group (VigilHost *host, const char *id, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_group_remove (host, id, &local);
  return vh_api_guarded (ok, local, error);
}

JsonArray *
vigil_host_groups (VigilHost *host, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_inventory_groups (host, error);
}

JsonObject *
vigil_host_group (VigilHost *host, const char *id, GError **error)
{
  g_autoptr (JsonArray) groups = NULL;

  g_return_val_if_fail (host != NULL, NULL);
  groups = vh_inventory_groups (host, error);
  if (groups == NULL)
    return NULL;
  for (guint i = 0; id != NULL && i < json_array_get_length (groups); i++)
    {
      JsonObject *g = json_array_get_object_element (groups, i);
      if (g_strcmp0 (json_object_get_string_member (g, "id"), id) == 0)
        return json_object_ref (g);
    }
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
               "group '%s' does not exist", id ? id : "");
  return NULL;
}

gboolean
vigil_host_add_device (VigilHost *host, const char *id, const char *name,
                       const char *group, const char *root, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_device_add (host, id, name, group, root, &local);
  return vh_api_guarded (ok, local, error);
}

gboolean
vigil_host_move_device (VigilHost *host, const char *id, const char *group, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_device_move (host, id, group, &local);
  return vh_api_guarded (ok, local, error);
}

gboolean
vigil_host_remove_device (VigilHost *host, const char *id, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  /* Its agent's record goes too: a device added again under the same id
   * must not inherit the old enrollment (and its certificate). */
  ok = vh_inventory_device_remove (host, id, &local) &&
       vh_device_agent_forget (host, id, &local);
  return vh_api_guarded (ok, local, error);
}

gboolean
vigil_host_set_machine_device (VigilHost *host, const char *id, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_set_machine (host, id, &local);
  return vh_api_guarded (ok, local, error);
}

char *
vigil_host_machine_device (VigilHost *host, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_inventory_machine (host, error);
}

JsonObject *
vigil_host_device (VigilHost *host, const char *id, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_inventory_device (host, id, error);
}

JsonArray *
vigil_host_devices (VigilHost *host, const char *group, GError **error)
{
  g_return_val_if_fail (host != NULL, NULL);
  return vh_inventory_devices (host, group, error);
}

gboolean
vigil_host_set_device_out_of_office (VigilHost *host, const char *id,
                                     gboolean out_of_office, GError **error)
{
  GError *local = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  ok = vh_inventory_device_set_out_of_office (host, id, out_of_office, &local);
  return vh_api_guarded (ok, local, error);
}

/* @managed: from the device's managing console, whose policy may lift
 * this machine's protection without the local password. */
static gboolean
set_device_settings (VigilHost *host, const char *id, JsonObject *settings, gboolean managed,
                     JsonArray **problems, JsonObject **stored, GError **error)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) local = NULL;
  GError *inner = NULL;
  gboolean ok;

  g_return_val_if_fail (host != NULL, FALSE);
  if (settings == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "no local settings given");
      return FALSE;
    }
  local = vh_local_settings_check (vh_registry_sections (host), settings, report);
  if (problems != NULL)
    *problems = vh_report_to_json (report);
  if (local == NULL || vh_report_has_errors (report))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "the local settings of device '%s' have problems; nothing changed",
                   id ? id : "");
      return FALSE;
    }
  if (managed)
    vh_guard_trust (host, TRUE);
  ok = vh_inventory_device_set_local (host, id, local, &inner);
  if (managed)
    vh_guard_trust (host, FALSE);
  if (!vh_api_guarded (ok, inner, error))
    return FALSE;
  if (stored != NULL)
    *stored = g_steal_pointer (&local);
  return TRUE;
}

gboolean
vigil_host_set_device_settings (VigilHost *host, const char *id, JsonObject *settings,
                                JsonArray **problems, JsonObject **stored, GError **error)
{
  return set_device_settings (host, id, settings, FALSE, problems, stored, error);
}

gboolean
vigil_host_apply_managed_settings (VigilHost *host, const char *id, JsonObject *settings,
                                   JsonArray **problems, GError **error)
{
  return set_device_settings (host, id, settings, TRUE, problems, NULL, error);
}

JsonObject *
vigil_host_device_settings (VigilHost *host, const char *id, GError **error)
{
  JsonObject *local;
  JsonObjectIter iter;
  const char *section_id;
  JsonNode *node;

  g_return_val_if_fail (host != NULL, NULL);
  local = vh_inventory_device_local (host, id, error);
  if (local == NULL)
    return NULL;
  json_object_iter_init (&iter, local);
  while (json_object_iter_next (&iter, &section_id, &node))
    {
      const VhSection *vs = vh_registry_section (host, section_id);
      if (vs != NULL && JSON_NODE_HOLDS_OBJECT (node))
        vh_schema_mask_secrets (&vs->section, json_node_get_object (node));
    }
  return local;
}
