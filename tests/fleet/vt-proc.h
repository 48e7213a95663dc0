/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A long-running `vigil` process of a fleet test (the broker through
 * `vigil fleet broker run`, `vigil serve`, `vigil agent`): started as a
 * child that dies with the test, its stderr read line by line into a log,
 * so that a test waits for the line that says a thing happened (ready,
 * connected, a device online, cut off), never for a duration.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _VtProc VtProc;

/* Longest wait for a line: only a broken process reaches it. */
#define VT_PROC_WAIT_S 30

/* Starts the built `vigil` with @argv (NULL-terminated, without the
 * program name) and @env ("NAME=value", NULL-terminated, or NULL) added to
 * the test's environment. @name prefixes its lines with VT_PROC_VERBOSE. */
VtProc  *vt_proc_start    (const char *name, const char *const *env,
                           const char *const *argv);
/* SIGTERM, waits for the exit; returns the exit status (-1: killed by a
 * signal) and frees @proc. */
int      vt_proc_stop     (VtProc *proc);
/* SIGKILL (a crash: no clean-up of any kind), waits, frees @proc;
 * returns -1 as it was killed. */
int      vt_proc_kill     (VtProc *proc);
/* Whether it has not exited. */
gboolean vt_proc_running  (VtProc *proc);
GPid     vt_proc_pid      (VtProc *proc);
/* A mark in the log; a wait looks only at lines logged after it. */
gsize    vt_proc_mark     (VtProc *proc);
/* Waits until a line after @mark contains @needle; fails the test after
 * VT_PROC_WAIT_S or when the process exits first. Returns the offset just
 * after the hit, a mark for the next wait. */
gsize    vt_proc_wait     (VtProc *proc, gsize mark, const char *needle);
/* (transfer full) the whole log so far. */
char    *vt_proc_log      (VtProc *proc);

G_END_DECLS
