/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File-descriptor and file writes for plugins: vigil_write_all() retries
 * interrupted and short write(2) calls until every byte is out, and
 * vigil_file_write_atomic() replaces a file so that a crash at any moment
 * leaves either the old contents or the new ones, never a mix. And the
 * reads of a file someone else named: vigil_file_read_bounded() reads only
 * a regular file, never blocks on a FIFO and never reads past its limit.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * vigil_write_all:
 * @fd: a file descriptor open for writing
 * @data: the bytes
 * @len: how many
 *
 * Writes all @len bytes, again after EINTR and after a short write.
 *
 * Returns: %TRUE when every byte was written; %FALSE with errno set when
 *   write(2) failed (a write of zero bytes is reported as EIO).
 */
gboolean vigil_write_all (int fd, const void *data, gsize len);

/**
 * vigil_file_write_atomic:
 * @path: the file to create or replace
 * @data: its new contents
 * @len: their length
 * @mode: permission bits of the new file (e.g. 0600)
 * @error: return location for a #GError in the G_FILE_ERROR domain
 *
 * Writes a temporary file in @path's folder, fsyncs it, renames it over
 * @path and fsyncs the folder, so that after a crash @path holds either
 * its old contents or all of the new ones. On failure the temporary file
 * is removed and @path is left as it was.
 *
 * Returns: %TRUE on success; %FALSE with @error naming the file and the
 *   step that failed.
 */
gboolean vigil_file_write_atomic (const char *path,
                                  const void *data,
                                  gsize       len,
                                  int         mode,
                                  GError    **error);

/**
 * vigil_fd_read_bounded:
 * @fd: a file descriptor open for reading (opened with O_NONBLOCK, so
 *   that a FIFO swapped in cannot block the open itself)
 * @where: what to call the file in errors (its path)
 * @max_bytes: the largest file accepted
 * @length: (out) (optional): the number of bytes read
 * @error: return location for a #GError in the G_FILE_ERROR domain
 *
 * Reads all of @fd when it is a regular file of at most @max_bytes. A
 * FIFO, a device or a folder is refused before a byte is read (EINVAL),
 * and the read stops at @max_bytes even when the file grows meanwhile
 * (EFBIG). @fd is not closed.
 *
 * Returns: (transfer full) (nullable): the contents followed by a NUL
 *   (not counted in @length), or %NULL with @error saying "WHERE: why".
 */
char *vigil_fd_read_bounded (int fd, const char *where, gsize max_bytes, gsize *length,
                             GError **error);

/**
 * vigil_file_read_bounded:
 * @path: the file
 * @max_bytes: the largest file accepted
 * @length: (out) (optional): the number of bytes read
 * @error: return location for a #GError in the G_FILE_ERROR domain
 *
 * Opens @path without blocking and reads it with vigil_fd_read_bounded().
 *
 * Returns: (transfer full) (nullable): the contents followed by a NUL,
 *   or %NULL with @error naming @path.
 */
char *vigil_file_read_bounded (const char *path, gsize max_bytes, gsize *length,
                               GError **error);

G_END_DECLS
