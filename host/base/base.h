/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The base layer of libvigil-host (host/base/): the SQLite store and its
 * migrations, the plugins' document store, validation reports, the logger
 * and its trace files, the host clock, and the context
 * every layer above reaches from a VigilHost. It depends on no other layer;
 * docs/architecture.md explains the order.
 */
#pragma once

#include <sqlite3.h>
#include <vigil/util/json.h>
#include "vigil-host.h"

G_BEGIN_DECLS

typedef struct _VhStore        VhStore;
typedef struct _VhLogger       VhLogger;
/* The state of the layers above, opaque here: each is defined, created
 * and freed by the layer that owns it. */
typedef struct _VhRegistry     VhRegistry;      /* registry */
typedef struct _VhConfig       VhConfig;        /* registry */
typedef struct _VhEvents       VhEvents;        /* tasks */
typedef struct _VhTasks        VhTasks;         /* tasks */
typedef struct _VhGeneralCache VhGeneralCache;  /* settings */

/* ---- context.h: what a host lends to the layers below api ------------ */

/* The layers below api never see struct _VigilHost (host/api/api-private.h).
 * They get this narrow context instead: the shared services (store, logger,
 * clock, the main thread) and one slot per layer for its own state, which
 * only that layer can dereference. The api layer fills it in, in layer
 * order, and embeds it as the first member of its host, so that the
 * VigilHost handle the lower layers are given leads to it. */
typedef struct {
  VhStore        *store;          /* base */
  VhLogger       *logger;         /* base */
  VigilClockFunc  clock;          /* base: never NULL */
  gpointer        clock_data;
  GThread        *main_thread;    /* the thread that created the host */
  VhConfig       *config;         /* registry */
  VhRegistry     *registry;       /* registry */
  VhEvents       *events;         /* tasks */
  VhTasks        *tasks;          /* tasks */
  VhGeneralCache *settings;       /* settings */
} VhContext;

/* (transfer none) the context of @host. */
static inline VhContext *
vh_context (VigilHost *host)
{
  return (VhContext *) host;
}

/* The host clock (vigil_host_set_clock): microseconds since the epoch. */
gint64    vh_now (VigilHost *host);

/* ---- store.c ------------------------------------------------------- */

VhStore  *vh_store_open    (const char *path, GError **error);
void      vh_store_close   (VhStore *store);

/* A module's schema migrations, applied in order, each once, each in its
 * own transaction; versions start at 1 and never change once released. */
typedef struct {
  guint       version;
  const char *sql;
} VhMigration;

gboolean  vh_store_migrate (VhStore *store, const char *module,
                            const VhMigration *migrations, gsize n,
                            GError **error);
/* The connection is shared by all threads: take it with lock, release it
 * with unlock. Everything between is serialized. */
sqlite3  *vh_store_lock    (VhStore *store);
void      vh_store_unlock  (VhStore *store);
/* Sets @error from the connection's last error, with @what as context. */
void      vh_store_set_error (sqlite3 *db, const char *what, GError **error);

/* BEGIN IMMEDIATE, with synchronous=FULL for @durable writes (admin
 * changes: inventory, policies) so that a change reported as done survives
 * a power loss too; other writes keep synchronous=NORMAL. */
gboolean vh_store_begin    (sqlite3 *db, gboolean durable, GError **error);
gboolean vh_store_commit   (sqlite3 *db, gboolean durable, GError **error);
void     vh_store_rollback (sqlite3 *db, gboolean durable);
gboolean vh_store_exec     (sqlite3 *db, const char *sql, GError **error);
/* The schema version recorded for @module, 0 when none. -1 on error. */
gint64   vh_store_module_version (sqlite3 *db, const char *module, GError **error);
/* SQLite's PRAGMA data_version: changes when another connection commits,
 * so a cache of what the store holds knows when to drop its entries.
 * -1 on error. Thread-safe. */
gint64   vh_store_data_version (VhStore *store);

/* ---- docs-store.c: the plugins' document store (api store_*) -------- */

gboolean     vh_docs_init   (VigilHost *host, GError **error);
gboolean     vh_docs_put    (VigilHost *host, const char *plugin, const char *collection,
                             const char *key, JsonNode *document, GError **error);
JsonNode    *vh_docs_get    (VigilHost *host, const char *plugin, const char *collection,
                             const char *key, GError **error);
gboolean     vh_docs_delete (VigilHost *host, const char *plugin, const char *collection,
                             const char *key, GError **error);
JsonObject  *vh_docs_list   (VigilHost *host, const char *plugin, const char *collection,
                             GError **error);

/* ---- report.c: problems with JSON paths ------------------------------ */

VigilReport *vh_report_new        (void);
void         vh_report_free       (VigilReport *report);
/* Prepended to the paths of problems added from now on ("kata."). */
void         vh_report_set_prefix (VigilReport *report, const char *prefix);
void         vh_report_add        (VigilReport *report, VigilSeverity severity,
                                   const char *path, const char *format, ...)
                                   G_GNUC_PRINTF (4, 5);
void         vh_report_addv       (VigilReport *report, VigilSeverity severity,
                                   const char *path, const char *format,
                                   va_list args) G_GNUC_PRINTF (4, 0);
gboolean     vh_report_has_errors (VigilReport *report);
guint        vh_report_error_count (VigilReport *report);
/* (transfer full) array of {severity, path, message}. */
JsonArray   *vh_report_to_json    (VigilReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilReport, vh_report_free)

/* Typed JSON reads (NULL, FALSE or the fallback when the object is NULL,
 * the key is missing or the value has another type) are the helper
 * library's vigil_json_get_*() of <vigil/util/json.h>, one copy for the
 * host and the plugins. */

/* ---- trace.c: rotated trace files ------------------------------------ */

typedef struct _VhTrace VhTrace;

/* Trace log @name ("vigil") in @folder: the current file is <name>.log,
 * older ones <name>.1.log (newest) ... <name>.<max_files-1>.log. When a
 * write would pass @max_bytes the files shift by one and the oldest is
 * overwritten; with @max_files 1 the one file starts over. */
VhTrace  *vh_trace_open   (const char *folder, const char *name,
                           guint64 max_bytes, guint max_files, GError **error);
/* Appends one line (a newline is added). Not thread-safe: the logger
 * serializes calls. */
gboolean  vh_trace_write  (VhTrace *trace, const char *line, GError **error);
void      vh_trace_close  (VhTrace *trace);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VhTrace, vh_trace_close)

/* ---- log.c: the logger ----------------------------------------------- */

/* Thread-safe. @domain is a plugin id or "host". Writes stderr (by level)
 * and the trace files when failure diagnosis is on. */
void      vh_log             (VigilHost *host, const char *domain,
                              GLogLevelFlags level, const char *message);
gboolean  vh_logger_init     (VigilHost *host, GError **error);
void      vh_logger_free     (VigilHost *host);
/* Info and debug messages reach stderr only when verbose (the CLI's -v, or
 * env VIGIL_VERBOSE=1); warnings and errors always do. */
void      vh_logger_set_verbose  (VigilHost *host, gboolean verbose);
/* Trace files in @folder (NULL: none) of at most @max_bytes, at most
 * @max_files per trace log. Thread-safe. The settings layer calls it when
 * the failure_diagnosis settings change. */
gboolean  vh_logger_set_trace    (VigilHost *host, const char *folder,
                                  guint64 max_bytes, guint max_files,
                                  GError **error);

G_END_DECLS
