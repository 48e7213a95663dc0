/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A file an agent sends to the console's evidence store in parts (reports
 * of kind `evidence` over the fleet, docs/fleet.md "Evidence"). Each part
 * is checked, then kept sealed, durably, in incoming/<id>/ of the store
 * before the caller acknowledges it, so a console that stops in the middle
 * loses nothing; the part that completes the set has the parts put
 * together into one store file, checked against the SHA-256, MD5 and size
 * the device sent, and only then renamed into place: no partial evidence
 * is ever listed. A report is untrusted input: every member is checked,
 * its data bounded before it is decoded.
 */
#include "evidence-format.h"

#include <string.h>
#include <vigil/util/path.h>

static gboolean
invalid (GError **error, const char *member, const char *why)
{
  g_set_error (error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_INVALID,
               "evidence report: %s: %s", member, why);
  return FALSE;
}

static gboolean
is_hex (const char *s, gsize len)
{
  if (s == NULL || strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

static const char *
string_member (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

static gboolean
int_member (JsonObject *o, const char *key, gint64 min, gint64 max, gint64 *out)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return *out >= min && *out <= max;
}

static gboolean
only_members (JsonObject *o, const char *const *known, const char *where, GError **error)
{
  g_autoptr (GList) members = json_object_get_members (o);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (known, l->data))
      {
        g_autofree char *m = g_strdup_printf ("%s%s", where, (const char *) l->data);
        return invalid (error, m, "unknown member");
      }
  return TRUE;
}

/* The file's description as the device sent it. */
static gboolean
check_meta (JsonObject *meta, GError **error)
{
  static const char *const known[] = { "path", "size", "sha256", "md5", "task",
                                       "retrieved_at", NULL };
  const char *path = string_member (meta, "path"), *task = string_member (meta, "task");
  gint64 v;

  if (!only_members (meta, known, "meta.", error))
    return FALSE;
  if (path == NULL || *path != '/' || strlen (path) > 4096 || !g_utf8_validate (path, -1, NULL))
    return invalid (error, "meta.path", "must be an absolute UTF-8 path of at most 4096 bytes");
  if (!int_member (meta, "size", 0, (gint64) VH_EVIDENCE_PART_MAX * VH_EVIDENCE_PARTS_MAX, &v))
    return invalid (error, "meta.size", "must be a size in bytes");
  if (!is_hex (string_member (meta, "sha256"), 64))
    return invalid (error, "meta.sha256", "must be 64 hex digits");
  if (!is_hex (string_member (meta, "md5"), 32))
    return invalid (error, "meta.md5", "must be 32 hex digits");
  if (json_object_has_member (meta, "task") && (task == NULL || strlen (task) > 128))
    return invalid (error, "meta.task", "must be a task id");
  if (json_object_has_member (meta, "retrieved_at")
      && !int_member (meta, "retrieved_at", 0, G_MAXINT64, &v))
    return invalid (error, "meta.retrieved_at", "must be a time in microseconds");
  return TRUE;
}

typedef struct {
  const char *id;
  gint64      part;
  gint64      parts;
  JsonObject *meta;
  guint8     *data;
  gsize       len;
} Part;

static gboolean
check_report (JsonObject *report, Part *p, GError **error)
{
  static const char *const known[] = { "evidence", "part", "parts", "data", "meta", NULL };
  const char *data = string_member (report, "data");
  JsonNode *meta = json_object_get_member (report, "meta");

  if (!only_members (report, known, "", error))
    return FALSE;
  p->id = string_member (report, "evidence");
  if (p->id == NULL || !g_uuid_string_is_valid (p->id))
    return invalid (error, "evidence", "must be a UUID");
  if (!int_member (report, "parts", 1, VH_EVIDENCE_PARTS_MAX, &p->parts))
    return invalid (error, "parts", "must be 1 to 16384");
  if (!int_member (report, "part", 0, p->parts - 1, &p->part))
    return invalid (error, "part", "must be 0 to parts - 1");
  /* Bounded before it is decoded: base64 of at most PART_MAX bytes. */
  if (data == NULL || strlen (data) > (VH_EVIDENCE_PART_MAX + 2) / 3 * 4)
    return invalid (error, "data", "must be base64 of at most 512 KiB");
  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta))
    return invalid (error, "meta", "must be an object");
  p->meta = json_node_get_object (meta);
  if (!check_meta (p->meta, error))
    return FALSE;
  p->data = g_base64_decode (data, &p->len);
  if (p->len > VH_EVIDENCE_PART_MAX)
    return invalid (error, "data", "more than 512 KiB");
  return TRUE;
}

static gboolean
copy_part (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  return vh_evidence_writer_write (user_data, data, len, error);
}

/* Every part is there: one store file, checked, in place; the parts go. */
static JsonObject *
assemble (VhEvidence *ev, const char *dir, const Part *p, const char *device_id, gint64 now,
          GError **error)
{
  g_autoptr (VhEvidenceWriter) w = vh_evidence_writer_new (ev, NULL, error);
  g_autoptr (JsonObject) meta = json_object_new ();
  g_autofree char *name = g_strdup_printf ("%s.ev", p->id);
  g_autoptr (GList) members = json_object_get_members (p->meta);
  JsonObject *stored;

  if (w == NULL)
    return NULL;
  for (gint64 i = 0; i < p->parts; i++)
    {
      g_autofree char *part = g_strdup_printf ("%" G_GINT64_FORMAT ".part", i);
      g_autoptr (JsonObject) pm = NULL;

      if (!vh_evidence_read (ev, dir, part, &pm, copy_part, w, error))
        return NULL;
      if (g_strcmp0 (json_object_get_string_member_with_default (pm, "device", ""), device_id) != 0)
        {
          vh_evidence_remove_dir (ev, dir, NULL);
          invalid (error, "evidence", "parts of one id from two devices: dropped");
          return NULL;
        }
    }
  json_object_set_string_member (meta, "id", p->id);
  json_object_set_string_member (meta, "device", device_id);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "size") && !g_str_equal (l->data, "sha256")
        && !g_str_equal (l->data, "md5"))
      json_object_set_member (meta, l->data,
                              json_node_copy (json_object_get_member (p->meta, l->data)));
  json_object_set_int_member (meta, "stored_at", now);
  stored = vh_evidence_writer_commit (w, meta, name, p->meta, error);
  if (stored == NULL && g_error_matches (*error, VH_EVIDENCE_ERROR, VH_EVIDENCE_ERROR_MISMATCH))
    vh_evidence_remove_dir (ev, dir, NULL);
  else if (stored != NULL)
    vh_evidence_remove_dir (ev, dir, NULL);
  return stored;
}

/* The file was stored already (a part delivered again): fine if it is
 * this device's, refused if another device's id. */
static gboolean
already_stored (VhEvidence *ev, const char *dir, const Part *p, const char *device_id,
                GError **error)
{
  g_autofree char *name = g_strdup_printf ("%s.ev", p->id);
  g_autoptr (JsonObject) meta = NULL;

  if (!vh_evidence_read (ev, NULL, name, &meta, NULL, NULL, error))
    return FALSE;
  if (g_strcmp0 (json_object_get_string_member_with_default (meta, "device", ""), device_id) != 0)
    return invalid (error, "evidence", "the id of another device's evidence");
  vh_evidence_remove_dir (ev, dir, NULL);
  return TRUE;
}

/* Whether parts 0 .. @parts - 1 are all kept. */
static gboolean
every_part (VhEvidence *ev, const char *dir, gint64 parts)
{
  for (gint64 i = 0; i < parts; i++)
    {
      g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT ".part", i);

      if (!vh_evidence_exists (ev, dir, name))
        return FALSE;
    }
  return TRUE;
}

gboolean
vh_evidence_receive (VhEvidence *ev, const char *device_id, JsonObject *report, gint64 now,
                     JsonObject **stored, GError **error)
{
  Part p = { 0 };
  g_autofree char *dir = NULL, *name = NULL, *whole = NULL;
  gboolean ok = FALSE;

  *stored = NULL;
  if (!vigil_path_check_component (device_id, "device id", error) || !check_report (report, &p, error))
    goto out;
  dir = g_strdup_printf ("incoming/%s", p.id);
  whole = g_strdup_printf ("%s.ev", p.id);
  if (vh_evidence_exists (ev, NULL, whole))
    {
      ok = already_stored (ev, dir, &p, device_id, error);
      goto out;
    }
  name = g_strdup_printf ("%" G_GINT64_FORMAT ".part", p.part);
  if (!vh_evidence_exists (ev, dir, name))
    {
      g_autoptr (VhEvidenceWriter) w = vh_evidence_writer_new (ev, dir, error);
      g_autoptr (JsonObject) meta = json_object_new ();
      g_autoptr (JsonObject) kept = NULL;

      json_object_set_string_member (meta, "device", device_id);
      if (w == NULL || !vh_evidence_writer_write (w, p.data, p.len, error)
          || (kept = vh_evidence_writer_commit (w, meta, name, NULL, error)) == NULL)
        goto out;
    }
  if (every_part (ev, dir, p.parts))
    {
      *stored = assemble (ev, dir, &p, device_id, now, error);
      ok = *stored != NULL;
    }
  else
    ok = TRUE;
out:
  g_free (p.data);
  return ok;
}
