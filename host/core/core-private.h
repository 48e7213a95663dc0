/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kept for the CLI files of host/core/ until they move to host/cli/: the
 * registry layer's interface now lives in host/registry/registry.h, and
 * host-private.h includes every layer's header.
 */
#pragma once

#include "host-private.h"
