/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Naming the plugin whose init crashes the process. A plugin's init runs
 * inside every `vigil` command, so one that crashes there used to make
 * every command die with no output, `plugins disable` included, and
 * nothing said which plugin it was. While an init runs, the fatal signals
 * get a handler that writes one prepared line naming the plugin and the
 * way out, then lets the signal kill the process as before (exit status
 * and core dump unchanged). Only async-signal-safe calls in the handler:
 * the line is formatted before the init starts.
 */
#include "registry.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static char crash_line[1024];
static size_t crash_line_len;
static struct sigaction saved[G_N_ELEMENTS (fatal_signals)];

static void
on_fatal_signal (int sig)
{
  ssize_t ignored = write (STDERR_FILENO, crash_line, crash_line_len);

  (void) ignored;
  /* SA_RESETHAND made the action the default again; SA_NODEFER lets this
   * raise deliver it now, also for a raise() or abort() in the init. */
  raise (sig);
}

void
vh_init_crash_guard_begin (VigilPlugin *plugin)
{
  struct sigaction action = { 0 };
  int n = g_snprintf (crash_line, sizeof crash_line,
                      "vigil: plugin '%s' (%s) crashed the process in its init; "
                      "disable it with 'vigil plugins disable %s', or start without "
                      "plugins with 'vigil --no-plugins COMMAND'\n",
                      plugin->id, plugin->file, plugin->id);

  crash_line_len = MIN ((size_t) MAX (n, 0), sizeof crash_line - 1);
  action.sa_handler = on_fatal_signal;
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset (&action.sa_mask);
  for (gsize i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    sigaction (fatal_signals[i], &action, &saved[i]);
}

void
vh_init_crash_guard_end (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    sigaction (fatal_signals[i], &saved[i], NULL);
}
