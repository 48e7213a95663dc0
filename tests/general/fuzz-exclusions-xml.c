/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the exclusion list import (host/settings/exclusions-xml.c):
 * any bytes either fail with an error or give rules that survive an export
 * and a second import unchanged.
 */
#include "settings/general-private.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *copy = g_memdup2 (data, size);
  g_autoptr (JsonObject) rules = NULL;
  g_autoptr (JsonObject) again = NULL;
  g_autofree char *xml = NULL;
  GError *error = NULL;

  rules = vh_exclusions_from_xml (copy, size, "fuzz.xml", &error);
  if (rules == NULL)
    {
      g_assert (error != NULL);
      g_clear_error (&error);
      return 0;
    }
  xml = vh_exclusions_to_xml (rules, &error);
  g_assert_no_error (error);
  again = vh_exclusions_from_xml (xml, strlen (xml), "again.xml", &error);
  g_assert_no_error (error);
  g_assert (json_array_equal (json_object_get_array_member (rules, "processes"),
                              json_object_get_array_member (again, "processes")));
  g_assert (json_array_equal (json_object_get_array_member (rules, "networks"),
                              json_object_get_array_member (again, "networks")));
  return 0;
}
