/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrollment: turning a one-time enrollment file into a device's own
 * credentials. The console starts an enrollment (a new enrollment id, a
 * one-time token of which it keeps only the hash, and a short-lived
 * bootstrap certificate) and writes the file. The agent reads the file,
 * makes its own key and CSR, and sends them with the token over the
 * bootstrap connection. The console checks the token and signs. The
 * file is the secret: written 0600, read with the same care as any
 * untrusted input.
 */
#pragma once

#include "fleet-pki.h"

#include <nats/nats.h>

G_BEGIN_DECLS

/* What one enrollment file holds. */
typedef struct {
  char   *device_id;
  char   *enrollment;   /* 32 hex digits: the identity in both certificates */
  char   *token;        /* 64 hex digits: the one-time secret */
  char   *broker_url;   /* tls://HOST:PORT */
  char   *ca_pem;       /* the deployment CA, which the agent will trust */
  char   *cert_pem;     /* the bootstrap certificate */
  char   *key_pem;      /* its key: a secret */
  gint64  expires;      /* Unix time after which the console refuses it */
} VigilFleetEnrollmentFile;

void vigil_fleet_enrollment_file_free (VigilFleetEnrollmentFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilFleetEnrollmentFile,
                               vigil_fleet_enrollment_file_free)

/* What the console keeps of a pending enrollment (in its own store). */
typedef struct {
  char   *device_id;
  char   *enrollment;
  char   *token_sha256; /* hex SHA-256 of the token: the token is not kept */
  gint64  expires;
} VigilFleetPendingEnrollment;

void vigil_fleet_pending_enrollment_clear (VigilFleetPendingEnrollment *pending);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VigilFleetPendingEnrollment,
                                  vigil_fleet_pending_enrollment_clear)

/**
 * vigil_fleet_enrollment_start:
 * @ca: the deployment CA
 * @device_id: the device to enroll
 * @broker_url: the URL the agent will use (tls://HOST:PORT)
 * @hours: how long the file may be used
 * @now: the current Unix time
 * @pending: (out caller-allocates): what the console keeps
 * @error: return location for a #GError
 *
 * On the console: starts an enrollment. Put @pending in the console's
 * store and the device in the broker's configuration as pending (its
 * bootstrap identity), then write the file with
 * vigil_fleet_enrollment_file_write().
 *
 * Returns: (transfer full): the enrollment file's content, or %NULL.
 */
VigilFleetEnrollmentFile *
vigil_fleet_enrollment_start (VigilFleetCa *ca, const char *device_id,
                              const char *broker_url, guint hours, gint64 now,
                              VigilFleetPendingEnrollment *pending,
                              GError **error);

/**
 * vigil_fleet_enrollment_file_write:
 * @file: the enrollment
 * @path: where to write it, atomically with mode 0600
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_enrollment_file_write (const VigilFleetEnrollmentFile *file,
                                            const char *path, GError **error);

/**
 * vigil_fleet_enrollment_file_read:
 * @path: an enrollment file
 * @error: return location for a #GError
 *
 * On the agent: reads and checks an enrollment file. Every member must be
 * there with its expected form; the error names the file and the member.
 *
 * Returns: (transfer full): the enrollment, or %NULL.
 */
VigilFleetEnrollmentFile *vigil_fleet_enrollment_file_read (const char *path,
                                                            GError **error);

/**
 * vigil_fleet_bootstrap_options_new:
 * @file: the enrollment
 * @error: return location for a #GError
 *
 * Options for the one connection an enrollment file allows: TLS with the
 * file's bootstrap certificate (kept in memory, never written out),
 * trusting the file's CA, with replies on the enrollment's own inbox.
 *
 * Returns: (transfer full): the options, or %NULL.
 */
natsOptions *vigil_fleet_bootstrap_options_new (const VigilFleetEnrollmentFile *file,
                                                GError **error);

/**
 * vigil_fleet_enroll_request_new:
 * @file: the enrollment
 * @key_path: where the device's new private key goes (0600)
 * @error: return location for a #GError
 *
 * On the agent: makes the device's key and CSR, and the request to send
 * on vigil_fleet_subject_enroll().
 *
 * Returns: (transfer full): the request body (JSON), or %NULL.
 */
char *vigil_fleet_enroll_request_new (const VigilFleetEnrollmentFile *file,
                                      const char *key_path, GError **error);

/**
 * vigil_fleet_enroll_answer:
 * @ca: the deployment CA
 * @pending: the console's record of this enrollment
 * @request: the request body, untrusted
 * @len: its length
 * @now: the current Unix time
 * @error: return location for a #GError
 *
 * On the console: checks the request's token against @pending (in
 * constant time) and its expiry, and signs the device's CSR. On success
 * the token is spent: delete @pending from the store before replying,
 * and switch the device from pending to enrolled in the broker's
 * configuration.
 *
 * Returns: (transfer full): the device's certificate (PEM), or %NULL.
 */
char *vigil_fleet_enroll_answer (VigilFleetCa *ca,
                                 const VigilFleetPendingEnrollment *pending,
                                 const char *request, gsize len, gint64 now,
                                 GError **error);

/**
 * vigil_fleet_enroll_reply_new:
 * @certificate: (nullable): the certificate, or %NULL for a refusal
 * @refusal: (nullable): why it was refused, for the agent's admin
 *
 * Returns: (transfer full): the reply body (JSON).
 */
char *vigil_fleet_enroll_reply_new (const char *certificate, const char *refusal);

/**
 * vigil_fleet_enroll_reply_read:
 * @reply: the console's reply body, untrusted
 * @len: its length
 * @error: return location for a #GError
 *
 * On the agent.
 *
 * Returns: (transfer full): the device's certificate (PEM), or %NULL with
 *   the console's refusal in @error.
 */
char *vigil_fleet_enroll_reply_read (const char *reply, gsize len,
                                     GError **error);

G_END_DECLS
