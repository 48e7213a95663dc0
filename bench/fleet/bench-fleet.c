/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/fleet: the console at fleet scale. A real nats-server and a real
 * console (`vigil fleet init`, `vigil fleet broker start`, `vigil serve`)
 * on loopback, with N simulated agents in this process (sim-agents.h),
 * each a TLS connection with its own device certificate. In one run:
 *   floor:   the same N connections answer a bare NATS request from a
 *            connection with the console's certificate (request to each
 *            agent's inbox, reply on its vigil.dev.<id>.live subject):
 *            the time for all N replies is what NATS alone costs a round;
 *   console: a group task (notify.user, trivial on the simulated agents)
 *            is created for the N devices with `vigil task create`; timed
 *            until every agent has its run (dispatched) and until the
 *            console has stored every end report (its "run N of device
 *            'D' completed" lines, then checked in the store);
 *   events:  each agent publishes K events as `vigil agent` forwards
 *            them, to a bare stream read back by a bare consumer (the
 *            floor) and to the console, timed until its store holds them
 *            all (bench-events.c).
 * It prints the console's CPU time and resident memory, the broker's,
 * the ratio to the floor and a met/missed verdict per target. Run it by
 * hand on an idle machine (bench/README.md); never part of the suite.
 */
#include "bench-fleet.h"

#include "fleet-connect.h"
#include "fleet-subjects.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define WAIT_LIMIT_S 600

static int    n_agents = 100;
static int    pull_wait_ms = 30000;  /* as host/cli/agent-runs.c FETCH_WAIT_MS */
static int    heartbeat_s = 10;      /* as `vigil agent`'s default */
static int    events_per_agent = 20;
static int    threads = 2;
static char  *vigil_path = NULL;
static char  *work_dir = NULL;
static gboolean keep = FALSE;

static char  *state_dir;

/* ---- processes ------------------------------------------------------------ */

static char **
vigil_env (void)
{
  char **env = g_get_environ ();

  if (g_getenv ("VIGIL_PLUGIN_PATH") == NULL)
    env = g_environ_setenv (env, "VIGIL_PLUGIN_PATH", BENCH_PLUGIN_PATH, TRUE);
  return env;
}

/* Runs `vigil --state-dir STATE ARGS...`; (transfer full) its stdout. */
static char *
vigil_run (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (GStrv) env = vigil_env ();
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;
  va_list ap;

  g_ptr_array_add (argv, vigil_path);
  g_ptr_array_add (argv, (char *) "--state-dir");
  g_ptr_array_add (argv, state_dir);
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                     &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("vigil %s: %s\n%s", first, error->message, err ? err : "");
  return g_steal_pointer (&out);
}

/* /proc/PID: user + system CPU seconds, resident and peak resident KiB. */
static double
proc_cpu (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid), *text = NULL;
  unsigned long utime = 0, stime = 0;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strrchr (text, ')')) == NULL
      || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
    return -1;
  return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

static long
proc_kib (GPid pid, const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid), *text = NULL;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strstr (text, field)) == NULL)
    return -1;
  return strtol (p + strlen (field) + 1, NULL, 10);
}

/* ---- the console: its stderr, line by line -------------------------------- */

typedef struct {
  GSubprocess *proc;
  GPid         pid;
  GThread     *reader;
  guint        completed;       /* "run N of device 'D' completed" */
  guint        failed;
  guint        dropped;         /* "report on ... dropped" */
  guint        connected;
  gint64       last_completed_us;
  GString     *tail;            /* the last lines, for a failure */
  GMutex       lock;
} Console;

static gpointer
console_reader (gpointer data)
{
  Console *c = data;
  GInputStream *in = g_subprocess_get_stderr_pipe (c->proc);
  g_autoptr (GDataInputStream) lines = g_data_input_stream_new (in);
  char *line;

  while ((line = g_data_input_stream_read_line (lines, NULL, NULL, NULL)) != NULL)
    {
      if (g_getenv ("BENCH_FLEET_VERBOSE") != NULL)
        g_printerr ("[console] %s\n", line);
      g_mutex_lock (&c->lock);
      if (strstr (line, "fleet: run ") != NULL && g_str_has_suffix (line, " completed"))
        {
          c->completed++;
          c->last_completed_us = g_get_monotonic_time ();
        }
      else if (strstr (line, "fleet: run ") != NULL && strstr (line, " failed") != NULL)
        c->failed++;
      else if (strstr (line, " dropped") != NULL)
        c->dropped++;
      else if (strstr (line, "connected to the broker") != NULL)
        c->connected++;
      if (strstr (line, " published to device ") == NULL && strstr (line, " completed") == NULL)
        {
          if (c->tail->len > 8192)
            g_string_erase (c->tail, 0, (gssize) (c->tail->len - 4096));
          g_string_append_printf (c->tail, "%s\n", line);
        }
      g_mutex_unlock (&c->lock);
      g_free (line);
    }
  return NULL;
}

static void
console_start (Console *c)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE
                                                               | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_auto (GStrv) env = vigil_env ();
  g_autoptr (GError) error = NULL;
  const char *id;

  g_mutex_init (&c->lock);
  c->tail = g_string_new (NULL);
  g_subprocess_launcher_set_environ (l, env);
  c->proc = g_subprocess_launcher_spawn (l, &error, vigil_path, "--state-dir", state_dir, "serve",
                                         NULL);
  if (c->proc == NULL)
    g_error ("vigil serve: %s", error->message);
  id = g_subprocess_get_identifier (c->proc);
  c->pid = (GPid) atoi (id);
  c->reader = g_thread_new ("console-stderr", console_reader, c);
}

static void
console_stop (Console *c)
{
  g_subprocess_send_signal (c->proc, SIGTERM);
  g_subprocess_wait (c->proc, NULL, NULL);
  g_thread_join (c->reader);
  g_object_unref (c->proc);
  g_string_free (c->tail, TRUE);
  g_mutex_clear (&c->lock);
}

static guint
console_get (Console *c, guint *field)
{
  guint v;

  g_mutex_lock (&c->lock);
  v = *field;
  g_mutex_unlock (&c->lock);
  return v;
}

/* ---- the bench's own connection, with the console's certificate ---------- */

typedef struct {
  natsConnection *nc;
  jsCtx          *js;
  guint           floor_replies;   /* atomic */
  gint64          floor_last_us;
} Probe;

static void
on_floor_reply (natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
  Probe *p = closure;

  p->floor_last_us = g_get_monotonic_time ();
  g_atomic_int_inc (&p->floor_replies);
  natsMsg_Destroy (msg);
}

static void
probe_connect (Probe *p, const char *url)
{
  g_autofree char *dir = g_build_filename (state_dir, "fleet", NULL);
  g_autofree char *ca = g_build_filename (dir, "ca.crt", NULL);
  g_autofree char *crt = g_build_filename (dir, "console.crt", NULL);
  g_autofree char *key = g_build_filename (dir, "console.key", NULL);
  g_autoptr (GError) error = NULL;
  natsOptions *opts = vigil_fleet_options_new (url, ca, crt, key, NULL, &error);
  natsStatus s;

  if (opts == NULL)
    g_error ("%s", error->message);
  if ((s = natsConnection_Connect (&p->nc, opts)) != NATS_OK
      || (s = natsConnection_JetStream (&p->js, p->nc, NULL)) != NATS_OK)
    g_error ("the bench's console connection: %s", natsStatus_GetText (s));
  natsOptions_Destroy (opts);
}

/* Consumers of @stream, or -1. */
static gint64
stream_consumers (Probe *p, const char *stream)
{
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  gint64 n;

  if (js_GetStreamInfo (&si, p->js, stream, NULL, &jerr) != NATS_OK)
    return -1;
  n = (gint64) si->State.Consumers;
  jsStreamInfo_Destroy (si);
  return n;
}

/* ---- waiting ------------------------------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

static gboolean
wait_for (const char *what, Condition cond, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_printerr ("bench-fleet: gave up waiting for %s after %d s\n", what, WAIT_LIMIT_S);
          return FALSE;
        }
      g_usleep (2 * 1000);   /* polling a condition, not timing anything */
    }
  return TRUE;
}

typedef struct {
  SimFleet *sim;
  Probe    *probe;
  Console  *console;
  guint     want;
} Ctx;

static gboolean
layout_ready (gpointer data)
{
  Ctx *x = data;
  static gint64 next = 0;
  gboolean ok;

  if (g_get_monotonic_time () < next)
    return FALSE;
  next = g_get_monotonic_time () + 200 * G_TIME_SPAN_MILLISECOND;
  ok = stream_consumers (x->probe, VIGIL_FLEET_STREAM_RUNS) >= x->want
       && stream_consumers (x->probe, VIGIL_FLEET_STREAM_SETTINGS) >= x->want;
  return ok;
}

static gboolean
all_infos (gpointer data)
{
  Ctx *x = data;
  SimCounters c;

  sim_fleet_counters (x->sim, &c);
  return c.infos >= x->want;
}

static gboolean
floor_done (gpointer data)
{
  Ctx *x = data;
  return (guint) g_atomic_int_get (&x->probe->floor_replies) >= x->want;
}

static gboolean
all_dispatched (gpointer data)
{
  Ctx *x = data;
  SimCounters c;

  sim_fleet_counters (x->sim, &c);
  return c.runs_received >= x->want;
}

static gboolean
all_stored (gpointer data)
{
  Ctx *x = data;
  return console_get (x->console, &x->console->completed)
         + console_get (x->console, &x->console->failed) >= x->want;
}

/* ---- phases -------------------------------------------------------------- */

static double
floor_round (Ctx *x, const SimDevice *devices, guint n)
{
  gint64 t0;

  g_atomic_int_set (&x->probe->floor_replies, 0);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *to = sim_floor_request_subject (devices[i].id);
      g_autofree char *reply = sim_floor_reply_subject (devices[i].id);

      natsConnection_PublishRequestString (x->probe->nc, to, reply, "ping");
    }
  x->want = n;
  if (!wait_for ("the floor's replies", floor_done, x))
    return -1;
  return (double) (x->probe->floor_last_us - t0) / G_USEC_PER_SEC;
}

static const char *
verdict (gboolean met)
{
  return met ? "met" : "MISSED";
}

static guint
stored_completed (const char *task)
{
  g_autofree char *out = vigil_run ("task", "show", task, "--json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *runs;
  guint n = 0;

  if (!json_parser_load_from_data (parser, out, -1, NULL))
    return 0;
  runs = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                       "runs");
  for (guint i = 0; runs != NULL && i < json_array_get_length (runs); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (runs, i),
                                                  "state"), "completed") == 0)
      n++;
  return n;
}

static char *
fleet_url (void)
{
  g_autofree char *path = g_build_filename (state_dir, "fleet", "fleet.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  if (!json_parser_load_from_file (parser, path, NULL))
    g_error ("cannot read %s", path);
  o = json_node_get_object (json_parser_get_root (parser));
  return g_strdup_printf ("tls://%s:%" G_GINT64_FORMAT,
                          json_object_get_string_member (o, "url_host"),
                          json_object_get_int_member (o, "port"));
}

static void
raise_fd_limit (guint n)
{
  struct rlimit rl;
  rlim_t want = (rlim_t) n + 2048;   /* a socket each, here and in the broker */

  getrlimit (RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < want)
    rl.rlim_max = want;   /* root may raise it; otherwise the next line says so */
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
    {
      getrlimit (RLIMIT_NOFILE, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  getrlimit (RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want)
    g_error ("%u agents need about %lu open files, the limit is %lu (ulimit -n)", n,
             (unsigned long) want, (unsigned long) rl.rlim_cur);
}

int
main (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "agents", 'n', 0, G_OPTION_ARG_INT, &n_agents, "Simulated agents (default 100; the "
      "figures: 1000 and 10000)", "N" },
    { "events-per-agent", 0, 0, G_OPTION_ARG_INT, &events_per_agent, "Events each agent sends, "
      "to a bare stream and to the console (default 20; 0: no events phase)", "K" },
    { "events", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &events_per_agent, NULL, "K" },
    { "pull-wait-ms", 0, 0, G_OPTION_ARG_INT, &pull_wait_ms, "Expiry of each pull request "
      "(default 30000, as the agent)", "MS" },
    { "heartbeat", 0, 0, G_OPTION_ARG_INT, &heartbeat_s, "Heartbeat interval, 0 for only the "
      "first (default 10, as the agent)", "S" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads for keys and TLS connects "
      "(default 2)", "T" },
    { "vigil", 0, 0, G_OPTION_ARG_FILENAME, &vigil_path, "The vigil binary (default: the build's)",
      "PATH" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &work_dir, "Work folder (default: a new one in /tmp)",
      "DIR" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the work folder", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- the console at fleet scale");
  g_autoptr (GError) error = NULL;
  g_autofree char *devices_dir = NULL, *url = NULL, *params = NULL, *pid_text = NULL;
  g_autofree char *pid_file = NULL, *task_out = NULL, *task_id = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  SimFleetOptions so = { 0 };
  SimDevice *devices;
  SimFleet *sim;
  Console console = { 0 };
  Probe probe = { 0 };
  Ctx x = { 0 };
  SimCounters c;
  GPid broker = 0;
  guint n;
  gint64 t;
  double enroll_s, broker_s, serve_s, connect_s, floor_s[3], floor_med, cpu0, cpu1;
  double dispatched_s, stored_s, ratio, reports_rate;
  double bench_cpu0, bench_cpu1;
  long console_rss, console_hwm, broker_rss, broker_hwm;
  guint in_store;
  BenchEvents events = { 0 };
  gboolean all_ok = TRUE;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-fleet: %s\n", error->message);
      return 2;
    }
  if (n_agents < 1 || n_agents > 99999 || events_per_agent < 0 || pull_wait_ms < 10
      || heartbeat_s < 0 || threads < 1)
    {
      g_printerr ("bench-fleet: --agents 1..99999, --events >= 0, --pull-wait-ms >= 10\n");
      return 2;
    }
  n = (guint) n_agents;
  vigil_fleet_process_init ();
  if (vigil_path == NULL)
    vigil_path = g_strdup (BENCH_VIGIL_PATH);
  raise_fd_limit (n);
  if (work_dir == NULL)
    work_dir = g_dir_make_tmp ("bench-fleet-XXXXXX", &error);
  if (work_dir == NULL || g_mkdir_with_parents (work_dir, 0700) != 0)
    g_error ("work folder: %s", error ? error->message : g_strerror (errno));
  state_dir = g_build_filename (work_dir, "console", NULL);
  devices_dir = g_build_filename (work_dir, "devices", NULL);

  printf ("bench/fleet: %u simulated agents, %d events each, pull wait %d ms, heartbeat %d s\n",
          n, events_per_agent, pull_wait_ms, heartbeat_s);
  printf ("machine: %ld cores, work folder %s\n", sysconf (_SC_NPROCESSORS_ONLN), work_dir);
  fflush (stdout);

  /* ---- set-up: fleet, devices, broker, console, agents ---- */
  g_free (vigil_run ("fleet", "init", "--port", "0", NULL));
  t = g_get_monotonic_time ();
  devices = bench_enroll (state_dir, devices_dir, n, (guint) threads, &error);
  if (devices == NULL)
    g_error ("enrollment: %s", error->message);
  enroll_s = (double) (g_get_monotonic_time () - t) / G_USEC_PER_SEC;
  t = g_get_monotonic_time ();
  g_free (vigil_run ("fleet", "broker", "start", NULL));
  broker_s = (double) (g_get_monotonic_time () - t) / G_USEC_PER_SEC;
  pid_file = g_build_filename (state_dir, "fleet", "broker.pid", NULL);
  if (g_file_get_contents (pid_file, &pid_text, NULL, NULL))
    broker = (GPid) atoi (pid_text);
  url = fleet_url ();
  probe_connect (&probe, url);
  x.probe = &probe;
  x.console = &console;
  t = g_get_monotonic_time ();
  console_start (&console);
  x.want = n;
  if (!wait_for ("the console's consumers", layout_ready, &x))
    g_error ("the console did not set up; its last lines:\n%s", console.tail->str);
  serve_s = (double) (g_get_monotonic_time () - t) / G_USEC_PER_SEC;
  printf ("set-up: enrollment %.1f s (%.2f ms/device), broker start %.1f s, console ready "
          "(%u devices' consumers) %.1f s\n", enroll_s, enroll_s * 1000 / n, broker_s, n, serve_s);
  fflush (stdout);

  so.url = url;
  so.ca_path = g_build_filename (state_dir, "fleet", "ca.crt", NULL);
  so.devices = devices;
  so.n_devices = n;
  so.pull_wait_ms = (guint) pull_wait_ms;
  so.heartbeat_s = (guint) heartbeat_s;
  so.connect_threads = (guint) threads;
  t = g_get_monotonic_time ();
  sim = sim_fleet_start (&so, &error);
  if (sim == NULL)
    g_error ("agents: %s", error->message);
  x.sim = sim;
  if (!wait_for ("every agent's consumer info", all_infos, &x))
    goto failed;
  connect_s = (double) (g_get_monotonic_time () - t) / G_USEC_PER_SEC;
  sim_fleet_start_pulling (sim);
  printf ("agents: %u connected over TLS with their own certificates in %.1f s\n", n, connect_s);
  fflush (stdout);

  /* ---- floor: the same connections, a bare request/reply round ---- */
  {
    natsSubscription *floor_sub = NULL;
    g_autofree char *floor_all = vigil_fleet_subject_live ("*", "floor");

    if (natsConnection_Subscribe (&floor_sub, probe.nc, floor_all, on_floor_reply, &probe)
        != NATS_OK)
      g_error ("floor subscription");
    natsSubscription_SetPendingLimits (floor_sub, -1, -1);
    natsConnection_Flush (probe.nc);
    for (int r = 0; r < 3; r++)
      if ((floor_s[r] = floor_round (&x, devices, n)) < 0)
        goto failed;
    natsSubscription_Unsubscribe (floor_sub);
    natsSubscription_Destroy (floor_sub);
    floor_med = MAX (MIN (floor_s[0], floor_s[1]),
                     MIN (MAX (floor_s[0], floor_s[1]), floor_s[2]));
    printf ("floor: bare NATS request/reply to all %u agents: %.3f s (median of %.3f, %.3f, "
            "%.3f)\n", n, floor_med, floor_s[0], floor_s[1], floor_s[2]);
    fflush (stdout);
  }

  /* ---- console: a group task to every agent, until every result is stored ---- */
  params = g_build_filename (work_dir, "notify.json", NULL);
  g_file_set_contents (params, "{\"user\": \"bench\"}", -1, NULL);
  cpu0 = proc_cpu (console.pid);
  bench_cpu0 = sim_self_cpu ();
  t = g_get_monotonic_time ();
  task_out = vigil_run ("task", "create", "--json", "--type", "notify.user", "--group",
                        BENCH_GROUP, "--params", params, "--name", "bench fan-out", NULL);
  if (!json_parser_load_from_data (parser, task_out, -1, &error))
    g_error ("task create: %s", error->message);
  task_id = g_strdup (json_object_get_string_member (
      json_node_get_object (json_parser_get_root (parser)), "id"));
  x.want = n;
  if (!wait_for ("every agent's run", all_dispatched, &x)
      || !wait_for ("every result stored", all_stored, &x))
    {
      g_printerr ("the console's last lines:\n%s", console.tail->str);
      goto failed;
    }
  sim_fleet_counters (sim, &c);
  dispatched_s = (double) (c.last_run_us - t) / G_USEC_PER_SEC;
  stored_s = (double) (console.last_completed_us - t) / G_USEC_PER_SEC;
  cpu1 = proc_cpu (console.pid);
  bench_cpu1 = sim_self_cpu ();
  console_rss = proc_kib (console.pid, "VmRSS:");
  console_hwm = proc_kib (console.pid, "VmHWM:");
  broker_rss = proc_kib (broker, "VmRSS:");
  broker_hwm = proc_kib (broker, "VmHWM:");
  in_store = stored_completed (task_id);
  ratio = stored_s / floor_med;
  /* From the first run an agent got to the last end stored. */
  reports_rate = 2.0 * n / ((double) (console.last_completed_us - c.first_run_us) / G_USEC_PER_SEC);
  printf ("console: group task to %u agents: all runs dispatched (every agent has its run) "
          "%.2f s, all results stored %.2f s\n", n, dispatched_s, stored_s);
  printf ("console: %u runs completed in the store (vigil task show), %u failed lines, "
          "%u report errors at the agents, %u pulls asked again (unanswered past expiry)\n",
          in_store, console.failed, c.report_errors, c.pulls_repeated);
  printf ("console: CPU %.2f s for the round (%.0f us per agent), RSS %.1f MB (peak %.1f MB); "
          "run reports stored %.0f/s (2 per run)\n", cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / n,
          console_rss / 1024.0, console_hwm / 1024.0, reports_rate);
  printf ("broker: RSS %.1f MB (peak %.1f MB); the bench's agents used %.2f s CPU meanwhile\n",
          broker_rss / 1024.0, broker_hwm / 1024.0, bench_cpu1 - bench_cpu0);
  fflush (stdout);
  all_ok = all_ok && in_store == n;

  /* ---- events: each agent sends K, to a bare stream and to the console (bench-events.c) ---- */
  events.sim = sim;
  events.js = probe.js;
  events.state_dir = state_dir;
  events.n_agents = n;
  events.per_agent = (guint) events_per_agent;
  if (events_per_agent > 0)
    {
      if (!bench_events_floor (&events, &error))
        {
          g_printerr ("events: %s\n", error->message);
          goto failed;   /* what was started is stopped all the same */
        }
      cpu0 = proc_cpu (console.pid);
      if (!bench_events_console (&events, &error))
        {
          g_printerr ("events: %s\nthe console's last lines:\n%s", error->message,
                      console.tail->str);
          goto failed;
        }
      cpu1 = proc_cpu (console.pid);
      console_hwm = MAX (console_hwm, proc_kib (console.pid, "VmHWM:"));
      bench_events_print (&events, cpu1 - cpu0, proc_kib (console.pid, "VmRSS:"));
    }

  /* ---- verdicts ---- */
  printf ("\ntargets (for 10,000 agents on 2 cores):\n");
  printf ("  all fanned out and stored < 10 s:   %6.2f s     %s\n", stored_s,
          verdict (stored_s < 10));
  if (events_per_agent == 0)
    printf ("  events ingested >= 20,000/s:        not run (--events-per-agent 0)\n");
  else
    bench_events_verdict (&events);
  printf ("  console RSS < 500 MB:               %6.1f MB    %s\n", console_hwm / 1024.0,
          verdict (console_hwm < 500 * 1024));
  printf ("  console overhead <= 3x NATS floor:  %6.1fx      %s (%.2f s / %.3f s)\n", ratio,
          verdict (ratio <= 3), stored_s, floor_med);
  fflush (stdout);

  if (FALSE)
    {
failed:
      /* Stop what was started all the same: the broker outlives us. */
      all_ok = FALSE;
    }

  /* ---- tear-down ---- */
  sim_fleet_free (sim);
  console_stop (&console);
  jsCtx_Destroy (probe.js);
  natsConnection_Destroy (probe.nc);
  g_free (vigil_run ("fleet", "broker", "stop", NULL));
  bench_devices_free (devices, n);
  g_free ((char *) so.ca_path);
  if (!keep)
    {
      g_autofree char *quoted = g_shell_quote (work_dir);
      g_autofree char *cmd = g_strdup_printf ("rm -rf %s", quoted);
      if (system (cmd) != 0)
        g_printerr ("bench-fleet: could not remove %s\n", work_dir);
    }
  g_free (state_dir);
  g_free (work_dir);
  g_free (vigil_path);
  vigil_fleet_process_shutdown ();
  return all_ok ? 0 : 1;
}
