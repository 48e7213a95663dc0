/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error-domain macro: the declared function exists, its quark is named
 * "vigil-<plugin>-error", and it is one quark however often it is asked.
 */
#include "vigil/util/error.h"

#define DEMO_ERROR (demo_error_quark ())
VIGIL_ERROR_DOMAIN_DECLARE (demo);
VIGIL_ERROR_DOMAIN_DEFINE (demo-plugin, demo)

static void
test_domain_name (void)
{
  g_autoptr (GError) error = g_error_new (DEMO_ERROR, 3, "what");

  g_assert_cmpstr (g_quark_to_string (DEMO_ERROR), ==, "vigil-demo-plugin-error");
  g_assert_true (DEMO_ERROR == demo_error_quark ());
  g_assert_error (error, g_quark_from_string ("vigil-demo-plugin-error"), 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/error/domain-is-named-for-the-plugin", test_domain_name);
  return g_test_run ();
}
