/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The strict JSON reader: what json-glib alone would read wrongly (a
 * duplicate key taking the last value, "\u0000" cutting a name short, 010
 * read as 8, 0x10 as 16, integers beyond 2^63 wrapped) is refused, with the
 * line, column and JSON path; standard JSON is read as json-glib reads it;
 * big integers are kept as written when asked; string values never appear
 * in an error.
 */
#include <string.h>

#include "vigil/util/json.h"

typedef struct
{
  const char *text;
  const char *message;          /* a part of the error message */
  const char *where;            /* "line L, column C" */
  const char *path;             /* "(at $...)" */
} Refused;

static const Refused refused[] = {
  { "{\"name\":\"a\",\"group\":\"g1\",\"group\":\"g2\"}", "duplicate key \"group\"", "line 1, column 26", "(at $)" },
  { "{\"a\":{\"b\":1,\"\\u0062\":2}}", "duplicate key \"\\u0062\"", "line 1, column 13", "(at $.a)" },
  { "{\"name\":\"victim\\u0000evil\"}", "\\u0000 (NUL) in a string", "line 1, column 16", "(at $.name)" },
  { "[\"a\",\n \"b\\u0000\"]", "NUL", "line 2, column 4", "(at $[1])" },
  { "{\"n\":010}", "non-standard number '010'", "line 1, column 6", "(at $.n)" },
  { "{\"n\":0x10}", "non-standard number '0x10'", "line 1, column 6", "(at $.n)" },
  { "{\"n\":-01}", "non-standard number '-01'", NULL, "(at $.n)" },
  { "[+1]", "non-standard number '+1'", NULL, "(at $[0])" },
  { "[.5]", "non-standard number '.5'", NULL, NULL },
  { "[1.]", "non-standard number '1.'", NULL, NULL },
  { "[1e]", "non-standard number '1e'", NULL, NULL },
  { "[NaN]", "non-standard number 'NaN'", NULL, NULL },
  { "[Infinity]", "non-standard number 'Infinity'", NULL, NULL },
  { "[-]", "non-standard number '-'", NULL, NULL },
  { "{\"size\":18446744073709551616}", "integer 18446744073709551616 is outside the 64-bit range", NULL, "(at $.size)" },
  { "[9223372036854775808]", "outside the 64-bit range", NULL, NULL },
  { "[-9223372036854775809]", "outside the 64-bit range", NULL, NULL },
  { "[1e999]", "too large for a double", NULL, NULL },
  { "['x']", "expected a value", NULL, NULL },
  { "[1 /* c */]", "expected ',' or ']'", NULL, NULL },
  { "[1,]", "expected a value", NULL, NULL },
  { "{\"a\":1,}", "expected a key in double quotes", NULL, NULL },
  { "{a:1}", "expected a key in double quotes", NULL, NULL },
  { "[true] x", "expected the end of the document", NULL, NULL },
  { "", "no JSON value", "line 1, column 1", NULL },
  { "  \n ", "no JSON value", "line 2, column 2", NULL },
  { "[\"\\ud800\"]", "high surrogate without a low one", NULL, NULL },
  { "[\"\\udc00\"]", "low surrogate", NULL, NULL },
  { "[\"\\x41\"]", "unknown escape", NULL, NULL },
  { "[\"a\tb\"]", "control character 0x09", NULL, NULL },
  { "[\"\xff\"]", "not valid UTF-8", NULL, NULL },
  { "[\"\xc0\xaf\"]", "not valid UTF-8", NULL, NULL },
  { "[\"abc", "not terminated", NULL, NULL },
  { "{\"a\" 1}", "expected ':' after a key", NULL, NULL },
  { "[tru]", "expected a value", NULL, NULL },
  { "[nulls]", "expected a value", NULL, NULL },
  { "\xef\xbb\xbf{}", "expected a value", NULL, NULL },
};

static void
test_refused (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const Refused *r = &refused[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (GError) error2 = NULL;
      g_autoptr (JsonNode) n = vigil_json_parse (r->text, -1, VIGIL_JSON_STRICT, NULL, &error);

      g_test_message ("%s -> %s", r->text, error ? error->message : "(accepted)");
      g_assert_null (n);
      g_assert_nonnull (error);
      g_assert_true (error->domain == JSON_PARSER_ERROR);
      g_assert_nonnull (strstr (error->message, r->message));
      if (r->where != NULL)
        g_assert_true (g_str_has_prefix (error->message, r->where));
      if (r->path != NULL)
        g_assert_true (g_str_has_suffix (error->message, r->path));
      /* The check alone refuses the same, with the same message. */
      g_assert_false (vigil_json_check (r->text, strlen (r->text), VIGIL_JSON_STRICT, NULL, &error2));
      g_assert_cmpstr (error->message, ==, error2->message);
    }
}

/* A raw NUL byte cannot be written in a C string literal: lengths given. */
static void
test_raw_nul_refused (void)
{
  const char in_string[] = "{\"name\":\"victim\0evil\"}";
  const char outside[] = "{\"a\":1}\0";
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error2 = NULL;

  g_assert_false (vigil_json_check (in_string, sizeof in_string - 1, 0, "p.json", &error));
  g_assert_cmpstr (error->message, ==, "p.json:1:16: a NUL byte in a string (at $.name)");
  g_assert_false (vigil_json_check (outside, sizeof outside - 1, 0, NULL, &error2));
  g_assert_nonnull (strstr (error2->message, "a NUL byte"));
}

/* What json-glib reads right is read the same. */
static void
test_accepted (void)
{
  static const char *const ok[] = {
    "{}", "[]", "0", "-0", "1.5e-3", "1E+5", "-12.0", "\"x\"", "true", "null",
    "{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
    " \t\r\n{ \"a\" : 1 , \"b\" : [ ] } \n",
    "[9223372036854775807,-9223372036854775808]",
    "{\"\":1,\"a\":{\"\":2}}",
    "[\"caf\xc3\xa9\"]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) n = vigil_json_parse (ok[i], -1, VIGIL_JSON_STRICT, NULL, &error);
      g_autoptr (JsonNode) lenient = json_from_string (ok[i], NULL);
      g_autofree char *a = NULL, *b = NULL;

      g_assert_no_error (error);
      a = json_to_string (n, FALSE);
      b = json_to_string (lenient, FALSE);
      g_assert_cmpstr (a, ==, b);
    }
}

static void
test_int64_limits_exact (void)
{
  g_autoptr (JsonNode) n = vigil_json_parse ("[9223372036854775807,-9223372036854775808]", -1, 0, NULL, NULL);
  JsonArray *a = json_node_get_array (n);

  g_assert_cmpint (json_array_get_int_element (a, 0), ==, G_MAXINT64);
  g_assert_cmpint (json_array_get_int_element (a, 1), ==, G_MININT64);
}

/* With VIGIL_JSON_KEEP_BIG_INTEGERS, an integer beyond 64 bits is kept as
 * written (a string of its digits), never wrapped; the rest is untouched. */
static void
test_big_integers_kept_as_written (void)
{
  const char *text = "{\"big\":18446744073709551616,\"neg\":-9223372036854775809,"
                     "\"ok\":5,\"s\":\"18446744073709551616\",\"a\":[1,99999999999999999999]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = vigil_json_parse_object (text, -1, VIGIL_JSON_KEEP_BIG_INTEGERS,
                                                       NULL, &error);
  gint64 ok = 0;

  g_assert_no_error (error);
  g_assert_cmpstr (vigil_json_get_string (o, "big"), ==, "18446744073709551616");
  g_assert_cmpstr (vigil_json_get_string (o, "neg"), ==, "-9223372036854775809");
  g_assert_true (vigil_json_get_int (o, "ok", &ok));
  g_assert_cmpint (ok, ==, 5);
  g_assert_cmpstr (json_array_get_string_element (vigil_json_get_array (o, "a"), 1), ==,
                   "99999999999999999999");
  g_assert_cmpint (json_array_get_int_element (vigil_json_get_array (o, "a"), 0), ==, 1);
}

/* In an envelope, big integers are kept in the payload only: elsewhere a
 * number where a field wants a string must not become one. */
static void
test_big_integers_kept_under_a_path (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ok = vigil_json_parse_full ("{\"device\":\"d\",\"payload\":{\"n\":[18446744073709551616]}}",
                                                   -1, VIGIL_JSON_KEEP_BIG_INTEGERS, "$.payload", NULL, &error);
  g_autoptr (JsonNode) bad = NULL;
  g_autoptr (JsonNode) near = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (ok);
  bad = vigil_json_parse_full ("{\"device\":18446744073709551616,\"payload\":{}}", -1,
                               VIGIL_JSON_KEEP_BIG_INTEGERS, "$.payload", NULL, &error);
  g_assert_null (bad);
  g_assert_cmpstr (error->message, ==, "line 1, column 11: integer 18446744073709551616 is outside "
                   "the 64-bit range (-2^63 to 2^63-1) (at $.device)");
  g_clear_error (&error);
  near = vigil_json_parse_full ("{\"payloads\":18446744073709551616}", -1,
                                VIGIL_JSON_KEEP_BIG_INTEGERS, "$.payload", NULL, &error);
  g_assert_null (near);
  g_assert_nonnull (error);
}

/* A string value may be a secret (a password in a settings file): it is
 * never quoted in an error, even when the error is inside it. */
static void
test_values_never_echoed (void)
{
  const char *texts[] = {
    "{\"password\":\"hunter2-secret\\u0000\"}",
    "{\"password\":\"hunter2-secret\\q\"}",
    "{\"password\":\"hunter2-secret",
    "{\"password\":\"hunter2-secret\",\"password\":\"x\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (vigil_json_check (texts[i], strlen (texts[i]), 0, NULL, &error));
      g_test_message ("%s", error->message);
      g_assert_null (strstr (error->message, "hunter2"));
    }
}

static void
test_depth_bounded (void)
{
  g_autoptr (GString) deep = g_string_new (NULL);
  g_autoptr (GString) ok = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_assert_false (vigil_json_check (deep->str, deep->len, 0, NULL, &error));
  g_assert_nonnull (strstr (error->message, "nested deeper than"));

  for (int i = 0; i < VIGIL_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, '[');
  for (int i = 0; i < VIGIL_JSON_MAX_DEPTH; i++)
    g_string_append_c (ok, ']');
  g_assert_true (vigil_json_check (ok->str, ok->len, 0, NULL, NULL));
}

static void
test_where_and_path (void)
{
  const char *text = "{\n  \"settings\": {\n    \"ksn\": {\"odd key\": [0, 1, 010]}\n  }\n}\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_parse (text, -1, 0, "policy.json", &error);

  g_assert_null (n);
  g_assert_cmpstr (error->message, ==,
                   "policy.json:3:31: non-standard number '010' (JSON numbers are decimal, with no "
                   "leading zero, no leading '+' or '.', and digits after '.' and 'e') "
                   "(at $.settings.ksn[\"odd key\"][2])");
}

static void
test_parse_object_wants_object (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = vigil_json_parse_object ("[1]", -1, 0, "x.json", &error);

  g_assert_null (o);
  g_assert_cmpstr (error->message, ==, "x.json: expected a JSON object at the top level, found JsonArray");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/json-strict/refused", test_refused);
  g_test_add_func ("/util/json-strict/raw-nul-refused", test_raw_nul_refused);
  g_test_add_func ("/util/json-strict/accepted-as-json-glib-reads", test_accepted);
  g_test_add_func ("/util/json-strict/int64-limits-exact", test_int64_limits_exact);
  g_test_add_func ("/util/json-strict/big-integers-kept-as-written", test_big_integers_kept_as_written);
  g_test_add_func ("/util/json-strict/big-integers-kept-under-a-path", test_big_integers_kept_under_a_path);
  g_test_add_func ("/util/json-strict/values-never-echoed", test_values_never_echoed);
  g_test_add_func ("/util/json-strict/depth-bounded", test_depth_bounded);
  g_test_add_func ("/util/json-strict/where-and-path", test_where_and_path);
  g_test_add_func ("/util/json-strict/parse-object-wants-object", test_parse_object_wants_object);
  return g_test_run ();
}
