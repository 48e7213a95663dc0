/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs the endpoint protection product's scanner as a child process
 * (GSubprocess) over a device's critical areas, with a timeout and cancel.
 * The run happens on a task worker thread, so it iterates a private main
 * context for the child's output, the timeout and the cancellation. ClamAV
 * is the default product: clamdscan when its daemon answers a ping (fast,
 * signatures already loaded), otherwise clamscan. A product that is not
 * installed is a clear error, never a crash.
 */
#include "epp-engine.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <vigil/util/io.h>
#include <unistd.h>

void
vp_config_clear (VpConfig *config)
{
  g_clear_pointer (&config->command, g_free);
  g_clear_pointer (&config->args, g_strfreev);
  g_clear_pointer (&config->database, g_free);
}

gboolean
vp_config_from_settings (VpConfig *config, JsonObject *settings, GError **error)
{
  g_autofree char *product = NULL;
  g_autoptr (JsonNode) args = NULL;
  GPtrArray *list = g_ptr_array_new ();

  memset (config, 0, sizeof *config);
  if (vigil_json_get_object (settings, "product") == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "epp.product: settings group missing");
      g_ptr_array_unref (list);
      return FALSE;
    }
  product = vigil_settings_dup_string (&vp_schema, settings, "product", "product");
  config->product = g_strcmp0 (product, "command") == 0 ? VP_PRODUCT_COMMAND : VP_PRODUCT_CLAMAV;
  config->command = vigil_settings_dup_string (&vp_schema, settings, "product", "command");
  if (config->command != NULL && *config->command == '\0')
    g_clear_pointer (&config->command, g_free);
  args = vigil_settings_dup_node (&vp_schema, settings, "product", "args");
  for (guint i = 0; args != NULL && i < json_array_get_length (json_node_get_array (args)); i++)
    {
      JsonNode *a = json_array_get_element (json_node_get_array (args), i);
      if (JSON_NODE_HOLDS_VALUE (a) && json_node_get_value_type (a) == G_TYPE_STRING)
        g_ptr_array_add (list, g_strdup (json_node_get_string (a)));
    }
  g_ptr_array_add (list, NULL);
  config->args = (GStrv) g_ptr_array_free (list, FALSE);
  config->timeout_sec = (guint) vigil_settings_get_int (&vp_schema, settings, "product",
                                                        "timeout_sec", NULL);
  return TRUE;
}

static char *
find_program (const char *name)
{
  if (strchr (name, '/') != NULL)
    return g_file_test (name, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup (name) : NULL;
  return g_find_program_in_path (name);
}

static gboolean
clamd_answers (const char *clamdscan)
{
  const char *argv[] = { clamdscan, "--ping", "1", NULL };
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv,
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL);

  return p != NULL && g_subprocess_wait_check (p, NULL, NULL);
}

/* The program to run, or NULL with an error that says what to install. */
static char *
choose_program (const VpConfig *config, GError **error)
{
  g_autofree char *clamdscan = NULL;
  char *prog;

  if (config->command != NULL)
    {
      prog = find_program (config->command);
      if (prog == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "the endpoint protection command '%s' is not installed or "
                     "not executable (epp.product.command)", config->command);
      return prog;
    }
  if (config->product == VP_PRODUCT_COMMAND)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "epp.product.command must be set when the product is 'command'");
      return NULL;
    }
  /* clamd has its own database: a device's own one needs clamscan. */
  clamdscan = config->database == NULL ? find_program ("clamdscan") : NULL;
  if (clamdscan != NULL && clamd_answers (clamdscan))
    return g_steal_pointer (&clamdscan);
  prog = find_program ("clamscan");
  if (prog == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "the endpoint protection product ClamAV is not installed: "
                 "neither a running clamd (clamdscan) nor clamscan was found in "
                 "PATH (install the Debian package clamav, or set epp.product)");
  return prog;
}

static gboolean
is_clamdscan (const char *prog)
{
  g_autofree char *base = g_path_get_basename (prog);

  return g_str_has_prefix (base, "clamdscan");
}

/* Writes the areas to a file for --file-list (argv has a length limit). */
static char *
write_file_list (const VpAreas *areas, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);
  char *path = NULL;
  int fd = g_file_open_tmp ("vigil-epp-XXXXXX.list", &path, error);

  if (fd < 0)
    return NULL;
  for (guint i = 0; i < areas->paths->len; i++)
    g_string_append_printf (text, "%s\n", (char *) areas->paths->pdata[i]);
  if (!vigil_write_all (fd, text->str, text->len))
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "cannot write the list of areas %s: %s", path, g_strerror (errsv));
      g_unlink (path);
      g_clear_pointer (&path, g_free);
    }
  close (fd);
  return path;
}

static GPtrArray *
build_argv (const VpConfig *config, const char *prog, gboolean lab,
            const VpAreas *areas, const char *list_file)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  gboolean clamav = config->product == VP_PRODUCT_CLAMAV;

  g_ptr_array_add (argv, g_strdup (prog));
  if (clamav)
    {
      g_ptr_array_add (argv, g_strdup ("--infected"));
      if (is_clamdscan (prog))
        g_ptr_array_add (argv, g_strdup ("--fdpass"));
      else
        g_ptr_array_add (argv, g_strdup ("--recursive"));
      /* A lab device's symlinks may point outside its root. */
      if (lab && !is_clamdscan (prog))
        {
          g_ptr_array_add (argv, g_strdup ("--follow-dir-symlinks=0"));
          g_ptr_array_add (argv, g_strdup ("--follow-file-symlinks=0"));
        }
      if (config->database != NULL && !is_clamdscan (prog))
        g_ptr_array_add (argv, g_strdup_printf ("--database=%s", config->database));
    }
  for (guint i = 0; config->args != NULL && config->args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (config->args[i]));
  if (clamav)
    g_ptr_array_add (argv, g_strdup_printf ("--file-list=%s", list_file));
  else
    for (guint i = 0; i < areas->paths->len; i++)
      g_ptr_array_add (argv, g_strdup (areas->paths->pdata[i]));
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* ---- the child process ---------------------------------------------- */

static void
child_communicated (GObject *source, GAsyncResult *res, gpointer data)
{
  VpChild *c = data;

  g_subprocess_communicate_finish (G_SUBPROCESS (source), res, &c->out,
                                   &c->err, &c->error);
  c->done = TRUE;
}

static gboolean
child_timed_out (gpointer data)
{
  VpChild *c = data;

  c->timed_out = TRUE;
  g_subprocess_force_exit (c->proc);
  return G_SOURCE_REMOVE;
}

/* Called on whatever thread cancels; force_exit is thread-safe. */
static void
child_cancelled (GCancellable *cancellable, gpointer proc)
{
  g_subprocess_force_exit (proc);
}

gboolean
vp_child_run (VpChild *c, const char *const *argv, guint timeout_sec,
           GCancellable *cancellable, GError **error)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (GSource) timer = NULL;
  gulong cancel_id = 0;

  g_main_context_push_thread_default (ctx);
  c->proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                     | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (c->proc == NULL)
    {
      g_main_context_pop_thread_default (ctx);
      return FALSE;
    }
  timer = g_timeout_source_new_seconds (timeout_sec);
  g_source_set_callback (timer, child_timed_out, c, NULL);
  g_source_attach (timer, ctx);
  if (cancellable != NULL)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (child_cancelled),
                                       c->proc, NULL);
  g_subprocess_communicate_async (c->proc, NULL, NULL, child_communicated, c);
  while (!c->done)
    g_main_context_iteration (ctx, TRUE);
  g_source_destroy (timer);
  g_cancellable_disconnect (cancellable, cancel_id);
  g_main_context_pop_thread_default (ctx);
  return TRUE;
}

void
vp_child_clear (VpChild *c)
{
  g_clear_object (&c->proc);
  g_clear_pointer (&c->out, g_bytes_unref);
  g_clear_pointer (&c->err, g_bytes_unref);
  g_clear_error (&c->error);
}

char *
vp_child_stderr_line (VpChild *c)
{
  gsize len = 0;
  const char *data = c->err ? g_bytes_get_data (c->err, &len) : NULL;
  g_autofree char *text = data ? g_utf8_make_valid (data, len) : g_strdup ("");

  g_strstrip (text);
  text[strcspn (text, "\n")] = '\0';
  return g_strdup (*text ? text : "no message");
}

/* Exit statuses follow clamscan: 0 clean, 1 found, 2 errors. A status 2
 * with a summary is a scan that finished with unreadable files. */
static gboolean
check_outcome (VpChild *c, const char *prog, const VpConfig *config,
               const VpReport *report, GCancellable *cancellable, GError **error)
{
  g_autofree char *msg = vp_child_stderr_line (c);
  int status;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (c->timed_out)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "%s did not finish within %u s (epp.product.timeout_sec) and "
                   "was stopped", prog, config->timeout_sec);
      return FALSE;
    }
  if (c->error != NULL || !g_subprocess_get_if_exited (c->proc))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s did not exit normally: %s",
                   prog, c->error ? c->error->message : msg);
      return FALSE;
    }
  status = g_subprocess_get_exit_status (c->proc);
  /* clamscan still prints a summary when its database did not load. */
  if (json_object_get_int_member_with_default (report->summary, "known_viruses", 1) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s failed with exit status %d: it loaded no signatures (%s)",
                   prog, status, msg);
      return FALSE;
    }
  if (status == 0 || status == 1 || (status == 2 && report->has_summary))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "%s failed with exit status %d: %s", prog, status, msg);
  return FALSE;
}

static JsonObject *
make_result (const VpConfig *config, const char *prog, VpChild *c,
             VpReport *report, const VpAreas *areas, const char *root)
{
  JsonObject *r = json_object_new ();
  JsonArray *scanned = json_array_new ();

  for (guint i = 0; i < areas->paths->len; i++)
    json_array_add_string_element (scanned, vp_device_path (areas->paths->pdata[i], root));
  json_object_set_string_member (r, "product",
                                 config->product == VP_PRODUCT_CLAMAV ? "clamav" : "command");
  json_object_set_string_member (r, "command", prog);
  json_object_set_int_member (r, "exit_status", g_subprocess_get_exit_status (c->proc));
  json_object_set_array_member (r, "findings", json_array_ref (report->findings));
  json_object_set_array_member (r, "errors", json_array_ref (report->errors));
  json_object_set_object_member (r, "summary", json_object_ref (report->summary));
  json_object_set_array_member (r, "scanned_areas", scanned);
  json_object_set_array_member (r, "skipped_areas", json_array_ref (areas->skipped));
  return r;
}

JsonObject *
vp_critical_scan (const VpConfig *config, const char *root, const VpAreas *areas,
                  GCancellable *cancellable, GError **error)
{
  g_autofree char *prog = choose_program (config, error);
  g_autofree char *list = NULL;
  g_autofree char *engine = NULL;
  g_autoptr (GPtrArray) argv = NULL;
  VpChild c = { 0 };
  VpReport report = { 0 };
  gboolean lab = root != NULL && g_strcmp0 (root, "/") != 0;
  JsonObject *result = NULL;
  gsize len = 0;
  const char *out;

  if (prog == NULL)
    return NULL;
  if (areas->paths->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no critical area exists on this device (see skipped_areas)");
      return NULL;
    }
  if (config->product == VP_PRODUCT_CLAMAV && (list = write_file_list (areas, error)) == NULL)
    return NULL;
  argv = build_argv (config, prog, lab, areas, list);
  if (vp_child_run (&c, (const char *const *) argv->pdata, config->timeout_sec,
                 cancellable, error))
    {
      out = c.out ? g_bytes_get_data (c.out, &len) : NULL;
      if (out == NULL)
        out = "", len = 0;
      engine = g_path_get_basename (prog);
      vp_report_parse (&report, out, len, root, engine);
      if (check_outcome (&c, prog, config, &report, cancellable, error))
        result = make_result (config, prog, &c, &report, areas, root);
    }
  if (list != NULL)
    g_unlink (list);
  vp_report_clear (&report);
  vp_child_clear (&c);
  return result;
}
