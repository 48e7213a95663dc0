/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A loopback HTTPS reputation service for tests: a certificate generated
 * by the test (self-signed, with the subjectAltName asked for), OpenSSL on
 * its own thread, one request per connection, and counters. Verdicts follow
 * the first hex digit of each hash: 'a' malicious, 'c' clean, others left
 * out of the reply (so the client calls them unknown).
 */
#pragma once

#include <glib.h>

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
/* TCP connections accepted / requests answered so far. */
guint     kt_server_connections (KtServer *server);
guint     kt_server_requests    (KtServer *server);
/* (transfer full) the body of the last request, or NULL. */
char     *kt_server_last_body   (KtServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KtServer, kt_server_stop)

G_END_DECLS
