/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the files of `vigil serve`: cli-serve.c (start, tick, stop),
 * serve-socket.c (events as JSON lines on a Unix socket) and
 * serve-inbox.c (events as files dropped in a folder) and serve-fleet.c
 * (the console's side of the fleet).
 */
#pragma once

#include "cli.h"

G_BEGIN_DECLS

typedef struct _ServeFleet ServeFleet;

typedef struct {
  VigilHost      *host;
  GMainLoop      *loop;
  GCancellable   *cancellable;
  GSocketService *service;
  char           *socket_path;
  char           *inbox;
  int             inbox_fd;      /* the inbox and its subfolders, opened */
  int             processed_fd;  /* and checked at start (serve-inbox.c) */
  int             failed_fd;
  int             lock_fd;       /* flock on STATE/serve.lock, or -1 */
  gboolean        busy;
  gboolean        json;          /* one JSON object per line on stdout */
  guint           idle_id;
  ServeFleet     *fleet;         /* the fleet's console side, or NULL */
} Serve;

/* Parses, checks and stores one event from @where; logs it. Returns its
 * id, or NULL with @error naming @where. */
char     *serve_intake        (Serve *serve, const char *data, gsize length,
                               const char *where, GError **error);
/* Dispatches and runs what is due from the main loop, soon. */
void      serve_tick_soon     (Serve *serve);

/* serve-inbox.c: opens serve->inbox and its processed/ and failed/
 * (creating them), refusing folders a producer could subvert. */
gboolean  serve_open_inbox    (Serve *serve, GError **error);
void      serve_close_inbox   (Serve *serve);
void      serve_process_inbox (Serve *serve);

/* serve-socket.c: listens on serve->socket_path (mode 0600). */
gboolean  serve_listen        (Serve *serve, GError **error);

/* serve-fleet.c: when the state folder has a fleet, connects to its
 * broker as the console; NULL without a fleet (no error) or on @error. */
ServeFleet *serve_fleet_start (Serve *serve, GError **error);
void        serve_fleet_stop  (ServeFleet *fleet);

G_END_DECLS
