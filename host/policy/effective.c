/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Effective settings of one section for one device, and where each value
 * came from. Order: the schema defaults; then, for each group from the root
 * down to the device's group, that group's active policy (or, for a device
 * out of the office, the group's out-of-office policy when it has one); then
 * the device's local settings. A settings group locked by a policy is
 * enforced from there down: neither a policy below nor local settings can
 * change it. Within an unlocked group, a policy or local settings override
 * only the keys they name, the rest is inherited; a locked group enforces
 * every key of the group (named ones with the policy's value, the others
 * with what they had inherited).
 */
#include "policy.h"

#include <string.h>

typedef struct {
  VigilHost          *host;
  const VigilSection *section;
  JsonObject         *values;   /* group -> key -> value */
  JsonObject         *origins;  /* group -> key -> origin */
  JsonObject         *sources;  /* group -> key -> {source, policy, group, locked} */
  GHashTable         *locked;   /* group id -> policy name */
} Layers;

/* Where a value comes from: "default", "local", or a policy (its name,
 * the admin group it is configured for, whether it locks the value). */
typedef struct {
  const char *text;    /* as `vigil policy effective` shows it */
  const char *policy;  /* NULL unless a policy */
  const char *group;
  gboolean    locked;
} Origin;

static JsonObject *
source_object (const char *source, const Origin *origin)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "source", source);
  if (origin != NULL && origin->policy != NULL)
    {
      json_object_set_string_member (o, "policy", origin->policy);
      json_object_set_string_member (o, "group", origin->group);
      json_object_set_boolean_member (o, "locked", origin->locked);
    }
  return o;
}

static void
set_origin (Layers *l, const char *group, const char *key, const Origin *origin)
{
  json_object_set_string_member (json_object_get_object_member (l->origins, group), key,
                                 origin->text);
  json_object_set_object_member (json_object_get_object_member (l->sources, group), key,
                                 source_object (origin->policy ? "policy" : origin->text,
                                                origin));
}

static void
set_value (Layers *l, const char *group, const char *key, JsonNode *value,
           const Origin *origin)
{
  json_object_set_member (json_object_get_object_member (l->values, group), key,
                          vh_json_node_copy (value));
  set_origin (l, group, key, origin);
}

static void
layer_defaults (Layers *l)
{
  for (gsize i = 0; i < l->section->n_groups; i++)
    {
      const VigilSettingsGroup *g = vh_section_group (l->section, i);
      JsonObject *d = vh_schema_group_defaults (g);
      JsonObject *o = json_object_new ();
      JsonObject *src = json_object_new ();

      for (gsize j = 0; j < g->n_fields; j++)
        {
          json_object_set_string_member (o, vh_group_field (g, j)->key, "default");
          json_object_set_object_member (src, vh_group_field (g, j)->key,
                                         source_object ("default", NULL));
        }
      json_object_set_object_member (l->values, g->id, d);
      json_object_set_object_member (l->origins, g->id, o);
      json_object_set_object_member (l->sources, g->id, src);
    }
}

/* Copies the keys of @given the schema knows; stale keys from an older
 * plugin version are ignored rather than handed to the plugin. */
static void
layer_keys (Layers *l, const VigilSettingsGroup *g, JsonObject *given, const Origin *origin)
{
  for (gsize j = 0; given && j < g->n_fields; j++)
    {
      const char *key = vh_group_field (g, j)->key;
      JsonNode *v = json_object_get_member (given, key);
      if (v != NULL)
        set_value (l, g->id, key, v, origin);
    }
}

static JsonObject *
member_object (JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;

  return (n && JSON_NODE_HOLDS_OBJECT (n)) ? json_node_get_object (n) : NULL;
}

/* Stored sections are at the schema version of the day they were applied;
 * a plugin upgraded since then migrates them here. The ABI runs migrate
 * callbacks on the main thread only: a task on a worker thread gets the
 * stored keys the current schema still knows. (transfer full) */
static JsonObject *
current_section (VigilHost *host, const VigilSection *s, JsonObject *stored)
{
  JsonNode *vn = json_object_get_member (stored, "schema_version");
  gint64 v = vn && JSON_NODE_HOLDS_VALUE (vn) ? json_node_get_int (vn) : s->schema_version;
  g_autoptr (JsonObject) copy = NULL;

  if (v >= s->schema_version || v < 1 || s->migrate == NULL ||
      g_thread_self () != vh_context (host)->main_thread)
    return json_object_ref (stored);
  copy = vh_json_object_copy (stored);
  json_object_remove_member (copy, "schema_version");
  return s->migrate (copy, (guint) v, s->user_data, NULL);
}

static void
layer_policy (Layers *l, JsonObject *doc)
{
  const char *name = json_object_get_string_member_with_default (doc, "name", "?");
  const char *group = json_object_get_string_member_with_default (doc, "group", "?");
  JsonObject *stored = member_object (member_object (doc, "settings"), l->section->id);
  g_autoptr (JsonObject) sec = stored ? current_section (l->host, l->section, stored) : NULL;

  for (gsize i = 0; sec && i < l->section->n_groups; i++)
    {
      const VigilSettingsGroup *g = vh_section_group (l->section, i);
      JsonObject *grp = member_object (sec, g->id);
      gboolean locked;
      g_autofree char *text = NULL;
      Origin origin;

      if (grp == NULL || g_hash_table_contains (l->locked, g->id))
        continue;
      locked = json_object_get_boolean_member_with_default (grp, "locked", FALSE);
      text = g_strdup_printf (locked ? "policy:%s (locked)" : "policy:%s", name);
      origin = (Origin) { text, name, group, locked };
      layer_keys (l, g, member_object (grp, "values"), &origin);
      if (!locked)
        continue;
      for (gsize j = 0; j < g->n_fields; j++)
        set_origin (l, g->id, vh_group_field (g, j)->key, &origin);
      g_hash_table_insert (l->locked, g_strdup (g->id), g_strdup (name));
    }
}

/* The policy documents that apply to a device of @group (from the root
 * down), for a device out of the office when @away; (transfer full). */
static GPtrArray *
chain_documents (VigilHost *host, const char *group, gboolean away, GError **error)
{
  g_autoptr (GPtrArray) chain = vh_inventory_group_chain (host, group, error);
  GPtrArray *docs;

  if (chain == NULL)
    return NULL;
  docs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  for (guint i = 0; i < chain->len; i++)
    {
      JsonObject *doc = NULL;

      if (away)
        doc = vh_policy_for_group (host, chain->pdata[i], "out-of-office", NULL);
      if (doc == NULL)
        doc = vh_policy_for_group (host, chain->pdata[i], "active", NULL);
      if (doc != NULL)
        g_ptr_array_add (docs, doc);
    }
  return docs;
}

static void
layer_local (Layers *l, JsonObject *local)
{
  const Origin origin = { "local", NULL, NULL, FALSE };
  JsonObject *sec = member_object (local, l->section->id);

  for (gsize i = 0; sec && i < l->section->n_groups; i++)
    {
      const VigilSettingsGroup *g = vh_section_group (l->section, i);
      if (!g_hash_table_contains (l->locked, g->id))
        layer_keys (l, g, member_object (sec, g->id), &origin);
    }
}

/* @vs's values over the defaults, the policies @docs and @local, in that
 * order; (transfer full) values, and @origins / @sources when asked. */
static JsonObject *
section_values (VigilHost *host, const VhSection *vs, GPtrArray *docs, JsonObject *local,
                JsonObject **origins, JsonObject **sources)
{
  g_autoptr (GHashTable) locked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (JsonObject) values = json_object_new ();
  g_autoptr (JsonObject) orig = json_object_new ();
  g_autoptr (JsonObject) src = json_object_new ();
  Layers l = { host, &vs->section, values, orig, src, locked };

  layer_defaults (&l);
  for (guint i = 0; i < docs->len; i++)
    layer_policy (&l, docs->pdata[i]);
  layer_local (&l, local);
  if (origins)
    *origins = g_steal_pointer (&orig);
  if (sources)
    *sources = g_steal_pointer (&src);
  return g_steal_pointer (&values);
}

JsonObject *
vh_effective_section (VigilHost *host, const char *device_id,
                      const char *section_id, JsonObject **origins, GError **error)
{
  return vh_effective_section_sources (host, device_id, section_id, origins, NULL, error);
}

JsonObject *
vh_effective_section_sources (VigilHost *host, const char *device_id,
                              const char *section_id, JsonObject **origins,
                              JsonObject **sources, GError **error)
{
  const VhSection *vs = vh_registry_section (host, section_id);
  g_autoptr (JsonObject) device = NULL, local = NULL;
  g_autoptr (GPtrArray) docs = NULL;

  if (vs == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "section '%s' is not registered by any loaded plugin", section_id);
      return NULL;
    }
  device = vh_inventory_device (host, device_id, error);
  if (device == NULL)
    return NULL;
  docs = chain_documents (host, json_object_get_string_member (device, "group"),
                          json_object_get_boolean_member_with_default (device, "out_of_office",
                                                                       FALSE), error);
  if (docs == NULL || (local = vh_inventory_device_local (host, device_id, error)) == NULL)
    return NULL;
  return section_values (host, vs, docs, local, origins, sources);
}

/* Every registered section's values for one profile: section -> values. */
static JsonObject *
all_sections (VigilHost *host, const VhDeviceProfile *p, GError **error)
{
  GPtrArray *sections = vh_registry_sections (host);
  g_autoptr (GPtrArray) docs = chain_documents (host, p->group, p->out_of_office, error);
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (JsonObject) local = NULL;
  JsonObject *out;

  if (docs == NULL)
    return NULL;
  parsed = json_from_string (p->local, NULL);
  local = parsed && JSON_NODE_HOLDS_OBJECT (parsed) ? json_object_ref (json_node_get_object (parsed))
                                                    : json_object_new ();
  out = json_object_new ();
  for (guint i = 0; sections != NULL && i < sections->len; i++)
    {
      const VhSection *vs = g_ptr_array_index (sections, i);

      json_object_set_object_member (out, vs->section.id,
                                     section_values (host, vs, docs, local, NULL, NULL));
    }
  return out;
}

JsonObject *
vh_effective_devices (VigilHost *host, const char *const *device_ids, GError **error)
{
  g_autoptr (GPtrArray) profiles = vh_inventory_device_profiles (host, error);
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  /* group, out of office, local settings -> section -> values */
  g_autoptr (GHashTable) shared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) json_object_unref);
  g_autoptr (JsonObject) out = json_object_new ();

  if (profiles == NULL)
    return NULL;
  for (const char *const *id = device_ids; *id != NULL; id++)
    g_hash_table_add (wanted, (gpointer) *id);
  for (guint i = 0; i < profiles->len; i++)
    {
      const VhDeviceProfile *p = profiles->pdata[i];
      g_autofree char *key = NULL;
      JsonObject *values;

      if (!g_hash_table_contains (wanted, p->id))
        continue;
      key = g_strdup_printf ("%s%c%d%c%s", p->group, 0x1f, p->out_of_office, 0x1f, p->local);
      values = g_hash_table_lookup (shared, key);
      if (values == NULL)
        {
          if ((values = all_sections (host, p, error)) == NULL)
            return NULL;
          g_hash_table_insert (shared, g_steal_pointer (&key), values);
        }
      json_object_set_object_member (out, p->id, json_object_ref (values));
    }
  return g_steal_pointer (&out);
}
