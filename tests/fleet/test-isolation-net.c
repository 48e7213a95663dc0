/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network isolation across the fleet, for real, as root (#15 item 1): the
 * test moves itself into a network namespace of its own (the console's
 * side; the machine's network is never touched) and makes a second one for
 * the device, joined by a veth pair. On the console's side run the broker
 * (nats-server through `vigil fleet broker run`, listening on the veth's
 * address), `vigil serve`, and two TCP services of a peer: an ordinary one
 * and one the isolation excludes. In the device's namespace runs a real
 * `vigil agent` (its own device, no root folder), enrolled over the veth;
 * it knows the broker by a name, which resolves through the test's own
 * /etc/hosts (bound over the machine's in a mount namespace of the test's)
 * until the test takes it out, as an isolation without DNS would.
 * The console sends `network.isolate` and `network.release` as an admin
 * would (`vigil respond`), and the test looks from the device's namespace:
 * the peer answers before; isolated, the service is refused while the
 * exclusion still answers, the run's result and heartbeats keep reaching
 * the console; the agent killed with SIGKILL and its table lost (what a
 * reboot does), the broker's name no longer resolving, comes back
 * isolated, reconnects through its own isolation to the address it
 * recorded and is managed again; the release arrives through the
 * isolation and the service answers again; an isolation past its period
 * ends by itself, `expired`, both by the running agent's timer and at the
 * agent's next start (the agent's clock moved on with libfaketime). Every
 * wait is for a line a process prints or for a state the console reports.
 */
#define _GNU_SOURCE
#include "vt-lab.h"
#include "vt-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define CONSOLE_ADDR  "10.98.0.1"   /* the console's end: broker and peer services */
#define BROKER_NAME   "broker.vigil-test"
#define DEVICE_ADDR   "10.98.0.2"   /* the device's end */
#define SERVICE_PORT  8101          /* cut off by the isolation */
#define EXCLUDED_PORT 8102          /* allowed by an exclusion */
#define DEVICE        "dev-iso"
#define TABLE         "vigil_isolation"

/* The namespaces (fds keep them alive) and the peer's listening sockets. */
static int console_ns = -1, device_ns = -1;
static int service_fd = -1, excluded_fd = -1;
/* The test's own /etc/hosts (bound over the machine's in a mount
 * namespace of the test's), where the broker's name resolves. */
static char *hosts_dir, *hosts_file;

/* ---- the two namespaces ------------------------------------------------- */

/* Moves the calling thread into @ns. A process it starts is born there:
 * that is how the agent is started in the device's namespace. */
static void
enter (int ns)
{
  if (setns (ns, CLONE_NEWNET) != 0)
    g_error ("setns: %s", g_strerror (errno));
}

static int
listen_on (guint16 port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  int one = 1, fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  inet_pton (AF_INET, CONSOLE_ADDR, &a.sin_addr);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &a, sizeof a) != 0 || listen (fd, 16) != 0)
    g_error ("listening on %s:%u: %s", CONSOLE_ADDR, port, g_strerror (errno));
  return fd;
}

/* Writes the hosts file in place (it is bound over /etc/hosts: a rename
 * would leave the old file there). */
static void
write_hosts (gboolean with_broker)
{
  FILE *f = fopen (hosts_file, "w");

  g_assert_nonnull (f);
  fputs ("127.0.0.1 localhost\n", f);
  if (with_broker)
    fputs (CONSOLE_ADDR " " BROKER_NAME "\n", f);
  g_assert_cmpint (fclose (f), ==, 0);
}

/* Before any thread exists (unshare of the network applies to the calling
 * thread, and every later thread inherits it; a new mount namespace needs
 * a single thread). NULL when it could run, or why not. */
static const char *
network_setup (void)
{
  g_autofree char *veth = NULL;

  if (getuid () != 0)
    return "not root: network namespaces need CAP_SYS_ADMIN";
  if (unshare (CLONE_NEWNET) != 0)
    return "no network namespace support (unshare(CLONE_NEWNET) failed)";
  if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return "no mount namespace support (unshare(CLONE_NEWNS) failed)";
  hosts_dir = g_dir_make_tmp ("vigil-fleet-hosts-XXXXXX", NULL);
  g_assert_nonnull (hosts_dir);
  hosts_file = g_build_filename (hosts_dir, "hosts", NULL);
  write_hosts (TRUE);
  if (mount (hosts_file, "/etc/hosts", NULL, MS_BIND, NULL) != 0)
    g_error ("binding %s over /etc/hosts: %s", hosts_file, g_strerror (errno));
  console_ns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (unshare (CLONE_NEWNET), ==, 0);
  device_ns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (console_ns, >=, 0);
  g_assert_cmpint (device_ns, >=, 0);
  vt_net_sh ("ip link set lo up");
  enter (console_ns);
  veth = g_strdup_printf ("ip link set lo up && "
                          "ip link add va type veth peer name vb netns /proc/%d/fd/%d && "
                          "ip addr add " CONSOLE_ADDR "/24 dev va && ip link set va up",
                          getpid (), device_ns);
  vt_net_sh (veth);
  enter (device_ns);
  vt_net_sh ("ip addr add " DEVICE_ADDR "/24 dev vb && ip link set vb up");
  enter (console_ns);
  service_fd = listen_on (SERVICE_PORT);
  excluded_fd = listen_on (EXCLUDED_PORT);
  return NULL;
}

/* 0 when a connection from the device's namespace to the peer's @port was
 * accepted, else the errno of the attempt. */
static int
probe (guint16 port)
{
  int s = -1, e = vt_net_connect (device_ns, CONSOLE_ADDR, port, &s);

  if (e == 0)
    {
      /* The peer takes it: the connection really reached the service. */
      int c = accept4 (port == SERVICE_PORT ? service_fd : excluded_fd, NULL, NULL, SOCK_CLOEXEC);

      g_assert_cmpint (c, >=, 0);
      close (c);
      close (s);
    }
  return e;
}

static void
assert_open (guint16 port)
{
  vt_net_assert_open (probe (port), CONSOLE_ADDR, port);
}

static void
assert_cut (guint16 port)
{
  vt_net_assert_cut (probe (port), CONSOLE_ADDR, port);
}

/* The rule that keeps the agent's connection to the broker open: to the
 * address the broker's name resolved to, not to the name. */
static void
assert_management_rule (VtLab *lab)
{
  g_autofree char *conf = g_build_filename (lab->console, "fleet", "fleet.json", NULL);
  g_autoptr (JsonNode) fleet = NULL;
  g_autofree char *out = NULL, *rule = NULL, *text = NULL;
  g_autoptr (GError) error = NULL;
  int status = -1;

  g_assert_true (g_file_get_contents (conf, &text, NULL, NULL));
  fleet = json_from_string (text, &error);
  g_assert_no_error (error);
  rule = g_strdup_printf ("ip daddr " CONSOLE_ADDR " tcp dport %" G_GINT64_FORMAT " accept",
                          json_object_get_int_member (json_node_get_object (fleet), "port"));
  enter (device_ns);
  g_spawn_command_line_sync ("nft list table inet " TABLE, &out, NULL, &status, &error);
  enter (console_ns);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  if (strstr (out, rule) == NULL)
    g_error ("no \"%s\" in the isolation's table:\n%s", rule, out);
}

static gboolean
table_present (void)
{
  int rc;

  enter (device_ns);
  rc = system ("nft list table inet " TABLE " >/dev/null 2>&1");
  enter (console_ns);
  return rc == 0;
}

/* ---- the fleet ---------------------------------------------------------- */

/* `vigil agent` on the device (no --root: the device is its namespace's
 * machine), heartbeats every second. */
static VtProc *
agent_start (const char *state, const char *const *env)
{
  const char *argv[] = { "agent", "--state-dir", state, "--heartbeat-interval", "1", NULL };
  VtProc *p;

  enter (device_ns);
  p = vt_proc_start ("agent", env, argv);
  enter (console_ns);
  return p;
}

/* Enrolled on the console, `agent enroll` over the veth from the device. */
static char *
enroll (VtLab *lab)
{
  g_autofree char *dir = g_build_filename (lab->dir, DEVICE, NULL);
  g_autofree char *file = g_build_filename (lab->dir, DEVICE ".enroll", NULL);
  g_autoptr (JsonObject) o = NULL;
  g_auto (VtCli) r = { 0 };
  const char *argv[] = { "agent", "enroll", file, "--state-dir", dir, NULL };
  gsize mark = vt_proc_mark (lab->broker);

  o = vt_lab_json (lab->console, "device", "enroll", DEVICE, "--group", "lab", "--output", file,
                   NULL);
  g_assert_true (json_object_get_boolean_member (o, "broker_reloaded"));
  vt_proc_wait (lab->broker, mark, VT_LAB_RELOADED);
  enter (device_ns);
  vt_cli_spawn (&r, NULL, argv);
  enter (console_ns);
  if (r.status != 0)
    g_error ("agent enroll exited %d: %s", r.status, r.err);
  return g_steal_pointer (&dir);
}

/* The device's agent record on the console. */
static JsonObject *
agent_record (VtLab *lab)
{
  g_autoptr (JsonObject) d = vt_lab_json (lab->console, "device", "show", DEVICE, NULL);

  g_assert_true (json_object_has_member (d, "agent"));
  return json_object_ref (json_object_get_object_member (d, "agent"));
}

/* Waits until the console has stored a heartbeat received after @since
 * (its clock and the test's are the same) and shows the device online.
 * The console prints nothing per heartbeat, so this looks at its record
 * again until it holds; the pause only spaces the looks (a heartbeat a
 * second, VT_PROC_WAIT_S to arrive). */
static void
wait_heartbeat_after (VtLab *lab, gint64 since)
{
  gint64 deadline = g_get_monotonic_time () + VT_PROC_WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (JsonObject) a = agent_record (lab);

      if (!json_object_get_null_member (a, "last_seen")
          && json_object_get_int_member (a, "last_seen") > since
          && json_object_get_boolean_member (a, "online"))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("no heartbeat of %s on the console after %" G_GINT64_FORMAT, DEVICE, since);
      g_usleep (100 * 1000);
    }
}

/* `vigil respond ACTION --device DEVICE [OPTION VALUE]` on the console, as
 * an admin would; the task it created (schedule "now": `vigil serve` sends
 * the run at once). */
static char *
respond (VtLab *lab, const char *action, const char *option, const char *value)
{
  g_autoptr (JsonObject) o = vt_lab_json (lab->console, "respond", action, "--device", DEVICE,
                                          option, value, NULL);

  return g_strdup (json_object_get_string_member (o, "id"));
}

/* Waits for the console to store the device's event @type and the run's
 * report; returns the mark after the later of the two. */
static gsize
wait_done (VtLab *lab, gsize mark, const char *type)
{
  g_autofree char *event = g_strdup_printf ("(%s) of device '" DEVICE "' stored", type);
  gsize a = vt_proc_wait (lab->serve, mark, event);
  gsize b = vt_proc_wait (lab->serve, mark, "of device '" DEVICE "' completed");

  return MAX (a, b);
}

/* The result of @task's only run, which completed. */
static JsonObject *
only_result (VtLab *lab, const char *task)
{
  g_autoptr (JsonArray) results = vt_lab_results (lab, task);
  JsonObject *r;

  g_assert_cmpuint (json_array_get_length (results), ==, 1);
  r = json_array_get_object_element (results, 0);
  g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "completed");
  return json_object_ref (json_object_get_object_member (r, "result"));
}

/* How many network.released events of the device, for @reason, the
 * console has stored. */
static guint
releases (VtLab *lab, const char *reason)
{
  g_autoptr (JsonArray) events = vt_lab_json_array (lab->console, "events", "--type",
                                                    "network.released", "--limit", "0", NULL);
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      JsonObject *payload = json_object_get_object_member (e, "payload");

      if (g_strcmp0 (json_object_get_string_member_with_default (e, "device", NULL), DEVICE) == 0
          && g_strcmp0 (json_object_get_string_member_with_default (payload, "reason", NULL),
                        reason) == 0)
        n++;
    }
  return n;
}

/* Moves the agent's clock (libfaketime reads the file at every look at
 * the time): "+2h" is two hours on, for its wall clock and its timers. */
static void
set_clock (const char *file, const char *offset)
{
  g_assert_true (g_file_set_contents (file, offset, -1, NULL));
}

static void
setup (VtLab *lab, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) fleet = NULL;

  lab->dir = g_dir_make_tmp ("vigil-fleet-isolation-XXXXXX", &error);
  g_assert_no_error (error);
  lab->console = g_build_filename (lab->dir, "console", NULL);
  /* The broker listens on the veth; agents reach it by its name, which
   * resolves to that address (the test's hosts file). */
  fleet = vt_lab_json (lab->console, "fleet", "init", "--listen", CONSOLE_ADDR, "--host",
                       BROKER_NAME, "--port", "0", NULL);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (fleet, "broker_url"),
                                   "tls://" BROKER_NAME ":"));
  vt_cli_ok (lab->console, "group", "add", "lab", NULL);
  lab->broker = vt_lab_broker_start (lab);
  lab->serve = vt_lab_serve_start (lab);
}

/* ---- the test ----------------------------------------------------------- */

static void
test_isolation_over_fleet (VtLab *lab, gconstpointer data)
{
  g_autofree char *state = enroll (lab);
  g_autofree char *exclusions = g_build_filename (lab->dir, "exclusions.json", NULL);
  g_autofree char *lib = vt_lab_faketime_lib ();
  g_autofree char *preload = g_strconcat ("LD_PRELOAD=", lib, NULL);
  g_autofree char *clock = g_build_filename (lab->dir, "agent-clock", NULL);
  g_autofree char *clock_env = g_strconcat ("FAKETIME_TIMESTAMP_FILE=", clock, NULL);
  g_autofree char *task = NULL, *release = NULL, *hour = NULL, *another = NULL;
  g_autoptr (JsonObject) result = NULL;
  /* The agent's clock is the test's to move (its monotonic clock too, so
   * that its timers see the time pass); ASan must accept a library loaded
   * before its runtime. */
  const char *env[] = { preload, clock_env, "FAKETIME_NO_CACHE=1",
                        "ASAN_OPTIONS=intercept_tls_get_addr=0:verify_asan_link_order=0", NULL };
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *agent;
  gint64 t;

  set_clock (clock, "+0");
  g_assert_true (g_file_set_contents (exclusions,
    "[{\"address\": \"" CONSOLE_ADDR "/32\", \"port\": 8102, \"protocol\": \"tcp\", "
    "\"direction\": \"outbound\"}]", -1, NULL));
  agent = agent_start (state, env);
  ms = vt_proc_wait (lab->serve, ms, "device '" DEVICE "' is online");

  /* Before: the device reaches both of the peer's services. */
  assert_open (SERVICE_PORT);
  assert_open (EXCLUDED_PORT);
  g_assert_false (table_present ());

  /* Isolated by the console, over the broker. */
  task = respond (lab, "isolate", "--exclusions", exclusions);
  ms = wait_done (lab, ms, "network.isolated");
  t = g_get_real_time ();
  assert_cut (SERVICE_PORT);
  assert_open (EXCLUDED_PORT);
  g_assert_true (table_present ());
  result = only_result (lab, task);
  g_assert_true (json_object_get_boolean_member (result, "isolated"));
  g_assert_true (json_object_get_boolean_member (result, "management_kept"));
  assert_management_rule (lab);
  /* The broker connection lives on: heartbeats still reach the console. */
  wait_heartbeat_after (lab, t);

  /* From here on the broker's name does not resolve: what an isolation
   * that cuts DNS off (allow_dns false), or a boot before DNS is up, does
   * to a name only DNS knows. */
  write_hosts (FALSE);

  /* Killed while isolated, and the table lost with it (a reboot): the
   * agent puts it back before it dials, from the addresses it recorded,
   * and reconnects through it to the broker's address. */
  vt_proc_kill (agent);
  enter (device_ns);
  vt_net_sh ("nft delete table inet " TABLE);
  enter (console_ns);
  assert_open (SERVICE_PORT);
  t = g_get_real_time ();
  agent = agent_start (state, env);
  vt_proc_wait (agent, 0, BROKER_NAME " does not resolve now; using its addresses");
  vt_proc_wait (agent, 0, "connected to tls://" CONSOLE_ADDR);
  g_assert_true (table_present ());
  assert_management_rule (lab);
  assert_cut (SERVICE_PORT);
  assert_open (EXCLUDED_PORT);
  wait_heartbeat_after (lab, t);

  /* Released by the console: it arrives through the isolation. */
  release = respond (lab, "release", NULL, NULL);
  ms = wait_done (lab, ms, "network.released");
  g_clear_pointer (&result, json_object_unref);
  result = only_result (lab, release);
  g_assert_true (json_object_get_boolean_member (result, "was_isolated"));
  g_assert_cmpuint (releases (lab, "manual"), ==, 1);
  assert_open (SERVICE_PORT);
  g_assert_false (table_present ());

  /* The end of the period, while the agent runs: isolated for an hour,
   * the agent's clock two hours on, its timer ends the isolation. */
  hour = respond (lab, "isolate", "--minutes", "60");
  ms = wait_done (lab, ms, "network.isolated");
  assert_cut (SERVICE_PORT);
  g_clear_pointer (&result, json_object_unref);
  result = only_result (lab, hour);
  g_assert_cmpint (json_object_get_int_member (result, "minutes"), ==, 60);
  set_clock (clock, "+2h");
  ms = vt_proc_wait (lab->serve, ms, "(network.released) of device '" DEVICE "' stored");
  g_assert_cmpuint (releases (lab, "expired"), ==, 1);
  assert_open (SERVICE_PORT);
  g_assert_false (table_present ());

  /* ... and at a start: isolated for an hour, the agent killed and
   * started two more hours on ends it before anything else. */
  another = respond (lab, "isolate", "--minutes", "60");
  ms = wait_done (lab, ms, "network.isolated");
  assert_cut (SERVICE_PORT);
  g_clear_pointer (&result, json_object_unref);
  result = only_result (lab, another);
  g_assert_cmpint (json_object_get_int_member (result, "minutes"), ==, 60);
  vt_proc_kill (agent);
  set_clock (clock, "+4h");
  agent = agent_start (state, env);
  ms = vt_proc_wait (lab->serve, ms, "(network.released) of device '" DEVICE "' stored");
  g_assert_cmpuint (releases (lab, "expired"), ==, 2);
  assert_open (SERVICE_PORT);
  g_assert_false (table_present ());
  g_assert_cmpuint (releases (lab, "manual"), ==, 1);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

int
main (int argc, char **argv)
{
  const char *why_not = network_setup ();
  int rc;

  g_test_init (&argc, &argv, NULL);
  if (why_not != NULL)
    {
      /* Exit 77: meson reports the test skipped, with the reason. */
      g_printerr ("skipped: %s\n", why_not);
      return 77;
    }
  g_test_add ("/fleet/isolation-net/isolate-restart-release-expire", VtLab, NULL, setup,
              test_isolation_over_fleet, vt_lab_teardown);
  rc = g_test_run ();
  g_unlink (hosts_file);
  g_rmdir (hosts_dir);
  return rc;
}
