/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `ksn` policy section: the KSN statement (accepted, and which version),
 * usage (enabled, default off, and whether to go through the console's KSN
 * proxy), and the reputation service (endpoint, CA file, timeout, cache
 * time-to-live, console proxy address). Privacy is the point: ksn_allowed()
 * is the one gate every connection passes, and validation refuses a policy
 * that enables usage without the statement.
 */
#include "ksn-private.h"

#include <string.h>

static const VigilField statement_fields[] = {
  { .key = "accepted", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "I confirm that I have fully read, understood, and accept "
                   "the terms and conditions of the KSN Statement" },
  { .key = "version", .type = VIGIL_FIELD_STRING,
    .description = "Version of the KSN Statement that was accepted (current: "
                   KSN_STATEMENT_VERSION ")" },
};

static const VigilField usage_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Enable KSN usage: reputation look-ups of file hashes" },
  { .key = "use_console_proxy", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Send KSN traffic through the console's KSN proxy "
                   "(service.console_proxy_address) instead of the general proxy" },
};

static const VigilField service_fields[] = {
  { .key = "endpoint", .type = VIGIL_FIELD_STRING,
    .description = "https:// URL of the reputation service (see docs/ksn.md)" },
  { .key = "ca_file", .type = VIGIL_FIELD_PATH,
    .description = "PEM file of CA certificates to trust; unset: the system's" },
  { .key = "timeout_s", .type = VIGIL_FIELD_INT, .default_json = "10",
    .has_range = TRUE, .min = 1, .max = 120,
    .description = "Connect and reply timeout in seconds" },
  { .key = "cache_ttl_min", .type = VIGIL_FIELD_INT, .default_json = "60",
    .has_range = TRUE, .min = 0, .max = 10080,
    .description = "How long a verdict is reused from the cache (0: no cache)" },
  { .key = "console_proxy_address", .type = VIGIL_FIELD_STRING,
    .description = "Host name or address of the console's KSN proxy" },
  { .key = "console_proxy_port", .type = VIGIL_FIELD_INT, .default_json = "13111",
    .has_range = TRUE, .min = 1, .max = 65535,
    .description = "Port of the console's KSN proxy" },
};

static const VigilSettingsGroup ksn_groups[] = {
  { .id = "statement", .title = "KSN Statement", .fields = VIGIL_ARRAY (statement_fields) },
  { .id = "usage", .title = "KSN usage", .fields = VIGIL_ARRAY (usage_fields) },
  { .id = "service", .title = "Reputation service", .fields = VIGIL_ARRAY (service_fields) },
};

/* The section, defined below with its validate callback. */
static VigilSection section;

static gboolean
flag (JsonObject *values, const char *group, const char *key)
{
  return vigil_settings_get_bool (&section, values, group, key);
}

/* A non-empty string, or NULL: an empty field is an unset one. */
static const char *
text (JsonObject *values, const char *group, const char *key)
{
  const char *s = vigil_json_get_string (vigil_json_get_object (values, group), key);

  return s != NULL && *s != '\0' ? s : NULL;
}

gboolean
ksn_allowed (JsonObject *settings)
{
  return flag (settings, "statement", "accepted") && flag (settings, "usage", "enabled");
}

static gboolean
endpoint_valid (const char *endpoint)
{
  g_autoptr (GUri) uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return FALSE;
  for (const char *p = endpoint; *p; p++)
    if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p))
      return FALSE;
  return TRUE;
}

void
ksn_validate (JsonObject *values, VigilReport *report, KsnReportFunc report_problem)
{
  gboolean accepted = flag (values, "statement", "accepted");
  const char *version = text (values, "statement", "version");
  const char *endpoint = text (values, "service", "endpoint");

  if (flag (values, "usage", "enabled") && !accepted)
    report_problem (report, VIGIL_SEVERITY_ERROR, "usage.enabled",
                    "KSN usage cannot be enabled unless the KSN Statement is "
                    "accepted (statement.accepted)");
  if (accepted && version == NULL)
    report_problem (report, VIGIL_SEVERITY_ERROR, "statement.version",
                    "say which version of the KSN Statement was accepted "
                    "(current: " KSN_STATEMENT_VERSION ")");
  else if (accepted && g_strcmp0 (version, KSN_STATEMENT_VERSION) != 0)
    report_problem (report, VIGIL_SEVERITY_WARNING, "statement.version",
                    "version %s was accepted, the current KSN Statement is "
                    KSN_STATEMENT_VERSION ": review it", version);
  if (flag (values, "usage", "enabled") && endpoint == NULL)
    report_problem (report, VIGIL_SEVERITY_ERROR, "service.endpoint",
                    "required when KSN usage is enabled");
  if (endpoint && !g_str_has_prefix (endpoint, "https://"))
    report_problem (report, VIGIL_SEVERITY_ERROR, "service.endpoint",
                    "'%s' is not an https:// URL", endpoint);
  else if (endpoint && !endpoint_valid (endpoint))
    report_problem (report, VIGIL_SEVERITY_ERROR, "service.endpoint",
                    "'%s' is not a valid URL", endpoint);
  if (flag (values, "usage", "use_console_proxy")
      && text (values, "service", "console_proxy_address") == NULL)
    report_problem (report, VIGIL_SEVERITY_ERROR, "service.console_proxy_address",
                    "required when usage.use_console_proxy is on");
}

static void
validate_cb (JsonObject *values, VigilReport *report, gpointer user_data)
{
  const VigilHostApi *api = user_data;

  ksn_validate (values, report, api->report_problem);
}

static VigilSection section = {
  .id = "ksn",
  .title = "Kaspersky Security Network (reputation look-ups)",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (ksn_groups),
  .validate = validate_cb,
};

const VigilSection *
ksn_schema (void)
{
  return &section;
}

const VigilSection *
ksn_section (const VigilHostApi *api)
{
  section.user_data = (gpointer) api;
  return &section;
}
