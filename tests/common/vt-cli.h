/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tests' way to run the built `vigil` CLI as a child process, as an
 * admin would: in its own session (no terminal, so a password prompt can
 * never wait on whoever runs the tests), optionally with a password on a
 * pipe named by VIGIL_PASSWORD_FD, capturing exit status and output. Shared
 * by the host's and the plugins' CLI tests.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int   status;  /* exit code; -1 when killed by a signal */
  char *out;
  char *err;
} VtCli;

void   vt_cli_clear (VtCli *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VtCli, vt_cli_clear)

typedef struct {
  const char        *cwd;       /* or NULL: the test's own */
  const char        *password;  /* or NULL: no VIGIL_PASSWORD_FD */
  const char *const *env;       /* "NAME=value" sets, "NAME" unsets; or NULL */
} VtCliSpawn;

/* Runs the built `vigil` with @argv (NULL-terminated, without the program
 * name). @result is cleared first. */
void   vt_cli_spawn (VtCli *result, const VtCliSpawn *how, const char *const *argv);
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

/* Fails the test, showing both outputs, unless @result exited with
 * @status and (when @needle is not NULL) printed @needle on stdout or
 * stderr. */
void   vt_cli_expect (const VtCli *result, int status, const char *needle);

/* Writes @text to @dir/@name (@name may hold folders; with @name NULL,
 * @dir is the file), making its folders as needed; (transfer full) the
 * file's path. */
char  *vt_write_file (const char *dir, const char *name, const char *text);

/* The built `vigil` binary, for a test that runs it some other way. */
const char *vt_cli_path (void);

/* Removes a folder tree made by a test, never following a symlink out. */
void   vt_rm_rf    (const char *path);

G_END_DECLS
