/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `vigil` CLI's built-in commands. main.c parses the global options
 * (before the subcommand, like `git -C`), opens the host and dispatches to a
 * VhCliCommand or to a command a plugin registered. Each command file
 * (host/<area>/cli-*.c) defines one VhCliCommand.
 */
#pragma once

#include "host-private.h"

G_BEGIN_DECLS

/* Global options shared by every command. */
typedef struct {
  gboolean json;     /* --json given globally: machine-readable output */
  gboolean verbose;
} VhCliGlobals;

typedef struct {
  const char *name;       /* "policy" */
  const char *summary;    /* one line for `vigil --help` */
  const char *usage;      /* "policy validate|effective|defaults|import|..." */
  /* argv[0] is the command name. Returns the exit code (0 ok, 1 problems
   * found, 2 usage or runtime error). */
  int (*run) (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv);
} VhCliCommand;

/* Defined by their owners. */
extern const VhCliCommand vh_cli_plugins;   /* core  */
extern const VhCliCommand vh_cli_policy;    /* data  */
extern const VhCliCommand vh_cli_group;     /* data  */
extern const VhCliCommand vh_cli_device;    /* data  */
extern const VhCliCommand vh_cli_event;     /* tasks */
extern const VhCliCommand vh_cli_events;    /* tasks */
extern const VhCliCommand vh_cli_task;      /* tasks */
extern const VhCliCommand vh_cli_serve;     /* tasks */

/* Helpers (core, host/cli/cli-util.c). */
/* Prints @node as pretty JSON on stdout, with a newline. */
void      vh_cli_print_json   (JsonNode *node);
/* Parses a JSON object from @path ("-" is stdin), with a size limit and an
 * error naming the file, line and column. Returns: (transfer full). */
JsonObject *vh_cli_read_json_object (const char *path, GError **error);
/* Like vh_cli_read_json_object, with an explicit size limit in bytes
 * (vh_cli_read_json_object uses 16 MiB). Nesting deeper than 512 levels is
 * refused too, with its line and column. */
JsonObject *vh_cli_read_json_object_full (const char *path, gsize max_size,
                                          GError **error);
/* Prints "vigil <cmd>: <message>" on stderr (just "vigil: " when @command
 * is NULL). */
void      vh_cli_error        (const char *command, const char *format, ...)
                               G_GNUC_PRINTF (2, 3);

G_END_DECLS
