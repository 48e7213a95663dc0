/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A secret key kept in a file of its own: N random bytes, mode 0600,
 * created on first use. Creation writes a locked temporary file, fsyncs it
 * and links it into place with link(2), which never replaces: two
 * processes racing to create the key both end up with the same one, and a
 * crash leaves either no key or a whole key, never a short one. A key file
 * that others could read (or that another user owns) is refused rather than
 * silently repaired, because its copy may already have leaked. The
 * quarantine's store key and the console's evidence store key are both
 * kept this way.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  VIGIL_KEY_FILE_ERROR_NOT_FOUND = 1, /* no key file (only seen by _load) */
  VIGIL_KEY_FILE_ERROR_FORMAT,        /* not a regular file of the key's length */
  VIGIL_KEY_FILE_ERROR_REFUSED,       /* readable by others, or another owner */
  VIGIL_KEY_FILE_ERROR_IO,            /* a system call failed */
} VigilKeyFileError;

#define VIGIL_KEY_FILE_ERROR (vigil_key_file_error_quark ())
GQuark vigil_key_file_error_quark (void);

/* Longest key these functions handle. */
#define VIGIL_KEY_FILE_MAX 64

/**
 * vigil_key_file_load_or_create:
 * @dir_fd: the folder that holds the key (an O_DIRECTORY fd)
 * @name: the key file's name in it (no '/')
 * @key: (out caller-allocates): @len bytes
 * @len: the key's length, 1 to VIGIL_KEY_FILE_MAX
 * @error: return location for a #GError (VIGIL_KEY_FILE_ERROR)
 *
 * Loads the key, creating it first (from RAND_priv_bytes) when there is
 * none. @key is left zeroed on failure.
 *
 * Returns: %TRUE with @key filled.
 */
gboolean vigil_key_file_load_or_create (int dir_fd, const char *name, guint8 *key, gsize len,
                                        GError **error);

G_END_DECLS
