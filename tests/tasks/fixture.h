/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tasks tests' fixture: a real host on a temporary state folder with a
 * fake clock, the tasks-test plugin loaded from its build folder, and a
 * small inventory:
 *   root ── lab ── lab-east        devices: a (lab, with a root folder),
 *                                  b (lab), c (lab-east), d (root)
 */
#pragma once

#include <glib/gstdio.h>
#include "tasks/tasks-private.h"
#include "host-private.h"
#include "vt-cli.h"

typedef struct {
  char      *dir;
  char      *root_a;
  VigilHost *host;
  gint64     now;
} Fixture;

/* 2026-11-22 10:00:00 UTC; the tests run with TZ=UTC. */
#define T0 G_GINT64_CONSTANT (1795341600000000)
#define MINUTES(n) ((gint64) (n) * G_TIME_SPAN_MINUTE)
#define HOURS(n) ((gint64) (n) * G_TIME_SPAN_HOUR)
#define DAYS(n) ((gint64) (n) * G_TIME_SPAN_DAY)

VigilHost  *fixture_open_host  (Fixture *f);
void        fixture_setup      (Fixture *f, gconstpointer data);
void        fixture_teardown   (Fixture *f, gconstpointer data);
void        fixture_init_env   (void);
/* Creates a task or fails the test. */
char       *create_task        (Fixture *f, const char *type, const char *device,
                                const char *group, const char *schedule,
                                JsonObject *params);
/* The runs of @task_id, oldest first, with their findings. */
JsonArray  *runs_of            (Fixture *f, const char *task_id);
JsonObject *run_at             (JsonArray *runs, guint i);
