/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File-descriptor and file writes for plugins: vigil_write_all() retries
 * interrupted and short write(2) calls until every byte is out, and
 * vigil_file_write_atomic() replaces a file so that a crash at any moment
 * leaves either the old contents or the new ones, never a mix.
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

G_END_DECLS
