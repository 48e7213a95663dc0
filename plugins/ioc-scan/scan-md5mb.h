/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multi-buffer MD5 (see scan-md5mb.c): several files hashed at once, one
 * per vector lane.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _IocMd5Mb IocMd5Mb;

/* Called when a file is done: @hex is its MD5, or NULL when reading failed
 * with @error (an errno). The callee owns @fd (closes it). */
typedef void (*IocMd5MbDone) (gpointer data, int fd, const char *hex, guint64 bytes,
                              int error, gpointer user_data);

/* Whether this CPU can run it (x86-64 with AVX2). */
gboolean  ioc_md5mb_available (void);
/* NULL when not available. */
IocMd5Mb *ioc_md5mb_new       (void);
void      ioc_md5mb_free      (IocMd5Mb *mb);
gboolean  ioc_md5mb_has_room  (IocMd5Mb *mb);
gboolean  ioc_md5mb_idle      (IocMd5Mb *mb);
/* Hands an open file (@size from fstat, to spare a read at the end) to a
 * free lane; check has_room first. */
void      ioc_md5mb_add       (IocMd5Mb *mb, int fd, guint64 size, gpointer data);
/* Makes progress: completes files that reached their end (calling @done),
 * or hashes the blocks every busy lane has. */
void      ioc_md5mb_step      (IocMd5Mb *mb, IocMd5MbDone done, gpointer user_data);
/* MD5 of a buffer with the same code (for tests). */
void      ioc_md5_oneshot     (const guint8 *data, gsize len, char hex[33]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (IocMd5Mb, ioc_md5mb_free)

G_END_DECLS
