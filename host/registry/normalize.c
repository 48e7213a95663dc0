/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turning what a plugin passes into the host's own copy. Every struct that
 * crosses the ABI is size-stamped: a plugin built against an older minor
 * passes a smaller struct, which is copied and zero-filled; one built
 * against a newer minor passes a larger struct, accepted only when every
 * byte this host does not know is zero (as Linux's copy_struct_from_user),
 * because a set field the host would ignore is a behaviour the plugin asked
 * for and would silently not get. Nested arrays (settings groups, fields)
 * carry their own element size and are normalized the same way, so the
 * rest of the host only ever sees structs of the current size.
 */
#include "registry.h"

#include <string.h>

gboolean
vh_copy_struct (gpointer dst, gsize dst_size, gconstpointer src, gsize src_size,
                const char *what, GError **error)
{
  const guint8 *extra = (const guint8 *) src + dst_size;

  if (src == NULL || src_size == 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: missing (NULL or size 0)", what);
      return FALSE;
    }
  memset (dst, 0, dst_size);
  memcpy (dst, src, MIN (dst_size, src_size));
  for (gsize i = 0; src_size > dst_size && i < src_size - dst_size; i++)
    if (extra[i] != 0)
      {
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                     "%s is %" G_GSIZE_FORMAT " bytes and sets fields beyond "
                     "the %" G_GSIZE_FORMAT " this host knows (byte %"
                     G_GSIZE_FORMAT "): the plugin needs a newer Vigil",
                     what, src_size, dst_size, dst_size + i);
        return FALSE;
      }
  return TRUE;
}

/* Copies an array of @n elements of @elem_size into a new array of
 * @host_size elements. Returns: (transfer full), NULL for n == 0. */
static gpointer
copy_array (gconstpointer src, gsize n, gsize elem_size, gsize host_size,
            const char *what, GError **error)
{
  g_autofree guint8 *out = NULL;

  if (n == 0)
    return NULL;
  if (src == NULL || elem_size == 0 || n > 4096)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: %s (%" G_GSIZE_FORMAT " elements of %" G_GSIZE_FORMAT
                   " bytes)", what,
                   src == NULL ? "the array is NULL" :
                   elem_size == 0 ? "the element size is 0 (use VIGIL_ARRAY)" :
                   "too many elements", n, elem_size);
      return NULL;
    }
  out = g_malloc0_n (n, host_size);
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *item = g_strdup_printf ("%s[%" G_GSIZE_FORMAT "]", what, i);
      if (!vh_copy_struct (out + i * host_size, host_size,
                           (const guint8 *) src + i * elem_size, elem_size,
                           item, error))
        return NULL;
    }
  return g_steal_pointer (&out);
}

static VigilField *
copy_fields (const VigilField *fields, gsize n, gsize elem_size,
             const char *what, GError **error)
{
  return copy_array (fields, n, elem_size, sizeof (VigilField), what, error);
}

/* Frees the arrays the host allocated for a section's groups. */
static void
free_groups (VigilSettingsGroup *groups, gsize n)
{
  for (gsize i = 0; groups != NULL && i < n; i++)
    g_free ((gpointer) groups[i].fields);
  g_free (groups);
}

void
vh_section_entry_free (VhSection *entry)
{
  if (entry == NULL)
    return;
  free_groups ((VigilSettingsGroup *) entry->section.groups, entry->section.n_groups);
  g_free (entry);
}

void
vh_task_type_entry_free (VhTaskType *entry)
{
  if (entry == NULL)
    return;
  g_free ((gpointer) entry->type.params);
  g_free (entry);
}

/* Replaces section->groups (the plugin's array) with the host's copy, each
 * group's fields copied too. On failure the section holds no groups. */
static gboolean
normalize_groups (VigilSection *section, GError **error)
{
  const VigilSettingsGroup *src = section->groups;
  gsize n = section->n_groups, elem_size = section->group_size;
  VigilSettingsGroup *groups;

  section->groups = NULL;
  section->n_groups = 0;
  section->group_size = sizeof (VigilSettingsGroup);
  if (n == 0)
    return TRUE;
  groups = copy_array (src, n, elem_size, sizeof *groups, "groups", error);
  if (groups == NULL)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *what = g_strdup_printf ("group '%s' fields",
                                               groups[i].id ? groups[i].id : "(null)");
      const VigilField *plugin_fields = groups[i].fields;

      groups[i].fields = copy_fields (plugin_fields, groups[i].n_fields,
                                      groups[i].field_size, what, error);
      groups[i].field_size = sizeof (VigilField);
      if (groups[i].fields == NULL && groups[i].n_fields > 0)
        {
          free_groups (groups, i); /* the groups before i own their fields */
          return FALSE;
        }
    }
  section->groups = groups;
  section->n_groups = n;
  return TRUE;
}

/* Both VigilSection and VigilTaskType start with their id: name it in the
 * error when the plugin's struct is large enough to hold it. */
static gpointer
prefix_error (GError **error, GError *local, const char *kind, gconstpointer src,
              gsize size)
{
  const char *id = src != NULL && size >= sizeof (const char *)
    ? *(const char *const *) src : NULL;

  if (id != NULL)
    g_set_error (error, local->domain, local->code, "%s '%s': %s", kind, id,
                 local->message);
  else
    g_set_error_literal (error, local->domain, local->code, local->message);
  return NULL;
}

VhSection *
vh_normalize_section (VigilPlugin *plugin, const VigilSection *section,
                      gsize size, GError **error)
{
  g_autofree VhSection *entry = g_new0 (VhSection, 1);
  g_autoptr(GError) local = NULL;

  entry->plugin = plugin;
  if (!vh_copy_struct (&entry->section, sizeof entry->section, section, size,
                       "VigilSection", &local))
    return prefix_error (error, local, "section", section, size);
  if (!normalize_groups (&entry->section, &local))
    {
      const char *id = entry->section.id ? entry->section.id : "(null)";
      g_set_error (error, local->domain, local->code, "section '%s': %s", id,
                   local->message);
      return NULL;
    }
  return g_steal_pointer (&entry);
}

VhTaskType *
vh_normalize_task_type (VigilPlugin *plugin, const VigilTaskType *type,
                        gsize size, GError **error)
{
  g_autofree VhTaskType *entry = g_new0 (VhTaskType, 1);
  g_autoptr(GError) local = NULL;
  const VigilField *plugin_params;

  entry->plugin = plugin;
  if (!vh_copy_struct (&entry->type, sizeof entry->type, type, size,
                       "VigilTaskType", &local))
    return prefix_error (error, local, "task type", type, size);
  plugin_params = entry->type.params;
  entry->type.params = copy_fields (plugin_params, entry->type.n_params,
                                    entry->type.param_size, "params", &local);
  entry->type.param_size = sizeof (VigilField);
  if (local != NULL)
    {
      g_set_error (error, local->domain, local->code, "task type '%s': %s",
                   entry->type.id ? entry->type.id : "(null)", local->message);
      return NULL;
    }
  return g_steal_pointer (&entry);
}
