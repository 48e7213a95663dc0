/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The loopback HTTP file server of the epp update tests (see the header).
 * A GThreadedSocketService, accepting on a thread of its own, runs each
 * connection on its own thread with blocking reads; one request per connection ("Connection: close"), which
 * libcurl in freshclam handles like any server's.
 */
#include "epp-test-http.h"

#include <gio/gio.h>
#include <string.h>

struct _EtHttp {
  GSocketService *service;
  char           *folder;
  guint16         port;
  gint            served;
  GMainContext   *ctx;
  GMainLoop      *loop;
  GThread        *thread;
  GMutex          lock;
  GCond           cond;
  gboolean        ready;
};

static void
reply (GOutputStream *out, const char *status, const char *data, gsize len, gboolean head)
{
  g_autofree char *hdr = g_strdup_printf ("HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
                                          "Content-Type: application/octet-stream\r\n"
                                          "Connection: close\r\n\r\n", status, len);

  g_output_stream_write_all (out, hdr, strlen (hdr), NULL, NULL, NULL);
  if (!head && len > 0)
    g_output_stream_write_all (out, data, len, NULL, NULL, NULL);
}

static gboolean
on_run (GThreadedSocketService *service, GSocketConnection *conn, GObject *source,
        gpointer user_data)
{
  EtHttp *s = user_data;
  g_autoptr (GDataInputStream) in =
    g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  g_autofree char *request = NULL;
  g_auto (GStrv) parts = NULL;
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean head;

  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  request = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  for (;;)  /* the rest of the head */
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL || *line == '\0')
        break;
    }
  parts = request ? g_strsplit (request, " ", 3) : NULL;
  if (parts == NULL || g_strv_length (parts) < 2)
    return TRUE;
  head = g_str_equal (parts[0], "HEAD");
  if (!head && !g_str_equal (parts[0], "GET"))
    {
      reply (out, "405 Method Not Allowed", "", 0, FALSE);
      return TRUE;
    }
  base = g_path_get_basename (parts[1]);
  path = g_build_filename (s->folder, base, NULL);
  if (base[0] == '.' || !g_file_get_contents (path, &data, &len, NULL))
    {
      reply (out, "404 Not Found", "", 0, head);
      return TRUE;
    }
  reply (out, "200 OK", data, len, head);
  g_atomic_int_inc (&s->served);
  return TRUE;
}

/* The accept loop runs on its own thread and main context, so the server
 * answers while the test's thread blocks in a run. */
static gpointer
serve_thread (gpointer data)
{
  EtHttp *s = data;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  g_main_context_push_thread_default (s->ctx);
  s->service = g_threaded_socket_service_new (8);
  g_socket_listener_add_address (G_SOCKET_LISTENER (s->service), addr, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (s->service, "run", G_CALLBACK (on_run), s);
  g_socket_service_start (s->service);
  g_mutex_lock (&s->lock);
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  s->ready = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
  g_main_loop_run (s->loop);
  g_socket_service_stop (s->service);
  g_socket_listener_close (G_SOCKET_LISTENER (s->service));
  g_clear_object (&s->service);
  g_main_context_pop_thread_default (s->ctx);
  return NULL;
}

EtHttp *
et_http_start (const char *folder)
{
  EtHttp *s = g_new0 (EtHttp, 1);

  s->folder = g_strdup (folder);
  s->ctx = g_main_context_new ();
  s->loop = g_main_loop_new (s->ctx, FALSE);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->thread = g_thread_new ("et-http", serve_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->ready)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  return s;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

void
et_http_stop (EtHttp *s)
{
  if (s == NULL)
    return;
  g_main_context_invoke (s->ctx, quit_loop, s->loop);
  g_thread_join (s->thread);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->ctx);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s->folder);
  g_free (s);
}

guint16
et_http_port (EtHttp *s)
{
  return s->port;
}

char *
et_http_url (EtHttp *s, const char *name)
{
  return g_strdup_printf ("http://127.0.0.1:%u/%s", s->port, name);
}

guint
et_http_served (EtHttp *s)
{
  return (guint) g_atomic_int_get (&s->served);
}
