/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Generic checks of settings against a declarative schema (VigilField
 * arrays): JSON type, integer ranges, enum values, times of day, absolute
 * paths, list items and lengths, required fields, and unknown keys with a
 * "did you mean" suggestion found by edit distance. Also the defaults of a
 * schema, the masking of secret fields for every output, and a nesting
 * depth guard for untrusted JSON. Messages never quote the value of a
 * secret field.
 */
#include "registry.h"

#include <string.h>

#define SECRET_MASK "********"

/* ---- arrays with element sizes -------------------------------------- */

const VigilSettingsGroup *
vh_section_group (const VigilSection *section, gsize i)
{
  gsize stride = section->group_size ? section->group_size : sizeof (VigilSettingsGroup);

  return (const VigilSettingsGroup *) ((const guint8 *) section->groups + i * stride);
}

const VigilSettingsGroup *
vh_section_find_group (const VigilSection *section, const char *group_id)
{
  for (gsize i = 0; i < section->n_groups; i++)
    if (g_strcmp0 (vh_section_group (section, i)->id, group_id) == 0)
      return vh_section_group (section, i);
  return NULL;
}

const VigilField *
vh_group_field (const VigilSettingsGroup *group, gsize i)
{
  gsize stride = group->field_size ? group->field_size : sizeof (VigilField);

  return (const VigilField *) ((const guint8 *) group->fields + i * stride);
}

/* ---- suggestions ---------------------------------------------------- */

static gsize
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree gsize *row = g_new (gsize, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = j;
  for (gsize i = 1; i <= la; i++)
    {
      gsize diag = row[0];
      row[0] = i;
      for (gsize j = 1; j <= lb; j++)
        {
          gsize up = row[j];
          gsize cost = a[i - 1] == b[j - 1] ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[lb];
}

const char *
vh_suggest (const char *word, const char *const *candidates, gsize n)
{
  const char *best = NULL;
  gsize best_d = G_MAXSIZE;

  /* Keys are short; anything longer is not a typo of one. */
  if (word == NULL || strlen (word) > 128)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      const char *c = candidates[i];
      gsize d = edit_distance (word, c);
      gsize limit = MAX (2, MAX (strlen (word), strlen (c)) / 3);

      /* "sync_period" for "sync_period_min": a prefix is a likely slip too. */
      if (strlen (word) >= 3 && (g_str_has_prefix (c, word) || g_str_has_prefix (word, c)))
        d = MIN (d, limit);
      if (d <= limit && d < best_d)
        {
          best = c;
          best_d = d;
        }
    }
  return best;
}

char *
vh_suggest_suffix (const char *word, const char *const *candidates, gsize n)
{
  const char *s = vh_suggest (word, candidates, n);

  return s ? g_strdup_printf ("; did you mean '%s'?", s) : g_strdup ("");
}

/* ---- paths and value descriptions ----------------------------------- */

static char *
join_path (const char *path, const char *key)
{
  return (path && *path) ? g_strconcat (path, ".", key, NULL) : g_strdup (key);
}

static const char *
node_kind (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT: return "an object";
    case JSON_NODE_ARRAY:  return "a list";
    case JSON_NODE_NULL:   return "null";
    default: break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN: return "a boolean";
    case G_TYPE_INT64:   return "an integer";
    case G_TYPE_DOUBLE:  return "a number";
    case G_TYPE_STRING:  return "a string";
    default:             return "a value";
    }
}

static const char *
type_kind (VigilFieldType type)
{
  switch (type)
    {
    case VIGIL_FIELD_BOOL:        return "a boolean";
    case VIGIL_FIELD_INT:         return "an integer";
    case VIGIL_FIELD_LIST:        return "a list";
    case VIGIL_FIELD_OBJECT:      return "an object";
    case VIGIL_FIELD_TIME_OF_DAY: return "a time of day \"hh:mm\"";
    case VIGIL_FIELD_PATH:        return "an absolute path";
    default:                      return "a string";
    }
}

/* A string value quoted for a message; secrets are never echoed. */
static char *
quote (const VigilField *f, const char *s)
{
  if (f->flags & VIGIL_FIELD_FLAG_SECRET)
    return g_strdup ("the value");
  if (g_utf8_strlen (s, -1) > 40 || !g_utf8_validate (s, -1, NULL))
    {
      g_autofree char *head = g_utf8_make_valid (s, MIN (strlen (s), 120));
      g_autofree char *cut = g_utf8_substring (head, 0, MIN (g_utf8_strlen (head, -1), 40));
      return g_strdup_printf ("'%s…'", cut);
    }
  return g_strdup_printf ("'%s'", s);
}

static gboolean
is_type (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* ---- one value ------------------------------------------------------ */

static gboolean
time_of_day_ok (const char *s)
{
  return strlen (s) == 5 && g_ascii_isdigit (s[0]) && g_ascii_isdigit (s[1]) &&
         s[2] == ':' && g_ascii_isdigit (s[3]) && g_ascii_isdigit (s[4]) &&
         (s[0] - '0') * 10 + (s[1] - '0') < 24 && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

static void
check_enum (const VigilField *f, const char *s, const char *path, VigilReport *report)
{
  g_autoptr (GString) allowed = g_string_new (NULL);
  g_autofree char *q = NULL;

  if (f->enum_values == NULL)
    return;
  for (const char *const *v = f->enum_values; *v; v++)
    {
      if (strcmp (*v, s) == 0)
        return;
      g_string_append_printf (allowed, "%s%s", allowed->len ? ", " : "", *v);
    }
  q = quote (f, s);
  vh_report_add (report, VIGIL_SEVERITY_ERROR, path, "%s is not one of: %s",
                 q, allowed->str);
}

/* Whether @s has a ".." component ("/a/../b", "/..", "/a/.."). */
static gboolean
has_dotdot (const char *s)
{
  for (const char *p = s; (p = strstr (p, "..")) != NULL; p += 2)
    if ((p == s || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
      return TRUE;
  return FALSE;
}

static void check_value (const VigilField *f, JsonNode *node, const char *path,
                         VigilReport *report);

static void
check_list (const VigilField *f, JsonArray *array, const char *path, VigilReport *report)
{
  guint len = json_array_get_length (array);
  VigilField item = *f;

  if (f->has_range && (len < f->min || len > f->max))
    vh_report_add (report, VIGIL_SEVERITY_ERROR, path,
                   "has %u items; allowed %" G_GINT64_FORMAT "–%" G_GINT64_FORMAT,
                   len, f->min, f->max);
  item.type = f->item_type ? f->item_type : VIGIL_FIELD_STRING;
  item.has_range = FALSE;
  /* A list of lists is not declarable; treat nested ones as opaque. */
  if (item.type == VIGIL_FIELD_LIST)
    item.type = VIGIL_FIELD_OBJECT;
  for (guint i = 0; i < len; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s[%u]", path, i);
      JsonNode *n = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_NULL (n))
        vh_report_add (report, VIGIL_SEVERITY_ERROR, p, "expected %s, got null",
                       type_kind (item.type));
      else
        check_value (&item, n, p, report);
    }
}

static gboolean
check_type (const VigilField *f, JsonNode *node, const char *path, VigilReport *report)
{
  gboolean ok;

  switch (f->type)
    {
    case VIGIL_FIELD_BOOL:   ok = is_type (node, G_TYPE_BOOLEAN); break;
    case VIGIL_FIELD_INT:    ok = is_type (node, G_TYPE_INT64); break;
    case VIGIL_FIELD_LIST:   ok = JSON_NODE_HOLDS_ARRAY (node); break;
    case VIGIL_FIELD_OBJECT: ok = JSON_NODE_HOLDS_OBJECT (node); break;
    default:                 ok = is_type (node, G_TYPE_STRING); break;
    }
  if (!ok)
    vh_report_add (report, VIGIL_SEVERITY_ERROR, path, "expected %s, got %s",
                   type_kind (f->type), node_kind (node));
  return ok;
}

static void
check_value (const VigilField *f, JsonNode *node, const char *path, VigilReport *report)
{
  const char *s;
  g_autofree char *q = NULL;

  if (!check_type (f, node, path, report))
    return;
  switch (f->type)
    {
    case VIGIL_FIELD_INT:
      if (f->has_range && (json_node_get_int (node) < f->min || json_node_get_int (node) > f->max))
        vh_report_add (report, VIGIL_SEVERITY_ERROR, path,
                       "%" G_GINT64_FORMAT " is out of range %" G_GINT64_FORMAT "–%" G_GINT64_FORMAT,
                       json_node_get_int (node), f->min, f->max);
      break;
    case VIGIL_FIELD_ENUM:
      check_enum (f, json_node_get_string (node), path, report);
      break;
    case VIGIL_FIELD_TIME_OF_DAY:
      s = json_node_get_string (node);
      if (!time_of_day_ok (s))
        {
          q = quote (f, s);
          vh_report_add (report, VIGIL_SEVERITY_ERROR, path,
                         "%s is not a time of day (hh:mm, 00:00–23:59)", q);
        }
      break;
    case VIGIL_FIELD_PATH:
      s = json_node_get_string (node);
      if (!g_path_is_absolute (s))
        {
          q = quote (f, s);
          vh_report_add (report, VIGIL_SEVERITY_ERROR, path, "%s is not an absolute path", q);
        }
      else if (has_dotdot (s))
        {
          /* Refused here, not at run time: a path that climbs out of the
           * folder it names is a mistake or an attempt, never a setting. */
          q = quote (f, s);
          vh_report_add (report, VIGIL_SEVERITY_ERROR, path,
                         "%s contains '..': a path setting names its folder directly", q);
        }
      break;
    case VIGIL_FIELD_LIST:
      check_list (f, json_node_get_array (node), path, report);
      break;
    default:
      break;
    }
}

/* ---- defaults ------------------------------------------------------- */

static JsonNode *
field_default (const VigilField *f)
{
  JsonNode *node = NULL;

  if (f->default_json != NULL)
    node = json_from_string (f->default_json, NULL);
  /* A malformed default is the plugin's bug; core validates registrations,
   * so null here is only a last resort that keeps the host running. */
  return node ? node : json_node_new (JSON_NODE_NULL);
}

/* Field accessor over an array with a given stride. */
typedef struct {
  const guint8 *base;
  gsize         n;
  gsize         stride;
} Fields;

static const VigilField *
fields_at (const Fields *fs, gsize i)
{
  return (const VigilField *) (fs->base + i * fs->stride);
}

static JsonObject *
defaults_of (const Fields *fs)
{
  JsonObject *o = json_object_new ();

  for (gsize i = 0; i < fs->n; i++)
    json_object_set_member (o, fields_at (fs, i)->key, field_default (fields_at (fs, i)));
  return o;
}

JsonObject *
vh_schema_defaults (const VigilField *fields, gsize n_fields)
{
  Fields fs = { (const guint8 *) fields, n_fields, sizeof (VigilField) };

  return defaults_of (&fs);
}

JsonObject *
vh_schema_group_defaults (const VigilSettingsGroup *group)
{
  Fields fs = { (const guint8 *) group->fields, group->n_fields,
                group->field_size ? group->field_size : sizeof (VigilField) };

  return defaults_of (&fs);
}

/* ---- a whole object ------------------------------------------------- */

static const VigilField *
fields_find (const Fields *fs, const char *key)
{
  for (gsize i = 0; i < fs->n; i++)
    if (g_strcmp0 (fields_at (fs, i)->key, key) == 0)
      return fields_at (fs, i);
  return NULL;
}

static void
report_unknown (const Fields *fs, const char *key, const char *path, VigilReport *report)
{
  g_autofree const char **keys = g_new0 (const char *, fs->n + 1);
  g_autofree char *p = join_path (path, key);
  g_autofree char *hint = NULL;

  for (gsize i = 0; i < fs->n; i++)
    keys[i] = fields_at (fs, i)->key;
  hint = vh_suggest_suffix (key, keys, fs->n);
  vh_report_add (report, VIGIL_SEVERITY_ERROR, p, "unknown key%s", hint);
}

/* With @partial, only the keys given are checked and returned: local
 * settings override some keys and inherit the rest. */
static JsonObject *
check_fields (const Fields *fs, JsonObject *values, const char *path, VigilReport *report,
              gboolean partial)
{
  JsonObject *out = json_object_new ();
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;

  if (values != NULL)
    {
      json_object_iter_init (&iter, values);
      while (json_object_iter_next (&iter, &key, &node))
        if (fields_find (fs, key) == NULL)
          report_unknown (fs, key, path, report);
    }
  for (gsize i = 0; i < fs->n; i++)
    {
      const VigilField *f = fields_at (fs, i);
      g_autofree char *p = join_path (path, f->key);

      node = values ? json_object_get_member (values, f->key) : NULL;
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        {
          check_value (f, node, p, report);
          json_object_set_member (out, f->key, vh_json_node_copy (node));
          continue;
        }
      if (partial)
        continue;
      json_object_set_member (out, f->key, field_default (f));
      if ((f->flags & VIGIL_FIELD_FLAG_REQUIRED) &&
          JSON_NODE_HOLDS_NULL (json_object_get_member (out, f->key)))
        vh_report_add (report, VIGIL_SEVERITY_ERROR, p, "is required (%s)", type_kind (f->type));
    }
  return out;
}

JsonObject *
vh_schema_check (const VigilField *fields, gsize n_fields, JsonObject *values,
                 const char *path, VigilReport *report)
{
  Fields fs = { (const guint8 *) fields, n_fields, sizeof (VigilField) };

  return check_fields (&fs, values, path, report, FALSE);
}

JsonObject *
vh_schema_check_group (const VigilSettingsGroup *group, JsonObject *values,
                       const char *path, gboolean partial, VigilReport *report)
{
  Fields fs = { (const guint8 *) group->fields, group->n_fields,
                group->field_size ? group->field_size : sizeof (VigilField) };

  return check_fields (&fs, values, path, report, partial);
}

/* ---- secrets -------------------------------------------------------- */

static void
mask_fields (const Fields *fs, JsonObject *values)
{
  for (gsize i = 0; i < fs->n; i++)
    {
      const VigilField *f = fields_at (fs, i);
      JsonNode *node;

      if (!(f->flags & VIGIL_FIELD_FLAG_SECRET) || values == NULL)
        continue;
      node = json_object_get_member (values, f->key);
      /* An unset secret stays visibly unset: that is not a secret. */
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        json_object_set_string_member (values, f->key, SECRET_MASK);
    }
}

void
vh_schema_mask_fields (const VigilField *fields, gsize n_fields, JsonObject *values)
{
  Fields fs = { (const guint8 *) fields, n_fields, sizeof (VigilField) };

  mask_fields (&fs, values);
}

void
vh_schema_mask_group (const VigilSettingsGroup *group, JsonObject *values)
{
  Fields fs = { (const guint8 *) group->fields, group->n_fields,
                group->field_size ? group->field_size : sizeof (VigilField) };

  mask_fields (&fs, values);
}

void
vh_schema_mask_secrets (const VigilSection *section, JsonObject *values)
{
  g_return_if_fail (section != NULL);
  if (values == NULL)
    return;
  for (gsize i = 0; i < section->n_groups; i++)
    {
      const VigilSettingsGroup *g = vh_section_group (section, i);
      Fields fs = { (const guint8 *) g->fields, g->n_fields,
                    g->field_size ? g->field_size : sizeof (VigilField) };
      JsonNode *node = json_object_get_member (values, g->id);

      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        mask_fields (&fs, json_node_get_object (node));
    }
}

/* ---- deep copies ---------------------------------------------------- */

JsonNode *
vh_json_node_copy (JsonNode *node)
{
  JsonNode *copy;

  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      copy = json_node_alloc ();
      json_node_take_object (json_node_init (copy, JSON_NODE_OBJECT),
                             vh_json_object_copy (json_node_get_object (node)));
      return copy;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *src = json_node_get_array (node);
      JsonArray *dst = json_array_sized_new (json_array_get_length (src));

      for (guint i = 0; i < json_array_get_length (src); i++)
        json_array_add_element (dst, vh_json_node_copy (json_array_get_element (src, i)));
      copy = json_node_alloc ();
      json_node_take_array (json_node_init (copy, JSON_NODE_ARRAY), dst);
      return copy;
    }
  return json_node_copy (node);
}

JsonObject *
vh_json_object_copy (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *key;
  JsonNode *member;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &key, &member))
    json_object_set_member (copy, key, vh_json_node_copy (member));
  return copy;
}

/* ---- untrusted JSON ------------------------------------------------- */

gboolean
vh_json_depth_ok (const char *data, gsize len)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > VH_JSON_MAX_DEPTH)
            return FALSE;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return TRUE;
}
