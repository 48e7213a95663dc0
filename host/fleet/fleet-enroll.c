/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Enrollment (see fleet-enroll.h): starting one on the console, the
 * enrollment file written and read, the agent's request, the console's
 * answer and the agent's reading of it. Every JSON document here crosses
 * a trust boundary, so each is read member by member with its form
 * checked, and the errors name what was wrong.
 */
#include "fleet-enroll.h"
#include "fleet-common.h"
#include "fleet-private.h"
#include "fleet-subjects.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <vigil/util/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define ENROLLMENT_FILE_VERSION 1
/* An enrollment file, request or reply is a few certificates: far less. */
#define ENROLL_JSON_MAX (64 * 1024)

/* ---- records -------------------------------------------------------- */

static void
free_secret (char *secret)
{
  if (secret != NULL)
    OPENSSL_cleanse (secret, strlen (secret));
  g_free (secret);
}

void
vigil_fleet_enrollment_file_free (VigilFleetEnrollmentFile *file)
{
  if (file == NULL)
    return;
  g_free (file->device_id);
  g_free (file->enrollment);
  free_secret (file->token);
  g_free (file->broker_url);
  g_free (file->ca_pem);
  g_free (file->cert_pem);
  free_secret (file->key_pem);
  g_free (file);
}

void
vigil_fleet_pending_enrollment_clear (VigilFleetPendingEnrollment *pending)
{
  g_clear_pointer (&pending->device_id, g_free);
  g_clear_pointer (&pending->enrollment, g_free);
  g_clear_pointer (&pending->token_sha256, g_free);
}

static char *
random_hex (gsize bytes)
{
  g_autofree unsigned char *raw = g_malloc (bytes);
  GString *hex = g_string_sized_new (2 * bytes);

  if (RAND_bytes (raw, (int) bytes) != 1)
    g_error ("OpenSSL has no randomness for an enrollment token");
  for (gsize i = 0; i < bytes; i++)
    g_string_append_printf (hex, "%02x", raw[i]);
  OPENSSL_cleanse (raw, bytes);
  return g_string_free (hex, FALSE);
}

static char *
sha256_hex (const char *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

/* ---- the console starts ------------------------------------------- */

VigilFleetEnrollmentFile *
vigil_fleet_enrollment_start (VigilFleetCa *ca, const char *device_id,
                              const char *broker_url, guint hours, gint64 now,
                              VigilFleetPendingEnrollment *pending,
                              GError **error)
{
  g_autoptr (VigilFleetEnrollmentFile) file = g_new0 (VigilFleetEnrollmentFile, 1);

  g_return_val_if_fail (ca && broker_url && pending && hours > 0, NULL);
  /* The URL is checked now, as the agent's connection will check it, so
   * a bad one is found at the console and not on the endpoint. */
  if (!vigil_fleet_device_id_check (device_id, error) ||
      !fleet_check_url (broker_url, error))
    return NULL;
  file->device_id = g_strdup (device_id);
  file->enrollment = vigil_fleet_enrollment_new ();
  file->token = random_hex (32);
  file->broker_url = g_strdup (broker_url);
  file->ca_pem = vigil_fleet_ca_cert_pem (ca, error);
  file->expires = now + (gint64) hours * 3600;
  if (file->ca_pem == NULL ||
      !vigil_fleet_ca_issue_bootstrap (ca, file->enrollment, hours,
                                       &file->cert_pem, &file->key_pem, error))
    return NULL;
  pending->device_id = g_strdup (device_id);
  pending->enrollment = g_strdup (file->enrollment);
  pending->token_sha256 = sha256_hex (file->token);
  pending->expires = file->expires;
  return g_steal_pointer (&file);
}

/* ---- the file ------------------------------------------------------- */

gboolean
vigil_fleet_enrollment_file_write (const VigilFleetEnrollmentFile *file,
                                   const char *path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  char *text;
  gboolean ok;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "vigil-enrollment");
  json_builder_add_int_value (b, ENROLLMENT_FILE_VERSION);
#define MEMBER(name, value) \
  json_builder_set_member_name (b, name); json_builder_add_string_value (b, value)
  MEMBER ("device", file->device_id);
  MEMBER ("enrollment", file->enrollment);
  MEMBER ("token", file->token);
  MEMBER ("broker", file->broker_url);
  MEMBER ("ca", file->ca_pem);
  MEMBER ("certificate", file->cert_pem);
  MEMBER ("key", file->key_pem);
#undef MEMBER
  json_builder_set_member_name (b, "expires");
  json_builder_add_int_value (b, file->expires);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  ok = vigil_fleet_write_private_file (path, text, -1, error);
  free_secret (text);
  return ok;
}

/* The object of a JSON document of at most ENROLL_JSON_MAX bytes. */
static JsonObject *
parse_object (JsonParser *parser, const char *what, const char *data,
              gsize len, GError **error)
{
  g_autoptr (GError) local = NULL;
  JsonNode *root;

  if (len > ENROLL_JSON_MAX) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: %zu bytes, more than %d", what, (size_t) len,
                 ENROLL_JSON_MAX);
    return NULL;
  }
  /* The strict reader's check first: a second "token" or "certificate"
   * must not silently win (issue #14). */
  if (!vigil_json_check (data, len, VIGIL_JSON_STRICT, NULL, &local)
      || !json_parser_load_from_data (parser, data, (gssize) len, &local)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: not JSON: %s", what, local->message);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: not a JSON object", what);
    return NULL;
  }
  return json_node_get_object (root);
}

/* Member @name of @o as a string, or NULL with @error naming it. */
static const char *
get_string (JsonObject *o, const char *what, const char *name, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: member \"%s\" missing or not a string", what, name);
    return NULL;
  }
  return json_node_get_string (n);
}

static gboolean
get_int (JsonObject *o, const char *what, const char *name, gint64 *value,
         GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_INT64) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: member \"%s\" missing or not an integer", what, name);
    return FALSE;
  }
  *value = json_node_get_int (n);
  return TRUE;
}

static gboolean
check_hex (const char *what, const char *name, const char *value, gsize len,
           GError **error)
{
  if (strlen (value) != len || strspn (value, "0123456789abcdef") != len) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: member \"%s\" must be %zu lower-case hex digits",
                 what, name, len);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_pem (const char *what, const char *name, const char *value,
           const char *label, GError **error)
{
  g_autofree char *begin = g_strdup_printf ("-----BEGIN %s-----", label);

  if (!g_str_has_prefix (value, begin)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: member \"%s\" is not a PEM %s", what, name, label);
    return FALSE;
  }
  return TRUE;
}

/* Fills @file from @o; the checks the agent relies on before connecting. */
static gboolean
read_file_members (JsonObject *o, const char *what,
                   VigilFleetEnrollmentFile *file, GError **error)
{
  const char *s;
  gint64 version = 0;
  g_autoptr (GError) local = NULL;

  if (!get_int (o, what, "vigil-enrollment", &version, error))
    return FALSE;
  if (version != ENROLLMENT_FILE_VERSION) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: version %" G_GINT64_FORMAT ", this agent reads %d",
                 what, version, ENROLLMENT_FILE_VERSION);
    return FALSE;
  }
#define TAKE(field, name) \
  if ((s = get_string (o, what, name, error)) == NULL) return FALSE; \
  file->field = g_strdup (s)
  TAKE (device_id, "device");
  TAKE (enrollment, "enrollment");
  TAKE (token, "token");
  TAKE (broker_url, "broker");
  TAKE (ca_pem, "ca");
  TAKE (cert_pem, "certificate");
  TAKE (key_pem, "key");
#undef TAKE
  if (!vigil_fleet_device_id_check (file->device_id, &local)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s: member \"device\": %s", what, local->message);
    return FALSE;
  }
  return check_hex (what, "enrollment", file->enrollment, 32, error) &&
         check_hex (what, "token", file->token, 64, error) &&
         check_pem (what, "ca", file->ca_pem, "CERTIFICATE", error) &&
         check_pem (what, "certificate", file->cert_pem, "CERTIFICATE", error) &&
         check_pem (what, "key", file->key_pem, "PRIVATE KEY", error) &&
         get_int (o, what, "expires", &file->expires, error);
}

VigilFleetEnrollmentFile *
vigil_fleet_enrollment_file_read (const char *path, GError **error)
{
  g_autoptr (VigilFleetEnrollmentFile) file = g_new0 (VigilFleetEnrollmentFile, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *data = NULL;
  gsize len = 0;
  JsonObject *o;

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  o = parse_object (parser, path, data, len, error);
  OPENSSL_cleanse (data, len);
  if (o == NULL || !read_file_members (o, path, file, error))
    return NULL;
  return g_steal_pointer (&file);
}

natsOptions *
vigil_fleet_bootstrap_options_new (const VigilFleetEnrollmentFile *file,
                                   GError **error)
{
  g_autofree char *inbox = NULL;

  g_return_val_if_fail (file != NULL, NULL);
  if (!vigil_fleet_enrollment_check (file->enrollment, error))
    return NULL;
  inbox = vigil_fleet_enroll_inbox_prefix (file->enrollment);
  return fleet_options_new (file->broker_url, file->ca_pem, file->cert_pem,
                            file->key_pem, TRUE, inbox, file->device_id, error);
}

/* ---- request, answer, reply ------------------------------------------ */

static char *
object_to_json (JsonBuilder *b)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

char *
vigil_fleet_enroll_request_new (const VigilFleetEnrollmentFile *file,
                                const char *key_path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *csr = vigil_fleet_device_request_new (file->device_id,
                                                         key_path, error);

  if (csr == NULL)
    return NULL;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, file->token);
  json_builder_set_member_name (b, "csr");
  json_builder_add_string_value (b, csr);
  json_builder_end_object (b);
  return object_to_json (b);
}

/* Compares the token's hash with the kept one without leaking, through
 * timing, how much of it matched. */
static gboolean
token_matches (const char *token, const char *kept_sha256)
{
  g_autofree char *sha = sha256_hex (token);

  return strlen (kept_sha256) == strlen (sha) &&
         CRYPTO_memcmp (sha, kept_sha256, strlen (sha)) == 0;
}

char *
vigil_fleet_enroll_answer (VigilFleetCa *ca,
                           const VigilFleetPendingEnrollment *pending,
                           const char *request, gsize len, gint64 now,
                           GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *what = "enrollment request";
  const char *token, *csr;
  JsonObject *o;

  g_return_val_if_fail (ca && pending && request, NULL);
  if ((o = parse_object (parser, what, request, len, error)) == NULL ||
      (token = get_string (o, what, "token", error)) == NULL ||
      (csr = get_string (o, what, "csr", error)) == NULL)
    return NULL;
  if (!token_matches (token, pending->token_sha256)) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s for %s: wrong token", what, pending->device_id);
    return NULL;
  }
  if (now > pending->expires) {
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "%s for %s: the enrollment expired; enroll the device again",
                 what, pending->device_id);
    return NULL;
  }
  return vigil_fleet_ca_sign_device (ca, pending->device_id,
                                     pending->enrollment, csr, -1, error);
}

char *
vigil_fleet_enroll_reply_new (const char *certificate, const char *refusal)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, certificate ? "certificate" : "refused");
  json_builder_add_string_value (b, certificate ? certificate
                                                : (refusal ? refusal : "refused"));
  json_builder_end_object (b);
  return object_to_json (b);
}

char *
vigil_fleet_enroll_reply_read (const char *reply, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *what = "enrollment reply";
  const char *cert;
  JsonObject *o = parse_object (parser, what, reply, len, error);

  if (o == NULL)
    return NULL;
  if (json_object_has_member (o, "refused")) {
    const char *why = get_string (o, what, "refused", NULL);
    g_set_error (error, VIGIL_FLEET_ERROR, VIGIL_FLEET_ERROR_INVALID,
                 "the console refused the enrollment: %s",
                 why ? why : "(no reason given)");
    return NULL;
  }
  if ((cert = get_string (o, what, "certificate", error)) == NULL ||
      !check_pem (what, "certificate", cert, "CERTIFICATE", error))
    return NULL;
  return g_strdup (cert);
}
