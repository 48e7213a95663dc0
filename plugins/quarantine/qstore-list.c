/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Listing, inspection and deletion of stored objects. Listing opens only
 * committed names (`<id>.vqo`; temporary files never match) and reads only
 * each object's header and metadata block, so it costs the same for a
 * 1-byte and a 1-GB object. An object whose metadata fails authentication
 * is still listed, flagged "damaged" with the reason, so that an admin sees
 * it and can delete it; it can never be restored.
 */
#include "qstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static JsonObject *
entry_for (QStore *store, const char *id)
{
  g_autoptr (GError) error = NULL;
  int fd = qstore_open_object (store, id, &error);
  JsonObject *entry = NULL;
  struct stat st;

  if (fd < 0)
    return NULL;  /* deleted meanwhile */
  entry = qobject_read_meta (fd, qstore_key (store), id, &error);
  if (entry == NULL)
    {
      entry = json_object_new ();
      json_object_set_string_member (entry, "id", id);
      json_object_set_string_member (entry, "damaged", error->message);
    }
  else
    json_object_set_string_member (entry, "id", id);
  if (fstat (fd, &st) == 0)
    json_object_set_int_member (entry, "object_size", st.st_size);
  close (fd);
  return entry;
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  JsonObject *x = *(JsonObject **) a, *y = *(JsonObject **) b;
  gint64 tx = json_object_get_int_member_with_default (x, "quarantined_at_us", 0);
  gint64 ty = json_object_get_int_member_with_default (y, "quarantined_at_us", 0);

  if (tx != ty)
    return tx < ty ? -1 : 1;
  return g_strcmp0 (json_object_get_string_member (x, "id"),
                    json_object_get_string_member (y, "id"));
}

JsonArray *
qstore_list (QStore *store, GError **error)
{
  int fd = openat (qstore_dir_fd (store), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *out;
  struct dirent *de;

  if (dir == NULL)
    {
      q_set_errno (error, errno, "cannot read the quarantine folder", qstore_dir (store));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  while ((de = readdir (dir)) != NULL)
    {
      char id[2 * Q_ID_LEN + 1];
      JsonObject *entry;
      if (qobject_name_parse (de->d_name, id) && (entry = entry_for (store, id)) != NULL)
        g_ptr_array_add (entries, entry);
    }
  closedir (dir);
  g_ptr_array_sort (entries, compare_entries);
  out = json_array_sized_new (entries->len);
  for (guint i = 0; i < entries->len; i++)
    json_array_add_object_element (out, json_object_ref (entries->pdata[i]));
  return out;
}

JsonObject *
qstore_show (QStore *store, const char *id, GError **error)
{
  int fd = qstore_open_object (store, id, error);
  JsonObject *meta;
  struct stat st;

  if (fd < 0)
    return NULL;
  meta = qobject_read_meta (fd, qstore_key (store), id, error);
  if (meta != NULL && fstat (fd, &st) == 0)
    json_object_set_int_member (meta, "object_size", st.st_size);
  close (fd);
  return meta;
}

gboolean
qstore_verify (QStore *store, const char *id, GCancellable *cancellable,
               GError **error)
{
  int fd = qstore_open_object (store, id, error);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = qobject_decrypt (fd, qstore_key (store), id, -1, NULL, cancellable, error);
  close (fd);
  return ok;
}

/* Deleting needs no key: a damaged object or one sealed with a lost key can
 * still be removed. Its metadata is returned when it authenticates. */
gboolean
qstore_delete (QStore *store, const char *id, guint64 *size_before,
               guint64 *size_after, JsonObject **meta_out, GError **error)
{
  g_autofree char *name = g_strconcat (id != NULL ? id : "", Q_OBJECT_SUFFIX, NULL);
  int fd = qstore_open_object (store, id, error);

  if (fd < 0)
    return FALSE;
  if (meta_out != NULL)
    *meta_out = qobject_read_meta (fd, qstore_key (store), id, NULL);
  close (fd);
  return qstore_remove_object (store, name, "cannot delete the object",
                               size_before, size_after, error);
}
