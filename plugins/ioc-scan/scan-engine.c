/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a scan: the calling thread walks the scope and hands batches of
 * files to worker threads (one per core) through a bounded queue; each
 * worker opens a file once, as a name in its folder's fd (scan-dir.c),
 * never following a link, takes its metadata,
 * reads and hashes it in one pass only when the collection needs a hash
 * for a file of that size, and asks the index which IOCs match. The
 * calling thread reports progress while it walks and while it waits, so
 * progress callbacks never run on a worker. Vanished and unreadable files
 * are counted and listed, never fatal.
 */
#define _GNU_SOURCE
#include "scan.h"
#include "scan-md5mb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BATCH 128
#define MAX_BATCHES 64
/* Files this small cost their system calls, not their hashing: they stay
 * on the plain path. */
#define MB_MIN_SIZE 1024

typedef struct {
  IocCollection        *coll;
  const IocScanOptions *opt;
  char                 *root_real;
  IocDirs              *dirs;          /* the folders, opened from the root's fd */
  IocScanResult        *result;
  GHashTable           *doc_results;   /* IocDoc -> IocDocResult */
  GMutex                lock;          /* result, doc results */
  GMutex                qlock;         /* queue */
  GCond                 qcond;
  GQueue                batches;       /* GPtrArray of Item */
  GPtrArray            *batch;         /* being filled by the walker */
  gboolean              closed;
  guint                 active;        /* workers still running */
  guint64               files_found;   /* atomics */
  guint64               files_done;
  guint64               bytes_done;
  guint64               hashed_files;
  gboolean              need_owner;
  GHashTable           *device_users;  /* uid -> name from the root's etc/passwd */
  gboolean              multi_buffer;  /* MD5 in vector lanes */
  guint                 max_objects;
  guint                 max_listed;
  gint64                last_progress;
  const char           *phase;
} Engine;

/* A file the walk listed: @name (the last component of @host_path) in
 * the folder @dir. The host path is for notes and results only. */
typedef struct {
  IocDir *dir;
  char   *host_path;
} Item;

typedef struct {
  Engine     *e;
  IocDir     *dir;
  const char *host_path;
  uid_t       uid;
} Found;

/* One worker thread's tools. */
typedef struct {
  Engine     *e;
  IocHasher  *hasher;
  IocMd5Mb   *mb;       /* NULL without AVX2 */
  GHashTable *owners;   /* uid -> user name */
} Worker;

/* A file waiting in a multi-buffer lane. */
typedef struct {
  Item         item;
  uid_t        uid;
  IocFileFacts f;
} Pending;

#define ADD(field, n) __atomic_fetch_add (&(field), (n), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n (&(field), __ATOMIC_RELAXED)

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

void
ioc_note_add (GPtrArray *list, guint cap, const char *path, const char *format, ...)
{
  IocPathNote *note;
  va_list args;

  if (list->len >= cap)
    return;
  note = g_new0 (IocPathNote, 1);
  note->path = g_strdup (path);
  va_start (args, format);
  note->reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (list, note);
}

static const char *
base_name (const char *host_path)
{
  const char *slash = strrchr (host_path, '/');
  return slash != NULL ? slash + 1 : host_path;
}

static void
item_free (gpointer p)
{
  Item *item = p;
  ioc_dir_unref (item->dir);
  g_free (item->host_path);
  g_free (item);
}

static void
note_free (gpointer p)
{
  IocPathNote *note = p;
  g_free (note->path);
  g_free (note->reason);
  g_free (note);
}

static void
match_free (gpointer p)
{
  IocMatch *m = p;
  g_free (m->path);
  g_free (m->owner);
  g_free (m->matched);
  g_free (m);
}

static void
doc_result_free (gpointer p)
{
  IocDocResult *r = p;
  g_ptr_array_unref (r->matches);
  g_free (r);
}

void
ioc_scan_result_free (IocScanResult *result)
{
  if (result == NULL)
    return;
  g_ptr_array_unref (result->docs);
  g_ptr_array_unref (result->skipped_list);
  g_ptr_array_unref (result->error_list);
  g_ptr_array_unref (result->scope_notes);
  g_free (result);
}

static IocScanResult *
result_new (IocCollection *coll, GHashTable *by_doc)
{
  IocScanResult *r = g_new0 (IocScanResult, 1);

  r->docs = g_ptr_array_new_with_free_func (doc_result_free);
  r->skipped_list = g_ptr_array_new_with_free_func (note_free);
  r->error_list = g_ptr_array_new_with_free_func (note_free);
  r->scope_notes = g_ptr_array_new_with_free_func (note_free);
  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      IocDocResult *dr;
      if (!doc->usable)
        continue;
      dr = g_new0 (IocDocResult, 1);
      dr->doc = doc;
      dr->matches = g_ptr_array_new_with_free_func (match_free);
      g_ptr_array_add (r->docs, dr);
      g_hash_table_insert (by_doc, doc, dr);
    }
  return r;
}

static void
note (Engine *e, gboolean error, const char *host_path, const char *reason)
{
  const char *device = ioc_device_path (e->root_real, host_path);
  g_mutex_lock (&e->lock);
  if (error)
    e->result->errors++;
  else
    e->result->skipped++;
  ioc_note_add (error ? e->result->error_list : e->result->skipped_list,
                e->max_listed, device, "%s", reason);
  g_mutex_unlock (&e->lock);
}

/* ------------------------------------------------------------------ */
/* Per file                                                            */
/* ------------------------------------------------------------------ */

static void
fill_match_hashes (IocMatch *m, const IocFileFacts *f, const Found *found)
{
  int dir_fd;

  if ((f->have & IOC_HASH_ALL) == IOC_HASH_ALL)
    {
      memcpy (m->md5, f->md5, sizeof m->md5);
      memcpy (m->sha1, f->sha1, sizeof m->sha1);
      memcpy (m->sha256, f->sha256, sizeof m->sha256);
      return;
    }
  /* Detections are rare: the card's hashes come from a second read of
   * the detected file only, never of the others. */
  dir_fd = ioc_dir_acquire (found->dir);
  if (dir_fd < 0 || !ioc_hash_at (dir_fd, base_name (found->host_path), m->md5, m->sha1,
                                  m->sha256, NULL))
    m->md5[0] = m->sha1[0] = m->sha256[0] = '\0';
  if (dir_fd >= 0)
    ioc_dir_release (found->dir);
}

/* The card names the owner even when no item asked for it: detections are
 * rare, so only the detected file's owner is looked up. */
static char *
match_owner (Engine *e, const IocFileFacts *f, uid_t uid)
{
  g_autoptr (GHashTable) cache = NULL;

  if (f->owner != NULL)
    return g_strdup (f->owner);
  cache = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return g_strdup (vigil_users_name (e->device_users, cache, uid));
}

static void
on_found (IocDoc *doc, const IocFileFacts *f, GHashTable *marked, gpointer data)
{
  Found *found = data;
  Engine *e = found->e;
  IocMatch *m = g_new0 (IocMatch, 1);
  IocDocResult *dr;

  m->path = g_strdup (f->path);
  m->size = f->size;
  m->created = f->created;
  m->modified = f->modified;
  m->accessed = f->accessed;
  m->changed = f->changed;
  m->owner = match_owner (e, f, found->uid);
  m->matched = ioc_matched_text (doc->root, f, marked);
  fill_match_hashes (m, f, found);
  g_mutex_lock (&e->lock);
  dr = g_hash_table_lookup (e->doc_results, doc);
  dr->n_matches++;
  if (dr->matches->len < e->max_objects)
    g_ptr_array_add (dr->matches, g_steal_pointer (&m));
  g_mutex_unlock (&e->lock);
  if (m != NULL)
    match_free (m);
}

static gint64
ts (const struct statx_timestamp *t)
{
  return (gint64) t->tv_sec;
}

static void
facts_from_statx (IocFileFacts *f, const struct statx *stx)
{
  f->size = stx->stx_size;
  f->modified = ts (&stx->stx_mtime);
  f->accessed = ts (&stx->stx_atime);
  f->changed = ts (&stx->stx_ctime);
  f->created = (stx->stx_mask & STATX_BTIME) ? ts (&stx->stx_btime) : IOC_TIME_UNKNOWN;
}

/* Metadata by name in its folder, without following a link: a file that
 * needs no hash costs this one system call. */
static gboolean
stat_file (Engine *e, int dir_fd, const char *host_path, struct statx *stx)
{
  if (statx (dir_fd, base_name (host_path), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
             STATX_BASIC_STATS | STATX_BTIME, stx) != 0)
    {
      note (e, TRUE, host_path, errno == ENOENT ? "vanished during the scan"
                                                : g_strerror (errno));
      return FALSE;
    }
  if (S_ISLNK (stx->stx_mode))
    note (e, FALSE, host_path, "symbolic link: not followed");
  else if (!S_ISREG (stx->stx_mode))
    note (e, FALSE, host_path, "special file");
  return S_ISREG (stx->stx_mode);
}

/* Opens a file to read it, never through a link and never blocking on a
 * FIFO, and checks it is still the regular file stat_file saw (it may
 * have been replaced in between). */
static gboolean
open_file (Engine *e, int dir_fd, const char *host_path, const struct statx *stx, int *fd)
{
  struct stat st;

  *fd = openat (dir_fd, base_name (host_path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (*fd < 0)
    {
      if (errno == ELOOP)
        note (e, FALSE, host_path, "symbolic link: not followed");
      else
        note (e, TRUE, host_path, errno == ENOENT ? "vanished during the scan"
                                                  : g_strerror (errno));
      return FALSE;
    }
  if (fstat (*fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_ino != stx->stx_ino
      || major (st.st_dev) != stx->stx_dev_major || minor (st.st_dev) != stx->stx_dev_minor)
    {
      note (e, TRUE, host_path, "replaced during the scan");
      close (*fd);
      return FALSE;
    }
  return TRUE;
}

/* Evaluates a file whose facts (and hashes) are known. */
static void
finish_file (Engine *e, IocFileFacts *f, const Item *item, uid_t uid)
{
  IocDerived derived = { 0 };
  Found found = { e, item->dir, item->host_path, uid };

  f->derived = &derived;
  ioc_index_match (e->coll->index, f, on_found, &found);
  ioc_derived_clear (&derived);
  ADD (e->files_done, 1);
}

static void
fill_facts (IocFileFacts *f, Worker *w, const char *host_path, const struct statx *stx)
{
  const char *slash;

  memset (f, 0, sizeof *f);
  f->path = ioc_device_path (w->e->root_real, host_path);
  slash = strrchr (f->path, '/');
  f->name = slash != NULL ? slash + 1 : f->path;
  facts_from_statx (f, stx);
  f->owner = w->e->need_owner ? vigil_users_name (w->e->device_users, w->owners, stx->stx_uid)
                               : NULL;
}

static void
mb_done (gpointer data, int fd, const char *hex, guint64 bytes, int error, gpointer user_data)
{
  Pending *p = data;
  Worker *w = user_data;

  close (fd);
  ADD (w->e->bytes_done, bytes);
  ADD (w->e->hashed_files, 1);
  if (hex != NULL)
    {
      memcpy (p->f.md5, hex, 33);
      p->f.have |= IOC_HASH_MD5;
    }
  else
    note (w->e, TRUE, p->item.host_path, g_strerror (error));
  finish_file (w->e, &p->f, &p->item, p->uid);
  ioc_dir_unref (p->item.dir);
  g_free (p->item.host_path);
  g_free (p);
}

/* MD5 only, of a file worth it: hand it to a multi-buffer lane. The
 * facts move with it, pointing into its own copy of the path. */
static void
queue_md5 (Worker *w, int fd, const Item *item, const struct statx *stx)
{
  Pending *p = g_new0 (Pending, 1);

  p->item.dir = ioc_dir_ref (item->dir);
  p->item.host_path = g_strdup (item->host_path);
  p->uid = stx->stx_uid;
  fill_facts (&p->f, w, p->item.host_path, stx);
  while (!ioc_md5mb_has_room (w->mb))
    ioc_md5mb_step (w->mb, mb_done, w);
  ioc_md5mb_add (w->mb, fd, stx->stx_size, p);
}

static void
at_stage (Engine *e, const char *host_path, IocFileStage stage)
{
  if (e->opt->file_hook != NULL)
    e->opt->file_hook (host_path, stage, e->opt->file_hook_data);
}

/* Examines @item, whose folder is open as @dir_fd. */
static void
scan_file (Worker *w, const Item *item, int dir_fd)
{
  Engine *e = w->e;
  const char *host_path = item->host_path;
  IocFileFacts f;
  struct statx stx;
  guint mask;
  int fd = -1;

  at_stage (e, host_path, IOC_FILE_LISTED);
  if (!stat_file (e, dir_fd, host_path, &stx))
    return;
  mask = ioc_index_hashes_for_size (e->coll->index, stx.stx_size);
  if (mask != 0)
    at_stage (e, host_path, IOC_FILE_OPENING);
  if (mask != 0 && !open_file (e, dir_fd, host_path, &stx, &fd))
    return;
  if (mask == IOC_HASH_MD5 && w->mb != NULL && stx.stx_size >= MB_MIN_SIZE)
    {
      queue_md5 (w, fd, item, &stx);
      return;
    }
  fill_facts (&f, w, host_path, &stx);
  if (mask != 0)
    {
      gint64 n = ioc_hasher_run (w->hasher, fd, mask, f.size, &f, e->opt->cancellable);
      if (n < 0 && errno != ECANCELED)
        note (e, TRUE, host_path, g_strerror (errno));
      if (n > 0)
        ADD (e->bytes_done, (guint64) n);
      ADD (e->hashed_files, 1);
      close (fd);
    }
  finish_file (e, &f, item, stx.stx_uid);
}

/* Examines a batch. The files of one folder come in a row: its fd is
 * taken once for the row, not once per file. */
static void
scan_batch (Worker *w, GPtrArray *batch)
{
  Engine *e = w->e;
  IocDir *held = NULL;
  int dir_fd = -1;
  int errsv = 0;

  for (guint i = 0; i < batch->len; i++)
    {
      const Item *item = batch->pdata[i];

      if (g_cancellable_is_cancelled (e->opt->cancellable))
        break;
      if (item->dir != held)
        {
          if (held != NULL && dir_fd >= 0)
            ioc_dir_release (held);
          held = item->dir;
          dir_fd = ioc_dir_acquire (held);
          errsv = errno;
        }
      if (dir_fd >= 0)
        scan_file (w, item, dir_fd);
      else
        note (e, TRUE, item->host_path, ioc_dir_reason (errsv));
    }
  if (held != NULL && dir_fd >= 0)
    ioc_dir_release (held);
}

/* ------------------------------------------------------------------ */
/* Queue and workers                                                   */
/* ------------------------------------------------------------------ */

static GPtrArray *
queue_pop (Engine *e)
{
  GPtrArray *batch;

  g_mutex_lock (&e->qlock);
  while (g_queue_is_empty (&e->batches) && !e->closed)
    g_cond_wait (&e->qcond, &e->qlock);
  batch = g_queue_pop_head (&e->batches);
  g_cond_broadcast (&e->qcond);
  g_mutex_unlock (&e->qlock);
  return batch;
}

static void report_progress (Engine *e, gboolean force);

static void
queue_push (Engine *e, GPtrArray *batch)
{
  g_mutex_lock (&e->qlock);
  while (g_queue_get_length (&e->batches) >= MAX_BATCHES
         && !g_cancellable_is_cancelled (e->opt->cancellable))
    {
      gint64 until = g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND;
      g_cond_wait_until (&e->qcond, &e->qlock, until);
      g_mutex_unlock (&e->qlock);
      report_progress (e, FALSE);
      g_mutex_lock (&e->qlock);
    }
  g_queue_push_tail (&e->batches, batch);
  g_cond_broadcast (&e->qcond);
  g_mutex_unlock (&e->qlock);
}

static gpointer
worker (gpointer data)
{
  Engine *e = data;
  Worker w = { e, ioc_hasher_new (), e->multi_buffer ? ioc_md5mb_new () : NULL,
               g_hash_table_new_full (NULL, NULL, NULL, g_free) };
  GPtrArray *batch;

  while ((batch = queue_pop (e)) != NULL)
    {
      scan_batch (&w, batch);
      g_ptr_array_unref (batch);
    }
  while (w.mb != NULL && !ioc_md5mb_idle (w.mb))
    ioc_md5mb_step (w.mb, mb_done, &w);
  ioc_hasher_free (w.hasher);
  ioc_md5mb_free (w.mb);
  g_hash_table_unref (w.owners);
  g_mutex_lock (&e->qlock);
  e->active--;
  g_cond_broadcast (&e->qcond);
  g_mutex_unlock (&e->qlock);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Walk sink (calling thread)                                          */
/* ------------------------------------------------------------------ */

static void
report_progress (Engine *e, gboolean force)
{
  IocScanProgress p;
  gint64 now = g_get_monotonic_time ();
  guint ms = e->opt->progress_ms > 0 ? e->opt->progress_ms : 200;

  if (e->opt->progress == NULL
      || (!force && now - e->last_progress < (gint64) ms * G_TIME_SPAN_MILLISECOND))
    return;
  e->last_progress = now;
  p.files_found = GET (e->files_found);
  p.files_done = GET (e->files_done);
  p.bytes_done = GET (e->bytes_done);
  p.walk_done = e->closed;
  p.phase = e->phase;
  e->opt->progress (&p, e->opt->progress_data);
}

static void
sink_file (IocDir *dir, const char *host_path, gpointer data)
{
  Engine *e = data;
  Item *item = g_new (Item, 1);

  item->dir = ioc_dir_ref (dir);
  item->host_path = g_strdup (host_path);
  g_ptr_array_add (e->batch, item);
  ADD (e->files_found, 1);
  if (e->batch->len >= BATCH)
    {
      queue_push (e, e->batch);
      e->batch = g_ptr_array_new_full (BATCH, item_free);
    }
}

static void
sink_skip (const char *host_path, const char *reason, gpointer data)
{
  note (data, FALSE, host_path, reason);
}

static void
sink_error (const char *host_path, const char *reason, gpointer data)
{
  note (data, TRUE, host_path, reason);
}

static void
sink_tick (gpointer data)
{
  report_progress (data, FALSE);
}

static void
sink_opening_dir (const char *host_path, gpointer data)
{
  Engine *e = data;
  e->opt->file_hook (host_path, IOC_DIR_OPENING, e->opt->file_hook_data);
}

/* ------------------------------------------------------------------ */
/* Run                                                                 */
/* ------------------------------------------------------------------ */

static gint
by_path (gconstpointer a, gconstpointer b)
{
  const IocMatch *ma = *(IocMatch **) a, *mb = *(IocMatch **) b;
  return strcmp (ma->path, mb->path);
}

static void
wait_workers (Engine *e)
{
  g_mutex_lock (&e->qlock);
  e->closed = TRUE;
  g_cond_broadcast (&e->qcond);
  while (e->active > 0)
    {
      gint64 until = g_get_monotonic_time () + 50 * G_TIME_SPAN_MILLISECOND;
      g_cond_wait_until (&e->qcond, &e->qlock, until);
      g_mutex_unlock (&e->qlock);
      report_progress (e, FALSE);
      g_mutex_lock (&e->qlock);
    }
  g_mutex_unlock (&e->qlock);
}

static void
engine_finish (Engine *e, gint64 start)
{
  IocScanResult *r = e->result;

  r->files = GET (e->files_done);
  r->bytes = GET (e->bytes_done);
  r->hashed_files = GET (e->hashed_files);
  r->cancelled = g_cancellable_is_cancelled (e->opt->cancellable);
  r->duration_us = g_get_monotonic_time () - start;
  for (guint i = 0; i < r->docs->len; i++)
    g_ptr_array_sort (((IocDocResult *) r->docs->pdata[i])->matches, by_path);
  e->phase = "done";
  report_progress (e, TRUE);
}

static void
engine_init (Engine *e, IocCollection *coll, const IocScanOptions *opt, char *root_real)
{
  memset (e, 0, sizeof *e);
  e->coll = coll;
  e->opt = opt;
  e->root_real = root_real;
  e->doc_results = g_hash_table_new (NULL, NULL);
  e->result = result_new (coll, e->doc_results);
  e->batch = g_ptr_array_new_full (BATCH, item_free);
  e->need_owner = ioc_index_uses_term (coll->index, IOC_TERM_USERNAME);
  /* Also when no item needs owners: the cards name them. */
  e->device_users = vigil_users_load (root_real);
  e->multi_buffer = !opt->no_multi_buffer;
  e->max_objects = opt->max_objects > 0 ? opt->max_objects : 1000;
  e->max_listed = opt->max_listed > 0 ? opt->max_listed : 1000;
  e->phase = "walking and scanning";
  g_mutex_init (&e->lock);
  g_mutex_init (&e->qlock);
  g_cond_init (&e->qcond);
  g_queue_init (&e->batches);
}

IocScanResult *
ioc_scan_run (IocCollection *coll, const IocScanOptions *opt, GError **error)
{
  char real[PATH_MAX];
  Engine e;
  IocWalkSink sink = { sink_file, sink_skip, sink_error, sink_tick,
                       opt->file_hook != NULL ? sink_opening_dir : NULL, &e };
  IocDirs *dirs;
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  guint n_threads = opt->threads > 0 ? opt->threads : g_get_num_processors ();
  gint64 start;

  /* Preparing counts as loading the collection, not as scanning. */
  if (coll->index == NULL)
    ioc_collection_prepare (coll);
  start = g_get_monotonic_time ();
  if (realpath (opt->root != NULL ? opt->root : "/", real) == NULL)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "device root %s: %s", opt->root, g_strerror (errno));
      return NULL;
    }
  dirs = ioc_dirs_new (real, error);
  if (dirs == NULL)
    return NULL;
  engine_init (&e, coll, opt, real);
  e.dirs = dirs;
  e.result->threads = n_threads;
  e.active = n_threads;
  for (guint i = 0; i < n_threads; i++)
    g_ptr_array_add (threads, g_thread_new ("ioc-scan", worker, &e));
  ioc_walk (dirs, real, opt->scope, &sink, e.result->scope_notes, e.max_listed,
            opt->cancellable);
  queue_push (&e, e.batch);
  e.batch = NULL;
  e.result->walk_us = g_get_monotonic_time () - start;
  e.phase = "scanning";
  wait_workers (&e);
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  engine_finish (&e, start);
  g_hash_table_unref (e.doc_results);
  g_clear_pointer (&e.device_users, g_hash_table_unref);
  g_mutex_clear (&e.lock);
  g_mutex_clear (&e.qlock);
  g_cond_clear (&e.qcond);
  ioc_dirs_free (dirs);
  return e.result;
}
