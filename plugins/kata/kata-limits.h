/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata section's numeric defaults and ranges (from the product
 * reference), in one place: the policy schema (plugin-section.c), the
 * engine's reading of effective settings (kata-settings.c) and the central
 * node's overrides (kata-server-settings.c) all take them from here, so a
 * server can never set what a policy could not, and no copy drifts.
 */
#pragma once

#define KATA_SERVERS_MAX                16

#define KATA_TIMEOUT_SEC_DEFAULT        10
#define KATA_TIMEOUT_SEC_MIN            1
#define KATA_TIMEOUT_SEC_MAX            600

#define KATA_SYNC_PERIOD_MIN_DEFAULT    5
#define KATA_SYNC_PERIOD_MIN_MIN        1
#define KATA_SYNC_PERIOD_MIN_MAX        60

#define KATA_TTL_MIN_DEFAULT            1440
#define KATA_TTL_MIN_MIN                1
#define KATA_TTL_MIN_MAX                525600

#define KATA_PERIOD_SEC_DEFAULT         30
#define KATA_PERIOD_SEC_MIN             1
#define KATA_PERIOD_SEC_MAX             86400

#define KATA_PACKAGE_EVENTS_DEFAULT     1024
#define KATA_PACKAGE_EVENTS_MIN         1
#define KATA_PACKAGE_EVENTS_MAX         100000

#define KATA_SPOOL_EVENTS_DEFAULT       100000
#define KATA_SPOOL_EVENTS_MIN           1000
#define KATA_SPOOL_EVENTS_MAX           1000000

#define KATA_EVENTS_PER_HOUR_DEFAULT    3000
#define KATA_EVENTS_PER_HOUR_MIN        1
#define KATA_EVENTS_PER_HOUR_MAX        10000000

#define KATA_EXCESS_PERCENT_DEFAULT     15
#define KATA_EXCESS_PERCENT_MIN         5
#define KATA_EXCESS_PERCENT_MAX         100
