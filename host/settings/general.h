/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Glue between the files of host/settings/ that need the host: the section
 * definition, reading the effective `general` settings, and the host
 * commands (`vigil password`, `vigil exclusions`). settings.h is what the
 * layers above may call; general-private.h has the pure parts.
 */
#pragma once

#include "settings/settings.h"
#include "general-private.h"

G_BEGIN_DECLS

/* general-section.c */
const VigilSection *vh_general_section (void);
/* (transfer full) "a, b, c": every declared protected action. */
char       *vh_protected_action_list (VigilHost *host);

/* general-settings.c: the effective `general` settings (group -> key ->
 * value) of @device_id; NULL means the local machine (see
 * docs/general-settings.md). (transfer full), NULL with @error. */
JsonObject *vh_general_settings (VigilHost *host, const char *device_id,
                                 GError **error);

/* The per-device settings cache of general-settings.c: the settings
 * layer's state, in its slot of the host context (created by
 * vh_general_init, freed by vh_general_free). */
VhGeneralCache *vh_general_cache_new  (void);
void            vh_general_cache_free (VhGeneralCache *cache);

/* protect.c: reads a password from the file descriptor named by
 * VIGIL_PASSWORD_FD, else from the terminal without echo. (transfer full);
 * free with vh_password_free. */
char       *vh_password_read    (const char *prompt, GError **error);
void        vh_password_free    (char *password);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (char, vh_password_free)

/* cli-general.c: registers `vigil password` and `vigil exclusions` for
 * @self (the "host" pseudo-plugin) through @api, as a plugin would. */
gboolean    vh_general_register_commands (VigilPlugin *self, const VigilHostApi *api,
                                          GError **error);

G_END_DECLS
