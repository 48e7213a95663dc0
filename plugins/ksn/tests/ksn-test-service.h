/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reputation service of the ksn tests, on the project's shared
 * loopback TLS server (vt-tls-server.h): verdicts follow the first hex
 * digit of each hash ('a' malicious, 'c' clean, others left out of the
 * reply, so the client calls them unknown), or the reply is one of the
 * broken ones the tests need. Certificates are made by the test with the
 * subjectAltName it asks for.
 */
#pragma once

#include "vt-tls-server.h"

G_BEGIN_DECLS

typedef enum {
  KT_REPLY_VERDICTS,  /* the documented reply, Content-Length framed */
  KT_REPLY_CHUNKED,   /* the same, chunked */
  KT_REPLY_GARBAGE,   /* 200 with a body that is not JSON */
  KT_REPLY_BAD_VERDICT, /* a verdict outside the documented set */
  KT_REPLY_ERROR,     /* 503 */
} KtReply;

typedef struct _KtServer KtServer;

/* Writes a self-signed certificate for @san ("IP:127.0.0.1,DNS:localhost")
 * and its key to @cert_path / @key_path. */
void      kt_make_cert          (const char *cert_path, const char *key_path,
                                 const char *san);
/* Serves on 127.0.0.1 with the certificate and key files given. */
KtServer *kt_server_start       (const char *cert_path, const char *key_path,
                                 KtReply reply);
void      kt_server_stop        (KtServer *server);
guint16   kt_server_port        (KtServer *server);
/* The shared server underneath, for scripted raw replies. */
VtTlsServer *kt_server_tls      (KtServer *server);
/* TCP connections accepted / requests answered so far. */
guint     kt_server_connections (KtServer *server);
guint     kt_server_requests    (KtServer *server);
/* (transfer full) the body of the last request, or NULL. */
char     *kt_server_last_body   (KtServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KtServer, kt_server_stop)

G_END_DECLS
