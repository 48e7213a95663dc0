/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet's names on the broker, in one place: subjects, streams,
 * consumers and the settings bucket. Every per-device name carries the
 * device id as a whole subject token, which is what lets the broker's
 * permissions confine a device to its own (see docs/fleet.md):
 *
 *   vigil.run.<id>                 runs for a device     stream VIGIL_RUNS
 *   vigil.dev.<id>.out.<kind>      events, findings,     stream VIGIL_REPORTS
 *                                  results from a device
 *   vigil.dev.<id>.live.<kind>     heartbeats, progress  plain NATS
 *   vigil.dev.<id>.renew           certificate renewal   plain request/reply
 *   vigil.dev.<id>.check           "is my run still      plain request/reply
 *                                  current?" (agent)
 *   vigil.cancel.<id>              cancel a running run  plain NATS (console)
 *   $KV.VIGIL_SETTINGS.<id>        effective settings    KV bucket VIGIL_SETTINGS
 *   vigil.inbox.<id>.>             the device's replies (its inbox prefix)
 *   vigil.enroll.<enrollment>.request   a pending device's one enrollment
 *                                  request; replies to .inbox.> beside it
 *
 * A device reads its runs and settings only through durable pull
 * consumers the console creates for it (run-<id>, settings-<id>), never
 * through consumers of its own making: in nats-server 2.9 a consumer's
 * filter travels in the request body, where permissions cannot see it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VIGIL_FLEET_STREAM_RUNS      "VIGIL_RUNS"
#define VIGIL_FLEET_STREAM_REPORTS   "VIGIL_REPORTS"
#define VIGIL_FLEET_SETTINGS_BUCKET  "VIGIL_SETTINGS"
/* The stream behind the bucket, as NATS names it. */
#define VIGIL_FLEET_STREAM_SETTINGS  "KV_" VIGIL_FLEET_SETTINGS_BUCKET

/* Subjects the streams capture (one token per device id). */
#define VIGIL_FLEET_RUNS_SUBJECTS    "vigil.run.*"
#define VIGIL_FLEET_REPORTS_SUBJECTS "vigil.dev.*.out.>"

/* The console's durable consumer of VIGIL_REPORTS. */
#define VIGIL_FLEET_CONSOLE_CONSUMER "console"

/** Returns: (transfer full): "urn:vigil:device:<id>:<enrollment>", the
 * identity in a device's certificate and its user name on the broker. */
char *vigil_fleet_device_identity (const char *id, const char *enrollment);
/** Returns: (transfer full): "urn:vigil:enroll:<enrollment>", the identity
 * of the bootstrap certificate in an enrollment file. */
char *vigil_fleet_bootstrap_identity (const char *enrollment);
/** Returns: (transfer full): "vigil.enroll.<enrollment>.request". */
char *vigil_fleet_subject_enroll (const char *enrollment);
/** Returns: (transfer full): "vigil.enroll.<enrollment>.inbox", the inbox
 * prefix of a bootstrap connection. */
char *vigil_fleet_enroll_inbox_prefix (const char *enrollment);
/** Returns: (transfer full): "vigil.run.<id>", where runs for @id go. */
char *vigil_fleet_subject_run (const char *id);
/** Returns: (transfer full): "vigil.dev.<id>.out.<kind>", stored reports. */
char *vigil_fleet_subject_report (const char *id, const char *kind);
/** Returns: (transfer full): "vigil.dev.<id>.live.<kind>", plain NATS. */
char *vigil_fleet_subject_live (const char *id, const char *kind);
/** Returns: (transfer full): "vigil.dev.<id>.renew", a device's
 * certificate renewal request (plain request/reply). */
char *vigil_fleet_subject_renew (const char *id);
/** Returns: (transfer full): "vigil.dev.<id>.check", an agent's question
 * whether the run it executes is still current (plain request/reply). */
char *vigil_fleet_subject_check (const char *id);
/** Returns: (transfer full): "vigil.cancel.<id>", where the console tells
 * the device to stop a run it executes (plain NATS; only the console may
 * publish there, only the device subscribe). */
char *vigil_fleet_subject_cancel (const char *id);
/** Returns: (transfer full): "$KV.VIGIL_SETTINGS.<id>". */
char *vigil_fleet_subject_settings (const char *id);
/** Returns: (transfer full): "vigil.inbox.<id>", the device's inbox prefix. */
char *vigil_fleet_inbox_prefix (const char *id);
/** Returns: (transfer full): "run-<id>", the device's consumer of runs. */
char *vigil_fleet_consumer_runs (const char *id);
/** Returns: (transfer full): "settings-<id>", its consumer of settings. */
char *vigil_fleet_consumer_settings (const char *id);

G_END_DECLS
