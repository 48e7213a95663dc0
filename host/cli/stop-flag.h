/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stop flag for a reader thread (the console's reports reader, the
 * agent's runs reader): the main thread raises it once; the reader checks
 * it between fetches and waits on it between retries, so a stop never
 * waits out a whole retry delay.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  GMutex   lock;
  GCond    cond;
  gboolean raised;
} CliStopFlag;

void     cli_stop_flag_init   (CliStopFlag *flag);
void     cli_stop_flag_clear  (CliStopFlag *flag);
/* Raises the flag and wakes a reader waiting in cli_stop_flag_wait. */
void     cli_stop_flag_raise  (CliStopFlag *flag);
gboolean cli_stop_flag_raised (CliStopFlag *flag);
/* Waits up to @timeout_us for the flag; returns whether it is raised. */
gboolean cli_stop_flag_wait   (CliStopFlag *flag, gint64 timeout_us);

G_END_DECLS
