/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The names of a device's users, for records that name a file's owner. A
 * device with a root folder is another system's file tree: its uids mean
 * what its own etc/passwd says, not what this machine's user database
 * says. That file is device content, hence untrusted: it is reached by
 * the safe walk of <vigil/util/path.h> (no `..`, no symbolic link), read
 * only when it is a regular file under a size limit, and a line that is
 * not `name:password:uid:...` with a sane name and a decimal uid is
 * skipped. The IOC scan and the response actions both use it.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * vigil_users_parse:
 * @text: passwd text (need not be NUL-terminated; a NUL ends it)
 * @len: its length
 *
 * Malformed lines are skipped; the first entry of a uid wins, as
 * getpwuid(3) finds it.
 *
 * Returns: (transfer full): uid (GUINT_TO_POINTER) -> name.
 */
GHashTable *vigil_users_parse (const char *text, gsize len);

/**
 * vigil_users_load:
 * @root: the device's root folder on this machine ("/" for the machine)
 *
 * Returns: (transfer full) (nullable): the users of <@root>/etc/passwd
 *   as vigil_users_parse() gives them, or %NULL when @root is "/" or has
 *   no regular etc/passwd reachable by the safe walk (the machine's user
 *   database answers then).
 */
GHashTable *vigil_users_load (const char *root);

/**
 * vigil_users_name:
 * @device_users: (nullable): from vigil_users_load()
 * @cache: uid -> name (owned values), filled as names are found
 * @uid: the owner
 *
 * Returns: (transfer none): the name of @uid from @device_users when not
 *   %NULL, else from this machine's user database; the number when
 *   unknown. Valid as long as @cache.
 */
const char *vigil_users_name (GHashTable *device_users, GHashTable *cache, uid_t uid);

G_END_DECLS
