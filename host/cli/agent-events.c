/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's events go to the console (the fleet, #13). Everything its
 * plugins emit during runs and everything local intake stores (`vigil
 * event emit` in the agent's state folder) lands in the agent's own event
 * log, where no handler runs (fleet-dispatch.c turns them off in an
 * agent's state folder: the console runs them, once). This file reads the
 * log after a durable cursor (STATE/agent/events-sent, the last sequence
 * forwarded) and puts each event into the outbox as a report of kind
 * `event`, message id = the event's id, so a report re-sent after a crash
 * between the outbox and the cursor is stored once by the stream and by
 * the console. host.* and task.* events stay local: the console makes its
 * own from the runs' reports.
 */
#include "agent-events.h"
#include "agent-evidence.h"
#include "fleet-subjects.h"

#include <stdio.h>
#include <string.h>

struct _AgentEvents {
  VigilHost        *host;
  VigilFleetOutbox *outbox;
  char             *subject;
  char             *evidence_subject;
  char             *cursor_path;
  gint64            cursor;
};

static char *
cursor_path (VigilHost *host)
{
  return g_build_filename (vigil_host_state_dir (host), "agent", "events-sent", NULL);
}

static gboolean
cursor_write (const char *path, gint64 seq, GError **error)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT "\n", seq);

  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT
                                   | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

gboolean
agent_events_start_here (VigilHost *host, GError **error)
{
  g_autofree char *path = cursor_path (host);

  return cursor_write (path, vigil_host_last_event_seq (host), error);
}

AgentEvents *
agent_events_new (VigilHost *host, VigilFleetOutbox *outbox, const char *device_id,
                  GError **error)
{
  g_autofree char *path = cursor_path (host), *text = NULL;
  AgentEvents *events;
  gint64 seq = 0;

  if (g_file_get_contents (path, &text, NULL, NULL))
    {
      if (!g_ascii_string_to_signed (g_strstrip (text), 10, 0, G_MAXINT64, &seq, NULL))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a sequence number "
                       "(delete it to forward events from now on)", path);
          return NULL;
        }
    }
  else
    {
      seq = vigil_host_last_event_seq (host);
      if (!cursor_write (path, seq, error))
        return NULL;
    }
  events = g_new0 (AgentEvents, 1);
  events->host = host;
  events->outbox = outbox;
  events->subject = vigil_fleet_subject_report (device_id, "event");
  events->evidence_subject = vigil_fleet_subject_report (device_id, "evidence");
  events->cursor_path = g_steal_pointer (&path);
  events->cursor = seq;
  return events;
}

static char *
report_text (JsonObject *event)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  JsonNode *payload = json_object_get_member (event, "payload");

  json_object_set_string_member (o, "id", json_object_get_string_member (event, "id"));
  json_object_set_string_member (o, "type", json_object_get_string_member (event, "type"));
  json_object_set_int_member (o, "payload_version",
                              json_object_get_int_member_with_default (event, "payload_version",
                                                                       1));
  json_object_set_member (o, "payload", payload && JSON_NODE_HOLDS_OBJECT (payload)
                                        ? json_node_copy (payload)
                                        : json_node_init_object (json_node_alloc (),
                                                                 json_object_new ()));
  json_object_set_string_member (o, "source",
                                 json_object_get_string_member_with_default (event, "source",
                                                                             "host"));
  json_node_set_object (node, o);
  return json_to_string (node, FALSE);
}

guint
agent_events_collect (AgentEvents *events)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) after = NULL;
  /* Read first: an event stored between the two reads is forwarded now
   * and again next time, and stored once (its id). */
  gint64 last = vigil_host_last_event_seq (events->host);
  guint put = 0;

  /* Files a run retrieved go first: a file.retrieved event names one the
   * console has, or is about to have. */
  agent_evidence_forward (events->host, events->outbox, events->evidence_subject);
  if (last <= events->cursor)
    return 0;
  after = vigil_host_events_after (events->host, events->cursor, &error);
  if (after == NULL)
    {
      g_printerr ("vigil agent: events not read: %s\n", error->message);
      return 0;
    }
  for (guint i = 0; i < json_array_get_length (after); i++)
    {
      JsonObject *e = json_array_get_object_element (after, i);
      const char *type = json_object_get_string_member (e, "type");
      const char *id = json_object_get_string_member (e, "id");
      g_autofree char *text = NULL;

      if (g_str_has_prefix (type, "host.") || g_str_has_prefix (type, "task."))
        continue;
      text = report_text (e);
      if (!vigil_fleet_outbox_put (events->outbox, events->subject, id, text, -1, &error))
        {
          /* The cursor stays: the next call puts them all again, and the
           * message ids keep the ones already put from counting twice. */
          g_printerr ("vigil agent: cannot keep the event %s: %s\n", id, error->message);
          return put;
        }
      g_printerr ("vigil agent: event %s (%s) queued for the console\n", id, type);
      put++;
    }
  if (last > events->cursor && cursor_write (events->cursor_path, last, &error))
    events->cursor = last;
  else if (error != NULL)
    g_printerr ("vigil agent: %s\n", error->message);
  return put;
}

void
agent_events_free (AgentEvents *events)
{
  if (events == NULL)
    return;
  g_free (events->subject);
  g_free (events->evidence_subject);
  g_free (events->cursor_path);
  g_free (events);
}
