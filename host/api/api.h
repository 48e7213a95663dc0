/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The api layer of libvigil-host (host/api/), the top one: the host object
 * behind the public vigil_host_* functions of vigil-host.h, and the host
 * API table handed to plugins. It is the only layer that sees every other
 * one, and the only one that sees struct _VigilHost (api-private.h).
 */
#pragma once

#include "settings/settings.h"

G_BEGIN_DECLS

/* The static host API table handed to plugins (and to the settings layer). */
const VigilHostApi *vh_api (void);

G_END_DECLS
