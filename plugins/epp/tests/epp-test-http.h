/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plain HTTP/1.1 file server on 127.0.0.1 for the epp update tests: it
 * serves the files of one folder (GET and HEAD, by base name; anything
 * else is a 404), one connection per thread, and counts the requests so a
 * test can tell that freshclam really fetched. No external network.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EtHttp EtHttp;

/* Serves @folder on an ephemeral loopback port. */
EtHttp  *et_http_start    (const char *folder);
void     et_http_stop     (EtHttp *server);
guint16  et_http_port     (EtHttp *server);
/* (transfer full) "http://127.0.0.1:PORT/@name" */
char    *et_http_url      (EtHttp *server, const char *name);
/* Requests answered with 200 so far (thread-safe). */
guint    et_http_served   (EtHttp *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EtHttp, et_http_stop)

G_END_DECLS
