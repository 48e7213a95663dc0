/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrollment without a broker: the enrollment file written and read back,
 * files that are damaged or forged refused with the member named, and
 * the console's answer to right, wrong, expired and malformed requests.
 * (The exchange over a real broker is in test-identity.c.)
 */
#include "fleet-common.h"
#include "fleet-enroll.h"
#include "vt-cli.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define NOW ((gint64) 1800000000)

typedef struct {
  char                        *dir;
  VigilFleetCa                *ca;
  VigilFleetEnrollmentFile    *file;
  VigilFleetPendingEnrollment  pending;
  char                        *path;
} Fixture;

static void
setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *crt = NULL, *key = NULL;

  fx->dir = g_dir_make_tmp ("vigil-fleet-enroll-XXXXXX", NULL);
  crt = g_build_filename (fx->dir, "ca.crt", NULL);
  key = g_build_filename (fx->dir, "ca.key", NULL);
  fx->ca = vigil_fleet_ca_create ("test", crt, key, &error);
  g_assert_no_error (error);
  fx->file = vigil_fleet_enrollment_start (fx->ca, "dev-e", "tls://broker.example:4222",
                                           24, NOW, &fx->pending, &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "dev-e.enroll", NULL);
}

static void
teardown (Fixture *fx, gconstpointer data)
{
  vt_rm_rf (fx->dir);
  g_free (fx->dir);
  g_free (fx->path);
  vigil_fleet_enrollment_file_free (fx->file);
  vigil_fleet_pending_enrollment_clear (&fx->pending);
  vigil_fleet_ca_free (fx->ca);
}

static char *
key_path (Fixture *fx)
{
  return g_build_filename (fx->dir, "dev-e.key", NULL);
}

/* ---- the file ------------------------------------------------------- */

static void
test_file_round_trip (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilFleetEnrollmentFile) back = NULL;
  GStatBuf st;

  g_assert_true (vigil_fleet_enrollment_file_write (fx->file, fx->path, &error));
  g_assert_cmpint (g_stat (fx->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  back = vigil_fleet_enrollment_file_read (fx->path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->device_id, ==, "dev-e");
  g_assert_cmpstr (back->enrollment, ==, fx->pending.enrollment);
  g_assert_cmpstr (back->token, ==, fx->file->token);
  g_assert_cmpstr (back->broker_url, ==, "tls://broker.example:4222");
  g_assert_cmpstr (back->cert_pem, ==, fx->file->cert_pem);
  g_assert_cmpstr (back->key_pem, ==, fx->file->key_pem);
  g_assert_cmpint (back->expires, ==, NOW + 24 * 3600);
  /* The console keeps the token's hash, never the token. */
  g_assert_cmpstr (fx->pending.token_sha256, !=, fx->file->token);
  g_assert_cmpuint (strlen (fx->pending.token_sha256), ==, 64);
}

/* Writes @fx's file with @member replaced by @json (NULL: removed). */
static void
write_with (Fixture *fx, const char *member, const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;
  JsonObject *o;

  g_assert_true (vigil_fleet_enrollment_file_write (fx->file, fx->path, NULL));
  g_assert_true (json_parser_load_from_file (parser, fx->path, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  json_object_remove_member (o, member);
  if (json != NULL)
    json_object_set_member (o, member, json_from_string (json, NULL));
  json_generator_set_root (gen, json_parser_get_root (parser));
  text = json_generator_to_data (gen, NULL);
  g_assert_true (g_file_set_contents (fx->path, text, -1, NULL));
}

static void
assert_read_refused (Fixture *fx, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilFleetEnrollmentFile) back =
    vigil_fleet_enrollment_file_read (fx->path, &error);

  g_assert_null (back);
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  if (!strstr (error->message, needle))
    g_error ("\"%s\" does not say \"%s\"", error->message, needle);
  g_assert_nonnull (strstr (error->message, fx->path));
}

static void
test_file_damage_refused (Fixture *fx, gconstpointer data)
{
  const struct { const char *member, *json, *needle; } cases[] = {
    { "token", NULL, "\"token\" missing" },
    { "token", "42", "\"token\" missing or not a string" },
    { "token", "\"ABCDEF\"", "\"token\" must be 64 lower-case hex" },
    { "enrollment", "\"../../etc\"", "\"enrollment\" must be 32" },
    { "device", "\"dev.b\"", "member \"device\"" },
    { "vigil-enrollment", "2", "version 2" },
    { "key", "\"-----BEGIN CERTIFICATE-----\"", "\"key\" is not a PEM PRIVATE KEY" },
    { "expires", "\"tomorrow\"", "\"expires\" missing or not an integer" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    write_with (fx, cases[i].member, cases[i].json);
    assert_read_refused (fx, cases[i].needle);
  }
}

static void
test_file_not_json_or_huge_refused (Fixture *fx, gconstpointer data)
{
  g_autofree char *huge = g_strnfill (100 * 1024, ' ');

  g_assert_true (g_file_set_contents (fx->path, "[1, 2", -1, NULL));
  assert_read_refused (fx, "not JSON");
  g_assert_true (g_file_set_contents (fx->path, "[1, 2]", -1, NULL));
  assert_read_refused (fx, "not a JSON object");
  g_assert_true (g_file_set_contents (fx->path, huge, -1, NULL));
  assert_read_refused (fx, "more than");
}

/* ---- the answer ------------------------------------------------------ */

static char *
answer (Fixture *fx, const char *request, gint64 now, GError **error)
{
  return vigil_fleet_enroll_answer (fx->ca, &fx->pending, request,
                                    strlen (request), now, error);
}

static void
test_answer_signs_right_token (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = key_path (fx);
  g_autofree char *request = vigil_fleet_enroll_request_new (fx->file, key, &error);
  g_autofree char *cert = NULL, *reply = NULL, *back = NULL;

  g_assert_no_error (error);
  g_assert_null (strstr (request, "PRIVATE KEY"));
  cert = answer (fx, request, NOW + 60, &error);
  g_assert_no_error (error);
  reply = vigil_fleet_enroll_reply_new (cert, NULL);
  back = vigil_fleet_enroll_reply_read (reply, strlen (reply), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, cert);
}

static void
test_answer_refuses_wrong_token_and_expired (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key = key_path (fx);
  g_autofree char *request = vigil_fleet_enroll_request_new (fx->file, key, NULL);
  g_autofree char *cert = NULL;

  cert = answer (fx, request, fx->pending.expires + 1, &error);
  g_assert_null (cert);
  g_assert_nonnull (strstr (error->message, "expired"));
  g_clear_error (&error);
  g_free (fx->file->token);
  fx->file->token = g_strnfill (64, 'a');
  g_free (request);
  request = vigil_fleet_enroll_request_new (fx->file, key, NULL);
  cert = answer (fx, request, NOW, &error);
  g_assert_null (cert);
  g_assert_nonnull (strstr (error->message, "wrong token"));
}

static void
test_answer_refuses_malformed (Fixture *fx, gconstpointer data)
{
  const char *requests[] = {
    "", "null", "{}", "{\"token\": 1, \"csr\": \"x\"}",
    "{\"token\": \"t\"}", NULL,
  };

  for (gsize i = 0; requests[i]; i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *cert = answer (fx, requests[i], NOW, &error);
    g_assert_null (cert);
    g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
  }
}

static void
test_reply_refusal_read_as_error (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reply = vigil_fleet_enroll_reply_new (NULL, "wrong token");
  g_autofree char *cert = vigil_fleet_enroll_reply_read (reply, strlen (reply), &error);

  g_assert_null (cert);
  g_assert_nonnull (strstr (error->message, "refused the enrollment: wrong token"));
  g_clear_error (&error);
  g_assert_null (vigil_fleet_enroll_reply_read ("{\"certificate\": \"x\"}", 20, &error));
  g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
}

/* A reply json-glib would misread (issue #14): of two "certificate"
 * members the last would silently win, "\u0000" would cut a reason short.
 * Refused, with where. */
static void
test_reply_strict_json (void)
{
  static const char *const replies[][2] = {
    { "{\"certificate\":\"x\",\"certificate\":\"y\"}", "duplicate key \"certificate\" (at $)" },
    { "{\"refused\":\"no\\u0000pe\"}", "\\u0000 (NUL) in a string (at $.refused)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *cert = vigil_fleet_enroll_reply_read (replies[i][0], strlen (replies[i][0]), &error);

      g_assert_null (cert);
      g_assert_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, replies[i][1]));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fleet/enroll/reply-refusal-read-as-error",
                   test_reply_refusal_read_as_error);
  g_test_add_func ("/fleet/enroll/reply-strict-json", test_reply_strict_json);
#define ADD(name, fn) \
  g_test_add ("/fleet/enroll/" name, Fixture, NULL, setup, fn, teardown)
  ADD ("file-round-trip", test_file_round_trip);
  ADD ("file-damage-refused", test_file_damage_refused);
  ADD ("file-not-json-or-huge-refused", test_file_not_json_or_huge_refused);
  ADD ("answer-signs-right-token", test_answer_signs_right_token);
  ADD ("answer-refuses-wrong-token-and-expired", test_answer_refuses_wrong_token_and_expired);
  ADD ("answer-refuses-malformed", test_answer_refuses_malformed);
#undef ADD
  return g_test_run ();
}
