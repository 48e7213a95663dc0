/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Opening a plugin's own SQLite database in WAL mode. The switch to WAL
 * needs the new database to itself, and SQLite answers "database is locked"
 * at once, without the busy timeout, while another process is opening the
 * same new file; so the switch is asked again for a while before it fails.
 */
#pragma once

#include <gio/gio.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/**
 * VIGIL_SQLITE_WAL_RETRY_MS:
 * How long vigil_sqlite_open_wal() keeps asking for WAL. A file system
 * that cannot do WAL at all (some network file systems) fails after this.
 */
#define VIGIL_SQLITE_WAL_RETRY_MS 3000

/**
 * vigil_sqlite_open_wal:
 * @path: the database file, created when missing
 * @busy_timeout_ms: the connection's busy timeout
 * @extra_flags: more sqlite3_open_v2() flags, e.g. SQLITE_OPEN_FULLMUTEX
 * @error: return location for a #GError (G_IO_ERROR)
 *
 * Opens (or creates) @path read-write, sets the busy timeout and switches
 * the database to WAL, asking again every 5 ms for up to
 * %VIGIL_SQLITE_WAL_RETRY_MS while another connection holds it.
 *
 * Returns: (nullable): the connection (close it with sqlite3_close()), or
 *   %NULL with @error naming @path and what SQLite said.
 */
sqlite3 *vigil_sqlite_open_wal (const char *path,
                                int         busy_timeout_ms,
                                int         extra_flags,
                                GError    **error);

G_END_DECLS
