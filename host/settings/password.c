/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Password hashes for password protection, and the strength advice the
 * product documentation gives (8+ characters, not an account or device
 * name, three character classes). A password is never stored: only a salted
 * PBKDF2-HMAC-SHA256 hash in a self-describing string
 * "$pbkdf2-sha256$i=<iterations>,w=<weakness bits>$<salt>$<key>" (salt and
 * key in base64). The weakness bits are the advice computed when the hash
 * was made, where the clear password was known, so that validating a policy
 * that carries only the hash can still warn about a weak password.
 */
#include "general-private.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SALT_LEN 16
#define KEY_LEN  32
#define SCHEME   "pbkdf2-sha256"

/* ------------------------------------------------------------------ */
/* Strength                                                            */
/* ------------------------------------------------------------------ */

static guint
count_classes (const char *password)
{
  gboolean upper = FALSE, lower = FALSE, digit = FALSE, special = FALSE;

  for (const char *p = password; *p; p++)
    {
      if (g_ascii_isupper (*p))
        upper = TRUE;
      else if (g_ascii_islower (*p))
        lower = TRUE;
      else if (g_ascii_isdigit (*p))
        digit = TRUE;
      else
        special = TRUE;
    }
  return upper + lower + digit + special;
}

static gboolean
contains_name (const char *password, const char *const *names)
{
  g_autofree char *folded = g_utf8_casefold (password, -1);

  for (gsize i = 0; names && names[i]; i++)
    {
      g_autofree char *name = g_utf8_casefold (names[i], -1);

      /* One- and two-letter names would flag nearly every password. */
      if (g_utf8_strlen (name, -1) >= 3 && strstr (folded, name))
        return TRUE;
    }
  return FALSE;
}

guint
vh_password_weakness (const char *password, const char *const *names)
{
  guint weakness = VH_WEAK_NONE;

  g_return_val_if_fail (password != NULL, VH_WEAK_LENGTH);

  if (g_utf8_strlen (password, -1) < 8)
    weakness |= VH_WEAK_LENGTH;
  if (count_classes (password) < 3)
    weakness |= VH_WEAK_CLASSES;
  if (contains_name (password, names))
    weakness |= VH_WEAK_NAME;
  return weakness;
}

GStrv
vh_password_advice (guint weakness)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (weakness & VH_WEAK_LENGTH)
    g_strv_builder_add (builder, "the password is shorter than 8 characters");
  if (weakness & VH_WEAK_CLASSES)
    g_strv_builder_add (builder, "the password uses fewer than 3 of the character "
                        "classes upper case, lower case, digits, special characters");
  if (weakness & VH_WEAK_NAME)
    g_strv_builder_add (builder, "the password contains an account or device name");
  return g_strv_builder_end (builder);
}

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

static gboolean
derive (const char *password, const guchar *salt, gsize salt_len,
        guint iterations, guchar key[KEY_LEN], GError **error)
{
  if (PKCS5_PBKDF2_HMAC (password, strlen (password), salt, salt_len,
                         iterations, EVP_sha256 (), KEY_LEN, key) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "PBKDF2 failed in OpenSSL");
      return FALSE;
    }
  return TRUE;
}

char *
vh_password_hash (const char *password, guint iterations, guint weakness,
                  GError **error)
{
  guchar salt[SALT_LEN];
  guchar key[KEY_LEN];
  g_autofree char *salt_b64 = NULL;
  g_autofree char *key_b64 = NULL;

  g_return_val_if_fail (password != NULL, NULL);

  if (iterations == 0)
    iterations = VH_PASSWORD_ITERATIONS;
  if (iterations < VH_PASSWORD_MIN_ITERATIONS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%u iterations is below the minimum %u", iterations,
                   VH_PASSWORD_MIN_ITERATIONS);
      return NULL;
    }
  if (iterations > VH_PASSWORD_MAX_ITERATIONS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%u iterations is above the maximum %u", iterations,
                   VH_PASSWORD_MAX_ITERATIONS);
      return NULL;
    }
  if (RAND_bytes (salt, sizeof salt) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "no random bytes from OpenSSL for the salt");
      return NULL;
    }
  if (!derive (password, salt, sizeof salt, iterations, key, error))
    return NULL;

  salt_b64 = g_base64_encode (salt, sizeof salt);
  key_b64 = g_base64_encode (key, sizeof key);
  OPENSSL_cleanse (key, sizeof key);
  return g_strdup_printf ("$" SCHEME "$i=%u,w=%u$%s$%s", iterations,
                          weakness & 7, salt_b64, key_b64);
}

/* Splits a hash into its parts; the decoded salt and key are returned. */
static gboolean
parse (const char *hash, guint *iterations, guint *weakness,
       GBytes **salt, GBytes **key, GError **error)
{
  g_auto (GStrv) parts = NULL;
  guint64 iter = 0, weak = 0;
  char *end = NULL;
  const char *params;
  guchar *raw;
  gsize len;

  if (hash == NULL || hash[0] != '$')
    goto malformed;
  parts = g_strsplit (hash + 1, "$", -1);
  if (g_strv_length (parts) != 4 || g_strcmp0 (parts[0], SCHEME) != 0)
    goto malformed;

  params = parts[1];
  if (!g_str_has_prefix (params, "i="))
    goto malformed;
  iter = g_ascii_strtoull (params + 2, &end, 10);
  if (end == params + 2 || iter > G_MAXUINT32)
    goto malformed;
  if (g_str_has_prefix (end, ",w="))
    {
      const char *w = end + 3;

      weak = g_ascii_strtoull (w, &end, 10);
      if (end == w || weak > 7)
        goto malformed;
    }
  if (*end != '\0')
    goto malformed;
  if (iter < VH_PASSWORD_MIN_ITERATIONS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the password hash uses %" G_GUINT64_FORMAT " iterations, "
                   "fewer than the minimum %u: make a new one with "
                   "`vigil password hash`", iter, VH_PASSWORD_MIN_ITERATIONS);
      return FALSE;
    }
  if (iter > VH_PASSWORD_MAX_ITERATIONS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the password hash uses %" G_GUINT64_FORMAT " iterations, "
                   "more than the maximum %u: make a new one with "
                   "`vigil password hash`", iter, VH_PASSWORD_MAX_ITERATIONS);
      return FALSE;
    }

  raw = g_base64_decode (parts[2], &len);
  if (len < 8 || len > 64)
    {
      g_free (raw);
      goto malformed;
    }
  if (salt)
    *salt = g_bytes_new_take (raw, len);
  else
    g_free (raw);
  raw = g_base64_decode (parts[3], &len);
  if (len != KEY_LEN)
    {
      g_free (raw);
      if (salt)
        g_clear_pointer (salt, g_bytes_unref);
      goto malformed;
    }
  if (key)
    *key = g_bytes_new_take (raw, len);
  else
    g_free (raw);

  if (iterations)
    *iterations = iter;
  if (weakness)
    *weakness = weak;
  return TRUE;

malformed:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "not a password hash of the form $" SCHEME "$i=N,w=W$SALT$KEY: "
               "make one with `vigil password hash`");
  return FALSE;
}

gboolean
vh_password_hash_parse (const char *hash, guint *iterations, guint *weakness,
                        GError **error)
{
  return parse (hash, iterations, weakness, NULL, NULL, error);
}

gboolean
vh_password_verify (const char *password, const char *hash, GError **error)
{
  g_autoptr (GBytes) salt = NULL;
  g_autoptr (GBytes) expected = NULL;
  guchar key[KEY_LEN];
  guint iterations = 0;
  gsize salt_len;
  const guchar *salt_data;
  gboolean same;

  g_return_val_if_fail (password != NULL, FALSE);

  if (!parse (hash, &iterations, NULL, &salt, &expected, error))
    return FALSE;
  salt_data = g_bytes_get_data (salt, &salt_len);
  if (!derive (password, salt_data, salt_len, iterations, key, error))
    return FALSE;
  /* Constant time, so that timing does not tell how much of it matched. */
  same = CRYPTO_memcmp (key, g_bytes_get_data (expected, NULL), KEY_LEN) == 0;
  OPENSSL_cleanse (key, sizeof key);
  return same;
}
