/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs the built `vigil` CLI as a child process, as an admin would: with a
 * state folder, optionally a password on a pipe named by VIGIL_PASSWORD_FD,
 * and captures its exit status and output.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int   status;  /* exit code */
  char *out;
  char *err;
} VtCli;

void   vt_cli_clear (VtCli *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VtCli, vt_cli_clear)

/* Runs `vigil --state-dir @state_dir ARGS...` (NULL-terminated). With
 * @password, writes it and a newline to a pipe passed as fd 3. Extra
 * environment as "NAME=value" in @env (may be NULL). */
void   vt_cli_run  (VtCli *result, const char *state_dir, const char *password,
                    const char *const *env, ...) G_GNUC_NULL_TERMINATED;
/* The same with @argv NULL-terminated. */
void   vt_cli_runv (VtCli *result, const char *state_dir, const char *password,
                    const char *const *env, const char *const *argv);
/* (transfer full) the "id" of a JSON object printed on stdout. */
char  *vt_cli_json_id (const VtCli *result);
/* Like vt_cli_run, and asserts exit status 0. */
void   vt_cli_ok   (const char *state_dir, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
