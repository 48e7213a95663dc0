/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to the helper library and its tests (not installed): the loop
 * of vigil_write_all() with the system call passed in, so that a test can
 * drive it through EINTR and one-byte writes, which a real file descriptor
 * gives only by chance.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

typedef ssize_t (*VigilWriteFunc) (int fd, const void *buf, size_t len);

gboolean vigil_write_all_with (VigilWriteFunc write_fn, int fd, const void *data, gsize len);
