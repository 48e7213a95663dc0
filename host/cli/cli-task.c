/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil task create|list|show|run|run-due|cancel|results|delete`: the
 * admin's view of tasks. Output is readable by default and JSON with
 * --json; `task run` draws a progress line when stdout is a terminal.
 * Exit codes: 0 done, 1 a run failed or was cancelled, 2 usage or error.
 */
#include <stdio.h>
#include <unistd.h>
#include <glib-unix.h>
#include "cli.h"

#define USAGE "task create|list|show ID|run ID|run-due|cancel ID|results ID|delete ID"
#define TASK_HELP \
  "Usage: vigil task COMMAND [--json] ...\n" \
  "  create --type T (--device D | --group G [--exclude D|G]...) [--params FILE.json]\n" \
  "         [--schedule JSON] [--name N] [--retention-days N]\n" \
  "  list                 every task with its schedule, state and next start\n" \
  "  show ID              a task and its runs\n" \
  "  run ID               run a task now on all its devices and wait\n" \
  "  run-due              run everything that is due now, until idle\n" \
  "  cancel ID            stop a task for good (also from another process)\n" \
  "  results ID           results and findings of the task's runs\n" \
  "  delete ID            delete a task and its results (password-protected)\n" \
  "Schedules: {\"kind\":\"now\"} (default), manual, once/hourly/daily/weekly with\n" \
  "\"at\", on_start, after_update, window with \"start\"/\"end\" (see docs/tasks.md).\n" \
  "Run 'vigil task COMMAND --help' for a command's options.\n"

typedef struct {
  VigilHost          *host;
  const CliGlobals *globals;
  gboolean            json;
} Ctx;

static gboolean
parse (Ctx *ctx, const char *what, GOptionEntry *extra, int *argc, char ***argv)
{
  GOptionEntry common[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &ctx->json, "Machine-readable output", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (what);
  g_autoptr (GError) error = NULL;

  ctx->json = ctx->globals->json;
  g_option_context_add_main_entries (context, common, NULL);
  if (extra != NULL)
    g_option_context_add_main_entries (context, extra, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      cli_error ("task", "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* {"task": ID, "<what>": true} for scripts. */
static void
print_done (const char *task_id, const char *what)
{
  g_autoptr (JsonObject) o = json_object_new ();

  json_object_set_string_member (o, "task", task_id);
  json_object_set_boolean_member (o, what, TRUE);
  vigil_json_print_object (o);
}

static const char *
str_or_dash (JsonObject *o, const char *key)
{
  JsonNode *node = json_object_get_member (o, key);
  return node && !JSON_NODE_HOLDS_NULL (node) ? json_node_get_string (node) : "-";
}

static char *
local_time_of (JsonObject *o, const char *key)
{
  const char *iso = str_or_dash (o, key);
  g_autoptr (GDateTime) dt = g_str_equal (iso, "-") ? NULL : g_date_time_new_from_iso8601 (iso, NULL);
  g_autoptr (GDateTime) local = dt ? g_date_time_to_local (dt) : NULL;
  return local ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}

static char *
target_of (JsonObject *task)
{
  JsonArray *exclude = json_object_get_array_member (task, "exclude");
  g_autoptr (GString) text = g_string_new (NULL);

  if (!json_object_get_null_member (task, "device"))
    return g_strdup_printf ("device %s", json_object_get_string_member (task, "device"));
  g_string_printf (text, "group %s", json_object_get_string_member (task, "group"));
  for (guint i = 0; exclude && i < json_array_get_length (exclude); i++)
    g_string_append_printf (text, "%s%s", i == 0 ? " minus " : ", ",
                            json_array_get_string_element (exclude, i));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

void
cli_print_run_line (JsonObject *run)
{
  const char *error = str_or_dash (run, "error");
  const char *message = str_or_dash (run, "message");

  vigil_print ("  #%-5" G_GINT64_FORMAT " %-8s %-16s %-10s %3.0f%%  %s\n",
           json_object_get_int_member (run, "id"),
           json_object_get_string_member (run, "task_id"),
           json_object_get_string_member (run, "device"),
           json_object_get_string_member (run, "state"),
           json_object_get_double_member (run, "progress") * 100.0,
           !g_str_equal (error, "-") ? error : message);
}

/* ---- create ---------------------------------------------------------- */

/* The type's validation warnings, promised at creation (an oversized or
 * unusable IOC file, an unsupported data type): on stderr, one a line. */
static void
print_warnings (JsonArray *warnings)
{
  for (guint i = 0; warnings != NULL && i < json_array_get_length (warnings); i++)
    {
      JsonObject *w = json_array_get_object_element (warnings, i);
      g_printerr ("vigil task create: warning: %s: %s\n",
                  json_object_get_string_member_with_default (w, "path", ""),
                  json_object_get_string_member_with_default (w, "message", ""));
    }
}

static int
task_create (Ctx *ctx, int argc, char **argv)
{
  g_autofree char *type = NULL, *device = NULL, *group = NULL, *params_path = NULL;
  g_autofree char *schedule = NULL, *name = NULL;
  g_auto (GStrv) exclude = NULL;
  g_autoptr (JsonArray) warnings = NULL;
  int retention = -1;
  GOptionEntry entries[] = {
    { "type", 0, 0, G_OPTION_ARG_STRING, &type, "Task type (see `vigil plugins`)", "T" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Run on this device", "D" },
    { "group", 0, 0, G_OPTION_ARG_STRING, &group, "Run on every device of this group and its subgroups", "G" },
    { "exclude", 0, 0, G_OPTION_ARG_STRING_ARRAY, &exclude, "Leave out this device, or every device of this group (group:G, device:D to say which; repeatable)", "ID" },
    { "params", 0, 0, G_OPTION_ARG_FILENAME, &params_path, "Parameters (JSON object; - for stdin)", "FILE" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "Schedule JSON (default {\"kind\":\"now\"})", "JSON" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "A name for admins", "N" },
    { "retention-days", 0, 0, G_OPTION_ARG_INT, &retention, "Keep results N days, 1 to 3650 (default 7)", "N" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = NULL;
  g_autoptr (JsonObject) task = NULL;
  g_autofree char *id = NULL;
  VigilTaskSpec spec = { 0 };

  if (!parse (ctx, "create - create a task", entries, &argc, &argv))
    return 2;
  if (argc != 1 || type == NULL || (device == NULL) == (group == NULL))
    return cli_error ("task create", "usage: vigil task create --type T (--device D | "
                         "--group G [--exclude D|G]...) [--params FILE.json] [--schedule JSON] "
                         "[--name N] [--retention-days N]"), 2;
  /* The task spec's 0 means "the default", so a typed 0 (or less) would be
   * stored as 7 days: refused instead. Results are kept at least a day. */
  if (retention != -1 && retention < 1)
    return cli_error ("task create", "--retention-days %d: results are kept 1 to 3650 days "
                      "(leave the option out for the default, 7)", retention), 2;
  if (params_path && (params = cli_read_json_object (params_path, &error)) == NULL)
    return cli_error ("task create", "%s", error->message), 2;
  spec = (VigilTaskSpec) { type, name, device, group, (const char *const *) exclude,
                           params, schedule, retention > 0 ? (guint) retention : 0 };
  id = vigil_host_create_task_checked (ctx->host, "cli", &spec, &warnings, &error);
  if (id == NULL)
    return cli_error ("task create", "%s", error->message), 2;
  task = vigil_host_task (ctx->host, id, &error);
  if (task == NULL)
    return cli_error ("task create", "%s", error->message), 2;
  if (ctx->json)
    {
      json_object_set_array_member (task, "warnings", warnings ? json_array_ref (warnings) : json_array_new ());
      vigil_json_print_object (task);
    }
  else
    {
      g_autofree char *next = local_time_of (task, "next_start");
      print_warnings (warnings);
      vigil_print ("task %s created: %s, %s; next start: %s\n", id,
               json_object_get_string_member (task, "type"),
               json_object_get_string_member (task, "schedule_text"), next);
      vigil_print ("it runs under `vigil serve`, or now with `vigil task run %s`\n", id);
    }
  return 0;
}

/* ---- list and show --------------------------------------------------- */

static int
task_list (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) tasks = NULL;

  if (!parse (ctx, "list - list tasks", NULL, &argc, &argv))
    return 2;
  if ((tasks = vigil_host_tasks (ctx->host, &error)) == NULL)
    return cli_error ("task list", "%s", error->message), 2;
  if (ctx->json)
    return vigil_json_print_array (tasks), 0;
  if (json_array_get_length (tasks) == 0)
    return vigil_print ("no tasks\n"), 0;
  vigil_print ("%-8s  %-20s %-24s %-24s %-10s %s\n", "ID", "TYPE", "TARGET", "SCHEDULE", "STATE",
           "NEXT START");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      g_autofree char *target = target_of (t);
      g_autofree char *next = local_time_of (t, "next_start");
      vigil_print ("%-8s  %-20s %-24s %-24s %-10s %s\n", json_object_get_string_member (t, "id"),
               json_object_get_string_member (t, "type"), target,
               json_object_get_string_member (t, "schedule_text"),
               json_object_get_string_member (t, "state"), next);
    }
  return 0;
}

static void
print_task (JsonObject *t)
{
  g_autofree char *target = target_of (t);
  g_autofree char *created = local_time_of (t, "created");
  g_autofree char *last = local_time_of (t, "last_run");
  g_autofree char *next = local_time_of (t, "next_start");
  g_autoptr (JsonNode) params = json_node_copy (json_object_get_member (t, "params"));
  g_autofree char *params_text = json_to_string (params, FALSE);

  vigil_print ("task %s: %s (%s)\n", json_object_get_string_member (t, "id"),
           json_object_get_string_member (t, "name"), json_object_get_string_member (t, "type"));
  vigil_print ("  target:     %s\n", target);
  vigil_print ("  schedule:   %s\n", json_object_get_string_member (t, "schedule_text"));
  vigil_print ("  state:      %s\n", json_object_get_string_member (t, "state"));
  vigil_print ("  next start: %s\n", next);
  vigil_print ("  last start: %s\n", last);
  vigil_print ("  created:    %s by %s\n", created, json_object_get_string_member (t, "source"));
  vigil_print ("  retention:  %" G_GINT64_FORMAT " days\n",
           json_object_get_int_member (t, "retention_days"));
  vigil_print ("  params:     %s\n", params_text);
}

static int
task_show (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) task = NULL;
  g_autoptr (JsonArray) runs = NULL;

  if (!parse (ctx, "show ID - show a task and its runs", NULL, &argc, &argv))
    return 2;
  if (argc != 2)
    return cli_error ("task show", "usage: vigil task show ID"), 2;
  if ((task = vigil_host_task (ctx->host, argv[1], &error)) == NULL
      || (runs = vigil_host_task_runs (ctx->host, argv[1], FALSE, &error)) == NULL)
    return cli_error ("task show", "%s", error->message), 2;
  if (ctx->json)
    {
      json_object_set_array_member (task, "runs", json_array_ref (runs));
      return vigil_json_print_object (task), 0;
    }
  print_task (task);
  vigil_print ("runs (newest first):%s\n", json_array_get_length (runs) ? "" : " none");
  for (guint i = 0; i < json_array_get_length (runs); i++)
    cli_print_run_line (json_array_get_object_element (runs, i));
  return 0;
}

/* ---- run, run-due, cancel -------------------------------------------- */

static void
draw_progress (const char *task_id, const char *device_id, double fraction,
               const char *message, gpointer user_data)
{
  vigil_print ("\r\033[K%s on %s: %3.0f%% %s", task_id, device_id, fraction * 100.0,
           message ? message : "");
  fflush (stdout);
  *(gboolean *) user_data = TRUE;
}

static int
print_runs_outcome (Ctx *ctx, JsonArray *runs)
{
  int status = 0;
  guint dispatched = 0;

  /* A dispatched run left for its device's agent (the fleet): not a
   * failure, its end comes later (`vigil task show`). */
  for (guint i = 0; i < json_array_get_length (runs); i++)
    {
      const char *state = json_object_get_string_member (json_array_get_object_element (runs, i),
                                                         "state");
      if (g_str_equal (state, "dispatched"))
        dispatched++;
      else if (!g_str_equal (state, "completed"))
        status = 1;
    }
  if (ctx->json)
    return vigil_json_print_array (runs), status;
  vigil_print ("%u run%s:\n", json_array_get_length (runs), json_array_get_length (runs) == 1 ? "" : "s");
  for (guint i = 0; i < json_array_get_length (runs); i++)
    cli_print_run_line (json_array_get_object_element (runs, i));
  if (dispatched > 0)
    vigil_print ("%u run%s dispatched to the device's agent: `vigil task show` follows it\n",
             dispatched, dispatched == 1 ? "" : "s");
  return status;
}

/* SIGINT (Ctrl-C) during `task run`: cancel the runs and let them record
 * it, instead of dying with the runs left "running". */
static gboolean
on_interrupt (gpointer data)
{
  g_printerr ("vigil task run: interrupted: cancelling the run(s)\n");
  g_cancellable_cancel (data);
  return G_SOURCE_CONTINUE;
}

static int
task_run (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  gboolean drew = FALSE;
  guint interrupt_id;

  if (!parse (ctx, "run ID - run a task now and wait", NULL, &argc, &argv))
    return 2;
  if (argc != 2)
    return cli_error ("task run", "usage: vigil task run ID"), 2;
  /* The host turns the main context while it waits: the signal source
   * fires there. */
  interrupt_id = g_unix_signal_add (SIGINT, on_interrupt, cancellable);
  vigil_host_set_pump_main_context (ctx->host, TRUE);
  runs = vigil_host_run_task (ctx->host, argv[1],
                              !ctx->json && isatty (STDOUT_FILENO) ? draw_progress : NULL,
                              &drew, cancellable, &error);
  vigil_host_set_pump_main_context (ctx->host, FALSE);
  g_source_remove (interrupt_id);
  if (drew)
    vigil_print ("\r\033[K");
  if (runs == NULL)
    return cli_error ("task run", "%s", error->message), 2;
  if (json_array_get_length (runs) == 0 && !ctx->json)
    return vigil_print ("task %s has no device to run on\n", argv[1]), 0;
  return print_runs_outcome (ctx, runs);
}

static int
task_run_due (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) runs = NULL;

  if (!parse (ctx, "run-due - run everything that is due now", NULL, &argc, &argv))
    return 2;
  if ((runs = vigil_host_run_due (ctx->host, NULL, &error)) == NULL)
    return cli_error ("task run-due", "%s", error->message), 2;
  if (json_array_get_length (runs) == 0 && !ctx->json)
    return vigil_print ("nothing is due\n"), 0;
  return print_runs_outcome (ctx, runs);
}

static int
task_cancel (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!parse (ctx, "cancel ID - cancel a task", NULL, &argc, &argv))
    return 2;
  if (argc != 2)
    return cli_error ("task cancel", "usage: vigil task cancel ID"), 2;
  if (!vigil_host_cancel_task (ctx->host, argv[1], &error))
    return cli_error ("task cancel", "%s", error->message), 2;
  if (ctx->json)
    print_done (argv[1], "cancelled");
  else
    vigil_print ("task %s cancelled; running runs stop at their next check\n", argv[1]);
  return 0;
}

/* ---- results, delete ------------------------------------------------- */

static void
print_results (JsonArray *runs)
{
  for (guint i = 0; i < json_array_get_length (runs); i++)
    {
      JsonObject *run = json_array_get_object_element (runs, i);
      JsonArray *findings = json_object_get_array_member (run, "findings");
      JsonNode *result = json_object_get_member (run, "result");

      cli_print_run_line (run);
      if (!JSON_NODE_HOLDS_NULL (result))
        {
          g_autofree char *text = json_to_string (result, FALSE);
          vigil_print ("      result: %s\n", text);
        }
      for (guint f = 0; f < json_array_get_length (findings); f++)
        {
          g_autofree char *text = json_to_string (json_array_get_element (findings, f), FALSE);
          vigil_print ("      finding: %s\n", text);
        }
    }
}

static int
task_results (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) task = NULL;
  g_autoptr (JsonArray) runs = NULL;

  if (!parse (ctx, "results ID - results and findings of a task's runs", NULL, &argc, &argv))
    return 2;
  if (argc != 2)
    return cli_error ("task results", "usage: vigil task results ID"), 2;
  if ((task = vigil_host_task (ctx->host, argv[1], &error)) == NULL
      || (runs = vigil_host_task_runs (ctx->host, argv[1], TRUE, &error)) == NULL)
    return cli_error ("task results", "%s", error->message), 2;
  if (ctx->json)
    return vigil_json_print_array (runs), 0;
  if (json_array_get_length (runs) == 0)
    vigil_print ("task %s has no results (kept %" G_GINT64_FORMAT " days)\n", argv[1],
             json_object_get_int_member (task, "retention_days"));
  print_results (runs);
  return 0;
}

static int
task_delete (Ctx *ctx, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!parse (ctx, "delete ID - delete a task and its results", NULL, &argc, &argv))
    return 2;
  if (argc != 2)
    return cli_error ("task delete", "usage: vigil task delete ID"), 2;
  if (!vigil_host_delete_task (ctx->host, argv[1], &error))
    return cli_error ("task delete", "%s", error->message), 2;
  if (ctx->json)
    print_done (argv[1], "deleted");
  else
    vigil_print ("task %s deleted\n", argv[1]);
  return 0;
}

static int
task_main (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*run) (Ctx *ctx, int argc, char **argv);
  } subs[] = {
    { "create", task_create }, { "list", task_list }, { "show", task_show },
    { "run", task_run }, { "run-due", task_run_due }, { "cancel", task_cancel },
    { "results", task_results }, { "delete", task_delete },
  };
  Ctx ctx = { host, globals, globals->json };

  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      vigil_print_usage (stdout, TASK_HELP);
      return 0;
    }
  for (gsize i = 0; argc >= 2 && i < G_N_ELEMENTS (subs); i++)
    if (g_str_equal (argv[1], subs[i].name))
      return subs[i].run (&ctx, argc - 1, argv + 1);
  cli_error ("task", "usage: vigil %s", USAGE);
  return 2;
}

const CliCommand cli_task = {
  "task", "Create, run, cancel tasks and read their results", USAGE, task_main,
};
