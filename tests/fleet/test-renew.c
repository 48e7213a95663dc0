/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device certificate renewal with real processes: an agent whose
 * certificate ends within --renew-days asks the console over the broker,
 * gets a certificate for the same identity (same enrollment URI, so the
 * same broker user, no reload) and a new key, puts them in place, and
 * connects with them when started again; once per process. A renewal a
 * crash interrupted (new key in place, old certificate) is completed at the
 * next start, and a new key whose certificate never came is dropped.
 */
#include "vt-lab.h"
#include "fleet-pki.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

/* The certificate's identity URI, from its subject alternative names. */
static char *
identity_uri (const char *crt_path)
{
  g_autofree char *pem = NULL;
  BIO *bio;
  X509 *cert;
  GENERAL_NAMES *sans;
  char *uri = NULL;

  g_assert_true (g_file_get_contents (crt_path, &pem, NULL, NULL));
  bio = BIO_new_mem_buf (pem, -1);
  cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  g_assert_nonnull (cert);
  sans = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, NULL);
  for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num (sans); i++)
    {
      const GENERAL_NAME *san = sk_GENERAL_NAME_value (sans, i);
      if (san->type == GEN_URI)
        uri = g_strdup ((const char *) ASN1_STRING_get0_data (san->d.uniformResourceIdentifier));
    }
  GENERAL_NAMES_free (sans);
  X509_free (cert);
  BIO_free (bio);
  g_assert_nonnull (uri);
  return uri;
}

static VtProc *
agent_with (const char *state, const char *root, const char *renew_days)
{
  const char *argv[] = { "agent", "--state-dir", state, "--root", root,
                         "--renew-days", renew_days, NULL };
  return vt_proc_start ("agent", NULL, argv);
}

static void
test_renew (VtLab *lab, gconstpointer data)
{
  g_autofree char *agent_dir = vt_lab_enroll (lab, "dev-r", NULL);
  g_autofree char *root = vt_lab_device_root (lab, "dev-r");
  g_autofree char *crt = g_build_filename (agent_dir, "agent", "device.crt", NULL);
  g_autofree char *key = g_build_filename (agent_dir, "agent", "device.key", NULL);
  g_autofree char *crt_new = g_strconcat (crt, ".new", NULL);
  g_autofree char *key_new = g_strconcat (key, ".new", NULL);
  g_autofree char *ca = g_build_filename (agent_dir, "agent", "ca.crt", NULL);
  g_autofree char *old_crt = NULL, *old_key = NULL, *new_crt = NULL, *new_key = NULL;
  g_autofree char *old_uri = identity_uri (crt), *log = NULL;
  g_autoptr (GError) error = NULL;
  gsize ms = vt_proc_mark (lab->serve);
  VtProc *agent;

  g_assert_true (g_file_get_contents (crt, &old_crt, NULL, NULL));
  g_assert_true (g_file_get_contents (key, &old_key, NULL, NULL));

  /* 3650 days: more than any certificate of ours has, so it renews now. */
  agent = agent_with (agent_dir, root, "3650");
  ms = vt_proc_wait (lab->serve, ms, "certificate of device 'dev-r' renewed");
  vt_proc_wait (agent, 0, "device certificate renewed");
  g_assert_true (g_file_get_contents (crt, &new_crt, NULL, NULL));
  g_assert_true (g_file_get_contents (key, &new_key, NULL, NULL));
  g_assert_cmpstr (new_crt, !=, old_crt);
  g_assert_cmpstr (new_key, !=, old_key);
  g_assert_false (g_file_test (crt_new, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (key_new, G_FILE_TEST_EXISTS));
  {
    g_autofree char *uri = identity_uri (crt);
    g_assert_cmpstr (uri, ==, old_uri);
  }
  g_assert_true (vigil_fleet_pki_check (ca, crt, key, VIGIL_FLEET_CERT_CLIENT, "dev-r", &error));
  g_assert_no_error (error);
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);

  /* Started again, it connects with the new pair (no broker reload). */
  agent = agent_with (agent_dir, root, "30");
  ms = vt_proc_wait (lab->serve, ms, "device 'dev-r' is online");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
  log = vt_proc_log (lab->serve);
  g_assert_null (strstr (strstr (log, "certificate of device 'dev-r' renewed") + 1,
                         "certificate of device 'dev-r' renewed"));

  /* A crash between the renames: the new key in place, the certificate
   * still waiting beside it. The next start completes it. */
  g_assert_true (g_file_set_contents (crt_new, new_crt, -1, NULL));
  g_assert_true (g_file_set_contents (crt, old_crt, -1, NULL));
  agent = agent_with (agent_dir, root, "30");
  vt_proc_wait (agent, 0, "an interrupted certificate renewal was completed");
  ms = vt_proc_wait (lab->serve, ms, "device 'dev-r' is online");
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
  g_clear_pointer (&new_crt, g_free);
  g_assert_true (g_file_get_contents (crt, &new_crt, NULL, NULL));
  g_assert_false (g_file_test (crt_new, G_FILE_TEST_EXISTS));

  /* A new key whose certificate never came is dropped; the old pair stays. */
  g_assert_true (g_file_set_contents (key_new, "half-made", -1, NULL));
  agent = agent_with (agent_dir, root, "30");
  vt_proc_wait (lab->serve, ms, "device 'dev-r' is online");
  g_assert_false (g_file_test (key_new, G_FILE_TEST_EXISTS));
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/renew/agent-renews", VtLab, NULL, vt_lab_setup, test_renew,
              vt_lab_teardown);
  return g_test_run ();
}
