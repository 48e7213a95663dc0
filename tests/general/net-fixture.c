/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loopback test servers (see net-fixture.h). A GThreadedSocketService runs
 * each connection on a worker thread; the service's accept source lives on
 * a dedicated thread's main context, so tests need not run a main loop.
 */
#include "net-fixture.h"

#include <string.h>

struct _VtServer {
  VtServerKind    kind;
  GThread        *thread;
  GMainContext   *context;
  GMainLoop      *loop;
  GSocketService *service;
  guint16         port;
  gint            connections;
  gint            active;      /* handlers running now */
  GMutex          lock;
  GCond           ready;
  gboolean        started;
  char           *last_target;
  char           *last_auth;
};

static void
echo (GIOStream *stream)
{
  g_autoptr (GDataInputStream) in =
    g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  GOutputStream *out = g_io_stream_get_output_stream (stream);
  char *line;

  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (in), FALSE);
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)))
    {
      g_autofree char *reply = g_strconcat (line, "\n", NULL);

      g_free (line);
      if (!g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL))
        break;
    }
}

/* Copies both ways until either side closes. */
static void
relay (GSocket *a, GSocket *b)
{
  GPollFD fds[2] = {
    { g_socket_get_fd (a), G_IO_IN, 0 },
    { g_socket_get_fd (b), G_IO_IN, 0 },
  };
  char buf[16384];

  for (;;)
    {
      if (g_poll (fds, 2, 10000) <= 0)
        return;
      for (int i = 0; i < 2; i++)
        {
          GSocket *from = i == 0 ? a : b;
          GSocket *to = i == 0 ? b : a;
          gssize n;

          if (!(fds[i].revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
            continue;
          n = g_socket_receive (from, buf, sizeof buf, NULL, NULL);
          if (n <= 0)
            return;
          for (gssize done = 0; done < n;)
            {
              gssize w = g_socket_send (to, buf + done, n - done, NULL, NULL);

              if (w <= 0)
                return;
              done += w;
            }
        }
    }
}

/* Reads the request head byte by byte, so nothing of the tunnel is
 * consumed by a buffer. */
static char *
read_head (GSocket *socket)
{
  GString *head = g_string_new (NULL);
  char c;

  while (head->len < 8192 && !g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      if (g_socket_receive (socket, &c, 1, NULL, NULL) != 1)
        break;
      g_string_append_c (head, c);
    }
  return g_string_free (head, FALSE);
}

static void
proxy (VtServer *server, GSocketConnection *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  g_autofree char *head = read_head (socket);
  g_auto (GStrv) lines = g_strsplit (head, "\r\n", -1);
  g_auto (GStrv) request = g_strsplit (lines[0], " ", 3);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) upstream = NULL;
  const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
  const char *bad = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";

  if (g_strv_length (request) < 2 || g_strcmp0 (request[0], "CONNECT") != 0)
    {
      g_socket_send (socket, bad, strlen (bad), NULL, NULL);
      return;
    }
  g_mutex_lock (&server->lock);
  g_free (server->last_target);
  server->last_target = g_strdup (request[1]);
  g_clear_pointer (&server->last_auth, g_free);
  for (gsize i = 1; lines[i]; i++)
    if (g_ascii_strncasecmp (lines[i], "Proxy-Authorization:", 20) == 0)
      server->last_auth = g_strstrip (g_strdup (lines[i] + 20));
  g_mutex_unlock (&server->lock);

  g_socket_client_set_enable_proxy (client, FALSE);
  upstream = g_socket_client_connect_to_host (client, request[1], 0, NULL, NULL);
  if (upstream == NULL)
    {
      g_socket_send (socket, bad, strlen (bad), NULL, NULL);
      return;
    }
  g_socket_send (socket, ok, strlen (ok), NULL, NULL);
  relay (socket, g_socket_connection_get_socket (upstream));
}

static gboolean
on_run (GThreadedSocketService *service, GSocketConnection *conn,
        GObject *source, gpointer user_data)
{
  VtServer *server = user_data;

  g_atomic_int_inc (&server->active);
  g_atomic_int_inc (&server->connections);
  if (server->kind == VT_SERVER_ECHO)
    echo (G_IO_STREAM (conn));
  else
    proxy (server, conn);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  g_atomic_int_dec_and_test (&server->active);
  return TRUE;
}

static gpointer
serve (gpointer data)
{
  VtServer *server = data;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  g_main_context_push_thread_default (server->context);
  server->service = g_threaded_socket_service_new (8);
  g_signal_connect (server->service, "run", G_CALLBACK (on_run), server);
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), addr,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  g_mutex_lock (&server->lock);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  server->started = TRUE;
  g_cond_signal (&server->ready);
  g_mutex_unlock (&server->lock);

  g_main_loop_run (server->loop);
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_main_context_pop_thread_default (server->context);
  return NULL;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

VtServer *
vt_server_start (VtServerKind kind)
{
  VtServer *server = g_new0 (VtServer, 1);

  server->kind = kind;
  g_mutex_init (&server->lock);
  g_cond_init (&server->ready);
  server->context = g_main_context_new ();
  server->loop = g_main_loop_new (server->context, FALSE);
  server->thread = g_thread_new ("vt-server", serve, server);
  g_mutex_lock (&server->lock);
  while (!server->started)
    g_cond_wait (&server->ready, &server->lock);
  g_mutex_unlock (&server->lock);
  return server;
}

void
vt_server_stop (VtServer *server)
{
  if (server == NULL)
    return;
  g_main_context_invoke (server->context, quit_loop, server->loop);
  g_thread_join (server->thread);
  /* Handlers run on the service's pool and use @server: let them end. */
  while (g_atomic_int_get (&server->active) > 0)
    g_usleep (1000);
  g_object_unref (server->service);
  g_main_loop_unref (server->loop);
  g_main_context_unref (server->context);
  g_free (server->last_target);
  g_free (server->last_auth);
  g_mutex_clear (&server->lock);
  g_cond_clear (&server->ready);
  g_free (server);
}

guint16
vt_server_port (VtServer *server)
{
  return server->port;
}

guint
vt_server_connections (VtServer *server)
{
  return g_atomic_int_get (&server->connections);
}

char *
vt_server_last_target (VtServer *server)
{
  char *target;

  g_mutex_lock (&server->lock);
  target = g_strdup (server->last_target);
  g_mutex_unlock (&server->lock);
  return target;
}

char *
vt_server_last_auth (VtServer *server)
{
  char *auth;

  g_mutex_lock (&server->lock);
  auth = g_strdup (server->last_auth);
  g_mutex_unlock (&server->lock);
  return auth;
}
