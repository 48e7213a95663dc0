/* SPDX-License-Identifier: MIT */
/*
 * A small application embedding the Vigil host through libvigil-host's
 * public API only (docs/embedding.md): it opens a state folder, loads the
 * installed plugins, adds a group and a device whose file system is a
 * folder, applies a policy, subscribes to events and task-run ends, creates
 * an ioc.scan of the device looking for a file named evil.exe, runs it to
 * the end and prints what happened. Exit code 0 when the scan completed and
 * found the file, 1 when it did not, 2 on an error.
 *
 *   embed STATE_DIR DEVICE_ROOT [PLUGIN_DIR]
 */
#include <vigil/vigil-host.h>

#include <stdio.h>

#ifndef VIGIL_HOST_VERSION_MINOR
#error "this example needs libvigil-host 1.1 or later"
#endif

#define IOC_XML \
  "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" \
  "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"evil-1\">\n" \
  "<metadata><short_description>Evil dropper</short_description></metadata>\n" \
  "<criteria><Indicator operator=\"OR\" id=\"i1\">\n" \
  "  <IndicatorItem id=\"i2\" condition=\"is\">\n" \
  "    <Context document=\"FileItem\" search=\"FileItem/FileName\" type=\"mir\"/>\n" \
  "    <Content type=\"string\">evil.exe</Content></IndicatorItem>\n" \
  "</Indicator></criteria>\n<parameters/>\n</OpenIOC>\n"

#define POLICY \
  "{\"name\": \"Embedded lab\", \"group\": \"lab\", \"status\": \"active\"," \
  " \"settings\": {\"ioc_scan\": {\"schema_version\": 1," \
  "   \"limits\": {\"locked\": true, \"values\": {\"max_ioc_file_kb\": 1024}}}}}"

static int
fail (const char *what, GError *error)
{
  fprintf (stderr, "embed: %s: %s\n", what, error ? error->message : "failed");
  return 2;
}

/* Subscription callbacks run on the main context, never inside a host
 * call: here, while main() drains the context. */
static void
on_event (VigilHost *host, JsonObject *event, gpointer user_data)
{
  JsonNode *device = json_object_get_member (event, "device");

  printf ("event: %s on %s\n", json_object_get_string_member (event, "type"),
          JSON_NODE_HOLDS_NULL (device) ? "-" : json_node_get_string (device));
}

static void
on_run_end (VigilHost *host, JsonObject *run, gpointer user_data)
{
  printf ("run ended: task %s (%s) on %s: %s\n", json_object_get_string_member (run, "task_id"),
          json_object_get_string_member (run, "type"),
          json_object_get_string_member (run, "device"),
          json_object_get_string_member (run, "state"));
}

static JsonObject *
scan_params (void)
{
  JsonObject *params = json_object_new ();
  JsonObject *ioc = json_object_new ();
  JsonObject *scope = json_object_new ();
  JsonArray *iocs = json_array_new ();
  JsonArray *paths = json_array_new ();

  json_object_set_string_member (ioc, "name", "evil.ioc");
  json_object_set_string_member (ioc, "xml", IOC_XML);
  json_array_add_object_element (iocs, ioc);
  json_object_set_array_member (params, "iocs", iocs);
  json_object_set_string_member (scope, "kind", "custom");
  json_array_add_string_element (paths, "/");
  json_object_set_array_member (scope, "paths", paths);
  json_object_set_object_member (params, "scope", scope);
  return params;
}

int
main (int argc, char **argv)
{
  const char *plugin_dirs[] = { argc > 3 ? argv[3] : NULL, NULL };
  VigilHostOptions options = { sizeof options };
  g_autoptr (VigilHost) host = NULL;
  g_autoptr (VigilSubscription) events = NULL, runs = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) policy = NULL, params = NULL, origins = NULL, limits = NULL;
  g_autoptr (JsonArray) problems = NULL, done = NULL, results = NULL, plugins = NULL;
  g_autofree char *task_id = NULL;
  VigilTaskSpec spec = { 0 };
  guint found = 0;

  if (argc < 3)
    {
      fprintf (stderr, "usage: embed STATE_DIR DEVICE_ROOT [PLUGIN_DIR]\n");
      return 2;
    }

  /* 1. Open the state folder and load the plugins (the install folder,
   *    VIGIL_PLUGIN_PATH, and PLUGIN_DIR when given). */
  options.state_dir = argv[1];
  options.plugin_dirs = plugin_dirs;
  host = vigil_host_new (&options, &error);
  if (host == NULL)
    return fail ("opening the state folder", error);
  vigil_host_load_plugins (host);
  plugins = vigil_host_plugins (host);
  printf ("host: %s, %u plugin file(s) seen\n", vigil_host_state_dir (host),
          json_array_get_length (plugins));

  /* 2. Subscribe before anything happens. */
  events = vigil_host_subscribe_events (host, NULL, NULL, NULL, on_event, NULL, NULL);
  runs = vigil_host_subscribe_task_runs (host, NULL, NULL, on_run_end, NULL, NULL);

  /* 3. Inventory: a group under root and a device whose files are a folder. */
  if (!vigil_host_add_group (host, "lab", "Lab", NULL, &error)
      || !vigil_host_add_device (host, "pc-1", "Lab PC", "lab", argv[2], &error))
    return fail ("inventory", error);
  printf ("inventory: group lab, device pc-1 (root %s)\n", argv[2]);

  /* 4. A policy for the group; problems come back one by one. */
  policy = vigil_host_parse_policy (POLICY, sizeof POLICY - 1, &problems);
  if (policy == NULL || !vigil_host_apply_policy (host, policy, &problems, NULL, &error))
    {
      for (guint i = 0; problems != NULL && i < json_array_get_length (problems); i++)
        fprintf (stderr, "policy problem: %s: %s\n",
                 json_object_get_string_member (json_array_get_object_element (problems, i), "path"),
                 json_object_get_string_member (json_array_get_object_element (problems, i), "message"));
      return fail ("applying the policy", error);
    }
  limits = vigil_host_effective_settings (host, "pc-1", "ioc_scan", &origins, &error);
  if (limits == NULL)
    return fail ("effective settings", error);
  printf ("policy: applied; ioc_scan.limits.max_ioc_file_kb = %" G_GINT64_FORMAT " [%s]\n",
          json_object_get_int_member (json_object_get_object_member (limits, "limits"),
                                      "max_ioc_file_kb"),
          json_object_get_string_member (json_object_get_object_member (origins, "limits"),
                                         "max_ioc_file_kb"));

  /* 5. A task, run now to its end. */
  params = scan_params ();
  spec.type = "ioc.scan";
  spec.name = "Hunt evil.exe";
  spec.device_id = "pc-1";
  spec.params = params;
  spec.schedule = "{\"kind\": \"manual\"}";
  task_id = vigil_host_create_task (host, "embed-example", &spec, &error);
  if (task_id == NULL)
    return fail ("creating the task", error);
  printf ("task: %s created\n", task_id);
  done = vigil_host_run_task (host, task_id, NULL, NULL, NULL, &error);
  if (done == NULL)
    return fail ("running the task", error);
  for (guint i = 0; i < json_array_get_length (done); i++)
    printf ("task: run #%" G_GINT64_FORMAT " on %s: %s\n",
            json_object_get_int_member (json_array_get_object_element (done, i), "id"),
            json_object_get_string_member (json_array_get_object_element (done, i), "device"),
            json_object_get_string_member (json_array_get_object_element (done, i), "state"));

  /* 6. Results: each object found is a finding of the run. */
  results = vigil_host_task_runs (host, task_id, TRUE, &error);
  if (results == NULL)
    return fail ("reading the results", error);
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonArray *findings = json_object_get_array_member (
          json_array_get_object_element (results, i), "findings");
      for (guint f = 0; findings != NULL && f < json_array_get_length (findings); f++)
        {
          JsonObject *finding = json_array_get_object_element (findings, f);
          printf ("finding: %s\n", json_object_get_string_member_with_default (finding, "path", "?"));
          found++;
        }
    }

  /* 7. What the subscriptions saw, delivered on this thread's context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&events, vigil_host_unsubscribe);
  g_clear_pointer (&runs, vigil_host_unsubscribe);

  if (json_array_get_length (done) == 1 && found > 0 &&
      g_str_equal (json_object_get_string_member (json_array_get_object_element (done, 0), "state"),
                   "completed"))
    {
      printf ("done: the scan completed and found %u object(s)\n", found);
      return 0;
    }
  printf ("done: nothing found\n");
  return 1;
}
