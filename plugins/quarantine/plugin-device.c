/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where a device's quarantine lives. A device with a root folder (a lab
 * device) keeps it inside that root, as an endpoint keeps it in its own
 * application data: /var/lib/vigil/Quarantine, restored objects in
 * /var/lib/vigil/Restored. The machine itself (no root) keeps it in the
 * plugin's state folder: <state>/plugins/quarantine/devices/<id>/Quarantine
 * and .../Restored. A configured folder is a device path, so it is placed
 * inside the device root too. Opening a store runs its recovery sweep;
 * what it removes is logged, and the store is remembered so the start-up
 * sweep finds it again.
 */
#include "qplugin.h"

#include <fcntl.h>
#include <unistd.h>

#define ROOTED_QUARANTINE "/var/lib/vigil/Quarantine"

void
qp_device_free (QpDevice *d)
{
  if (d == NULL)
    return;
  g_clear_pointer (&d->store, qstore_free);
  g_free (d->device_id);
  g_free (d->root);
  g_free (d->store_dir);
  g_free (d->restore_dir);
  g_free (d);
}

QStore *
qp_store_open_logged (const char *dir, GError **error)
{
  g_autoptr (GPtrArray) removed = NULL;
  QStore *store = qstore_open (dir, &removed, error);

  for (guint i = 0; store != NULL && i < removed->len; i++)
    qp_api->log (qp_self, G_LOG_LEVEL_WARNING,
                 "recovery: removed %s, left by an interrupted put or restore "
                 "in %s", (const char *) removed->pdata[i], dir);
  return store;
}

static char *
device_root (const char *device_id, GError **error)
{
  g_autoptr (JsonObject) dev = qp_api->get_device (qp_self, device_id, error);
  const char *root;

  if (dev == NULL)
    return NULL;
  root = vigil_json_get_string (dev, "root");
  return g_strdup (root != NULL && *root != '\0' ? root : "/");
}

/* For a device with a root, the quarantine folder is walked (and created)
 * like any device path, so a symlink in the lab cannot move the store out
 * of the device's root. */
static gboolean
check_inside_root (const char *root, const char *device_folder, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *leaf = NULL;
  int root_fd = qpath_open_root (root, &local);
  int fd = root_fd >= 0 ? qpath_open_parent (root_fd, device_folder, TRUE, &leaf, &local) : -1;
  struct stat st;

  if (root_fd >= 0)
    close (root_fd);
  if (fd >= 0 && fstatat (fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
    g_set_error (&local, Q_ERROR, Q_ERROR_REFUSED, "%s is a symbolic link", device_folder);
  else if (fd >= 0)
    {
      /* The folder itself is left to qstore_open, which makes it 0700. */
      close (fd);
      return TRUE;
    }
  if (fd >= 0)
    close (fd);
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
               "quarantine folder %s: %s", device_folder, local->message);
  return FALSE;
}

/* Picks the store folder (host path) and the restore folder (device path). */
static gboolean
place (QpDevice *d, JsonObject *settings, GError **error)
{
  g_autofree char *folder = vigil_settings_dup_string (&qp_section, settings, "storage", "folder");
  g_autofree char *restore = vigil_settings_dup_string (&qp_section, settings, "restore",
                                                        "restore_folder");
  gboolean machine = g_strcmp0 (d->root, "/") == 0;
  g_autofree char *device_folder = NULL;

  if (folder == NULL && machine)
    {
      /* The id becomes a folder name: "." or ".." would put the store of
       * this device outside devices/ (or share another's). */
      g_autoptr (GError) local = NULL;
      if (!qpath_check_component (d->device_id, "device id", &local))
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                       "quarantine of device %s: %s", d->device_id, local->message);
          return FALSE;
        }
      device_folder = g_build_filename (qp_api->data_dir (qp_self), "devices",
                                        d->device_id, "Quarantine", NULL);
    }
  else
    device_folder = qpath_normalize (folder != NULL ? folder : ROOTED_QUARANTINE, error);
  if (device_folder == NULL)
    return FALSE;
  if (!machine && !check_inside_root (d->root, device_folder, error))
    return FALSE;
  d->store_dir = g_build_filename (d->root, device_folder, NULL);
  if (restore != NULL)
    d->restore_dir = g_strdup (restore);
  else
    {
      g_autofree char *parent = g_path_get_dirname (device_folder);
      d->restore_dir = g_build_filename (parent, "Restored", NULL);
    }
  return TRUE;
}

/* Written only when new or moved: every operation opens the device's
 * store, and an unchanged row would cost a database commit each time. */
static void
remember_store (QpDevice *d)
{
  g_autoptr (JsonNode) doc = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonNode) known = qp_api->store_get (qp_self, QP_STORES, d->device_id, NULL);
  JsonObject *o;

  if (known != NULL && JSON_NODE_HOLDS_OBJECT (known)
      && g_strcmp0 (vigil_json_get_string (json_node_get_object (known), "dir"),
                    d->store_dir) == 0)
    return;
  o = json_object_new ();
  json_object_set_string_member (o, "dir", d->store_dir);
  json_node_take_object (doc, o);
  qp_api->store_put (qp_self, QP_STORES, d->device_id, doc, NULL);
}

QpDevice *
qp_device_open (const char *device_id, const char *root, GError **error)
{
  g_autoptr (QpDevice) d = g_new0 (QpDevice, 1);
  g_autoptr (JsonObject) settings = NULL;
  g_autoptr (GError) local = NULL;

  d->device_id = g_strdup (device_id);
  d->root = root != NULL ? g_strdup (root) : device_root (device_id, error);
  if (d->root == NULL)
    return NULL;
  settings = qp_api->get_effective_settings (qp_self, device_id, QP_SECTION, error);
  if (settings == NULL || !place (d, settings, error))
    return NULL;
  d->limit_mb = vigil_settings_get_int (&qp_section, settings, "storage", "max_size_mb", NULL);
  d->threshold_mb = vigil_settings_get_int (&qp_section, settings, "storage", "threshold_mb", NULL);
  d->sync = vigil_settings_get_bool (&qp_section, settings, "sync", "send_to_console");
  d->store = qp_store_open_logged (d->store_dir, &local);
  if (d->store == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "quarantine of device %s: %s", device_id, local->message);
      return NULL;
    }
  remember_store (d);
  return g_steal_pointer (&d);
}
