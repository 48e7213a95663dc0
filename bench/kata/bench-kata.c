/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark of the kata sender against a loopback TLS server (a child
 * process, so that its memory is not counted):
 *   throughput: N events submitted as fast as possible, then sent; events
 *     per second from the first submit to the last acknowledgement;
 *   steady: events offered at a fixed rate (default 10,000/s) for S
 *     seconds with a transmission cycle every second on a worker thread,
 *     as `vigil serve` runs it; reports the rate achieved, the backlog and
 *     the resident memory (VmRSS) sampled every second.
 * By default the spool runs as the plugin runs it (WAL, synchronous=NORMAL,
 * a durable point at most every second and before each new package);
 * --fsync-each measures the former setting, an fsync per commit, for
 * comparison. CPU time per event is printed beside the wall-clock rates,
 * which depend on how loaded the machine is. Certificates are made with
 * the openssl command.
 */
#include "kata-engine.h"
#include "kata-test-server.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static gboolean fsync_each = FALSE;

static gint64
now_hook (gpointer data)
{
  return g_get_real_time ();
}

/* User + system CPU seconds of this process so far. */
static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static const char *
mode_name (void)
{
  return fsync_each ? "fsync per commit (--fsync-each)"
                    : "WAL synchronous=NORMAL, durable point <= 1 s (plugin)";
}

static guint64
durable_points (KataEngine *engine)
{
  g_autoptr (JsonObject) st = kata_engine_status (engine);

  return (guint64) json_object_get_int_member (st, "durable_points");
}

static long
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
      (p = strstr (status, "VmRSS:")) == NULL)
    return -1;
  return strtol (p + 6, NULL, 10);
}

static pid_t
start_server_child (VtCerts *certs, guint16 port)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      KtServer *srv = kt_server_start (certs->server_pem, certs->server_key, NULL, port);
      (void) srv;
      for (;;)
        pause ();
    }
  g_usleep (200 * 1000);   /* let the child listen */
  return pid;
}

static KataEngine *
make_engine (const char *dir, VtCerts *certs, guint16 port, guint64 spool_max)
{
  KataHooks hooks = { now_hook, NULL, NULL, NULL, NULL };
  KataEngineOptions opts = { dir, "bench-device", spool_max, fsync_each, NULL };
  g_autoptr (KataSettings) s = kata_settings_new_default ();
  g_autoptr (GError) error = NULL;
  KataEngine *engine = kata_engine_new (&opts, &hooks, &error);

  if (engine == NULL)
    g_error ("%s", error->message);
  s->enabled = TRUE;
  s->use_pinned = TRUE;
  s->pinned_pem = vt_read_text (certs->server_pem);
  s->throttle_enabled = FALSE;
  s->period_sec = 1;
  kata_settings_add_server (s, "127.0.0.1", port);
  kata_engine_configure (engine, s);
  return engine;
}

static void
submit_one (KataEngine *engine, guint64 i)
{
  g_autoptr (JsonObject) rec = json_object_new ();
  g_autoptr (JsonObject) payload = json_object_new ();
  g_autofree char *id = g_strdup_printf ("bench-%" G_GUINT64_FORMAT, i);

  json_object_set_string_member (payload, "image", "/usr/bin/curl");
  json_object_set_string_member (payload, "sha256",
      "9b2c2f5d8d0c5ad3c3b1c8a1fb0a8f0e2cf6b5f3b8b1f3b0f4a3c1d9e8f7a6b5");
  json_object_set_string_member (payload, "cmdline", "curl -sO http://198.51.100.7/x");
  json_object_set_string_member (payload, "user", "alice");
  json_object_set_int_member (payload, "pid", (gint64) (i % 65536));
  json_object_set_string_member (rec, "id", id);
  json_object_set_string_member (rec, "type", "process.started");
  json_object_set_string_member (rec, "device", "bench-device");
  json_object_set_string_member (rec, "time", "2026-11-22T10:00:00Z");
  json_object_set_int_member (rec, "payload_version", 1);
  json_object_set_object_member (rec, "payload", g_steal_pointer (&payload));
  if (!kata_engine_submit (engine, "process.started", rec, NULL))
    g_error ("submit failed");
}

static void
throughput (KataEngine *engine, guint n)
{
  gint64 t0 = g_get_monotonic_time (), t1, t2;
  double c0 = cpu_seconds (), c1, c2;
  guint sent = 0;

  for (guint i = 0; i < n; i++)
    submit_one (engine, i);
  t1 = g_get_monotonic_time ();
  c1 = cpu_seconds ();
  while (kata_engine_spooled (engine) > 0)
    {
      KataCycleResult r;
      kata_engine_send_now (engine, &r);
      if (r.server_index < 0)
        g_error ("the loopback server did not answer");
      sent += r.events;
    }
  t2 = g_get_monotonic_time ();
  c2 = cpu_seconds ();
  printf ("throughput: %u events, spool %s\n", n, mode_name ());
  printf ("  submit (filter + spool):   %8.0f events/s, %5.1f us CPU/event\n",
          n / ((t1 - t0) / 1e6), (c1 - c0) * 1e6 / n);
  printf ("  send (package + TLS + ack): %7.0f events/s, %5.1f us CPU/event (client side)\n",
          sent / ((t2 - t1) / 1e6), (c2 - c1) * 1e6 / MAX (sent, 1));
  printf ("  emit to acknowledged:      %8.0f events/s (%.2f s), durable points %"
          G_GUINT64_FORMAT "\n", n / ((t2 - t0) / 1e6), (t2 - t0) / 1e6,
          durable_points (engine));
}

typedef struct {
  KataEngine *engine;
  gint        stop;
} Ticker;

static gpointer
ticker (gpointer data)
{
  Ticker *t = data;

  while (!g_atomic_int_get (&t->stop))
    {
      kata_engine_tick (t->engine);
      g_usleep (50 * 1000);
    }
  return NULL;
}

static void
steady (KataEngine *engine, guint rate, guint seconds)
{
  Ticker t = { engine, 0 };
  GThread *thread = g_thread_new ("sender", ticker, &t);
  gint64 start = g_get_monotonic_time ();
  guint64 offered = 0;
  long rss_max = 0, rss_start = rss_kib ();
  guint slice = rate / 100;

  double c0 = cpu_seconds ();

  printf ("steady: %u events/s offered for %u s, spool %s\n", rate, seconds,
          mode_name ());
  for (guint tick = 0; tick < seconds * 100; tick++)
    {
      gint64 due = start + (gint64) tick * 10000;
      gint64 now = g_get_monotonic_time ();
      if (now < due)
        g_usleep ((gulong) (due - now));
      for (guint i = 0; i < slice; i++)
        submit_one (engine, offered++);
      if (tick % 100 == 99)
        {
          long rss = rss_kib ();
          rss_max = MAX (rss_max, rss);
          printf ("  t=%2us offered %7" G_GUINT64_FORMAT " backlog %6" G_GUINT64_FORMAT
                  " RSS %ld KiB\n", (tick + 1) / 100, offered,
                  kata_engine_spooled (engine), rss);
        }
    }
  {
    double elapsed = (g_get_monotonic_time () - start) / 1e6;
    printf ("  achieved %.0f events/s offered (target %u), max RSS %ld KiB "
            "(at start %ld KiB)\n", offered / elapsed, rate, rss_max, rss_start);
    printf ("  CPU %.1f us/event (submit + sender thread), durable points %"
            G_GUINT64_FORMAT "\n", (cpu_seconds () - c0) * 1e6 / MAX (offered, 1),
            durable_points (engine));
  }
  g_atomic_int_set (&t.stop, 1);
  g_thread_join (thread);
  while (kata_engine_spooled (engine) > 0)
    kata_engine_send_now (engine, NULL);
}

int
main (int argc, char **argv)
{
  guint events = 100000, rate = 10000, seconds = 10;
  gboolean fsync_opt = FALSE;
  GOptionEntry entries[] = {
    { "events", 0, 0, G_OPTION_ARG_INT, &events, "Events for the throughput run", "N" },
    { "rate", 0, 0, G_OPTION_ARG_INT, &rate, "Events per second for the steady run", "R" },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Length of the steady run", "S" },
    { "fsync-each", 0, 0, G_OPTION_ARG_NONE, &fsync_opt,
      "Spool with an fsync per commit (the former setting), to compare", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- kata sender benchmark");
  VtCerts *certs;
  guint16 port;
  pid_t child;
  g_autofree char *dir = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, NULL))
    return 2;
  fsync_each = fsync_opt;
  printf ("kata bench: spool %s\n"
          "  (the plugin: WAL synchronous=NORMAL + durable point <= 1 s; "
          "--fsync-each: synchronous=FULL, fsync per commit)\n", mode_name ());
  signal (SIGPIPE, SIG_IGN);
  certs = vt_certs_new ();
  port = vt_free_port ();
  child = start_server_child (certs, port);
  dir = g_dir_make_tmp ("kata-bench-XXXXXX", NULL);
  {
    g_autofree char *d1 = g_build_filename (dir, "throughput", NULL);
    g_autofree char *d2 = g_build_filename (dir, "steady", NULL);
    g_autoptr (KataEngine) e1 = make_engine (d1, certs, port, 10 * (guint64) events);
    g_autoptr (KataEngine) e2 = NULL;
    throughput (e1, events);
    e2 = make_engine (d2, certs, port, 10 * (guint64) rate * seconds);
    steady (e2, rate, seconds);
  }
  kill (child, SIGTERM);
  waitpid (child, NULL, 0);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", dir);
  }
  vt_certs_free (certs);
  return 0;
}
