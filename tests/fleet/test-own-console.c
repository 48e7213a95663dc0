/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil fleet init` with the admin's own console certificate
 * (--console-cert/--console-key, beside --ca-cert/--ca-key), all made with
 * the openssl tool as an admin's PKI would: used, the broker knows the
 * console by it (`vigil serve` connects, answers an enrollment, sees the
 * agent online); and checked like the admin's broker certificate, each
 * refusal naming the file and what is wrong, with no fleet configured.
 */
#include "vt-lab.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
  char *ca_crt, *ca_key;
} Pki;

static void
openssl (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("openssl %s failed: %s", argv[1], err);
}

/* An RSA CA of the admin's, another one, unrelated. */
static void
make_ca (const char *dir, const char *name, char **crt, char **key)
{
  *crt = g_strdup_printf ("%s/%s.crt", dir, name);
  *key = g_strdup_printf ("%s/%s.key", dir, name);
  openssl ((const char *[]) { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                              "-keyout", *key, "-out", *crt, "-days", "30",
                              "-subj", "/O=Example/CN=Example Fleet CA",
                              "-addext", "basicConstraints=critical,CA:TRUE",
                              "-addext", "keyUsage=critical,keyCertSign,cRLSign", NULL });
}

/* A leaf for @subj with @eku (and @san, or NULL) signed by @ca; its
 * files are NAME.crt and NAME.key, the key 0600. */
static void
make_leaf (const char *dir, const char *name, const char *subj, const char *eku,
           const char *san, const char *ca_crt, const char *ca_key, char **crt, char **key)
{
  g_autofree char *csr = g_strdup_printf ("%s/%s.csr", dir, name);
  g_autofree char *ext = g_strdup_printf ("%s/%s.ext", dir, name);
  g_autofree char *text = g_strdup_printf ("basicConstraints=critical,CA:FALSE\n"
                                           "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                           "extendedKeyUsage=%s\n%s%s\n", eku,
                                           san ? "subjectAltName=" : "", san ? san : "");

  *crt = g_strdup_printf ("%s/%s.crt", dir, name);
  *key = g_strdup_printf ("%s/%s.key", dir, name);
  g_assert_true (g_file_set_contents (ext, text, -1, NULL));
  openssl ((const char *[]) { "openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
                              "-keyout", *key, "-out", csr, "-subj", subj, NULL });
  openssl ((const char *[]) { "openssl", "x509", "-req", "-in", csr, "-CA", ca_crt,
                              "-CAkey", ca_key, "-CAcreateserial", "-out", *crt, "-days", "30",
                              "-extfile", ext, NULL });
  g_assert_cmpint (g_chmod (*key, 0600), ==, 0);
}

static void
init_refused (const char *dir, const char *ca_crt, const char *ca_key, const char *crt,
              const char *key, const char *why)
{
  g_autofree char *state = g_build_filename (dir, "refused", NULL);
  g_autofree char *fleet_json = g_build_filename (state, "fleet", "fleet.json", NULL);
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, state, NULL, NULL, "fleet", "init", "--port", "0", "--ca-cert", ca_crt,
              "--ca-key", ca_key, "--console-cert", crt, "--console-key", key, NULL);
  g_assert_cmpint (r.status, ==, 2);
  if (strstr (r.err, why) == NULL)
    g_error ("'%s' not in: %s", why, r.err);
  g_assert_false (g_file_test (fleet_json, G_FILE_TEST_EXISTS));
}

static void
test_own_console (void)
{
  g_autoptr (GError) error = NULL;
  VtLab lab = { 0 };
  g_autofree char *ca_crt = NULL, *ca_key = NULL, *other_crt = NULL, *other_key = NULL;
  g_autofree char *crt = NULL, *key = NULL, *bad_crt = NULL, *bad_key = NULL;
  g_autofree char *agent_dir = NULL, *root = NULL, *mine = NULL, *used = NULL;
  g_autofree char *used_path = NULL;
  g_autoptr (JsonObject) fleet = NULL, shown = NULL;
  g_auto (VtCli) r = { 0 };
  VtProc *agent;
  gsize ms;

  lab.dir = g_dir_make_tmp ("vigil-fleet-own-console-XXXXXX", &error);
  g_assert_no_error (error);
  lab.console = g_build_filename (lab.dir, "console", NULL);
  make_ca (lab.dir, "admin-ca", &ca_crt, &ca_key);
  make_ca (lab.dir, "other-ca", &other_crt, &other_key);
  make_leaf (lab.dir, "console", "/CN=vigil console", "clientAuth", NULL, ca_crt, ca_key,
             &crt, &key);

  /* Checked like the broker's: each refusal says what is wrong. */
  vt_cli_run (&r, lab.console, NULL, NULL, "fleet", "init", "--console-cert", crt,
              "--console-key", key, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--ca-cert"));
  vt_cli_run (&r, lab.console, NULL, NULL, "fleet", "init", "--ca-cert", ca_crt, "--ca-key",
              ca_key, "--console-cert", crt, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--console-key"));
  init_refused (lab.dir, other_crt, other_key, crt, key, "does not verify against");
  make_leaf (lab.dir, "named", "/CN=someone else", "clientAuth", NULL, ca_crt, ca_key,
             &bad_crt, &bad_key);
  init_refused (lab.dir, ca_crt, ca_key, bad_crt, bad_key, "is not for \"vigil console\"");
  g_clear_pointer (&bad_crt, g_free);
  g_clear_pointer (&bad_key, g_free);
  make_leaf (lab.dir, "org", "/O=Example/CN=vigil console", "clientAuth", NULL, ca_crt, ca_key,
             &bad_crt, &bad_key);
  init_refused (lab.dir, ca_crt, ca_key, bad_crt, bad_key, "exactly CN=vigil console");
  g_clear_pointer (&bad_crt, g_free);
  g_clear_pointer (&bad_key, g_free);
  make_leaf (lab.dir, "uri", "/CN=vigil console", "clientAuth",
             "URI:urn:vigil:device:dev-1:00000000000000000000000000000000", ca_crt, ca_key,
             &bad_crt, &bad_key);
  init_refused (lab.dir, ca_crt, ca_key, bad_crt, bad_key, "urn:vigil:");
  g_clear_pointer (&bad_crt, g_free);
  g_clear_pointer (&bad_key, g_free);
  make_leaf (lab.dir, "server", "/CN=vigil console", "serverAuth", NULL, ca_crt, ca_key,
             &bad_crt, &bad_key);
  init_refused (lab.dir, ca_crt, ca_key, bad_crt, bad_key, "for use as a client certificate");
  init_refused (lab.dir, ca_crt, ca_key, crt, bad_key, "is not the key of");
  g_assert_cmpint (g_chmod (key, 0644), ==, 0);
  init_refused (lab.dir, ca_crt, ca_key, crt, key, "readable by others");
  g_assert_cmpint (g_chmod (key, 0600), ==, 0);

  /* Used: the console's certificate is the admin's, and the broker knows
   * the console by it. */
  fleet = vt_lab_json (lab.console, "fleet", "init", "--port", "0", "--ca-cert", ca_crt,
                       "--ca-key", ca_key, "--console-cert", crt, "--console-key", key, NULL);
  g_assert_true (json_object_get_boolean_member (fleet, "own_ca"));
  used_path = g_build_filename (lab.console, "fleet", "console.crt", NULL);
  g_assert_true (g_file_get_contents (crt, &mine, NULL, NULL));
  g_assert_true (g_file_get_contents (used_path, &used, NULL, NULL));
  g_assert_cmpstr (mine, ==, used);
  vt_cli_ok (lab.console, "group", "add", "lab", NULL);
  lab.broker = vt_lab_broker_start (&lab);
  lab.serve = vt_lab_serve_start (&lab);
  ms = vt_proc_mark (lab.serve);
  agent_dir = vt_lab_enroll (&lab, "dev-1", NULL);
  root = vt_lab_device_root (&lab, "dev-1");
  agent = vt_lab_agent_start (agent_dir, root, NULL);
  vt_proc_wait (lab.serve, ms, "device 'dev-1' is online");
  shown = vt_lab_json (lab.console, "device", "show", "dev-1", NULL);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (shown, "agent"),
                                                 "online"));
  g_assert_cmpint (vt_proc_stop (agent), ==, 0);
  vt_lab_teardown (&lab, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fleet/own-console/init-checked-and-used", test_own_console);
  return g_test_run ();
}
