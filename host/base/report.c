/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Validation reports: the problems found in a policy, local settings or
 * task parameters, each with a severity, a JSON path ("kata.connection.
 * sync_period_min") and a message. A prefix lets the host hand a report to a
 * plugin's validate callback, whose paths are relative to its section, and
 * still get full paths back. Messages are formatted by the caller and never
 * contain setting values of secret fields (schema.c takes care of that).
 */
#include "base.h"

typedef struct {
  VigilSeverity severity;
  char         *path;
  char         *message;
} Problem;

struct _VigilReport {
  GArray *problems;   /* of Problem */
  char   *prefix;
};

static void
problem_clear (gpointer data)
{
  Problem *p = data;

  g_free (p->path);
  g_free (p->message);
}

VigilReport *
vh_report_new (void)
{
  VigilReport *report = g_new0 (VigilReport, 1);

  report->problems = g_array_new (FALSE, TRUE, sizeof (Problem));
  g_array_set_clear_func (report->problems, problem_clear);
  return report;
}

void
vh_report_free (VigilReport *report)
{
  if (report == NULL)
    return;
  g_array_unref (report->problems);
  g_free (report->prefix);
  g_free (report);
}

void
vh_report_set_prefix (VigilReport *report, const char *prefix)
{
  g_return_if_fail (report != NULL);
  g_free (report->prefix);
  report->prefix = g_strdup (prefix);
}

/* "kata." + "connection.port" -> "kata.connection.port"; an empty path
 * names the prefix itself, without its trailing dot. */
static char *
full_path (const char *prefix, const char *path)
{
  gsize len;

  if (path == NULL)
    path = "";
  if (prefix == NULL || *prefix == '\0')
    return g_strdup (path);
  len = strlen (prefix);
  if (*path == '\0')
    return prefix[len - 1] == '.' ? g_strndup (prefix, len - 1) : g_strdup (prefix);
  if (path[0] == '[' && prefix[len - 1] == '.')
    return g_strdup_printf ("%.*s%s", (int) (len - 1), prefix, path);
  return g_strconcat (prefix, path, NULL);
}

void
vh_report_addv (VigilReport *report, VigilSeverity severity,
                const char *path, const char *format, va_list args)
{
  Problem p;

  g_return_if_fail (report != NULL && format != NULL);
  if (severity != VIGIL_SEVERITY_WARNING)
    severity = VIGIL_SEVERITY_ERROR;
  p.severity = severity;
  p.path = full_path (report->prefix, path);
  p.message = g_strdup_vprintf (format, args);
  g_array_append_val (report->problems, p);
}

void
vh_report_add (VigilReport *report, VigilSeverity severity,
               const char *path, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vh_report_addv (report, severity, path, format, args);
  va_end (args);
}

guint
vh_report_error_count (VigilReport *report)
{
  guint n = 0;

  g_return_val_if_fail (report != NULL, 0);
  for (guint i = 0; i < report->problems->len; i++)
    if (g_array_index (report->problems, Problem, i).severity == VIGIL_SEVERITY_ERROR)
      n++;
  return n;
}

gboolean
vh_report_has_errors (VigilReport *report)
{
  return vh_report_error_count (report) > 0;
}

JsonArray *
vh_report_to_json (VigilReport *report)
{
  JsonArray *array = json_array_new ();

  g_return_val_if_fail (report != NULL, array);
  for (guint i = 0; i < report->problems->len; i++)
    {
      const Problem *p = &g_array_index (report->problems, Problem, i);
      JsonObject *o = json_object_new ();

      json_object_set_string_member (o, "severity",
                                     p->severity == VIGIL_SEVERITY_WARNING ? "warning" : "error");
      json_object_set_string_member (o, "path", p->path);
      json_object_set_string_member (o, "message", p->message);
      json_array_add_object_element (array, o);
    }
  return array;
}
