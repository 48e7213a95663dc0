/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test fixtures for the kata suite: certificates made with the `openssl`
 * command in a temporary folder, and a real TLS 1.2+ HTTP server on a
 * loopback port, run in a thread, that plays the central node: it
 * acknowledges event packages (remembering every sequence id and event it
 * saw), answers synchronization requests, and can be told to misbehave.
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

typedef struct {
  char *dir;
  char *ca_pem;           /* CA that signs the server and client certs */
  char *server_pem, *server_key;
  char *other_pem, *other_key;   /* a different key: pin mismatch */
  char *client_pem, *client_key;
  char *client_pfx;       /* AES, password "s3cret" */
  char *client_pfx_legacy;/* RC2/3DES (-legacy), password "s3cret" */
  char *client_pfx_unsupported; /* key encrypted with a cipher OID no
                                 * provider knows, no MAC */
} KtCerts;

KtCerts *kt_certs_new  (void);
void     kt_certs_free (KtCerts *certs);
/* File contents as a string (PEM) or base64 (PFX). */
char    *kt_read_text  (const char *path);
char    *kt_read_b64   (const char *path);

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
/* Whether any event id was received in two different packages. */
gboolean    kt_server_saw_duplicate_event (KtServer *server);
/* A port on 127.0.0.1 where nothing listens. */
guint16     kt_free_port        (void);

/* An HTTP CONNECT proxy on loopback, one tunnel at a time. With @auth
 * ("user:pass"), a tunnel needs that Basic Proxy-Authorization. */
typedef struct _KtProxy KtProxy;

KtProxy *kt_proxy_start   (const char *auth);
void     kt_proxy_stop    (KtProxy *proxy);
guint16  kt_proxy_port    (KtProxy *proxy);
guint    kt_proxy_tunnels (KtProxy *proxy);   /* tunnels opened */
guint    kt_proxy_refused (KtProxy *proxy);   /* 407 answers */
