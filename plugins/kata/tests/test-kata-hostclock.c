/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kata plugin in an embedded host with the host's injectable clock:
 * the TTL period is measured on that clock (api->now), not on the wall
 * clock, and events reach a loopback TLS server through the plugin's own
 * `kata flush` command. The policy and the device are set up with the
 * `vigil` CLI on the same state folder first.
 */
#include "host-private.h"
#include "vt-cli.h"
#include "kata-test-server.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>

static gint64
fake_clock (gpointer data)
{
  return *(gint64 *) data;
}

static void
cli (const char *state, const char *a, const char *b, const char *c,
     const char *d, const char *e)
{
  const char *argv[] = { a, b, c, d, e, NULL };
  g_auto (VtCli) r = { 0 };

  vt_cli_runv (&r, state, NULL, NULL, argv);
  if (r.status != 0)
    g_error ("vigil exited with %d: %s", r.status, r.err);
}

static void
emit (VigilHost *host, const char *image, const char *sha)
{
  g_autoptr (JsonObject) p = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  json_object_set_string_member (p, "image", image);
  json_object_set_string_member (p, "sha256", sha);
  json_object_set_string_member (p, "cmdline", image);
  json_object_set_string_member (p, "user", "alice");
  json_object_set_int_member (p, "pid", 7);
  id = vigil_host_emit_event (host, "test", "process.started", "pc1", 1, p, &error);
  g_assert_no_error (error);
  vigil_host_run_until_idle (host, NULL);
}

static void
write_policy (const char *path, guint16 port, const char *pem)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autofree char *servers = g_strdup_printf ("[{\"address\":\"127.0.0.1\",\"port\":%u}]", port);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name"); json_builder_add_string_value (b, "edr");
  json_builder_set_member_name (b, "group"); json_builder_add_string_value (b, "root");
  json_builder_set_member_name (b, "status"); json_builder_add_string_value (b, "active");
  json_builder_set_member_name (b, "settings"); json_builder_begin_object (b);
  json_builder_set_member_name (b, "kata"); json_builder_begin_object (b);
  json_builder_set_member_name (b, "schema_version"); json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "connection"); json_builder_begin_object (b);
  json_builder_set_member_name (b, "locked"); json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "values"); json_builder_begin_object (b);
  json_builder_set_member_name (b, "enabled"); json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "use_ttl"); json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "ttl_min"); json_builder_add_int_value (b, 60);
  json_builder_set_member_name (b, "servers");
  json_builder_add_value (b, json_from_string (servers, NULL));
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "trusted_connection"); json_builder_begin_object (b);
  json_builder_set_member_name (b, "locked"); json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "values"); json_builder_begin_object (b);
  json_builder_set_member_name (b, "use_pinned_certificate"); json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "pinned_certificate"); json_builder_add_string_value (b, pem);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, TRUE);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static int
run_kata (VigilHost *host, const char *verb)
{
  const VhCommand *c = vh_registry_command (host, "kata");
  char **argv = g_new0 (char *, 3);
  int rc;

  g_assert_nonnull (c);
  argv[0] = g_strdup ("kata");
  argv[1] = g_strdup (verb);
  rc = c->command.run (c->plugin, 2, argv, c->command.user_data);
  g_strfreev (argv);
  return rc;
}

static void
test_ttl_on_host_clock (void)
{
  VtCerts *certs;
  KtServer *srv;
  g_autofree char *state = NULL;
  g_autofree char *policy = NULL;
  g_autofree char *pem = NULL;
  gint64 now = 1795000000LL * G_USEC_PER_SEC;
  const gint64 minute = 60 * G_USEC_PER_SEC;
  VigilHostOptions options = { sizeof options, NULL, NULL, NULL, TRUE };
  VigilHost *host;

  if (g_getenv ("VIGIL_CLI") == NULL)
    {
      g_test_skip ("VIGIL_CLI is not set");
      return;
    }
  certs = vt_certs_new ();
  srv = kt_server_start (certs->server_pem, certs->server_key, NULL, 0);
  state = g_dir_make_tmp ("kata-clock-XXXXXX", NULL);
  policy = g_build_filename (state, "policy.json", NULL);
  pem = vt_read_text (certs->server_pem);
  write_policy (policy, kt_server_port (srv), pem);
  cli (state, "device", "add", "pc1", "--group", "root");
  cli (state, "policy", "apply", policy, NULL, NULL);

  options.state_dir = state;
  host = vigil_host_new (&options, NULL);
  g_assert_nonnull (host);
  vigil_host_set_clock (host, fake_clock, &now);
  vigil_host_load_plugins (host);
  emit (host, "/usr/bin/ssh", "aa");
  now += 30 * minute;
  emit (host, "/usr/bin/ssh", "aa");     /* within 60 min: not sent */
  emit (host, "/usr/bin/ssh", "bb");     /* another hash */
  now += 31 * minute;
  emit (host, "/usr/bin/ssh", "aa");     /* the period is over */
  g_assert_cmpint (run_kata (host, "flush"), ==, 0);
  g_assert_cmpuint (kt_server_type_count (srv, "process.started"), ==, 3);
  vigil_host_free (host);
  kt_server_stop (srv);
  vt_certs_free (certs);
  vt_rm_rf (state);
}

/* OpenSSL's providers are process-wide: freeing a host (which shuts the
 * plugin down) must leave them loaded for the rest of the process — other
 * plugins, and later hosts of an embedding application, use them. */
static void
test_host_free_keeps_openssl_usable (void)
{
  g_autofree char *state = g_dir_make_tmp ("kata-free-XXXXXX", NULL);
  VigilHostOptions options = { sizeof options, state, NULL, NULL, TRUE };
  VigilHost *host = vigil_host_new (&options, NULL);
  g_autoptr (JsonArray) plugins = NULL;
  gboolean kata_loaded = FALSE;
  unsigned char buf[32];
  EVP_MD *sha256;

  g_assert_nonnull (host);
  vigil_host_load_plugins (host);
  plugins = vigil_host_plugins (host);
  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_strcmp0 (json_object_get_string_member (p, "id"), "kata") == 0)
        kata_loaded = g_strcmp0 (json_object_get_string_member (p, "state"), "loaded") == 0;
    }
  g_assert_true (kata_loaded);
  vigil_host_free (host);

  g_assert_cmpint (RAND_bytes (buf, sizeof buf), ==, 1);
  sha256 = EVP_MD_fetch (NULL, "SHA256", NULL);
  g_assert_nonnull (sha256);
  EVP_MD_free (sha256);
  vt_rm_rf (state);
}

int
main (int argc, char **argv)
{
  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kata/host/ttl-on-host-clock", test_ttl_on_host_clock);
  g_test_add_func ("/kata/host/freeing-a-host-keeps-openssl-usable",
                   test_host_free_keeps_openssl_usable);
  return g_test_run ();
}
