/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kept for the CLI files of host/data/ until they move to host/cli/: what
 * was host/data/ is now the base (store, reports), registry (schema),
 * inventory and policy layers, and host-private.h includes every layer's
 * header.
 */
#pragma once

#include "host-private.h"
