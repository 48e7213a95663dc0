/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The deployment's PKI (OpenSSL 3): a private CA the console creates for a
 * deployment, the broker's server certificate, the console's client
 * certificate, devices' client certificates issued from a CSR (the device
 * makes its key and the key never leaves it), and the check of an admin's
 * own CA and certificates. Every key is EC P-256 and every file is written
 * atomically with mode 0600. The broker maps a client certificate to a
 * user, so what a certificate carries IS the identity: for a device, the
 * URI "urn:vigil:device:<id>:<enrollment>" in its subject alternative
 * name (a new enrollment id at each enrollment, so a revoked certificate
 * never maps again when the id is enrolled anew), with "CN=<id>" as its
 * subject for people; for the console, "CN=vigil console".
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The console's common name: the space keeps any device id from equal to it. */
#define VIGIL_FLEET_CONSOLE_CN "vigil console"

/* Validity, in days. Certificates start VIGIL_FLEET_BACKDATE_DAYS in the
 * past so that an endpoint whose clock is behind (up to that) still
 * accepts a fresh CA and broker certificate: an hour was not enough for an
 * agent two days behind (test fleet-faults-skew). */
#define VIGIL_FLEET_CA_DAYS   3650
#define VIGIL_FLEET_CERT_DAYS 825
#define VIGIL_FLEET_BACKDATE_DAYS 7

typedef struct _VigilFleetCa VigilFleetCa;

/**
 * VigilFleetCertRole:
 * @VIGIL_FLEET_CERT_SERVER: the broker's certificate (serverAuth)
 * @VIGIL_FLEET_CERT_CLIENT: a console's or a device's certificate (clientAuth)
 */
typedef enum {
  VIGIL_FLEET_CERT_SERVER,
  VIGIL_FLEET_CERT_CLIENT,
} VigilFleetCertRole;

/**
 * vigil_fleet_ca_create:
 * @deployment: a name for the deployment, put in the CA's subject
 * @cert_path: where to write the CA certificate (PEM)
 * @key_path: where to write the CA's private key (PEM, unencrypted)
 * @error: return location for a #GError
 *
 * Creates a deployment CA: a new P-256 key, a self-signed certificate
 * valid for %VIGIL_FLEET_CA_DAYS that may sign end-entity certificates
 * only (path length 0).
 *
 * Returns: (transfer full): the CA, ready to issue, or %NULL.
 */
VigilFleetCa *vigil_fleet_ca_create (const char *deployment,
                                     const char *cert_path,
                                     const char *key_path, GError **error);

/**
 * vigil_fleet_ca_load:
 * @cert_path: the CA certificate (PEM)
 * @key_path: its private key (PEM)
 * @error: return location for a #GError
 *
 * Loads a CA to issue with (ours, or an admin's own issuing CA): the
 * certificate must be a CA certificate allowed to sign certificates, and
 * the key must be its key.
 *
 * Returns: (transfer full): the CA, or %NULL.
 */
VigilFleetCa *vigil_fleet_ca_load (const char *cert_path, const char *key_path,
                                   GError **error);

/**
 * vigil_fleet_ca_cert_pem:
 * @ca: the CA
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the CA's certificate (PEM), what clients
 *   trust, or %NULL.
 */
char *vigil_fleet_ca_cert_pem (VigilFleetCa *ca, GError **error);

void vigil_fleet_ca_free (VigilFleetCa *ca);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VigilFleetCa, vigil_fleet_ca_free)

/**
 * vigil_fleet_ca_issue_server:
 * @ca: the CA
 * @names: (array zero-terminated=1): the names clients reach the broker
 *   by, each an IPv4/IPv6 address or a DNS name (e.g. "127.0.0.1",
 *   "localhost" and the host name)
 * @cert_path: where to write the certificate
 * @key_path: where to write its new private key
 * @error: return location for a #GError
 *
 * Issues the broker's server certificate, with @names as its subject
 * alternative names.
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_ca_issue_server (VigilFleetCa *ca,
                                      const char *const *names,
                                      const char *cert_path,
                                      const char *key_path, GError **error);

/**
 * vigil_fleet_ca_issue_console:
 * @ca: the CA
 * @cert_path: where to write the certificate
 * @key_path: where to write its new private key
 * @error: return location for a #GError
 *
 * Issues the console's client certificate (subject
 * "CN=" %VIGIL_FLEET_CONSOLE_CN). The console runs next to the CA, so
 * its key is made here.
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_ca_issue_console (VigilFleetCa *ca, const char *cert_path,
                                       const char *key_path, GError **error);

/**
 * vigil_fleet_enrollment_new:
 *
 * Returns: (transfer full): a new enrollment id: 32 random lower-case
 *   hex digits, naming one enrollment of one device.
 */
char *vigil_fleet_enrollment_new (void);

/**
 * vigil_fleet_enrollment_check:
 * @enrollment: an enrollment id
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @enrollment is 32 lower-case hex digits.
 */
gboolean vigil_fleet_enrollment_check (const char *enrollment, GError **error);

/**
 * vigil_fleet_ca_sign_device:
 * @ca: the CA
 * @device_id: the device the certificate is for
 * @enrollment: this enrollment's id (vigil_fleet_enrollment_new()), put
 *   in the certificate's identity URI
 * @csr_pem: the device's certificate request (PEM), untrusted
 * @csr_len: length of @csr_pem, or -1 if NUL-terminated
 * @error: return location for a #GError
 *
 * Issues a device's client certificate from its request. The request must
 * be signed by its own key (proof the device holds it), carry a P-256 key,
 * and ask for exactly "CN=@device_id"; the certificate's subject and
 * extensions are the CA's choice, never copied from the request: the
 * request cannot name another identity.
 *
 * Returns: (transfer full): the certificate (PEM), or %NULL.
 */
char *vigil_fleet_ca_sign_device (VigilFleetCa *ca, const char *device_id,
                                  const char *enrollment, const char *csr_pem, gssize csr_len,
                                  GError **error);

/**
 * vigil_fleet_ca_issue_bootstrap:
 * @ca: the CA
 * @enrollment: the pending enrollment's id
 * @hours: how long the certificate is valid (the enrollment's lifetime)
 * @cert_pem: (out): the certificate (PEM)
 * @key_pem: (out): its new private key (PEM); a secret, for the
 *   enrollment file only
 * @error: return location for a #GError
 *
 * Issues the bootstrap client certificate of an enrollment file, with
 * the identity "urn:vigil:enroll:@enrollment". The broker lets it do one
 * thing: ask for the device's certificate (see fleet-broker.h).
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_ca_issue_bootstrap (VigilFleetCa *ca,
                                         const char *enrollment, guint hours,
                                         char **cert_pem, char **key_pem,
                                         GError **error);

/**
 * vigil_fleet_device_request_new:
 * @device_id: the device's id
 * @key_path: where to write the device's new private key
 * @error: return location for a #GError
 *
 * On the device: makes its P-256 key (written to @key_path, 0600) and a
 * certificate request for "CN=@device_id" signed with it.
 *
 * Returns: (transfer full): the request (PEM), or %NULL.
 */
char *vigil_fleet_device_request_new (const char *device_id,
                                      const char *key_path, GError **error);

/**
 * vigil_fleet_pki_check:
 * @ca_path: the CA certificate clients and the broker trust (PEM; may hold
 *   intermediates after the root)
 * @cert_path: a certificate (PEM; may be followed by its chain)
 * @key_path: the certificate's private key (PEM)
 * @role: what the certificate is for
 * @name: (nullable): for %VIGIL_FLEET_CERT_SERVER, a host name or address
 *   the certificate must cover; for %VIGIL_FLEET_CERT_CLIENT, the common
 *   name it must carry
 * @error: return location for a #GError
 *
 * Checks an admin's own (or our own) certificate before the deployment
 * uses it: it chains to @ca_path, is valid now, is fit for @role
 * (extended key usage), names @name, the key is its key, and the key file
 * is readable by its owner only.
 *
 * Returns: %TRUE if usable; otherwise the error says what is wrong.
 */
gboolean vigil_fleet_pki_check (const char *ca_path, const char *cert_path,
                                const char *key_path, VigilFleetCertRole role,
                                const char *name, GError **error);

/**
 * vigil_fleet_pki_check_console:
 * @ca_path: the deployment's CA certificate
 * @cert_path: the admin's own console certificate
 * @key_path: its private key
 * @error: return location for a #GError
 *
 * Checks an admin's own console certificate as vigil_fleet_pki_check()
 * does for a client named %VIGIL_FLEET_CONSOLE_CN, and that the broker
 * will map it to the console's user: its subject is exactly
 * "CN=" %VIGIL_FLEET_CONSOLE_CN (nats-server maps a subject with more
 * attributes to another user name), and no subject alternative name is a
 * Vigil identity URI ("urn:vigil:…", which the broker would take first).
 *
 * Returns: %TRUE if usable; otherwise the error says what is wrong.
 */
gboolean vigil_fleet_pki_check_console (const char *ca_path, const char *cert_path,
                                        const char *key_path, GError **error);

/**
 * vigil_fleet_cert_not_after:
 * @cert_path: a certificate (PEM)
 * @not_after: (out): when it expires, in Unix seconds
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success.
 */
gboolean vigil_fleet_cert_not_after (const char *cert_path, gint64 *not_after,
                                     GError **error);

G_END_DECLS
