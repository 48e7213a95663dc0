/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host's record of device agents through the public API
 * (vigil-host.h, Since 1.1): an enrollment is pending, then completed once
 * (a second completion, or one naming another enrollment, is refused),
 * then revoked; a heartbeat is stored for an enrolled device only, and
 * every member of it is checked (it comes from the device); online follows
 * the heartbeat's status and its age in the device's own intervals, on
 * the host clock.
 */
#include "vigil-host.h"
#include "vt-cli.h"

#include <string.h>

typedef struct {
  char      *dir;
  VigilHost *host;
  gint64     now;
} Fixture;

static gint64
fake_clock (gpointer data)
{
  return ((Fixture *) data)->now;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VigilHostOptions options = { sizeof options };

  f->dir = g_dir_make_tmp ("vigil-agents-XXXXXX", &error);
  g_assert_no_error (error);
  options.state_dir = f->dir;
  f->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  f->now = G_GINT64_CONSTANT (1800000000) * G_USEC_PER_SEC;
  vigil_host_set_clock (f->host, fake_clock, f);
  g_assert_true (vigil_host_add_group (f->host, "lab", NULL, NULL, &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-1", NULL, "lab", NULL, &error));
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  vigil_host_free (f->host);
  vt_rm_rf (f->dir);
  g_free (f->dir);
}

static JsonObject *
heartbeat (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

#define GOOD "{\"agent_version\": \"1.2.3\", \"plugins\": [{\"name\": \"ioc-scan\", " \
             "\"version\": \"0.1.0\"}], \"interval\": 10, \"status\": \"online\"}"

static void
test_enrollment_states (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) pending = NULL, enrolled = NULL, revoked = NULL;
  g_autoptr (JsonArray) all = NULL;
  const char *e1 = "0123456789abcdef0123456789abcdef";
  const char *e2 = "fedcba9876543210fedcba9876543210";

  g_assert_null (vigil_host_device_agent (f->host, "dev-1", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vigil_host_begin_device_enrollment (f->host, "nobody", e1, "ab", 1, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (vigil_host_begin_device_enrollment (f->host, "dev-1", e1, "ab12", 1800086400,
                                                     &error));
  pending = vigil_host_device_agent (f->host, "dev-1", &error);
  g_assert_cmpstr (json_object_get_string_member (pending, "state"), ==, "pending");
  g_assert_cmpstr (json_object_get_string_member (pending, "token_sha256"), ==, "ab12");
  g_assert_false (json_object_get_boolean_member (pending, "online"));

  /* A heartbeat of a device not enrolled yet is dropped. */
  {
    g_autoptr (JsonObject) hb = heartbeat (GOOD);
    g_assert_false (vigil_host_record_device_heartbeat (f->host, "dev-1", hb, &error));
    g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  g_assert_false (vigil_host_complete_device_enrollment (f->host, "dev-1", e2, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (vigil_host_complete_device_enrollment (f->host, "dev-1", e1, &error));
  /* The token is spent: only once. */
  g_assert_false (vigil_host_complete_device_enrollment (f->host, "dev-1", e1, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  enrolled = vigil_host_device_agent (f->host, "dev-1", &error);
  g_assert_cmpstr (json_object_get_string_member (enrolled, "state"), ==, "enrolled");
  g_assert_true (json_object_get_null_member (enrolled, "token_sha256"));
  g_assert_cmpint (json_object_get_int_member (enrolled, "enrolled_at"), ==, f->now);

  g_assert_true (vigil_host_revoke_device_agent (f->host, "dev-1", &error));
  revoked = vigil_host_device_agent (f->host, "dev-1", &error);
  g_assert_cmpstr (json_object_get_string_member (revoked, "state"), ==, "revoked");
  {
    g_autoptr (JsonObject) hb = heartbeat (GOOD);
    g_assert_false (vigil_host_record_device_heartbeat (f->host, "dev-1", hb, &error));
    g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  g_assert_false (vigil_host_revoke_device_agent (f->host, "lab", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  all = vigil_host_device_agents (f->host, &error);
  g_assert_cmpuint (json_array_get_length (all), ==, 1);

  /* Removing the device forgets its agent: added again, it has none. */
  g_assert_true (vigil_host_remove_device (f->host, "dev-1", &error));
  g_assert_true (vigil_host_add_device (f->host, "dev-1", NULL, "lab", NULL, &error));
  g_assert_null (vigil_host_device_agent (f->host, "dev-1", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

static void
enroll (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  const char *e1 = "0123456789abcdef0123456789abcdef";

  g_assert_true (vigil_host_begin_device_enrollment (f->host, "dev-1", e1, "ab", 1, &error));
  g_assert_true (vigil_host_complete_device_enrollment (f->host, "dev-1", e1, &error));
  g_assert_no_error (error);
}

static void
test_heartbeat_online (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) hb = heartbeat (GOOD);
  g_autoptr (JsonObject) stop = heartbeat ("{\"agent_version\": \"1.2.3\", \"plugins\": [], "
                                           "\"interval\": 10, \"status\": \"stopping\"}");
  JsonObject *a;

  enroll (f);
  g_assert_true (vigil_host_record_device_heartbeat (f->host, "dev-1", hb, &error));
  g_assert_no_error (error);
  a = vigil_host_device_agent (f->host, "dev-1", NULL);
  g_assert_true (json_object_get_boolean_member (a, "online"));
  g_assert_cmpint (json_object_get_int_member (a, "last_seen"), ==, f->now);
  g_assert_cmpstr (json_object_get_string_member (a, "agent_version"), ==, "1.2.3");
  g_assert_cmpstr (json_object_get_string_member (
                     json_array_get_object_element (json_object_get_array_member (a, "plugins"), 0),
                     "name"), ==, "ioc-scan");
  json_object_unref (a);

  /* Three missed intervals: offline, by the host clock. */
  f->now += 30 * G_USEC_PER_SEC;
  a = vigil_host_device_agent (f->host, "dev-1", NULL);
  g_assert_true (json_object_get_boolean_member (a, "online"));
  json_object_unref (a);
  f->now += 1;
  a = vigil_host_device_agent (f->host, "dev-1", NULL);
  g_assert_false (json_object_get_boolean_member (a, "online"));
  json_object_unref (a);

  g_assert_true (vigil_host_record_device_heartbeat (f->host, "dev-1", hb, &error));
  g_assert_true (vigil_host_record_device_heartbeat (f->host, "dev-1", stop, &error));
  a = vigil_host_device_agent (f->host, "dev-1", NULL);
  g_assert_false (json_object_get_boolean_member (a, "online"));
  json_object_unref (a);
}

static void
test_heartbeat_checked (Fixture *f, gconstpointer data)
{
  static const struct { const char *json, *member; } bad[] = {
    { "{\"plugins\": [], \"interval\": 10, \"status\": \"online\"}", "agent_version" },
    { "{\"agent_version\": 5, \"plugins\": [], \"interval\": 10, \"status\": \"online\"}", "agent_version" },
    { "{\"agent_version\": \"1\\n2\", \"plugins\": [], \"interval\": 10, \"status\": \"online\"}", "agent_version" },
    { "{\"agent_version\": \"1\", \"plugins\": {}, \"interval\": 10, \"status\": \"online\"}", "plugins" },
    { "{\"agent_version\": \"1\", \"plugins\": [1], \"interval\": 10, \"status\": \"online\"}", "plugins[0]" },
    { "{\"agent_version\": \"1\", \"plugins\": [{\"name\": \"x\"}], \"interval\": 10, \"status\": \"online\"}", "plugins[0]" },
    { "{\"agent_version\": \"1\", \"plugins\": [], \"interval\": 0, \"status\": \"online\"}", "interval" },
    { "{\"agent_version\": \"1\", \"plugins\": [], \"interval\": 3601, \"status\": \"online\"}", "interval" },
    { "{\"agent_version\": \"1\", \"plugins\": [], \"interval\": \"10\", \"status\": \"online\"}", "interval" },
    { "{\"agent_version\": \"1\", \"plugins\": [], \"interval\": 10, \"status\": \"up\"}", "status" },
  };
  g_autoptr (GString) many = g_string_new ("{\"agent_version\": \"1\", \"interval\": 10, "
                                           "\"status\": \"online\", \"plugins\": [");
  g_autoptr (JsonObject) too_many = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) kept = NULL;

  enroll (f);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonObject) hb = heartbeat (bad[i].json);

      g_assert_false (vigil_host_record_device_heartbeat (f->host, "dev-1", hb, &error));
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      if (strstr (error->message, bad[i].member) == NULL)
        g_error ("case %zu: '%s' does not name %s", i, error->message, bad[i].member);
      g_clear_error (&error);
    }
  for (int i = 0; i < 257; i++)
    g_string_append_printf (many, "%s{\"name\": \"p%d\", \"version\": \"1\"}", i ? "," : "", i);
  g_string_append (many, "]}");
  too_many = heartbeat (many->str);
  g_assert_false (vigil_host_record_device_heartbeat (f->host, "dev-1", too_many, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  /* Nothing of the refused heartbeats was stored. */
  kept = vigil_host_device_agent (f->host, "dev-1", NULL);
  g_assert_true (json_object_get_null_member (kept, "last_seen"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/agents/enrollment-states", Fixture, NULL, setup, test_enrollment_states,
              teardown);
  g_test_add ("/fleet/agents/heartbeat-online", Fixture, NULL, setup, test_heartbeat_online,
              teardown);
  g_test_add ("/fleet/agents/heartbeat-checked", Fixture, NULL, setup, test_heartbeat_checked,
              teardown);
  return g_test_run ();
}
