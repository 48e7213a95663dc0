/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Network isolation for real, as root: the test moves itself into a new
 * network namespace (the machine's own network is never touched), makes a
 * veth pair and puts its far end in a second namespace, where a child
 * process serves TCP on three ports (a service, an excluded one, and the
 * "broker" of the management connection). Then, through the built
 * `vigil`: before isolation every port answers; isolated, only the
 * exclusion and the management connection do (the others are refused at
 * once: the device's own packets are rejected, not dropped); a table of another owner is
 * never touched; a lost table (a reboot) comes back at the next start; an
 * isolation past its period ends at the next start (the clock moved with
 * faketime); released by hand, everything answers again. Also the rule
 * builder's checks of exclusions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "resp-isolation.h"
#include "vt-cli.h"
#include "vt-net.h"

#define PEER "10.99.0.2"
static const guint16 ports[] = { 8001, 8002, 4222 };
static pid_t peer_pid;
static int peer_ctl = -1;

/* The peer: its own namespace, the veth's far end, three TCP services that
 * answer "ok". Only async-signal-safe work before it has its namespace. */
static void
peer_main (int ready, int ctl)
{
  int listeners[G_N_ELEMENTS (ports)];
  struct pollfd p[G_N_ELEMENTS (ports) + 1];

  if (unshare (CLONE_NEWNET) != 0)
    _exit (10);
  if (write (ready, "1", 1) != 1)
    _exit (11);
  while (if_nametoindex ("vb") == 0)   /* moved here by the parent */
    usleep (1000);
  if (system ("ip addr add " PEER "/24 dev vb && ip link set vb up && ip link set lo up") != 0)
    _exit (12);
  for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
    {
      struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (ports[i]) };
      int one = 1;

      listeners[i] = socket (AF_INET, SOCK_STREAM, 0);
      setsockopt (listeners[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind (listeners[i], (struct sockaddr *) &a, sizeof a) != 0 || listen (listeners[i], 16) != 0)
        _exit (13);
      p[i] = (struct pollfd){ .fd = listeners[i], .events = POLLIN };
    }
  p[G_N_ELEMENTS (ports)] = (struct pollfd){ .fd = ctl, .events = POLLIN };
  if (write (ready, "2", 1) != 1)
    _exit (14);
  for (;;)
    {
      if (poll (p, G_N_ELEMENTS (p), -1) < 0)
        continue;
      if (p[G_N_ELEMENTS (ports)].revents != 0)
        _exit (0);   /* the test closed its end */
      for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
        if (p[i].revents & POLLIN)
          {
            int c = accept (listeners[i], NULL, NULL);

            if (c >= 0)
              {
                (void) !write (c, "ok", 2);
                close (c);
              }
          }
    }
}

static void
network_setup (void)
{
  int ready[2], ctl[2];
  char c;
  g_autofree char *move = NULL;

  if (unshare (CLONE_NEWNET) != 0)
    g_error ("unshare(CLONE_NEWNET): %s", g_strerror (errno));
  vt_net_sh ("ip link set lo up && ip link add va type veth peer name vb");
  g_assert_cmpint (pipe (ready), ==, 0);
  g_assert_cmpint (pipe (ctl), ==, 0);
  peer_pid = fork ();
  if (peer_pid == 0)
    {
      close (ready[0]);
      close (ctl[1]);
      peer_main (ready[1], ctl[0]);
    }
  close (ready[1]);
  close (ctl[0]);
  peer_ctl = ctl[1];
  g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
  move = g_strdup_printf ("ip link set vb netns %d", peer_pid);
  vt_net_sh (move);
  vt_net_sh ("ip addr add 10.99.0.1/24 dev va && ip link set va up");
  if (read (ready[0], &c, 1) != 1 || c != '2')
    g_error ("the peer did not start");
  close (ready[0]);
}

static void
network_teardown (void)
{
  int status;

  close (peer_ctl);
  waitpid (peer_pid, &status, 0);
}

/* 0 when PEER:port answered "ok", else the errno of the attempt. */
static int
probe (guint16 port)
{
  char buf[2];
  int s = -1, e = vt_net_connect (-1, PEER, port, &s);

  if (e == 0)
    {
      if (read (s, buf, 2) != 2 || memcmp (buf, "ok", 2) != 0)
        e = EIO;
      close (s);
    }
  return e;
}

static void
assert_open (guint16 port)
{
  vt_net_assert_open (probe (port), PEER, port);
}

static void
assert_cut (guint16 port)
{
  vt_net_assert_cut (probe (port), PEER, port);
}

/* ---- the CLI ---------------------------------------------------------- */

typedef struct {
  char *dir;
  char *state;
} Fx;

static const char *const agent_env[] = { "VIGIL_MANAGEMENT_ENDPOINTS=" PEER ":4222", NULL };

static void
vigil (Fx *f, int status, const char *needle, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (VtCli) r = { 0 };
  const char *a;
  va_list ap;

  va_start (ap, needle);
  while ((a = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  vt_cli_runv (&r, f->state, NULL, agent_env, (const char *const *) argv->pdata);
  vt_cli_expect (&r, status, needle);
}

static void
run_task (Fx *f, const char *type, const char *params)
{
  g_autofree char *file = g_build_filename (f->dir, "params.json", NULL);
  g_autofree char *id = NULL;
  g_auto (VtCli) r = { 0 };

  g_assert_true (g_file_set_contents (file, params, -1, NULL));
  vt_cli_run (&r, f->state, NULL, agent_env, "task", "create", "--type", type, "--device", "here",
              "--params", file, "--schedule", "{\"kind\":\"manual\"}", "--json", NULL);
  vt_cli_expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, agent_env, "task", "run", id, NULL);
  vt_cli_expect (&r, 0, NULL);
}

static gboolean
table_present (const char *table)
{
  g_autofree char *cmd = g_strdup_printf ("nft list table inet %s >/dev/null 2>&1", table);

  return system (cmd) == 0;
}

static void
setup (Fx *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("vigil-isolation-XXXXXX", NULL);
  f->state = g_build_filename (f->dir, "state", NULL);
  vt_cli_ok (f->state, "group", "add", "office", NULL);
  vt_cli_ok (f->state, "device", "add", "here", "--group", "office", NULL);
  vt_cli_ok (f->state, "device", "set-machine", "here", NULL);
  /* Someone else's table, with a rule: isolation never touches it. */
  vt_net_sh ("nft add table inet admin_own && nft add chain inet admin_own c && "
      "nft add rule inet admin_own c counter");
}

static void
teardown (Fx *f, gconstpointer data)
{
  g_assert_true (table_present ("admin_own"));
  vt_net_sh ("nft delete table inet admin_own");
  (void) !system ("nft delete table inet " RESP_NFT_TABLE " 2>/dev/null");
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->state);
}

static void
test_isolate_and_release (Fx *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
    assert_open (ports[i]);
  run_task (f, "network.isolate",
            "{\"exclusions\": [{\"address\": \"" PEER "/32\", \"port\": 8002, "
            "\"protocol\": \"tcp\", \"direction\": \"outbound\"}]}");
  assert_cut (8001);
  assert_open (8002);   /* the exclusion */
  assert_open (4222);   /* the management connection */
  vigil (f, 0, "network.isolated", "events", NULL);
  /* The admin's command: it creates the task, `task run` runs it here. */
  {
    g_auto (VtCli) r = { 0 };
    g_autofree char *id = NULL;

    vt_cli_run (&r, f->state, NULL, agent_env, "respond", "release", "--device", "here", "--json", NULL);
    vt_cli_expect (&r, 0, "network.release");
    id = vt_cli_json_id (&r);
    vt_cli_clear (&r);
    vt_cli_run (&r, f->state, NULL, agent_env, "task", "run", id, NULL);
    vt_cli_expect (&r, 0, NULL);
  }
  for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
    assert_open (ports[i]);
  g_assert_false (table_present (RESP_NFT_TABLE));
  vigil (f, 0, "network.released", "events", NULL);
}

/* The kernel forgets the table on a reboot; the next start puts it back. */
static void
test_survives_reboot (Fx *f, gconstpointer data)
{
  run_task (f, "network.isolate", "{}");
  assert_cut (8001);
  assert_open (4222);
  vt_net_sh ("nft delete table inet " RESP_NFT_TABLE);   /* what a reboot does */
  assert_open (8001);
  vigil (f, 0, NULL, "device", "list", NULL);       /* any start of vigil */
  g_assert_true (table_present (RESP_NFT_TABLE));
  assert_cut (8001);
  assert_open (4222);
}

/* Past its period (the clock moved on), the next start ends it. */
static void
test_ends_after_period (Fx *f, gconstpointer data)
{
  static const char *const later[] = {
    "VIGIL_MANAGEMENT_ENDPOINTS=" PEER ":4222", "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "FAKETIME=+2h", "ASAN_OPTIONS=verify_asan_link_order=0:intercept_tls_get_addr=0", NULL,
  };
  g_auto (VtCli) r = { 0 };

  run_task (f, "network.isolate", "{\"minutes\": 60}");
  assert_cut (8001);
  vigil (f, 0, NULL, "device", "list", NULL);   /* still within the hour */
  assert_cut (8001);
  vt_cli_run (&r, f->state, NULL, later, "events", NULL);
  vt_cli_expect (&r, 0, "network.released");
  assert_open (8001);
  g_assert_false (table_present (RESP_NFT_TABLE));
  vigil (f, 0, "expired", "events", "--json", NULL);
}

static void
test_release_is_protected (Fx *f, gconstpointer data)
{
  g_autofree char *policy = g_build_filename (f->dir, "pw.json", NULL);
  g_autofree char *params = g_build_filename (f->dir, "none.json", NULL);
  g_auto (VtCli) r = { 0 };

  g_assert_true (g_file_set_contents (policy,
    "{\"name\":\"PW\",\"group\":\"office\",\"status\":\"active\",\"settings\":"
    "{\"general\":{\"schema_version\":1}}}", -1, NULL));
  g_assert_true (g_file_set_contents (params, "{}", -1, NULL));
  vt_cli_run (&r, f->state, "Isolation-Hold-2026!", NULL, "password", "set", "--policy", policy,
              "--iterations", "100000", NULL);
  vt_cli_expect (&r, 0, NULL);
  vt_cli_clear (&r);
  vt_cli_ok (f->state, "policy", "apply", policy, NULL);
  run_task (f, "network.isolate", "{}");
  vt_cli_run (&r, f->state, NULL, agent_env, "task", "create", "--type", "network.release",
              "--device", "here", "--params", params, NULL);
  g_assert_cmpint (r.status, !=, 0);
  vt_cli_expect (&r, r.status, "password");
  assert_cut (8001);
}

/* A lab device shares this machine's network: isolating it is refused
 * with the reason, and nothing is applied. */
static void
test_lab_device_refused (Fx *f, gconstpointer data)
{
  g_autofree char *root = g_build_filename (f->dir, "lab", NULL);
  g_autofree char *params = g_build_filename (f->dir, "none.json", NULL);
  g_autofree char *id = NULL;
  g_auto (VtCli) r = { 0 };

  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  g_assert_true (g_file_set_contents (params, "{}", -1, NULL));
  vt_cli_ok (f->state, "device", "add", "lab1", "--group", "office", "--root", root, NULL);
  vt_cli_run (&r, f->state, NULL, agent_env, "task", "create", "--type", "network.isolate",
              "--device", "lab1", "--params", params, "--schedule", "{\"kind\":\"manual\"}",
              "--json", NULL);
  vt_cli_expect (&r, 0, NULL);
  id = vt_cli_json_id (&r);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, agent_env, "task", "run", id, NULL);
  vt_cli_clear (&r);
  vt_cli_run (&r, f->state, NULL, agent_env, "task", "show", id, NULL);
  vt_cli_expect (&r, 0, "only a device without a root folder");
  g_assert_false (table_present (RESP_NFT_TABLE));
  assert_open (8001);
}

/* ---- the rule builder ------------------------------------------------- */

static void
test_exclusions_checked (void)
{
  static const struct { const char *json, *needle; } bad[] = {
    { "{\"address\": \"10.0.0.0/33\"}", "not an IP address or CIDR" },
    { "{\"address\": \"10.0.0.1; flush ruleset\"}", "not an IP address or CIDR" },
    { "{\"port\": 0}", "port number" },
    { "{\"port\": 70000}", "port number" },
    { "{\"port\": 22, \"protocol\": \"icmp\"}", "tcp, udp or any" },
    { "{\"port\": 22, \"direction\": \"sideways\"}", "inbound, outbound or both" },
    { "{\"port\": 22, \"comment\": \"x\"}", "unknown member 'comment'" },
    { "{\"protocol\": \"tcp\"}", "give an address, a port or both" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (JsonNode) n = json_from_string (bad[i].json, NULL);
      g_autoptr (GError) error = NULL;

      g_assert_null (resp_allow_parse (json_node_get_object (n), "exclusions[0]", &error));
      if (error == NULL || strstr (error->message, bad[i].needle) == NULL)
        g_error ("%s: expected \"%s\", got %s", bad[i].json, bad[i].needle,
                 error ? error->message : "no error");
      g_assert_nonnull (strstr (error->message, "exclusions[0]"));
    }
}

static void
test_script_shape (void)
{
  g_autoptr (RespIsolation) iso = g_new0 (RespIsolation, 1);
  g_autoptr (JsonNode) n = json_from_string ("{\"address\": \"192.0.2.0/24\", \"port\": 22, "
                                             "\"protocol\": \"tcp\", \"direction\": \"inbound\"}", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *script = NULL;

  iso->allows = g_ptr_array_new_with_free_func ((GDestroyNotify) resp_allow_free);
  g_ptr_array_add (iso->allows, resp_allow_parse (json_node_get_object (n), "x", &error));
  g_assert_no_error (error);
  g_assert_true (resp_isolation_add_management (iso, "127.0.0.9:4222", &error));
  g_assert_no_error (error);
  script = resp_isolation_script (iso);
  /* Inbound SSH from the admin network: in to our port 22, back out from it. */
  g_assert_nonnull (strstr (script, "ip saddr 192.0.2.0/24 tcp dport 22 accept"));
  g_assert_nonnull (strstr (script, "ip daddr 192.0.2.0/24 tcp sport 22 accept"));
  g_assert_nonnull (strstr (script, "ip daddr 127.0.0.9 tcp dport 4222 accept"));
  g_assert_null (strstr (script, "th dport 53"));   /* DNS not allowed here */
  g_assert_nonnull (strstr (script, "policy drop"));
  g_assert_true (g_str_has_prefix (script, "table inet vigil_isolation\ndelete table inet vigil_isolation\n"));
}

#define ADD(path, fn) g_test_add (path, Fx, NULL, setup, fn, teardown)

int
main (int argc, char **argv)
{
  int rc;
  gboolean root = getuid () == 0;

  /* Before any thread exists: the peer is forked from here. */
  if (root)
    network_setup ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/respond/isolation/exclusions-checked", test_exclusions_checked);
  g_test_add_func ("/respond/isolation/script-shape", test_script_shape);
  if (root)
    {
      ADD ("/respond/isolation/isolate-and-release", test_isolate_and_release);
      ADD ("/respond/isolation/survives-reboot", test_survives_reboot);
      ADD ("/respond/isolation/ends-after-period", test_ends_after_period);
      ADD ("/respond/isolation/release-is-protected", test_release_is_protected);
      ADD ("/respond/isolation/lab-device-refused", test_lab_device_refused);
    }
  else
    g_printerr ("not root: the network namespace tests are not run\n");
  rc = g_test_run ();
  if (root)
    network_teardown ();
  return rc;
}
