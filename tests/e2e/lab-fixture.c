/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The e2e lab fixture (see lab-fixture.h). Setup goes through the real
 * `vigil` CLI (VIGIL_CLI) and the lab script examples/lab/lab.sh
 * (VIGIL_SOURCE_DIR); detections and runs go through libvigil-host in this
 * process so that the clock can be faked.
 */
#include "lab-fixture.h"
#include "vt-cli.h"

#include <stdarg.h>

static const char *
source_dir (void)
{
  const char *dir = g_getenv ("VIGIL_SOURCE_DIR");

  g_assert_nonnull (dir);
  return dir;
}

static GPtrArray *
collect_args (const char *first, va_list ap)
{
  GPtrArray *args = g_ptr_array_new ();

  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  return args;
}

static char *
run_cli (Lab *lab, gboolean json, int *status, GPtrArray *args, char **err_out)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  VtCli r = { 0 };

  g_ptr_array_add (argv, "--state-dir");
  g_ptr_array_add (argv, lab->state);
  for (guint i = 0; i < args->len; i++)
    g_ptr_array_add (argv, args->pdata[i]);
  /* After the command, where plugin commands see it too. */
  if (json)
    g_ptr_array_add (argv, "--json");
  g_ptr_array_add (argv, NULL);
  vt_cli_spawn (&r, NULL, (const char *const *) argv->pdata);
  *status = r.status;
  *err_out = r.err;
  return r.out;
}

char *
lab_cli (Lab *lab, int *status, const char *first_arg, ...)
{
  va_list ap;
  g_autoptr (GPtrArray) args = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;

  va_start (ap, first_arg);
  args = collect_args (first_arg, ap);
  va_end (ap);
  out = run_cli (lab, FALSE, status, args, &err);
  return g_strconcat (out, err, NULL);
}

JsonNode *
lab_cli_json (Lab *lab, int status, const char *first_arg, ...)
{
  va_list ap;
  g_autoptr (GPtrArray) args = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;
  int got;

  va_start (ap, first_arg);
  args = collect_args (first_arg, ap);
  va_end (ap);
  out = run_cli (lab, TRUE, &got, args, &err);
  if (got != status)
    g_error ("vigil %s: exit %d, expected %d\n%s%s", first_arg, got, status, out, err);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static void
cli_ok (Lab *lab, const char *first_arg, ...)
{
  va_list ap;
  g_autoptr (GPtrArray) args = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out = NULL;
  int status;

  va_start (ap, first_arg);
  args = collect_args (first_arg, ap);
  va_end (ap);
  out = run_cli (lab, FALSE, &status, args, &err);
  if (status != 0)
    g_error ("vigil %s failed (%d):\n%s%s", first_arg, status, out, err);
}

/* ---- policies ------------------------------------------------------------ */

static JsonObject *
read_object (const char *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static JsonNode *
parse_value (const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

JsonObject *
lab_policy_with (const char *first_key, ...)
{
  g_autofree char *path = g_build_filename (source_dir (), "examples/policies/lab-response.json", NULL);
  JsonObject *policy = read_object (path);
  JsonObject *section = json_object_get_object_member (
      json_object_get_object_member (policy, "settings"), "sandbox_response");
  va_list ap;

  va_start (ap, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (ap, const char *))
    {
      const char *value = va_arg (ap, const char *);
      g_auto (GStrv) parts = g_strsplit (key, ".", 2);
      JsonObject *group = json_object_get_object_member (section, parts[0]);

      if (group == NULL)
        {
          group = json_object_new ();
          json_object_set_boolean_member (group, "locked", TRUE);
          json_object_set_object_member (group, "values", json_object_new ());
          json_object_set_object_member (section, parts[0], group);
        }
      json_object_set_member (json_object_get_object_member (group, "values"), parts[1],
                              parse_value (value));
    }
  va_end (ap);
  return policy;
}

static void
apply_policy (Lab *lab, JsonObject *policy)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), policy);
  g_autofree char *text = json_to_string (node, TRUE);
  g_autofree char *path = g_build_filename (lab->dir, "policy.json", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  cli_ok (lab, "policy", "apply", path, NULL);
}

/* ---- setup --------------------------------------------------------------- */

static void
make_roots (Lab *lab)
{
  g_autofree char *script = g_strdup_printf (
      "set -e; . '%s/examples/lab/lab.sh'; lab_make_roots '%s'; lab_epp_policy '%s'",
      source_dir (), lab->dir, lab->dir);
  const char *argv[] = { "bash", "-c", script, NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
add_inventory (Lab *lab)
{
  const char *groups[][3] = { { "office", "root", "Office" }, { "sales", "office", "Sales" },
                              { "engineering", "office", "Engineering" } };
  const char *devices[][2] = { { "pc-alice", "sales" }, { "pc-bob", "sales" },
                               { "pc-carol", "sales" }, { "pc-dave", "sales" },
                               { "build-1", "engineering" } };

  for (guint i = 0; i < G_N_ELEMENTS (groups); i++)
    cli_ok (lab, "group", "add", groups[i][0], "--parent", groups[i][1], "--name", groups[i][2], NULL);
  for (guint i = 0; i < G_N_ELEMENTS (devices); i++)
    {
      g_autofree char *root = g_build_filename (lab->dir, "devices", devices[i][0], NULL);
      cli_ok (lab, "device", "add", devices[i][0], "--group", devices[i][1], "--root", root, NULL);
    }
}

void
lab_setup (Lab *lab, JsonObject *policy)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) dflt = NULL;
  g_autofree char *epp = NULL;

  memset (lab, 0, sizeof *lab);
  lab->dir = g_dir_make_tmp ("vigil-e2e-XXXXXX", &error);
  g_assert_no_error (error);
  lab->state = g_build_filename (lab->dir, "state", NULL);
  lab_set_time (lab, 0, 10, 0);
  make_roots (lab);
  add_inventory (lab);
  if (policy == NULL)
    policy = dflt = lab_policy_with (NULL);
  apply_policy (lab, policy);
  epp = g_build_filename (lab->dir, "lab-epp.json", NULL);
  cli_ok (lab, "policy", "apply", epp, NULL);
}

void
lab_teardown (Lab *lab)
{
  lab_close (lab);
  vt_rm_rf (lab->dir);
  g_free (lab->dir);
  g_free (lab->state);
}

/* ---- the in-process host --------------------------------------------------- */

static gint64
fake_clock (gpointer data)
{
  return ((Lab *) data)->now_us;
}

void
lab_set_time (Lab *lab, int day, int hour, int minute)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) t = g_date_time_new_utc (g_date_time_get_year (now),
                                                 g_date_time_get_month (now),
                                                 g_date_time_get_day_of_month (now),
                                                 hour, minute, 0);

  lab->now_us = (g_date_time_to_unix (t) + day * 86400) * G_USEC_PER_SEC;
}

void
lab_open (Lab *lab)
{
  VigilHostOptions options = { sizeof options, lab->state, NULL, NULL, TRUE };
  g_autoptr (GError) error = NULL;

  if (lab->host != NULL)
    return;
  lab->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_set_clock (lab->host, fake_clock, lab);
  vigil_host_load_plugins (lab->host);
}

void
lab_close (Lab *lab)
{
  g_clear_pointer (&lab->host, vigil_host_free);
}

guint
lab_run (Lab *lab)
{
  lab_open (lab);
  return vigil_host_run_until_idle (lab->host, NULL);
}

char *
lab_detect (Lab *lab, const char *device, const char *first_key, ...)
{
  g_autofree char *path = g_build_filename (source_dir (), "examples/lab/detection.json", NULL);
  g_autoptr (JsonObject) payload = read_object (path);
  g_autoptr (GError) error = NULL;
  char *id;
  va_list ap;

  va_start (ap, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (ap, const char *))
    json_object_set_member (payload, key, parse_value (va_arg (ap, const char *)));
  va_end (ap);
  lab_open (lab);
  id = vigil_host_emit_event (lab->host, "test", "sandbox.threat_detected", device, 1,
                              payload, &error);
  g_assert_no_error (error);
  lab_run (lab);
  return id;
}

/* ---- inspection -------------------------------------------------------------- */

static JsonArray *
filter_type (JsonNode *list, const char *type)
{
  JsonArray *all = json_node_get_array (list);
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *o = json_array_get_object_element (all, i);
      if (type == NULL || g_strcmp0 (json_object_get_string_member (o, "type"), type) == 0)
        json_array_add_object_element (out, json_object_ref (o));
    }
  return out;
}

JsonArray *
lab_events (Lab *lab, const char *type)
{
  g_autoptr (JsonNode) list = lab_cli_json (lab, 0, "events", "--limit", "0", NULL);

  return filter_type (list, type);
}

JsonArray *
lab_tasks (Lab *lab, const char *type)
{
  g_autoptr (JsonNode) list = lab_cli_json (lab, 0, "task", "list", NULL);

  return filter_type (list, type);
}

JsonArray *
lab_runs (Lab *lab, const char *task_id)
{
  g_autoptr (JsonNode) runs = lab_cli_json (lab, 0, "task", "results", task_id, NULL);

  return json_array_ref (json_node_get_array (runs));
}

guint
lab_count_events (Lab *lab, const char *type, const char *device, const char *key,
                  const char *value)
{
  g_autoptr (JsonArray) events = lab_events (lab, type);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      JsonObject *p = json_object_get_object_member (e, "payload");

      if (device != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (e, "device", NULL), device) != 0)
        continue;
      if (key != NULL
          && g_strcmp0 (json_object_get_string_member_with_default (p, key, NULL), value) != 0)
        continue;
      n++;
    }
  return n;
}

gboolean
lab_file_exists (Lab *lab, const char *device, const char *path)
{
  g_autofree char *p = g_build_filename (lab->dir, "devices", device, path, NULL);

  return g_file_test (p, G_FILE_TEST_EXISTS);
}

JsonObject *
lab_response (Lab *lab, const char *event_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = NULL;

  lab_open (lab);
  doc = vigil_host_plugin_document (lab->host, "sandbox-response", "responses", event_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (doc);
  return json_object_ref (json_node_get_object (doc));
}
