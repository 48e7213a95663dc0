/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil event emit` and `vigil events`: inject one event (payload from a
 * file or stdin, parsed by the same size- and depth-limited parser as the
 * serve socket and inbox), then drive everything it sets off until idle;
 * and list the stored events with filters. Times given to --since are
 * ISO-8601 or relative to the host clock (30m, 2h, 7d). `event emit` exits
 * 1 when a run it set off failed or was cancelled.
 */
#include <stdio.h>
#include <unistd.h>
#include "cli.h"
#include <vigil/util/io.h>

#define DEFAULT_LIMIT 50

/* ---- reading a payload ----------------------------------------------- */

static char *
read_stream_limited (FILE *in, gsize limit, gsize *length, GError **error)
{
  g_autoptr (GString) data = g_string_new (NULL);
  char buffer[8192];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, in)) > 0)
    {
      g_string_append_len (data, buffer, (gssize) n);
      if (data->len > limit)
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                       "stdin: the payload is more than %" G_GSIZE_FORMAT " bytes", limit);
          return NULL;
        }
    }
  *length = data->len;
  return g_string_free (g_steal_pointer (&data), FALSE);
}

JsonObject *
cli_read_payload (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  if (g_str_equal (path, "-"))
    data = read_stream_limited (stdin, VIGIL_HOST_EVENT_MAX_PAYLOAD, &length, error);
  else
    /* Regular files only, bounded: /dev/zero or a FIFO fail at once. */
    data = vigil_file_read_bounded (path, VIGIL_HOST_EVENT_MAX_PAYLOAD, &length, error);
  if (data == NULL)
    return NULL;
  return vigil_host_parse_event_payload (data, (gssize) length,
                                         g_str_equal (path, "-") ? "stdin" : path, error);
}

/* ---- event emit ------------------------------------------------------ */

static void
print_outcome (const char *id, const char *type, const char *device, JsonArray *runs,
               JsonArray *events, gboolean json)
{
  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();

      json_object_set_string_member (o, "event", id);
      json_object_set_array_member (o, "runs", json_array_ref (runs));
      json_object_set_array_member (o, "events", json_array_ref (events));
      vigil_json_print_object (o);
      return;
    }
  vigil_print ("event %s stored: %s%s%s\n", id, type, device ? " on " : "", device ? device : "");
  if (json_array_get_length (runs) > 0)
    vigil_print ("task runs:\n");
  for (guint i = 0; i < json_array_get_length (runs); i++)
    cli_print_run_line (json_array_get_object_element (runs, i));
  /* The first event is the one emitted; show what followed. */
  if (json_array_get_length (events) > 1)
    vigil_print ("events that followed:\n");
  for (guint i = 1; i < json_array_get_length (events); i++)
    cli_print_event_line (json_array_get_object_element (events, i));
}

/* Whether a run the event set off failed or was cancelled: the exit code
 * says so (1), as `vigil task run` does, so a script notices. */
static gboolean
runs_failed (JsonArray *runs)
{
  for (guint i = 0; runs != NULL && i < json_array_get_length (runs); i++)
    {
      const char *state = json_object_get_string_member_with_default (
          json_array_get_object_element (runs, i), "state", "");
      if (g_str_equal (state, "failed") || g_str_equal (state, "cancelled"))
        return TRUE;
    }
  return FALSE;
}

static int
event_emit (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *device = NULL;
  int version = 1;
  gboolean no_run = FALSE, json = globals->json;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "The device that reports it", "D" },
    { "payload-version", 0, 0, G_OPTION_ARG_INT, &version, "Version of the payload layout (1)", "N" },
    { "no-run", 0, 0, G_OPTION_ARG_NONE, &no_run, "Only store and queue the event", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("TYPE [FILE.json|-] - emit an event");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) payload = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (JsonArray) events = NULL;
  g_autofree char *id = NULL;
  gint64 seq, run_id;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return cli_error ("event emit", "%s", error->message), 2;
  if (argc < 2 || argc > 3 || version < 1)
    return cli_error ("event emit", "usage: vigil event emit TYPE [FILE.json|-] --device D "
                      "[--payload-version N] [--no-run]"), 2;
  if (argc == 3 && (payload = cli_read_payload (argv[2], &error)) == NULL)
    return cli_error ("event emit", "%s", error->message), 2;
  if (device != NULL)
    {
      g_autoptr (JsonObject) found = vigil_host_device (host, device, &error);
      if (found == NULL)
        return cli_error ("event emit", "%s", error->message), 2;
    }

  seq = vigil_host_last_event_seq (host);
  run_id = vigil_host_last_run_id (host);
  id = vigil_host_emit_event (host, "cli", argv[1], device, (guint) version, payload, &error);
  if (id == NULL)
    return cli_error ("event emit", "%s", error->message), 2;
  if (!no_run)
    vigil_host_run_until_idle (host, NULL);
  runs = vigil_host_runs_after (host, run_id, NULL);
  events = vigil_host_events_after (host, seq, NULL);
  print_outcome (id, argv[1], device, runs ? runs : json_array_new (),
                 events ? events : json_array_new (), json);
  return runs_failed (runs) ? 1 : 0;
}

static int
event_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  if (argc >= 2 && g_str_equal (argv[1], "emit"))
    return event_emit (host, globals, argc - 1, argv + 1);
  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      vigil_print ("Usage: vigil event emit TYPE [FILE.json|-] [--device D] [--payload-version N]\n"
               "                        [--no-run] [--json]\n"
               "Stores the event (payload: a JSON object from FILE or stdin, {} when none),\n"
               "dispatches it and runs everything it sets off until idle, unless --no-run.\n"
               "Exit status: 0 done, 1 a run it set off failed or was cancelled, 2 error.\n"
               "Run 'vigil event emit --help' for the options.\n");
      return 0;
    }
  cli_error ("event", "usage: vigil event emit TYPE [FILE.json|-] --device D "
             "[--payload-version N] [--no-run]");
  return 2;
}

const CliCommand cli_event = {
  "event", "Emit an event and run what it sets off",
  "event emit TYPE [FILE.json|-] [--device D] [--payload-version N] [--no-run]",
  event_run,
};

/* ---- events ---------------------------------------------------------- */

/* "30m", "2h", "7d", "1w", "45s" before @now, or an ISO-8601 time. */
gboolean
cli_parse_since (const char *text, gint64 now, gint64 *since, GError **error)
{
  static const struct { char unit; gint64 us; } units[] = {
    { 's', G_TIME_SPAN_SECOND }, { 'm', G_TIME_SPAN_MINUTE }, { 'h', G_TIME_SPAN_HOUR },
    { 'd', G_TIME_SPAN_DAY }, { 'w', 7 * G_TIME_SPAN_DAY },
  };
  g_autoptr (GTimeZone) tz = g_time_zone_new_local ();
  g_autoptr (GDateTime) dt = NULL;
  char *end = NULL;
  guint64 amount = g_ascii_strtoull (text, &end, 10);

  for (gsize i = 0; end != text && end[0] != '\0' && end[1] == '\0' && i < G_N_ELEMENTS (units); i++)
    if (end[0] == units[i].unit && amount < 100 * 365 * 86400ULL)
      {
        *since = now - (gint64) amount * units[i].us;
        return TRUE;
      }
  dt = g_date_time_new_from_iso8601 (text, tz);
  if (dt == NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "--since '%s': use an ISO-8601 time (2026-11-22T10:00:00Z) or an age "
                   "such as 30m, 2h, 7d", text);
      return FALSE;
    }
  *since = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

void
cli_print_event_line (JsonObject *event)
{
  g_autoptr (JsonNode) payload = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *time = cli_format_time (json_object_get_int_member (event, "time_us"));
  g_autofree char *text = NULL;
  const char *device = json_object_get_null_member (event, "device")
                       ? "-" : json_object_get_string_member (event, "device");

  json_node_set_object (payload, json_object_get_object_member (event, "payload"));
  text = json_to_string (payload, FALSE);
  if (g_utf8_strlen (text, -1) > 100)
    {
      /* Cut on a character boundary: payloads hold user names and paths. */
      g_autofree char *cut = g_utf8_substring (text, 0, 97);
      g_free (text);
      text = g_strconcat (cut, "...", NULL);
    }
  vigil_print ("  %s  %-28s %-14s %s\n", time, json_object_get_string_member (event, "type"),
           device, text);
}

/* `vigil events` streams: one event at a time from the store to stdout, so
 * that a long log takes the memory of one event (#14). */
static void
print_event_text (VigilHost *host, JsonObject *event, gpointer printed)
{
  cli_print_event_line (event);
  (*(guint *) printed)++;
}

/* The events as one JSON array, printed as vigil_json_print_array() would
 * print it whole: each element indented one level inside "[" and "]". */
static void
print_event_json (VigilHost *host, JsonObject *event, gpointer printed)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), event);
  g_autofree char *text = json_to_string (node, TRUE);
  g_autoptr (GString) out = g_string_sized_new (strlen (text) + 64);

  g_string_append (out, *(guint *) printed == 0 ? "[\n  " : ",\n  ");
  /* JSON strings hold no raw newline: each one starts a line to indent. */
  for (const char *p = text; *p != '\0'; p++)
    {
      g_string_append_c (out, *p);
      if (*p == '\n')
        g_string_append (out, "  ");
    }
  fwrite (out->str, 1, out->len, stdout); /* raw-ok: JSON, escaped by json-glib */
  (*(guint *) printed)++;
}

static int
events_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *since_text = NULL, *type = NULL, *device = NULL;
  int limit = DEFAULT_LIMIT;
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "since", 0, 0, G_OPTION_ARG_STRING, &since_text, "Only events since (ISO-8601, 30m, 2h, 7d)", "WHEN" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &type, "Only this type (or a prefix such as quarantine.*)", "T" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Only events of this device", "D" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N (the newest; 50, 0 for all)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- list stored events");
  g_autoptr (GError) error = NULL;
  guint printed = 0;
  gint64 since = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return cli_error ("events", "%s", error->message), 2;
  if (argc != 1 || limit < 0)
    return cli_error ("events", "usage: vigil events [--since WHEN] [--type T] "
                      "[--device D] [--limit N]"), 2;
  if (since_text && !cli_parse_since (since_text, vigil_host_now (host), &since, &error))
    return cli_error ("events", "%s", error->message), 2;
  if (!vigil_host_events_foreach (host, since, type, device, (guint) limit,
                                  json ? print_event_json : print_event_text, &printed, &error))
    return cli_error ("events", "%s", error->message), 2;
  if (json)
    fputs (printed == 0 ? "[]\n" : "\n]\n", stdout); /* raw-ok: JSON */
  else if (printed == 0)
    vigil_print ("no events\n");
  return 0;
}

const CliCommand cli_events = {
  "events", "List stored events",
  "events [--since ISO8601|30m|2h|7d] [--type T] [--device D] [--limit N]",
  events_run,
};
