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

/* ---- evidence.c, evidence-read.c: the evidence store --------------- */

/* Files retrieved from devices (file.get), kept in a folder of the state
 * folder, each sealed with AES-256-GCM under a key of the store's own
 * (store.key, <vigil/util/keyfile.h>), so that what may be malware is
 * never on disk as itself. A file appears whole or not at all: it is
 * written to a locked temporary file, fsynced, renamed into place, and the
 * folder fsynced. Each file is self-describing: its metadata (id, device,
 * path, size, sha256, md5, ...) is sealed in it, after the content.
 * Thread-safe: every call opens what it needs. */
typedef struct _VhEvidence       VhEvidence;
typedef struct _VhEvidenceWriter VhEvidenceWriter;

#define VH_EVIDENCE_ERROR (vh_evidence_error_quark ())
GQuark vh_evidence_error_quark (void);
typedef enum {
  VH_EVIDENCE_ERROR_NOT_FOUND = 1,
  VH_EVIDENCE_ERROR_INVALID,    /* a bad id, report or metadata */
  VH_EVIDENCE_ERROR_DAMAGED,    /* a stored file that does not verify */
  VH_EVIDENCE_ERROR_MISMATCH,   /* content that is not what its metadata says */
  VH_EVIDENCE_ERROR_TOO_BIG,
  VH_EVIDENCE_ERROR_IO,
} VhEvidenceError;

/* Called with each slice of a file's content, in order; FALSE stops the
 * read (with @error set). */
typedef gboolean (*VhEvidenceFunc) (const guint8 *data, gsize len, gpointer user_data,
                                    GError **error);

/* Opens (creating, mode 0700) the store in @dir and its key; removes the
 * temporary files no process holds any more. */
VhEvidence       *vh_evidence_open   (const char *dir, GError **error);
void              vh_evidence_close  (VhEvidence *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VhEvidence, vh_evidence_close)

/* A new file in @subdir of the store (NULL: the store itself; created). */
VhEvidenceWriter *vh_evidence_writer_new    (VhEvidence *ev, const char *subdir,
                                             GError **error);
gboolean          vh_evidence_writer_write  (VhEvidenceWriter *w, const void *data, gsize len,
                                             GError **error);
/* Seals @meta (copied, with "size", "sha256" and "md5" of what was
 * written added) and puts the file in place as @name, durably. With
 * @expect (a "sha256" and "size" to match) the file is refused
 * (MISMATCH) and never appears when the content differs. Returns: (transfer
 * full) the metadata stored. */
JsonObject       *vh_evidence_writer_commit (VhEvidenceWriter *w, JsonObject *meta,
                                             const char *name, JsonObject *expect,
                                             GError **error);
/* Frees @w; a file not committed is removed. */
void              vh_evidence_writer_free   (VhEvidenceWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VhEvidenceWriter, vh_evidence_writer_free)

/* Reads @name in @subdir: its metadata (@meta, optional) and, with @func,
 * its content, every chunk authenticated and the whole checked against the
 * metadata's sha256 and size before it returns TRUE. */
gboolean          vh_evidence_read   (VhEvidence *ev, const char *subdir, const char *name,
                                      JsonObject **meta, VhEvidenceFunc func,
                                      gpointer user_data, GError **error);
gboolean          vh_evidence_exists (VhEvidence *ev, const char *subdir, const char *name);
gboolean          vh_evidence_remove (VhEvidence *ev, const char *subdir, const char *name,
                                      GError **error);
/* Removes @subdir and the files in it (no deeper folders). */
gboolean          vh_evidence_remove_dir (VhEvidence *ev, const char *subdir, GError **error);
/* The names in @subdir ending in @suffix. (transfer full) */
GPtrArray        *vh_evidence_names  (VhEvidence *ev, const char *subdir, const char *suffix);

/* ---- evidence-receive.c: a file sent in parts (the fleet) ------------ */

/* Longest part, and most parts, of a file sent to the store. */
#define VH_EVIDENCE_PART_MAX  (512 * 1024)
#define VH_EVIDENCE_PARTS_MAX 16384

/* Keeps one part of a file @device_id sends, @report being {evidence (a
 * UUID), part, parts, data (base64), meta {path, size, sha256, md5, task?,
 * retrieved_at?}}, checked member by member (INVALID names the member).
 * Parts wait sealed in incoming/<id>/ of the store; the part that
 * completes the file has them put together into <id>.ev, checked against
 * the SHA-256, MD5 and size (MISMATCH: nothing stored, the parts
 * dropped). A part again, or of a file stored already, is kept once.
 * Returns: TRUE once the part is durably kept; *@stored (transfer full)
 * is the file's metadata when this part completed it, else NULL. */
gboolean vh_evidence_receive (VhEvidence *ev, const char *device_id, JsonObject *report,
                              gint64 now, JsonObject **stored, GError **error);

G_END_DECLS
