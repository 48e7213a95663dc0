/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata plugin's engine: everything that turns telemetry events into
 * acknowledged HTTPS deliveries to a central node, without the host. Each
 * module has its own file (kata-spool*.c, kata-throttle.c, kata-importance.c,
 * kata-cert-info.c, kata-transport.c, kata-reply.c, kata-settings.c,
 * kata-server-settings.c, kata-sender.c, kata-server-failures.c,
 * kata-sync.c, kata-engine.c, kata-counters.c); this header
 * is their shared contract. plugin.c adapts it to the host API; the tests and the benchmark
 * link the engine directly. Time always comes from the hooks' clock, never
 * from the wall clock, so that throttling, TTL and periods are testable.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <openssl/x509.h>
#include <vigil/plugin.h>
#include <vigil/util/error.h>
#include <vigil/util/json.h>
#include <vigil/util/settings.h>

G_BEGIN_DECLS

#define KATA_ERROR (kata_error_quark ())
VIGIL_ERROR_DOMAIN_DECLARE (kata);

typedef enum {
  KATA_ERROR_IO = 1,          /* spool file I/O (a local problem) */
  KATA_ERROR_CONNECT,         /* TCP connect failed or timed out */
  KATA_ERROR_PROXY,           /* the HTTP CONNECT proxy refused */
  KATA_ERROR_TLS,             /* handshake or certificate verification */
  KATA_ERROR_PIN_MISMATCH,    /* server key differs from the pinned one */
  KATA_ERROR_TIMEOUT,         /* no response within the timeout */
  KATA_ERROR_PROTOCOL,        /* malformed HTTP or JSON reply */
  KATA_ERROR_HTTP_STATUS,     /* a non-2xx status */
  KATA_ERROR_BAD_PASSWORD,    /* the PFX password is wrong */
  KATA_ERROR_UNSUPPORTED,     /* PFX algorithms OpenSSL cannot handle */
  KATA_ERROR_INVALID,         /* malformed certificate, PFX or setting */
  KATA_ERROR_SOCKET,          /* an established connection broke */
  KATA_ERROR_TASK_UNSUPPORTED,/* a task type this device cannot run */
} KataError;

/* ---- importance ---------------------------------------------------- */

typedef enum {
  KATA_IMPORTANCE_LOW = 0,
  KATA_IMPORTANCE_HIGH = 1,   /* detections: never throttled */
} KataImportance;

KataImportance kata_event_importance (const char *type);
/* "2026-11-22T10:00:00Z" for UTC microseconds. (transfer full) */
char          *kata_iso_time         (gint64 time_us);

/* ---- spool (kata-spool.c) ------------------------------------------ */

typedef struct _KataSpool KataSpool;

typedef struct {
  const char     *type;
  KataImportance  importance;
  gint64          time_us;
  const char     *json;        /* the event record, JSON object text */
  const char     *ttl_key;     /* a process start to remember, or NULL */
} KataSpoolItem;

typedef struct {
  guint64    seq;              /* the package's sequence id */
  GPtrArray *bodies;           /* char * JSON texts, oldest first */
} KataPackage;

void         kata_package_free    (KataPackage *package);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataPackage, kata_package_free)

/* Opens or creates the spool database (WAL). @full_sync: fsync every commit
 * (synchronous=FULL); otherwise synchronous=NORMAL, and commits reach the
 * disk at durable points (kata_spool_make_durable). */
KataSpool   *kata_spool_open      (const char *path, guint64 max_events,
                                   gboolean full_sync, GError **error);
void         kata_spool_close     (KataSpool *spool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataSpool, kata_spool_close)
/* Appends in one transaction. When the spool is full, the oldest
 * low-importance events not yet in a package go first; @dropped_low and
 * @dropped_high count what went. */
gboolean     kata_spool_append    (KataSpool *spool, const KataSpoolItem *items,
                                   guint n_items, guint *dropped_low,
                                   guint *dropped_high, GError **error);
/* The oldest unacknowledged package, or a new one of at most @max_events;
 * NULL with @error unset when nothing waits. (transfer full) */
KataPackage *kata_spool_next_package (KataSpool *spool, guint max_events,
                                      GError **error);
/* Deletes an acknowledged package and its events. */
gboolean     kata_spool_ack       (KataSpool *spool, guint64 seq, GError **error);
/* Dissolves a package that never left the device (the connection failed
 * before it was sent): its events wait for the next package again, so
 * that an unreachable server leaves the spool as it was. Its sequence id
 * is not reused. */
gboolean     kata_spool_release   (KataSpool *spool, guint64 seq, GError **error);
/* A new bound (kata-spool-bound.c); shrinking drops at once, oldest low
 * first, and counts what went in @dropped_low and @dropped_high. */
gboolean     kata_spool_set_max   (KataSpool *spool, guint64 max_events,
                                   guint *dropped_low, guint *dropped_high,
                                   GError **error);
guint64      kata_spool_count     (KataSpool *spool);
/* A durable point (kata-spool-durable.c): fsyncs what was committed since
 * the last one, if anything; also done by kata_spool_close. */
gboolean     kata_spool_make_durable (KataSpool *spool, GError **error);
/* Durable points that synced something, in this process. */
guint64      kata_spool_durable_points (KataSpool *spool);
const char  *kata_spool_agent_id  (KataSpool *spool);
/* Whether the process start @key ("image\nsha256") went out less than
 * @ttl_us before @now_us (a repeat within the TTL period). Starts are
 * remembered when appended with a ttl_key. */
gboolean     kata_spool_ttl_recent (KataSpool *spool, const char *key,
                                    gint64 now_us, gint64 ttl_us);
/* Remembers task ids created from synchronization: TRUE when @id is new. */
gboolean     kata_spool_mark_task (KataSpool *spool, const char *id,
                                   gint64 now_us, GError **error);
/* Counters shared by every process using the spool: adds @deltas (name ->
 * integer) in one transaction; kata_spool_counters returns the totals. */
gboolean     kata_spool_counters_add (KataSpool *spool, JsonObject *deltas,
                                      GError **error);
JsonObject  *kata_spool_counters  (KataSpool *spool);
/* The throttling window shared by the processes using the spool: @rows is
 * an array of [type, minute, offered, admitted] to add; rows older than
 * @keep_from_minute go. kata_spool_window returns the rows from
 * @from_minute on, in the same form. */
gboolean     kata_spool_window_add (KataSpool *spool, JsonArray *rows,
                                    gint64 keep_from_minute, GError **error);
JsonArray   *kata_spool_window    (KataSpool *spool, gint64 from_minute);
gboolean     kata_spool_meta_set  (KataSpool *spool, const char *key,
                                   const char *value, GError **error);
/* Stores @value under @key unless the key holds a value already. */
gboolean     kata_spool_meta_add  (KataSpool *spool, const char *key,
                                   const char *value, GError **error);
char        *kata_spool_meta_get  (KataSpool *spool, const char *key);

/* ---- throttling (kata-throttle.c) ---------------------------------- */

typedef struct _KataThrottle KataThrottle;

KataThrottle *kata_throttle_new       (void);
void          kata_throttle_free      (KataThrottle *throttle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataThrottle, kata_throttle_free)
void          kata_throttle_configure (KataThrottle *throttle, gboolean enabled,
                                       guint max_per_hour, guint excess_percent);
/* Whether an event offered at @now_us may be sent; counts it either way. */
gboolean      kata_throttle_admit     (KataThrottle *throttle, const char *type,
                                       KataImportance importance, gint64 now_us);
/* (transfer full) {"offered":N,"admitted":N,"held_back":N,"types":{type:
 * {"offered","admitted","held_back"}}} since the start. */
JsonObject   *kata_throttle_counters  (KataThrottle *throttle);
/* Sharing the window with other processes: visit what was counted here
 * since the last visit (and mark it shared), then set the shared totals of
 * each (type, minute) with kata_throttle_share and finish with
 * kata_throttle_shared_done. Minutes are UTC minutes since the epoch. */
typedef void (*KataThrottleVisitFunc) (const char *type, gint64 minute,
                                       guint offered, guint admitted,
                                       gpointer user_data);
void          kata_throttle_take_unshared (KataThrottle *throttle,
                                           KataThrottleVisitFunc visit,
                                           gpointer user_data);
void          kata_throttle_share     (KataThrottle *throttle, const char *type,
                                       gint64 minute, guint offered,
                                       guint admitted);
void          kata_throttle_shared_done (KataThrottle *throttle);

/* ---- certificates (kata-cert-info.c) ------------------------------- */

/* Loads OpenSSL's default and legacy providers once (RC2/3DES PFX). */
void        kata_crypto_init       (void);
/* Unloads them again: for a test's leak check at exit only. Never from the
 * plugin's shutdown: the providers are process-wide and the rest of the
 * process (other plugins, later hosts) keeps using them. */
void        kata_crypto_shutdown   (void);
/* (transfer full) the first certificate of @pem, or NULL with INVALID. */
X509       *kata_cert_from_pem     (const char *pem, GError **error);
/* SHA-256 of the certificate's SubjectPublicKeyInfo (32 bytes). */
gboolean    kata_cert_spki_sha256  (X509 *cert, guint8 out[32]);
/* (transfer full) {"subject","issuer","not_before","not_after",
 * "sha256_fingerprint","spki_sha256"} for people. */
JsonObject *kata_cert_info         (X509 *cert);

typedef struct {
  X509           *cert;
  EVP_PKEY       *key;
  STACK_OF (X509) *chain;
} KataClientCert;

void        kata_client_cert_free  (KataClientCert *cc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataClientCert, kata_client_cert_free)
/* Opens a PFX (PKCS#12) archive. Errors: BAD_PASSWORD, UNSUPPORTED (an
 * algorithm OpenSSL cannot use), INVALID (not a PFX, or no key). */
KataClientCert *kata_pfx_open      (GBytes *der, const char *password,
                                    GError **error);

/* ---- server replies (kata-reply.c) --------------------------------- */

/* The acknowledgement of a package: {"ack": seq}. */
gboolean  kata_reply_parse_ack  (const char *data, gsize len, guint64 *seq,
                                 GError **error);

typedef struct {
  JsonObject *settings;         /* or NULL */
  GPtrArray  *tasks;            /* JsonObject *: id, type, params, name */
} KataSyncReply;

void      kata_sync_reply_free  (KataSyncReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataSyncReply, kata_sync_reply_free)
KataSyncReply *kata_reply_parse_sync (const char *data, gsize len,
                                      GError **error);

/* ---- settings (kata-settings.c) ------------------------------------ */

typedef struct {
  char    *address;
  guint16  port;
} KataServer;

typedef struct {
  gboolean        enabled;
  GPtrArray      *servers;            /* KataServer * */
  gboolean        use_proxy;
  guint           timeout_sec;
  guint           sync_period_min;
  gboolean        use_ttl;
  guint           ttl_min;
  gboolean        use_pinned;
  char           *pinned_pem;
  gboolean        use_client_cert;
  GBytes         *client_pfx;         /* decoded from base64 */
  char           *client_pfx_password;
  guint           period_sec;
  guint           max_per_package;
  gboolean        throttle_enabled;
  guint           max_per_hour;
  guint           excess_percent;
  guint           spool_max_events;   /* data_submission, 1000–1000000 */
} KataSettings;

/* kata-schema.c: the `kata` section's schema, the one copy of its defaults. */
extern const VigilSection kata_schema;

/* The schema's defaults, no server. */
KataSettings *kata_settings_new_default (void);
KataSettings *kata_settings_copy        (const KataSettings *settings);
void          kata_settings_add_server  (KataSettings *settings,
                                         const char *address, guint16 port);
void          kata_settings_free        (KataSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataSettings, kata_settings_free)
/* From effective settings (group -> key -> value); missing keys keep the
 * defaults. */
KataSettings *kata_settings_from_json   (JsonObject *values, GError **error);

/* Settings from the central node (kata-server-settings.c): whether every
 * group and key of @settings may be set by the server and is in range;
 * the error names the JSON path ($.settings.throttling.excess_percent). */
gboolean      kata_server_settings_check (JsonObject *settings, GError **error);
/* Overrides the keys @overrides (group -> key -> value, checked) names. */
void          kata_settings_apply_overrides (KataSettings *settings,
                                             JsonObject *overrides);

/* Called for each problem with its path ("connection.servers[1].port"). */
typedef void (*KataProblemFunc) (const char *path, const char *message,
                                 gpointer user_data);
/* Cross-field and OpenSSL checks beyond the host's generic schema ones. */
void          kata_settings_validate    (JsonObject *values,
                                         KataProblemFunc problem,
                                         gpointer user_data);

/* ---- the engine (kata-engine.c, kata-sender.c, kata-sync.c) -------- */

typedef struct {
  gint64 (*now)           (gpointer user_data);
  /* Reports an event of its own (kata.*); called from any thread. */
  void   (*emit)          (gpointer user_data, const char *type,
                           JsonObject *payload);
  /* Creates a task from synchronization: {"id","type","name","params",
   * "schedule"} (schedule: an object, or absent for "now").
   * Returns: (transfer full) the host's task id or NULL with @error,
   * KATA_ERROR_TASK_UNSUPPORTED when the device cannot run the type. */
  char  *(*create_task)   (gpointer user_data, JsonObject *task,
                           GError **error);
  /* (transfer full) a proxy URI for @url, or NULL for direct. */
  char  *(*resolve_proxy) (gpointer user_data, const char *url,
                           GError **error);
  gpointer user_data;
} KataHooks;

typedef struct {
  const char *dir;              /* where the spool lives */
  const char *device_id;        /* sent with each package; NULL: the one
                                 * the spool in @dir was made for */
  guint64     spool_max_events; /* 0: the settings' spool_max_events
                                 * (default 100000); otherwise a fixed
                                 * bound that the settings do not change */
  gboolean    full_sync;        /* fsync each spool commit; otherwise a
                                 * durable point at most every second
                                 * (the plugin's setting, see docs/kata.md) */
  const char *ca_file;          /* chain verification when not pinned */
} KataEngineOptions;

typedef struct _KataEngine KataEngine;

typedef struct {
  guint  packages;              /* acknowledged in this cycle */
  guint  events;
  int    server_index;          /* the server used, -1 when none worked */
} KataCycleResult;

KataEngine *kata_engine_new       (const KataEngineOptions *options,
                                   const KataHooks *hooks, GError **error);
void        kata_engine_free      (KataEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataEngine, kata_engine_free)
/* Applies new settings (copied). Invalid certificates are reported by an
 * event and leave TLS unusable until fixed. */
void        kata_engine_configure (KataEngine *engine, const KataSettings *settings);
/* Exclusion, TTL, throttling, then the spool: when this returns TRUE the
 * event is on disk (or deliberately not sent). @record is the event as it
 * goes on the wire. */
gboolean    kata_engine_submit    (KataEngine *engine, const char *type,
                                   JsonObject *record, GError **error);
/* Makes the spool durable (at most once a second of real time, when
 * something was committed), then runs the transmission cycle and the
 * synchronization when their periods have elapsed on the hooks' clock.
 * Safe from a worker thread. */
void        kata_engine_tick      (KataEngine *engine);
/* One transmission cycle now, whatever the period. */
void        kata_engine_send_now  (KataEngine *engine, KataCycleResult *result);
/* One synchronization now; FALSE when no server gave a usable reply. */
gboolean    kata_engine_sync_now  (KataEngine *engine);
/* (transfer full) counters and state for `vigil kata status`. */
JsonObject *kata_engine_status    (KataEngine *engine);
guint64     kata_engine_spooled   (KataEngine *engine);

/* Replaces the hooks' user_data (for hooks that need the engine). */
void        kata_engine_set_hook_data (KataEngine *engine, gpointer user_data);
/* The device whose telemetry this engine sends (may be NULL). */
const char *kata_engine_device    (KataEngine *engine);
/* (transfer full) the central node's id of the task the host knows as
 * @host_task_id, when synchronization created it; NULL otherwise. */
char       *kata_engine_node_task (KataEngine *engine, const char *host_task_id);
/* Counts an event the telemetry exclusions kept out (for the status). */
void        kata_engine_note_excluded (KataEngine *engine);

G_END_DECLS
