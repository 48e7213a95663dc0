/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When the spool's commits reach the disk. The plugin runs the spool in
 * WAL mode with synchronous=NORMAL, like the host's own event log: a commit
 * is written to the WAL file before kata_spool_append returns (so a crash
 * of the process loses nothing), but it is fsynced only at a durable point:
 * the engine's tick (at most once a second, when something was committed),
 * before a new package goes on the wire, and when the spool is closed. A
 * power loss may lose the commits since the last durable point, exactly as
 * it may lose the host event log's last commits that fed the handler.
 */
#include "kata-spool-private.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int
on_commit (void *data)
{
  KataSpool *spool = data;

  /* Called with spool->lock held (every use of the database holds it).
   * With synchronous=FULL SQLite fsyncs the commit itself. */
  if (!spool->full_sync)
    spool->dirty = TRUE;
  return 0;   /* let the commit go on */
}

void
kata_spool_watch_commits (KataSpool *spool)
{
  sqlite3_commit_hook (spool->db, on_commit, spool);
}

static gboolean
fsync_path (const char *path, int flags, GError **error)
{
  int fd = open (path, flags | O_CLOEXEC);
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "spool: open %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  if (fsync (fd) != 0)
    {
      saved = errno;
      close (fd);
      g_set_error (error, KATA_ERROR, KATA_ERROR_IO, "spool: fsync %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Why an fsync of the -wal file rather than a PASSIVE checkpoint: a
 * checkpoint syncs the WAL only when it can copy frames into the database,
 * and a reader in another process (`vigil kata status` while `vigil serve`
 * runs) can keep it from copying any, so it would silently sync nothing.
 * fsync(2) on the -wal file flushes every frame written to it, whoever
 * reads. The frames SQLite later copies into the database are covered by
 * its own rule under synchronous=NORMAL: the WAL is synced before each
 * checkpoint and the database after it. The folder is synced once, so that
 * the -wal file's own entry survives a power loss too. */
static gboolean
sync_files (KataSpool *spool, GError **error)
{
  g_autofree char *wal = g_strconcat (spool->path, "-wal", NULL);
  g_autofree char *dir = g_path_get_dirname (spool->path);

  /* No -wal file: the last connection checkpointed it into the database
   * (and synced that) before deleting it; sync the database itself. */
  if (!fsync_path (wal, O_RDONLY, NULL) &&
      !fsync_path (spool->path, O_RDONLY, error))
    return FALSE;
  if (!spool->dir_synced)
    {
      if (!fsync_path (dir, O_RDONLY | O_DIRECTORY, error))
        return FALSE;
      spool->dir_synced = TRUE;
    }
  return TRUE;
}

gboolean
kata_spool_make_durable (KataSpool *spool, GError **error)
{
  gboolean dirty;

  g_mutex_lock (&spool->lock);
  dirty = spool->dirty;
  spool->dirty = FALSE;
  g_mutex_unlock (&spool->lock);
  if (!dirty)
    return TRUE;
  /* Outside the lock: submits go on while the disk works. A commit made
   * meanwhile marks the spool dirty again for the next point. */
  if (sync_files (spool, error))
    {
      g_mutex_lock (&spool->lock);
      spool->durable_points++;
      g_mutex_unlock (&spool->lock);
      return TRUE;
    }
  g_mutex_lock (&spool->lock);
  spool->dirty = TRUE;
  g_mutex_unlock (&spool->lock);
  return FALSE;
}

guint64
kata_spool_durable_points (KataSpool *spool)
{
  guint64 n;

  g_mutex_lock (&spool->lock);
  n = spool->durable_points;
  g_mutex_unlock (&spool->lock);
  return n;
}
