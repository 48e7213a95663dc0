/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The respond plugin's engine, apart from its registration so that tests
 * drive it without a host: the Detection and Response actions an endpoint
 * performs on its own processes (process.kill, process.run). Each action
 * takes the task's parameters (already validated against the schemas
 * below, defaults filled in) and the device's root folder, and returns the
 * run's result, or NULL with an error that says what and where.
 */
#pragma once

#include <vigil/plugin.h>

G_BEGIN_DECLS

#define RESP_N_KILL_PARAMS 5
#define RESP_N_RUN_PARAMS 8
#define RESP_N_GET_PARAMS 1

extern const VigilField resp_kill_params[RESP_N_KILL_PARAMS];
extern const VigilField resp_run_params[RESP_N_RUN_PARAMS];
extern const VigilField resp_get_params[RESP_N_GET_PARAMS];

/* Cross-field checks of the parameters; NULL when they are fine, else the
 * problem and the parameter it concerns (*key). */
char *resp_kill_check (JsonObject *params, const char **key);
char *resp_run_check (JsonObject *params, const char **key);
char *resp_get_check (JsonObject *params, const char **key);

/* process.kill: the processes that match, killed; the result lists what
 * was killed and what could not be, and *all_killed says whether every
 * matching process was. Never PID 1 or the calling process. */
JsonObject *resp_kill (const char *root, JsonObject *params, GCancellable *cancellable,
                       gboolean *all_killed, GError **error);

/* process.run: runs the program without a shell unless asked, captures
 * bounded stdout and stderr, ends it at its timeout or on cancel.
 * *succeeded says whether it exited with status 0. */
JsonObject *resp_run (const char *root, JsonObject *params, GCancellable *cancellable,
                      gboolean *succeeded, GError **error);

/* file.get (resp-file-get.c): opens @path inside @root for reading,
 * refusing `..`, a symbolic link on the way or as the file, anything but a
 * regular file, and a file over @max_bytes. Returns: the fd (its size in
 * *size), or -1 with @error naming params.path and why. */
int resp_file_open (const char *root, const char *path, gint64 max_bytes, gint64 *size,
                    GError **error);

/* ---- /proc, shared by both ---- */

typedef struct {
  int    pid;
  int    ppid;
  guint64 start_time;   /* clock ticks after boot: tells a reused PID apart */
  char  *exe;           /* NULL for kernel threads and unreadable ones */
} RespProc;

void       resp_proc_clear (RespProc *p);
gboolean   resp_proc_read (int pid, RespProc *out, GError **error);
GArray    *resp_proc_list (void);   /* of RespProc, with a clear func */
char      *resp_file_sha256 (const char *path, GError **error);

G_END_DECLS
