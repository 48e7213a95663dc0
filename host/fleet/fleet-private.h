/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the fleet library's files share and no caller needs: connection
 * options from files or from PEM text in memory (an enrollment file's
 * bootstrap key is never written out).
 */
#pragma once

#include "fleet-connect.h"

/* Whether @url is one "tls://HOST:PORT". */
gboolean fleet_check_url (const char *url, GError **error);

/* @ca, @cert and @key are file names, or with @in_memory PEM text;
 * @inbox may be NULL (libnats' default); @name shows in the broker's log. */
natsOptions *fleet_options_new (const char *url, const char *ca,
                                const char *cert, const char *key,
                                gboolean in_memory, const char *inbox,
                                const char *name, GError **error);
