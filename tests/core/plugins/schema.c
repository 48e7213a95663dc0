/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plugins with a malformed section schema, one mistake per build:
 * -DBAD_ENUM (an enum field without values), -DBAD_DEFAULT (a default out
 * of its range), -DBAD_KEY (a key with an upper-case letter). The host
 * refuses each with a message naming the key.
 */
#include <vigil/plugin.h>

static const VigilField fields[] = {
#if defined(BAD_ENUM)
  { .key = "mode", .type = VIGIL_FIELD_ENUM, .default_json = "\"fast\"" },
#elif defined(BAD_DEFAULT)
  { .key = "sync_period_min", .type = VIGIL_FIELD_INT, .default_json = "90",
    .has_range = TRUE, .min = 1, .max = 60 },
#elif defined(BAD_KEY)
  { .key = "syncPeriod", .type = VIGIL_FIELD_INT, .default_json = "5" },
#endif
};

static const VigilSettingsGroup groups[] = {
  { .id = "connection", .fields = VIGIL_ARRAY (fields) },
};

static gboolean
schema_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilSection section = {
    .id = TEST_ID, .schema_version = 1, .groups = VIGIL_ARRAY (groups),
  };

  return api->register_section (self, &section, sizeof section, error);
}

VIGIL_PLUGIN_DEFINE (TEST_ID, "Bad schema", "0.1", "LGPL-2.1-or-later",
                     "A section schema the host must refuse.", schema_init, NULL)
