/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOC collections: the documents of one task or one CLI run, each added
 * from memory or from a file (refused before reading when over the size
 * limit) or from a folder (its .ioc/.xml files and those of its subfolders,
 * in name order), parsed or
 * taken from the cache of parsed documents (openioc-cache.c), then
 * prepared once: duplicate ids are reported and left out deterministically
 * (the first in order keeps its id) and the index is built. Also owns the
 * lifetime of documents, their problems and their unsupported-term lists.
 */
#include "openioc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

static void
problem_free (gpointer p)
{
  IocProblem *problem = p;
  g_free (problem->message);
  g_free (problem);
}

static void
unsupported_free (gpointer p)
{
  IocUnsupported *u = p;
  g_free (u->term);
  g_free (u);
}

void
ioc_node_free (IocNode *node)
{
  if (node == NULL)
    return;
  /* A cached document's nodes go with their block (ioc_cache_doc_clear). */
  g_return_if_fail (!node->in_block);
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_clear_pointer (&node->ungated, g_ptr_array_unref);
  g_free (node->id);
  ioc_value_clear (&node->value);
  g_free (node);
}

static void
doc_free (gpointer p)
{
  IocDoc *doc = p;

  if (doc == NULL)
    return;
  if (doc->node_block != NULL)
    ioc_cache_doc_clear (doc);
  else
    ioc_node_free (doc->root);
  ioc_index_notes_free (doc->index_notes);
  g_ptr_array_unref (doc->problems);
  g_ptr_array_unref (doc->unsupported);
  g_hash_table_unref (doc->pool);
  g_free (doc->file);
  g_free (doc->id);
  g_free (doc->short_description);
  g_free (doc->description);
  g_free (doc->authored_by);
  g_free (doc);
}

void
ioc_doc_add_problem (IocDoc *doc, gboolean error, guint line,
                     const char *format, ...)
{
  IocProblem *problem = g_new0 (IocProblem, 1);
  va_list args;

  va_start (args, format);
  problem->message = g_strdup_vprintf (format, args);
  va_end (args);
  problem->error = error;
  problem->line = line;
  g_ptr_array_add (doc->problems, problem);
}

gboolean
ioc_doc_has_errors (const IocDoc *doc)
{
  for (guint i = 0; i < doc->problems->len; i++)
    if (((IocProblem *) doc->problems->pdata[i])->error)
      return TRUE;
  return FALSE;
}

void
ioc_doc_add_unsupported (IocDoc *doc, guint line, const char *format, ...)
{
  IocUnsupported *u = g_new0 (IocUnsupported, 1);
  va_list args;

  va_start (args, format);
  u->term = g_strdup_vprintf (format, args);
  va_end (args);
  u->line = line;
  g_ptr_array_add (doc->unsupported, u);
}

/* ------------------------------------------------------------------ */
/* Collection                                                          */
/* ------------------------------------------------------------------ */

IocCollection *
ioc_collection_new (gsize max_file_size)
{
  IocCollection *coll = g_new0 (IocCollection, 1);
  coll->docs = g_ptr_array_new_with_free_func (doc_free);
  coll->max_file_size = max_file_size > 0 ? max_file_size : IOC_DEFAULT_MAX_FILE_SIZE;
  return coll;
}

/* Below this many items, a thread costs more than it saves. */
#define FREE_SPLIT_ITEMS 8192

static gpointer
free_docs (gpointer docs)
{
  g_ptr_array_unref (docs);
  return NULL;
}

/* Freeing 100,000 items is a visible part of a one-shot scan's run: a
 * large collection gives every other document to a second thread. */
void
ioc_collection_free (IocCollection *coll)
{
  GPtrArray *half;
  GThread *thread = NULL;
  guint items = 0;

  if (coll == NULL)
    return;
  g_clear_pointer (&coll->index, ioc_index_free);
  for (guint i = 0; i < coll->docs->len; i++)
    items += ((IocDoc *) coll->docs->pdata[i])->n_items;
  if (items >= FREE_SPLIT_ITEMS && coll->docs->len > 1 && g_get_num_processors () > 1)
    {
      half = g_ptr_array_new_with_free_func (doc_free);
      for (guint i = 1; i < coll->docs->len; i += 2)
        g_ptr_array_add (half, g_steal_pointer (&coll->docs->pdata[i]));
      thread = g_thread_new ("ioc-free", free_docs, half);
    }
  g_ptr_array_unref (coll->docs);   /* doc_free skips the stolen NULLs */
  if (thread != NULL)
    g_thread_join (thread);
  g_free (coll->cache_dir);
  g_free (coll);
}

IocDoc *
ioc_doc_new (IocCollection *coll, const char *file)
{
  IocDoc *doc = g_new0 (IocDoc, 1);
  doc->file = g_strdup (file);
  doc->problems = g_ptr_array_new_with_free_func (problem_free);
  doc->unsupported = g_ptr_array_new_with_free_func (unsupported_free);
  doc->pool = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add (coll->docs, doc);
  return doc;
}

static gboolean
check_size (IocCollection *coll, IocDoc *doc, guint64 size)
{
  if (size <= coll->max_file_size)
    return TRUE;
  ioc_doc_add_problem (doc, TRUE, 0,
                       "file is %" G_GUINT64_FORMAT " bytes, over the limit of %"
                       G_GSIZE_FORMAT " bytes (setting ioc_scan.limits.max_ioc_file_kb)",
                       size, coll->max_file_size);
  return FALSE;
}

gboolean
ioc_collection_set_cache_dir (IocCollection *coll, const char *dir, GError **error)
{
  g_clear_pointer (&coll->cache_dir, g_free);
  if (!ioc_cache_dir_check (dir, error))
    return FALSE;
  coll->cache_dir = g_strdup (dir);
  return TRUE;
}

/* An entry is never much larger than its source; a larger file in the
 * folder is not one of ours and is not read. */
static gsize
entry_max (IocCollection *coll)
{
  return 4 * coll->max_file_size + 65536;
}

static void
parse (IocDoc *doc, const char *data, gsize len)
{
  ioc_doc_parse (doc, data, len);
  doc->usable = doc->root != NULL && !ioc_doc_has_errors (doc);
}

static void
store (IocCollection *coll, IocDoc *doc, const guint8 *key)
{
  if (ioc_cache_store (coll->cache_dir, key, entry_max (coll), doc))
    g_atomic_int_inc (&coll->cache_stores);
}

static void
load_memory (IocCollection *coll, IocDoc *doc, const char *data, gsize len)
{
  guint8 key[32];

  if (!check_size (coll, doc, len))
    return;
  if (coll->cache_dir == NULL)
    {
      parse (doc, data, len);
      return;
    }
  ioc_cache_key_memory (doc->file, data, len, key);
  if (ioc_cache_load (coll->cache_dir, key, entry_max (coll), doc))
    {
      g_atomic_int_inc (&coll->cache_hits);
      return;
    }
  parse (doc, data, len);
  store (coll, doc, key);
}

static gboolean
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
         && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Prunes the folder after a load that stored anything: it stays bounded. */
static void
prune_after (IocCollection *coll, gint stores_before)
{
  if (coll->cache_dir != NULL && g_atomic_int_get (&coll->cache_stores) != stores_before)
    ioc_cache_prune (coll->cache_dir, IOC_CACHE_MAX_BYTES);
}

/* Adds the time since @start to the collection's load time: results show
 * the load apart from the scan, so a large collection's fixed cost is not
 * mistaken for a per-file one. */
static void
count_time (IocCollection *coll, gint64 start)
{
  coll->load_us += g_get_monotonic_time () - start;
}

IocDoc *
ioc_collection_add_memory (IocCollection *coll, const char *file,
                           const char *data, gsize len)
{
  gint64 start = g_get_monotonic_time ();
  gint stores = g_atomic_int_get (&coll->cache_stores);
  IocDoc *doc = ioc_doc_new (coll, file);

  load_memory (coll, doc, data, len);
  prune_after (coll, stores);
  count_time (coll, start);
  return doc;
}

/* Reads all of @fd (a regular file) into @out, refusing more than @max
 * bytes: the size fstat gave may be out of date (the file may grow while
 * it is read), so the bound is on the read itself. */
static gboolean
read_bounded (int fd, gsize max, GByteArray *out, int *errsv)
{
  guint8 chunk[65536];

  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          *errsv = errno;
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      if (out->len + (gsize) n > max)
        {
          *errsv = EFBIG;
          return FALSE;
        }
      g_byte_array_append (out, chunk, (guint) n);
    }
}

/* Opens @path to read it: without blocking (a FIFO would hang the load
 * forever) and only when it is a regular file (a device such as /dev/zero
 * never ends). Returns the fd, or -1 with a problem in @doc. */
static int
open_regular (IocDoc *doc, const char *path, struct stat *st)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

  if (fd < 0)
    {
      ioc_doc_add_problem (doc, TRUE, 0, "cannot open: %s", g_strerror (errno));
      return -1;
    }
  if (fstat (fd, st) != 0)
    ioc_doc_add_problem (doc, TRUE, 0, "cannot read: %s", g_strerror (errno));
  else if (!S_ISREG (st->st_mode))
    ioc_doc_add_problem (doc, TRUE, 0, "not a regular file (%s): not read",
                         S_ISFIFO (st->st_mode) ? "a FIFO"
                         : S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode) ? "a device"
                         : S_ISDIR (st->st_mode) ? "a folder" : "a special file");
  else
    return fd;
  close (fd);
  return -1;
}

/* Reads and parses @path into @doc; only a regular file is read, one over
 * the limit is refused before it is read, and the read itself stops at
 * the limit. Safe to run on several documents at once. */
static void
load_file (IocCollection *coll, IocDoc *doc, const char *path)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  struct stat st, after;
  guint8 key[32];
  gboolean keyed = FALSE;
  int fd = open_regular (doc, path, &st);
  int errsv = 0;
  gboolean read_ok;

  if (fd < 0)
    return;
  if (!check_size (coll, doc, (guint64) st.st_size))
    {
      close (fd);
      return;
    }
  /* A file that did not change is not even read. */
  keyed = coll->cache_dir != NULL && ioc_cache_key_file (path, &st, key);
  if (keyed && ioc_cache_load (coll->cache_dir, key, entry_max (coll), doc))
    {
      g_atomic_int_inc (&coll->cache_hits);
      close (fd);
      return;
    }
  read_ok = read_bounded (fd, coll->max_file_size, data, &errsv);
  /* Stored under the identity it had before the read only when it still
   * has it: a file changed while being read is parsed again next time. */
  keyed = keyed && fstat (fd, &after) == 0 && same_file (&st, &after);
  close (fd);
  if (!read_ok && errsv == EFBIG)
    ioc_doc_add_problem (doc, TRUE, 0,
                         "file grew over the limit of %" G_GSIZE_FORMAT
                         " bytes while it was read (setting ioc_scan.limits.max_ioc_file_kb)",
                         coll->max_file_size);
  else if (!read_ok)
    ioc_doc_add_problem (doc, TRUE, 0, "cannot read: %s", g_strerror (errsv));
  if (!read_ok)
    return;
  parse (doc, (const char *) data->data, data->len);
  if (keyed)
    store (coll, doc, key);
}

IocDoc *
ioc_collection_add_file (IocCollection *coll, const char *path)
{
  gint64 start = g_get_monotonic_time ();
  gint stores = g_atomic_int_get (&coll->cache_stores);
  IocDoc *doc = ioc_doc_new (coll, path);

  load_file (coll, doc, path);
  prune_after (coll, stores);
  count_time (coll, start);
  return doc;
}

/* One document to load: from a file (@path) or from memory (@data). */
typedef struct {
  IocDoc     *doc;
  const char *path;
  const char *data;
  gsize       len;
} Source;

typedef struct {
  IocCollection *coll;
  GArray        *sources;   /* Source */
  gint           next;
} Loader;

static gpointer
load_worker (gpointer data)
{
  Loader *l = data;
  gint i;

  while ((i = g_atomic_int_add (&l->next, 1)) < (gint) l->sources->len)
    {
      Source *src = &g_array_index (l->sources, Source, i);
      if (src->path != NULL)
        load_file (l->coll, src->doc, src->path);
      else
        load_memory (l->coll, src->doc, src->data, src->len);
      /* While the tree is still in this core's cache. */
      ioc_index_annotate_doc (src->doc);
    }
  return NULL;
}

/* Parses on every core: a collection of many large IOC files loads in a
 * fraction of the time. Each document is its own parser and tree, so
 * nothing is shared but the work counter; documents keep their order.
 * The caller only waits: libxml2 keeps per-thread state until a thread
 * exits, and the caller is often a task worker that the host's thread
 * pool keeps alive, so every parse runs on a thread of its own, joined
 * here. */
static void
load_all (IocCollection *coll, GArray *sources)
{
  Loader l = { coll, sources, 0 };
  guint n = MAX (1, MIN (g_get_num_processors (), sources->len));
  g_autoptr (GPtrArray) threads = g_ptr_array_new ();
  gint stores = g_atomic_int_get (&coll->cache_stores);

  if (sources->len == 0)
    return;
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (threads, g_thread_new ("ioc-load", load_worker, &l));
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (threads->pdata[i]);
  prune_after (coll, stores);
}

static void
load_files (IocCollection *coll, GPtrArray *paths)
{
  g_autoptr (GArray) sources = g_array_new (FALSE, TRUE, sizeof (Source));

  for (guint i = 0; i < paths->len; i++)
    {
      Source src = { ioc_doc_new (coll, paths->pdata[i]), paths->pdata[i], NULL, 0 };
      g_array_append_val (sources, src);
    }
  load_all (coll, sources);
}

void
ioc_collection_add_memory_many (IocCollection *coll, const char *const *names,
                                const char *const *datas, const gsize *lens, guint n)
{
  g_autoptr (GArray) sources = g_array_new (FALSE, TRUE, sizeof (Source));
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      Source src = { ioc_doc_new (coll, names[i]), NULL, datas[i], lens[i] };
      g_array_append_val (sources, src);
    }
  load_all (coll, sources);
  count_time (coll, start);
}

static gboolean
is_ioc_name (const char *name)
{
  return g_str_has_suffix (name, ".ioc") || g_str_has_suffix (name, ".xml")
         || g_str_has_suffix (name, ".IOC") || g_str_has_suffix (name, ".XML");
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char **) a, *(char **) b);
}

/* How deep an IOC folder is searched: public collections sort their files
 * in a few levels of subfolders (vendor/campaign/...); deeper is a mistake
 * or a mount loop. */
#define IOC_DIR_MAX_DEPTH 16

/* Lists the IOC files under @fd (the folder @path, @depth levels below
 * the one named) into @paths. Subfolders are opened from their parent's fd
 * with O_NOFOLLOW, so a link to a folder is never followed and cannot make
 * a loop; files are taken whatever they are (links too), and the load
 * refuses what is not a regular file. A folder that cannot be read, or is
 * too deep, becomes a document with that problem. */
static void
list_folder (IocCollection *coll, int fd, const char *path, guint depth, GPtrArray *paths)
{
  DIR *d = fdopendir (fd);
  struct dirent *ent;

  if (d == NULL)
    {
      ioc_doc_add_problem (ioc_doc_new (coll, path), TRUE, 0, "cannot list folder: %s",
                           g_strerror (errno));
      close (fd);
      return;
    }
  while ((ent = readdir (d)) != NULL)
    {
      g_autofree char *child = NULL;
      int sub;

      if (strcmp (ent->d_name, ".") == 0 || strcmp (ent->d_name, "..") == 0)
        continue;
      child = g_build_filename (path, ent->d_name, NULL);
      if (ent->d_type == DT_DIR || ent->d_type == DT_UNKNOWN)
        {
          sub = openat (dirfd (d), ent->d_name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
          if (sub >= 0 && depth + 1 > IOC_DIR_MAX_DEPTH)
            {
              ioc_doc_add_problem (ioc_doc_new (coll, child), TRUE, 0,
                                   "folder more than %d levels deep: not searched",
                                   IOC_DIR_MAX_DEPTH);
              close (sub);
              continue;
            }
          if (sub >= 0)
            {
              list_folder (coll, sub, child, depth + 1, paths);
              continue;
            }
          if (ent->d_type == DT_DIR && errno != ELOOP && errno != ENOTDIR)
            {
              ioc_doc_add_problem (ioc_doc_new (coll, child), TRUE, 0,
                                   "cannot open folder: %s", g_strerror (errno));
              continue;
            }
        }
      if (is_ioc_name (ent->d_name))
        g_ptr_array_add (paths, g_steal_pointer (&child));
    }
  closedir (d);
}

guint
ioc_collection_add_path (IocCollection *coll, const char *path)
{
  g_autoptr (GPtrArray) paths = NULL;
  gint64 start = g_get_monotonic_time ();
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    {
      ioc_collection_add_file (coll, path);
      return 1;
    }
  paths = g_ptr_array_new_with_free_func (g_free);
  list_folder (coll, fd, path, 0, paths);
  /* Sorted, so that duplicate ids resolve the same way on every run. */
  g_ptr_array_sort (paths, compare_names);
  load_files (coll, paths);
  count_time (coll, start);
  return paths->len;
}

/* The first document with an id keeps it; later ones are reported and left
 * out, so the result does not depend on anything but the order given. */
static void
drop_duplicates (IocCollection *coll)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      IocDoc *first;
      if (!doc->usable)
        continue;
      first = g_hash_table_lookup (seen, doc->id);
      if (first == NULL)
        {
          g_hash_table_insert (seen, doc->id, doc);
          continue;
        }
      ioc_doc_add_problem (doc, TRUE, 0,
                           "duplicate IOC id %s (already used by %s): this file is "
                           "left out of the scan", doc->id, first->file);
      doc->usable = FALSE;
    }
}

void
ioc_collection_prepare (IocCollection *coll)
{
  gint64 start = g_get_monotonic_time ();

  drop_duplicates (coll);
  g_clear_pointer (&coll->index, ioc_index_free);
  ioc_index_build (coll);
  count_time (coll, start);
}

guint
ioc_collection_n_usable (IocCollection *coll)
{
  guint n = 0;
  for (guint i = 0; i < coll->docs->len; i++)
    n += ((IocDoc *) coll->docs->pdata[i])->usable ? 1 : 0;
  return n;
}
