/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The file scanner of the ioc-scan plugin: scopes and the directory walk
 * (scan-walk.c) over folders opened from their parent's fd (scan-dir.c),
 * file owners (<vigil/util/users.h>), reading and hashing a file
 * in one pass (scan-hash.c, and
 * scan-md5mb.c for MD5 in vector lanes), the bounded work queue, the
 * worker threads and the per-file evaluation (scan-engine.c) and the JSON
 * result with the detected-IOC cards (scan-result.c). Paths the evaluator and the results see are
 * device paths: inside the device's root folder, starting with "/".
 */
#pragma once

#include <json-glib/json-glib.h>
#include <sys/types.h>
#include <vigil/util/users.h>

#include "openioc.h"

G_BEGIN_DECLS

typedef enum {
  IOC_SCOPE_CUSTOM = 0,
  IOC_SCOPE_CRITICAL_AREAS,
  IOC_SCOPE_SYSTEM_DRIVES,
} IocScopeKind;

typedef struct {
  IocScopeKind kind;
  GPtrArray   *paths;       /* char*, device paths (custom scope) */
  GPtrArray   *exclusions;  /* char*, device paths or glob patterns */
} IocScope;

typedef struct {
  guint64     files_found;  /* regular files queued so far */
  guint64     files_done;
  guint64     bytes_done;   /* bytes read and hashed */
  gboolean    walk_done;
  const char *phase;        /* "walking and scanning", "scanning", "done" */
} IocScanProgress;

typedef void (*IocProgressFunc) (const IocScanProgress *progress, gpointer user_data);

/* Where a worker is with a file the walk listed. */
typedef enum {
  IOC_FILE_LISTED,    /* about to take its metadata */
  IOC_FILE_OPENING,   /* metadata taken, about to open it to hash it */
  IOC_DIR_OPENING,    /* a folder the walk listed, about to be opened */
} IocFileStage;

/* Called at each stage of a file (on a worker thread) and of a folder (on
 * the walking thread): tests use it to make a file vanish or a folder be
 * swapped between the walk and the open, deterministically; the scan
 * itself never needs it. */
typedef void (*IocFileHook) (const char *host_path, IocFileStage stage, gpointer user_data);

typedef struct {
  const char     *root;          /* host folder that is the device's "/" */
  const IocScope *scope;
  guint           threads;       /* 0: one per processor */
  GCancellable   *cancellable;
  IocProgressFunc progress;      /* called on the calling thread */
  gpointer        progress_data;
  guint           progress_ms;   /* 0: 200 ms */
  guint           max_objects;   /* objects listed per IOC; 0: 1000 */
  guint           max_listed;    /* skipped/errors listed; 0: 1000 */
  gboolean        no_multi_buffer; /* OpenSSL MD5 only (tests, comparison) */
  IocFileHook     file_hook;     /* NULL; tests only */
  gpointer        file_hook_data;
} IocScanOptions;

/* One object that matched an IOC (a detected-IOC card entry). */
typedef struct {
  char   *path;        /* device path */
  guint64 size;
  char    md5[33];
  char    sha1[41];
  char    sha256[65];
  gint64  created, modified, accessed, changed;
  char   *owner;
  char   *matched;     /* text of the matched branches */
} IocMatch;

typedef struct {
  IocDoc    *doc;
  GPtrArray *matches;  /* IocMatch, sorted by path after the scan */
  guint64    n_matches;
} IocDocResult;

typedef struct {
  char *path;
  char *reason;
} IocPathNote;

typedef struct {
  GPtrArray *docs;       /* IocDocResult, one per usable document, in order */
  guint64    files;      /* regular files examined */
  guint64    bytes;      /* bytes read (hashed) */
  guint64    hashed_files;
  guint64    skipped;    /* symlinks, special files, excluded, other fs */
  guint64    errors;     /* vanished, unreadable */
  GPtrArray *skipped_list; /* IocPathNote, capped */
  GPtrArray *error_list;   /* IocPathNote, capped */
  GPtrArray *scope_notes;  /* IocPathNote: scope roots absent or refused */
  gint64     duration_us;  /* the scan: walking, reading, hashing, matching */
  gint64     walk_us;      /* from the start until every file was listed */
  gboolean   cancelled;
  guint      threads;
} IocScanResult;

/* ---- scan-dir.c ---- */
/* The folders of one scan: nodes opened from their parent's fd, never by
 * path (see scan-dir.c). Thread-safe. */
typedef struct _IocDirs IocDirs;
typedef struct _IocDir IocDir;
/* Opens the device root @root_real (a canonical host folder). */
IocDirs       *ioc_dirs_new               (const char *root_real, GError **error);
/* Frees the tree; every node other than the root must be unreferenced. */
void           ioc_dirs_free              (IocDirs *dirs);
/* The root (transfer none; its fd is open until ioc_dirs_free()). */
IocDir        *ioc_dirs_root              (IocDirs *dirs);
/* A new node for the folder @name (one component) in @parent; not opened
 * yet. (transfer full) */
IocDir        *ioc_dir_child              (IocDir *parent, const char *name);
IocDir        *ioc_dir_ref                (IocDir *dir);
void           ioc_dir_unref              (IocDir *dir);
/* @dir's fd, opened (again) from its parent with O_NOFOLLOW when needed and
 * kept open until ioc_dir_release(). -1 with errno: ELOOP (now a symbolic
 * link), ENOTDIR, ESTALE (not the folder first opened), ENOENT... */
int            ioc_dir_acquire            (IocDir *dir);
void           ioc_dir_release            (IocDir *dir);
/* The device and inode @dir had when first opened (acquired at least once). */
void           ioc_dir_identity           (IocDir *dir, dev_t *dev, ino_t *ino);
/* The reason to list for an ioc_dir_acquire() errno. */
const char    *ioc_dir_reason             (int errsv);

/* ---- scan-walk.c ---- */
/* Where the walk sends what it finds. Paths are host paths, for notes and
 * results only: files are opened as @name in @dir (its last component). */
typedef struct {
  void   (*file)  (IocDir *dir, const char *host_path, gpointer data);
  void   (*skip)  (const char *host_path, const char *reason, gpointer data);
  void   (*error) (const char *host_path, const char *reason, gpointer data);
  void   (*tick)  (gpointer data);   /* once per directory */
  void   (*opening_dir) (const char *host_path, gpointer data);  /* NULL; tests */
  gpointer data;
} IocWalkSink;

/* Walks the scope inside @dirs' root: every folder is opened from its
 * parent's fd with O_NOFOLLOW, so the walk never follows a symlink and
 * cannot be led out of the root, at any depth; skips special files,
 * excluded paths and pseudo file systems. Scope roots that are absent or
 * refused go to @scope_notes. Returns FALSE when cancelled. */
gboolean       ioc_walk                   (IocDirs *dirs, const char *root_real,
                                           const IocScope *scope,
                                           const IocWalkSink *sink, GPtrArray *scope_notes,
                                           guint max_listed, GCancellable *cancellable);
/* The device path of a host path under @root_real. */
const char    *ioc_device_path            (const char *root_real, const char *host_path);

/* The device paths a scope stands for ("critical areas", "system drives"). */
GPtrArray     *ioc_scope_roots            (const IocScope *scope);
IocScopeKind   ioc_scope_kind_parse       (const char *text, gboolean *ok);
const char    *ioc_scope_kind_name        (IocScopeKind kind);
/* Whether @device_path is excluded by @scope. */
gboolean       ioc_scope_excluded         (const IocScope *scope, const char *device_path);
/* Resolves @device_path inside @root: (transfer full) the host path, or
 * NULL with @why set when it is refused (relative, "..", a symlink out of
 * the root) or absent. */
char          *ioc_resolve_in_root        (const char *root, const char *device_path,
                                           char **why);

/* ---- scan-engine.c ---- */
IocScanResult *ioc_scan_run               (IocCollection *coll, const IocScanOptions *options,
                                           GError **error);
void           ioc_scan_result_free       (IocScanResult *result);
/* Adds a note to @list unless it already holds @cap (the caller counts). */
void           ioc_note_add               (GPtrArray *list, guint cap, const char *path,
                                           const char *format, ...) G_GNUC_PRINTF (4, 5);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IocScanResult, ioc_scan_result_free)

/* ---- scan-hash.c ---- */
typedef struct _IocHasher IocHasher;
IocHasher     *ioc_hasher_new             (void);
void           ioc_hasher_free            (IocHasher *hasher);
/* Reads @fd to its end once, computing the hashes in @mask into @facts
 * (and setting facts->have). Returns the bytes read, or -1 with errno. */
gint64         ioc_hasher_run             (IocHasher *hasher, int fd, guint mask,
                                           guint64 size_hint, IocFileFacts *facts,
                                           GCancellable *cancellable);
/* Hashes a whole regular file, @name in the folder @dir_fd (never
 * through a link), into the three hex digests. */
gboolean       ioc_hash_at                (int dir_fd, const char *name, char md5[33],
                                           char sha1[41], char sha256[65], GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (IocHasher, ioc_hasher_free)

/* ---- scan-result.c ---- */
/* The per-device result of a scan: per IOC found / not found with its
 * card, counters, skipped, errors, duration, and the collection's load
 * report. (transfer full) */
JsonObject    *ioc_scan_result_to_json    (const IocScanResult *result,
                                           const IocCollection *coll);
/* The load report of a collection: per file id, version, problems,
 * unsupported terms. (transfer full) */
JsonArray     *ioc_collection_report_json (const IocCollection *coll);
/* One match as the `ioc.found` payload's object part and as a card entry. */
JsonObject    *ioc_match_to_json          (const IocMatch *match);

G_END_DECLS
