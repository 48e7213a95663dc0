/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The e2e test cases, one function per file that adds that file's cases
 * to the GTest tree; test-e2e.c's main calls each of them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void e2e_add_scenario_tests (void);   /* e2e-scenario.c */
void e2e_add_window_tests   (void);   /* e2e-window.c */
void e2e_add_response_tests (void);   /* e2e-response.c */
void e2e_add_group_tests    (void);   /* e2e-group.c */

G_END_DECLS
