/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's evidence on its way to the console (agent-evidence.c).
 */
#pragma once

#include "cli.h"
#include "fleet-outbox.h"

G_BEGIN_DECLS

/* Longest part of a file sent to the console (the outbox and the broker
 * take 1 MiB; a part's base64 and its JSON stay well under). */
#define AGENT_EVIDENCE_PART (512 * 1024)

/* Puts every file in the agent's evidence store into the outbox, in
 * parts, on @subject (the device's `evidence` report subject), then
 * removes it from the agent's store. Returns: how many files. */
guint agent_evidence_forward (VigilHost *host, VigilFleetOutbox *outbox, const char *subject);

G_END_DECLS
