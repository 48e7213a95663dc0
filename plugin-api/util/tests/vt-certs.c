/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test certificates (vt-certs.h): EC P-256 keys, quick to make, from the
 * openssl command so that the files are what an admin would produce.
 */
#include "vt-certs.h"

#include <string.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void
run_openssl (const char *dir, const char *args)
{
  g_autofree char *cmd = g_strdup_printf ("openssl %s", args);
  g_auto (GStrv) argv = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_shell_parse_argv (cmd, NULL, &argv, NULL));
  if (!g_spawn_sync (dir, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    g_error ("openssl %s failed: %s", args, error ? error->message : err);
}

static void
make_signed (const char *dir, const char *name, const char *cn, const char *ext)
{
  g_autofree char *a = g_strdup_printf (
      "req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout %s.key -out %s.csr -subj /CN=%s", name, name, cn);
  g_autofree char *b = g_strdup_printf (
      "x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "-out %s.pem -extfile %s.ext", name, name, name);
  g_autofree char *extfile = g_strdup_printf ("%s/%s.ext", dir, name);

  g_assert_true (g_file_set_contents (extfile, ext, -1, NULL));
  run_openssl (dir, a);
  run_openssl (dir, b);
}

/* An archive OpenSSL cannot read whatever the password: the key bag's
 * cipher OID (aes-256-cbc, 2.16.840.1.101.3.4.1.42) is changed to an
 * unassigned one (….1.127); without a MAC nothing notices the change. */
static void
make_unsupported_pfx (const char *dir)
{
  static const guint8 aes256cbc[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                      0x03, 0x04, 0x01, 0x2a };
  g_autofree char *path = g_build_filename (dir, "client-unsupported.pfx", NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean patched = FALSE;

  run_openssl (dir, "pkcs12 -export -in client.pem -inkey client.key -nomac "
                    "-keypbe AES-256-CBC -certpbe NONE "
                    "-out client-unsupported.pfx -passout pass:s3cret");
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  for (gsize i = 0; i + sizeof aes256cbc <= len && !patched; i++)
    if (memcmp (data + i, aes256cbc, sizeof aes256cbc) == 0)
      {
        data[i + sizeof aes256cbc - 1] = 0x7f;
        patched = TRUE;
      }
  g_assert_true (patched);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

VtCerts *
vt_certs_new (void)
{
  VtCerts *c = g_new0 (VtCerts, 1);
  const char *server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\n";

  c->dir = g_dir_make_tmp ("vt-certs-XXXXXX", NULL);
  g_assert_nonnull (c->dir);
  run_openssl (c->dir, "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                       "-nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=Test-CA");
  make_signed (c->dir, "server", "kata-central-node", server_ext);
  make_signed (c->dir, "other", "impostor", server_ext);
  make_signed (c->dir, "client", "device-a", "extendedKeyUsage=clientAuth\n");
  run_openssl (c->dir, "pkcs12 -export -in client.pem -inkey client.key "
                       "-out client.pfx -passout pass:s3cret");
  run_openssl (c->dir, "pkcs12 -export -legacy -in client.pem -inkey client.key "
                       "-out client-legacy.pfx -passout pass:s3cret");
  make_unsupported_pfx (c->dir);
#define P(f, n) c->f = g_build_filename (c->dir, n, NULL)
  P (ca_pem, "ca.pem");
  P (server_pem, "server.pem");
  P (server_key, "server.key");
  P (other_pem, "other.pem");
  P (other_key, "other.key");
  P (client_pem, "client.pem");
  P (client_key, "client.key");
  P (client_pfx, "client.pfx");
  P (client_pfx_legacy, "client-legacy.pfx");
  P (client_pfx_unsupported, "client-unsupported.pfx");
#undef P
  return c;
}

static void
rm_rf (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

void
vt_certs_free (VtCerts *c)
{
  if (c == NULL)
    return;
  rm_rf (c->dir);
  g_free (c->dir);
  g_free (c->ca_pem);
  g_free (c->server_pem);
  g_free (c->server_key);
  g_free (c->other_pem);
  g_free (c->other_key);
  g_free (c->client_pem);
  g_free (c->client_key);
  g_free (c->client_pfx);
  g_free (c->client_pfx_legacy);
  g_free (c->client_pfx_unsupported);
  g_free (c);
}

char *
vt_read_text (const char *path)
{
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

char *
vt_read_b64 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_base64_encode ((const guchar *) data, len);
}

char *
vt_pin_of (const char *path)
{
  FILE *f = fopen (path, "r");
  X509 *x = f ? PEM_read_X509 (f, NULL, NULL, NULL) : NULL;
  guint8 md[32];
  unsigned int md_len = 0;
  unsigned char *der = NULL;
  int der_len;
  g_autofree char *b64 = NULL;

  g_assert_nonnull (x);
  fclose (f);
  der_len = i2d_X509_PUBKEY (X509_get_X509_PUBKEY (x), &der);
  g_assert_cmpint (der_len, >, 0);
  g_assert_true (EVP_Digest (der, (size_t) der_len, md, &md_len, EVP_sha256 (), NULL));
  OPENSSL_free (der);
  X509_free (x);
  b64 = g_base64_encode (md, md_len);
  return g_strconcat ("sha256//", b64, NULL);
}
