/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's side of evidence over the fleet (serve-evidence.c): a
 * report of kind `evidence` is one part of a file an agent's file.get
 * retrieved; serve-runs.c hands each to serve_evidence_handle in the order
 * the stream delivers it.
 */
#pragma once

#include "serve.h"
#include "fleet-jetstream.h"

G_BEGIN_DECLS

/* Main thread: keeps the part (vigil_host_evidence_receive), then
 * acknowledges it; a refused part is terminated, one that could not be
 * kept comes again. */
void serve_evidence_handle (Serve *serve, natsMsg *msg, const char *device);

G_END_DECLS
