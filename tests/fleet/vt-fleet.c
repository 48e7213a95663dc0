/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet tests' deployment and clients, and what tests do as the
 * console (see vt-fleet.h).
 */
#include "vt-fleet.h"

#include "fleet-broker.h"
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "fleet-jetstream.h"
#include "fleet-subjects.h"
#include "fleet-pki.h"
#include "vt-cli.h"

#include <string.h>

#include <glib/gstdio.h>

/* ---- clients ------------------------------------------------------- */

static void
on_error (natsConnection *nc, natsSubscription *sub, natsStatus err,
          void *closure)
{
  VtClient *c = closure;
  const char *text = NULL;

  natsConnection_GetLastError (nc, &text);
  g_mutex_lock (&c->lock);
  g_ptr_array_add (c->errors, g_strdup_printf ("%s: %s", natsStatus_GetText (err),
                                               text ? text : ""));
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
}

static void
on_closed (natsConnection *nc, void *closure)
{
  VtClient *c = closure;

  g_mutex_lock (&c->lock);
  c->closed = TRUE;
  g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
}

/* Connects with @opts (consumed), recording errors and the closing. */
static natsStatus
client_connect (natsOptions *opts, VtClient **client)
{
  VtClient *c = g_new0 (VtClient, 1);
  natsStatus s;

  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
  c->errors = g_ptr_array_new_with_free_func (g_free);
  natsOptions_SetAllowReconnect (opts, false);
  natsOptions_SetErrorHandler (opts, on_error, c);
  natsOptions_SetClosedCB (opts, on_closed, c);
  s = natsConnection_Connect (&c->nc, opts);
  natsOptions_Destroy (opts);
  if (s == NATS_OK)
    g_assert_cmpint (natsConnection_JetStream (&c->js, c->nc, NULL), ==, NATS_OK);
  *client = c;
  return s;
}

natsStatus
vt_client_try (VtFleet *f, const char *url, const char *cert, const char *key,
               const char *id, VtClient **client)
{
  g_autoptr (GError) error = NULL;
  natsOptions *opts = NULL;

  if (url == NULL)
    url = vt_broker_url (f->broker);
  if (cert != NULL) {
    opts = vigil_fleet_options_new (url, f->ca_crt, cert, key, id, &error);
    g_assert_no_error (error);
  } else {
    /* What a stranger without a client certificate can do: trust the CA. */
    g_assert_cmpint (natsOptions_Create (&opts), ==, NATS_OK);
    natsOptions_SetURL (opts, url);
    natsOptions_SetSecure (opts, true);
    natsOptions_LoadCATrustedCertificates (opts, f->ca_crt);
  }
  return client_connect (opts, client);
}

natsStatus
vt_client_try_bootstrap (VtFleet *f, const char *id, VtClient **client)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = vt_fleet_device_file (f, id, "enroll");
  g_autoptr (VigilFleetEnrollmentFile) file =
    vigil_fleet_enrollment_file_read (path, &error);
  natsOptions *opts;

  g_assert_no_error (error);
  opts = vigil_fleet_bootstrap_options_new (file, &error);
  g_assert_no_error (error);
  return client_connect (opts, client);
}

VtClient *
vt_client_connect (VtFleet *f, const char *id)
{
  g_autofree char *cert = id ? vt_fleet_device_file (f, id, "crt")
                             : g_strdup (f->console_crt);
  g_autofree char *key = id ? vt_fleet_device_file (f, id, "key")
                            : g_strdup (f->console_key);
  VtClient *c = NULL;
  natsStatus s = vt_client_try (f, NULL, cert, key, id, &c);

  if (s != NATS_OK)
    g_error ("cannot connect as %s: %s: %s", id ? id : "the console",
             natsStatus_GetText (s), nats_GetLastError (NULL));
  return c;
}

void
vt_client_free (VtClient *c)
{
  if (c == NULL)
    return;
  jsCtx_Destroy (c->js);
  if (c->nc) {
    natsConnection_Close (c->nc);
    /* The closed callback may still run: wait for it before freeing c. */
    vt_client_wait_closed (c);
    natsConnection_Destroy (c->nc);
  }
  g_ptr_array_unref (c->errors);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
  g_free (c);
}

static gboolean
has_error (VtClient *c, const char *needle)
{
  for (guint i = 0; i < c->errors->len; i++)
    if (strstr (g_ptr_array_index (c->errors, i), needle))
      return TRUE;
  return FALSE;
}

void
vt_client_wait_error (VtClient *c, const char *needle)
{
  gint64 deadline = g_get_monotonic_time () + VT_BROKER_WAIT_S * G_USEC_PER_SEC;

  g_mutex_lock (&c->lock);
  while (!has_error (c, needle))
    if (!g_cond_wait_until (&c->cond, &c->lock, deadline))
      g_error ("the broker reported no error with \"%s\" (%u others)",
               needle, c->errors->len);
  g_mutex_unlock (&c->lock);
}

void
vt_client_wait_closed (VtClient *c)
{
  gint64 deadline = g_get_monotonic_time () + VT_BROKER_WAIT_S * G_USEC_PER_SEC;

  g_mutex_lock (&c->lock);
  while (!c->closed)
    if (!g_cond_wait_until (&c->cond, &c->lock, deadline))
      g_error ("the connection was not closed");
  g_mutex_unlock (&c->lock);
}

/* ---- the deployment ------------------------------------------------ */

char *
vt_fleet_device_file (VtFleet *f, const char *id, const char *ext)
{
  g_autofree char *name = g_strdup_printf ("%s.%s", id, ext);

  return g_build_filename (f->dir, "devices", name, NULL);
}

/* Enrollment as designed: the device makes its key and request; the
 * console's CA signs; the device stores its certificate. */
static void
pending_free (gpointer data)
{
  vigil_fleet_pending_enrollment_clear (data);
  g_free (data);
}

void
vt_fleet_add_pending (VtFleet *f, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = vt_fleet_device_file (f, id, "enroll");
  VigilFleetPendingEnrollment *pending = g_new0 (VigilFleetPendingEnrollment, 1);
  g_autoptr (VigilFleetEnrollmentFile) file =
    vigil_fleet_enrollment_start (f->ca, id, vt_broker_url (f->broker), 1,
                                  g_get_real_time () / G_USEC_PER_SEC,
                                  pending, &error);

  g_assert_no_error (error);
  g_assert_true (vigil_fleet_enrollment_file_write (file, path, &error));
  g_hash_table_replace (f->enrollments, g_strdup (id), g_strdup (pending->enrollment));
  g_hash_table_replace (f->pending, g_strdup (id), pending);
  if (!g_ptr_array_find_with_equal_func (f->devices, id, g_str_equal, NULL))
    g_ptr_array_add (f->devices, g_strdup (id));
}

void
vt_fleet_enroll (VtFleet *f, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = vt_fleet_device_file (f, id, "key");
  g_autofree char *crt = vt_fleet_device_file (f, id, "crt");
  g_autofree char *csr = vigil_fleet_device_request_new (id, key, &error);
  /* A pending enrollment's id carries over into the certificate. */
  char *enrollment = g_hash_table_remove (f->pending, id)
                       ? g_strdup (g_hash_table_lookup (f->enrollments, id))
                       : vigil_fleet_enrollment_new ();
  g_autofree char *cert = NULL;

  g_assert_no_error (error);
  cert = vigil_fleet_ca_sign_device (f->ca, id, enrollment, csr, -1, &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_write_private_file (crt, cert, -1, &error));
  g_hash_table_replace (f->enrollments, g_strdup (id), enrollment);
  if (!g_ptr_array_find_with_equal_func (f->devices, id, g_str_equal, NULL))
    g_ptr_array_add (f->devices, g_strdup (id));
}

void
vt_fleet_write_config (VtFleet *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autoptr (GArray) devices =
    g_array_new (FALSE, TRUE, sizeof (VigilFleetBrokerDevice));
  VigilFleetBrokerConfig config = {
    .server_name = "vigil-test", .host = "127.0.0.1", .port = 0,
    .store_dir = store, .ca_file = f->ca_crt, .cert_file = f->server_crt,
    .key_file = f->server_key,
  };

  for (guint i = 0; i < f->devices->len; i++) {
    VigilFleetBrokerDevice d = { g_ptr_array_index (f->devices, i), NULL, FALSE };
    d.enrollment = g_hash_table_lookup (f->enrollments, d.id);
    d.pending = g_hash_table_contains (f->pending, d.id);
    g_array_append_val (devices, d);
  }
  config.devices = (const VigilFleetBrokerDevice *) devices->data;
  config.n_devices = devices->len;
  g_assert_true (vigil_fleet_broker_config_write (&config, f->config, &error));
  g_assert_no_error (error);
}

static void
make_pki (VtFleet *f, const char *const *device_ids)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *devices = g_build_filename (f->dir, "devices", NULL);
  const char *names[] = { "127.0.0.1", "localhost", NULL };

  f->ca = vigil_fleet_ca_create ("test", f->ca_crt, f->ca_key, &error);
  g_assert_no_error (error);
  g_assert_true (vigil_fleet_ca_issue_server (f->ca, names, f->server_crt,
                                              f->server_key, &error));
  g_assert_true (vigil_fleet_ca_issue_console (f->ca, f->console_crt,
                                               f->console_key, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (devices, 0700), ==, 0);
  for (gsize i = 0; device_ids[i]; i++)
    vt_fleet_enroll (f, device_ids[i]);
}

void
vt_fleet_setup (VtFleet *f, const char *const *device_ids)
{
  g_autoptr (GError) error = NULL;

  memset (f, 0, sizeof *f);
  f->dir = g_dir_make_tmp ("vigil-fleet-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
#define IN(name) g_build_filename (f->dir, name, NULL)
  f->ca_crt = IN ("ca.crt");
  f->ca_key = IN ("ca.key");
  f->server_crt = IN ("server.crt");
  f->server_key = IN ("server.key");
  f->console_crt = IN ("console.crt");
  f->console_key = IN ("console.key");
  f->config = IN ("nats.conf");
#undef IN
  f->devices = g_ptr_array_new_with_free_func (g_free);
  f->enrollments = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  f->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, pending_free);
  make_pki (f, device_ids);
  vt_fleet_write_config (f);
  f->broker = vt_broker_start (f->config);
  f->console = vt_client_connect (f, NULL);
  vigil_fleet_layout_ensure (f->console->js, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < f->devices->len; i++) {
    vigil_fleet_device_consumers_ensure (f->console->js,
                                         g_ptr_array_index (f->devices, i),
                                         &error);
    g_assert_no_error (error);
  }
}

static const char *const fixture_devices[] = { "dev-a", "dev-b", "dev-c", NULL };

void
vt_fleet_fixture_setup (VtFleet *f, gconstpointer data)
{
  vt_fleet_setup (f, fixture_devices);
}

void
vt_fleet_fixture_teardown (VtFleet *f, gconstpointer data)
{
  vt_fleet_teardown (f);
}

void
vt_fleet_teardown (VtFleet *f)
{
  vt_client_free (f->console);
  vt_broker_stop (f->broker);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->ca_crt);
  g_free (f->ca_key);
  g_free (f->server_crt);
  g_free (f->server_key);
  g_free (f->console_crt);
  g_free (f->console_key);
  g_free (f->config);
  g_ptr_array_unref (f->devices);
  g_hash_table_unref (f->enrollments);
  g_hash_table_unref (f->pending);
  vigil_fleet_ca_free (f->ca);
}

/* ---- what tests do as the console -------------------------------- */

void
vt_fleet_publish_run (VtFleet *f, const char *id, const char *run_id,
                      const char *body, gboolean expect_duplicate)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *subject = vigil_fleet_subject_run (id);
  gboolean duplicate = !expect_duplicate;

  g_assert_true (vigil_fleet_publish (f->console->js, subject, run_id, body,
                                      (int) strlen (body), &duplicate, &error));
  g_assert_no_error (error);
  g_assert_cmpint (duplicate, ==, expect_duplicate);
}

uint64_t
vt_fleet_stream_msgs (VtFleet *f, const char *stream, const char *subject_filter)
{
  jsStreamInfo *si = NULL;
  jsOptions o;
  jsErrCode jerr = 0;
  uint64_t n = 0;

  jsOptions_Init (&o);
  o.Stream.Info.SubjectsFilter = subject_filter;
  g_assert_cmpint (js_GetStreamInfo (&si, f->console->js, stream, &o, &jerr),
                   ==, NATS_OK);
  if (subject_filter == NULL)
    n = si->State.Msgs;
  else
    for (int i = 0; si->State.Subjects && i < si->State.Subjects->Count; i++)
      n += si->State.Subjects->List[i].Msgs;
  jsStreamInfo_Destroy (si);
  return n;
}

uint64_t
vt_fleet_consumer_pending (VtFleet *f, const char *id)
{
  g_autofree char *consumer = vigil_fleet_consumer_runs (id);
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  uint64_t n;

  g_assert_cmpint (js_GetConsumerInfo (&ci, f->console->js,
                                       VIGIL_FLEET_STREAM_RUNS, consumer,
                                       NULL, &jerr), ==, NATS_OK);
  n = ci->NumPending + (uint64_t) ci->NumAckPending;
  jsConsumerInfo_Destroy (ci);
  return n;
}

/* Fetches exactly one message from @sub, acknowledges it and destroys
 * @sub; returns "SUBJECT BODY". */
char *
vt_fetch_one (natsSubscription *sub)
{
  natsMsgList list = { 0 };
  jsErrCode jerr = 0;
  char *got;

  g_assert_nonnull (sub);
  g_assert_cmpint (natsSubscription_Fetch (&list, sub, 1,
                                           VT_BROKER_WAIT_S * 1000, &jerr),
                   ==, NATS_OK);
  g_assert_cmpint (list.Count, ==, 1);
  got = g_strdup_printf ("%s %.*s", natsMsg_GetSubject (list.Msgs[0]),
                         natsMsg_GetDataLength (list.Msgs[0]),
                         natsMsg_GetData (list.Msgs[0]));
  g_assert_cmpint (natsMsg_AckSync (list.Msgs[0], NULL, &jerr), ==, NATS_OK);
  natsMsgList_Destroy (&list);
  natsSubscription_Destroy (sub);
  return got;
}

/* Fetches exactly one run as device @c and acknowledges it; returns its body. */
char *
vt_fetch_one_run (VtClient *c, const char *id)
{
  g_autoptr (GError) error = NULL;
  natsSubscription *sub = vigil_fleet_device_runs_subscribe (c->js, id, &error);
  g_autofree char *got = NULL;
  g_autofree char *subject = vigil_fleet_subject_run (id);

  g_assert_no_error (error);
  got = vt_fetch_one (sub);
  g_assert_true (g_str_has_prefix (got, subject));
  return g_strdup (got + strlen (subject) + 1);
}

void
vt_fleet_reload (VtFleet *f)
{
  g_autoptr (GError) error = NULL;
  gsize mark = vt_broker_log_mark (f->broker);

  vt_fleet_write_config (f);
  g_assert_true (vigil_fleet_broker_reload (vt_broker_pid (f->broker), &error));
  vt_broker_wait_log (f->broker, mark, "Reloaded server configuration");
}
