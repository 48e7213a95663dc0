/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The e2e tests' lab: a temporary state folder and the demo lab of
 * examples/lab (admin groups, devices with root folders, the lab ClamAV
 * signatures), set up with the real `vigil` CLI as an admin would, then
 * driven in-process through libvigil-host's public API (vigil-host.h, the
 * shared library, nothing internal) with a fake clock (detections,
 * runs until idle) and inspected both through the CLI's JSON output and
 * through the files on the lab devices.
 */
#pragma once

#include "vigil-host.h"

G_BEGIN_DECLS

typedef struct {
  char      *dir;        /* temporary; the lab's devices are in dir/devices */
  char      *state;      /* the state folder */
  gint64     now_us;     /* the fake clock */
  VigilHost *host;       /* open between lab_open and lab_close */
} Lab;

/* Creates the lab and applies @policy (a policy document, or NULL for
 * examples/policies/lab-response.json) plus the lab's epp policy. */
void        lab_setup       (Lab *lab, JsonObject *policy);
void        lab_teardown    (Lab *lab);

/* examples/policies/lab-response.json with "group.key" set to the JSON
 * value text, for each pair of the NULL-terminated list. */
JsonObject *lab_policy_with (const char *first_key, ...);

/* The fake clock: today (UTC) plus @day days, at hh:mm (the tests run
 * with TZ=UTC, so local time is UTC). */
void        lab_set_time    (Lab *lab, int day, int hour, int minute);

/* The in-process host on the lab's state folder, plugins loaded. */
void        lab_open        (Lab *lab);
void        lab_close       (Lab *lab);
/* Emits sandbox.threat_detected on @device (payload: examples/lab/
 * detection.json with "key", "json value" overrides) and runs until idle.
 * Returns: (transfer full) the event id. */
char       *lab_detect      (Lab *lab, const char *device, const char *first_key, ...);
guint       lab_run         (Lab *lab);

/* Runs `vigil --state-dir S --json ARGS...` and returns its output parsed
 * (transfer full); asserts the exit status is @status. */
JsonNode   *lab_cli_json    (Lab *lab, int status, const char *first_arg, ...)
                             G_GNUC_NULL_TERMINATED;
/* Runs `vigil --state-dir S ARGS...`; returns stdout+stderr (transfer
 * full) and the exit status in @status. */
char       *lab_cli         (Lab *lab, int *status, const char *first_arg, ...)
                             G_GNUC_NULL_TERMINATED;

/* Events of @type (NULL: all), oldest first (transfer full). */
JsonArray  *lab_events      (Lab *lab, const char *type);
/* Tasks of @type (NULL: all), oldest first (transfer full). */
JsonArray  *lab_tasks       (Lab *lab, const char *type);
/* The runs of a task with their results and findings (transfer full). */
JsonArray  *lab_runs        (Lab *lab, const char *task_id);
/* Counts events of @type whose payload member @key equals @value (both
 * NULL: all events of @type); on @device unless NULL. */
guint       lab_count_events (Lab *lab, const char *type, const char *device,
                              const char *key, const char *value);

/* A lab device's file: whether it exists. */
gboolean    lab_file_exists (Lab *lab, const char *device, const char *path);
/* The sandbox-response record of a detection event (transfer full). */
JsonObject *lab_response    (Lab *lab, const char *event_id);

/* examples/lab/detection.json's object */
#define LAB_SHA256 "90bc0bd03c16bf8c0e74688bb3e6fe2e24e67be7d8acbaa7140865f9c2d75309"

G_END_DECLS
