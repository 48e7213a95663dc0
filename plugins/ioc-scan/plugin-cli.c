/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `vigil ioc` command: `check` parses IOC files and prints their tree,
 * warnings and unsupported terms; `scan` runs the same engine as the task
 * on local paths, with a progress bar on a terminal and exit codes like
 * clamscan (0 nothing found, 1 found, 2 errors); `export` writes a task's
 * IOC collection as a ZIP file. All take --json.
 */
#include "plugin-private.h"
#include "ioc-zip.h"

#include <vigil/util/command.h>
#include <vigil/util/io.h>
#include <vigil/util/json.h>
#include <vigil/util/text.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define USAGE \
  "Usage:\n" \
  "  vigil ioc check [--json] [--max-ioc-size KB] FILE|DIR...\n" \
  "  vigil ioc scan --ioc FILE|DIR... [--exclude PATH]... [--threads N]\n" \
  "                 [--no-progress] [--json] [--max-ioc-size KB] [--no-cache]\n" \
  "                 PATH...\n" \
  "  vigil ioc export (--task ID | --params FILE.json) --output FILE.zip\n" \
  "\n" \
  "scan exit codes: 0 no IOC found, 1 an IOC was found, 2 errors (an IOC file\n" \
  "or a scanned file could not be read, bad usage) and nothing found.\n"

/* A task's parameters hold its IOC files (each at most max_ioc_file_kb,
 * 3 MiB by default); a larger --params file is not a task's. */
#define EXPORT_PARAMS_MAX (256 * 1024 * 1024)

/* "vigil ioc SUB: MESSAGE" and the usage text, exit code 2. */
static int
usage_error (const char *sub, const char *message)
{
  g_autofree char *cmd = g_strconcat ("ioc ", sub, NULL);

  return vigil_command_usage_error (cmd, USAGE, message);
}

/* Parses with parse_strv, which frees the arguments it removes (the host
 * hands us a copy of argv that it frees afterwards). */
static gboolean
parse_options (const char *sub, GOptionEntry *entries, gboolean *json, char ***argv, int *code)
{
  g_autofree char *cmd = g_strconcat ("ioc ", sub, NULL);

  return vigil_command_parse (cmd, USAGE, entries, json, argv, code);
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

static void
print_doc (const IocDoc *doc)
{
  g_autoptr (GString) tree = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;

  vigil_print ("%s: ", doc->file);
  if (doc->root != NULL)
    vigil_print ("OpenIOC %s, id %s, \"%s\", %u items: %s\n",
            doc->version == IOC_V1_0 ? "1.0" : "1.1", doc->id,
            doc->short_description ? doc->short_description : "", doc->n_items,
            doc->usable ? "loaded" : "NOT loaded");
  else
    vigil_print ("NOT loaded\n");
  for (guint i = 0; i < doc->problems->len; i++)
    {
      IocProblem *p = doc->problems->pdata[i];
      vigil_print ("  %s: line %u: %s\n", p->error ? "error" : "warning", p->line, p->message);
    }
  for (guint i = 0; i < doc->unsupported->len; i++)
    {
      IocUnsupported *u = doc->unsupported->pdata[i];
      vigil_print ("  unsupported (evaluated as unknown): %s (line %u)\n", u->term, u->line);
    }
  if (doc->root != NULL)
    {
      ioc_node_print (tree, doc->root, 2);
      lines = g_strsplit (tree->str, "\n", -1);
      for (guint l = 0; lines[l] != NULL && lines[l][0] != '\0'; l++)
        vigil_print ("%s\n", lines[l]);
    }
}

/* @cached: through the cache of parsed documents (a warning, and a plain
 * parse, when its folder is not usable). */
static IocCollection *
load_paths (char **paths, gint max_kb, gboolean cached)
{
  /* Without --max-ioc-size, the section's default (max_ioc_file_kb). */
  IocCollection *coll = ioc_collection_new (max_kb > 0 ? (gsize) max_kb * 1024
                                                       : ioc_max_file_size (NULL));
  g_autoptr (GError) error = NULL;

  if (cached && !ioc_use_cache (coll, &error))
    vigil_print_to (stderr, "vigil ioc: warning: %s\n", error->message);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    ioc_collection_add_path (coll, paths[i]);
  ioc_collection_prepare (coll);
  return coll;
}

static gboolean
any_errors (IocCollection *coll)
{
  for (guint i = 0; i < coll->docs->len; i++)
    if (ioc_doc_has_errors (coll->docs->pdata[i]))
      return TRUE;
  return FALSE;
}

static int
cmd_check (char **argv)
{
  gboolean json = FALSE;
  gint max_kb = 0;
  g_auto (GStrv) files = NULL;
  GOptionEntry entries[] = {
    { "max-ioc-size", 0, 0, G_OPTION_ARG_INT, &max_kb, "Largest IOC file, KiB (3072)", "KB" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE|DIR..." },
    { NULL },
  };
  g_autoptr (IocCollection) coll = NULL;
  int code = 0;

  if (!parse_options ("check", entries, &json, &argv, &code))
    return code;
  if (files == NULL)
    return usage_error ("check", "name at least one IOC file or folder");
  coll = load_paths (files, max_kb, FALSE);
  if (coll->docs->len == 0)
    return usage_error ("check", "no .ioc or .xml file found");
  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      json_object_set_array_member (o, "files", ioc_collection_report_json (coll));
      json_object_set_int_member (o, "loaded", ioc_collection_n_usable (coll));
      vigil_json_print_object (o);
    }
  else
    for (guint i = 0; i < coll->docs->len; i++)
      print_doc (coll->docs->pdata[i]);
  return any_errors (coll) ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* scan                                                                */
/* ------------------------------------------------------------------ */

static void
progress_bar (const IocScanProgress *p, gpointer data)
{
  double fraction = p->files_found > 0 ? (double) p->files_done / (double) p->files_found : 0;
  char bar[31];
  guint filled = (guint) (fraction * 30);

  memset (bar, '#', filled);
  memset (bar + filled, '.', 30 - filled);
  bar[30] = '\0';
  vigil_print_to (stderr, "\r[%s] %3.0f%%  %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "%s files"
           "  %.1f MiB  %-22s", bar, fraction * 100, p->files_done, p->files_found,
           p->walk_done ? "" : "+", (double) p->bytes_done / 1048576.0, p->phase);
  if (strcmp (p->phase, "done") == 0)
    vigil_print_to (stderr, "\r%*s\r", 110, "");
  fflush (stderr);
}

static void
print_found (const IocScanResult *r)
{
  for (guint i = 0; i < r->docs->len; i++)
    {
      IocDocResult *dr = r->docs->pdata[i];
      for (guint k = 0; k < dr->matches->len; k++)
        {
          IocMatch *m = dr->matches->pdata[k];
          g_auto (GStrv) lines = g_strsplit (m->matched, "\n", -1);
          vigil_print ("%s: FOUND %s [%s, %s]\n", m->path,
                  dr->doc->short_description ? dr->doc->short_description : dr->doc->id,
                  dr->doc->id, dr->doc->file);
          for (guint l = 0; lines[l] != NULL; l++)
            vigil_print ("    %s\n", lines[l]);
        }
      if (dr->n_matches > dr->matches->len)
        vigil_print ("%s: %" G_GUINT64_FORMAT " more objects not listed\n", dr->doc->id,
                dr->n_matches - dr->matches->len);
    }
}

static guint
count_found (const IocScanResult *r)
{
  guint n = 0;
  for (guint i = 0; i < r->docs->len; i++)
    n += ((IocDocResult *) r->docs->pdata[i])->n_matches > 0 ? 1 : 0;
  return n;
}

static void
print_summary (const IocScanResult *r, IocCollection *coll)
{
  guint loaded = ioc_collection_n_usable (coll);

  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      for (guint k = 0; k < doc->problems->len; k++)
        {
          IocProblem *p = doc->problems->pdata[k];
          if (p->error)
            vigil_print_to (stderr, "vigil ioc scan: %s, line %u: %s\n", doc->file, p->line, p->message);
        }
    }
  /* A scan path that is absent or refused: the exit code says 2, this
   * says why. */
  for (guint i = 0; i < r->scope_notes->len; i++)
    {
      IocPathNote *n = r->scope_notes->pdata[i];
      vigil_print_to (stderr, "vigil ioc scan: %s: %s\n", n->path, n->reason);
    }
  for (guint i = 0; i < r->error_list->len; i++)
    {
      IocPathNote *n = r->error_list->pdata[i];
      vigil_print_to (stderr, "vigil ioc scan: %s: %s\n", n->path, n->reason);
    }
  vigil_print ("\n----------- IOC SCAN SUMMARY -----------\n");
  vigil_print ("IOC files loaded: %u of %u\n", loaded, coll->docs->len);
  vigil_print ("Scanned files: %" G_GUINT64_FORMAT "\n", r->files);
  vigil_print ("Hashed files: %" G_GUINT64_FORMAT "\n", r->hashed_files);
  vigil_print ("Data read: %.2f MiB\n", (double) r->bytes / 1048576.0);
  vigil_print ("IOCs found: %u\n", count_found (r));
  vigil_print ("Skipped: %" G_GUINT64_FORMAT "\n", r->skipped);
  vigil_print ("Errors: %" G_GUINT64_FORMAT "\n", r->errors);
  vigil_print ("Time: %.3f sec (%u threads)\n", (double) r->duration_us / 1e6, r->threads);
}

static void
fill_scope (IocScope *scope, char **paths, char **excludes)
{
  g_autofree char *cwd = g_get_current_dir ();

  scope->kind = IOC_SCOPE_CUSTOM;
  scope->paths = g_ptr_array_new_with_free_func (g_free);
  scope->exclusions = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (scope->paths, g_canonicalize_filename (paths[i], cwd));
  for (guint i = 0; excludes != NULL && excludes[i] != NULL; i++)
    g_ptr_array_add (scope->exclusions, strpbrk (excludes[i], "*?") != NULL
                                            ? g_strdup (excludes[i])
                                            : g_canonicalize_filename (excludes[i], cwd));
}

static int
scan_exit_code (const IocScanResult *r, IocCollection *coll)
{
  if (count_found (r) > 0)
    return 1;
  return any_errors (coll) || r->errors > 0 || r->scope_notes->len > 0 ? 2 : 0;
}

static int
cmd_scan (char **argv)
{
  gboolean json = FALSE, no_progress = FALSE, no_cache = FALSE;
  gint threads = 0, max_kb = 0;
  g_auto (GStrv) iocs = NULL, excludes = NULL, paths = NULL;
  GOptionEntry entries[] = {
    { "ioc", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &iocs, "IOC file or folder", "FILE|DIR" },
    { "exclude", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &excludes, "Path or glob to skip", "PATH" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Worker threads (one per core)", "N" },
    { "no-progress", 0, 0, G_OPTION_ARG_NONE, &no_progress, "No progress bar", NULL },
    { "max-ioc-size", 0, 0, G_OPTION_ARG_INT, &max_kb, "Largest IOC file, KiB (3072)", "KB" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache,
      "Parse every IOC file, without the cache of parsed files", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL, "PATH..." },
    { NULL },
  };
  g_autoptr (IocCollection) coll = NULL;
  g_autoptr (IocScanResult) r = NULL;
  g_autoptr (GError) error = NULL;
  IocScanOptions opt = { 0 };
  IocScope scope = { 0 };
  int code = 0;

  if (!parse_options ("scan", entries, &json, &argv, &code))
    return code;
  if (iocs == NULL || paths == NULL)
    return usage_error ("scan", "give --ioc FILE|DIR and at least one PATH");
  coll = load_paths (iocs, max_kb, !no_cache);
  if (ioc_collection_n_usable (coll) == 0)
    {
      for (guint i = 0; i < coll->docs->len; i++)
        print_doc (coll->docs->pdata[i]);
      vigil_print_to (stderr, "vigil ioc scan: no usable IOC file (%s)\n", iocs[0]);
      return 2;
    }
  fill_scope (&scope, paths, excludes);
  opt.root = "/";
  opt.scope = &scope;
  opt.threads = threads > 0 ? (guint) threads : 0;
  if (!no_progress && isatty (STDERR_FILENO))
    opt.progress = progress_bar;
  r = ioc_scan_run (coll, &opt, &error);
  ioc_scope_clear (&scope);
  if (r == NULL)
    {
      vigil_print_to (stderr, "vigil ioc scan: %s\n", error->message);
      return 2;
    }
  if (json)
    {
      g_autoptr (JsonObject) o = ioc_scan_result_to_json (r, coll);
      vigil_json_print_object (o);
    }
  else
    {
      print_found (r);
      print_summary (r, coll);
    }
  return scan_exit_code (r, coll);
}

/* ------------------------------------------------------------------ */
/* export                                                              */
/* ------------------------------------------------------------------ */

/* The "iocs" array of a params document, of `vigil task show --json`
 * output ({"params": {...}}), or of a stored collection. */
static JsonArray *
find_iocs (JsonNode *node)
{
  JsonObject *o;

  if (node == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  o = json_node_get_object (node);
  if (json_object_has_member (o, "iocs"))
    return find_iocs (json_object_get_member (o, "iocs"));
  if (json_object_has_member (o, "params"))
    return find_iocs (json_object_get_member (o, "params"));
  return NULL;
}

static JsonNode *
load_export_source (const char *task, const char *params, GError **error)
{
  if (task != NULL)
    {
      g_autoptr (GError) missing = NULL;
      JsonObject *found = ioc_api->get_task (ioc_self, task, &missing);
      JsonNode *node;

      /* The task's own parameters while it exists; once deleted, the copy
       * of its collection kept at its first run. */
      if (found != NULL)
        {
          node = json_node_init_object (json_node_alloc (), found);
          json_object_unref (found);
          return node;
        }
      node = ioc_api->store_get (ioc_self, IOC_STORE_COLLECTIONS, task, error);
      if (node == NULL && (error == NULL || *error == NULL))
        g_propagate_error (error, g_steal_pointer (&missing));
      return node;
    }
  if (strcmp (params, "-") != 0)
    return vigil_json_read_file (params, EXPORT_PARAMS_MAX, error);
  {
    g_autoptr (GString) text = g_string_new (NULL);
    char buf[4096];
    size_t n;
    while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
      {
        g_string_append_len (text, buf, (gssize) n);
        if (text->len > EXPORT_PARAMS_MAX)
          {
            g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                         "<stdin>: larger than the limit of %d bytes", EXPORT_PARAMS_MAX);
            return NULL;
          }
      }
    /* The same strict reader as a parameters file. */
    return vigil_json_parse (text->str, (gssize) text->len, VIGIL_JSON_STRICT, "<stdin>", error);
  }
}

static GBytes *
build_zip (JsonArray *iocs, GError **error)
{
  guint n = json_array_get_length (iocs);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (iocs, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *name = vigil_json_get_string (o, "name");
      const char *xml = vigil_json_get_string (o, "xml");
      if (xml == NULL)
        continue;
      g_ptr_array_add (names, name ? g_strdup (name) : g_strdup_printf ("ioc-%u.xml", i + 1));
      g_ptr_array_add (contents, g_bytes_new (xml, strlen (xml)));
    }
  return ioc_zip_build ((const char *const *) names->pdata, (GBytes *const *) contents->pdata,
                        names->len, g_get_real_time () / G_USEC_PER_SEC, error);
}

static int
cmd_export (char **argv)
{
  g_autofree char *task = NULL, *params = NULL, *output = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "task", 0, 0, G_OPTION_ARG_STRING, &task, "Task id", "ID" },
    { "params", 0, 0, G_OPTION_ARG_FILENAME, &params, "Task parameters (JSON, - for stdin)", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "ZIP file to write", "FILE.zip" },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) source = NULL;
  g_autoptr (GBytes) zip = NULL;
  JsonArray *iocs;
  int code = 0;

  if (!parse_options ("export", entries, &json, &argv, &code))
    return code;
  if ((task == NULL) == (params == NULL) || output == NULL)
    return usage_error ("export", "give --task ID or --params FILE, and --output FILE.zip");
  source = load_export_source (task, params, &error);
  iocs = find_iocs (source);
  if (iocs == NULL)
    {
      vigil_print_to (stderr, "vigil ioc export: %s (%s)\n",
               error ? error->message : "no \"iocs\" list found", task ? task : params);
      return 2;
    }
  zip = build_zip (iocs, &error);
  if (zip == NULL || !vigil_file_write_atomic (output, g_bytes_get_data (zip, NULL),
                                               g_bytes_get_size (zip), 0644, &error))
    {
      vigil_print_to (stderr, "vigil ioc export: %s (%s)\n", error->message, output);
      return 2;
    }
  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();

      json_object_set_string_member (o, "output", output);
      json_object_set_int_member (o, "files", json_array_get_length (iocs));
      vigil_json_print_object (o);
    }
  else
    vigil_print ("%s: %u IOC files\n", output, json_array_get_length (iocs));
  return 0;
}

int
ioc_cli_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  const char *sub = argc > 1 ? argv[1] : NULL;

  if (sub == NULL || strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0
      || strcmp (sub, "help") == 0)
    {
      vigil_print_usage (stdout, USAGE);
      return sub == NULL ? 2 : 0;
    }
  if (strcmp (sub, "check") == 0)
    return cmd_check (argv + 1);
  if (strcmp (sub, "scan") == 0)
    return cmd_scan (argv + 1);
  if (strcmp (sub, "export") == 0)
    return cmd_export (argv + 1);
  return usage_error (sub, "unknown subcommand");
}
