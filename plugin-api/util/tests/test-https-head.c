/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The strict reply head parser of the HTTPS client: what it accepts, what
 * it refuses (each malformed head named in the error), and that it needs
 * more bytes rather than guessing on an incomplete head.
 */
#include <vigil/util/https.h>

#include <string.h>

static int
parse (const char *text, VigilHttpsHead *h, GError **error)
{
  return vigil_https_parse_head (text, strlen (text), h, error);
}

static void
test_complete (void)
{
  VigilHttpsHead h;

  g_assert_cmpint (parse ("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
                          "Connection: close\r\n\r\n{\"ack\":1}", &h, NULL), ==, 1);
  g_assert_cmpuint (h.status, ==, 200);
  g_assert_cmpint (h.content_length, ==, 12);
  g_assert_true (h.closing);
  g_assert_false (h.chunked);
  g_assert_cmpuint (h.head_len, ==, 58);
  g_assert_cmpint (parse ("HTTP/1.1 204\r\n\r\n", &h, NULL), ==, 1);
  g_assert_cmpint (h.content_length, ==, -1);
  g_assert_cmpint (parse ("HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n"
                          "Content-Length: 5\r\n\r\n", &h, NULL), ==, -1);
  g_assert_cmpint (parse ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                          &h, NULL), ==, 1);
  g_assert_true (h.chunked);
  /* The same length twice is not ambiguous. */
  g_assert_cmpint (parse ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                          "Content-Length: 3\r\n\r\n", &h, NULL), ==, 1);
}

static void
test_incomplete_needs_more (void)
{
  VigilHttpsHead h;

  g_assert_cmpint (parse ("HTTP/1.1 200 OK\r\nContent-Le", &h, NULL), ==, 0);
  g_assert_cmpint (vigil_https_parse_head (NULL, 0, &h, NULL), ==, 0);
}

static void
test_malformed (void)
{
  static const struct { const char *head, *says; } bad[] = {
    { "HTTP/2 200\r\n\r\n", "bad status line" },
    { "HTTP/1.1 20 OK\r\n\r\n", "bad status line" },
    { "HTTP/1.1 200abc\r\nContent-Length: 0\r\n\r\n", "bad status line" },
    { "FTP/1.1 200 OK\r\n\r\n", "bad status line" },
    { "HTTP/1.1 099 Low\r\n\r\n", "below 100" },
    { "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "without a name" },
    { "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "without a name" },
    { "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", "folded" },
    { "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "not a number" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 3abc\r\n\r\n", "not a number" },
    { "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n", "not a number" },
    { "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "empty Content-Length" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "too large" },
    { "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
      "a second, different Content-Length" },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "unsupported Transfer-Encoding" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      VigilHttpsHead h;

      g_assert_cmpint (parse (bad[i].head, &h, &error), ==, -1);
      g_assert_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL);
      if (strstr (error->message, bad[i].says) == NULL)
        g_error ("%s: '%s' does not say '%s'", bad[i].head, error->message, bad[i].says);
    }
}

static void
test_too_large (void)
{
  g_autofree char *big = g_strnfill (VIGIL_HTTPS_MAX_HEAD + 10, 'a');
  VigilHttpsHead h;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (parse (big, &h, &error), ==, -1);
  g_assert_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/https-head/complete", test_complete);
  g_test_add_func ("/https-head/incomplete-needs-more", test_incomplete_needs_more);
  g_test_add_func ("/https-head/malformed-refused-naming-the-fault", test_malformed);
  g_test_add_func ("/https-head/too-large", test_too_large);
  return g_test_run ();
}
