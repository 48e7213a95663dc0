/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A shared object without vigil_plugin_query_v1: not a plugin at all. */
#include <glib.h>

int no_entry_helper (int x);

int
no_entry_helper (int x)
{
  return x + 1;
}
