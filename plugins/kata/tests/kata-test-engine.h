/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An engine for tests, without the host: a fake clock, the events it
 * reports and the tasks it creates recorded as text, a spool in a temporary
 * folder, pinned to the test certificates' server key, and a proxy
 * resolver that answers what the test sets. Used by every engine test.
 */
#pragma once

#include "kata-engine.h"
#include "kata-test-server.h"

typedef struct {
  gint64        now;
  GPtrArray    *emitted;      /* "type: payload json" */
  GPtrArray    *tasks;        /* JSON of created tasks */
  char         *dir;
  KataEngine   *engine;
  KataSettings *settings;
  guint         next_id;
  guint64       spool_max;    /* engine option; 0: the default */
  char         *proxy_uri;    /* what resolve_proxy answers (NULL: direct) */
  guint         proxy_asks;   /* how often the engine asked */
} KtFx;

KtFx     *kt_fx_new     (VtCerts *certs);
void      kt_fx_free    (KtFx *fx);
/* Frees the engine and opens a new one on the same folder (a restart). */
void      kt_fx_reopen  (KtFx *fx);
/* Points the settings at servers on 127.0.0.1 and applies them. */
void      kt_fx_servers (KtFx *fx, guint n, const guint16 *ports);
void      kt_fx_submit  (KtFx *fx, const char *type);
/* The same with a process payload: "image" and "sha256" when not NULL. */
void      kt_fx_submit_with (KtFx *fx, const char *type, const char *image,
                             const char *sha256);
/* Reported events whose "type: payload" text starts with @prefix. */
guint     kt_fx_emitted (KtFx *fx, const char *prefix);
/* A member of `kata_engine_status`, as an integer, by a path of
 * member names separated by "/" (server names have dots). */
gint64    kt_fx_status_int (KtFx *fx, const char *path);
