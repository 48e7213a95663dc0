/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the files of `vigil serve`: cli-serve.c (start, tick, stop),
 * serve-socket.c (events as JSON lines on a Unix socket) and
 * serve-inbox.c (events as files dropped in a folder).
 */
#pragma once

#include "cli.h"

G_BEGIN_DECLS

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

/* Parses, checks and stores one event from @where; logs it. Returns its
 * id, or NULL with @error naming @where. */
char     *serve_intake        (Serve *serve, const char *data, gsize length,
                               const char *where, GError **error);
/* Dispatches and runs what is due from the main loop, soon. */
void      serve_tick_soon     (Serve *serve);

/* serve-inbox.c */
gboolean  serve_make_inbox    (const char *inbox, GError **error);
void      serve_process_inbox (Serve *serve);

/* serve-socket.c: listens on serve->socket_path (mode 0600). */
gboolean  serve_listen        (Serve *serve, GError **error);

G_END_DECLS
