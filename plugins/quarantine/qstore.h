/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The quarantine engine: an encrypted, crash-safe object store that knows
 * nothing about the Vigil host. A store is one folder holding one
 * self-describing file per quarantined object (`<id>.vqo`), the store key
 * (`store.key`, mode 0600) and a lock file. The plugin (plugin*.c), the unit
 * tests, the crash helper and the benchmark all drive the engine through
 * this header only. File format: qobject-format.c and docs/quarantine.md.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <vigil/util/error.h>
#include <vigil/util/io.h>

G_BEGIN_DECLS

/* ---- errors ---------------------------------------------------------- */

typedef enum {
  Q_ERROR_REFUSED = 1,  /* a path or file the engine will not touch */
  Q_ERROR_NOT_FOUND,    /* no such file or object */
  Q_ERROR_FORMAT,       /* not a quarantine object, or an unknown version */
  Q_ERROR_WRONG_KEY,    /* the object was sealed with another store key */
  Q_ERROR_AUTH,         /* authentication failed: tampered or corrupted */
  Q_ERROR_TRUNCATED,    /* the object ends before its final chunk */
  Q_ERROR_CHANGED,      /* the original changed while it was being read */
  Q_ERROR_IO,           /* a system call failed; cancellation is G_IO_ERROR_CANCELLED */
} QError;

#define Q_ERROR (q_error_quark ())
VIGIL_ERROR_DOMAIN_DECLARE (q);

/* Sets @error from errno with "what: path: strerror". Returns FALSE. */
gboolean q_set_errno (GError **error, int errsv, const char *what,
                      const char *path);

/* ---- low-level I/O (qio.c) ------------------------------------------ */

/* read(2)/pread/pwrite until done, retrying EINTR (write(2): the helper
 * library's vigil_write_all). Reads return the bytes read (short only at
 * end of file) or -1 with errno set. */
gssize   q_read_full   (int fd, void *buf, gsize len);
gssize   q_pread_full  (int fd, void *buf, gsize len, goffset offset);
gboolean q_pwrite_full (int fd, const void *buf, gsize len, goffset offset);
/* fsync(2) unless the bench switch qstore_no_fsync is on. */
int      q_fsync       (int fd);
/* Lower-case hex of @len bytes into @out (2 * len + 1 bytes). */
void     q_hex         (const guint8 *data, gsize len, char *out);

/* ---- the store key (qkey.c) ----------------------------------------- */

#define Q_KEY_LEN    32
#define Q_KEY_ID_LEN 8

typedef struct {
  guint8 key[Q_KEY_LEN];
  guint8 id[Q_KEY_ID_LEN];  /* public fingerprint, stored in each header */
} QKey;

/* Loads the key file @name in the folder @dir_fd, or creates it (0600,
 * random) when absent. The file is created atomically: a crash never
 * leaves a short key behind. The caller holds the store lock. */
gboolean qkey_load_or_create (int dir_fd, const char *name, QKey *key,
                              GError **error);
/* A key from raw bytes (tests and the fuzz target). */
void     qkey_from_bytes (const guint8 raw[Q_KEY_LEN], QKey *key);
/* Wipes the key material. */
void     qkey_clear (QKey *key);

/* ---- safe paths (qpath.c) ------------------------------------------- */

/* Opens the folder that holds the last component of @path (a device path,
 * absolute or relative to the root) by walking from @root_fd one component
 * at a time with O_NOFOLLOW: `..`, symlinked folders and non-folders are
 * refused. With @create, missing folders are made (0755). On success,
 * *leaf receives the last component (transfer full). Returns the folder's
 * fd, or -1 with @error. */
int  qpath_open_parent (int root_fd, const char *path, gboolean create,
                        char **leaf, GError **error);
/* Opens the folder @path itself the same way (create as above). */
int  qpath_open_dir    (int root_fd, const char *path, gboolean create,
                        GError **error);
/* "/a/b" for "a//./b": the canonical device path (transfer full), or NULL
 * with @error for what the walk would refuse. */
char *qpath_normalize  (const char *path, GError **error);
/* Opens a host folder (an allowed root or the store) as an O_DIRECTORY fd. */
int  qpath_open_root   (const char *host_path, GError **error);
/* Whether @name (a device id, an object id...) can be one component of a
 * host path: not empty, not "." or "..", no '/'. Else FALSE with @error
 * naming @what. */
gboolean qpath_check_component (const char *name, const char *what, GError **error);

/* ---- objects (qobject-format.c) ------------------------------------- */

#define Q_OBJECT_SUFFIX ".vqo"
#define Q_ID_LEN        16   /* bytes; 32 hex characters in names */

/* Whether @name is a committed object's file name; sets @id_hex. */
gboolean qobject_name_parse (const char *name, char id_hex[2 * Q_ID_LEN + 1]);

/* Reads and authenticates only the header and the metadata block of the
 * object open at @fd (position anywhere). @id (32 hex characters, or NULL
 * for any) is the id the object must have: its file name's. The id in the
 * authenticated header binds the object to its name, so a renamed or
 * swapped object file is refused (AUTH) instead of being read under
 * another object's id. Returns: (transfer full) the metadata, or NULL with
 * @error (FORMAT, WRONG_KEY, AUTH, TRUNCATED). */
JsonObject *qobject_read_meta (int fd, const QKey *key, const char *id,
                               GError **error);

/* Decrypts the whole object at @fd into @out_fd (or only checks it when
 * @out_fd is -1), verifying every chunk tag, the chunk order, the final
 * chunk and the SHA-256 and size recorded in the metadata. Nothing written
 * to @out_fd may be used unless this returns TRUE. */
gboolean qobject_decrypt (int fd, const QKey *key, const char *id, int out_fd,
                          JsonObject **meta_out, GCancellable *cancellable,
                          GError **error);

/* The header parser on its own, for the fuzz target: TRUE when @data holds a
 * well-formed version-1 header (nothing is decrypted). */
gboolean qobject_header_check (const guint8 *data, gsize len, GError **error);

/* The streaming writer used by put. */
typedef struct _QObjectWriter QObjectWriter;
/* @meta must hold "md5" and "sha256" placeholders of their final lengths;
 * the writer fills them in at qobject_writer_finish(). */
QObjectWriter *qobject_writer_new    (int out_fd, const QKey *key,
                                      const guint8 id[Q_ID_LEN],
                                      JsonObject *meta, GError **error);
gboolean       qobject_writer_write  (QObjectWriter *w, const guint8 *data,
                                      gsize len, GError **error);
/* Without the copy of write(): buffer() returns where the next bytes go
 * and *space (at least 1) how many fit; the caller fills up to that many
 * and passes the count to commit(). */
guint8        *qobject_writer_buffer (QObjectWriter *w, gsize *space);
gboolean       qobject_writer_commit (QObjectWriter *w, gsize len,
                                      GError **error);
/* Seals the last chunk, writes the final metadata block with the digests.
 * Returns the number of plaintext bytes written in *size. */
gboolean       qobject_writer_finish (QObjectWriter *w, guint64 *size,
                                      GError **error);
void           qobject_writer_free   (QObjectWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QObjectWriter, qobject_writer_free)

/* ---- the store (qstore*.c) ------------------------------------------ */

typedef struct _QStore QStore;

/* Opens (creating it 0700 when missing) the store folder @dir and its key,
 * then runs the recovery sweep; *recovered (optional) receives the names of
 * the leftovers the sweep removed (transfer full). */
QStore     *qstore_open  (const char *dir, GPtrArray **recovered,
                          GError **error);
void        qstore_free  (QStore *store);
const char *qstore_dir   (QStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QStore, qstore_free)

/* Internal to the engine (qstore.c): the folder fd, the key, the lock. */
int          qstore_dir_fd (QStore *store);
const QKey  *qstore_key    (QStore *store);
gboolean     qstore_lock   (QStore *store, GError **error);
void         qstore_unlock (QStore *store);
/* Sum of the committed objects' file sizes, in bytes, by listing the
 * folder (time linear in the number of objects; call with the lock held
 * when it must be exact). */
guint64      qstore_total_size (QStore *store);
int          qstore_ledger_fd (QStore *store);
/* The size ledger (qledger.c), with the store lock held: the store size
 * (recounted when the ledger is not provably current); begin() returns it
 * and marks the ledger dirty before a change, end() records the size after
 * it; recount() lists the folder and rewrites the ledger. */
guint64      qledger_size    (QStore *store);
guint64      qledger_begin   (QStore *store);
void         qledger_end     (QStore *store, guint64 size);
guint64      qledger_recount (QStore *store);
/* Removes the object file @name under the lock, keeping the ledger; @what
 * prefixes the error. Sizes are optional. */
gboolean     qstore_remove_object (QStore *store, const char *name,
                                   const char *what, guint64 *size_before,
                                   guint64 *size_after, GError **error);
/* Opens the object @id (32 hex characters) for reading; an id that was
 * restored or deleted is refused (REFUSED), even when a copy of its file
 * is back in the folder. */
int          qstore_open_object (QStore *store, const char *id, GError **error);
/* The record of ended (restored or deleted) ids (qended.c). contains()
 * sets *ended; add() appends @id durably (call it with the lock held,
 * before the object file is removed). */
gboolean     qended_contains (QStore *store, const char *id, gboolean *ended,
                              GError **error);
gboolean     qended_add      (QStore *store, const char *id, GError **error);
/* Whether @fd's folder is the store itself (put refuses such files). */
gboolean     qstore_is_store_dir (QStore *store, int dir_fd);

/* The store size in bytes, from the ledger (qledger.c; takes the lock). */
gboolean     qstore_size    (QStore *store, guint64 *size, GError **error);
/* Recounts the store size by listing the folder and rewrites the ledger;
 * the plugin does it for every known store at start-up. */
gboolean     qstore_recount (QStore *store, guint64 *size, GError **error);

/* The recovery sweep (qstore-recover.c): removes the temporary files of
 * interrupted puts and restores (skipping ones still being written by a
 * live process) and returns their names (transfer full). */
GPtrArray  *qstore_recover (QStore *store, GError **error);

/* Bench-only switch: skip every fsync (the put and restore still rename
 * atomically, but are no longer durable). Never set by the plugin. */
extern gboolean qstore_no_fsync;

/* Put (qstore-put.c). */
typedef struct {
  const char *root;            /* host path of the device root ("/") */
  const char *path;            /* device path of the file */
  const char *device_id;
  const char *detection;
  const char *reason;
  const char *origin_task;     /* each may be NULL */
  const char *origin_event;
  const char *origin_user;
  gboolean    delete_original;
  gint64      now_us;          /* the quarantine time (host clock) */
  /* Optional: called after each MB read with the fraction done. */
  void      (*progress) (double fraction, gpointer data);
  gpointer    progress_data;
} QPutRequest;

typedef struct {
  char       *id;               /* 32 hex characters */
  JsonObject *meta;             /* the object's metadata */
  gboolean    original_deleted;
  char       *original_kept;    /* why the original was kept, or NULL */
  guint64     size_before;      /* store size before and after the commit */
  guint64     size_after;
} QPutResult;

void     qput_result_clear (QPutResult *result);
gboolean qstore_put (QStore *store, const QPutRequest *req,
                     GCancellable *cancellable, QPutResult *result,
                     GError **error);

/* Restore (qstore-restore.c). The object is restored into @dir (a device
 * path inside @root, created when missing) under @name, or under a free
 * variant "name (1).ext" when taken; never over an existing file. On
 * success *restored_to is the device path written and the object is
 * removed from the store (after the restored file is durable). */
typedef struct {
  const char *id;
  const char *root;            /* host path of the allowed root */
  const char *dir;             /* NULL: the folder of the original path */
  const char *name;            /* NULL: the original file name */
  gboolean    keep_object;     /* TRUE: leave the object in the store */
  gboolean    named_temp;      /* tests: skip O_TMPFILE, use a named temp */
} QRestoreRequest;

gboolean qstore_restore (QStore *store, const QRestoreRequest *req,
                         GCancellable *cancellable, char **restored_to,
                         JsonObject **meta_out, GError **error);

/* Listing and inspection (qstore-list.c). Listing reads headers and
 * metadata blocks only. Each entry: the metadata plus "id", "object_size"
 * and, when the metadata block does not authenticate, "damaged": message. */
JsonArray  *qstore_list   (QStore *store, GError **error);
JsonObject *qstore_show   (QStore *store, const char *id, GError **error);
/* Full authentication of every chunk, nothing written. */
gboolean    qstore_verify (QStore *store, const char *id,
                           GCancellable *cancellable, GError **error);
gboolean    qstore_delete (QStore *store, const char *id, guint64 *size_before,
                           guint64 *size_after, JsonObject **meta_out,
                           GError **error);

/* ---- limits (qlimits.c) --------------------------------------------- */

typedef enum {
  Q_CROSSED_NONE      = 0,
  Q_CROSSED_LIMIT     = 1 << 0,  /* the size reached the maximum */
  Q_CROSSED_THRESHOLD = 1 << 1,  /* the space left fell to the threshold */
} QCrossed;

#define Q_MB (1024 * 1024)

/* Which limits a change of the store size from @before to @after bytes
 * crosses, upwards. @limit_mb / @threshold_mb <= 0 mean "not set"; the
 * threshold is the space left until the maximum size, so it needs one. */
QCrossed qlimits_crossed (guint64 before, guint64 after, gint64 limit_mb,
                          gint64 threshold_mb);
/* Space left until @limit_mb, in whole MB, never negative. */
gint64   qlimits_free_mb (guint64 size, gint64 limit_mb);

G_END_DECLS
