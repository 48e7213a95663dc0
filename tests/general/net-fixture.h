/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loopback servers for tests, each on its own thread and main context so
 * that the code under test may block: a connection counter (optionally an
 * echo service), and an HTTP CONNECT proxy that records what it was asked
 * and tunnels to the target. Used by tests/general and plugins/ksn/tests.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _VtServer VtServer;

typedef enum {
  VT_SERVER_ECHO,    /* echoes lines back until the client closes */
  VT_SERVER_PROXY,   /* HTTP CONNECT proxy */
} VtServerKind;

VtServer *vt_server_start       (VtServerKind kind);
void      vt_server_stop        (VtServer *server);
guint16   vt_server_port        (VtServer *server);
/* Connections accepted so far. */
guint     vt_server_connections (VtServer *server);
/* Proxy: (transfer full) the target of the last CONNECT ("host:port") and
 * its Proxy-Authorization header (or NULL). */
char     *vt_server_last_target (VtServer *server);
char     *vt_server_last_auth   (VtServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VtServer, vt_server_stop)

G_END_DECLS
