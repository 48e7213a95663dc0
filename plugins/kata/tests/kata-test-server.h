/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata suite's central node, on the project's shared loopback TLS
 * server (vt-tls-server.h, certificates from vt-certs.h): it acknowledges
 * event packages (remembering every sequence id and event it saw),
 * answers synchronization requests, and can be told to misbehave, or to
 * send raw bytes (kt_server_tls + vt_tls_server_script).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vt-certs.h"
#include "vt-tls-server.h"

typedef enum {
  KT_REPLY_OK,
  KT_REPLY_GARBAGE,       /* "this is not json" with status 200 */
  KT_REPLY_WRONG_ACK,     /* acknowledges another sequence id */
  KT_REPLY_DROP,          /* reads the request, closes without a reply */
  KT_REPLY_HTTP_500,
  KT_REPLY_HTTP_503,      /* "Service Unavailable", as an overloaded node */
  KT_REPLY_CLOSE,         /* acknowledges with "Connection: close", closes */
  KT_REPLY_STALL,         /* never answers; waits until the client gives up */
} KtReplyMode;

typedef struct _KtServer KtServer;

/* @cert_pem/@key_pem: the server's identity; @client_ca: when non-NULL a
 * client certificate signed by it is required. @port 0 picks one. */
KtServer   *kt_server_start     (const char *cert_pem, const char *key_pem,
                                 const char *client_ca, guint16 port);
void        kt_server_stop      (KtServer *server);
guint16     kt_server_port      (KtServer *server);
/* The shared server underneath, for scripted raw replies. */
VtTlsServer *kt_server_tls      (KtServer *server);
void        kt_server_set_reply (KtServer *server, KtReplyMode mode);
/* The body sent for GET /kata/v1/sync (default {"tasks":[]}). */
void        kt_server_set_sync_body (KtServer *server, const char *body);
/* Counters, thread-safe. */
guint       kt_server_packages  (KtServer *server);   /* POSTs received */
guint       kt_server_connections (KtServer *server); /* TLS handshakes done */
guint       kt_server_syncs     (KtServer *server);
/* Distinct event ids received over packages de-duplicated by seq. */
guint       kt_server_unique_events (KtServer *server);
/* Events received in total, counting re-sent packages again. */
guint       kt_server_events_total  (KtServer *server);
/* Sizes of distinct packages in the order received. */
GArray     *kt_server_package_sizes (KtServer *server);  /* guint */
/* Per type count of events in distinct packages. */
guint       kt_server_type_count (KtServer *server, const char *type);
/* (transfer full) the compact JSON of the payload of the last event of
 * @type received, or NULL. */
char       *kt_server_last_payload (KtServer *server, const char *type);
/* Whether any event id was received in two different packages. */
gboolean    kt_server_saw_duplicate_event (KtServer *server);
