/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `sandbox_response` settings schema: its groups, defaults and
 * descriptions, as admins see them in `vigil policy defaults`. The one
 * copy of every default: the plugin registers it (sr-section.c, which adds
 * the cross-field rules) and the reader takes its defaults from it
 * (sr-settings.c), so both are in the engine library its tests link.
 */
#include "sr-engine.h"

static const char *const scopes[] = { "system_drives", "critical_areas", NULL };
static const char *const starts[] = { "manual", "immediately", "window", NULL };

static const VigilField threat_response_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Respond to threats the malware sandbox detects." },
};

static const VigilField local_fields[] = {
  { .key = "quarantine", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Quarantine the object on the device where it was detected, "
                   "then delete it." },
  { .key = "notify_user", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Notify the device user, if the account the threat was "
                   "detected under is logged in." },
  { .key = "critical_scan", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Run the endpoint protection product's critical-areas scan "
                   "on the device." },
};

static const VigilField group_fields[] = {
  { .key = "ioc_scan", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Scan every device of the detecting device's admin group "
                   "for the object (IOC scan)." },
  { .key = "quarantine_when_found", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Quarantine and delete the object where the IOC scan finds "
                   "it. Needs ioc_scan." },
  { .key = "critical_scan_when_found", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Run the critical-areas scan on devices where the IOC scan "
                   "finds the object. Needs ioc_scan." },
};

static const VigilField ioc_fields[] = {
  { .key = "scope", .type = VIGIL_FIELD_ENUM, .default_json = "\"system_drives\"",
    .enum_values = scopes,
    .description = "Where the IOC scan looks: file areas on system drives, or "
                   "critical file areas." },
  { .key = "start", .type = VIGIL_FIELD_ENUM, .default_json = "\"immediately\"",
    .enum_values = starts,
    .description = "manual: tasks are created, not started; immediately: "
                   "started on detection; window: started within the daily "
                   "window." },
  { .key = "window_start", .type = VIGIL_FIELD_TIME_OF_DAY, .default_json = "\"20:00\"",
    .description = "Start of the daily window (hh:mm, local time)." },
  { .key = "window_end", .type = VIGIL_FIELD_TIME_OF_DAY, .default_json = "\"07:00\"",
    .description = "End of the daily window (hh:mm); may be earlier than the "
                   "start (the window crosses midnight)." },
};

static const VigilField riskware_fields[] = {
  { .key = "detect", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Respond to legitimate applications that intruders can "
                   "use (riskware). Off: riskware detections get no response." },
};

static const VigilField account_fields[] = {
  { .key = "user", .type = VIGIL_FIELD_STRING, .default_json = NULL,
    .description = "Console account allowed to manage IOC scan tasks; group "
                   "actions run under it." },
  { .key = "password", .type = VIGIL_FIELD_STRING, .default_json = NULL,
    .flags = VIGIL_FIELD_FLAG_SECRET,
    .description = "That account's password (never shown or logged)." },
};

static const VigilSettingsGroup sr_groups[] = {
  { .id = "threat_response", .title = "Threat response",
    .fields = VIGIL_ARRAY (threat_response_fields) },
  { .id = "local_actions", .title = "Local actions",
    .fields = VIGIL_ARRAY (local_fields) },
  { .id = "group_actions", .title = "Group actions",
    .fields = VIGIL_ARRAY (group_fields) },
  { .id = "ioc_scanning", .title = "IOC scanning",
    .fields = VIGIL_ARRAY (ioc_fields) },
  { .id = "riskware", .title = "Legitimate applications used by intruders",
    .fields = VIGIL_ARRAY (riskware_fields) },
  { .id = "account", .title = "Console account for group tasks",
    .fields = VIGIL_ARRAY (account_fields) },
};

const VigilSection sr_schema = {
  .id = "sandbox_response",
  .title = "Threat response to sandbox detections",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (sr_groups),
};
