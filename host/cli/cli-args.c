/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers shared by the data module's CLI commands: option parsing
 * with GOptionContext (so every subcommand has --help), reading an
 * untrusted file with a size limit, and printing a validation report as
 * "<path>: <message>" lines.
 */
#include "cli-data.h"

#include <stdio.h>
#include <string.h>

gboolean
cli_parse (const char *command, const char *params, const char *summary,
           const GOptionEntry *entries, int *argc, char ***argv)
{
  g_autofree char *title = g_strdup_printf ("%s %s", command, params);
  g_autoptr (GOptionContext) ctx = g_option_context_new (title);
  g_autoptr (GError) error = NULL;

  g_option_context_set_summary (ctx, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      cli_error (command, "%s (see vigil %s --help)", error->message, command);
      return FALSE;
    }
  return TRUE;
}

gboolean
cli_need_args (const char *command, int argc, int want, const char *usage)
{
  if (argc == want)
    return TRUE;
  cli_error (command, "expected: vigil %s", usage);
  return FALSE;
}

char *
cli_read_limited (const char *path, gsize limit, gsize *len, GError **error)
{
  g_autoptr (GFile) file = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];
  gssize n;

  if (g_strcmp0 (path, "-") == 0)
    in = g_unix_input_stream_new (0, FALSE);
  else
    {
      file = g_file_new_for_commandline_arg (path);
      in = G_INPUT_STREAM (g_file_read (file, NULL, error));
      if (in == NULL)
        return NULL;
    }
  while ((n = g_input_stream_read (in, chunk, sizeof chunk, NULL, error)) > 0)
    {
      g_byte_array_append (buf, chunk, (guint) n);
      if (buf->len > limit)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "%s is larger than %" G_GSIZE_FORMAT " bytes", path, limit);
          return NULL;
        }
    }
  if (n < 0)
    return NULL;
  *len = buf->len;
  g_byte_array_append (buf, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
}

guint
cli_print_problems (JsonArray *problems, const char *where)
{
  guint errors = 0;

  for (guint i = 0; i < json_array_get_length (problems); i++)
    {
      JsonObject *p = json_array_get_object_element (problems, i);
      const char *sev = json_object_get_string_member (p, "severity");
      const char *path = json_object_get_string_member (p, "path");
      gboolean warning = g_strcmp0 (sev, "warning") == 0;

      errors += warning ? 0 : 1;
      vigil_print ("%s%s%s%s%s%s\n", where ? where : "", where ? ": " : "",
              warning ? "warning: " : "", *path ? path : "", *path ? ": " : "",
              json_object_get_string_member (p, "message"));
    }
  return errors;
}
