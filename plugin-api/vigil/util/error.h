/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error domain of a plugin in two lines: VIGIL_ERROR_DOMAIN_DECLARE in
 * the plugin's header and VIGIL_ERROR_DOMAIN_DEFINE in one source file.
 * Every plugin's domain is then named the same way ("vigil-<plugin>-error"),
 * so a GError that reaches a log says which plugin it came from.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * VIGIL_ERROR_DOMAIN_DECLARE:
 * @prefix: the plugin's short prefix, e.g. `kata`
 *
 * Declares `GQuark prefix_error_quark (void)`. Pair it with a
 * `#define PREFIX_ERROR (prefix_error_quark ())` of the plugin's own.
 */
#define VIGIL_ERROR_DOMAIN_DECLARE(prefix) GQuark prefix##_error_quark (void)

/**
 * VIGIL_ERROR_DOMAIN_DEFINE:
 * @plugin: the plugin id as it is spelled in the quark (no quotes)
 * @prefix: the same short prefix as in VIGIL_ERROR_DOMAIN_DECLARE
 *
 * Defines `prefix_error_quark()`, whose quark is "vigil-<plugin>-error".
 */
#define VIGIL_ERROR_DOMAIN_DEFINE(plugin, prefix)                       \
  GQuark prefix##_error_quark (void)                                    \
  {                                                                     \
    static GQuark q;                                                    \
    if G_UNLIKELY (q == 0)                                              \
      q = g_quark_from_static_string ("vigil-" #plugin "-error");       \
    return q;                                                           \
  }

G_END_DECLS
