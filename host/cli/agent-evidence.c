/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An agent's retrieved files go to the console (docs/fleet.md "Evidence").
 * On an agent, file.get hands the file to the agent's own evidence store
 * (encrypted, like the console's); this file moves each one into the
 * durable outbox as reports of kind `evidence`, parts of at most 512 KiB
 * ({evidence, part, parts, data (base64), meta}), message id
 * `<evidence>.<part>`, and only then removes it from the agent's store. A
 * crash in between puts the parts again under the same ids, which the
 * stream and the console keep once; nothing is lost, and the console lists
 * the file only once every part arrived and the whole matched its SHA-256.
 */
#include "agent-evidence.h"

typedef struct {
  VigilFleetOutbox *outbox;
  const char       *subject;
  const char       *id;
  JsonObject       *meta;     /* what the console is told of the file */
  GByteArray       *buf;
  gint64            part;
  gint64            parts;
} Sending;

static gboolean
put_part (Sending *s, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *data = g_base64_encode (s->buf->data, s->buf->len), *text = NULL;
  g_autofree char *msg_id = g_strdup_printf ("%s.%" G_GINT64_FORMAT, s->id, s->part);

  json_object_set_string_member (o, "evidence", s->id);
  json_object_set_int_member (o, "part", s->part);
  json_object_set_int_member (o, "parts", s->parts);
  json_object_set_string_member (o, "data", data);
  json_object_set_object_member (o, "meta", json_object_ref (s->meta));
  json_node_set_object (node, o);
  text = json_to_string (node, FALSE);
  if (!vigil_fleet_outbox_put (s->outbox, s->subject, msg_id, text, -1, error))
    return FALSE;
  g_byte_array_set_size (s->buf, 0);
  s->part++;
  return TRUE;
}

static gboolean
take_slice (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  Sending *s = user_data;

  while (len > 0)
    {
      gsize take = MIN (len, AGENT_EVIDENCE_PART - s->buf->len);

      g_byte_array_append (s->buf, data, (guint) take);
      data += take;
      len -= take;
      if (s->buf->len == AGENT_EVIDENCE_PART && !put_part (s, error))
        return FALSE;
    }
  return TRUE;
}

static JsonObject *
console_meta (JsonObject *e)
{
  static const char *const keys[] = { "path", "size", "sha256", "md5", "task", "retrieved_at",
                                      NULL };
  JsonObject *meta = json_object_new ();

  for (guint i = 0; keys[i] != NULL; i++)
    if (json_object_has_member (e, keys[i]))
      json_object_set_member (meta, keys[i], json_node_copy (json_object_get_member (e, keys[i])));
  return meta;
}

static gboolean
forward_one (VigilHost *host, VigilFleetOutbox *outbox, const char *subject, JsonObject *e,
             GError **error)
{
  gint64 size = json_object_get_int_member_with_default (e, "size", 0);
  g_autoptr (JsonObject) meta = console_meta (e);
  g_autoptr (GByteArray) buf = g_byte_array_sized_new (AGENT_EVIDENCE_PART);
  Sending s = {
    outbox, subject, json_object_get_string_member (e, "id"), meta, buf, 0,
    MAX (1, (size + AGENT_EVIDENCE_PART - 1) / AGENT_EVIDENCE_PART),
  };

  if (!vigil_host_evidence_read (host, s.id, take_slice, &s, error)
      || ((buf->len > 0 || s.part == 0) && !put_part (&s, error)))
    return FALSE;
  g_printerr ("vigil agent: evidence %s (%s) queued for the console in %" G_GINT64_FORMAT
              " part(s)\n", s.id, json_object_get_string_member (e, "path"), s.parts);
  /* In the outbox now: the agent's copy goes. */
  return vigil_host_evidence_delete (host, s.id, error);
}

guint
agent_evidence_forward (VigilHost *host, VigilFleetOutbox *outbox, const char *subject)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = vigil_host_evidence_list (host, &error);
  guint sent = 0;

  if (list == NULL)
    {
      g_printerr ("vigil agent: evidence not read: %s\n", error->message);
      return 0;
    }
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);

      if (json_object_has_member (e, "damaged"))
        {
          g_printerr ("vigil agent: evidence %s not sent: %s\n",
                      json_object_get_string_member (e, "id"),
                      json_object_get_string_member (e, "damaged"));
          continue;
        }
      if (!forward_one (host, outbox, subject, e, &error))
        {
          /* Kept in the agent's store: tried again at the next call. */
          g_printerr ("vigil agent: evidence %s not sent yet: %s\n",
                      json_object_get_string_member (e, "id"), error->message);
          g_clear_error (&error);
          continue;
        }
      sent++;
    }
  return sent;
}
