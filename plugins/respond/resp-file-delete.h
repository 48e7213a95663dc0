/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * file.delete, the engine apart from its registration so that tests drive
 * it without a host: deletes a file, a symbolic link or (only when asked
 * to, recursively) a folder of a device, walked from the device's root
 * with <vigil/util/path.h>, and records each object it deletes (path,
 * type, size, SHA-256 and MD5 of a regular file, owner, mode). A path the
 * policy protects is refused before anything is touched, and with a
 * quarantine function each regular file is copied into the quarantine,
 * and the copy confirmed, before it is deleted. See docs/respond.md,
 * "Delete file".
 */
#pragma once

#include <vigil/plugin.h>

G_BEGIN_DECLS

#define RESP_N_DELETE_PARAMS 3
#define RESP_N_DELETE_SETTINGS 1

extern const VigilField resp_delete_params[RESP_N_DELETE_PARAMS];
/* The `file_deletion` group of the `respond` policy section. */
extern const VigilField resp_delete_settings[RESP_N_DELETE_SETTINGS];

/**
 * RespQuarantineFunc:
 * @device_path: the regular file to copy into the quarantine
 * @sha256: what the file held when it was hashed, just before
 * @object_id: (out): the quarantine object's id
 *
 * Copies the file into the quarantine and returns once the copy is
 * durable; FALSE with @error when it is not (nothing is deleted then).
 * The copy must hold @sha256, else it is an error (the file changed).
 */
typedef gboolean (*RespQuarantineFunc) (const char *device_path, const char *sha256,
                                        gpointer data, char **object_id, GError **error);

typedef struct {
  const char         *root;            /* the device's root folder ("/") */
  const char *const  *protected_paths; /* the policy's list (NULL-terminated) */
  const char         *state_dir;       /* the agent's state folder on this
                                        * machine: never deleted; may be NULL */
  gboolean            recursive;       /* a folder may be deleted, with all it holds */
  RespQuarantineFunc  quarantine;      /* NULL: no copy first */
  gpointer            quarantine_data;
} RespDelete;

/**
 * resp_delete_protected_check:
 * @entry: one entry of the policy's protected_paths
 *
 * Returns: (transfer full) (nullable): what is wrong with @entry (not an
 *   absolute path, `..`, a '*' anywhere but a final "**" after a slash), or NULL.
 */
char *resp_delete_protected_check (const char *entry);

/**
 * resp_delete_refusal:
 * @path: a normalized device path ("/a/b")
 *
 * Returns: (transfer full) (nullable): why @path may not be deleted by
 *   the protected paths of @req (itself protected, under a protected
 *   entry ending in "**", or a folder that holds a protected path), or NULL.
 */
char *resp_delete_refusal (const RespDelete *req, const char *path);

/**
 * resp_file_delete:
 * @path: the device path to delete
 * @all_deleted: (out): whether everything was deleted
 *
 * Returns: (transfer full) the result {"path", "type", "recursive",
 *   "quarantine", "deleted": [record], "not_deleted": [record + "reason"]},
 *   or NULL with @error when nothing was attempted (a refused or missing
 *   path, a folder without @req->recursive).
 */
JsonObject *resp_file_delete (const RespDelete *req, const char *path,
                              GCancellable *cancellable, gboolean *all_deleted,
                              GError **error);

G_END_DECLS
