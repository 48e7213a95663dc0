/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet library's error domain, device-id rule and private-file
 * writer (see fleet-common.h for why each exists).
 */
#include "fleet-common.h"

#include <string.h>

G_DEFINE_QUARK (vigil-fleet-error-quark, vigil_fleet_error)

gboolean
vigil_fleet_device_id_check (const char *id, GError **error)
{
  size_t len = id ? strlen (id) : 0;

  if (len == 0 || len > VIGIL_FLEET_DEVICE_ID_MAX) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "device id must be 1 to %d characters long (got %zu)",
                 VIGIL_FLEET_DEVICE_ID_MAX, len);
    return FALSE;
  }
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    gboolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '-' || c == '_'));
    if (!ok) {
      g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                   "device id has '%c' at position %zu: only a-z, 0-9, "
                   "'-' and '_' are allowed, starting with a-z or 0-9",
                   g_ascii_isprint (c) ? c : '?', i + 1);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
vigil_fleet_write_private_file (const char *path, const char *data,
                                gssize len, GError **error)
{
  g_return_val_if_fail (path != NULL && data != NULL, FALSE);
  return g_file_set_contents_full (path, data, len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
