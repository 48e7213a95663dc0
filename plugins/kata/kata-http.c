/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small HTTP/1.1 client over a KataConn: one request at a time on a kept
 * connection, JSON bodies with Content-Length, replies read with a size
 * limit. The head parser works on a plain buffer so that it can be fuzzed;
 * it accepts Content-Length or chunked bodies and refuses anything it does
 * not understand instead of guessing.
 */
#include "kata-engine.h"

#include <string.h>

static gboolean
parse_status_line (const char *line, gsize len, guint *status, GError **error)
{
  guint64 code;
  char *end = NULL;
  g_autofree char *copy = g_strndup (line, len);

  if (len < 12 || !g_str_has_prefix (copy, "HTTP/1.") || copy[8] != ' ' ||
      !g_ascii_isdigit (copy[9]))
    goto bad;
  code = g_ascii_strtoull (copy + 9, &end, 10);
  if (end != copy + 12 || code < 100 || code > 599 || (*end != ' ' && *end != '\0'))
    goto bad;
  *status = (guint) code;
  return TRUE;

bad:
  g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
               "malformed HTTP status line");
  return FALSE;
}

static gboolean
parse_header (const char *line, gsize len, KataHttpHead *head, GError **error)
{
  const char *colon = memchr (line, ':', len);
  g_autofree char *name = NULL;
  g_autofree char *value = NULL;

  if (colon == NULL || colon == line)
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "malformed HTTP header line");
      return FALSE;
    }
  name = g_strndup (line, (gsize) (colon - line));
  value = g_strstrip (g_strndup (colon + 1, len - (gsize) (colon - line) - 1));
  if (g_ascii_strcasecmp (name, "Content-Length") == 0)
    {
      guint64 n = 0;
      if (!g_ascii_string_to_unsigned (value, 10, 0, KATA_HTTP_MAX_BODY, &n, NULL))
        {
          g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                       "bad or too large Content-Length");
          return FALSE;
        }
      head->content_length = (gint64) n;
    }
  else if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
    head->chunked = g_ascii_strcasecmp (value, "chunked") == 0;
  else if (g_ascii_strcasecmp (name, "Connection") == 0)
    head->close = g_ascii_strcasecmp (value, "close") == 0;
  return TRUE;
}

int
kata_http_parse_head (const char *buf, gsize len, KataHttpHead *head,
                      GError **error)
{
  const char *end;
  const char *p = buf;
  gboolean first = TRUE;

  if (buf == NULL || len == 0)
    return 0;
  end = g_strstr_len (buf, (gssize) MIN (len, KATA_HTTP_MAX_HEADER), "\r\n\r\n");
  if (end == NULL)
    {
      if (len < KATA_HTTP_MAX_HEADER)
        return 0;
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "HTTP reply head larger than %d bytes", KATA_HTTP_MAX_HEADER);
      return -1;
    }
  memset (head, 0, sizeof *head);
  head->content_length = -1;
  while (p < end + 2)
    {
      const char *eol = g_strstr_len (p, end + 2 - p, "\r\n");
      gsize line_len = (gsize) (eol - p);
      if (first ? !parse_status_line (p, line_len, &head->status, error)
                : !parse_header (p, line_len, head, error))
        return -1;
      first = FALSE;
      p = eol + 2;
    }
  head->header_len = (gsize) (end - buf) + 4;
  return 1;
}

/* Reads into @acc until it holds at least @want bytes. */
static gboolean
read_more (KataConn *conn, GByteArray *acc, gsize want, GError **error)
{
  guint8 chunk[16384];

  while (acc->len < want)
    {
      gssize n = kata_conn_read (conn, chunk, sizeof chunk, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                       "the server closed the connection mid-reply");
          return FALSE;
        }
      g_byte_array_append (acc, chunk, (guint) n);
    }
  return TRUE;
}

static gboolean
read_head (KataConn *conn, GByteArray *acc, KataHttpHead *head, GError **error)
{
  int rc;

  while ((rc = kata_http_parse_head ((const char *) acc->data, acc->len, head,
                                     error)) == 0)
    if (!read_more (conn, acc, acc->len + 1, error))
      return FALSE;
  return rc > 0;
}

/* Decodes a chunked body that starts at @acc[@pos]. */
static gboolean
read_chunked (KataConn *conn, GByteArray *acc, gsize pos, GByteArray *body,
              GError **error)
{
  for (;;)
    {
      const char *data, *eol;
      guint64 size;
      char *end = NULL;

      while ((eol = g_strstr_len ((const char *) acc->data + pos,
                                  (gssize) (acc->len - pos), "\r\n")) == NULL)
        if (acc->len - pos > 64 || !read_more (conn, acc, acc->len + 1, error))
          goto bad;
      data = (const char *) acc->data + pos;
      size = g_ascii_strtoull (data, &end, 16);
      if (end == data || size > KATA_HTTP_MAX_BODY - body->len)
        goto bad;
      pos = (gsize) (eol - (const char *) acc->data) + 2;
      if (!read_more (conn, acc, pos + size + 2, error))
        return FALSE;
      g_byte_array_append (body, acc->data + pos, (guint) size);
      pos += size + 2;
      if (size == 0)
        return TRUE;
    }
bad:
  if (error && *error == NULL)
    g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL, "malformed chunked body");
  return FALSE;
}

static gboolean
read_response (KataConn *conn, guint *status, GBytes **response,
               gboolean *closing, GError **error)
{
  g_autoptr (GByteArray) acc = g_byte_array_new ();
  g_autoptr (GByteArray) body = g_byte_array_new ();
  KataHttpHead head;

  if (!read_head (conn, acc, &head, error))
    return FALSE;
  if (head.chunked)
    {
      if (!read_chunked (conn, acc, head.header_len, body, error))
        return FALSE;
    }
  else if (head.content_length >= 0)
    {
      if (!read_more (conn, acc, head.header_len + (gsize) head.content_length, error))
        return FALSE;
      g_byte_array_append (body, acc->data + head.header_len,
                           (guint) head.content_length);
    }
  else
    {
      g_set_error (error, KATA_ERROR, KATA_ERROR_PROTOCOL,
                   "HTTP reply without a length");
      return FALSE;
    }
  *status = head.status;
  *response = g_byte_array_free_to_bytes (g_steal_pointer (&body));
  if (closing)
    *closing = head.close;
  return TRUE;
}

gboolean
kata_http_request (KataConn *conn, const char *method, const char *host,
                   const char *path, const char *body, gsize body_len,
                   guint *status, GBytes **response, gboolean *closing,
                   GError **error)
{
  g_autoptr (GString) req = g_string_new (NULL);

  g_string_printf (req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
                   "User-Agent: vigil-kata/1\r\nAccept: application/json\r\n"
                   "Connection: keep-alive\r\n", method, path, host);
  if (body != NULL)
    g_string_append_printf (req, "Content-Type: application/json\r\n"
                            "Content-Length: %" G_GSIZE_FORMAT "\r\n", body_len);
  g_string_append (req, "\r\n");
  if (!kata_conn_write (conn, req->str, req->len, error) ||
      (body != NULL && !kata_conn_write (conn, body, body_len, error)))
    return FALSE;
  return read_response (conn, status, response, closing, error);
}
