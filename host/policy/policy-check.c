/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy documents as untrusted input: parsing with size and depth limits
 * through the strict reader (a duplicate key, NUL in a string, a
 * non-standard number or an integer beyond 64 bits is refused, not read
 * the way json-glib would), then a check of every part against the registered sections (passed in, so
 * that this file needs no host and the fuzz target can drive it): the
 * top-level fields, unknown sections, groups and keys with suggestions, the
 * generic schema checks per settings group, the section's schema version
 * (older ones are migrated through the section's migrate callback on
 * import), and last the plugin's own validate callback with defaults filled
 * in. Every problem is reported with its JSON path; checking goes on after
 * a problem so an admin sees all of them at once.
 */
#include "policy.h"

#include <string.h>

#include "vigil/util/json.h"

#define NAME_MAX_CHARS 200

static const char *const top_keys[] = { "name", "group", "status", "description", "settings", NULL };
static const char *const group_keys[] = { "locked", "values" };
static const char *const statuses[] = { "active", "inactive", "out-of-office" };

const VhSection *
vh_sections_find (GPtrArray *sections, const char *id)
{
  for (guint i = 0; sections && i < sections->len; i++)
    {
      const VhSection *s = sections->pdata[i];
      if (g_strcmp0 (s->section.id, id) == 0)
        return s;
    }
  return NULL;
}

static JsonObject *
member_object (JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member (o, key) : NULL;

  return (n && JSON_NODE_HOLDS_OBJECT (n)) ? json_node_get_object (n) : NULL;
}

/* ---- parsing -------------------------------------------------------- */

JsonObject *
vh_policy_parse (const char *data, gsize len, VigilReport *report)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;

  if (len > VH_POLICY_MAX_BYTES)
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, "",
                     "the document is %" G_GSIZE_FORMAT " bytes; policies are limited to %d",
                     len, VH_POLICY_MAX_BYTES);
      return NULL;
    }
  if (!vh_json_depth_ok (data, len))
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, "",
                     "the document is nested deeper than %d levels", VH_JSON_MAX_DEPTH);
      return NULL;
    }
  root = vigil_json_parse (data, (gssize) len, VIGIL_JSON_STRICT, NULL, &error);
  if (root == NULL)
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, "", "invalid JSON: %s", error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, "", "a policy is a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* ---- small helpers -------------------------------------------------- */

static void
report_unknown (VigilReport *report, const char *path, const char *what,
                const char *word, const char *const *candidates, gsize n,
                const char *note)
{
  g_autofree char *hint = vh_suggest_suffix (word, candidates, n);

  vh_report_add (report, VIGIL_SEVERITY_ERROR, path, "unknown %s%s%s", what, hint,
                 *hint ? "" : note);
}

static char *
join (const char *a, const char *b)
{
  return (a && *a) ? g_strconcat (a, ".", b, NULL) : g_strdup (b);
}

/* A string member, or NULL with a problem when present but not a string. */
static const char *
string_member (JsonObject *o, const char *key, VigilReport *report)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  vh_report_add (report, VIGIL_SEVERITY_ERROR, key, "expected a string");
  return NULL;
}

/* ---- the top level -------------------------------------------------- */

static gboolean
check_status (const char *status, VigilReport *report)
{
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (strcmp (status, statuses[i]) == 0)
      return TRUE;
  {
    /* Cut long input on a byte count, then repair a split character. */
    g_autofree char *shown = g_utf8_make_valid (status, MIN (strlen (status), 40));
    vh_report_add (report, VIGIL_SEVERITY_ERROR, "status",
                   "'%s' is not one of: active, inactive, out-of-office", shown);
  }
  return FALSE;
}

static gboolean
name_ok (const char *name)
{
  if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL) ||
      g_utf8_strlen (name, -1) > NAME_MAX_CHARS)
    return FALSE;
  /* Names are printed in lists and origins: no control characters. */
  for (const char *p = name; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

static void
check_top (JsonObject *doc, JsonObject *out, VigilReport *report)
{
  const char *name = string_member (doc, "name", report);
  const char *group = string_member (doc, "group", report);
  const char *status = string_member (doc, "status", report);
  const char *description = string_member (doc, "description", report);
  g_autoptr (GList) members = json_object_get_members (doc);

  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (top_keys, l->data))
      report_unknown (report, l->data, "key", l->data, top_keys, G_N_ELEMENTS (top_keys) - 1, "");
  if (!name_ok (name))
    vh_report_add (report, VIGIL_SEVERITY_ERROR, "name",
                   "is required: a non-empty name of at most %d characters, without "
                   "control characters", NAME_MAX_CHARS);
  else
    json_object_set_string_member (out, "name", name);
  if (group == NULL || !vh_inventory_id_valid (group))
    vh_report_add (report, VIGIL_SEVERITY_ERROR, "group",
                   "is required: the id of the admin group the policy targets");
  else
    json_object_set_string_member (out, "group", group);
  if (status == NULL || check_status (status, report))
    json_object_set_string_member (out, "status", status ? status : "active");
  if (description != NULL)
    json_object_set_string_member (out, "description", description);
}

/* ---- one settings group --------------------------------------------- */

/* Checks {"locked": bool, "values": {...}}; stores the normalized group in
 * @out_section and the values with defaults in @filled. */
static void
check_group (const VigilSettingsGroup *g, JsonNode *node, const char *path,
             JsonObject *out_section, JsonObject *filled, VigilReport *report)
{
  JsonObject *o, *values = NULL, *norm;
  JsonNode *locked, *vnode;
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, path,
                     "expected an object {\"locked\": true|false, \"values\": {...}}");
      return;
    }
  o = json_node_get_object (node);
  json_object_iter_init (&iter, o);
  while (json_object_iter_next (&iter, &key, &member))
    if (strcmp (key, "locked") != 0 && strcmp (key, "values") != 0)
      {
        g_autofree char *p = join (path, key);
        report_unknown (report, p, "key", key, group_keys, G_N_ELEMENTS (group_keys),
                        " (a settings group holds \"locked\" and \"values\")");
      }
  locked = json_object_get_member (o, "locked");
  if (locked != NULL && !(JSON_NODE_HOLDS_VALUE (locked) &&
                          json_node_get_value_type (locked) == G_TYPE_BOOLEAN))
    {
      g_autofree char *p = join (path, "locked");
      vh_report_add (report, VIGIL_SEVERITY_ERROR, p, "expected a boolean");
      locked = NULL;
    }
  vnode = json_object_get_member (o, "values");
  if (vnode != NULL && JSON_NODE_HOLDS_OBJECT (vnode))
    values = json_node_get_object (vnode);
  else if (vnode != NULL && !JSON_NODE_HOLDS_NULL (vnode))
    {
      g_autofree char *p = join (path, "values");
      vh_report_add (report, VIGIL_SEVERITY_ERROR, p, "expected an object of key -> value");
    }
  {
    g_autoptr (JsonObject) checked = vh_schema_check_group (g, values, path, FALSE, report);
    json_object_set_object_member (filled, g->id, json_object_ref (checked));
  }
  norm = json_object_new ();
  json_object_set_boolean_member (norm, "locked", locked ? json_node_get_boolean (locked) : FALSE);
  json_object_set_object_member (norm, "values", values ? vh_json_object_copy (values)
                                                        : json_object_new ());
  json_object_set_object_member (out_section, g->id, norm);
}

/* ---- schema versions and migration ---------------------------------- */

/* Returns the section object to check (a new reference): @sec_obj itself,
 * or what the section's migrate made of it; NULL when it cannot be used. */
static JsonObject *
resolve_version (const VhSection *vs, JsonObject *sec_obj, const char *path,
                 gboolean import, VigilReport *report)
{
  const VigilSection *s = &vs->section;
  JsonNode *vn = json_object_get_member (sec_obj, "schema_version");
  g_autoptr (JsonObject) copy = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *vpath = join (path, "schema_version");
  JsonObject *migrated;
  gint64 v;

  if (vn == NULL)
    return json_object_ref (sec_obj);
  if (!(JSON_NODE_HOLDS_VALUE (vn) && json_node_get_value_type (vn) == G_TYPE_INT64) ||
      json_node_get_int (vn) < 1)
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, vpath, "expected an integer >= 1");
      return NULL;
    }
  v = json_node_get_int (vn);
  if (v == s->schema_version)
    return json_object_ref (sec_obj);
  if (v > s->schema_version)
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, vpath,
                     "written for schema version %" G_GINT64_FORMAT ", newer than the "
                     "section's %u: upgrade the plugin that provides '%s'",
                     v, s->schema_version, s->id);
      return NULL;
    }
  if (!import)
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, vpath,
                     "written for schema version %" G_GINT64_FORMAT "; the section is at "
                     "version %u: use `vigil policy import` to migrate it",
                     v, s->schema_version);
      return NULL;
    }
  if (s->migrate == NULL)
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, vpath,
                     "cannot import version %" G_GINT64_FORMAT ": the section '%s' has "
                     "no migration from older versions", v, s->id);
      return NULL;
    }
  /* The plugin sees the section as written, without our bookkeeping. */
  copy = json_object_new ();
  {
    JsonObjectIter iter;
    const char *key;
    JsonNode *member;
    json_object_iter_init (&iter, sec_obj);
    while (json_object_iter_next (&iter, &key, &member))
      if (strcmp (key, "schema_version") != 0)
        json_object_set_member (copy, key, vh_json_node_copy (member));
  }
  migrated = s->migrate (copy, (guint) v, s->user_data, &error);
  if (migrated == NULL)
    vh_report_add (report, VIGIL_SEVERITY_ERROR, vpath,
                   "cannot migrate from version %" G_GINT64_FORMAT ": %s", v,
                   error ? error->message : "the plugin's migrate failed");
  return migrated;
}

/* ---- one section ---------------------------------------------------- */

static void
report_unknown_group (const VigilSection *s, const char *key, const char *path,
                      VigilReport *report)
{
  g_autofree const char **ids = g_new0 (const char *, s->n_groups + 1);

  for (gsize i = 0; i < s->n_groups; i++)
    ids[i] = vh_section_group (s, i)->id;
  report_unknown (report, path, "settings group", key, ids, s->n_groups, "");
}

static void
run_validate (const VigilSection *s, JsonObject *filled, VigilReport *report)
{
  g_autofree char *prefix = g_strconcat (s->id, ".", NULL);

  for (gsize i = 0; i < s->n_groups; i++)
    {
      const VigilSettingsGroup *g = vh_section_group (s, i);
      if (!json_object_has_member (filled, g->id))
        json_object_set_object_member (filled, g->id, vh_schema_group_defaults (g));
    }
  vh_report_set_prefix (report, prefix);
  s->validate (filled, report, s->user_data);
  vh_report_set_prefix (report, NULL);
}

static JsonObject *
check_section (const VhSection *vs, JsonObject *given, gboolean import, VigilReport *report)
{
  const VigilSection *s = &vs->section;
  g_autoptr (JsonObject) sec_obj = resolve_version (vs, given, s->id, import, report);
  g_autoptr (JsonObject) filled = json_object_new ();
  JsonObject *out;
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;
  guint errors_before = vh_report_error_count (report);

  if (sec_obj == NULL)
    return NULL;
  out = json_object_new ();
  json_object_set_int_member (out, "schema_version", s->schema_version);
  json_object_iter_init (&iter, sec_obj);
  while (json_object_iter_next (&iter, &key, &member))
    {
      g_autofree char *path = join (s->id, key);
      const VigilSettingsGroup *g;

      if (strcmp (key, "schema_version") == 0)
        continue;
      g = vh_section_find_group (s, key);
      if (g == NULL)
        report_unknown_group (s, key, path, report);
      else
        check_group (g, member, path, out, filled, report);
    }
  /* Cross-field rules assume well-typed values: only run them then. */
  if (s->validate != NULL && vh_report_error_count (report) == errors_before)
    run_validate (s, filled, report);
  return out;
}

static void
check_settings (GPtrArray *sections, JsonNode *node, gboolean import,
                JsonObject *out, VigilReport *report)
{
  JsonObject *settings = json_object_new ();
  g_autofree const char **ids = g_new0 (const char *, (sections ? sections->len : 0) + 1);
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;

  json_object_set_object_member (out, "settings", settings);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, "settings",
                     "expected an object of section -> settings groups");
      return;
    }
  for (guint i = 0; sections && i < sections->len; i++)
    ids[i] = ((const VhSection *) sections->pdata[i])->section.id;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &member))
    {
      const VhSection *vs = vh_sections_find (sections, key);
      JsonObject *sec;

      if (vs == NULL)
        report_unknown (report, key, "section", key, ids, sections ? sections->len : 0,
                        " (no loaded plugin provides it: see `vigil plugins --all`)");
      else if (!JSON_NODE_HOLDS_OBJECT (member))
        vh_report_add (report, VIGIL_SEVERITY_ERROR, key,
                       "expected an object of settings group -> {locked, values}");
      else if ((sec = check_section (vs, json_node_get_object (member), import, report)))
        json_object_set_object_member (settings, key, sec);
    }
}

JsonObject *
vh_policy_check (GPtrArray *sections, JsonObject *doc, gboolean import,
                 VigilReport *report)
{
  g_autoptr (JsonObject) out = json_object_new ();

  g_return_val_if_fail (doc != NULL && report != NULL, NULL);
  check_top (doc, out, report);
  check_settings (sections, json_object_get_member (doc, "settings"), import, out, report);
  if (vh_report_has_errors (report))
    return NULL;
  return g_steal_pointer (&out);
}

/* ---- local device settings ----------------------------------------- */

static JsonObject *
check_local_section (const VigilSection *s, JsonNode *node, VigilReport *report)
{
  JsonObject *out = json_object_new ();
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, s->id,
                     "expected an object of settings group -> key -> value");
      return out;
    }
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &member))
    {
      g_autofree char *path = join (s->id, key);
      const VigilSettingsGroup *g = vh_section_find_group (s, key);

      if (g == NULL)
        report_unknown_group (s, key, path, report);
      else if (!JSON_NODE_HOLDS_OBJECT (member))
        vh_report_add (report, VIGIL_SEVERITY_ERROR, path, "expected an object of key -> value");
      else
        json_object_set_object_member (out, key,
                                       vh_schema_check_group (g, json_node_get_object (member),
                                                              path, TRUE, report));
    }
  return out;
}

JsonObject *
vh_local_settings_check (GPtrArray *sections, JsonObject *settings, VigilReport *report)
{
  g_autoptr (JsonObject) out = json_object_new ();
  g_autofree const char **ids = g_new0 (const char *, (sections ? sections->len : 0) + 1);
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;

  for (guint i = 0; sections && i < sections->len; i++)
    ids[i] = ((const VhSection *) sections->pdata[i])->section.id;
  json_object_iter_init (&iter, settings);
  while (json_object_iter_next (&iter, &key, &member))
    {
      const VhSection *vs = vh_sections_find (sections, key);

      if (vs == NULL)
        report_unknown (report, key, "section", key, ids, sections ? sections->len : 0,
                        " (no loaded plugin provides it: see `vigil plugins --all`)");
      else
        json_object_set_object_member (out, key, check_local_section (&vs->section, member, report));
    }
  return vh_report_has_errors (report) ? NULL : g_steal_pointer (&out);
}

/* ---- defaults and secrets ------------------------------------------- */

JsonObject *
vh_policy_defaults (GPtrArray *sections)
{
  JsonObject *doc = json_object_new ();
  JsonObject *settings = json_object_new ();

  json_object_set_string_member (doc, "name", "Default settings");
  json_object_set_string_member (doc, "group", "root");
  json_object_set_string_member (doc, "status", "inactive");
  json_object_set_object_member (doc, "settings", settings);
  for (guint i = 0; sections && i < sections->len; i++)
    {
      const VigilSection *s = &((const VhSection *) sections->pdata[i])->section;
      JsonObject *sec = json_object_new ();

      json_object_set_int_member (sec, "schema_version", s->schema_version);
      for (gsize j = 0; j < s->n_groups; j++)
        {
          const VigilSettingsGroup *g = vh_section_group (s, j);
          JsonObject *grp = json_object_new ();
          json_object_set_boolean_member (grp, "locked", FALSE);
          json_object_set_object_member (grp, "values", vh_schema_group_defaults (g));
          json_object_set_object_member (sec, g->id, grp);
        }
      json_object_set_object_member (settings, s->id, sec);
    }
  vh_policy_mask_secrets (sections, doc);
  return doc;
}

void
vh_policy_mask_secrets (GPtrArray *sections, JsonObject *doc)
{
  JsonNode *sn = json_object_get_member (doc, "settings");
  JsonObjectIter iter;
  const char *id;
  JsonNode *member;

  if (sn == NULL || !JSON_NODE_HOLDS_OBJECT (sn))
    return;
  json_object_iter_init (&iter, json_node_get_object (sn));
  while (json_object_iter_next (&iter, &id, &member))
    {
      const VhSection *vs = vh_sections_find (sections, id);
      if (vs == NULL || !JSON_NODE_HOLDS_OBJECT (member))
        continue;
      for (gsize j = 0; j < vs->section.n_groups; j++)
        {
          const VigilSettingsGroup *g = vh_section_group (&vs->section, j);
          JsonNode *gn = json_object_get_member (json_node_get_object (member), g->id);
          JsonNode *vn;
          if (gn == NULL || !JSON_NODE_HOLDS_OBJECT (gn))
            continue;
          vn = json_object_get_member (json_node_get_object (gn), "values");
          if (vn != NULL && JSON_NODE_HOLDS_OBJECT (vn))
            vh_schema_mask_group (g, json_node_get_object (vn));
        }
    }
}

/* ---- secrets remembered with a stored policy ------------------------ */

JsonArray *
vh_policy_secret_paths (GPtrArray *sections, JsonObject *doc)
{
  JsonArray *paths = json_array_new ();
  JsonNode *sn = json_object_get_member (doc, "settings");
  JsonObjectIter iter;
  const char *id;
  JsonNode *member;

  if (sn == NULL || !JSON_NODE_HOLDS_OBJECT (sn))
    return paths;
  json_object_iter_init (&iter, json_node_get_object (sn));
  while (json_object_iter_next (&iter, &id, &member))
    {
      const VhSection *vs = vh_sections_find (sections, id);
      for (gsize j = 0; vs && j < vs->section.n_groups; j++)
        {
          const VigilSettingsGroup *g = vh_section_group (&vs->section, j);
          for (gsize k = 0; k < g->n_fields; k++)
            if (vh_group_field (g, k)->flags & VIGIL_FIELD_FLAG_SECRET)
              {
                g_autofree char *p = g_strdup_printf ("%s.%s.%s", id, g->id,
                                                      vh_group_field (g, k)->key);
                json_array_add_string_element (paths, p);
              }
        }
    }
  return paths;
}

void
vh_policy_mask_paths (JsonObject *doc, JsonArray *paths)
{
  for (guint i = 0; paths && i < json_array_get_length (paths); i++)
    {
      g_auto (GStrv) parts = g_strsplit (json_array_get_string_element (paths, i), ".", 3);
      JsonObject *o = member_object (doc, "settings");

      if (g_strv_length (parts) != 3)
        continue;
      o = member_object (member_object (member_object (o, parts[0]), parts[1]), "values");
      if (o != NULL && json_object_has_member (o, parts[2]) &&
          !json_object_get_null_member (o, parts[2]))
        json_object_set_string_member (o, parts[2], "********");
    }
}
