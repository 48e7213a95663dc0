/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Long-running `vigil` processes for the fleet tests (see vt-proc.h): a
 * reader thread appends each stderr line to a buffer and wakes the
 * waiters; a wait is on a condition variable with a deadline that only a
 * broken process reaches.
 */
#include "vt-proc.h"
#include "vt-cli.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

struct _VtProc {
  char        *name;
  GSubprocess *proc;
  GThread     *reader;
  GMutex       lock;
  GCond        cond;
  GString     *log;
  gboolean     eof;
};

static gpointer
read_log (gpointer data)
{
  VtProc *p = data;
  g_autoptr (GDataInputStream) in =
    g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->proc));
  char *line;

  /* stdout and stderr, merged: what the process says, in order. */
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)))
    {
      g_mutex_lock (&p->lock);
      g_string_append (p->log, line);
      g_string_append_c (p->log, '\n');
      g_cond_broadcast (&p->cond);
      g_mutex_unlock (&p->lock);
      if (g_getenv ("VT_PROC_VERBOSE"))
        g_printerr ("[%s] %s\n", p->name, line);
      g_free (line);
    }
  g_mutex_lock (&p->lock);
  p->eof = TRUE;
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
  return NULL;
}

/* In the child: a test that aborts must not leave its processes behind
 * (the death signal survives exec, also nats-server's exec by `vigil
 * fleet broker run`). */
static void
die_with_parent (gpointer data)
{
  pid_t parent = GPOINTER_TO_INT (data);

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != parent)
    _exit (1);
}

VtProc *
vt_proc_start (const char *name, const char *const *env, const char *const *argv)
{
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  VtProc *p = g_new0 (VtProc, 1);

  p->name = g_strdup (name);
  g_mutex_init (&p->lock);
  g_cond_init (&p->cond);
  p->log = g_string_new (NULL);
  g_ptr_array_add (args, (gpointer) vt_cli_path ());
  for (gsize i = 0; argv[i]; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  for (gsize i = 0; env && env[i]; i++)
    {
      g_auto (GStrv) kv = g_strsplit (env[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1] ? kv[1] : "", TRUE);
    }
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent,
                                         GINT_TO_POINTER (getpid ()), NULL);
  p->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, &error);
  g_assert_no_error (error);
  p->reader = g_thread_new (name, read_log, p);
  return p;
}

/* Sends @signum, waits for the exit, frees @p; the exit status. */
static int
end_with (VtProc *p, int signum)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_subprocess_send_signal (p->proc, signum);
  g_subprocess_wait (p->proc, NULL, &error);
  g_assert_no_error (error);
  g_thread_join (p->reader);
  status = g_subprocess_get_if_exited (p->proc) ? g_subprocess_get_exit_status (p->proc) : -1;
  g_object_unref (p->proc);
  g_string_free (p->log, TRUE);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->cond);
  g_free (p->name);
  g_free (p);
  return status;
}

int
vt_proc_stop (VtProc *p)
{
  return end_with (p, SIGTERM);
}

int
vt_proc_kill (VtProc *p)
{
  return end_with (p, SIGKILL);
}

gboolean
vt_proc_running (VtProc *p)
{
  gboolean eof;

  g_mutex_lock (&p->lock);
  eof = p->eof;
  g_mutex_unlock (&p->lock);
  return !eof && g_subprocess_get_identifier (p->proc) != NULL;
}

GPid
vt_proc_pid (VtProc *p)
{
  const char *id = g_subprocess_get_identifier (p->proc);
  return id ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

gsize
vt_proc_mark (VtProc *p)
{
  gsize mark;

  g_mutex_lock (&p->lock);
  mark = p->log->len;
  g_mutex_unlock (&p->lock);
  return mark;
}

gsize
vt_proc_wait (VtProc *p, gsize mark, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + VT_PROC_WAIT_S * G_USEC_PER_SEC;
  const char *hit = NULL;
  gsize after = 0;

  g_mutex_lock (&p->lock);
  while (!(hit = strstr (p->log->str + mark, needle)) && !p->eof)
    if (!g_cond_wait_until (&p->cond, &p->lock, deadline))
      break;
  if (hit != NULL)
    after = (gsize) (hit - p->log->str) + strlen (needle);
  else
    g_error ("%s: no \"%s\" in its output (%s); the output:\n%s", p->name, needle,
             p->eof ? "it exited" : "timed out", p->log->str);
  g_mutex_unlock (&p->lock);
  return after;
}

char *
vt_proc_log (VtProc *p)
{
  char *copy;

  g_mutex_lock (&p->lock);
  copy = g_strdup (p->log->str);
  g_mutex_unlock (&p->lock);
  return copy;
}
