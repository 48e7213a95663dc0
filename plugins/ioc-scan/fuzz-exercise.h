/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fuzz targets of the OpenIOC engine do with a collection their
 * input loaded, so that the evaluator, the index and the printer see every
 * tree the parser or the cache decoder accepts.
 */
#pragma once

#include "openioc.h"

/* Prepares @coll, prints @doc's tree and evaluates it, and matches the
 * index, over one fixed file. */
void fuzz_exercise (IocCollection *coll, IocDoc *doc);
