/* SPDX-License-Identifier: MIT */
/*
 * greeter: a small third-party Vigil plugin, written as a template.
 *
 * It shows each kind of contribution a plugin can make:
 *   - a policy section, `greeter`, with one settings group and a
 *     cross-field validate callback;
 *   - a task type, `greeter.greet`, that runs on a worker thread, reads the
 *     device's effective settings, reports progress and sets a JSON result;
 *   - an event handler for `sandbox.threat_detected` that counts detections
 *     per device in the host's document store;
 *   - a command, `vigil greeter hello NAME...` / `vigil greeter stats`.
 *
 * It needs <vigil/plugin.h> and Vigil's helper library for plugins
 * (<vigil/util/NAME.h>, a static library with hidden symbols): settings read
 * with the defaults their schema declares, typed JSON getters and command
 * errors. The plugin links no host symbol and reaches the host only through
 * the VigilHostApi table it gets in init. Build: see meson.build
 * (pkg-config vigil-plugin-util). Guide: docs/plugin-guide.md in the Vigil
 * sources.
 */
#include <stdio.h>
#include <string.h>
#include <vigil/plugin.h>
#include <vigil/util/command.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>
#include <vigil/util/text.h>

/* The host API and our handle, kept from init. Both stay valid for the life
 * of the process (plugins are never unloaded), and the API table is
 * read-only, so worker threads may use them too. */
static const VigilHostApi *api;
static VigilPlugin *self;

/* ------------------------------------------------------------------ */
/* The policy section                                                  */
/* ------------------------------------------------------------------ */

/* Registration data is static: the host keeps pointers to the strings. */
static const VigilField greeting_fields[] = {
  { .key = "salutation", .type = VIGIL_FIELD_STRING, .default_json = "\"Hello\"",
    .description = "The word greetings start with." },
  { .key = "shout", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Greet in capital letters." },
  { .key = "max_names", .type = VIGIL_FIELD_INT, .default_json = "3",
    .has_range = TRUE, .min = 1, .max = 10,
    .description = "How many names one greet task may greet." },
};

static const VigilSettingsGroup groups[] = {
  /* VIGIL_ARRAY passes the pointer, the count and sizeof one element, so a
   * host of another minor version can read the array correctly. */
  { .id = "greeting", .title = "Greeting", .fields = VIGIL_ARRAY (greeting_fields) },
};

/* The section, defined below with its validate callback: the settings
 * getters take their defaults from it, so no default is written twice. */
static const VigilSection section;

/* Cross-field rules; the host already checked types, ranges and unknown
 * keys, and filled in defaults. Runs on the main thread. */
static void
greeter_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  g_autofree char *salutation = vigil_settings_dup_string (&section, values, "greeting",
                                                           "salutation");

  if (vigil_settings_get_bool (&section, values, "greeting", "shout") &&
      (salutation == NULL || *salutation == '\0'))
    api->report_problem (report, VIGIL_SEVERITY_ERROR, "greeting.salutation",
                         "must not be empty when shout is on");
}

static const VigilSection section = {
  .id = "greeter",
  .title = "Greeter",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (groups),
  .validate = greeter_validate,
};

/* ------------------------------------------------------------------ */
/* The task type                                                       */
/* ------------------------------------------------------------------ */

static const VigilField greet_params[] = {
  { .key = "names", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .flags = VIGIL_FIELD_FLAG_REQUIRED, .description = "Who to greet." },
};

/* (transfer full) "Hello, alice!" per the section's @settings (NULL: the
 * schema's defaults). */
static char *
make_greeting (JsonObject *settings, const char *name)
{
  g_autofree char *salutation = vigil_settings_dup_string (&section, settings, "greeting",
                                                           "salutation");
  g_autofree char *text = g_strdup_printf ("%s, %s!", salutation, name);

  if (vigil_settings_get_bool (&section, settings, "greeting", "shout"))
    return g_utf8_strup (text, -1);
  return g_steal_pointer (&text);
}

/* Runs on a worker thread: only our own locals and the host API here. */
static gboolean
greet_run (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
           gpointer user_data, GError **error)
{
  const char *device = api->task_device_id (run);
  g_autoptr(JsonObject) settings = api->get_effective_settings (self, device, "greeter",
                                                                error);
  JsonArray *names = vigil_json_get_array (params, "names");
  g_autoptr(JsonArray) greetings = json_array_new ();
  g_autoptr(JsonObject) result = json_object_new ();
  gint64 max_names;
  guint n;

  if (settings == NULL)
    return FALSE;
  max_names = vigil_settings_get_int (&section, settings, "greeting", "max_names", NULL);
  n = names != NULL ? json_array_get_length (names) : 0;
  if (n > (guint) max_names)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%u names, but the policy allows at most %" G_GINT64_FORMAT, n,
                   max_names);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      /* Cooperative cancellation: check between units of work. */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      json_array_add_string_element (greetings,
          make_greeting (settings, json_array_get_string_element (names, i)));
      api->task_progress (run, (i + 1.0) / n, json_array_get_string_element (names, i));
    }
  json_object_set_array_member (result, "greetings", json_array_ref (greetings));
  /* task_set_result copies what it needs; we still own @node. */
  {
    g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), result);
    api->task_set_result (run, node);
  }
  return TRUE;
}

static const VigilTaskType greet_type = {
  .id = "greeter.greet",
  .title = "Greet people",
  .description = "Greets each name with the device's greeting settings.",
  .params = VIGIL_ARRAY (greet_params),
  .run = greet_run,
};

/* ------------------------------------------------------------------ */
/* The event handler                                                   */
/* ------------------------------------------------------------------ */

/* Counts sandbox detections per device in the host's document store, which
 * survives restarts. Runs on the main thread. */
static void
on_threat (const VigilEvent *event, gpointer user_data)
{
  const char *device = event->device_id ? event->device_id : "(host)";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) old = api->store_get (self, "threats", device, &error);
  gint64 count = old != NULL ? json_node_get_int (old) : 0;
  g_autoptr(JsonNode) updated = json_node_init_int (json_node_alloc (), count + 1);

  if (!api->store_put (self, "threats", device, updated, &error))
    api->log (self, G_LOG_LEVEL_WARNING, "cannot count a detection: %s", error->message);
  else
    api->log (self, G_LOG_LEVEL_INFO, "detection %" G_GINT64_FORMAT " on %s: %s",
              count + 1, device,
              vigil_json_get_string (event->payload, "threat") ?: "?");
}

static const VigilEventHandler threat_handler = {
  .event_type = "sandbox.threat_detected",
  .handler = on_threat,
};

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */

static int
print_stats (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) counts = api->store_list (self, "threats", &error);
  g_autoptr(GList) devices = NULL;

  if (counts == NULL)
    return vigil_command_fail ("greeter stats", "%s", error->message);
  devices = json_object_get_members (counts);
  for (GList *d = devices; d != NULL; d = d->next)
    vigil_print ("%s: %" G_GINT64_FORMAT " detection(s)\n", (const char *) d->data,
                 json_object_get_int_member (counts, d->data));
  if (devices == NULL)
    vigil_print ("no detections counted yet\n");
  return VIGIL_EXIT_OK;
}

static const char usage[] = "Usage: vigil greeter hello NAME...\n       vigil greeter stats\n";

/* `vigil greeter hello NAME...` greets with the section's defaults;
 * `vigil greeter stats` prints the detection counts. */
static int
greeter_command (VigilPlugin *plugin, int argc, char **argv, gpointer user_data)
{
  /* parse_strv frees the arguments it removes: parse a copy, the host
   * frees @argv. It handles --help and refuses unknown options. */
  g_auto(GStrv) args = g_strdupv (argv);
  int code;

  if (!vigil_command_parse ("greeter", usage, NULL, NULL, &args, &code))
    return code;
  argc = (int) g_strv_length (args);
  if (argc >= 3 && g_str_equal (args[1], "hello"))
    {
      for (int i = 2; i < argc; i++)
        {
          g_autofree char *text = make_greeting (NULL, args[i]);
          vigil_print ("%s\n", text);
        }
      return VIGIL_EXIT_OK;
    }
  if (argc == 2 && g_str_equal (args[1], "stats"))
    return print_stats ();
  return vigil_command_usage_error ("greeter", usage, "expected hello NAME... or stats");
}

static const VigilCommand command = {
  .name = "greeter",
  .summary = "Greet people; show sandbox detection counts",
  .run = greeter_command,
};

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

/* Registers everything. Each register_* gets sizeof the struct as this
 * plugin knows it; a failure (a duplicate id, a malformed field) makes the
 * host refuse the whole plugin, so just pass the error up. */
static gboolean
greeter_init (const VigilHostApi *host_api, VigilPlugin *plugin, GError **error)
{
  api = host_api;
  self = plugin;
  return api->register_section (self, &section, sizeof section, error) &&
         api->register_task_type (self, &greet_type, sizeof greet_type, error) &&
         api->register_event_handler (self, &threat_handler, sizeof threat_handler, error) &&
         api->register_command (self, &command, sizeof command, error);
}

static void
greeter_shutdown (VigilPlugin *plugin)
{
  /* Nothing to free: everything above is static. A plugin with threads or
   * open files stops and closes them here. */
}

/* The descriptor and the one exported symbol, vigil_plugin_query_v1. The id
 * must equal the file name without ".so". */
VIGIL_PLUGIN_DEFINE ("greeter", "Greeter", "1.0.0", "MIT",
                     "Greets people and counts sandbox detections (an example).",
                     greeter_init, greeter_shutdown)
