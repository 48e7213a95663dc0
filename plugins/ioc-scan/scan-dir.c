/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The folders of a scan, as a tree of nodes that each know their parent
 * and their own name, never a path string to re-open: a folder is opened
 * with openat() from its parent's fd with O_NOFOLLOW, so a folder swapped
 * for a symbolic link after it was listed is refused instead of leading
 * the scan out of the device root, and no path is ever longer than one
 * name (a file at depth 10,000 is read like any other). Open fds are
 * cached with a bound (deep trees would exhaust the process's fds): the
 * least recently used unpinned folder is closed, and opened again from
 * its nearest open ancestor when needed, each step checked against the
 * device and inode it had the first time, so a re-open cannot land
 * elsewhere either. Shared by the walker and the workers under one lock.
 */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open folders kept at most (a quarter of the fd limit when lower):
 * enough for the walker's path and for the folders whose files wait in
 * the queue, on any ordinary tree. */
#define DIR_FDS_MAX 4096

struct _IocDirs {
  GMutex  lock;
  GQueue  lru;          /* IocDir with an open fd, most recent first */
  guint   open;         /* fds open, root included */
  guint   budget;
  IocDir *root;
};

struct _IocDir {
  IocDirs *dirs;
  IocDir  *parent;      /* holds a reference; NULL for the root */
  char    *name;        /* one component; the host path for the root */
  gint     refs;        /* atomic; freed under dirs->lock at zero */
  guint    pins;        /* users of fd right now; never closed while > 0 */
  int      fd;          /* -1 when closed */
  gboolean known;       /* dev and ino recorded at the first open */
  dev_t    dev;
  ino_t    ino;
  GList    link;        /* in dirs->lru while fd >= 0 (root excepted) */
};

static guint
fd_budget (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
      && rl.rlim_cur / 4 < DIR_FDS_MAX)
    return MAX (16, (guint) (rl.rlim_cur / 4));
  return DIR_FDS_MAX;
}

IocDirs *
ioc_dirs_new (const char *root_real, GError **error)
{
  int fd = open (root_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  IocDirs *dirs;
  struct stat st;

  if (fd < 0 || fstat (fd, &st) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv),
                   "device root %s: %s", root_real, g_strerror (errsv));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  dirs = g_new0 (IocDirs, 1);
  g_mutex_init (&dirs->lock);
  g_queue_init (&dirs->lru);
  dirs->budget = fd_budget ();
  dirs->root = g_new0 (IocDir, 1);
  dirs->root->dirs = dirs;
  dirs->root->name = g_strdup (root_real);
  dirs->root->refs = 1;
  dirs->root->pins = 1;   /* the root's fd stays open for the whole scan */
  dirs->root->fd = fd;
  dirs->root->known = TRUE;
  dirs->root->dev = st.st_dev;
  dirs->root->ino = st.st_ino;
  dirs->open = 1;
  return dirs;
}

IocDir *
ioc_dirs_root (IocDirs *dirs)
{
  return dirs->root;
}

static void
close_fd (IocDir *dir)
{
  IocDirs *dirs = dir->dirs;

  if (dir->fd < 0)
    return;
  close (dir->fd);
  dir->fd = -1;
  dirs->open--;
  if (dir->parent != NULL)
    g_queue_unlink (&dirs->lru, &dir->link);
}

/* Frees @dir, whose last reference was dropped, and the ancestors it
 * held the last reference of. */
static void
free_locked (IocDir *dir)
{
  while (dir != NULL)
    {
      IocDir *parent = dir->parent;
      close_fd (dir);
      g_free (dir->name);
      g_free (dir);
      dir = parent != NULL && g_atomic_int_dec_and_test (&parent->refs) ? parent : NULL;
    }
}

void
ioc_dirs_free (IocDirs *dirs)
{
  if (dirs == NULL)
    return;
  /* Every node but the root was released by its users. */
  g_warn_if_fail (dirs->root->refs == 1);
  close (dirs->root->fd);
  g_free (dirs->root->name);
  g_free (dirs->root);
  g_mutex_clear (&dirs->lock);
  g_free (dirs);
}

IocDir *
ioc_dir_child (IocDir *parent, const char *name)
{
  IocDirs *dirs = parent->dirs;
  IocDir *dir = g_new0 (IocDir, 1);

  dir->dirs = dirs;
  dir->name = g_strdup (name);
  dir->refs = 1;
  dir->fd = -1;
  dir->link.data = dir;
  dir->parent = ioc_dir_ref (parent);
  return dir;
}

/* References are taken and dropped per file, on several threads: atomic,
 * so that only the last one takes the lock. */
IocDir *
ioc_dir_ref (IocDir *dir)
{
  g_atomic_int_inc (&dir->refs);
  return dir;
}

void
ioc_dir_unref (IocDir *dir)
{
  IocDirs *dirs;

  if (dir == NULL || !g_atomic_int_dec_and_test (&dir->refs))
    return;
  dirs = dir->dirs;
  g_mutex_lock (&dirs->lock);
  free_locked (dir);
  g_mutex_unlock (&dirs->lock);
}

/* Opens @name in @parent_fd, as a folder and never through a link.
 * Returns the fd (and its identity in @st), or -1 with errno: ELOOP for a
 * symbolic link, ENOTDIR for what is not a folder. No lock held: these
 * are the system calls of the walk. */
static int
open_child (int parent_fd, const char *name, struct stat *st)
{
  int fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0 && errno == ENOTDIR)
    {
      /* O_DIRECTORY wins over O_NOFOLLOW for the error code: ask lstat. */
      if (fstatat (parent_fd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st->st_mode))
        errno = ELOOP;
      else
        errno = ENOTDIR;
    }
  if (fd < 0)
    return -1;
  if (fstat (fd, st) != 0)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return -1;
    }
  return fd;
}

/* Records @fd as @dir's, under the lock. FALSE (ESTALE) when the folder
 * is not the one first opened under that name; when another thread opened
 * @dir meanwhile, its fd is kept and @fd closed. */
static gboolean
install (IocDir *dir, int fd, const struct stat *st, GPtrArray *to_close)
{
  if (dir->known && (st->st_dev != dir->dev || st->st_ino != dir->ino))
    {
      g_ptr_array_add (to_close, GINT_TO_POINTER (fd));
      errno = ESTALE;
      return FALSE;
    }
  if (dir->fd >= 0)
    {
      g_ptr_array_add (to_close, GINT_TO_POINTER (fd));
      return TRUE;
    }
  dir->known = TRUE;
  dir->dev = st->st_dev;
  dir->ino = st->st_ino;
  dir->fd = fd;
  dir->dirs->open++;
  g_queue_push_head_link (&dir->dirs->lru, &dir->link);
  return TRUE;
}

/* Closes least recently used folders nobody is using until the budget is
 * met (or nothing more can be closed: then it is exceeded for a while).
 * The fds go to @to_close, closed once the lock is dropped. */
static void
evict (IocDirs *dirs, GPtrArray *to_close)
{
  GList *l = dirs->lru.tail;

  while (dirs->open > dirs->budget && l != NULL)
    {
      IocDir *dir = l->data;
      l = l->prev;
      if (dir->pins == 0)
        {
          g_ptr_array_add (to_close, GINT_TO_POINTER (dir->fd));
          dir->fd = -1;
          dirs->open--;
          g_queue_unlink (&dirs->lru, &dir->link);
        }
    }
}

static void
close_all (GPtrArray *fds)
{
  for (guint i = 0; i < fds->len; i++)
    close (GPOINTER_TO_INT (fds->pdata[i]));
}

int
ioc_dir_acquire (IocDir *dir)
{
  IocDirs *dirs = dir->dirs;
  g_autoptr (GPtrArray) to_close = g_ptr_array_new ();
  IocDir *top = dir;
  IocDir *from;
  int fd = -1;
  int errsv = 0;

  g_mutex_lock (&dirs->lock);
  /* The usual case: open already (a folder whose files are being read). */
  while (top->fd < 0)
    top = top->parent;
  from = top;
  from->pins++;
  while (top != dir)
    {
      /* The next closed folder down from @from: open it from @from's fd
       * without the lock (@from is pinned), then install it. */
      IocDir *next = dir;
      int parent_fd = from->fd, child;
      struct stat st;
      gboolean ok;

      while (next->parent != from)
        next = next->parent;
      g_mutex_unlock (&dirs->lock);
      child = open_child (parent_fd, next->name, &st);
      errsv = errno;
      g_mutex_lock (&dirs->lock);
      ok = child >= 0 && install (next, child, &st, to_close);
      if (child >= 0 && !ok)
        errsv = errno;
      if (ok)
        next->pins++;
      from->pins--;
      if (!ok)
        {
          from = NULL;
          break;
        }
      from = top = next;
    }
  if (from != NULL)
    {
      /* @dir is open and pinned by this call. */
      fd = dir->fd;
      if (dir->parent != NULL)
        {
          /* Most recently used first. */
          g_queue_unlink (&dirs->lru, &dir->link);
          g_queue_push_head_link (&dirs->lru, &dir->link);
        }
      evict (dirs, to_close);
    }
  g_mutex_unlock (&dirs->lock);
  close_all (to_close);
  errno = errsv;
  return fd;
}

void
ioc_dir_identity (IocDir *dir, dev_t *dev, ino_t *ino)
{
  /* Set before the first acquire returned, and never changed. */
  *dev = dir->dev;
  *ino = dir->ino;
}

void
ioc_dir_release (IocDir *dir)
{
  g_mutex_lock (&dir->dirs->lock);
  g_warn_if_fail (dir->pins > 0);
  dir->pins--;
  g_mutex_unlock (&dir->dirs->lock);
}

const char *
ioc_dir_reason (int errsv)
{
  switch (errsv)
    {
    case ENOENT:
      return "vanished during the scan";
    case ELOOP:
      return "replaced by a symbolic link during the scan: not followed";
    case ENOTDIR:
    case ESTALE:
      return "replaced during the scan";
    default:
      return g_strerror (errsv);
    }
}
