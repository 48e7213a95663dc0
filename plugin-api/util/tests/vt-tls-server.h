/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one loopback TLS test server of the project, and its HTTP CONNECT
 * proxy: OpenSSL on 127.0.0.1, an ephemeral port unless one is asked for,
 * every connection on its own thread. The server reads HTTP/1.1 requests
 * (head and Content-Length body) and answers each with what the test's
 * handler writes, or with raw bytes queued by the test (for malformed
 * replies), and can require a client certificate, under TLS 1.3 or
 * 1.2 only. The proxy tunnels CONNECT requests to loopback ports,
 * optionally only with the right Basic credentials. Counters let tests
 * wait for conditions; nothing here waits for a duration.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *method;     /* "POST" */
  const char *target;     /* "/path?query" */
  const char *head;       /* the whole request head, CRLFs included */
  const char *body;       /* NUL-terminated copy of the body */
  gsize       body_len;
} VtRequest;

typedef enum {
  VT_ACTION_KEEP,   /* write the reply, read the next request */
  VT_ACTION_CLOSE,  /* write the reply (may be empty), then close */
  VT_ACTION_STALL,  /* write nothing and wait until the client closes */
} VtAction;

/* Writes the reply to @request into @reply (raw bytes, head included). */
typedef VtAction (*VtHandler) (const VtRequest *request, GString *reply,
                               gpointer user_data);

typedef struct {
  const char *cert_pem;          /* the server's chain (PEM file) */
  const char *key_pem;           /* and its key */
  const char *client_ca;         /* non-NULL: a client certificate signed
                                  * by this CA is required */
  guint16     port;              /* 0: an ephemeral one */
  VtHandler   handler;           /* NULL: 404 to what is not scripted */
  gpointer    user_data;
  gboolean    reset_after_head;  /* read a request's head, then reset the
                                  * connection without reading the body */
  gboolean    tls12_only;        /* at most TLS 1.2: a refused client
                                  * certificate fails the handshake itself
                                  * (under TLS 1.3 the client learns it
                                  * only at its first read) */
} VtTlsServerOptions;

typedef struct _VtTlsServer VtTlsServer;

VtTlsServer *vt_tls_server_start (const VtTlsServerOptions *options);
void         vt_tls_server_stop  (VtTlsServer *server);
guint16      vt_tls_server_port  (VtTlsServer *server);
/* Queues @raw (@len bytes, -1: a string) as the reply to the next request
 * not yet answered, ahead of the handler. */
void         vt_tls_server_script (VtTlsServer *server, const char *raw,
                                   gssize len, VtAction action);
/* Thread-safe counters: TCP connections accepted, TLS handshakes done,
 * requests read. */
guint        vt_tls_server_accepted   (VtTlsServer *server);
guint        vt_tls_server_handshakes (VtTlsServer *server);
guint        vt_tls_server_requests   (VtTlsServer *server);
/* (transfer full) the body of the last request, or NULL. */
char        *vt_tls_server_last_body  (VtTlsServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VtTlsServer, vt_tls_server_stop)

/* Appends "HTTP/1.1 @status X", @headers (CRLF-ended lines or NULL), a
 * Content-Length and @body to @reply. */
void         vt_http_reply (GString *reply, guint status, const char *headers,
                            const char *body);
/* A port on 127.0.0.1 where nothing listens. */
guint16      vt_free_port  (void);

typedef struct _VtProxy VtProxy;

/* With @auth ("user:password"), a tunnel needs that Basic
 * Proxy-Authorization; others get 407. */
VtProxy *vt_proxy_start       (const char *auth);
void     vt_proxy_stop        (VtProxy *proxy);
guint16  vt_proxy_port        (VtProxy *proxy);
guint    vt_proxy_accepted    (VtProxy *proxy);   /* TCP connections */
guint    vt_proxy_tunnels     (VtProxy *proxy);   /* tunnels opened */
guint    vt_proxy_refused     (VtProxy *proxy);   /* 407 answers */
/* (transfer full) the target of the last CONNECT ("host:port") and its
 * Proxy-Authorization value ("Basic …"), or NULL. */
char    *vt_proxy_last_target (VtProxy *proxy);
char    *vt_proxy_last_auth   (VtProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VtProxy, vt_proxy_stop)

G_END_DECLS
