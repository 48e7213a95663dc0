/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The evidence store of a state folder (STATE/evidence, base layer:
 * evidence.c) through the public API and the host API: a task run hands a
 * device's file to it (the `evidence_put` slot, file.get), a console
 * application receives an agent's file in parts, and the CLI lists,
 * shows, exports and deletes. Errors of the store are mapped to the codes
 * the public API documents: NOT_FOUND and INVALID of VIGIL_PLUGIN_ERROR,
 * G_IO_ERROR for the rest.
 */
#include "api-private.h"
#include "host-private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define READ_SLICE (256 * 1024)

static gboolean
mapped (GError *local, GError **error)
{
  int code;
  GQuark domain = VIGIL_PLUGIN_ERROR;

  if (local == NULL)
    return TRUE;
  if (local->domain != VH_EVIDENCE_ERROR)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  switch (local->code)
    {
    case VH_EVIDENCE_ERROR_NOT_FOUND: code = VIGIL_PLUGIN_ERROR_NOT_FOUND; break;
    case VH_EVIDENCE_ERROR_INVALID:
    case VH_EVIDENCE_ERROR_MISMATCH:
    case VH_EVIDENCE_ERROR_TOO_BIG:   code = VIGIL_PLUGIN_ERROR_INVALID; break;
    case VH_EVIDENCE_ERROR_DAMAGED:   domain = G_IO_ERROR; code = G_IO_ERROR_INVALID_DATA; break;
    default:                          domain = G_IO_ERROR; code = G_IO_ERROR_FAILED; break;
    }
  g_set_error_literal (error, domain, code, local->message);
  g_error_free (local);
  return FALSE;
}

static VhEvidence *
open_store (VigilHost *host, GError **error)
{
  g_autofree char *dir = g_build_filename (host->state_dir, "evidence", NULL);

  return vh_evidence_open (dir, error);
}

/* Whether the store was ever made: what only reads it makes none (an
 * agent looks every second). */
static gboolean
store_exists (VigilHost *host)
{
  g_autofree char *dir = g_build_filename (host->state_dir, "evidence", NULL);

  return g_file_test (dir, G_FILE_TEST_IS_DIR);
}

/* An evidence id as the store names it: a UUID, never a path. */
static char *
file_name (VigilHost *host, const char *id, GError **error)
{
  if (id == NULL || !g_uuid_string_is_valid (id) || !store_exists (host))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "no evidence '%s'%s", id ? id : "(null)",
                   id == NULL || !g_uuid_string_is_valid (id) ? " (an evidence id is a UUID)" : "");
      return NULL;
    }
  return g_strdup_printf ("%s.ev", id);
}

JsonObject *
vh_api_evidence_put (VigilHost *host, const char *device_id, const char *task_id,
                     const char *path, int fd, gint64 max_bytes, GError **error)
{
  GError *local = NULL;
  g_autoptr (VhEvidence) ev = open_store (host, &local);
  g_autoptr (VhEvidenceWriter) w = ev != NULL ? vh_evidence_writer_new (ev, NULL, &local) : NULL;
  g_autoptr (JsonObject) meta = json_object_new ();
  g_autofree guint8 *buf = g_malloc (READ_SLICE);
  g_autofree char *id = g_uuid_string_random (), *name = g_strdup_printf ("%s.ev", id);
  gint64 total = 0;
  JsonObject *stored;

  if (w == NULL)
    return mapped (local, error), NULL;
  for (;;)
    {
      ssize_t n = read (fd, buf, READ_SLICE);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot read: %s",
                       path, g_strerror (errno));
          return NULL;
        }
      if (n == 0)
        break;
      total += n;
      if (total > max_bytes)
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                       "%s: grew past the limit of %" G_GINT64_FORMAT " bytes while it was "
                       "read: not stored", path, max_bytes);
          return NULL;
        }
      if (!vh_evidence_writer_write (w, buf, (gsize) n, &local))
        return mapped (local, error), NULL;
    }
  json_object_set_string_member (meta, "id", id);
  json_object_set_string_member (meta, "device", device_id);
  json_object_set_string_member (meta, "path", path);
  if (task_id != NULL)
    json_object_set_string_member (meta, "task", task_id);
  json_object_set_int_member (meta, "retrieved_at", vh_now (host));
  json_object_set_int_member (meta, "stored_at", vh_now (host));
  stored = vh_evidence_writer_commit (w, meta, name, NULL, &local);
  if (stored == NULL)
    mapped (local, error);
  return stored;
}

static gint
by_time (gconstpointer a, gconstpointer b)
{
  JsonObject *x = *(JsonObject **) a, *y = *(JsonObject **) b;
  gint64 tx = json_object_get_int_member_with_default (x, "stored_at", 0);
  gint64 ty = json_object_get_int_member_with_default (y, "stored_at", 0);

  return tx < ty ? -1 : tx > ty ? 1
         : g_strcmp0 (json_object_get_string_member (x, "id"),
                      json_object_get_string_member (y, "id"));
}

JsonArray *
vigil_host_evidence_list (VigilHost *host, GError **error)
{
  GError *local = NULL;
  g_autoptr (VhEvidence) ev = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *list = json_array_new ();

  g_return_val_if_fail (host != NULL, NULL);
  if (!store_exists (host))
    return list;
  if ((ev = open_store (host, &local)) == NULL)
    {
      json_array_unref (list);
      return mapped (local, error), NULL;
    }
  names = vh_evidence_names (ev, NULL, ".ev");
  for (guint i = 0; i < names->len; i++)
    {
      JsonObject *meta = NULL;

      /* A damaged file is listed as such rather than hidden. */
      if (!vh_evidence_read (ev, NULL, names->pdata[i], &meta, NULL, NULL, &local))
        {
          g_autofree char *id = g_strndup (names->pdata[i], strlen (names->pdata[i]) - 3);

          meta = json_object_new ();
          json_object_set_string_member (meta, "id", id);
          json_object_set_string_member (meta, "damaged", local->message);
          g_clear_error (&local);
        }
      g_ptr_array_add (found, meta);
    }
  g_ptr_array_sort (found, by_time);
  for (guint i = 0; i < found->len; i++)
    json_array_add_object_element (list, json_object_ref (found->pdata[i]));
  return list;
}

JsonObject *
vigil_host_evidence_get (VigilHost *host, const char *id, GError **error)
{
  GError *local = NULL;
  g_autofree char *name = NULL;
  g_autoptr (VhEvidence) ev = NULL;
  JsonObject *meta = NULL;

  g_return_val_if_fail (host != NULL, NULL);
  if ((name = file_name (host, id, error)) == NULL)
    return NULL;
  if ((ev = open_store (host, &local)) == NULL
      || !vh_evidence_read (ev, NULL, name, &meta, NULL, NULL, &local))
    return mapped (local, error), NULL;
  return meta;
}

gboolean
vigil_host_evidence_read (VigilHost *host, const char *id, VigilHostEvidenceFunc func,
                          gpointer user_data, GError **error)
{
  GError *local = NULL;
  g_autofree char *name = NULL;
  g_autoptr (VhEvidence) ev = NULL;

  g_return_val_if_fail (host != NULL && func != NULL, FALSE);
  if ((name = file_name (host, id, error)) == NULL)
    return FALSE;
  if ((ev = open_store (host, &local)) == NULL
      || !vh_evidence_read (ev, NULL, name, NULL, (VhEvidenceFunc) func, user_data, &local))
    return mapped (local, error);
  return TRUE;
}

gboolean
vigil_host_evidence_delete (VigilHost *host, const char *id, GError **error)
{
  GError *local = NULL;
  g_autofree char *name = NULL;
  g_autoptr (VhEvidence) ev = NULL;

  g_return_val_if_fail (host != NULL, FALSE);
  if ((name = file_name (host, id, error)) == NULL)
    return FALSE;
  if ((ev = open_store (host, &local)) == NULL || !vh_evidence_remove (ev, NULL, name, &local))
    return mapped (local, error);
  return TRUE;
}

gboolean
vigil_host_evidence_receive (VigilHost *host, const char *device_id, JsonObject *report,
                             JsonObject **stored, GError **error)
{
  GError *local = NULL;
  g_autoptr (VhEvidence) ev = NULL;
  g_autoptr (JsonObject) agent = NULL;
  JsonObject *whole = NULL;

  g_return_val_if_fail (host != NULL && device_id != NULL && report != NULL, FALSE);
  agent = vh_device_agent (host, device_id, NULL);
  if (agent == NULL
      || g_strcmp0 (json_object_get_string_member_with_default (agent, "state", ""),
                    "enrolled") != 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "device '%s' has no enrolled agent", device_id);
      return FALSE;
    }
  if ((ev = open_store (host, &local)) == NULL
      || !vh_evidence_receive (ev, device_id, report, vh_now (host), &whole, &local))
    return mapped (local, error);
  if (stored != NULL)
    *stored = whole;
  else if (whole != NULL)
    json_object_unref (whole);
  return TRUE;
}
