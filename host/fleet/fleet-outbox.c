/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's outbox and run journal (see fleet-outbox.h). The outbox is a
 * folder of files named by a 20-digit sequence number, one report each
 * ({"subject", "id", "data"} as JSON), so that listing the folder in name
 * order is the order they were put; each is written with
 * vigil_fleet_write_private_file (temporary file, fsync, rename) and
 * deleted after the stream's acknowledgement. The journal is a folder of
 * empty files named by run id, created with O_EXCL: the file system makes
 * "first claim wins" atomic across processes.
 */
#include "fleet-outbox.h"
#include "fleet-common.h"
#include "fleet-jetstream.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#define SEQ_DIGITS 20
#define ENTRY_SUFFIX ".report"

struct _VigilFleetOutbox {
  char    *dir;
  guint64  next_seq;
};

static gboolean
is_entry (const char *name, guint64 *seq)
{
  gsize len = strlen (name);

  if (len != SEQ_DIGITS + strlen (ENTRY_SUFFIX) || !g_str_has_suffix (name, ENTRY_SUFFIX))
    return FALSE;
  for (gsize i = 0; i < SEQ_DIGITS; i++)
    if (!g_ascii_isdigit (name[i]))
      return FALSE;
  if (seq)
    *seq = g_ascii_strtoull (name, NULL, 10);
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* (transfer full) the entries' names, in order. */
static GPtrArray *
list_entries (VigilFleetOutbox *outbox, GError **error)
{
  g_autoptr (GDir) dir = g_dir_open (outbox->dir, 0, error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (is_entry (name, NULL))
      g_ptr_array_add (names, g_strdup (name));
  /* Fixed width: name order is sequence order. */
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

static gboolean
make_dir (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0700) == 0)
    return TRUE;
  g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
               "cannot create %s: %s", dir, g_strerror (errno));
  return FALSE;
}

VigilFleetOutbox *
vigil_fleet_outbox_open (const char *dir, GError **error)
{
  g_autoptr (VigilFleetOutbox) outbox = g_new0 (VigilFleetOutbox, 1);
  g_autoptr (GPtrArray) names = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  outbox->dir = g_strdup (dir);
  if (!make_dir (dir, error) || (names = list_entries (outbox, error)) == NULL)
    return NULL;
  outbox->next_seq = 1;
  if (names->len > 0)
    {
      guint64 last = 0;
      is_entry (names->pdata[names->len - 1], &last);
      outbox->next_seq = last + 1;
    }
  return g_steal_pointer (&outbox);
}

void
vigil_fleet_outbox_free (VigilFleetOutbox *outbox)
{
  if (outbox == NULL)
    return;
  g_free (outbox->dir);
  g_free (outbox);
}

gboolean
vigil_fleet_outbox_put (VigilFleetOutbox *outbox, const char *subject, const char *msg_id,
                        const char *data, gssize len, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL, *copy = NULL, *path = NULL;
  char name[SEQ_DIGITS + sizeof ENTRY_SUFFIX];
  gsize n;

  g_return_val_if_fail (outbox && subject && *subject && msg_id && *msg_id && data, FALSE);
  n = len < 0 ? strlen (data) : (gsize) len;
  if (n > VIGIL_FLEET_OUTBOX_MAX_BYTES || !g_utf8_validate_len (data, n, NULL) ||
      memchr (data, '\0', n) != NULL)
    {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "report %s for %s: must be UTF-8 text of at most %d bytes", msg_id,
                   subject, VIGIL_FLEET_OUTBOX_MAX_BYTES);
      return FALSE;
    }
  copy = g_strndup (data, n);
  json_object_set_string_member (o, "subject", subject);
  json_object_set_string_member (o, "id", msg_id);
  json_object_set_string_member (o, "data", copy);
  json_node_set_object (node, o);
  text = json_to_string (node, FALSE);
  g_snprintf (name, sizeof name, "%0*" G_GUINT64_FORMAT ENTRY_SUFFIX, SEQ_DIGITS,
              outbox->next_seq);
  path = g_build_filename (outbox->dir, name, NULL);
  if (!vigil_fleet_write_private_file (path, text, -1, error))
    return FALSE;
  outbox->next_seq++;
  return TRUE;
}

guint
vigil_fleet_outbox_pending (VigilFleetOutbox *outbox)
{
  g_autoptr (GPtrArray) names = list_entries (outbox, NULL);
  return names ? names->len : 0;
}

/* Reads one entry back; every member checked (the disk is not trusted to
 * be intact). */
static JsonObject *
read_entry (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len;
  JsonNode *root;
  JsonObject *o;

  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  if (len > 2 * VIGIL_FLEET_OUTBOX_MAX_BYTES + 4096 ||
      !json_parser_load_from_data (parser, text, (gssize) len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (o = json_node_get_object (root)) == NULL ||
      json_object_get_string_member_with_default (o, "subject", NULL) == NULL ||
      json_object_get_string_member_with_default (o, "id", NULL) == NULL ||
      json_object_get_string_member_with_default (o, "data", NULL) == NULL)
    {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "outbox entry %s is damaged (not a report)", path);
      return NULL;
    }
  return json_object_ref (o);
}

gboolean
vigil_fleet_outbox_flush (VigilFleetOutbox *outbox, jsCtx *js, guint *sent, guint *duplicates,
                          GError **error)
{
  g_autoptr (GPtrArray) names = NULL;
  guint n_sent = 0, n_dup = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (outbox != NULL && js != NULL, FALSE);
  names = list_entries (outbox, error);
  if (names == NULL)
    return FALSE;
  for (guint i = 0; ok && i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (outbox->dir, names->pdata[i], NULL);
      g_autoptr (JsonObject) entry = read_entry (path, error);
      gboolean duplicate = FALSE;
      const char *data;

      if (entry == NULL)
        {
          /* Kept aside for a person to look at; the rest can go on. */
          g_autofree char *bad = g_strconcat (path, ".bad", NULL);
          g_rename (path, bad);
          ok = FALSE;
          break;
        }
      data = json_object_get_string_member (entry, "data");
      ok = vigil_fleet_publish (js, json_object_get_string_member (entry, "subject"),
                                json_object_get_string_member (entry, "id"), data,
                                (int) strlen (data), &duplicate, error);
      if (!ok)
        break;
      /* Acknowledged: stored in the stream. A crash before this unlink
       * publishes it again, with the same id: stored once. */
      if (g_unlink (path) != 0)
        {
          g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                       "cannot delete sent outbox entry %s: %s", path, g_strerror (errno));
          ok = FALSE;
        }
      n_sent++;
      n_dup += duplicate ? 1 : 0;
    }
  if (sent)
    *sent = n_sent;
  if (duplicates)
    *duplicates = n_dup;
  return ok;
}

/* ---- the run journal ---------------------------------------------------- */

static gboolean
run_id_ok (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > 128 || id[0] == '.')
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
sync_dir (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  gboolean ok = fd >= 0 && fsync (fd) == 0;
  int saved = errno;

  if (fd >= 0)
    close (fd);
  if (!ok)
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "cannot sync %s: %s", dir, g_strerror (saved));
  return ok;
}

VigilFleetClaim
vigil_fleet_run_claim (const char *journal_dir, const char *run_id, GError **error)
{
  g_autofree char *path = NULL;
  int fd;

  g_return_val_if_fail (journal_dir != NULL, VIGIL_FLEET_CLAIM_ERROR);
  if (!run_id_ok (run_id))
    {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "run id '%s': use 1 to 128 of A-Z a-z 0-9 '.' '_' '-', not starting "
                   "with '.'", run_id ? run_id : "");
      return VIGIL_FLEET_CLAIM_ERROR;
    }
  if (!make_dir (journal_dir, error))
    return VIGIL_FLEET_CLAIM_ERROR;
  path = g_build_filename (journal_dir, run_id, NULL);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST)
    return VIGIL_FLEET_CLAIM_TAKEN;
  if (fd < 0)
    {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "cannot claim run %s in %s: %s", run_id, journal_dir, g_strerror (errno));
      return VIGIL_FLEET_CLAIM_ERROR;
    }
  close (fd);
  /* The claim must survive a power loss before the run starts. */
  if (!sync_dir (journal_dir, error))
    return VIGIL_FLEET_CLAIM_ERROR;
  return VIGIL_FLEET_CLAIM_NEW;
}
