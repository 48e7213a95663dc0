/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Password hashes and strength advice (host/settings/password.c): the hash
 * is salted and self-describing, verifies only the right password, refuses
 * malformed or too-cheap hashes, and records the strength advice so that a
 * policy carrying only the hash can still be warned about.
 */
#include "settings/general-private.h"

#include <string.h>

/* The minimum accepted cost keeps the tests quick; production uses more. */
#define TEST_ITER VH_PASSWORD_MIN_ITERATIONS

static void
test_hash_verifies_right_password (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = vh_password_hash ("Correct-Horse-9", TEST_ITER, 0, &error);

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (hash, "$pbkdf2-sha256$i=100000,w=0$"));
  g_assert_null (strstr (hash, "Correct-Horse-9"));
  g_assert_true (vh_password_verify ("Correct-Horse-9", hash, &error));
  g_assert_no_error (error);
}

static void
test_hash_refuses_wrong_password (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = vh_password_hash ("Correct-Horse-9", TEST_ITER, 0, &error);

  g_assert_false (vh_password_verify ("correct-horse-9", hash, &error));
  g_assert_no_error (error);
  g_assert_false (vh_password_verify ("", hash, &error));
  g_assert_no_error (error);
}

static void
test_hash_is_salted (void)
{
  g_autofree char *a = vh_password_hash ("same-Password-1", TEST_ITER, 0, NULL);
  g_autofree char *b = vh_password_hash ("same-Password-1", TEST_ITER, 0, NULL);

  g_assert_cmpstr (a, !=, b);
  g_assert_true (vh_password_verify ("same-Password-1", a, NULL));
  g_assert_true (vh_password_verify ("same-Password-1", b, NULL));
}

static void
test_hash_default_cost (void)
{
  g_autofree char *hash = vh_password_hash ("x", 0, 0, NULL);
  guint iterations = 0;

  g_assert_true (vh_password_hash_parse (hash, &iterations, NULL, NULL));
  g_assert_cmpuint (iterations, ==, VH_PASSWORD_ITERATIONS);
}

static void
test_hash_refuses_low_cost (void)
{
  g_autoptr (GError) error = NULL;
  const char *cheap = "$pbkdf2-sha256$i=1000,w=0$c2FsdHNhbHRzYWx0c2FsdA==$"
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  g_assert_null (vh_password_hash ("x", 1000, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (vh_password_verify ("x", cheap, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "minimum"));
}

/* i=2000000000 would make one check spin for hours: refused unread, by
 * the parser that policy validation and verification share. */
static void
test_hash_refuses_absurd_cost (void)
{
  g_autoptr (GError) error = NULL;
  const char *absurd = "$pbkdf2-sha256$i=2000000000,w=0$c2FsdHNhbHRzYWx0c2FsdA==$"
                       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  g_assert_null (vh_password_hash ("x", VH_PASSWORD_MAX_ITERATIONS + 1, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (vh_password_hash_parse (absurd, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "2000000000 iterations, more than the maximum 10000000"));
  g_clear_error (&error);
  g_assert_false (vh_password_verify ("x", absurd, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_hash_malformed (void)
{
  const char *bad[] = {
    "", "secret", "$md5$abc", "$pbkdf2-sha256$i=100000$salt",
    "$pbkdf2-sha256$i=abc,w=0$c2FsdHNhbHRzYWx0c2FsdA==$AAAA",
    "$pbkdf2-sha256$i=100000,w=9$c2FsdHNhbHRzYWx0c2FsdA==$AAAA",
    "$pbkdf2-sha256$i=100000,w=0$c2FsdHNhbHRzYWx0c2FsdA==$AAAA",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (vh_password_hash_parse (bad[i], NULL, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      /* The message never echoes the value: it may be a clear password. */
      if (*bad[i])
        g_assert_null (strstr (error->message, bad[i]));
    }
}

static void
test_weakness_rules (void)
{
  const char *names[] = { "alice", "LAB-PC-07", "ab", NULL };

  g_assert_cmpuint (vh_password_weakness ("Str0ng!pass", names), ==, VH_WEAK_NONE);
  g_assert_cmpuint (vh_password_weakness ("Sh0rt!", names), ==, VH_WEAK_LENGTH);
  g_assert_cmpuint (vh_password_weakness ("alllowercaseletters", names), ==, VH_WEAK_CLASSES);
  /* Three classes are enough: upper, lower, digits. */
  g_assert_cmpuint (vh_password_weakness ("Abcdefg1", names), ==, VH_WEAK_NONE);
  g_assert_cmpuint (vh_password_weakness ("xxAlice-2024", names), ==, VH_WEAK_NAME);
  g_assert_cmpuint (vh_password_weakness ("lab-pc-07!X", names), ==, VH_WEAK_NAME);
  /* Names shorter than 3 characters are not checked. */
  g_assert_cmpuint (vh_password_weakness ("Xab-12345", names), ==, VH_WEAK_NONE);
  g_assert_cmpuint (vh_password_weakness ("abc", NULL), ==, VH_WEAK_LENGTH | VH_WEAK_CLASSES);
}

static void
test_weakness_recorded_in_hash (void)
{
  guint weakness = vh_password_weakness ("alice", (const char *[]) { "alice", NULL });
  g_autofree char *hash = vh_password_hash ("alice", TEST_ITER, weakness, NULL);
  g_auto (GStrv) advice = NULL;
  guint parsed = 0;

  g_assert_true (vh_password_hash_parse (hash, NULL, &parsed, NULL));
  g_assert_cmpuint (parsed, ==, VH_WEAK_LENGTH | VH_WEAK_CLASSES | VH_WEAK_NAME);
  advice = vh_password_advice (parsed);
  g_assert_cmpuint (g_strv_length (advice), ==, 3);
  g_assert_nonnull (strstr (advice[0], "8 characters"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/password/hash-verifies-right-password", test_hash_verifies_right_password);
  g_test_add_func ("/password/hash-refuses-wrong-password", test_hash_refuses_wrong_password);
  g_test_add_func ("/password/hash-is-salted", test_hash_is_salted);
  g_test_add_func ("/password/hash-default-cost", test_hash_default_cost);
  g_test_add_func ("/password/hash-refuses-low-cost", test_hash_refuses_low_cost);
  g_test_add_func ("/password/hash-refuses-absurd-cost", test_hash_refuses_absurd_cost);
  g_test_add_func ("/password/hash-malformed", test_hash_malformed);
  g_test_add_func ("/password/weakness-rules", test_weakness_rules);
  g_test_add_func ("/password/weakness-recorded-in-hash", test_weakness_recorded_in_hash);
  return g_test_run ();
}
