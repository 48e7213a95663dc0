/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil serve`: the long-running host. It starts the tasks scheduled "on
 * application start", then on a GMainLoop with the real clock dispatches
 * events and runs due tasks every second, and takes events in two ways:
 * JSON lines on a Unix socket (mode 0600, one reply line per event) and
 * *.json files dropped in an inbox folder (moved to processed/, or to
 * failed/ with a NAME.error file saying why). SIGINT and SIGTERM cancel the
 * running runs, wait for them to record their state, and exit with 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>
#include <stdio.h>
#include <sys/stat.h>
#include "cli.h"
#include "tasks/tasks-private.h"

#define TICK_SECONDS 1
#define READ_CHUNK 8192

typedef struct {
  VigilHost      *host;
  GMainLoop      *loop;
  GCancellable   *cancellable;
  GSocketService *service;
  char           *socket_path;
  char           *inbox;
  gboolean        busy;
  gboolean        json;          /* one JSON object per line on stdout */
  guint           idle_id;
} Serve;

/* ---- taking one event ------------------------------------------------ */

static void
log_event (Serve *serve, const char *id, const VhEventEnvelope *envelope, const char *where)
{
  g_autoptr (JsonObject) o = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *text = NULL;

  if (!serve->json)
    {
      g_print ("event %s: %s%s%s (from %s)\n", id, envelope->type,
               envelope->device_id ? " on " : "", envelope->device_id ? envelope->device_id : "",
               where);
      return;
    }
  o = json_object_new ();
  json_object_set_string_member (o, "event", id);
  json_object_set_string_member (o, "type", envelope->type);
  if (envelope->device_id)
    json_object_set_string_member (o, "device", envelope->device_id);
  json_object_set_string_member (o, "from", where);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  text = json_to_string (node, FALSE);
  g_print ("%s\n", text);
}

/* Parses, checks and stores one event. Returns its id or NULL. */
static char *
intake (Serve *serve, const char *data, gsize length, const char *where, GError **error)
{
  g_autoptr (VhEventEnvelope) envelope = vh_event_envelope_parse (data, (gssize) length,
                                                                  where, error);
  char *id;

  if (envelope == NULL)
    return NULL;
  if (envelope->device_id != NULL)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (JsonObject) device = vh_inventory_device (serve->host, envelope->device_id,
                                                           &local_error);
      if (device == NULL)
        {
          g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND, "%s: %s",
                       where, local_error->message);
          return NULL;
        }
    }
  id = vh_events_emit (serve->host, "serve", envelope->type, envelope->device_id,
                       envelope->payload_version, envelope->payload, error);
  if (id != NULL)
    log_event (serve, id, envelope, where);
  return id;
}

/* ---- the scheduler tick ---------------------------------------------- */

static void process_inbox (Serve *serve);

static gboolean
tick (gpointer data)
{
  Serve *serve = data;

  /* The runner turns the main context while it waits, so a tick can fire
   * inside a tick; the outer one will catch up. */
  if (serve->busy || g_cancellable_is_cancelled (serve->cancellable))
    return G_SOURCE_CONTINUE;
  serve->busy = TRUE;
  process_inbox (serve);
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

static void
tick_soon (Serve *serve)
{
  if (serve->idle_id == 0)
    serve->idle_id = g_idle_add (tick_once, serve);
}

/* ---- the inbox ------------------------------------------------------- */

/* A free name in @folder: NAME, else NAME.1, NAME.2, ... */
static char *
free_path (const char *folder, const char *name)
{
  char *path = g_build_filename (folder, name, NULL);

  for (int i = 1; g_file_test (path, G_FILE_TEST_EXISTS) && i < 10000; i++)
    {
      g_free (path);
      g_autofree char *numbered = g_strdup_printf ("%s.%d", name, i);
      path = g_build_filename (folder, numbered, NULL);
    }
  return path;
}

static void
file_away (Serve *serve, const char *path, const char *name, const char *reason)
{
  g_autofree char *folder = g_build_filename (serve->inbox, reason ? "failed" : "processed", NULL);
  g_autofree char *target = free_path (folder, name);

  if (g_rename (path, target) != 0)
    {
      g_printerr ("vigil serve: cannot move %s to %s: %s\n", path, target, g_strerror (errno));
      g_unlink (path);   /* never process the same file forever */
      return;
    }
  if (reason != NULL)
    {
      g_autofree char *error_path = g_strconcat (target, ".error", NULL);
      g_autofree char *text = g_strconcat (reason, "\n", NULL);
      g_file_set_contents (error_path, text, -1, NULL);
      g_printerr ("vigil serve: %s\n", reason);
    }
}

/* Reads a dropped file without following a link or blocking on a FIFO
 * swapped in, and never more than an envelope's limit. */
static char *
read_dropped_file (const char *path, const char *where, gsize *length, GError **error)
{
  g_autofree char *data = NULL;
  struct stat st;
  gssize n = 0;
  gsize got = 0;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: not a readable regular file (links are not followed)", where);
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  data = g_malloc (VH_EVENT_MAX_ENVELOPE + 1);
  while (got <= VH_EVENT_MAX_ENVELOPE
         && (n = read (fd, data + got, VH_EVENT_MAX_ENVELOPE + 1 - got)) > 0)
    got += (gsize) n;
  close (fd);
  if (n < 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "%s: cannot read it: %s", where, g_strerror (errno));
      return NULL;
    }
  if (got > VH_EVENT_MAX_ENVELOPE)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "%s: more than %d bytes", where, VH_EVENT_MAX_ENVELOPE);
      return NULL;
    }
  *length = got;
  return g_steal_pointer (&data);
}

static void
process_inbox_file (Serve *serve, const char *name)
{
  g_autofree char *path = g_build_filename (serve->inbox, name, NULL);
  g_autofree char *where = g_strconcat ("inbox/", name, NULL);
  g_autofree char *data = NULL;
  g_autofree char *id = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return;   /* gone meanwhile */
  data = read_dropped_file (path, where, &length, &error);
  if (data != NULL)
    id = intake (serve, data, length, where, &error);
  file_away (serve, path, name, id ? NULL : error->message);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
process_inbox (Serve *serve)
{
  g_autoptr (GDir) dir = g_dir_open (serve->inbox, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.' && g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  /* Oldest name first: writers that number their files keep their order. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    process_inbox_file (serve, names->pdata[i]);
}

/* ---- the socket ------------------------------------------------------ */

typedef struct {
  Serve             *serve;
  GSocketConnection *connection;
  GString           *buffer;
  guint              line;
  char               chunk[READ_CHUNK];
} Client;

static void
client_free (Client *client)
{
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_object_unref (client->connection);
  g_string_free (client->buffer, TRUE);
  g_free (client);
}

static void
reply (Client *client, const char *id, const char *error_message)
{
  g_autoptr (JsonObject) o = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));

  json_object_set_boolean_member (o, "ok", id != NULL);
  if (id != NULL)
    json_object_set_string_member (o, "id", id);
  else
    json_object_set_string_member (o, "error", error_message);
  json_node_set_object (node, o);
  text = json_to_string (node, FALSE);
  line = g_strconcat (text, "\n", NULL);
  g_output_stream_write_all (out, line, strlen (line), NULL, NULL, NULL);
}

static void
handle_line (Client *client, const char *line, gsize length)
{
  g_autofree char *where = g_strdup_printf ("socket line %u", ++client->line);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  if (length == 0 || (length == 1 && line[0] == '\r'))
    return;
  id = intake (client->serve, line, length, where, &error);
  reply (client, id, id ? NULL : error->message);
  if (id != NULL)
    tick_soon (client->serve);
}

/* Handles every complete line; FALSE when the client must be dropped. */
static gboolean
handle_lines (Client *client)
{
  char *newline;

  while ((newline = memchr (client->buffer->str, '\n', client->buffer->len)) != NULL)
    {
      gsize length = (gsize) (newline - client->buffer->str);
      handle_line (client, client->buffer->str, length);
      g_string_erase (client->buffer, 0, (gssize) length + 1);
    }
  if (client->buffer->len > VH_EVENT_MAX_ENVELOPE)
    {
      reply (client, NULL, "line too long: an event is at most 1 MiB of JSON on one line");
      return FALSE;
    }
  return TRUE;
}

static void read_more (Client *client);

static void
on_read (GObject *stream, GAsyncResult *result, gpointer data)
{
  Client *client = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (stream), result, NULL);

  if (n > 0)
    {
      g_string_append_len (client->buffer, client->chunk, n);
      if (handle_lines (client))
        {
          read_more (client);
          return;
        }
    }
  else if (client->buffer->len > 0)
    handle_line (client, client->buffer->str, client->buffer->len);   /* no final newline */
  client_free (client);
}

static void
read_more (Client *client)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (client->connection));
  g_input_stream_read_async (in, client->chunk, sizeof client->chunk, G_PRIORITY_DEFAULT,
                             client->serve->cancellable, on_read, client);
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer data)
{
  Client *client = g_new0 (Client, 1);

  client->serve = data;
  client->connection = g_object_ref (connection);
  client->buffer = g_string_new (NULL);
  read_more (client);
  return TRUE;
}

static gboolean
listen_on_socket (Serve *serve, GError **error)
{
  g_autoptr (GSocketAddress) address = NULL;
  GStatBuf st;
  mode_t old_mask;
  gboolean ok;

  if (strlen (serve->socket_path) >= 100)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "socket path %s is too long for a Unix socket; use --socket", serve->socket_path);
      return FALSE;
    }
  /* A socket left by a serve that crashed; never remove anything else. */
  if (g_lstat (serve->socket_path, &st) == 0 && S_ISSOCK (st.st_mode))
    g_unlink (serve->socket_path);
  address = g_unix_socket_address_new (serve->socket_path);
  serve->service = g_socket_service_new ();
  /* Created 0600 from the start: no window in which others could connect. */
  old_mask = umask (0177);
  ok = g_socket_listener_add_address (G_SOCKET_LISTENER (serve->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                      NULL, NULL, error);
  umask (old_mask);
  if (!ok)
    return FALSE;
  g_chmod (serve->socket_path, 0600);
  g_signal_connect (serve->service, "incoming", G_CALLBACK (on_incoming), serve);
  g_socket_service_start (serve->service);
  return TRUE;
}

/* ---- start and stop -------------------------------------------------- */

static gboolean
on_signal (gpointer data)
{
  Serve *serve = data;

  g_print ("vigil serve: stopping (running runs are cancelled)\n");
  g_cancellable_cancel (serve->cancellable);
  g_main_loop_quit (serve->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
make_inbox (const char *inbox, GError **error)
{
  const char *subs[] = { "", "processed", "failed" };

  for (gsize i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *path = g_build_filename (inbox, subs[i], NULL);
      if (g_mkdir_with_parents (path, 0700) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "cannot create %s: %s", path, g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
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
  g_clear_object (&serve->cancellable);
  g_clear_pointer (&serve->loop, g_main_loop_unref);
  g_free (serve->socket_path);
  g_free (serve->inbox);
}

static int
serve_run (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
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
  Serve serve = { host };
  guint ids[3];

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 1)
    return vh_cli_error ("serve", "%s", error ? error->message
                         : "usage: vigil serve [--socket PATH] [--inbox DIR]"), 2;
  serve.socket_path = socket_path ? g_steal_pointer (&socket_path)
                                  : g_build_filename (vigil_host_state_dir (host), "vigil.sock", NULL);
  serve.inbox = inbox ? g_steal_pointer (&inbox)
                      : g_build_filename (vigil_host_state_dir (host), "inbox", NULL);
  serve.json = json;
  serve.loop = g_main_loop_new (NULL, FALSE);
  serve.cancellable = g_cancellable_new ();
  if (!make_inbox (serve.inbox, &error) || !listen_on_socket (&serve, &error))
    {
      vh_cli_error ("serve", "%s", error->message);
      serve_clear (&serve);
      return 2;
    }

  vh_runner_set_pump_main_context (host, TRUE);
  ids[0] = g_unix_signal_add (SIGINT, on_signal, &serve);
  ids[1] = g_unix_signal_add (SIGTERM, on_signal, &serve);
  ids[2] = g_timeout_add_seconds (TICK_SECONDS, tick, &serve);
  g_print ("vigil serve: listening on %s, inbox %s (%u on-start task(s) due)\n",
           serve.socket_path, serve.inbox, vh_tasks_trigger (host, VH_SCHEDULE_ON_START));
  fflush (stdout);
  tick_soon (&serve);
  g_main_loop_run (serve.loop);

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  /* Let cancelled socket reads call back and free their clients. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  vh_runner_set_pump_main_context (host, FALSE);
  serve_clear (&serve);
  g_print ("vigil serve: stopped\n");
  return 0;
}

const VhCliCommand vh_cli_serve = {
  "serve", "Run the scheduler and take events on a socket and an inbox folder",
  "serve [--socket PATH] [--inbox DIR]", serve_run,
};
