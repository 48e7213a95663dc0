/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Masked secrets coming back: every export masks a secret as "********"
 * (`policy show --json`), so an admin who edits an export and applies it,
 * or copies a policy by renaming one, hands the mask back as if it were
 * the value. Stored, it would silently become the password. What an admin
 * means depends on the policy: re-applying the same policy (same name)
 * means "unchanged", so the stored secret is kept; a new policy (a copy
 * under another name) has no secret to keep, so the mask is refused with
 * the path and what to do. A copy never inherits its source's secret: the
 * source is not known, only the mask.
 */
#include "policy.h"

#define SECRET_MASK "********"

/* settings.<section>.<group>.values, or NULL. */
static JsonObject *
values_of (JsonObject *doc, char **parts)
{
  JsonObject *o = vigil_json_get_object (doc, "settings");

  o = vigil_json_get_object (o, parts[0]);
  o = vigil_json_get_object (o, parts[1]);
  return vigil_json_get_object (o, "values");
}

gboolean
vh_policy_resolve_masked (VigilHost *host, JsonObject *doc, VigilReport *report)
{
  g_autoptr (JsonArray) paths = vh_policy_secret_paths (vh_registry_sections (host), doc);
  g_autoptr (JsonObject) stored = NULL;
  const char *name = json_object_get_string_member_with_default (doc, "name", "");
  gboolean ok = TRUE;

  for (guint i = 0; i < json_array_get_length (paths); i++)
    {
      const char *path = json_array_get_string_element (paths, i);
      g_auto (GStrv) parts = g_strsplit (path, ".", 3);
      JsonObject *values = g_strv_length (parts) == 3 ? values_of (doc, parts) : NULL;
      const char *kept;

      if (g_strcmp0 (vigil_json_get_string (values, parts[2]), SECRET_MASK) != 0)
        continue;
      if (stored == NULL)
        stored = vh_policy_get (host, name, NULL);
      kept = stored ? vigil_json_get_string (values_of (stored, parts), parts[2]) : NULL;
      if (kept != NULL)
        {
          json_object_set_string_member (values, parts[2], kept);
          continue;
        }
      vh_report_add (report, VIGIL_SEVERITY_ERROR, path,
                     "is the mask " SECRET_MASK " of an exported secret, not a value, and "
                     "the policy '%s' has no stored secret to keep: write the real value, "
                     "or remove the key to leave it unset", name);
      ok = FALSE;
    }
  return ok;
}
