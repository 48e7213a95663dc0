/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil serve`: the long-running host. It starts the tasks scheduled "on
 * application start", then on a GMainLoop with the real clock dispatches
 * events and runs due tasks every second, and takes events in two ways:
 * JSON lines on a Unix socket (mode 0600, one reply line per event) and
 * *.json files dropped in an inbox folder (moved to processed/, or to
 * failed/ with a NAME.error file saying why). One serve per state folder:
 * it holds an flock on STATE/serve.lock, which names its pid. SIGHUP
 * reloads what the host keeps in memory (vigil_host_reload()). SIGINT and
 * SIGTERM cancel the running runs, wait for them to record their state,
 * and exit with 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include <vigil/util/io.h>
#include "serve.h"

#define TICK_SECONDS 1

/* ---- taking one event ------------------------------------------------ */

static void
log_event (Serve *serve, JsonObject *event, const char *where)
{
  g_autoptr (JsonObject) o = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;
  const char *id = json_object_get_string_member (event, "id");
  const char *type = json_object_get_string_member (event, "type");
  const char *device = json_object_get_string_member_with_default (event, "device", NULL);

  if (!serve->json)
    {
      vigil_print ("event %s: %s%s%s (from %s)\n", id, type, device ? " on " : "",
               device ? device : "", where);
      return;
    }
  o = json_object_new ();
  json_object_set_string_member (o, "event", id);
  json_object_set_string_member (o, "type", type);
  if (device)
    json_object_set_string_member (o, "device", device);
  json_object_set_string_member (o, "from", where);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  text = json_to_string (node, FALSE);
  g_print ("%s\n", text); /* raw-ok: JSON, escaped by json-glib */
}

/* Parses, checks and stores one event. Returns its id or NULL. */
char *
serve_intake (Serve *serve, const char *data, gsize length, const char *where,
              GError **error)
{
  g_autoptr (JsonObject) event = NULL;
  char *id = vigil_host_emit_event_envelope (serve->host, "serve", data, (gssize) length,
                                             where, &event, error);

  if (id != NULL)
    log_event (serve, event, where);
  return id;
}

/* ---- the scheduler tick ---------------------------------------------- */

static gboolean
tick (gpointer data)
{
  Serve *serve = data;

  /* The runner turns the main context while it waits, so a tick can fire
   * inside a tick; the outer one will catch up. */
  if (serve->busy || g_cancellable_is_cancelled (serve->cancellable))
    return G_SOURCE_CONTINUE;
  serve->busy = TRUE;
  serve_process_inbox (serve);
  vigil_host_run_until_idle (serve->host, serve->cancellable);
  serve->busy = FALSE;
  return G_SOURCE_CONTINUE;
}

static gboolean
tick_once (gpointer data)
{
  Serve *serve = data;
  serve->idle_id = 0;
  tick (serve);
  return G_SOURCE_REMOVE;
}

void
serve_tick_soon (Serve *serve)
{
  if (serve->idle_id == 0)
    serve->idle_id = g_idle_add (tick_once, serve);
}

/* ---- one serve per state folder -------------------------------------- */

/* Takes STATE/serve.lock, held until the process ends (the kernel drops
 * an flock with its process, so a crashed serve leaves no stale lock),
 * and writes our pid in it for the error a second serve gives. */
static gboolean
lock_state (Serve *serve, GError **error)
{
  g_autofree char *path = g_build_filename (vigil_host_state_dir (serve->host), "serve.lock",
                                            NULL);
  g_autofree char *pid = NULL;
  int fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot open: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      g_autofree char *other = vigil_fd_read_bounded (fd, path, 64, NULL, NULL);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "another vigil serve (pid %s) is running on the state folder %s: "
                   "one serve per state folder (lock %s)",
                   other && *g_strstrip (other) ? other : "unknown",
                   vigil_host_state_dir (serve->host), path);
      close (fd);
      return FALSE;
    }
  pid = g_strdup_printf ("%d\n", (int) getpid ());
  if (ftruncate (fd, 0) != 0 || !vigil_write_all (fd, pid, strlen (pid)))
    g_printerr ("vigil serve: cannot write the pid to %s: %s\n", path, g_strerror (errno));
  serve->lock_fd = fd;
  return TRUE;
}

/* ---- start and stop -------------------------------------------------- */

static gboolean
on_reload (gpointer data)
{
  Serve *serve = data;

  vigil_host_reload (serve->host);
  vigil_print ("vigil serve: reloaded (SIGHUP): trace files reopened, settings re-read\n");
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer data)
{
  Serve *serve = data;

  vigil_print ("vigil serve: stopping (running runs are cancelled)\n");
  g_cancellable_cancel (serve->cancellable);
  g_main_loop_quit (serve->loop);
  return G_SOURCE_CONTINUE;
}


static void
serve_clear (Serve *serve)
{
  if (serve->service != NULL)
    {
      g_socket_service_stop (serve->service);
      g_socket_listener_close (G_SOCKET_LISTENER (serve->service));
      g_unlink (serve->socket_path);
      g_object_unref (serve->service);
    }
  if (serve->idle_id)
    g_source_remove (serve->idle_id);
  serve_close_inbox (serve);
  g_clear_object (&serve->cancellable);
  g_clear_pointer (&serve->loop, g_main_loop_unref);
  g_free (serve->socket_path);
  g_free (serve->inbox);
  if (serve->lock_fd >= 0)
    close (serve->lock_fd);   /* after the socket is gone: the next serve may start */
}

static int
serve_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *socket_path = NULL, *inbox = NULL;
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, "Unix socket for events (STATE/vigil.sock)", "PATH" },
    { "inbox", 0, 0, G_OPTION_ARG_FILENAME, &inbox, "Folder for event files (STATE/inbox)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Log taken events as JSON lines", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- run the scheduler and take events");
  g_autoptr (GError) error = NULL;
  Serve serve = { host, .inbox_fd = -1, .processed_fd = -1, .failed_fd = -1, .lock_fd = -1 };
  guint ids[4];

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 1)
    return cli_error ("serve", "%s", error ? error->message
                      : "usage: vigil serve [--socket PATH] [--inbox DIR]"), 2;
  serve.socket_path = socket_path ? g_steal_pointer (&socket_path)
                                  : g_build_filename (vigil_host_state_dir (host), "vigil.sock", NULL);
  serve.inbox = inbox ? g_steal_pointer (&inbox)
                      : g_build_filename (vigil_host_state_dir (host), "inbox", NULL);
  serve.json = json;
  serve.loop = g_main_loop_new (NULL, FALSE);
  serve.cancellable = g_cancellable_new ();
  if (!lock_state (&serve, &error) || !serve_open_inbox (&serve, &error) || !serve_listen (&serve, &error) ||
      ((serve.fleet = serve_fleet_start (&serve, &error)) == NULL && error != NULL))
    {
      cli_error ("serve", "%s", error->message);
      serve_clear (&serve);
      return 2;
    }

  vigil_host_set_pump_main_context (host, TRUE);
  ids[0] = g_unix_signal_add (SIGINT, on_signal, &serve);
  ids[1] = g_unix_signal_add (SIGTERM, on_signal, &serve);
  ids[2] = g_unix_signal_add (SIGHUP, on_reload, &serve);
  ids[3] = g_timeout_add_seconds (TICK_SECONDS, tick, &serve);
  vigil_print ("vigil serve: listening on %s, inbox %s (%u on-start task(s) due)\n",
           serve.socket_path, serve.inbox, vigil_host_trigger_tasks (host, "on_start", NULL));
  fflush (stdout);
  serve_tick_soon (&serve);
  g_main_loop_run (serve.loop);

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  /* Let cancelled socket reads call back and free their clients. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  vigil_host_set_pump_main_context (host, FALSE);
  serve_fleet_stop (serve.fleet);
  serve_clear (&serve);
  vigil_print ("vigil serve: stopped\n");
  return 0;
}

const CliCommand cli_serve = {
  "serve", "Run the scheduler and take events on a socket and an inbox folder",
  "serve [--socket PATH] [--inbox DIR]", serve_run,
};
