/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every internal interface of libvigil-host, for the api layer, the CLI
 * and the internal tests: the umbrella over the layer headers, each of
 * which includes the one below it. Nothing here is installed or visible
 * to plugins. A file of a lower layer includes its own layer's header,
 * never this one (docs/architecture.md):
 *   host/base/base.h           store, document store, reports, logger,
 *                              trace files, the host clock and context
 *   host/registry/registry.h   plugin handle, loader, config, validation,
 *                              normalizing, schema checks, the registry
 *   host/inventory/inventory.h groups and devices
 *   host/policy/policy.h       policy documents, policies, effective settings
 *   host/tasks/tasks.h         events, tasks, schedules, runs, worker pool
 *   host/settings/settings.h   the `general` section, passwords, protection,
 *                              proxy, exclusions
 *   host/api/api.h             the host API table (the host object itself
 *                              is private to host/api/)
 */
#pragma once

#include "base/base.h"
#include "registry/registry.h"
#include "inventory/inventory.h"
#include "policy/policy.h"
#include "tasks/tasks.h"
#include "settings/settings.h"
#include "api/api.h"
