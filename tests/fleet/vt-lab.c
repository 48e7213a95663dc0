/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fault tests' lab of real `vigil` processes (see vt-lab.h): the
 * console's commands run as child processes like an admin's, the broker,
 * the console and the agents as long-running processes (vt-proc.h).
 */
#include "vt-lab.h"

#include <string.h>

static JsonNode *
run_json_v (const char *state, va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_auto (VtCli) r = { 0 };
  const char *arg;
  JsonNode *node;

  g_ptr_array_add (argv, (gpointer) "--json");
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);
  vt_cli_runv (&r, state, NULL, NULL, (const char *const *) argv->pdata);
  if (r.status != 0)
    g_error ("vigil %s exited %d: %s", (char *) argv->pdata[1], r.status, r.err);
  node = json_from_string (r.out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

JsonObject *
vt_lab_json (const char *state, ...)
{
  g_autoptr (JsonNode) node = NULL;
  va_list ap;

  va_start (ap, state);
  node = run_json_v (state, ap);
  va_end (ap);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

JsonArray *
vt_lab_json_array (const char *state, ...)
{
  g_autoptr (JsonNode) node = NULL;
  va_list ap;

  va_start (ap, state);
  node = run_json_v (state, ap);
  va_end (ap);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  return json_array_ref (json_node_get_array (node));
}

VtProc *
vt_lab_broker_start (VtLab *lab)
{
  const char *argv[] = { "--state-dir", lab->console, "fleet", "broker", "run", NULL };
  VtProc *p = vt_proc_start ("broker", NULL, argv);

  vt_proc_wait (p, 0, "Server is ready");
  return p;
}

VtProc *
vt_lab_serve_start (VtLab *lab)
{
  g_autofree char *sock = g_build_filename (lab->dir, "serve.sock", NULL);
  const char *argv[] = { "--state-dir", lab->console, "serve", "--socket", sock, NULL };
  VtProc *p = vt_proc_start ("serve", NULL, argv);

  vt_proc_wait (p, 0, "fleet: connected to the broker");
  return p;
}

void
vt_lab_setup (VtLab *lab, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) fleet = NULL;

  lab->dir = g_dir_make_tmp ("vigil-fleet-faults-XXXXXX", &error);
  g_assert_no_error (error);
  lab->console = g_build_filename (lab->dir, "console", NULL);
  fleet = vt_lab_json (lab->console, "fleet", "init", "--port", "0", NULL);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (fleet, "broker_url"),
                                   "tls://127.0.0.1:"));
  vt_cli_ok (lab->console, "group", "add", "lab", NULL);
  lab->broker = vt_lab_broker_start (lab);
  lab->serve = vt_lab_serve_start (lab);
}

void
vt_lab_teardown (VtLab *lab, gconstpointer data)
{
  if (lab->serve)
    g_assert_cmpint (vt_proc_stop (lab->serve), ==, 0);
  if (lab->broker)
    vt_proc_stop (lab->broker);
  vt_rm_rf (lab->dir);
  g_free (lab->dir);
  g_free (lab->console);
}

char *
vt_lab_enroll (VtLab *lab, const char *id, const char *const *env)
{
  g_autofree char *dir = g_build_filename (lab->dir, id, NULL);
  g_autofree char *file = g_strdup_printf ("%s/%s.enroll", lab->dir, id);
  g_autoptr (JsonObject) o = NULL;
  g_auto (VtCli) r = { 0 };
  const char *argv[] = { "agent", "enroll", file, "--state-dir", dir, NULL };
  VtCliSpawn how = { .env = env };
  gsize mark = vt_proc_mark (lab->broker);

  o = vt_lab_json (lab->console, "device", "enroll", id, "--group", "lab", "--output", file, NULL);
  g_assert_true (json_object_get_boolean_member (o, "broker_reloaded"));
  /* The bootstrap identity is let in before the agent dials. */
  vt_proc_wait (lab->broker, mark, VT_LAB_RELOADED);
  vt_cli_spawn (&r, &how, argv);
  if (r.status != 0)
    g_error ("agent enroll %s exited %d: %s", id, r.status, r.err);
  return g_steal_pointer (&dir);
}

char *
vt_lab_device_root (VtLab *lab, const char *id)
{
  char *root = g_strdup_printf ("%s/%s-root", lab->dir, id);

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  return root;
}

VtProc *
vt_lab_agent_start (const char *state, const char *root, const char *const *env)
{
  const char *argv[] = { "agent", "--state-dir", state, "--root", root, NULL };
  return vt_proc_start ("agent", env, argv);
}

char *
vt_lab_task (VtLab *lab, const char *type, const char *target, const char *params_json,
             const char *schedule_json)
{
  static guint made;
  g_autofree char *params = g_strdup_printf ("%s/params-%u.json", lab->dir, ++made);
  g_auto (GStrv) t = g_strsplit (target, ":", 2);
  g_autofree char *flag = g_strconcat ("--", t[0], NULL);
  g_autoptr (JsonObject) task = NULL;

  g_assert_true (g_file_set_contents (params, params_json, -1, NULL));
  task = vt_lab_json (lab->console, "task", "create", "--type", type, flag, t[1],
                      "--params", params, "--schedule",
                      schedule_json ? schedule_json : "{\"kind\": \"manual\"}", NULL);
  return g_strdup (json_object_get_string_member (task, "id"));
}

JsonArray *
vt_lab_runs (VtLab *lab, const char *task)
{
  g_autoptr (JsonObject) shown = vt_lab_json (lab->console, "task", "show", task, NULL);
  return json_array_ref (json_object_get_array_member (shown, "runs"));
}

JsonArray *
vt_lab_results (VtLab *lab, const char *task)
{
  return vt_lab_json_array (lab->console, "task", "results", task, NULL);
}

char *
vt_lab_run_line (gint64 run, const char *id, const char *state)
{
  return g_strdup_printf ("run %" G_GINT64_FORMAT " of device '%s' %s\n", run, id, state);
}

guint
vt_lab_count (VtProc *proc, const char *needle)
{
  g_autofree char *log = vt_proc_log (proc);
  guint n = 0;

  for (const char *p = log; (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

guint
vt_lab_events (VtLab *lab, const char *type, const char *task, const char *device)
{
  g_autoptr (JsonArray) events = vt_lab_json_array (lab->console, "events", "--type", type,
                                                    "--limit", "0", NULL);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      JsonObject *payload = json_object_get_object_member (e, "payload");

      if (g_strcmp0 (json_object_get_string_member_with_default (payload, "task_id", NULL),
                     task) == 0
          && (device == NULL
              || g_strcmp0 (json_object_get_string_member_with_default (payload, "device", NULL),
                            device) == 0))
        n++;
    }
  return n;
}

JsonNode *
vt_lab_json_node (const char *state, ...)
{
  JsonNode *node;
  va_list ap;

  va_start (ap, state);
  node = run_json_v (state, ap);
  va_end (ap);
  return node;
}

char *
vt_lab_faketime_lib (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/usr/lib", 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *lib = g_build_filename ("/usr/lib", name, "faketime", "libfaketime.so.1",
                                               NULL);
      if (g_file_test (lib, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&lib);
    }
  g_error ("libfaketime.so.1 not found: install faketime (scripts/deps.sh)");
  return NULL;
}
