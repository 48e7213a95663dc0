/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What kata-engine.c, kata-sender.c and kata-sync.c share: the engine
 * object and the per-cycle snapshot of the connection settings. A cycle
 * works from its own snapshot (settings copy, pinned key, client
 * certificate) so that new settings arriving on the main thread never
 * change a connection under way.
 */
#pragma once

#include "kata-engine.h"

#include <vigil/util/https.h>

/* Largest reply body taken from a central node. */
#define KATA_MAX_REPLY_BODY (4 * 1024 * 1024)

struct _KataEngine {
  GMutex        lock;          /* settings, throttle, TTL, counters */
  GMutex        cycle_lock;    /* one send or sync cycle at a time */
  KataHooks     hooks;
  char         *device_id;
  char         *ca_file;
  KataSpool    *spool;
  gboolean      fixed_bound;   /* the options' spool_max_events wins */
  KataThrottle *throttle;
  KataSettings *settings;      /* effective: policy + server overrides */
  KataSettings *policy;        /* as the policy gave them */
  JsonObject   *overrides;     /* from the server, or NULL */
  gint64        last_send_us;
  gint64        last_sync_us;
  gint64        durable_us;    /* monotonic time of the last durable point */
  gboolean      ever_sent;
  gboolean      delivery_failing;
  char         *last_refusal;  /* last kata.connection_refused reason */
  /* counters */
  guint64       submitted;
  guint64       excluded;
  guint64       disabled;
  guint64       ttl_suppressed;
  guint64       dropped_low;
  guint64       dropped_high;
  guint64       dropped_reported;   /* drops told by kata.events_dropped */
  guint64       sent_events;
  guint64       sent_packages;
  guint64       failed_cycles;
  guint64       syncs;
  guint64       sync_failures;
  guint64       tasks_created;
  char         *last_error;
  char         *last_server;
  gint64        last_delivery_us;
  /* The counters as last saved to the spool (see kata_engine_save_counters). */
  struct {
    guint64 submitted, excluded, disabled, ttl_suppressed, dropped_low,
            dropped_high, dropped_reported, sent_events, sent_packages,
            failed_cycles, syncs, sync_failures, tasks_created;
  } saved;
  JsonObject   *throttle_saved;   /* type -> counts as last saved */
};

typedef struct {
  KataSettings   *settings;
  guint8          pin[32];
  gboolean        pinned;
  KataClientCert *client;
  char           *config_error;  /* why TLS cannot be set up, or NULL */
} KataSnapshot;

KataSnapshot *kata_snapshot_take (KataEngine *engine);
void          kata_snapshot_free (KataSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KataSnapshot, kata_snapshot_free)
/* kata-transport.c: an HTTPS client for server @index of @snap (through
 * the proxy when configured); nothing is connected before its first
 * request. */
VigilHttpsClient *kata_snapshot_client (KataEngine *engine, KataSnapshot *snap,
                                        guint index, GError **error);
/* One request to @server ("host:port") at @path, @body JSON or NULL (GET).
 * Errors are KATA_ERRORs naming the server; a pin mismatch is also
 * reported by a kata.connection_refused event. */
gboolean      kata_request       (KataEngine *engine, VigilHttpsClient *client,
                                  const char *server, const char *method,
                                  const char *path, const char *body,
                                  VigilHttpsReply *reply, GError **error);
char         *kata_server_name   (const KataServer *server);
/* kata-counters.c. Save and load take engine->lock themselves; load and
 * the throttling totals are called with it held. */
void          kata_engine_save_counters (KataEngine *engine);
void          kata_engine_load_counters (KataEngine *engine);
JsonObject   *kata_engine_throttle_totals (KataEngine *engine);
void          kata_engine_load_window (KataEngine *engine, gint64 now_us);
void          kata_engine_set_error (KataEngine *engine, const char *server,
                                     const GError *error);
void          kata_engine_emit   (KataEngine *engine, const char *type,
                                  JsonObject *payload);
/* kata-server-failures.c: the stage a KATA_ERROR failed at; reporting a
 * failed server (event + counter, takes no engine lock); the totals. */
const char   *kata_error_stage   (const GError *error);
/* @during: "send" (a transmission cycle) or "sync" (a synchronization). */
void          kata_engine_server_failed (KataEngine *engine, const char *server,
                                         const char *during, const GError *error);
JsonObject   *kata_engine_server_failures (KataEngine *engine);
/* kata-server-settings.c. apply_settings and settings_status are called
 * with engine->lock held; the others take it. */
void          kata_engine_apply_settings (KataEngine *engine);
gboolean      kata_engine_set_overrides  (KataEngine *engine, JsonObject *overrides,
                                          GError **error);
void          kata_engine_load_overrides (KataEngine *engine);
JsonObject   *kata_engine_settings_status (KataEngine *engine);
