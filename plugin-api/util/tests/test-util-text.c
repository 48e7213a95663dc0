/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaped text output: which characters are escaped and how, and that the
 * printf escapes what it substitutes (strings and characters) but neither
 * its own format nor numbers, with widths and precisions as printf has
 * them (widths counted in characters).
 */
#include "vigil/util/text.h"

static void
assert_escaped (const char *raw, gssize len, const char *expected)
{
  g_autoptr (GString) out = g_string_new (NULL);

  vigil_text_append_escaped (out, raw, len);
  g_assert_cmpstr (out->str, ==, expected);
  g_assert_true (g_utf8_validate (out->str, -1, NULL));
}

static void
test_c0_and_del (void)
{
  assert_escaped ("a\033]0;owned\007b", -1, "a\\x1B]0;owned\\x07b");
  assert_escaped ("row\r\nforged\tcell\177", -1, "row\\x0D\\x0Aforged\\x09cell\\x7F");
  assert_escaped ("nul\0inside", 10, "nul\\x00inside");
}

static void
test_c1_and_bidi (void)
{
  /* U+009B is CSI on a terminal that reads C1; U+202E turns "gpj.exe"
   * into what reads as "exe.jpg". */
  assert_escaped ("csi\xc2\x9b" "31m", -1, "csi\\u009B31m");
  assert_escaped ("\xe2\x80\xae" "gpj.exe", -1, "\\u202Egpj.exe");
  assert_escaped ("\xe2\x81\xa6x\xe2\x81\xa9", -1, "\\u2066x\\u2069");
}

static void
test_invalid_utf8 (void)
{
  /* A lone 0x9B byte is CSI on an 8-bit terminal. */
  assert_escaped ("a\x9b" "b", -1, "a\\x9Bb");
  assert_escaped ("\xc3", -1, "\\xC3");
  assert_escaped ("\xc0\x80", -1, "\\xC0\\x80");
  assert_escaped ("\xed\xa0\x80", -1, "\\xED\\xA0\\x80");
}

static void
test_text_kept (void)
{
  assert_escaped ("Prüfbericht – 検査.txt \\ 'q' \"d\"", -1,
                  "Prüfbericht – 検査.txt \\ 'q' \"d\"");
  assert_escaped (NULL, -1, "");
  g_assert_cmpuint (vigil_text_width ("ü\n"), ==, 5);
}

static void
test_printf_escapes_arguments_only (void)
{
  g_autofree char *s = vigil_text_printf ("%s|%c|%d\n", "x\ny", '\033', 7);

  g_assert_cmpstr (s, ==, "x\\x0Ay|\\x1B|7\n");
}

static void
test_printf_width_and_precision (void)
{
  g_autofree char *a = vigil_text_printf ("[%-5s][%5s][%.2s][%-*s][%*s]", "ü", "ab", "abc",
                                          4, "x", -3, "y");
  g_autofree char *b = vigil_text_printf ("%" G_GINT64_FORMAT " %" G_GUINT64_FORMAT
                                          " %" G_GSIZE_FORMAT " %5.1f %x %%s %02d %-3u|",
                                          G_MININT64, G_MAXUINT64, (gsize) 42, 2.5, 255, 3, 9u);
  g_autofree char *c = vigil_text_printf ("%.*s|%-8.3s|", 1, "\033[", "a\tbcd");

  g_assert_cmpstr (a, ==, "[ü    ][   ab][ab][x   ][y  ]");
  g_assert_cmpstr (b, ==, "-9223372036854775808 18446744073709551615 42   2.5 ff %s 03 9  |");
  g_assert_cmpstr (c, ==, "\\x1B|a\\x09b  |");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/text/c0-and-del-escaped", test_c0_and_del);
  g_test_add_func ("/util/text/c1-and-bidi-escaped", test_c1_and_bidi);
  g_test_add_func ("/util/text/invalid-utf8-escaped-by-byte", test_invalid_utf8);
  g_test_add_func ("/util/text/printable-text-kept", test_text_kept);
  g_test_add_func ("/util/text/printf-escapes-arguments-not-format", test_printf_escapes_arguments_only);
  g_test_add_func ("/util/text/printf-width-and-precision", test_printf_width_and_precision);
  return g_test_run ();
}
