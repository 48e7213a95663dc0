/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrolling thousands of simulated devices quickly and honestly, for
 * bench/fleet. The console's state folder already has a fleet (`vigil
 * fleet init`). Instead of one `vigil device enroll` and one `vigil agent
 * enroll` process per device (each rewriting the broker's configuration
 * and reloading it: quadratic in the number of devices), this does what
 * those commands do, through the same public API and fleet library, once
 * per device, and leaves the broker's configuration to be written once
 * by `vigil fleet broker start`:
 *   - the device joins the inventory (vigil_host_add_device), in group
 *     `bench`;
 *   - an enrollment starts and completes in the console's store
 *     (vigil_host_begin/complete_device_enrollment), with a new
 *     enrollment id; the one-time token and its bootstrap certificate
 *     are skipped: they only carry the CSR to the console over the broker;
 *   - the device makes its own key and CSR (vigil_fleet_device_request_new)
 *     and the deployment CA signs it (vigil_fleet_ca_sign_device): the
 *     same certificate, identity URI and broker user as a real enrollment;
 *   - one heartbeat is recorded (vigil_host_record_device_heartbeat).
 *     `vigil serve` rewrites and reloads the broker's configuration at a
 *     device's first heartbeat, to drop its bootstrap identity; these
 *     devices never had one, and 10,000 reloads of a 10,000-user
 *     configuration would measure the enrollment, not the fleet at work.
 * The keys and CSRs are made on several threads (OpenSSL is thread-safe);
 * the store is written on the calling thread, the host's main thread.
 */
#include "bench-fleet.h"

#include "fleet-pki.h"

#include <vigil-host.h>

#include <string.h>

typedef struct {
  const char   *dir;
  SimDevice    *devices;
  char        **enrollments;
  char        **certs;
  guint         n;
  guint         next;      /* atomic */
  VigilFleetCa *ca;
  GMutex        lock;      /* the CA's signing, and the first error */
  GError       *error;
} Job;

static gpointer
crypto_thread (gpointer data)
{
  Job *job = data;

  for (;;)
    {
      guint i = (guint) g_atomic_int_add (&job->next, 1);
      g_autoptr (GError) error = NULL;
      g_autofree char *csr = NULL;
      SimDevice *d;

      if (i >= job->n)
        break;
      d = &job->devices[i];
      csr = vigil_fleet_device_request_new (d->id, d->key_path, &error);
      g_mutex_lock (&job->lock);
      if (csr != NULL)
        job->certs[i] = vigil_fleet_ca_sign_device (job->ca, d->id, job->enrollments[i], csr, -1,
                                                    &error);
      if ((csr == NULL || job->certs[i] == NULL) && job->error == NULL)
        job->error = g_steal_pointer (&error);
      g_mutex_unlock (&job->lock);
      if (job->certs[i] != NULL
          && !g_file_set_contents_full (d->crt_path, job->certs[i], -1,
                                        G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
        {
          g_mutex_lock (&job->lock);
          if (job->error == NULL)
            job->error = g_steal_pointer (&error);
          g_mutex_unlock (&job->lock);
        }
    }
  return NULL;
}

static JsonObject *
heartbeat_new (void)
{
  JsonObject *hb = json_object_new ();
  JsonArray *plugins = json_array_new ();
  JsonObject *p = json_object_new ();

  json_object_set_string_member (hb, "agent_version", "0.1.0");
  json_object_set_int_member (hb, "interval", 10);
  json_object_set_string_member (hb, "status", "online");
  json_object_set_string_member (p, "name", "notify");
  json_object_set_string_member (p, "version", "0.1.0");
  json_array_add_object_element (plugins, p);
  json_object_set_array_member (hb, "plugins", plugins);
  return hb;
}

SimDevice *
bench_enroll (const char *state_dir, const char *devices_dir, guint n, guint threads,
              GError **error)
{
  VigilHostOptions options = { .struct_size = sizeof options, .state_dir = state_dir };
  g_autofree char *ca_crt = g_build_filename (state_dir, "fleet", "ca.crt", NULL);
  g_autofree char *ca_key = g_build_filename (state_dir, "fleet", "ca.key", NULL);
  g_autoptr (VigilHost) host = NULL;
  g_autoptr (JsonObject) heartbeat = heartbeat_new ();
  g_autoptr (GPtrArray) workers = g_ptr_array_new ();
  Job job = { .dir = devices_dir, .n = n };
  SimDevice *devices = NULL;
  gboolean ok = FALSE;

  host = vigil_host_new (&options, error);
  if (host == NULL || (job.ca = vigil_fleet_ca_load (ca_crt, ca_key, error)) == NULL
      || !vigil_host_add_group (host, BENCH_GROUP, "Simulated agents", NULL, error)
      || g_mkdir_with_parents (devices_dir, 0700) != 0)
    goto out;
  devices = g_new0 (SimDevice, n);
  job.devices = devices;
  job.enrollments = g_new0 (char *, n + 1);   /* NULL-terminated */
  job.certs = g_new0 (char *, n);
  g_mutex_init (&job.lock);
  for (guint i = 0; i < n; i++)
    {
      devices[i].id = g_strdup_printf ("sim-%05u", i + 1);
      devices[i].crt_path = g_strdup_printf ("%s/%s.crt", devices_dir, devices[i].id);
      devices[i].key_path = g_strdup_printf ("%s/%s.key", devices_dir, devices[i].id);
      job.enrollments[i] = vigil_fleet_enrollment_new ();
    }
  for (guint t = 0; t < MAX (threads, 1); t++)
    g_ptr_array_add (workers, g_thread_new ("enroll", crypto_thread, &job));
  /* Meanwhile, the store: the inventory and the enrollment records. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *token = g_strdup_printf ("%s-token", job.enrollments[i]);
      g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);

      if (!vigil_host_add_device (host, devices[i].id, NULL, BENCH_GROUP, NULL, error)
          || !vigil_host_begin_device_enrollment (host, devices[i].id, job.enrollments[i], hash,
                                                  g_get_real_time () / G_USEC_PER_SEC + 3600,
                                                  error)
          || !vigil_host_complete_device_enrollment (host, devices[i].id, job.enrollments[i],
                                                     error)
          || !vigil_host_record_device_heartbeat (host, devices[i].id, heartbeat, error))
        break;
    }
  for (guint t = 0; t < workers->len; t++)
    g_thread_join (workers->pdata[t]);
  if (error != NULL && *error != NULL)
    goto out;
  if (job.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job.error));
      goto out;
    }
  ok = TRUE;

out:
  if (job.enrollments != NULL)
    g_strfreev (job.enrollments);
  for (guint i = 0; job.certs != NULL && i < n; i++)
    g_free (job.certs[i]);
  g_free (job.certs);
  g_clear_error (&job.error);
  if (job.devices != NULL)
    g_mutex_clear (&job.lock);
  g_clear_pointer (&job.ca, vigil_fleet_ca_free);
  if (!ok && devices != NULL)
    {
      bench_devices_free (devices, n);
      devices = NULL;
    }
  return devices;
}

void
bench_devices_free (SimDevice *devices, guint n)
{
  for (guint i = 0; devices != NULL && i < n; i++)
    {
      g_free (devices[i].id);
      g_free (devices[i].crt_path);
      g_free (devices[i].key_path);
    }
  g_free (devices);
}
