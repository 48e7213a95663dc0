/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `kata` settings schema: connection, trusted connection, data
 * submission and request throttling, with the defaults and ranges of the
 * product reference (kata-limits.h). The one copy of every default: the
 * plugin registers it (plugin-section.c, which adds the validate callback)
 * and the engine reads effective settings against it (kata-settings.c).
 * The PFX archive and its password are secrets: masked in every output and
 * export.
 */
#include "kata-engine.h"
#include "kata-limits.h"

static const VigilField connection_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Send EDR telemetry to the central node (KATA integration)." },
  { .key = "servers", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_OBJECT,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = KATA_SERVERS_MAX,
    .description = "Ordered server list: objects {\"address\": IP or FQDN, "
                   "\"port\": 1–65535}. The first reachable one is used; the "
                   "next period starts again from the first." },
  { .key = "use_proxy", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Connect through the proxy of the general settings, if one "
                   "is specified (default: direct)." },
  { .key = "timeout_sec", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_TIMEOUT_SEC_DEFAULT),
    .has_range = TRUE, .min = KATA_TIMEOUT_SEC_MIN, .max = KATA_TIMEOUT_SEC_MAX,
    .description = "Maximum server response time, in seconds." },
  { .key = "sync_period_min", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_SYNC_PERIOD_MIN_DEFAULT),
    .has_range = TRUE, .min = KATA_SYNC_PERIOD_MIN_MIN, .max = KATA_SYNC_PERIOD_MIN_MAX,
    .description = "How often to ask the server for settings and tasks, in minutes." },
  { .key = "use_ttl", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Do not send a repeated start of the same process (same "
                   "image and hash) within the TTL period." },
  { .key = "ttl_min", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_TTL_MIN_DEFAULT),
    .has_range = TRUE, .min = KATA_TTL_MIN_MIN, .max = KATA_TTL_MIN_MAX,
    .description = "TTL period, in minutes." },
};

static const VigilField trusted_fields[] = {
  { .key = "use_pinned_certificate", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Accept only a server whose public key is the pinned certificate's." },
  { .key = "pinned_certificate", .type = VIGIL_FIELD_STRING,
    .description = "The server's TLS certificate, PEM. Only one: setting it "
                   "again replaces it. `vigil kata cert-info` shows its details." },
  { .key = "use_client_certificate", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Present a client certificate to the server." },
  { .key = "client_pfx", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET,
    .description = "The client certificate and key: a PFX (PKCS#12) archive, base64." },
  { .key = "client_pfx_password", .type = VIGIL_FIELD_STRING,
    .flags = VIGIL_FIELD_FLAG_SECRET,
    .description = "The PFX archive's password." },
};

static const VigilField submission_fields[] = {
  { .key = "transmission_period_sec", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_PERIOD_SEC_DEFAULT),
    .has_range = TRUE, .min = KATA_PERIOD_SEC_MIN, .max = KATA_PERIOD_SEC_MAX,
    .description = "Events transmission period, in seconds." },
  { .key = "max_events_per_package", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_PACKAGE_EVENTS_DEFAULT),
    .has_range = TRUE, .min = KATA_PACKAGE_EVENTS_MIN, .max = KATA_PACKAGE_EVENTS_MAX,
    .description = "Maximum number of events in a package." },
  { .key = "spool_max_events", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_SPOOL_EVENTS_DEFAULT),
    .has_range = TRUE, .min = KATA_SPOOL_EVENTS_MIN, .max = KATA_SPOOL_EVENTS_MAX,
    .description = "Events kept on disk while no server acknowledges them; "
                   "beyond, the oldest low-importance events are dropped "
                   "first (a kata.events_dropped event says how many)." },
};

static const VigilField throttling_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Restrict low-importance events when the flow tends to "
                   "exceed the hourly maximum." },
  { .key = "max_events_per_hour", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_EVENTS_PER_HOUR_DEFAULT),
    .has_range = TRUE, .min = KATA_EVENTS_PER_HOUR_MIN, .max = KATA_EVENTS_PER_HOUR_MAX,
    .description = "Maximum number of events per hour." },
  { .key = "excess_percent", .type = VIGIL_FIELD_INT,
    .default_json = G_STRINGIFY (KATA_EXCESS_PERCENT_DEFAULT),
    .has_range = TRUE, .min = KATA_EXCESS_PERCENT_MIN, .max = KATA_EXCESS_PERCENT_MAX,
    .description = "Percentage of event limit excess: a low-importance type "
                   "above this share of the flow is restricted first." },
};

static const VigilSettingsGroup groups[] = {
  { .id = "connection", .title = "Connection",
    .fields = VIGIL_ARRAY (connection_fields) },
  { .id = "trusted_connection", .title = "Trusted connection",
    .fields = VIGIL_ARRAY (trusted_fields) },
  { .id = "data_submission", .title = "Data submission",
    .fields = VIGIL_ARRAY (submission_fields) },
  { .id = "throttling", .title = "Request throttling",
    .fields = VIGIL_ARRAY (throttling_fields) },
};

const VigilSection kata_schema = {
  .id = "kata",
  .title = "EDR telemetry to the central node (KATA)",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (groups),
};
