/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registers the `kata` policy section: the schema of kata-schema.c, whose
 * types and ranges the host checks, with a validate callback for what
 * needs OpenSSL or more than one field (kata_settings_validate).
 */
#include "plugin-private.h"

static void
add_problem (const char *path, const char *message, gpointer data)
{
  kata_api->report_problem (data, VIGIL_SEVERITY_ERROR, path, "%s", message);
}

static void
validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  kata_settings_validate (values, add_problem, report);
}

/* The host keeps the pointer for as long as the plugin is loaded. */
static VigilSection section;

gboolean
kata_register_section (VigilPlugin *self, GError **error)
{
  section = kata_schema;
  section.validate = validate;
  return kata_api->register_section (self, &section, sizeof section, error);
}
