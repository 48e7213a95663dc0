/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operations as the product sees them, shared by the task types and
 * the `vigil quarantine` command: each runs the engine on the device's
 * store, then publishes its event (quarantine.added / restored / deleted),
 * the limit events when a put crosses the maximum size or the threshold
 * (with a log entry; quarantining goes on), and keeps the console's
 * inventory of the device's objects (collection "inventory", key
 * "<device>/<id>", no file content) when sending data to the console is on.
 */
#include "qplugin.h"

static char *
inventory_key (QpDevice *d, const char *id)
{
  return g_strdup_printf ("%s/%s", d->device_id, id);
}

/* Payload of added/restored/deleted: {"id","path","size","sha256","detection"}. */
static JsonObject *
event_payload (const char *id, JsonObject *meta)
{
  JsonObject *p = json_object_new ();
  const char *det = meta != NULL
                    ? json_object_get_string_member_with_default (meta, "detection", NULL) : NULL;

  json_object_set_string_member (p, "id", id);
  if (meta != NULL)
    {
      json_object_set_string_member (p, "path", json_object_get_string_member_with_default (meta, "path", ""));
      json_object_set_int_member (p, "size", json_object_get_int_member_with_default (meta, "size", 0));
      json_object_set_string_member (p, "sha256", json_object_get_string_member_with_default (meta, "sha256", ""));
    }
  if (det != NULL)
    json_object_set_string_member (p, "detection", det);
  else
    json_object_set_null_member (p, "detection");
  return p;
}

static void
emit (QpDevice *d, const char *type, JsonObject *payload)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = qp_api->emit_event (qp_self, type, d->device_id, 1, payload, &error);

  if (id == NULL)
    qp_api->log (qp_self, G_LOG_LEVEL_WARNING, "cannot publish %s for device %s: %s",
                 type, d->device_id, error->message);
  json_object_unref (payload);
}

static void
inventory_put (QpDevice *d, const char *id, JsonObject *meta, guint64 object_size)
{
  g_autoptr (JsonNode) doc = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *key = inventory_key (d, id);
  g_autoptr (GError) error = NULL;
  JsonObject *o;

  if (!d->sync)
    return;
  o = json_object_ref (meta);
  json_object_set_string_member (o, "device", d->device_id);
  json_object_set_int_member (o, "object_size", object_size);
  json_node_take_object (doc, o);
  if (!qp_api->store_put (qp_self, QP_INVENTORY, key, doc, &error))
    qp_api->log (qp_self, G_LOG_LEVEL_WARNING, "console inventory: %s", error->message);
}

/* Removed whatever the sync setting: the console must not keep a stale row. */
static void
inventory_delete (QpDevice *d, const char *id)
{
  g_autofree char *key = inventory_key (d, id);

  qp_api->store_delete (qp_self, QP_INVENTORY, key, NULL);
}

static void
check_limits (QpDevice *d, guint64 before, guint64 after)
{
  QCrossed c = qlimits_crossed (before, after, d->limit_mb, d->threshold_mb);
  gint64 size_mb = after / Q_MB;

  if (c & Q_CROSSED_THRESHOLD)
    {
      JsonObject *p = json_object_new ();
      gint64 free_mb = qlimits_free_mb (after, d->limit_mb);
      json_object_set_int_member (p, "free_mb", free_mb);
      json_object_set_int_member (p, "threshold_mb", d->threshold_mb);
      qp_api->log (qp_self, G_LOG_LEVEL_WARNING,
                   "quarantine of device %s: %" G_GINT64_FORMAT " MB left until the "
                   "maximum size, threshold %" G_GINT64_FORMAT " MB reached",
                   d->device_id, free_mb, d->threshold_mb);
      emit (d, "quarantine.threshold_reached", p);
    }
  if (c & Q_CROSSED_LIMIT)
    {
      JsonObject *p = json_object_new ();
      json_object_set_int_member (p, "size_mb", size_mb);
      json_object_set_int_member (p, "limit_mb", d->limit_mb);
      qp_api->log (qp_self, G_LOG_LEVEL_WARNING,
                   "quarantine of device %s reached its maximum size: %" G_GINT64_FORMAT
                   " MB of %" G_GINT64_FORMAT " MB; quarantining goes on",
                   d->device_id, size_mb, d->limit_mb);
      emit (d, "quarantine.limit_exceeded", p);
    }
}

/* Wraps an engine error for the host, keeping its message. Returns NULL. */
static gpointer
engine_error (GError **error, GError *local, const char *what, QpDevice *d)
{
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
               "%s on device %s: %s", what, d->device_id, local->message);
  g_error_free (local);
  return NULL;
}

static void
put_progress (double fraction, gpointer data)
{
  qp_api->task_progress (data, 0.95 * fraction, "encrypting");
}

JsonObject *
qp_op_put (QpDevice *d, const char *path, const char *detection, const char *reason,
           gboolean delete_original, const QpOrigin *origin, VigilTaskRun *run,
           GCancellable *cancellable, GError **error)
{
  QPutRequest req = {
    .root = d->root, .path = path, .device_id = d->device_id,
    .detection = detection, .reason = reason,
    .origin_task = origin->task_id, .origin_event = origin->event_id,
    .origin_user = origin->user, .delete_original = delete_original,
    .now_us = qp_api->now (qp_self),
    .progress = run != NULL ? put_progress : NULL, .progress_data = run,
  };
  QPutResult res;
  GError *local = NULL;
  JsonObject *out, *payload;

  if (!qstore_put (d->store, &req, cancellable, &res, &local))
    return engine_error (error, local, "quarantine", d);
  out = event_payload (res.id, res.meta);
  json_object_set_string_member (out, "md5", json_object_get_string_member (res.meta, "md5"));
  json_object_set_boolean_member (out, "original_deleted", res.original_deleted);
  if (res.original_kept != NULL)
    json_object_set_string_member (out, "original_kept", res.original_kept);
  inventory_put (d, res.id, res.meta, res.size_after - res.size_before);
  payload = event_payload (res.id, res.meta);
  /* A fleet console keeps its common list from this (plugin-console.c). */
  json_object_set_boolean_member (payload, "send_to_console", d->sync);
  emit (d, "quarantine.added", payload);
  check_limits (d, res.size_before, res.size_after);
  qput_result_clear (&res);
  return out;
}

JsonObject *
qp_op_restore (QpDevice *d, const char *id, gboolean to_restore_folder,
               GCancellable *cancellable, GError **error)
{
  QRestoreRequest req = { .id = id, .root = d->root,
                          .dir = to_restore_folder ? d->restore_dir : NULL };
  g_autofree char *restored_to = NULL;
  g_autoptr (JsonObject) meta = NULL;
  GError *local = NULL;
  JsonObject *out, *payload;

  if (!qstore_restore (d->store, &req, cancellable, &restored_to, &meta, &local))
    return engine_error (error, local, "restore", d);
  inventory_delete (d, id);
  out = event_payload (id, meta);
  json_object_set_string_member (out, "restored_to", restored_to);
  payload = event_payload (id, meta);
  json_object_set_string_member (payload, "restored_to", restored_to);
  emit (d, "quarantine.restored", payload);
  return out;
}

JsonObject *
qp_op_delete (QpDevice *d, const char *id, GError **error)
{
  g_autoptr (JsonObject) meta = NULL;
  GError *local = NULL;
  JsonObject *out;

  if (!qstore_delete (d->store, id, NULL, NULL, &meta, &local))
    return engine_error (error, local, "delete", d);
  if (meta == NULL)
    {
      /* A damaged object has no readable metadata: the console's row, when
       * there is one, still says what it was. */
      g_autofree char *key = inventory_key (d, id);
      g_autoptr (JsonNode) row = qp_api->store_get (qp_self, QP_INVENTORY, key, NULL);
      if (row != NULL && JSON_NODE_HOLDS_OBJECT (row))
        meta = json_object_ref (json_node_get_object (row));
    }
  inventory_delete (d, id);
  out = event_payload (id, meta);
  emit (d, "quarantine.deleted", event_payload (id, meta));
  return out;
}
