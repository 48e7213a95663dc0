/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fleet lab of real `vigil` processes for the fault tests: a console
 * state folder set up with `vigil fleet init`, its broker (`vigil fleet
 * broker run`), `vigil serve`, and agents enrolled through `vigil device
 * enroll` / `vigil agent enroll`, each with its own state folder and
 * device root. Every wait is for a line one of the processes prints.
 * Agents may be started with extra environment (faketime, for clock skew).
 */
#pragma once

#include "vt-cli.h"
#include "vt-proc.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  char   *dir;
  char   *console;   /* the console's state folder */
  VtProc *broker, *serve;
} VtLab;

#define VT_LAB_RELOADED "Reloaded server configuration"

/* A fleet (`fleet init --port 0`), group "lab", broker and console running. */
void        vt_lab_setup    (VtLab *lab, gconstpointer data);
/* Stops what runs (the console must exit 0), removes the folder. */
void        vt_lab_teardown (VtLab *lab, gconstpointer data);

VtProc     *vt_lab_broker_start (VtLab *lab);
/* Starts `vigil serve` and waits until it is connected to the broker. */
VtProc     *vt_lab_serve_start  (VtLab *lab);

/* `vigil --json --state-dir @state ARGS...`, which must exit 0; its JSON
 * object (or, for an array, NULL and *@array). */
JsonObject *vt_lab_json (const char *state, ...) G_GNUC_NULL_TERMINATED;
JsonArray  *vt_lab_json_array (const char *state, ...) G_GNUC_NULL_TERMINATED;

/* Enrolls @id in group "lab" with an agent folder LAB/@id, running `vigil
 * agent enroll` with @env added ("NAME=value", or NULL); (transfer full)
 * the folder. */
char       *vt_lab_enroll (VtLab *lab, const char *id, const char *const *env);
/* LAB/@id-root, an empty folder standing for the device's file system. */
char       *vt_lab_device_root (VtLab *lab, const char *id);
/* `vigil agent --state-dir @state --root @root` with @env added. */
VtProc     *vt_lab_agent_start (const char *state, const char *root, const char *const *env);

/* Creates a task of @type for @target ("device:ID" or "group:ID") on the
 * console with @params_json and @schedule_json (NULL: manual); its id. */
char       *vt_lab_task (VtLab *lab, const char *type, const char *target,
                         const char *params_json, const char *schedule_json);
/* The task's runs, as `task show` prints them. */
JsonArray  *vt_lab_runs (VtLab *lab, const char *task);
/* The task's results (`task results --json`). */
JsonArray  *vt_lab_results (VtLab *lab, const char *task);

/* "run RUN of device 'ID' STATE", the console's line for a report. */
char       *vt_lab_run_line (gint64 run, const char *id, const char *state);
/* The console's stored events of @type about @task (and @device, unless
 * NULL), counted from `vigil events --json`. */
guint       vt_lab_events (VtLab *lab, const char *type, const char *task,
                           const char *device);
/* How often @needle occurs in @proc's log. */
guint       vt_lab_count (VtProc *proc, const char *needle);

/* `vigil --json --state-dir @state ARGS...`, which must exit 0; its JSON,
 * object or array. */
JsonNode   *vt_lab_json_node (const char *state, ...) G_GNUC_NULL_TERMINATED;
/* libfaketime's preload library, wherever the architecture put it (for a
 * process started with a clock of the test's; the test fails without it). */
char       *vt_lab_faketime_lib (void);

G_END_DECLS
