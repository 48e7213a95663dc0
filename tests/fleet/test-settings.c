/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Devices' settings between runs, with real processes (a broker, `vigil
 * serve`, `vigil agent`, each in its own state folder): a policy changed
 * on the console reaches the agent's own store without any run; a change
 * that does not touch a device publishes nothing for it; password
 * protection turned on by the console guards the agent's local commands,
 * and turned off by the console (which the local guard would refuse
 * without the password) lifts it; an agent whose device was made anew
 * gets the key's current value back; an agent started again while the
 * broker is down keeps what it had; the secret in the settings reaches no
 * output. And the broker's permissions: a device's credentials read its
 * own settings key and not another device's, and a revoked device's key
 * is purged. Every wait is for a line of
 * a process or an error the broker reports.
 */
#include "vt-lab.h"
#include "fleet-connect.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"

#include <string.h>

#define PASSWORD     "correct horse battery staple"
#define PROXY_SECRET "pr0xy-s3cret-value"
#define APPLIED      "the console's settings applied (revision "

/* Writes the policy "Lab" of group lab: a manual proxy with a password;
 * with @protect, also password protection (the hash made by `vigil
 * password set`, which reads the password from the pipe). (transfer full)
 * the file. */
static char *
lab_policy (VtLab *lab, const char *address, gboolean protect)
{
  g_autofree char *path = g_build_filename (lab->dir, "lab-policy.json", NULL);
  g_autofree char *text = g_strdup_printf (
    "{\"name\":\"Lab\",\"group\":\"lab\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"proxy\":{\"values\":{\"mode\":\"manual\",\"address\":\"%s\","
    "\"port\":3128,\"user\":\"svc\",\"password\":\"" PROXY_SECRET "\"}}}}}", address);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  if (protect)
    {
      g_auto (VtCli) r = { 0 };

      vt_cli_run (&r, lab->console, PASSWORD, NULL, "password", "set", "--policy", path,
                  "--iterations", "100000", NULL);
      g_assert_cmpint (r.status, ==, 0);
    }
  return g_steal_pointer (&path);
}

/* Waits for the agent's next "settings applied" line after @mark; returns
 * its revision, and moves @mark past it. */
static guint64
wait_applied (VtProc *agent, gsize *mark)
{
  g_autofree char *log = NULL;
  guint64 revision;

  *mark = vt_proc_wait (agent, *mark, APPLIED);
  log = vt_proc_log (agent);
  revision = g_ascii_strtoull (log + *mark, NULL, 10);
  g_assert_cmpuint (revision, >, 0);
  return revision;
}

/* The agent's own effective `general` settings of `self`, read from its
 * state folder by the CLI (secrets masked). */
static JsonObject *
agent_general (const char *agent_dir)
{
  g_autoptr (JsonObject) o = vt_lab_json (agent_dir, "policy", "effective", "--device", "self",
                                          "--section", "general", NULL);
  JsonObject *values = json_object_get_object_member (
    json_object_get_object_member (json_object_get_object_member (o, "sections"), "general"),
    "values");

  return json_object_ref (values);
}

static const char *
proxy_address (JsonObject *general)
{
  return json_object_get_string_member_with_default (
    json_object_get_object_member (general, "proxy"), "address", NULL);
}

/* `vigil password check plugins.disable` in the agent's folder with no
 * password to give: its exit status. */
static int
unprotected_check (const char *agent_dir, char **err)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, agent_dir, NULL, NULL, "password", "check", "plugins.disable", NULL);
  if (err != NULL)
    *err = g_strdup (r.err);
  return r.status;
}

static void
test_follow (VtLab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = vt_lab_enroll (lab, "dev-s", NULL);
  g_autofree char *root = vt_lab_device_root (lab, "dev-s");
  g_autofree char *root2 = vt_lab_device_root (lab, "dev-s2");
  g_autofree char *policy = NULL, *other = NULL, *err = NULL;
  g_autofree char *serve_log = NULL;
  g_autoptr (JsonObject) general = NULL;
  gsize ma = 0, ms = vt_proc_mark (lab->serve);
  guint64 r1, r2;
  VtProc *agent;
  g_auto (VtCli) r = { 0 };

  /* Enrolled: the console publishes its settings; the agent applies them
   * and its device is this machine's. */
  agent = vt_lab_agent_start (agent_dir, root, NULL);
  wait_applied (agent, &ma);
  g_assert_cmpint (unprotected_check (agent_dir, NULL), ==, 0);

  /* A policy changed on the console (by another process) reaches the
   * agent's store, with no run. */
  ms = vt_proc_mark (lab->serve);
  policy = lab_policy (lab, "proxy.lab", FALSE);
  vt_cli_ok (lab->console, "policy", "apply", policy, NULL);
  ms = vt_proc_wait (lab->serve, ms, "settings of device 'dev-s' published");
  r1 = wait_applied (agent, &ma);
  general = agent_general (agent_dir);
  g_assert_cmpstr (proxy_address (general), ==, "proxy.lab");
  g_clear_pointer (&general, json_object_unref);

  /* A change that does not touch the device publishes nothing: the next
   * value the agent gets is the very next revision of the bucket. */
  vt_cli_ok (lab->console, "group", "add", "other", NULL);
  ms = vt_proc_wait (lab->serve, ms, "settings of 1 device(s) checked, none changed");
  other = g_build_filename (lab->dir, "other.json", NULL);
  g_assert_true (g_file_set_contents (other,
    "{\"name\":\"Other\",\"group\":\"other\",\"status\":\"active\",\"settings\":{\"general\":"
    "{\"schema_version\":1,\"proxy\":{\"values\":{\"mode\":\"none\"}}}}}", -1, NULL));
  vt_cli_ok (lab->console, "policy", "apply", other, NULL);
  ms = vt_proc_wait (lab->serve, ms, "settings of 1 device(s) checked, none changed");
  g_free (lab_policy (lab, "proxy2.lab", FALSE));
  vt_cli_ok (lab->console, "policy", "apply", policy, NULL);
  r2 = wait_applied (agent, &ma);
  g_assert_cmpuint (r2, ==, r1 + 1);

  /* Password protection turned on by the console guards the device's
   * local commands. */
  g_free (lab_policy (lab, "proxy2.lab", TRUE));
  vt_cli_ok (lab->console, "policy", "apply", policy, NULL);
  wait_applied (agent, &ma);
  g_assert_cmpint (unprotected_check (agent_dir, &err), ==, 1);
  g_assert_nonnull (strstr (err, "no terminal"));
  g_clear_pointer (&err, g_free);
  vt_cli_run (&r, agent_dir, PASSWORD, NULL, "password", "check", "plugins.disable", NULL);
  g_assert_cmpint (r.status, ==, 0);

  /* Turned off by the console: the agent lifts it without the local
   * password, which the local guard alone would ask. */
  g_free (lab_policy (lab, "proxy2.lab", FALSE));
  vt_cli_ok (lab->console, "policy", "apply", policy, NULL);
  r2 = wait_applied (agent, &ma);
  g_assert_cmpint (unprotected_check (agent_dir, NULL), ==, 0);

  /* Started again for another root, the agent makes `self` anew, which
   * loses its local settings; the key's current value (read once at
   * start, since the consumer has nothing new) puts them back. */
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
  ma = 0;
  agent = vt_lab_agent_start (agent_dir, root2, NULL);
  g_assert_cmpuint (wait_applied (agent, &ma), ==, r2);
  general = agent_general (agent_dir);
  g_assert_cmpstr (proxy_address (general), ==, "proxy2.lab");
  g_clear_pointer (&general, json_object_unref);

  /* On again; then the agent is started again while the broker is down:
   * the device keeps its policy. */
  g_free (lab_policy (lab, "proxy3.lab", TRUE));
  vt_cli_ok (lab->console, "policy", "apply", policy, NULL);
  wait_applied (agent, &ma);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
  vt_proc_stop (lab->broker);
  lab->broker = NULL;
  agent = vt_lab_agent_start (agent_dir, root2, NULL);
  vt_proc_wait (agent, 0, "the broker is not reachable yet");
  g_assert_cmpint (unprotected_check (agent_dir, &err), ==, 1);
  g_assert_nonnull (strstr (err, "no terminal"));
  general = agent_general (agent_dir);
  g_assert_cmpstr (proxy_address (general), ==, "proxy3.lab");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);

  /* The secret travelled, and was printed by nobody. */
  serve_log = vt_proc_log (lab->serve);
  g_assert_null (strstr (serve_log, PROXY_SECRET));
  g_assert_null (strstr (serve_log, "$pbkdf2"));
}

/* ---- the broker's permissions -------------------------------------- */

typedef struct {
  GMutex   lock;
  GCond    cond;
  GString *errors;
} Errors;

static void
on_error (natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
  Errors *e = closure;
  const char *text = NULL;

  natsConnection_GetLastError (nc, &text);
  g_mutex_lock (&e->lock);
  g_string_append_printf (e->errors, "%s\n", text ? text : natsStatus_GetText (err));
  g_cond_broadcast (&e->cond);
  g_mutex_unlock (&e->lock);
}

static void
wait_error (Errors *e, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + VT_PROC_WAIT_S * G_USEC_PER_SEC;

  g_mutex_lock (&e->lock);
  while (strstr (e->errors->str, needle) == NULL)
    if (!g_cond_wait_until (&e->cond, &e->lock, deadline))
      g_error ("the broker reported no \"%s\" (it said: %s)", needle, e->errors->str);
  g_mutex_unlock (&e->lock);
}

/* Whether the bucket has a value for @device, asked as the console. */
static gboolean
console_has_key (VtLab *lab, const char *url, const char *device)
{
  g_autofree char *fleet = g_build_filename (lab->console, "fleet", NULL);
  g_autofree char *ca = g_build_filename (fleet, "ca.crt", NULL);
  g_autofree char *crt = g_build_filename (fleet, "console.crt", NULL);
  g_autofree char *key = g_build_filename (fleet, "console.key", NULL);
  g_autoptr (GError) error = NULL;
  natsOptions *opts = vigil_fleet_options_new (url, ca, crt, key, NULL, &error);
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  kvStore *kv = NULL;
  kvEntry *entry = NULL;
  natsStatus s;

  g_assert_no_error (error);
  g_assert_cmpint (natsConnection_Connect (&nc, opts), ==, NATS_OK);
  g_assert_cmpint (natsConnection_JetStream (&js, nc, NULL), ==, NATS_OK);
  g_assert_cmpint (js_KeyValue (&kv, js, VIGIL_FLEET_SETTINGS_BUCKET), ==, NATS_OK);
  s = kvStore_Get (&entry, kv, device);
  g_assert_true (s == NATS_OK || s == NATS_NOT_FOUND);
  kvEntry_Destroy (entry);
  kvStore_Destroy (kv);
  jsCtx_Destroy (js);
  natsConnection_Destroy (nc);
  natsOptions_Destroy (opts);
  return s == NATS_OK;
}

/* A device's own credentials (from its agent's folder) read its own key
 * and not another device's, which the console has published. */
static void
test_isolation (VtLab *lab, gconstpointer data)
{
  g_autofree char *dir_a = vt_lab_enroll (lab, "dev-a", NULL);
  g_autofree char *ca = g_build_filename (dir_a, "agent", "ca.crt", NULL);
  g_autofree char *crt = g_build_filename (dir_a, "agent", "device.crt", NULL);
  g_autofree char *key = g_build_filename (dir_a, "agent", "device.key", NULL);
  g_autofree char *own = vigil_fleet_subject_settings ("dev-a");
  g_autoptr (JsonObject) identity = NULL;
  g_autoptr (GError) error = NULL;
  Errors e = { .errors = g_string_new (NULL) };
  gsize ms;
  const char *forbidden[] = {
    "$JS.API.DIRECT.GET." VIGIL_FLEET_STREAM_SETTINGS ".$KV." VIGIL_FLEET_SETTINGS_BUCKET
      ".dev-b",
    "$JS.API.CONSUMER.MSG.NEXT." VIGIL_FLEET_STREAM_SETTINGS ".settings-dev-b",
  };
  natsOptions *opts;
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  natsMsg *msg = NULL;
  jsDirectGetMsgOptions dg;

  /* Said once, since the console started. */
  vt_proc_wait (lab->serve, 0, "settings of device 'dev-a' published");
  ms = vt_proc_mark (lab->serve);
  g_free (vt_lab_enroll (lab, "dev-b", NULL));
  vt_proc_wait (lab->serve, ms, "settings of device 'dev-b' published");

  {
    g_autofree char *path = g_build_filename (dir_a, "agent", "agent.json", NULL);
    g_autofree char *text = NULL;
    g_autoptr (JsonNode) node = NULL;

    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    node = json_from_string (text, NULL);
    identity = json_object_ref (json_node_get_object (node));
  }
  g_mutex_init (&e.lock);
  g_cond_init (&e.cond);
  opts = vigil_fleet_options_new (json_object_get_string_member (identity, "broker"), ca, crt,
                                  key, "dev-a", &error);
  g_assert_no_error (error);
  natsOptions_SetErrorHandler (opts, on_error, &e);
  g_assert_cmpint (natsConnection_Connect (&nc, opts), ==, NATS_OK);
  g_assert_cmpint (natsConnection_JetStream (&js, nc, NULL), ==, NATS_OK);

  /* Its own: the console's value, naming it. */
  jsDirectGetMsgOptions_Init (&dg);
  dg.LastBySubject = own;
  g_assert_cmpint (js_DirectGetMsg (&msg, js, VIGIL_FLEET_STREAM_SETTINGS, NULL, &dg), ==,
                   NATS_OK);
  g_assert_true (g_str_has_prefix (natsMsg_GetData (msg), "{\"device\":\"dev-a\",\"settings\":{"));
  natsMsg_Destroy (msg);

  /* Another device's: refused by the broker, whichever way it asks. */
  for (gsize i = 0; i < G_N_ELEMENTS (forbidden); i++)
    {
      g_autofree char *needle = g_strdup_printf ("Permissions Violation for Publish to \"%s\"",
                                                 forbidden[i]);

      natsConnection_PublishRequestString (nc, forbidden[i], "vigil.inbox.dev-a.x", "");
      wait_error (&e, needle);
    }

  jsCtx_Destroy (js);
  natsConnection_Destroy (nc);
  natsOptions_Destroy (opts);

  /* Revoked, its key (secrets and all) goes from the broker. */
  g_assert_true (console_has_key (lab, json_object_get_string_member (identity, "broker"),
                                  "dev-b"));
  vt_cli_ok (lab->console, "device", "revoke", "dev-b", NULL);
  g_assert_false (console_has_key (lab, json_object_get_string_member (identity, "broker"),
                                   "dev-b"));
  g_string_free (e.errors, TRUE);
  g_mutex_clear (&e.lock);
  g_cond_clear (&e.cond);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  vigil_fleet_process_init ();
  g_test_add ("/fleet/settings/follow", VtLab, NULL, vt_lab_setup, test_follow,
              vt_lab_teardown);
  g_test_add ("/fleet/settings/isolation", VtLab, NULL, vt_lab_setup, test_isolation,
              vt_lab_teardown);
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
