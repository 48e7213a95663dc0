/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fixture.h"
int
main (int argc, char **argv)
{
  fixture_init_env ();
  g_test_init (&argc, &argv, NULL);
  return g_test_run ();
}
