/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every part of the fleet library shares: its error domain, the rule
 * for what a device id may be (it becomes a NATS subject token and a
 * certificate's common name, so the broker's permissions rest on it), and
 * the one way the fleet writes a file (atomically, mode 0600: keys,
 * certificates and broker configurations alike).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VIGIL_FLEET_ERROR (vigil_fleet_error_quark ())
GQuark vigil_fleet_error_quark (void);

/**
 * VigilFleetError:
 * @VIGIL_FLEET_ERROR_INVALID: an argument or an input (a device id, a CSR,
 *   a certificate) is not acceptable; the message says what and where.
 * @VIGIL_FLEET_ERROR_CRYPTO: OpenSSL failed; the message carries its reason.
 * @VIGIL_FLEET_ERROR_BROKER: the broker or the NATS client failed.
 */
typedef enum {
  VIGIL_FLEET_ERROR_INVALID,
  VIGIL_FLEET_ERROR_CRYPTO,
  VIGIL_FLEET_ERROR_BROKER,
} VigilFleetError;

/* Longest device id; keeps subjects, consumer names and file names short. */
#define VIGIL_FLEET_DEVICE_ID_MAX 64

/**
 * vigil_fleet_device_id_check:
 * @id: a device id
 * @error: return location for a #GError
 *
 * A device id is 1 to 64 characters of lower-case ASCII letters, digits,
 * '-' and '_', starting with a letter or digit. That keeps it one NATS
 * subject token (no '.', '*', '>' or space) and a plain certificate common
 * name, so "device X may use vigil.dev.X.>" cannot be widened by a
 * cleverly named device, and no device id can equal the console's common
 * name (which has a space).
 *
 * Returns: %TRUE if @id is acceptable.
 */
gboolean vigil_fleet_device_id_check (const char *id, GError **error);

/**
 * vigil_fleet_write_private_file:
 * @path: the file to (re)write
 * @data: its content
 * @len: length of @data, or -1 if NUL-terminated
 * @error: return location for a #GError
 *
 * Writes @path atomically (a temporary file renamed over it after fsync)
 * with mode 0600 from the start, so a reader sees the old or the new file
 * whole and no other user ever can read it.
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_write_private_file (const char *path, const char *data,
                                         gssize len, GError **error);

G_END_DECLS
