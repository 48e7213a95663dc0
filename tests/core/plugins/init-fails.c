/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin whose init registers a section and then fails: the host must
 * keep its error message and roll the section back. It declares the
 * namespace "init", so the host can say that this refused plugin is the
 * one that would provide "init.retry".
 */
#include <vigil/plugin.h>

static const VigilField fields[] = {
  { .key = "on", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
};
static const VigilSettingsGroup groups[] = {
  { .id = "main", .fields = VIGIL_ARRAY (fields) },
};

static gboolean
fails_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static const VigilSection section = {
    .id = "init_fails", .schema_version = 1, .groups = VIGIL_ARRAY (groups),
  };

  if (!api->register_section (self, &section, sizeof section, error))
    return FALSE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
               "the licence key in /etc/example.key has expired");
  return FALSE;
}

static const char *const namespaces[] = { "init", NULL };

VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES ("init-fails", "Init fails", "0.1", "LGPL-2.1-or-later",
                                     "Fails in init after registering a section.",
                                     fails_init, NULL, namespaces)
