/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The console's side of evidence over the fleet, through the public API
 * only (vigil_host_evidence_receive): a file sent in parts appears in the
 * store only once every part is there and the whole matches its SHA-256;
 * a console restarted between two parts (the host freed and opened again)
 * keeps the parts it acknowledged; a part delivered twice is kept once; a
 * file whose parts do not add up to its hash is never listed and its
 * parts are dropped; a malformed part is refused naming the member; a
 * device without an enrolled agent is refused; another device cannot
 * complete or claim a device's evidence.
 */
#include "vt-cli.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include "vigil-host.h"

#define EV_ID  "0f4e2a55-9b1c-4d7e-8a51-3c2d2f0e6a77"
#define PART   (512 * 1024)

typedef struct {
  char      *dir;
  VigilHost *host;
  GBytes    *content;
  char      *sha256;
  char      *md5;
} Fx;

static void
open_host (Fx *f)
{
  g_autoptr (GError) error = NULL;
  VigilHostOptions options = { sizeof options };

  options.state_dir = f->dir;
  f->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
}

static void
enroll (Fx *f, const char *device)
{
  g_autoptr (GError) error = NULL;
  const char *enrollment = "0123456789abcdef0123456789abcdef";
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "t", -1);

  g_assert_true (vigil_host_add_device (f->host, device, NULL, "lab", NULL, &error));
  g_assert_true (vigil_host_begin_device_enrollment (f->host, device, enrollment, hash,
                                                     G_MAXINT32, &error));
  g_assert_true (vigil_host_complete_device_enrollment (f->host, device, enrollment, &error));
  g_assert_no_error (error);
}

static void
setup (Fx *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (2);
  gsize len = 2 * PART + 1000;   /* three parts */
  guint8 *bytes = g_malloc (len);

  f->dir = g_dir_make_tmp ("vigil-evidence-XXXXXX", &error);
  g_assert_no_error (error);
  open_host (f);
  g_assert_true (vigil_host_add_group (f->host, "lab", NULL, NULL, &error));
  enroll (f, "dev-1");
  enroll (f, "dev-2");
  for (gsize i = 0; i < len; i++)
    bytes[i] = (guint8) g_rand_int (rand);
  f->content = g_bytes_new_take (bytes, len);
  f->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, f->content);
  f->md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, f->content);
}

static void
teardown (Fx *f, gconstpointer data)
{
  vigil_host_free (f->host);
  g_bytes_unref (f->content);
  vt_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->sha256);
  g_free (f->md5);
}

/* Part @i of the test's file as an agent sends it, with @sha256. */
static JsonObject *
part (Fx *f, guint i, const char *sha256)
{
  gsize len = g_bytes_get_size (f->content), off = (gsize) i * PART;
  const guint8 *data = g_bytes_get_data (f->content, NULL);
  g_autofree char *b64 = g_base64_encode (data + off, MIN (PART, len - off));
  JsonObject *o = json_object_new (), *meta = json_object_new ();

  json_object_set_string_member (o, "evidence", EV_ID);
  json_object_set_int_member (o, "part", i);
  json_object_set_int_member (o, "parts", 3);
  json_object_set_string_member (o, "data", b64);
  json_object_set_string_member (meta, "path", "/var/log/app.log");
  json_object_set_int_member (meta, "size", (gint64) len);
  json_object_set_string_member (meta, "sha256", sha256);
  json_object_set_string_member (meta, "md5", f->md5);
  json_object_set_string_member (meta, "task", "t1");
  json_object_set_object_member (o, "meta", meta);
  return o;
}

static gboolean
receive (Fx *f, const char *device, guint i, const char *sha256, JsonObject **stored,
         GError **error)
{
  g_autoptr (JsonObject) o = part (f, i, sha256);

  return vigil_host_evidence_receive (f->host, device, o, stored, error);
}

static guint
listed (Fx *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = vigil_host_evidence_list (f->host, &error);

  g_assert_no_error (error);
  return json_array_get_length (list);
}

static gboolean
append (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  g_byte_array_append (user_data, data, (guint) len);
  return TRUE;
}

static void
test_parts_across_a_restart (Fx *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) stored = NULL, shown = NULL;
  g_autoptr (GByteArray) back = g_byte_array_new ();

  g_assert_true (receive (f, "dev-1", 2, f->sha256, &stored, &error));
  g_assert_null (stored);
  g_assert_true (receive (f, "dev-1", 0, f->sha256, &stored, &error));
  /* Delivered again: kept once. */
  g_assert_true (receive (f, "dev-1", 0, f->sha256, &stored, &error));
  g_assert_no_error (error);
  g_assert_null (stored);
  g_assert_cmpuint (listed (f), ==, 0);
  /* The console stops and starts again. */
  vigil_host_free (f->host);
  open_host (f);
  g_assert_cmpuint (listed (f), ==, 0);
  g_assert_true (receive (f, "dev-1", 1, f->sha256, &stored, &error));
  g_assert_no_error (error);
  g_assert_nonnull (stored);
  g_assert_cmpstr (json_object_get_string_member (stored, "sha256"), ==, f->sha256);
  g_assert_cmpuint (listed (f), ==, 1);
  shown = vigil_host_evidence_get (f->host, EV_ID, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (shown, "device"), ==, "dev-1");
  g_assert_cmpstr (json_object_get_string_member (shown, "path"), ==, "/var/log/app.log");
  g_assert_cmpstr (json_object_get_string_member (shown, "md5"), ==, f->md5);
  g_assert_true (vigil_host_evidence_read (f->host, EV_ID, append, back, &error));
  g_assert_cmpmem (back->data, back->len, g_bytes_get_data (f->content, NULL),
                   g_bytes_get_size (f->content));
  /* A part again after the whole is stored: nothing changes. */
  g_clear_pointer (&stored, json_object_unref);
  g_assert_true (receive (f, "dev-1", 1, f->sha256, &stored, &error));
  g_assert_null (stored);
  g_assert_cmpuint (listed (f), ==, 1);
  /* Another device cannot claim the id. */
  g_assert_false (receive (f, "dev-2", 1, f->sha256, &stored, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
}

static void
test_hash_mismatch_never_listed (Fx *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) stored = NULL;
  g_autofree char *wrong = g_strnfill (64, 'a');
  g_autofree char *incoming = g_build_filename (f->dir, "evidence", "incoming", EV_ID, NULL);

  g_assert_true (receive (f, "dev-1", 0, wrong, &stored, &error));
  g_assert_true (receive (f, "dev-1", 1, wrong, &stored, &error));
  g_assert_true (g_file_test (incoming, G_FILE_TEST_IS_DIR));
  g_assert_false (receive (f, "dev-1", 2, wrong, &stored, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not stored"));
  g_assert_null (stored);
  g_assert_cmpuint (listed (f), ==, 0);
  g_assert_false (g_file_test (incoming, G_FILE_TEST_EXISTS));
}

static void
test_parts_of_two_devices (Fx *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) stored = NULL;

  g_assert_true (receive (f, "dev-1", 0, f->sha256, &stored, &error));
  g_assert_true (receive (f, "dev-2", 1, f->sha256, &stored, &error));
  g_assert_false (receive (f, "dev-1", 2, f->sha256, &stored, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_cmpuint (listed (f), ==, 0);
}

static void
test_malformed_refused (Fx *f, gconstpointer data)
{
  static const struct { const char *member; const char *json; } bad[] = {
    { "evidence", "\"../x\"" }, { "part", "3" }, { "parts", "0" }, { "data", "7" },
    { "meta", "\"x\"" }, { "extra", "1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) o = part (f, 0, f->sha256);
      g_autoptr (JsonNode) v = json_from_string (bad[i].json, NULL);

      json_object_set_member (o, bad[i].member, g_steal_pointer (&v));
      g_assert_false (vigil_host_evidence_receive (f->host, "dev-1", o, NULL, &error));
      g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, bad[i].member));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) o = part (f, 0, f->sha256);

    json_object_set_string_member (json_object_get_object_member (o, "meta"), "sha256", "zz");
    g_assert_false (vigil_host_evidence_receive (f->host, "dev-1", o, NULL, &error));
    g_assert_nonnull (strstr (error->message, "meta.sha256"));
  }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) o = part (f, 0, f->sha256);

    g_assert_false (vigil_host_evidence_receive (f->host, "no-agent", o, NULL, &error));
    g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  }
  g_assert_cmpuint (listed (f), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/fleet/evidence/receive/parts-across-a-restart", Fx, NULL, setup,
              test_parts_across_a_restart, teardown);
  g_test_add ("/fleet/evidence/receive/hash-mismatch-never-listed", Fx, NULL, setup,
              test_hash_mismatch_never_listed, teardown);
  g_test_add ("/fleet/evidence/receive/parts-of-two-devices", Fx, NULL, setup,
              test_parts_of_two_devices, teardown);
  g_test_add ("/fleet/evidence/receive/malformed-refused", Fx, NULL, setup,
              test_malformed_refused, teardown);
  return g_test_run ();
}
