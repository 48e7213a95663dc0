/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The notify plugin's engine, kept apart from the plugin glue so that its
 * tests link it directly: find the session of a user on a device (utmp on
 * the machine itself, a sessions file inside a lab device's root folder),
 * and send a desktop notification to that session's D-Bus
 * org.freedesktop.Notifications service.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <vigil/plugin.h>
#include <vigil/util/io.h>
#include <vigil/util/settings.h>

G_BEGIN_DECLS

/* Where a lab device (one with a root folder) lists its logged-in users. */
#define VN_SESSIONS_FILE "var/lib/vigil/sessions.json"
/* Sessions files larger than this are refused (untrusted input). */
#define VN_SESSIONS_MAX_BYTES (64 * 1024)

typedef struct {
  char  *user;
  gint64 uid;          /* -1 when unknown */
  char  *bus_address;  /* D-Bus address of the user's session bus, or NULL */
  char  *source;       /* "utmp" or the sessions file that listed it */
} VnSession;

void vn_session_free (VnSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnSession, vn_session_free)

/*
 * vn_find_session:
 * @root: the device's root folder; NULL or "/" means this machine (utmp)
 * @user: the account the threat was detected under
 * @why: (out): when no session is found, why (for the task result)
 *
 * Returns: (transfer full) the user's session, or NULL. NULL with @error set
 * means the session list could not be read (malformed, unsafe path); NULL
 * with only @why set means the user is not logged in.
 */
VnSession *vn_find_session (const char *root, const char *user, char **why,
                            GError **error);

/*
 * vn_connect_session_bus:
 * A private connection to the session bus at @address, which belongs to
 * @uid (-1: unknown). When this process runs as root and @uid is another
 * user, the connection is made as that user (see notify-connect.c).
 */
GDBusConnection *vn_connect_session_bus (const char *address, gint64 uid,
                                         GCancellable *cancellable, GError **error);

/*
 * vn_send_notification:
 * Calls org.freedesktop.Notifications.Notify on the bus at @bus_address,
 * the session bus of @uid (-1: unknown).
 * @urgency: "low", "normal" or "critical".
 * Returns: the notification id the server assigned, 0 with @error set.
 */
guint32 vn_send_notification (const char *bus_address, gint64 uid, const char *title,
                              const char *body, const char *urgency,
                              GCancellable *cancellable, GError **error);

/* The parameters schema of notify.user (notify-task.c), registered by the
 * plugin and read with its defaults by vn_notify_user. */
#define VN_N_USER_PARAMS 4
extern const VigilField vn_user_params[VN_N_USER_PARAMS];

/*
 * vn_notify_user:
 * The whole `notify.user` task: @params as documented (user, title, body,
 * urgency). Returns: (transfer full) the result object, {"displayed":
 * true, "notification_id", "bus", "session_source"} or {"displayed": false,
 * "reason_code", "reason"}; NULL with @error only for bad input.
 */
JsonObject *vn_notify_user (const char *root, JsonObject *params,
                            GCancellable *cancellable, GError **error);

G_END_DECLS
