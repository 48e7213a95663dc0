/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The serve socket: a Unix stream socket, mode 0600 from its creation,
 * where a client writes one event envelope per line as JSON and reads one
 * reply line per event ({"ok":true,"id":...} or {"ok":false,"error":...}).
 * Lines are buffered up to the envelope limit; a longer one gets an error
 * and the connection is closed.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>
#include <sys/stat.h>
#include "serve.h"

#define READ_CHUNK 8192

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
  id = serve_intake (client->serve, line, length, where, &error);
  reply (client, id, id ? NULL : error->message);
  if (id != NULL)
    serve_tick_soon (client->serve);
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
  if (client->buffer->len > VIGIL_HOST_EVENT_MAX_ENVELOPE)
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

gboolean
serve_listen (Serve *serve, GError **error)
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
