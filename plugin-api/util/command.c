/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The boilerplate every plugin command repeated: parsing options (with the
 * --json switch the host passes on for `vigil --json CMD`), printing a
 * usage error with the usage text, and errors as "vigil CMD: what" with
 * the exit code docs/cli.md gives a usage or runtime error.
 */
#include <stdio.h>

#include "vigil/util/command.h"
#include "vigil/util/text.h"

int
vigil_command_fail (const char *command, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  vigil_print_to (stderr, "vigil %s: %s\n", command, msg);
  return VIGIL_EXIT_USAGE;
}

int
vigil_command_usage_error (const char *command, const char *usage, const char *message)
{
  vigil_print_to (stderr, "vigil %s: %s\n", command, message);
  vigil_print_usage (stderr, usage);
  if (!g_str_has_suffix (usage, "\n"))
    vigil_print_to (stderr, "\n");
  return VIGIL_EXIT_USAGE;
}

gboolean
vigil_command_parse (const char *command, const char *usage, GOptionEntry *entries,
                     gboolean *json, char ***argv, int *exit_code)
{
  GOptionEntry json_entry[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, json, "Machine-readable output (JSON)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (command != NULL && usage != NULL && argv != NULL, FALSE);
  g_return_val_if_fail (exit_code != NULL, FALSE);

  *exit_code = VIGIL_EXIT_OK;
  if (json != NULL)
    *json = FALSE;
  g_option_context_set_summary (ctx, usage);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  if (json != NULL)
    g_option_context_add_main_entries (ctx, json_entry, NULL);
  if (g_option_context_parse_strv (ctx, argv, &error))
    return TRUE;
  *exit_code = vigil_command_usage_error (command, usage, error->message);
  return FALSE;
}
