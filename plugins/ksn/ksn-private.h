/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ksn plugin's engine: the `ksn` section and its gate, the transport
 * (the helper library's HTTPS client, directly or through a CONNECT
 * proxy), the reputation protocol and its cache. The plugin file (ksn-plugin.c) only wires these
 * to the host API; tests link the engine directly.
 */
#pragma once

#include <vigil/plugin.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>

G_BEGIN_DECLS

/* The KSN statement this version of the plugin presents. */
#define KSN_STATEMENT_VERSION "1.0"
/* Largest reply body accepted from the reputation service. */
#define KSN_MAX_REPLY (1024 * 1024)
/* Hashes per look-up request (and per task). */
#define KSN_MAX_HASHES 1000

/* ---- ksn-section.c --------------------------------------------------- */

/* The section, reporting problems through @api. */
const VigilSection *ksn_section (const VigilHostApi *api);
/* The same section, for reading settings with its defaults. */
const VigilSection *ksn_schema (void);
/* The privacy gate: TRUE only when the statement is accepted AND usage is
 * enabled in @settings (group -> key -> value). Anything else, including
 * settings that cannot be read, means no connection at all. */
gboolean ksn_allowed (JsonObject *settings);
/* The cross-field rules, reporting through @report_problem (the host API's,
 * or a test's). */
typedef void (*KsnReportFunc) (VigilReport *report, VigilSeverity severity,
                               const char *path, const char *format, ...)
    G_GNUC_PRINTF (4, 5);
void     ksn_validate (JsonObject *values, VigilReport *report, KsnReportFunc report_problem);

/* ---- ksn-https.c ----------------------------------------------------- */

typedef struct {
  const char   *url;          /* https://host[:port]/path */
  const char   *proxy_uri;    /* http://[user:pass@]host:port, or NULL */
  const char   *ca_file;      /* PEM bundle; NULL: the system's CAs */
  guint         timeout_s;    /* connect, read and write timeout */
  const char   *body;         /* JSON request body */
  GCancellable *cancellable;
} KsnHttpsRequest;

/* POSTs @req->body over TLS 1.2+ with certificate and host name checks.
 * Returns: (transfer full) the reply body of a 200 reply, or NULL with
 * @error (which never contains the proxy's credentials): a malformed or
 * truncated reply is G_IO_ERROR_INVALID_DATA. */
GBytes  *ksn_https_post (const KsnHttpsRequest *req, GError **error);

/* ---- ksn-lookup.c ---------------------------------------------------- */

typedef struct {
  char *type;     /* "sha256" | "md5" */
  char *value;    /* lower-case hex */
  char *verdict;  /* "malicious" | "clean" | "unknown" */
  char *threat;   /* or NULL */
  gboolean cached;
} KsnVerdict;

void        ksn_verdict_free     (KsnVerdict *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KsnVerdict, ksn_verdict_free)

/* Whether @value is a hash of @type ("sha256": 64 hex, "md5": 32 hex). */
gboolean    ksn_hash_valid       (const char *type, const char *value);
/* The request body for @hashes (array of KsnVerdict with type and value). */
char       *ksn_request_body     (GPtrArray *hashes);
/* Fills verdict and threat of each of @hashes from a reply; hashes the
 * reply does not mention become "unknown". FALSE with @error on a reply
 * that is not the documented format (named by JSON path). */
gboolean    ksn_parse_reply      (GBytes *reply, GPtrArray *hashes, GError **error);

/* The cache: a place to keep documents (the host's store in the plugin,
 * a hash table in tests) and the clock. */
typedef struct {
  JsonNode   *(*get)    (gpointer data, const char *key);
  void        (*put)    (gpointer data, const char *key, JsonNode *doc);
  gint64      (*now)    (gpointer data);
  gpointer     data;
  gint64       ttl_us;  /* 0: no caching */
  /* For pruning: every entry (transfer full), and removal of one. */
  JsonObject *(*list)   (gpointer data);
  void        (*remove) (gpointer data, const char *key);
} KsnCache;

/* Removes the entries older than the TTL (all of them when the TTL is 0),
 * so that hashes of looked-up files do not stay on disk for ever. Returns
 * how many were removed. */
guint       ksn_cache_prune      (const KsnCache *cache);

typedef struct {
  const KsnCache  *cache;
  KsnHttpsRequest  https;  /* url, proxy, ca, timeout; body is set here */
} KsnLookup;

/* Looks up @hashes (KsnVerdict with type and value set): cached answers
 * younger than the TTL first, then one request for the rest. */
gboolean    ksn_lookup           (const KsnLookup *lookup, GPtrArray *hashes,
                                  GError **error);

G_END_DECLS
