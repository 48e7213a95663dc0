/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connecting to the fleet's broker (see fleet-connect.h).
 */
#include "fleet-connect.h"
#include "fleet-jetstream.h"
#include "fleet-private.h"
#include "fleet-common.h"
#include "fleet-subjects.h"

#include <signal.h>

#include <openssl/crypto.h>

void
vigil_fleet_process_init (void)
{
  OPENSSL_init_crypto (OPENSSL_INIT_NO_ATEXIT, NULL);
  signal (SIGPIPE, SIG_IGN);
}

void
vigil_fleet_process_shutdown (void)
{
  nats_CloseAndWait (0);
}

void
vigil_fleet_set_nats_error (GError **error, natsStatus s, int js_code,
                            const char *what)
{
  const char *detail = nats_GetLastError (NULL);

  g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_BROKER,
               "%s: %s%s%s (JetStream code %d)", what, natsStatus_GetText (s),
               detail && *detail ? ": " : "", detail ? detail : "", js_code);
}

/* One "tls://HOST:PORT" URL. libnats checks that the broker's certificate
 * names HOST (the URL's host, for each server it connects to; tested by
 * /fleet/identity/broker-name-checked), so HOST must be what the broker's
 * certificate was issued for. */
gboolean
fleet_check_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "tls") != 0 ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      g_uri_get_port (uri) <= 0) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "broker URL \"%s\": expected tls://HOST:PORT", url);
    return FALSE;
  }
  return TRUE;
}

natsOptions *
fleet_options_new (const char *url, const char *ca, const char *cert,
                   const char *key, gboolean in_memory, const char *inbox,
                   const char *name, GError **error)
{
  natsOptions *opts = NULL;
  natsStatus s;

  if (!fleet_check_url (url, error))
    return NULL;
  s = natsOptions_Create (&opts);
  if (s == NATS_OK) s = natsOptions_SetURL (opts, url);
  if (s == NATS_OK) s = natsOptions_SetSecure (opts, true);
  if (s == NATS_OK)
    s = in_memory ? natsOptions_SetCATrustedCertificates (opts, ca)
                  : natsOptions_LoadCATrustedCertificates (opts, ca);
  if (s == NATS_OK)
    s = in_memory ? natsOptions_SetCertificatesChain (opts, cert, key)
                  : natsOptions_LoadCertificatesChain (opts, cert, key);
  if (s == NATS_OK && inbox)
    s = natsOptions_SetCustomInboxPrefix (opts, inbox);
  if (s == NATS_OK)
    s = natsOptions_SetName (opts, name);
  if (s != NATS_OK) {
    vigil_fleet_set_nats_error (error, s, 0, "cannot set up the TLS connection");
    natsOptions_Destroy (opts);
    return NULL;
  }
  return opts;
}

natsOptions *
vigil_fleet_options_new (const char *url, const char *ca_file,
                         const char *cert_file, const char *key_file,
                         const char *device_id, GError **error)
{
  g_autofree char *inbox = NULL;

  g_return_val_if_fail (url && ca_file && cert_file && key_file, NULL);
  if (device_id != NULL && !vigil_fleet_device_id_check (device_id, error))
    return NULL;
  inbox = device_id ? vigil_fleet_inbox_prefix (device_id) : NULL;
  return fleet_options_new (url, ca_file, cert_file, key_file, FALSE, inbox,
                            device_id ? device_id : "vigil console", error);
}
