/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the inventory and policy commands (cli-policy.c,
 * cli-inventory.c); defined in cli-args.c.
 */
#pragma once

#include "cli.h"

#include <gio/gunixinputstream.h>

G_BEGIN_DECLS

/* Parses options of a subcommand (argv[0] is its name); prints the error
 * and returns FALSE on bad usage. --help prints and exits 0. */
gboolean cli_parse (const char *command, const char *params, const char *summary,
                    const GOptionEntry *entries, int *argc, char ***argv);
/* TRUE when @argc == @want; otherwise prints the usage. */
gboolean cli_need_args (const char *command, int argc, int want, const char *usage);
/* Reads @path ("-" is stdin), refusing more than @limit bytes.
 * Returns: (transfer full) NUL-terminated contents. */
char    *cli_read_limited (const char *path, gsize limit, gsize *len, GError **error);
/* Prints "[where: ][warning: ]path: message" lines; returns the number of
 * errors. */
guint    cli_print_problems (JsonArray *problems, const char *where);

G_END_DECLS
