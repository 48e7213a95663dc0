/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil fleet ...` on the console: `init` sets the fleet up in the state
 * folder (a private CA made for the deployment or the admin's own, the
 * broker's and the console's certificates, issued from it or the admin's
 * own, checked first; fleet.json, the nats-server configuration); `show` prints it; `broker run|start|stop|status` runs
 * Debian's nats-server on that configuration, in the foreground (a
 * service, a test) or in the background (a lab, the demo). Its pid file is
 * how enrollment and revocation find the broker to reload.
 */
#include "cli-data.h"
#include "fleet-config.h"
#include "fleet-common.h"
#include "fleet-pki.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BROKER_WAIT_S 30

static const char *
nats_server_path (void)
{
  const char *env = g_getenv ("VIGIL_NATS_SERVER");

  if (env != NULL && *env)
    return env;
  /* Debian installs it in /usr/sbin, which a user's PATH may lack. */
  return g_file_test ("/usr/sbin/nats-server", G_FILE_TEST_IS_EXECUTABLE)
           ? "/usr/sbin/nats-server" : "nats-server";
}

/* A port the system has free now: the broker's port is fixed at init so
 * that enrollment files and agents keep one URL across broker restarts. */
static int
free_port (const char *listen, GError **error)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (listen);
  g_autoptr (GSocketAddress) any = NULL, bound = NULL;

  if (addr == NULL)
    addr = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  sock = g_socket_new (g_inet_address_get_family (addr), G_SOCKET_TYPE_STREAM,
                       G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return 0;
  any = g_inet_socket_address_new (addr, 0);
  if (!g_socket_bind (sock, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (sock, error);
  return bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

static gboolean
copy_private (const char *from, const char *to, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  return g_file_get_contents (from, &data, &len, error) &&
         vigil_fleet_write_private_file (to, data, (gssize) len, error);
}

static void
print_fleet (VigilHost *host, CliFleet *f, gboolean json)
{
  g_autofree char *url = cli_fleet_url (f);
  GPid pid = cli_fleet_broker_pid (f);

  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      JsonArray *names = json_array_new ();

      json_object_set_string_member (o, "broker_url", url);
      json_object_set_string_member (o, "listen", f->listen);
      json_object_set_int_member (o, "port", f->port);
      for (gsize i = 0; f->names[i]; i++)
        json_array_add_string_element (names, f->names[i]);
      json_object_set_array_member (o, "names", names);
      json_object_set_boolean_member (o, "own_ca", f->own_ca);
      json_object_set_string_member (o, "dir", f->dir);
      json_object_set_string_member (o, "broker_config", f->nats_conf);
      json_object_set_string_member (o, "ca", f->ca_crt);
      json_object_set_boolean_member (o, "broker_running", pid != 0);
      if (pid != 0)
        json_object_set_int_member (o, "broker_pid", pid);
      else
        json_object_set_null_member (o, "broker_pid");
      json_node_set_object (node, o);
      vigil_json_print (node);
      return;
    }
  vigil_print ("broker URL:     %s\n", url);
  vigil_print ("listens on:     %s:%d\n", f->listen, f->port);
  vigil_print ("CA:             %s (%s)\n", f->ca_crt, f->own_ca ? "the admin's own" : "made for this deployment");
  vigil_print ("broker config:  %s\n", f->nats_conf);
  if (pid != 0)
    vigil_print ("broker:         running (pid %d)\n", (int) pid);
  else
    vigil_print ("broker:         not running\n");
}

static int
fleet_init (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *listen = NULL, *url_host = NULL, *ca_cert = NULL, *ca_key = NULL;
  g_autofree char *broker_cert = NULL, *broker_key = NULL, *deployment = NULL;
  g_autofree char *console_cert = NULL, *console_key = NULL;
  g_auto (GStrv) names = NULL;
  int port = 4222;
  g_autoptr (CliFleet) f = cli_fleet_paths (host);
  g_autoptr (VigilFleetCa) ca = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GStrvBuilder) all = g_strv_builder_new ();
  const GOptionEntry entries[] = {
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address the broker listens on (default 127.0.0.1)", "ADDR" },
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Port (default 4222; 0: a free one, chosen now)", "PORT" },
    { "host", 0, 0, G_OPTION_ARG_STRING, &url_host, "Name agents reach the broker by (default: the listen address, or the host name for 0.0.0.0 and ::)", "NAME" },
    { "name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, "Another name for the broker's certificate (repeatable)", "NAME" },
    { "deployment", 0, 0, G_OPTION_ARG_STRING, &deployment, "Name in the CA's subject (default: Vigil fleet)", "NAME" },
    { "ca-cert", 0, 0, G_OPTION_ARG_FILENAME, &ca_cert, "The admin's own issuing CA certificate", "FILE" },
    { "ca-key", 0, 0, G_OPTION_ARG_FILENAME, &ca_key, "Its key", "FILE" },
    { "broker-cert", 0, 0, G_OPTION_ARG_FILENAME, &broker_cert, "The admin's own broker certificate", "FILE" },
    { "broker-key", 0, 0, G_OPTION_ARG_FILENAME, &broker_key, "Its key", "FILE" },
    { "console-cert", 0, 0, G_OPTION_ARG_FILENAME, &console_cert, "The admin's own console (client) certificate, subject CN=vigil console", "FILE" },
    { "console-key", 0, 0, G_OPTION_ARG_FILENAME, &console_key, "Its key", "FILE" },
    { NULL },
  };

  if (!cli_parse ("fleet", "init", "Set up the fleet in the state folder: CA, certificates, "
                  "broker configuration.", entries, &argc, &argv) ||
      !cli_need_args ("fleet", argc, 1, "fleet init [--listen ADDR] [--port PORT] [--host NAME] ..."))
    return 2;
  if ((ca_cert == NULL) != (ca_key == NULL) || (broker_cert == NULL) != (broker_key == NULL)
      || (console_cert == NULL) != (console_key == NULL))
    {
      cli_error ("fleet", "--ca-cert and --ca-key go together, and so do --broker-cert "
                 "and --broker-key, and --console-cert and --console-key");
      return 2;
    }
  if ((broker_cert != NULL || console_cert != NULL) && ca_cert == NULL)
    {
      cli_error ("fleet", "an own broker or console certificate needs its issuing CA "
                 "(--ca-cert, --ca-key)");
      return 2;
    }
  if (port < 0 || port > 65535)
    {
      cli_error ("fleet", "--port %d is out of range", port);
      return 2;
    }
  if (g_file_test (f->json_path, G_FILE_TEST_EXISTS))
    {
      cli_error ("fleet", "a fleet is already configured in %s", f->dir);
      return 2;
    }
  f->listen = g_strdup (listen ? listen : "127.0.0.1");
  /* Nobody dials a wildcard address: agents get the host's name. */
  if (url_host == NULL && (g_str_equal (f->listen, "0.0.0.0") || g_str_equal (f->listen, "::")))
    url_host = g_strdup (g_get_host_name ());
  f->url_host = g_strdup (url_host ? url_host : f->listen);
  f->port = port ? port : free_port (f->listen, &error);
  if (f->port == 0)
    return cli_fail ("fleet", error);
  g_strv_builder_add (all, f->url_host);
  if (!g_str_equal (f->url_host, "127.0.0.1"))
    g_strv_builder_add (all, "127.0.0.1");
  if (!g_str_equal (f->url_host, "localhost"))
    g_strv_builder_add (all, "localhost");
  for (gsize i = 0; names && names[i]; i++)
    g_strv_builder_add (all, names[i]);
  f->names = g_strv_builder_end (all);
  f->own_ca = ca_cert != NULL;

  if (g_mkdir_with_parents (f->dir, 0700) != 0 || g_mkdir_with_parents (f->store_dir, 0700) != 0)
    {
      cli_error ("fleet", "cannot create %s: %s", f->dir, g_strerror (errno));
      return 2;
    }
  if (ca_cert != NULL)
    {
      ca = vigil_fleet_ca_load (ca_cert, ca_key, &error);
      if (ca == NULL || !copy_private (ca_cert, f->ca_crt, &error) ||
          !copy_private (ca_key, f->ca_key, &error))
        return cli_fail ("fleet", error);
    }
  else
    {
      ca = vigil_fleet_ca_create (deployment ? deployment : "Vigil fleet", f->ca_crt,
                                  f->ca_key, &error);
      if (ca == NULL)
        return cli_fail ("fleet", error);
    }
  if (broker_cert != NULL)
    {
      if (!vigil_fleet_pki_check (f->ca_crt, broker_cert, broker_key, VIGIL_FLEET_CERT_SERVER,
                                  f->url_host, &error) ||
          !copy_private (broker_cert, f->broker_crt, &error) ||
          !copy_private (broker_key, f->broker_key, &error))
        return cli_fail ("fleet", error);
    }
  else if (!vigil_fleet_ca_issue_server (ca, (const char *const *) f->names, f->broker_crt,
                                         f->broker_key, &error))
    return cli_fail ("fleet", error);
  if (console_cert != NULL)
    {
      if (!vigil_fleet_pki_check_console (f->ca_crt, console_cert, console_key, &error) ||
          !copy_private (console_cert, f->console_crt, &error) ||
          !copy_private (console_key, f->console_key, &error))
        return cli_fail ("fleet", error);
    }
  else if (!vigil_fleet_ca_issue_console (ca, f->console_crt, f->console_key, &error))
    return cli_fail ("fleet", error);
  if (!cli_fleet_sync_broker (f, host, NULL, &error) ||
      /* fleet.json last: it is what says the fleet is configured. */
      !cli_fleet_save (f, &error))
    return cli_fail ("fleet", error);
  if (!globals->json)
    vigil_print ("fleet configured in %s\n", f->dir);
  print_fleet (host, f, globals->json);
  return 0;
}

static int
fleet_show (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CliFleet) f = NULL;

  if (!cli_parse ("fleet", "show", "Show the fleet's configuration and the broker's state.",
                  NULL, &argc, &argv) ||
      !cli_need_args ("fleet", argc, 1, "fleet show"))
    return 2;
  f = cli_fleet_load (host, &error);
  if (f == NULL)
    return cli_fail ("fleet", error);
  print_fleet (host, f, globals->json);
  return 0;
}

/* ---- the broker ------------------------------------------------------- */

/* The broker's configuration as the store says now, then the broker. */
static CliFleet *
broker_prepare (VigilHost *host, GError **error)
{
  g_autoptr (CliFleet) f = cli_fleet_load (host, error);

  if (f == NULL)
    return NULL;
  if (cli_fleet_broker_pid (f) != 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE,
                   "the broker is already running (pid %d, %s)",
                   (int) cli_fleet_broker_pid (f), f->pid_file);
      return NULL;
    }
  if (!cli_fleet_sync_broker (f, host, NULL, error))
    return NULL;
  return g_steal_pointer (&f);
}

/* In the foreground: becomes nats-server (a service manager or a test
 * supervises it; it logs on stderr). */
static int
broker_run (VigilHost *host, CliFleet *f)
{
  const char *server = nats_server_path ();

  fflush (stdout);
  execlp (server, server, "-c", f->nats_conf, "-P", f->pid_file, (char *) NULL);
  cli_error ("fleet", "cannot run %s: %s (install the nats-server package, or set "
             "VIGIL_NATS_SERVER)", server, g_strerror (errno));
  return 2;
}

static void
start_session (gpointer data)
{
  /* Its own session: the broker outlives this command and its terminal. */
  setsid ();
}

/* In the background: starts nats-server with its output in broker.log,
 * and waits until it says it is ready, or has exited. */
static int
broker_start (VigilHost *host, const CliGlobals *globals, CliFleet *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *log_path = g_build_filename (f->dir, "broker.log", NULL);
  const char *argv[] = { nats_server_path (), "-c", f->nats_conf, "-P", f->pid_file, NULL };
  gint64 deadline = g_get_monotonic_time () + BROKER_WAIT_S * G_USEC_PER_SEC;
  GPid pid = 0;
  int fd, status;

  fd = g_open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      cli_error ("fleet", "cannot write %s: %s", log_path, g_strerror (errno));
      return 2;
    }
  g_unlink (f->pid_file);
  if (!g_spawn_async_with_fds (NULL, (char **) argv, NULL,
                               G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                               start_session, NULL, &pid, -1, fd, fd, &error))
    {
      close (fd);
      return cli_fail ("fleet", error);
    }
  close (fd);
  for (;;)
    {
      g_autofree char *log = NULL;

      if (g_file_get_contents (log_path, &log, NULL, NULL) && strstr (log, "Server is ready") &&
          cli_fleet_broker_pid (f) == pid)
        break;
      if (waitpid (pid, &status, WNOHANG) == pid)
        {
          cli_error ("fleet", "the broker exited at start; its log (%s):\n%s", log_path,
                     log ? log : "");
          return 2;
        }
      if (g_get_monotonic_time () > deadline)
        {
          kill (pid, SIGTERM);
          cli_error ("fleet", "the broker was not ready after %d s; its log: %s",
                     BROKER_WAIT_S, log_path);
          return 2;
        }
      /* Polling a file: the broker is another process with no other way
       * to tell us. */
      g_usleep (20000);
    }
  if (globals->json)
    print_fleet (host, f, TRUE);
  else
    vigil_print ("broker started (pid %d), log %s\n", (int) pid, log_path);
  return 0;
}

static int
broker_stop (VigilHost *host, const CliGlobals *globals, CliFleet *f)
{
  GPid pid = cli_fleet_broker_pid (f);
  gint64 deadline = g_get_monotonic_time () + BROKER_WAIT_S * G_USEC_PER_SEC;

  if (pid == 0)
    {
      if (!globals->json)
        vigil_print ("the broker is not running\n");
      else
        print_fleet (host, f, TRUE);
      return 0;
    }
  if (kill (pid, SIGTERM) != 0)
    {
      cli_error ("fleet", "cannot stop the broker (pid %d): %s", (int) pid, g_strerror (errno));
      return 2;
    }
  /* It is not our child: wait for it to be gone. */
  while (kill (pid, 0) == 0 || errno != ESRCH)
    {
      if (g_get_monotonic_time () > deadline)
        {
          cli_error ("fleet", "the broker (pid %d) did not stop within %d s", (int) pid,
                     BROKER_WAIT_S);
          return 2;
        }
      g_usleep (20000);
    }
  g_unlink (f->pid_file);
  if (globals->json)
    print_fleet (host, f, TRUE);
  else
    vigil_print ("broker stopped (pid %d)\n", (int) pid);
  return 0;
}

static int
fleet_broker (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CliFleet) f = NULL;
  const char *usage = "fleet broker run|start|stop|status";
  const char *sub;

  if (!cli_parse ("fleet", "broker run|start|stop|status",
                  "Run the fleet's broker (nats-server): run in the foreground, start in "
                  "the background, stop it, or say whether it runs.", NULL, &argc, &argv) ||
      !cli_need_args ("fleet", argc, 2, usage))
    return 2;
  sub = argv[1];
  if (g_str_equal (sub, "run") || g_str_equal (sub, "start"))
    {
      f = broker_prepare (host, &error);
      if (f == NULL)
        return cli_fail ("fleet", error);
      return g_str_equal (sub, "run") ? broker_run (host, f) : broker_start (host, globals, f);
    }
  f = cli_fleet_load (host, &error);
  if (f == NULL)
    return cli_fail ("fleet", error);
  if (g_str_equal (sub, "stop"))
    return broker_stop (host, globals, f);
  if (g_str_equal (sub, "status"))
    {
      print_fleet (host, f, globals->json);
      /* Like a service status: 1 when it is not running. */
      return cli_fleet_broker_pid (f) != 0 ? 0 : 1;
    }
  cli_error ("fleet", "unknown broker action '%s' (expected: %s)", sub, usage);
  return 2;
}

static int
fleet_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : "";

  if (g_str_equal (sub, "init"))
    return fleet_init (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "show"))
    return fleet_show (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "broker"))
    return fleet_broker (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      vigil_print ("Usage: vigil fleet %s\n", cli_fleet.usage);
      return 0;
    }
  cli_error ("fleet", "unknown subcommand '%s' (expected: %s)", sub, cli_fleet.usage);
  return 2;
}

const CliCommand cli_fleet = {
  "fleet", "The console's fleet: set up (CA, certificates), show, run the broker",
  "init [--listen ADDR] [--port PORT] [--host NAME] [--name NAME]... "
  "[--ca-cert FILE --ca-key FILE [--broker-cert FILE --broker-key FILE] "
  "[--console-cert FILE --console-key FILE]] | show | "
  "broker run|start|stop|status",
  fleet_run,
};
