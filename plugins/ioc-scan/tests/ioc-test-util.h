/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the ioc-scan tests: OpenIOC documents written from short
 * item lists, facts for an imaginary file, planted files in temporary
 * folders.
 */
#pragma once

#include "scan.h"
#include "vt-cli.h"

/* An OpenIOC 1.1 document with @id whose criteria are @body (Indicator
 * and IndicatorItem elements, see item11()). (transfer full) */
char *ioc11 (const char *id, const char *body);
/* An OpenIOC 1.0 document. (transfer full) */
char *ioc10 (const char *id, const char *body);
/* An IndicatorItem of 1.1: @attrs are extra attributes ("negate=\"true\""). */
char *item11 (const char *search, const char *condition, const char *type,
              const char *content, const char *attrs);
/* An IndicatorItem of 1.0. */
char *item10 (const char *search, const char *condition, const char *type,
              const char *content);
/* <Indicator operator="@op"> around the NULL-terminated children (freed). */
char *indicator (const char *op, ...) G_GNUC_NULL_TERMINATED;

/* Parses @xml as the only document of a prepared collection. */
IocCollection *collection_of (const char *xml);
/* The first document's root. */
IocNode *root_of (IocCollection *coll);

/* Facts of an imaginary file: path, size 1000, all hashes of "", fixed
 * times (2024-01-02T03:04:05Z), owner "alice". */
void facts_init (IocFileFacts *f, const char *path);

/* Writes @len bytes of @data to @dir/@rel, creating folders. Returns the
 * host path. (transfer full) */
char *plant (const char *dir, const char *rel, const char *data, gsize len);
/* Hex MD5 of a string. (transfer full) */
char *md5_of (const char *data, gsize len);

/* The .ioc and .xml files of the public OpenIOC corpus
 * ($VIGIL_SHARED_DIR/corpus/openioc), at least 100 of them; NULL, the test
 * marked skipped, when the corpus is absent. (transfer full) */
GPtrArray *corpus_files (void);
