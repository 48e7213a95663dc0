/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal ZIP writer (stored entries, CRC-32) for exporting a task's IOC
 * collection: see ioc-zip.c for why it is not libzip.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CRC-32 (ISO-HDLC, as ZIP and gzip use it) of @len bytes, continuing @crc
 * (start with 0). */
guint32  ioc_crc32     (guint32 crc, const guint8 *data, gsize len);

/* Builds a ZIP archive of @n entries stored without compression. Entry
 * names are reduced to safe base names (no folders, no "..") and made
 * unique. @mtime (seconds, UTC) is each entry's time. Returns (transfer
 * full) the archive, or NULL with @error when it would exceed the classic
 * ZIP limits (65,535 entries, 4 GiB). */
GBytes  *ioc_zip_build (const char *const *names, GBytes *const *contents,
                        guint n, gint64 mtime, GError **error);

G_END_DECLS
