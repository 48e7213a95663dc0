/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who gets in, on a real nats-server with real TLS: configurations and
 * URLs that cannot be used safely are refused before anything runs; a
 * device is enrolled end to end from its enrollment file; revocation
 * closes a device's live connection and keeps it out without a broker
 * restart, also after its id is enrolled again; the broker's name is
 * checked; no certificate, or another CA's, gets no connection.
 */
#include "fleet-broker.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-pki.h"
#include "fleet-subjects.h"
#include "vt-fleet.h"

#include <string.h>

#include <glib/gstdio.h>

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (vigil_fleet_write_private_file (to, data, len, NULL));
}

/* The console's side of enrollment, on a libnats thread: answers a request
 * for the pending enrollment its subject names. */
typedef struct {
  VtFleet *fleet;
  guint    answered;
} Enroller;

static void
on_enroll_request (natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                   void *closure)
{
  Enroller *e = closure;
  g_autoptr (GError) error = NULL;
  g_autofree char *cert = NULL, *reply = NULL;
  VigilFleetPendingEnrollment *pending = NULL;
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, e->fleet->pending);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    g_autofree char *subject =
      vigil_fleet_subject_enroll (((VigilFleetPendingEnrollment *) value)->enrollment);
    if (g_str_equal (subject, natsMsg_GetSubject (msg)))
      pending = value;
  }
  if (pending != NULL)
    cert = vigil_fleet_enroll_answer (e->fleet->ca, pending, natsMsg_GetData (msg),
                                      natsMsg_GetDataLength (msg),
                                      g_get_real_time () / G_USEC_PER_SEC, &error);
  reply = vigil_fleet_enroll_reply_new (cert, error ? error->message
                                                    : "no such enrollment");
  /* Counted before replying: the agent may see the reply at once. */
  g_atomic_int_inc (&e->answered);
  natsConnection_PublishString (nc, natsMsg_GetReply (msg), reply);
  natsMsg_Destroy (msg);
}

/* Sends the enrollment request of @id's file; returns the reply body. */
static char *
request_enrollment (VtFleet *f, const char *id, const char *token_override)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = vt_fleet_device_file (f, id, "enroll");
  g_autofree char *key = vt_fleet_device_file (f, id, "key");
  g_autoptr (VigilFleetEnrollmentFile) file =
    vigil_fleet_enrollment_file_read (path, &error);
  g_autofree char *request = NULL, *subject = NULL;
  VtClient *boot = NULL;
  natsMsg *reply = NULL;
  char *body;

  g_assert_no_error (error);
  if (token_override) {
    g_free (file->token);
    file->token = g_strdup (token_override);
  }
  request = vigil_fleet_enroll_request_new (file, key, &error);
  g_assert_no_error (error);
  subject = vigil_fleet_subject_enroll (file->enrollment);
  g_assert_cmpint (vt_client_try_bootstrap (f, id, &boot), ==, NATS_OK);
  g_assert_cmpint (natsConnection_RequestString (&reply, boot->nc, subject, request,
                                                 VT_BROKER_WAIT_S * 1000), ==, NATS_OK);
  body = g_strndup (natsMsg_GetData (reply), natsMsg_GetDataLength (reply));
  natsMsg_Destroy (reply);
  vt_client_free (boot);
  return body;
}

/* What cannot be written safely into nats-server's configuration is
 * refused, naming what was wrong. */
static void
test_config_refuses_unsafe_values (void)
{
  const VigilFleetBrokerDevice bad_devices[] = {
    { "dev-a", "0123456789abcdef0123456789abcdef" },
    { "dev.b", "0123456789abcdef0123456789abcdef" },
  };
  const VigilFleetBrokerDevice bad_enrollment[] = { { "dev-a", "xyz" } };
  VigilFleetBrokerConfig c = {
    .server_name = "s", .host = "127.0.0.1", .store_dir = "/tmp/store",
    .ca_file = "/tmp/ca.crt", .cert_file = "/tmp/s.crt", .key_file = "/tmp/s.key",
  };
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  c.devices = bad_devices;
  c.n_devices = G_N_ELEMENTS (bad_devices);
  g_assert_null (vigil_fleet_broker_config_render (&c, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "device 2"));
  g_clear_error (&error);
  c.devices = bad_enrollment;
  c.n_devices = 1;
  g_assert_null (vigil_fleet_broker_config_render (&c, &error));
  g_assert_nonnull (strstr (error->message, "enrollment"));
  g_clear_error (&error);
  c.n_devices = 0;
  c.store_dir = "/tmp/x\"\ninclude /etc/passwd";
  g_assert_null (vigil_fleet_broker_config_render (&c, &error));
  g_assert_nonnull (strstr (error->message, "store folder"));
  g_clear_error (&error);
  c.store_dir = "/tmp/store";
  text = vigil_fleet_broker_config_render (&c, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "verify_and_map: true"));
}

/* Only TLS, to one named host and port: a plain nats:// URL would send
 * the client's traffic in clear. */
static void
test_options_refuse_non_tls_url (void)
{
  const char *bad[] = { "nats://127.0.0.1:4222", "tls://127.0.0.1", "127.0.0.1:4222",
                        "tls://:4222", NULL };

  for (gsize i = 0; bad[i]; i++) {
    g_autoptr (GError) error = NULL;
    natsOptions *opts = vigil_fleet_options_new (bad[i], "ca", "crt", "key",
                                                 "dev-a", &error);
    g_assert_null (opts);
    g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, bad[i]));
  }
}

/* Revocation: the configuration is rewritten without the device and the
 * broker reloads it. The revoked device's live connection is closed, it
 * cannot connect again, the other devices stay connected, and the broker
 * is the same process throughout. */
static void
test_revocation_without_restart (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  VtClient *a = vt_client_connect (f, "dev-a");
  VtClient *b = vt_client_connect (f, "dev-b");
  VtClient *again = NULL;
  g_autofree char *crt = vt_fleet_device_file (f, "dev-a", "crt");
  g_autofree char *key = vt_fleet_device_file (f, "dev-a", "key");
  g_autofree char *b_event = vigil_fleet_subject_report ("dev-b", "event");
  GPid pid = vt_broker_pid (f->broker);
  gsize mark;

  g_ptr_array_remove_index (f->devices, 0);
  g_assert_cmpstr (g_ptr_array_index (f->devices, 0), ==, "dev-b");
  mark = vt_broker_log_mark (f->broker);
  vt_fleet_reload (f);
  /* Nothing else closes it: reconnection is off and the test did not. */
  vt_client_wait_closed (a);
  g_assert_cmpint (natsConnection_Status (a->nc), ==, NATS_CONN_STATUS_CLOSED);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &again), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "authentication error");
  g_assert_true (vigil_fleet_publish (b->js, b_event, "b-ev-1", "{}", 2, NULL,
                                      &error));
  g_assert_no_error (error);
  g_assert_cmpint (natsConnection_Status (b->nc), ==, NATS_CONN_STATUS_CONNECTED);
  g_assert_true (vt_broker_running (f->broker));
  g_assert_cmpint (vt_broker_pid (f->broker), ==, pid);
  vigil_fleet_device_consumers_delete (f->console->js, "dev-a", &error);
  g_assert_no_error (error);
  vt_client_free (again);
  vt_client_free (a);
  vt_client_free (b);
}

/* A revoked device enrolled again under the same id gets in with its new
 * certificate; the old certificate, with the same name, stays refused. */
static void
test_reenrolled_device_old_certificate_refused (VtFleet *f, gconstpointer data)
{
  g_autofree char *crt = vt_fleet_device_file (f, "dev-a", "crt");
  g_autofree char *key = vt_fleet_device_file (f, "dev-a", "key");
  g_autofree char *old_crt = vt_fleet_device_file (f, "dev-a", "old.crt");
  g_autofree char *old_key = vt_fleet_device_file (f, "dev-a", "old.key");
  VtClient *old = NULL, *renewed = NULL;
  gsize mark;

  copy_file (crt, old_crt);
  copy_file (key, old_key);
  g_ptr_array_remove_index (f->devices, 0);
  vt_fleet_reload (f);
  vt_fleet_enroll (f, "dev-a");
  vt_fleet_reload (f);
  mark = vt_broker_log_mark (f->broker);
  g_assert_cmpint (vt_client_try (f, NULL, old_crt, old_key, "dev-a", &old), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "authentication error");
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &renewed), ==, NATS_OK);
  vt_client_free (old);
  vt_client_free (renewed);
}

/* Enrollment end to end: the console writes the file; the agent makes
 * its key and request and sends them over the bootstrap connection; a
 * wrong token is refused; the right one gets a certificate; once the
 * console switches the device to enrolled, the agent connects as itself
 * and gets its runs, and the spent file no longer connects. */
static void
test_enrollment_end_to_end (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Enroller e = { f, 0 };
  natsSubscription *answers = NULL;
  g_autofree char *refused = NULL, *granted = NULL, *cert = NULL, *body = NULL;
  g_autofree char *crt = vt_fleet_device_file (f, "dev-e", "crt");
  VtClient *device = NULL, *spent = NULL;

  vt_fleet_add_pending (f, "dev-e");
  vt_fleet_reload (f);
  g_assert_cmpint (natsConnection_Subscribe (&answers, f->console->nc,
                                             "vigil.enroll.*.request",
                                             on_enroll_request, &e), ==, NATS_OK);
  g_assert_cmpint (natsConnection_Flush (f->console->nc), ==, NATS_OK);

  refused = request_enrollment (f, "dev-e", "00000000000000000000000000000000"
                                            "00000000000000000000000000000000");
  g_assert_null (vigil_fleet_enroll_reply_read (refused, strlen (refused), &error));
  g_assert_nonnull (strstr (error->message, "wrong token"));
  g_clear_error (&error);

  granted = request_enrollment (f, "dev-e", NULL);
  cert = vigil_fleet_enroll_reply_read (granted, strlen (granted), &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, &error));
  g_assert_cmpuint (g_atomic_int_get (&e.answered), ==, 2);
  natsSubscription_Destroy (answers);

  /* The console spends the token and lets the device in as itself. */
  g_hash_table_remove (f->pending, "dev-e");
  vigil_fleet_device_consumers_ensure (f->console->js, "dev-e", &error);
  g_assert_no_error (error);
  vt_fleet_reload (f);
  g_assert_cmpint (vt_client_try_bootstrap (f, "dev-e", &spent), !=, NATS_OK);
  device = vt_client_connect (f, "dev-e");
  vt_fleet_publish_run (f, "dev-e", "run-e-1", "{\"for\":\"e\"}", FALSE);
  body = vt_fetch_one_run (device, "dev-e");
  g_assert_cmpstr (body, ==, "{\"for\":\"e\"}");
  vt_client_free (spent);
  vt_client_free (device);
}

/* The broker's certificate must name the host a client connects to (a
 * certificate of the same CA for another address does not do), and a new
 * broker certificate takes effect on vt_fleet_reload. Addresses, not host
 * names: a test must not depend on the machine's name resolution (a fresh
 * Debian root has no /etc/hosts, so even "localhost" does not resolve);
 * libnats checks an address and a name through the same OpenSSL host
 * check. */
static void
test_broker_name_checked (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = vt_fleet_device_file (f, "dev-a", "crt");
  g_autofree char *key = vt_fleet_device_file (f, "dev-a", "key");
  const char *other_address[] = { "127.0.0.2", NULL };
  const char *this_address[] = { "127.0.0.1", NULL };
  VtClient *refused = NULL, *accepted = NULL;

  g_assert_true (vigil_fleet_ca_issue_server (f->ca, other_address,
                                              f->server_crt, f->server_key,
                                              &error));
  g_assert_no_error (error);
  vt_fleet_reload (f);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &refused), !=, NATS_OK);
  /* "IP address mismatch": the name, not anything else, was refused. */
  g_assert_nonnull (strstr (nats_GetLastError (NULL), "address mismatch"));

  g_assert_true (vigil_fleet_ca_issue_server (f->ca, this_address,
                                              f->server_crt, f->server_key,
                                              &error));
  g_assert_no_error (error);
  vt_fleet_reload (f);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &accepted), ==, NATS_OK);
  vt_client_free (refused);
  vt_client_free (accepted);
}

/* No client certificate, no connection: the TLS handshake fails. */
static void
test_connection_without_certificate_refused (VtFleet *f, gconstpointer data)
{
  VtClient *c = NULL;
  gsize mark = vt_broker_log_mark (f->broker);

  g_assert_cmpint (vt_client_try (f, NULL, NULL, NULL, NULL, &c), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "TLS handshake error");
  vt_client_free (c);
}

/* A certificate for an enrolled id but from another CA is refused too:
 * the name is nothing without the deployment's signature. */
static void
test_certificate_from_other_ca_refused (VtFleet *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (f->dir, "rogue", NULL);
  g_autofree char *ca_crt = g_build_filename (dir, "ca.crt", NULL);
  g_autofree char *ca_key = g_build_filename (dir, "ca.key", NULL);
  g_autofree char *key = g_build_filename (dir, "dev-a.key", NULL);
  g_autofree char *crt = g_build_filename (dir, "dev-a.crt", NULL);
  g_autoptr (VigilFleetCa) rogue = NULL;
  g_autofree char *csr = NULL, *cert = NULL;
  VtClient *c = NULL;
  gsize mark;

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  rogue = vigil_fleet_ca_create ("rogue", ca_crt, ca_key, &error);
  csr = vigil_fleet_device_request_new ("dev-a", key, &error);
  cert = vigil_fleet_ca_sign_device (rogue, "dev-a", g_hash_table_lookup (f->enrollments, "dev-a"), csr, -1,
                                     &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, NULL));
  mark = vt_broker_log_mark (f->broker);
  g_assert_cmpint (vt_client_try (f, NULL, crt, key, "dev-a", &c), !=, NATS_OK);
  vt_broker_wait_log (f->broker, mark, "TLS handshake error");
  vt_client_free (c);
}

int
main (int argc, char **argv)
{
  int rc;

  vigil_fleet_process_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fleet/identity/config-refuses-unsafe-values",
                   test_config_refuses_unsafe_values);
  g_test_add_func ("/fleet/identity/options-refuse-non-tls-url",
                   test_options_refuse_non_tls_url);
#define ADD(name, fn) \
  g_test_add ("/fleet/identity/" name, VtFleet, NULL, vt_fleet_fixture_setup, fn, \
              vt_fleet_fixture_teardown)
  ADD ("revocation-without-restart", test_revocation_without_restart);
  ADD ("reenrolled-device-old-certificate-refused", test_reenrolled_device_old_certificate_refused);
  ADD ("enrollment-end-to-end", test_enrollment_end_to_end);
  ADD ("broker-name-checked", test_broker_name_checked);
  ADD ("connection-without-certificate-refused", test_connection_without_certificate_refused);
  ADD ("certificate-from-other-ca-refused", test_certificate_from_other_ca_refused);
#undef ADD
  rc = g_test_run ();
  vigil_fleet_process_shutdown ();
  return rc;
}
