/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/fleet's parts shared between its files: the fast enrollment of
 * simulated devices (bench-enroll.c) and the simulated agents
 * (sim-agents.h).
 */
#pragma once

#include "sim-agents.h"

G_BEGIN_DECLS

/* The inventory group the simulated devices are in. */
#define BENCH_GROUP "bench"

/* Enrolls @n devices sim-00001... into the console's state folder
 * @state_dir (which has a fleet), their keys and certificates written to
 * @devices_dir, the keys made on @threads threads. (transfer full) */
SimDevice *bench_enroll (const char *state_dir, const char *devices_dir, guint n,
                         guint threads, GError **error);
void       bench_devices_free (SimDevice *devices, guint n);

G_END_DECLS
