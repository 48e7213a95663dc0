/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the spool's files share: the spool object. kata-spool.c holds the
 * queue itself, kata-spool-shared.c the state shared between processes,
 * kata-spool-durable.c the durable points, kata-spool-bound.c bound changes.
 * Everything that touches the database takes spool->lock first.
 */
#pragma once

#include "kata-engine.h"

#include <sqlite3.h>

/* Statements of the per-event path, prepared once. */
enum { ST_INSERT, ST_DATA_VERSION, ST_BEGIN, ST_COMMIT, N_STATEMENTS };

struct _KataSpool {
  GMutex        lock;
  sqlite3      *db;
  sqlite3_stmt *statements[N_STATEMENTS];
  guint64  max_events;
  guint64  count;
  gint64   data_version;
  guint    ttl_inserts;
  char    *agent_id;
  char    *path;          /* the database file; its WAL is path + "-wal" */
  gboolean full_sync;     /* every commit fsynced: never dirty */
  gboolean dirty;         /* committed since the last durable point */
  gboolean dir_synced;    /* the folder's entries (the -wal file) are on disk */
  guint64  durable_points;
};

/* Under spool->lock (kata-spool.c). fail sets a KATA_ERROR_IO naming
 * @what with SQLite's message and returns FALSE; exec runs SQL text. */
gboolean kata_spool_fail (KataSpool *spool, const char *what, GError **error);
gboolean kata_spool_exec (KataSpool *spool, const char *sql, GError **error);
void     kata_spool_sync_count (KataSpool *spool);
gboolean kata_spool_drop_oldest (KataSpool *spool, gboolean high);
/* kata-spool-durable.c: marks the spool dirty at each commit. */
void     kata_spool_watch_commits (KataSpool *spool);
