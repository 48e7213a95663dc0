/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The e2e test program: the threat-response workflow on the demo lab, from
 * a sandbox detection to quarantined files and recorded events. Each case
 * builds its own lab in a temporary folder (see lab-fixture.h).
 */
#include "e2e-cases.h"
#include "lab-fixture.h"

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("VIGIL_CLI") == NULL || g_getenv ("VIGIL_SOURCE_DIR") == NULL)
    {
      g_printerr ("run through meson test: VIGIL_CLI and VIGIL_SOURCE_DIR are needed\n");
      return 77;
    }
  e2e_add_scenario_tests ();
  e2e_add_window_tests ();
  e2e_add_response_tests ();
  e2e_add_group_tests ();
  return g_test_run ();
}
