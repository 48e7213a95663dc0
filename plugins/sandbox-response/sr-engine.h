/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox-response plugin's engine: everything that decides what to do
 * about a sandbox detection without touching the host, so its tests link it
 * directly. Reading the `sandbox_response` settings and checking their
 * cross-field rules, validating a `sandbox.threat_detected` payload, building
 * the OpenIOC document of a detected object, and turning a detection and a
 * policy into task parameters and a start schedule. The plugin glue
 * (sr-plugin.c) creates the tasks and records what happened.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <vigil/plugin.h>

G_BEGIN_DECLS

/* ---- settings (sr-settings.c) ---- */

typedef enum {
  SR_START_MANUAL,
  SR_START_IMMEDIATELY,
  SR_START_WINDOW,
} SrStart;

typedef struct {
  gboolean enabled;
  gboolean quarantine;               /* local actions */
  gboolean notify_user;
  gboolean critical_scan;
  gboolean ioc_scan;                 /* group actions */
  gboolean quarantine_when_found;
  gboolean critical_scan_when_found;
  char    *scope;                    /* "system_drives" | "critical_areas" */
  SrStart  start;
  char    *window_start;             /* "hh:mm" */
  char    *window_end;
  gboolean riskware;                 /* respond to riskware detections */
  char    *account_user;             /* NULL when unset */
  gboolean has_account_password;     /* the password itself is not kept */
} SrConfig;

/* sr-schema.c: the section's settings schema, the one copy of its defaults. */
extern const VigilSection sr_schema;

void     sr_config_clear (SrConfig *config);
/* Reads effective settings (group -> key -> value); what is missing or of
 * the wrong type takes the schema's default. */
void     sr_config_from_settings (SrConfig *config, JsonObject *settings);
gboolean sr_config_has_group_actions (const SrConfig *config);
gboolean sr_config_has_account (const SrConfig *config);

typedef void (*SrProblemFunc) (gboolean is_error, const char *path,
                               const char *message, gpointer user_data);
/* The cross-field rules; each problem is passed to @func with a path
 * relative to the section ("group_actions.quarantine_when_found"). */
void     sr_settings_check (JsonObject *values, SrProblemFunc func,
                            gpointer user_data);
/* "hh:mm" -> minutes after midnight, or -1. */
int      sr_parse_time_of_day (const char *text);

/* ---- the detection (sr-threat.c) ---- */

typedef struct {
  char    *user;
  char    *path;
  char    *md5;        /* lower case */
  char    *sha256;     /* lower case */
  gint64   size;
  char    *threat;
  gboolean riskware;
  char    *detected_at;
} SrThreat;

void     sr_threat_clear (SrThreat *threat);
/* Validates a sandbox.threat_detected payload of version 1. Errors name the
 * member: "payload.md5: expected 32 hexadecimal digits". */
gboolean sr_threat_parse (JsonObject *payload, guint version, SrThreat *out,
                          GError **error);

/* ---- the OpenIOC document (sr-ioc.c) ---- */

/* "sandbox-<first 16 hex of sha256>.ioc" */
char    *sr_ioc_file_name (const SrThreat *threat);
/* An OpenIOC 1.1 document whose one indicator is the AND of the object's
 * MD5, SHA-256 and size, so scanners hash only files of that size. */
char    *sr_ioc_build (const SrThreat *threat, gint64 now_us);

/* ---- what to create (sr-plan.c) ---- */

/* The schedule JSON text for the configured start mode. */
char       *sr_schedule_json (const SrConfig *config);
JsonObject *sr_quarantine_params (const SrThreat *threat, const char *event_id);
JsonObject *sr_notify_params (const SrThreat *threat);
JsonObject *sr_critical_scan_params (const SrThreat *threat);
JsonObject *sr_ioc_scan_params (const SrConfig *config, const SrThreat *threat,
                                gint64 now_us);
/* The plugin to enable for a task type: "quarantine.put" -> "quarantine",
 * "ioc.scan" -> "ioc-scan". */
char       *sr_plugin_of_type (const char *type_id);

G_END_DECLS
