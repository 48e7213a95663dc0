/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registers the `sandbox_response` policy section: the schema of
 * sr-schema.c with the cross-field rules of sr-settings.c as its validate
 * callback, whose problems go to the host's report.
 */
#include "sr-plugin.h"

typedef struct {
  const VigilHostApi *api;
  VigilReport        *report;
} ProblemSink;

static void
add_problem (gboolean is_error, const char *path, const char *message, gpointer data)
{
  ProblemSink *sink = data;

  sink->api->report_problem (sink->report,
                             is_error ? VIGIL_SEVERITY_ERROR : VIGIL_SEVERITY_WARNING,
                             path, "%s", message);
}

static void
sr_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  ProblemSink sink = { sr_api, report };

  sr_settings_check (values, add_problem, &sink);
}

/* The host keeps the pointer for as long as the plugin is loaded. */
static VigilSection sr_section;

gboolean
sr_register_section (VigilPlugin *self, GError **error)
{
  sr_section = sr_schema;
  sr_section.validate = sr_validate;
  return sr_api->register_section (self, &sr_section, sizeof sr_section, error);
}
