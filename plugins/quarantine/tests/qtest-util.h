/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the quarantine engine tests: a scratch device root and
 * store per test, files with chosen content, digests and whole-file reads.
 */
#pragma once

#include "qstore.h"
#include "vt-cli.h"

typedef struct {
  char   *base;   /* scratch folder, removed at teardown */
  char   *root;   /* base/root: the device root */
  char   *store_dir;
  QStore *store;
} QFixture;

void    qfix_setup    (QFixture *f, gconstpointer data);
void    qfix_teardown (QFixture *f, gconstpointer data);

/* Writes @len pseudo-random bytes (seeded by @seed) to root + @path, making
 * parent folders. Returns the host path (transfer full). */
char   *qtest_write_file (const char *root, const char *path, gsize len,
                          guint32 seed);
/* SHA-256 hex of a host file (transfer full), or NULL when absent. */
char   *qtest_file_sha256 (const char *host_path);
/* Puts root + @path with default request fields; asserts success. Returns
 * the object id (transfer full). */
char   *qtest_put (QFixture *f, const char *path, gboolean delete_original);
/* Number of entries of a folder whose names do not start with a dot. */
guint   qtest_count_visible (const char *dir);
/* Recursively removes @path. */
