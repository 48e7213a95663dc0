/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sends one desktop notification through the freedesktop.org notification
 * specification: a Notify call to org.freedesktop.Notifications on a user's
 * session bus (made as that user, see notify-connect.c). The connection is
 * private and short-lived (a task run lives
 * on a worker thread and must not share the process's session bus), and the
 * call has a timeout so a hung notification server cannot hold a worker.
 */
#include "notify-engine.h"

#define NOTIFY_CALL_TIMEOUT_MS 5000
/* How long the server shows it (ms); critical ones stay until dismissed. */
#define NOTIFY_EXPIRE_MS 10000

static guchar
urgency_level (const char *urgency)
{
  if (g_strcmp0 (urgency, "low") == 0)
    return 0;
  if (g_strcmp0 (urgency, "critical") == 0)
    return 2;
  return 1;
}

static GVariant *
notify_args (const char *title, const char *body, const char *urgency)
{
  GVariantBuilder hints;
  guchar level = urgency_level (urgency);

  g_variant_builder_init (&hints, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&hints, "{sv}", "urgency", g_variant_new_byte (level));
  g_variant_builder_add (&hints, "{sv}", "desktop-entry", g_variant_new_string ("vigil"));
  return g_variant_new ("(susssasa{sv}i)", "Vigil", (guint32) 0,
                        "dialog-warning", title, body, NULL, &hints,
                        level == 2 ? 0 : NOTIFY_EXPIRE_MS);
}

guint32
vn_send_notification (const char *bus_address, gint64 uid, const char *title,
                      const char *body, const char *urgency,
                      GCancellable *cancellable, GError **error)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GVariant) reply = NULL;
  guint32 id = 0;

  g_return_val_if_fail (bus_address != NULL, 0);

  bus = vn_connect_session_bus (bus_address, uid, cancellable, error);
  if (bus == NULL)
    return 0;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.Notifications",
                                       "/org/freedesktop/Notifications",
                                       "org.freedesktop.Notifications", "Notify",
                                       notify_args (title, body, urgency),
                                       G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                       NOTIFY_CALL_TIMEOUT_MS, cancellable, error);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &id);
  g_dbus_connection_close_sync (bus, NULL, NULL);
  if (reply != NULL && id == 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "org.freedesktop.Notifications returned notification id 0");
  return id;
}
