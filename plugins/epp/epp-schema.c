/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `epp` settings schema: which endpoint protection product to drive
 * and how, with the defaults admins see in `vigil policy defaults`. The one
 * copy of every default: the plugin registers it (epp-plugin.c, which adds
 * the cross-field rule) and the engine's reader takes its defaults from it
 * (epp-run.c), so both are in the engine library its tests link.
 */
#include "epp-engine.h"

static const char *const products[] = { "clamav", "command", NULL };

static const VigilField product_fields[] = {
  { .key = "product", .type = VIGIL_FIELD_ENUM, .default_json = "\"clamav\"",
    .enum_values = products,
    .description = "clamav: clamdscan when clamd answers, else clamscan. "
                   "command: any program that prints clamscan-style lines." },
  { .key = "command", .type = VIGIL_FIELD_STRING, .default_json = NULL,
    .description = "Program to run (a name searched in PATH, or an absolute "
                   "path); required for product 'command'." },
  { .key = "args", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 64,
    .description = "Extra arguments, before the paths to scan." },
  { .key = "timeout_sec", .type = VIGIL_FIELD_INT, .default_json = "3600",
    .has_range = TRUE, .min = 10, .max = 86400,
    .description = "The scan is stopped and fails after this many seconds." },
};

static const char *const sources[] = { "official", "private_mirror", "custom", NULL };

/* The database update (epp.update, epp-update.c; docs/epp.md). */
static const VigilField update_fields[] = {
  { .key = "source", .type = VIGIL_FIELD_ENUM, .default_json = "\"official\"",
    .enum_values = sources,
    .description = "Where freshclam takes the databases: official (ClamAV's "
                   "mirror, DatabaseMirror), private_mirror (the mirrors "
                   "below, PrivateMirror) or custom (only the custom URLs)." },
  { .key = "mirrors", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 16,
    .description = "Private mirrors (http(s) URL or host name), tried in "
                   "order; required for source private_mirror." },
  { .key = "custom_urls", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 64,
    .description = "Extra signature files (http(s):// or file:/// URLs of .hdb, .ndb, .ldb, "
                   "... files, DatabaseCustomURL); required for source custom." },
  { .key = "use_proxy", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Download through the proxy of the general section "
                   "(general.proxy), when it names one for the source." },
  { .key = "attempts", .type = VIGIL_FIELD_INT, .default_json = "3",
    .has_range = TRUE, .min = 1, .max = 10,
    .description = "Attempts per mirror or URL before the update fails." },
  { .key = "timeout_sec", .type = VIGIL_FIELD_INT, .default_json = "1800",
    .has_range = TRUE, .min = 10, .max = 86400,
    .description = "The update is stopped and fails after this many seconds." },
};

static const VigilSettingsGroup epp_groups[] = {
  { .id = "product", .title = "Endpoint protection product",
    .fields = VIGIL_ARRAY (product_fields) },
  { .id = "update", .title = "Database update",
    .fields = VIGIL_ARRAY (update_fields) },
};

const VigilSection vp_schema = {
  .id = "epp",
  .title = "Endpoint protection product",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (epp_groups),
};
