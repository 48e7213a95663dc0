/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for device path normalization (qpath.c), which every path
 * from a task, an event or the command line goes through before the walk.
 * Whatever the input, a path that is accepted must come out canonical:
 * absolute, without empty, "." or ".." components, so that the walk from
 * the device root can only go down.
 */
#include "qstore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = g_strndup ((const char *) data, size);
  g_autofree char *norm = qpath_normalize (path, NULL);
  g_auto (GStrv) parts = NULL;

  if (norm == NULL)
    return 0;
  if (norm[0] != '/' || strstr (norm, "//") != NULL
      || (strlen (norm) > 1 && g_str_has_suffix (norm, "/")))
    abort ();
  parts = g_strsplit (norm + 1, "/", -1);
  for (char **p = parts; *p != NULL; p++)
    if (strcmp (*p, "..") == 0 || strcmp (*p, ".") == 0 || (**p == '\0' && norm[1] != '\0'))
      abort ();
  return 0;
}
