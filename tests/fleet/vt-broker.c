/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs nats-server for the fleet tests (see vt-broker.h). A reader thread
 * appends each log line to a buffer and wakes the waiters; waiting is on
 * a condition variable with a deadline that only a broken broker reaches.
 */
#include "vt-broker.h"

#include <gio/gio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <string.h>

struct _VtBroker {
  GSubprocess *proc;
  GPid         pid;
  char        *url;
  GThread     *reader;
  GMutex       lock;
  GCond        cond;
  GString     *log;     /* every line so far, under lock */
  gboolean     eof;     /* the log ended: the broker exited */
};

static gpointer
read_log (gpointer data)
{
  VtBroker *b = data;
  GInputStream *err = g_subprocess_get_stderr_pipe (b->proc);
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (err);
  char *line;

  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL))) {
    g_mutex_lock (&b->lock);
    g_string_append (b->log, line);
    g_string_append_c (b->log, '\n');
    g_cond_broadcast (&b->cond);
    g_mutex_unlock (&b->lock);
    if (g_getenv ("VT_BROKER_VERBOSE"))
      g_printerr ("nats-server: %s\n", line);
    g_free (line);
  }
  g_mutex_lock (&b->lock);
  b->eof = TRUE;
  g_cond_broadcast (&b->cond);
  g_mutex_unlock (&b->lock);
  return NULL;
}

/* Waits for @needle after @mark; returns the line's start offset. */
static gsize
wait_for (VtBroker *b, gsize mark, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + VT_BROKER_WAIT_S * G_USEC_PER_SEC;
  const char *hit = NULL;
  gsize at;

  g_mutex_lock (&b->lock);
  while (!(hit = strstr (b->log->str + mark, needle)) && !b->eof)
    if (!g_cond_wait_until (&b->cond, &b->lock, deadline))
      break;
  at = hit ? (gsize) (hit - b->log->str) : 0;
  if (hit == NULL)
    g_error ("nats-server: no \"%s\" in its log (%s); the log:\n%s", needle,
             b->eof ? "it exited" : "timed out", b->log->str);
  g_mutex_unlock (&b->lock);
  return at;
}

/* "127.0.0.1:PORT\n..." -> PORT, or 0. */
static int
parse_port (const char *addr)
{
  g_autofree char *line = g_strndup (addr, strcspn (addr, "\n"));
  const char *colon = strrchr (line, ':');

  return colon ? (int) g_ascii_strtoll (colon + 1, NULL, 10) : 0;
}

/* In the child before exec: a test that fails (aborts) must not leave its
 * broker running, so the broker gets SIGTERM when the test process dies;
 * if the test is already gone, it never starts. */
static void
die_with_parent (gpointer data)
{
  pid_t parent = GPOINTER_TO_INT (data);

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != parent)
    _exit (1);
}

VtBroker *
vt_broker_start (const char *config_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  VtBroker *b = g_new0 (VtBroker, 1);
  const char *listen = "Listening for client connections on ";
  gsize at;
  int port = 0;

  g_mutex_init (&b->lock);
  g_cond_init (&b->cond);
  b->log = g_string_new (NULL);
  /* Debian installs it in /usr/sbin, which a test's PATH may lack. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent,
                                         GINT_TO_POINTER (getpid ()), NULL);
  b->proc = g_subprocess_launcher_spawn (launcher, &error,
                                         g_file_test ("/usr/sbin/nats-server",
                                                      G_FILE_TEST_IS_EXECUTABLE)
                                           ? "/usr/sbin/nats-server"
                                           : "nats-server",
                                         "-c", config_path, NULL);
  g_assert_no_error (error);
  b->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (b->proc),
                                   NULL, 10);
  b->reader = g_thread_new ("nats-log", read_log, b);
  at = wait_for (b, 0, listen);
  g_mutex_lock (&b->lock);
  port = parse_port (b->log->str + at + strlen (listen));
  g_mutex_unlock (&b->lock);
  g_assert_cmpint (port, >, 0);
  b->url = g_strdup_printf ("tls://127.0.0.1:%d", port);
  wait_for (b, at, "Server is ready");
  return b;
}

void
vt_broker_stop (VtBroker *b)
{
  g_autoptr (GError) error = NULL;

  if (b == NULL)
    return;
  g_subprocess_send_signal (b->proc, SIGTERM);
  g_subprocess_wait (b->proc, NULL, &error);
  g_assert_no_error (error);
  g_thread_join (b->reader);
  g_object_unref (b->proc);
  g_string_free (b->log, TRUE);
  g_mutex_clear (&b->lock);
  g_cond_clear (&b->cond);
  g_free (b->url);
  g_free (b);
}

const char *
vt_broker_url (VtBroker *b)
{
  return b->url;
}

GPid
vt_broker_pid (VtBroker *b)
{
  return b->pid;
}

gboolean
vt_broker_running (VtBroker *b)
{
  gboolean running;

  g_mutex_lock (&b->lock);
  running = !b->eof && g_subprocess_get_identifier (b->proc) != NULL;
  g_mutex_unlock (&b->lock);
  return running;
}

gsize
vt_broker_log_mark (VtBroker *b)
{
  gsize len;

  g_mutex_lock (&b->lock);
  len = b->log->len;
  g_mutex_unlock (&b->lock);
  return len;
}

void
vt_broker_wait_log (VtBroker *b, gsize mark, const char *needle)
{
  wait_for (b, mark, needle);
}
