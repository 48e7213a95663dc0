/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reader threads' stop flag (stop-flag.h).
 */
#include "stop-flag.h"

void
cli_stop_flag_init (CliStopFlag *flag)
{
  g_mutex_init (&flag->lock);
  g_cond_init (&flag->cond);
  flag->raised = FALSE;
}

void
cli_stop_flag_clear (CliStopFlag *flag)
{
  g_mutex_clear (&flag->lock);
  g_cond_clear (&flag->cond);
}

void
cli_stop_flag_raise (CliStopFlag *flag)
{
  g_mutex_lock (&flag->lock);
  flag->raised = TRUE;
  g_cond_broadcast (&flag->cond);
  g_mutex_unlock (&flag->lock);
}

gboolean
cli_stop_flag_raised (CliStopFlag *flag)
{
  gboolean raised;

  g_mutex_lock (&flag->lock);
  raised = flag->raised;
  g_mutex_unlock (&flag->lock);
  return raised;
}

gboolean
cli_stop_flag_wait (CliStopFlag *flag, gint64 timeout_us)
{
  gint64 until = g_get_monotonic_time () + timeout_us;
  gboolean raised;

  g_mutex_lock (&flag->lock);
  /* g_cond_wait_until returns FALSE once @until has passed. */
  while (!flag->raised && g_cond_wait_until (&flag->cond, &flag->lock, until))
    ;
  raised = flag->raised;
  g_mutex_unlock (&flag->lock);
  return raised;
}
