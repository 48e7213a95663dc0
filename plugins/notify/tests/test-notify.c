/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests of the notify engine against a real, private D-Bus session bus
 * (GTestDBus runs dbus-daemon) with a small org.freedesktop.Notifications
 * service in this process that records every Notify call it receives.
 * Lab devices are temporary root folders with a sessions file.
 */
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify-engine.h"
#include "vt-cli.h"

/* ---- the recording notification service --------------------------- */

typedef struct {
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  GMutex        lock;
  GCond         cond;
  gboolean      ready;
  GPtrArray    *calls;    /* GVariant (susssasa{sv}i) */
} FakeServer;

static const char server_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'>"
  "<arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='as' direction='in'/>"
  "<arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
  "<arg type='u' direction='out'/></method></interface></node>";

static char *bus_address;

static void
server_method (GDBusConnection *c, const char *sender, const char *path,
               const char *iface, const char *method, GVariant *params,
               GDBusMethodInvocation *inv, gpointer data)
{
  FakeServer *s = data;
  guint id;

  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->calls, g_variant_ref (params));
  id = s->calls->len;
  g_mutex_unlock (&s->lock);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(u)", id));
}

static const GDBusInterfaceVTable server_vtable = { server_method, NULL, NULL, { 0 } };

static gpointer
server_thread (gpointer data)
{
  FakeServer *s = data;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (server_xml, NULL);
  g_autoptr (GDBusConnection) conn = NULL;
  g_autoptr (GVariant) reply = NULL;

  g_main_context_push_thread_default (s->context);
  conn = g_dbus_connection_new_for_address_sync (bus_address,
           G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
           | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, NULL);
  g_assert_nonnull (conn);
  g_assert_cmpuint (g_dbus_connection_register_object (conn, "/org/freedesktop/Notifications",
                      info->interfaces[0], &server_vtable, s, NULL, NULL), >, 0);
  reply = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.Notifications", 4),
                                       G_VARIANT_TYPE ("(u)"), 0, -1, NULL, NULL);
  g_assert_nonnull (reply);
  g_mutex_lock (&s->lock);
  s->ready = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
  g_main_loop_run (s->loop);
  g_dbus_connection_close_sync (conn, NULL, NULL);
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

static FakeServer *
server_start (void)
{
  FakeServer *s = g_new0 (FakeServer, 1);

  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->calls = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->thread = g_thread_new ("fake-notifications", server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->ready)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  return s;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
server_stop (FakeServer *s)
{
  g_main_context_invoke (s->context, quit_loop, s->loop);
  g_thread_join (s->thread);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  g_ptr_array_unref (s->calls);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s);
}

/* ---- lab device roots ------------------------------------------------ */

static char *
make_root (const char *sessions_json)
{
  g_autoptr (GError) error = NULL;
  char *root = g_dir_make_tmp ("vigil-notify-XXXXXX", &error);
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;

  g_assert_no_error (error);
  if (sessions_json == NULL)
    return root;
  dir = g_build_filename (root, "var/lib/vigil", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  file = g_build_filename (root, VN_SESSIONS_FILE, NULL);
  g_file_set_contents (file, sessions_json, -1, &error);
  g_assert_no_error (error);
  return root;
}

static JsonObject *
params_for (const char *user)
{
  JsonObject *p = json_object_new ();

  json_object_set_string_member (p, "user", user);
  json_object_set_string_member (p, "title", "Threat detected");
  json_object_set_string_member (p, "body", "invoice.exe was quarantined");
  json_object_set_string_member (p, "urgency", "critical");
  return p;
}

/* A session of @user on @bus, a bus of this process's own user. */
static char *
sessions_with (const char *user, const char *bus)
{
  return g_strdup_printf ("{\"sessions\":[{\"user\":\"%s\",\"uid\":%u,"
                          "\"bus\":\"%s\"}]}", user, (guint) getuid (), bus);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_send_delivers_to_service (void)
{
  FakeServer *s = server_start ();
  g_autoptr (GError) error = NULL;
  const char *app, *icon, *summary, *body;
  g_autoptr (GVariant) hints = NULL;
  g_autofree const char **actions = NULL;
  guint32 replaces;
  gint32 expire;
  guchar urgency = 9;
  guint32 id;

  id = vn_send_notification (bus_address, -1, "Title", "Body text", "critical", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (id, ==, 1);
  g_assert_cmpuint (s->calls->len, ==, 1);
  g_variant_get (s->calls->pdata[0], "(&su&s&s&s^a&s@a{sv}i)", &app, &replaces,
                 &icon, &summary, &body, &actions, &hints, &expire);
  g_assert_cmpstr (app, ==, "Vigil");
  g_assert_cmpstr (summary, ==, "Title");
  g_assert_cmpstr (body, ==, "Body text");
  g_assert_true (g_variant_lookup (hints, "urgency", "y", &urgency));
  g_assert_cmpuint (urgency, ==, 2);
  server_stop (s);
}

static void
test_logged_in_user_notified (void)
{
  FakeServer *s = server_start ();
  g_autofree char *json = sessions_with ("alice", bus_address);
  g_autofree char *root = make_root (json);
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);
  const char *summary;

  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (r, "displayed"));
  g_assert_cmpint (json_object_get_int_member (r, "notification_id"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (r, "bus"), ==, bus_address);
  g_assert_cmpuint (s->calls->len, ==, 1);
  g_variant_get_child (s->calls->pdata[0], 3, "&s", &summary);
  g_assert_cmpstr (summary, ==, "Threat detected");
  server_stop (s);
  vt_rm_rf (root);
}

static void
test_other_user_not_displayed (void)
{
  FakeServer *s = server_start ();
  g_autofree char *json = sessions_with ("bob", bus_address);
  g_autofree char *root = make_root (json);
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (r, "displayed"));
  g_assert_cmpstr (json_object_get_string_member (r, "reason_code"), ==, "not_logged_in");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "reason"), "'alice'"));
  g_assert_cmpuint (s->calls->len, ==, 0);
  server_stop (s);
  vt_rm_rf (root);
}

static void
test_no_sessions_file_not_displayed (void)
{
  g_autofree char *root = make_root (NULL);
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (r, "displayed"));
  g_assert_cmpstr (json_object_get_string_member (r, "reason_code"), ==, "not_logged_in");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "reason"), "no sessions"));
  vt_rm_rf (root);
}

static void
test_no_notification_server (void)
{
  g_autofree char *json = sessions_with ("alice", bus_address);
  g_autofree char *root = make_root (json);
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (r, "displayed"));
  g_assert_cmpstr (json_object_get_string_member (r, "reason_code"), ==, "dbus_error");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "reason"),
                            "org.freedesktop.Notifications"));
  vt_rm_rf (root);
}

static void
test_logged_in_without_bus (void)
{
  g_autofree char *root = make_root ("{\"sessions\":[{\"user\":\"alice\",\"uid\":1000}]}");
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (r, "displayed"));
  g_assert_cmpstr (json_object_get_string_member (r, "reason_code"), ==, "no_session_bus");
  vt_rm_rf (root);
}

static void
test_uid_socket_resolved_inside_root (void)
{
  g_autofree char *root = make_root ("{\"sessions\":[{\"user\":\"alice\",\"uid\":1000}]}");
  g_autofree char *dir = g_build_filename (root, "run/user/1000", NULL);
  g_autofree char *sock = g_build_filename (dir, "bus", NULL);
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (sock, "", 0, &error);
  g_assert_no_error (error);
  r = vn_notify_user (root, params, NULL, &error);
  g_assert_no_error (error);
  /* Found the per-user bus of the lab device (a plain file here, so the
   * connection fails): the reason names the path inside the root. */
  g_assert_cmpstr (json_object_get_string_member (r, "reason_code"), ==, "dbus_error");
  g_assert_nonnull (strstr (json_object_get_string_member (r, "reason"), sock));
  vt_rm_rf (root);
}

static void
test_malformed_sessions_file_fails (void)
{
  g_autofree char *root = make_root ("{\"sessions\":[{\"user\":42}]}");
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);

  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "sessions[0]"));
  g_assert_nonnull (strstr (error->message, VN_SESSIONS_FILE));
  vt_rm_rf (root);
}

/* The device writes the sessions file: a second "uid" for alice (json-glib
 * would take the last) or a "\u0000" in a user name is refused (#14). */
static void
test_misread_sessions_file_refused (void)
{
  static const char *const cases[][2] = {
    { "{\"sessions\":[{\"user\":\"alice\",\"uid\":1000,\"uid\":0,\"bus\":\"x\"}]}",
      "duplicate key \"uid\" (at $.sessions[0])" },
    { "{\"sessions\":[{\"user\":\"alice\\u0000root\",\"uid\":1000,\"bus\":\"x\"}]}",
      "\\u0000 (NUL) in a string (at $.sessions[0].user)" },
    { "{\"sessions\":[{\"user\":\"alice\",\"uid\":01750,\"bus\":\"x\"}]}",
      "non-standard number '01750'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *root = make_root (cases[i][0]);
      g_autoptr (JsonObject) params = params_for ("alice");
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) r = vn_notify_user (root, params, NULL, &error);

      g_assert_null (r);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i][1]));
      g_assert_nonnull (strstr (error->message, VN_SESSIONS_FILE));
      vt_rm_rf (root);
    }
}

static void
test_symlinked_sessions_file_refused (void)
{
  g_autofree char *json = sessions_with ("alice", "unix:path=/nonexistent");
  g_autofree char *outside = make_root (json);
  g_autofree char *root = make_root (NULL);
  g_autofree char *dir = g_build_filename (root, "var/lib", NULL);
  g_autofree char *link = g_build_filename (dir, "vigil", NULL);
  g_autofree char *target = g_build_filename (outside, "var/lib/vigil", NULL);
  g_autoptr (JsonObject) params = params_for ("alice");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);
  r = vn_notify_user (root, params, NULL, &error);
  g_assert_null (r);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "symlink"));
  vt_rm_rf (root);
  vt_rm_rf (outside);
}

static void
test_missing_user_param_fails (void)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user (NULL, params, NULL, &error);

  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static void
test_machine_user_not_in_utmp (void)
{
  g_autoptr (JsonObject) params = params_for ("vigil-no-such-user");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = vn_notify_user ("/", params, NULL, &error);

  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (r, "displayed"));
  g_assert_nonnull (strstr (json_object_get_string_member (r, "reason"), "utmp"));
}

/* ---- root notifying another user on that user's own bus ---------------- */

#define NOBODY 65534

/* Child mode, run as the bus's user: own org.freedesktop.Notifications,
 * create "<record>.ready", and write the summary of the first Notify call
 * to @record. */
static int
serve_once (const char *address, const char *record)
{
  g_autofree char *ready = g_strconcat (record, ".ready", NULL);
  g_autofree char *summary = NULL;
  FakeServer *s;

  bus_address = g_strdup (address);
  s = server_start ();
  g_file_set_contents (ready, "", 0, NULL);
  while (summary == NULL)
    {
      g_mutex_lock (&s->lock);
      if (s->calls->len > 0)
        g_variant_get_child (s->calls->pdata[0], 3, "s", &summary);
      g_mutex_unlock (&s->lock);
      if (summary == NULL)
        g_usleep (20000);
    }
  server_stop (s);
  g_file_set_contents (record, summary, -1, NULL);
  g_free (bus_address);
  return 0;
}

static GSubprocess *
spawn_as_nobody (GError **error, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (argv, "setpriv");
  g_ptr_array_add (argv, "--reuid=65534");
  g_ptr_array_add (argv, "--regid=65534");
  g_ptr_array_add (argv, "--clear-groups");
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return g_subprocess_newv ((const char *const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE, error);
}

static void
wait_for_file (const char *path)
{
  /* Bounded, so a broken child fails the test instead of hanging it. */
  for (int i = 0; i < 1000 && !g_file_test (path, G_FILE_TEST_EXISTS); i++)
    g_usleep (10000);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_root_notifies_other_user (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) daemon = NULL;
  g_autoptr (GSubprocess) server = NULL;
  g_autofree char *out = NULL;
  g_autofree char *root = NULL;
  g_autofree char *json = NULL;
  g_autofree char *record = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *got = NULL;
  g_autoptr (GDataInputStream) daemon_out = NULL;
  g_autoptr (JsonObject) params = params_for ("nobody");
  g_autoptr (JsonObject) r = NULL;
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");

  if (geteuid () != 0 || setpriv == NULL)
    {
      g_test_skip ("needs root and setpriv (util-linux)");
      return;
    }
  daemon = spawn_as_nobody (&error, "dbus-daemon", "--session", "--nofork", "--nopidfile",
                            "--print-address", NULL);
  g_assert_no_error (error);
  daemon_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (daemon));
  out = g_data_input_stream_read_line (daemon_out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  root = make_root (NULL);
  g_assert_cmpint (chmod (root, 0777), ==, 0);
  record = g_build_filename (root, "record", NULL);
  ready = g_strconcat (record, ".ready", NULL);
  server = spawn_as_nobody (&error, self, "--serve-notifications", out, record, NULL);
  g_assert_no_error (error);
  wait_for_file (ready);
  json = g_strdup_printf ("{\"sessions\":[{\"user\":\"nobody\",\"uid\":%d,\"bus\":\"%s\"}]}",
                          NOBODY, out);
  {
    g_autofree char *dir = g_build_filename (root, "var/lib/vigil", NULL);
    g_autofree char *file = g_build_filename (root, VN_SESSIONS_FILE, NULL);
    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    g_assert_true (g_file_set_contents (file, json, -1, NULL));
  }
  /* A plain connection from root is refused by that user's bus... */
  g_assert_cmpuint (vn_send_notification (out, -1, "x", "y", "low", NULL, &error), ==, 0);
  g_assert_nonnull (error);
  g_clear_error (&error);
  /* ...while the task connects as the session's user. */
  r = vn_notify_user (root, params, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (r, "displayed"));
  g_assert_true (g_subprocess_wait (server, NULL, &error));
  g_assert_true (g_file_get_contents (record, &got, NULL, NULL));
  g_assert_cmpstr (got, ==, "Threat detected");
  /* Still root afterwards. */
  g_assert_cmpint (geteuid (), ==, 0);
  g_assert_cmpint (getuid (), ==, 0);
  g_subprocess_force_exit (daemon);
  g_subprocess_wait (daemon, NULL, NULL);
  vt_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_autoptr (GTestDBus) bus = NULL;
  int ret;

  if (argc == 4 && g_strcmp0 (argv[1], "--serve-notifications") == 0)
    return serve_once (argv[2], argv[3]);
  g_test_init (&argc, &argv, NULL);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  bus_address = g_strdup (g_test_dbus_get_bus_address (bus));

  g_test_add_func ("/notify/send/delivers-to-notification-service", test_send_delivers_to_service);
  g_test_add_func ("/notify/task/logged-in-user-is-notified", test_logged_in_user_notified);
  g_test_add_func ("/notify/task/other-user-logged-in-not-displayed", test_other_user_not_displayed);
  g_test_add_func ("/notify/task/no-sessions-file-not-displayed", test_no_sessions_file_not_displayed);
  g_test_add_func ("/notify/task/no-notification-server-not-displayed", test_no_notification_server);
  g_test_add_func ("/notify/task/logged-in-without-bus-not-displayed", test_logged_in_without_bus);
  g_test_add_func ("/notify/task/uid-bus-socket-resolved-inside-root", test_uid_socket_resolved_inside_root);
  g_test_add_func ("/notify/task/malformed-sessions-file-fails", test_malformed_sessions_file_fails);
  g_test_add_func ("/notify/task/misread-sessions-file-refused", test_misread_sessions_file_refused);
  g_test_add_func ("/notify/task/symlinked-sessions-file-refused", test_symlinked_sessions_file_refused);
  g_test_add_func ("/notify/task/missing-user-param-fails", test_missing_user_param_fails);
  g_test_add_func ("/notify/task/machine-user-not-in-utmp", test_machine_user_not_in_utmp);
  g_test_add_func ("/notify/task/root-notifies-user-on-their-own-bus", test_root_notifies_other_user);
  ret = g_test_run ();
  g_test_dbus_down (bus);
  g_free (bus_address);
  return ret;
}
