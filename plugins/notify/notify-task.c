/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `notify.user` task: is the account the threat was detected under
 * logged in on the device, and if so, show it a desktop notification. Every
 * way the notification can fail to appear (not logged in, no session bus, no
 * notification server) is a completed run whose result says why, as the
 * admin guide promises; only bad parameters or an unreadable session list
 * fail the run.
 */
#include "notify-engine.h"

static JsonObject *
not_displayed (const char *code, const char *reason)
{
  JsonObject *r = json_object_new ();

  json_object_set_boolean_member (r, "displayed", FALSE);
  json_object_set_string_member (r, "reason_code", code);
  json_object_set_string_member (r, "reason", reason);
  return r;
}

static const char *const urgencies[] = { "low", "normal", "critical", NULL };

/* The parameters of notify.user: the one copy of their defaults, which
 * vn_notify_user reads through the helper library. */
const VigilField vn_user_params[VN_N_USER_PARAMS] = {
  { .key = "user", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "The account to notify; shown only if it is logged in on the device." },
  { .key = "title", .type = VIGIL_FIELD_STRING, .default_json = "\"Threat detected\"",
    .description = "The notification's summary line." },
  { .key = "body", .type = VIGIL_FIELD_STRING, .default_json = "\"\"",
    .description = "The notification's text." },
  { .key = "urgency", .type = VIGIL_FIELD_ENUM, .default_json = "\"critical\"",
    .enum_values = urgencies,
    .description = "Urgency hint for the notification server." },
};

static char *
string_param (JsonObject *params, const char *key)
{
  return vigil_field_dup_string (vigil_fields_find (VIGIL_ARRAY (vn_user_params), key), params);
}

JsonObject *
vn_notify_user (const char *root, JsonObject *params,
                GCancellable *cancellable, GError **error)
{
  g_autofree char *user = string_param (params, "user");
  g_autofree char *title = string_param (params, "title");
  g_autofree char *body = string_param (params, "body");
  g_autofree char *urgency = string_param (params, "urgency");
  g_autoptr (VnSession) session = NULL;
  g_autofree char *why = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *reason = NULL;
  guint32 id;
  JsonObject *r;

  if (user == NULL || *user == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "params.user: the account to notify is required");
      return NULL;
    }
  session = vn_find_session (root, user, &why, error);
  if (session == NULL)
    return why != NULL ? not_displayed ("not_logged_in", why) : NULL;
  if (session->bus_address == NULL)
    {
      reason = g_strdup_printf ("user '%s' is logged in (%s) but has no D-Bus "
                                "session bus", user, session->source);
      return not_displayed ("no_session_bus", reason);
    }
  id = vn_send_notification (session->bus_address, session->uid, title, body, urgency,
                             cancellable, &local);
  if (id == 0)
    {
      reason = g_strdup_printf ("the notification service on %s did not take "
                                "it: %s", session->bus_address, local->message);
      return not_displayed ("dbus_error", reason);
    }
  r = json_object_new ();
  json_object_set_boolean_member (r, "displayed", TRUE);
  json_object_set_int_member (r, "notification_id", id);
  json_object_set_string_member (r, "user", user);
  json_object_set_string_member (r, "bus", session->bus_address);
  json_object_set_string_member (r, "session_source", session->source);
  return r;
}
