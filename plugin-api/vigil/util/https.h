/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugins' HTTPS client (vigil-plugin-util): HTTP/1.1 over TLS 1.2+ on
 * libcurl, directly or through an HTTP CONNECT proxy with Basic
 * authentication, with the server verified by a CA file or the system's
 * CAs, or by a pinned public key (sha256//base64 of the
 * SubjectPublicKeyInfo, in place of the chain), a PKCS#12 client
 * certificate, connect and total timeouts and a bounded reply body. A
 * client keeps its connection between requests when the server allows.
 * Replies are untrusted: besides what libcurl checks, the head is parsed
 * again here (status line, one Content-Length made of digits only, no
 * unknown transfer coding, a length or chunks for every body) and a reply
 * that ends early is refused. Every error carries the stage that failed
 * (VigilHttpsError) and says why, naming the server, and for proxy
 * trouble the proxy, never a password. No request can raise SIGPIPE.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VIGIL_HTTPS_ERROR (vigil_https_error_quark ())
GQuark vigil_https_error_quark (void);

/**
 * VigilHttpsError:
 * The stage a request failed at.
 * @VIGIL_HTTPS_ERROR_INVALID: a malformed URL, proxy URL or option
 * @VIGIL_HTTPS_ERROR_CONNECT: the server (or proxy) could not be resolved
 *   or reached
 * @VIGIL_HTTPS_ERROR_PROXY: the proxy refused the tunnel (407 included)
 * @VIGIL_HTTPS_ERROR_TLS: the handshake, the chain or name check, or the
 *   client certificate
 * @VIGIL_HTTPS_ERROR_PIN: the server's public key is not the pinned one
 * @VIGIL_HTTPS_ERROR_TIMEOUT: the connect or the whole request took longer
 *   than allowed
 * @VIGIL_HTTPS_ERROR_SOCKET: the connection broke while sending or receiving
 * @VIGIL_HTTPS_ERROR_PROTOCOL: a malformed or truncated HTTP reply
 * @VIGIL_HTTPS_ERROR_TOO_LARGE: the reply body exceeds the client's limit
 * @VIGIL_HTTPS_ERROR_CANCELLED: the client's cancellable was cancelled
 */
typedef enum {
  VIGIL_HTTPS_ERROR_INVALID = 1,
  VIGIL_HTTPS_ERROR_CONNECT,
  VIGIL_HTTPS_ERROR_PROXY,
  VIGIL_HTTPS_ERROR_TLS,
  VIGIL_HTTPS_ERROR_PIN,
  VIGIL_HTTPS_ERROR_TIMEOUT,
  VIGIL_HTTPS_ERROR_SOCKET,
  VIGIL_HTTPS_ERROR_PROTOCOL,
  VIGIL_HTTPS_ERROR_TOO_LARGE,
  VIGIL_HTTPS_ERROR_CANCELLED,
} VigilHttpsError;

/* The largest reply head accepted (status line and headers). */
#define VIGIL_HTTPS_MAX_HEAD (16 * 1024)

/**
 * VigilHttpsOptions:
 * What a client is set up with; strings are copied.
 * @proxy_uri: "http://[user[:password]@]host[:port]" (percent-encoded
 *   credentials; port 8080 when absent), or NULL for a direct connection
 * @ca_file: PEM bundle the server's chain must lead to; NULL: the system's
 *   CAs. Not used with @pin_sha256.
 * @pin_sha256: "sha256//<base64 of the SPKI's SHA-256>" (one or more,
 *   separated by ';'), or NULL. When set, the key decides alone: the chain
 *   and the host name are not checked.
 * @client_pfx: a PKCS#12 archive (DER) with the client's certificate and
 *   key, or NULL; @client_pfx_password its password (may be NULL)
 * @connect_timeout_ms: TCP, proxy and TLS handshake; 0 means 10 s
 * @total_timeout_ms: each whole request, connect included; 0 means 30 s
 * @idle_timeout_s: give up when no byte moved for this many seconds while
 *   sending or waiting for the reply; 0: only the total timeout applies
 * @max_body: largest reply body accepted; 0 means 1 MiB
 * @user_agent: the User-Agent header, or NULL for "vigil"
 * @cancellable: (nullable): cancels a request under way (checked several
 *   times a second); not copied, must outlive the client
 */
typedef struct {
  const char *proxy_uri;
  const char *ca_file;
  const char *pin_sha256;
  GBytes     *client_pfx;
  const char *client_pfx_password;
  guint       connect_timeout_ms;
  guint       total_timeout_ms;
  guint       idle_timeout_s;
  gsize       max_body;
  const char *user_agent;
  GCancellable *cancellable;
} VigilHttpsOptions;

typedef struct _VigilHttpsClient VigilHttpsClient;

/**
 * vigil_https_client_new:
 * @options: how to connect
 * @error: INVALID for a proxy URI that does not parse
 *
 * Returns: (transfer full) a client, used by one thread at a time, or NULL.
 */
VigilHttpsClient *vigil_https_client_new  (const VigilHttpsOptions *options,
                                           GError **error);
/**
 * vigil_https_client_free:
 * @client: (nullable): closes its connection and wipes its secrets
 */
void              vigil_https_client_free (VigilHttpsClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilHttpsClient, vigil_https_client_free)

/**
 * VigilHttpsReply:
 * @status: the HTTP status of the final reply (any, 2xx or not)
 * @body: (transfer full) its body, never NULL on success, followed in
 *   memory by a NUL byte that its size does not count
 * @closing: the server closes the connection after this reply
 */
typedef struct {
  guint    status;
  GBytes  *body;
  gboolean closing;
} VigilHttpsReply;

/** vigil_https_reply_clear: frees @reply's body and zeroes it. */
void     vigil_https_reply_clear (VigilHttpsReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VigilHttpsReply, vigil_https_reply_clear)

/**
 * vigil_https_request:
 * @client: the client
 * @method: "GET" or "POST"
 * @url: "https://host[:port]/path?query" (IPv6 hosts in brackets)
 * @content_type: (nullable): of @body, e.g. "application/json"
 * @body: (nullable): the request body (POST), @body_len bytes
 * @reply: (out caller-allocates): filled on success
 * @error: a VIGIL_HTTPS_ERROR saying the stage and why
 *
 * Sends one request, on the kept connection when there is one, and reads
 * the whole reply. A reply with a non-2xx status is a success here: the
 * caller decides what the status means.
 *
 * Returns: TRUE with @reply filled, or FALSE with @error set.
 */
gboolean vigil_https_request (VigilHttpsClient *client, const char *method,
                              const char *url, const char *content_type,
                              const void *body, gsize body_len,
                              VigilHttpsReply *reply, GError **error);

/**
 * VigilHttpsHead:
 * A reply head as vigil_https_parse_head() read it.
 * @status: 100–599
 * @content_length: -1 when absent
 * @chunked: "Transfer-Encoding: chunked"
 * @closing: "Connection: close" (or an HTTP/1.0 reply without keep-alive)
 * @head_len: bytes of the head, the blank line included
 */
typedef struct {
  guint    status;
  gint64   content_length;
  gboolean chunked;
  gboolean closing;
  gsize    head_len;
} VigilHttpsHead;

/**
 * vigil_https_parse_head:
 * @data: bytes starting with a reply's status line (not NUL-terminated)
 * @len: how many
 * @head: (out): filled when complete
 * @error: PROTOCOL naming what is malformed
 *
 * The reply head parser the client checks every reply with, for fuzzing
 * and tests. Refuses: a status line other than "HTTP/1.x NNN[ reason]", a
 * header line without a name and colon, folded lines, a Content-Length
 * that is not all digits or larger than 2^53, two Content-Length values
 * that differ, a Transfer-Encoding other than "chunked", both
 * chunked and Content-Length, and a head over VIGIL_HTTPS_MAX_HEAD bytes.
 *
 * Returns: 1 when a complete head was read, 0 when more bytes are needed,
 *   -1 with @error when it is malformed.
 */
int      vigil_https_parse_head (const char *data, gsize len,
                                 VigilHttpsHead *head, GError **error);

G_END_DECLS
