/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reply head parser of the plugins' HTTPS client (vigil/util/https.h).
 * libcurl reads the wire, but it is lenient where an attacker-controlled
 * server could make two readers disagree on where a body ends
 * ("Content-Length: 3abc", a negative or repeated length, "HTTP/1.1
 * 200abc"): every head the client receives goes through this strict parser
 * too, which works on a plain buffer so that it can be fuzzed. Anything it
 * does not understand is refused, with the line that was wrong.
 */
#include "vigil/util/https.h"

#include <string.h>

/* 2^53: a length any JSON reader and any size_t can hold exactly. */
#define MAX_CONTENT_LENGTH G_GUINT64_CONSTANT (9007199254740992)

G_DEFINE_QUARK (vigil-https-error-quark, vigil_https_error)

static gboolean
protocol_error (GError **error, const char *what, const char *line, gsize len)
{
  g_autofree char *shown = g_strndup (line, MIN (len, 60));

  /* The line is the server's: show it printable, and never too much. */
  for (char *p = shown; *p; p++)
    if (!g_ascii_isprint (*p))
      *p = '?';
  g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
               "malformed HTTP reply: %s in '%s%s'", what, shown,
               len > 60 ? "…" : "");
  return FALSE;
}

static gboolean
parse_status_line (const char *line, gsize len, VigilHttpsHead *head,
                   GError **error)
{
  /* "HTTP/1.1 200" then the end, or a space and a reason phrase. */
  if (len < 12 || memcmp (line, "HTTP/1.", 7) != 0 ||
      (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
      !g_ascii_isdigit (line[9]) || !g_ascii_isdigit (line[10]) ||
      !g_ascii_isdigit (line[11]) || (len > 12 && line[12] != ' '))
    return protocol_error (error, "bad status line", line, len);
  head->status = (guint) ((line[9] - '0') * 100 + (line[10] - '0') * 10 +
                          (line[11] - '0'));
  if (head->status < 100)
    return protocol_error (error, "status code below 100", line, len);
  head->closing = line[7] == '0';
  return TRUE;
}

static gboolean
parse_length (const char *value, const char *line, gsize len,
              VigilHttpsHead *head, GError **error)
{
  guint64 n = 0;

  if (*value == '\0')
    return protocol_error (error, "empty Content-Length", line, len);
  for (const char *p = value; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return protocol_error (error, "Content-Length is not a number", line, len);
      if (n > MAX_CONTENT_LENGTH / 10)
        return protocol_error (error, "Content-Length too large", line, len);
      n = n * 10 + (guint64) (*p - '0');
    }
  if (n > MAX_CONTENT_LENGTH)
    return protocol_error (error, "Content-Length too large", line, len);
  if (head->content_length >= 0 && (guint64) head->content_length != n)
    return protocol_error (error, "a second, different Content-Length", line, len);
  head->content_length = (gint64) n;
  return TRUE;
}

static gboolean
parse_header (const char *line, gsize len, VigilHttpsHead *head, GError **error)
{
  const char *colon = memchr (line, ':', len);
  g_autofree char *name = NULL;
  g_autofree char *value = NULL;

  if (len > 0 && (line[0] == ' ' || line[0] == '\t'))
    return protocol_error (error, "folded header line", line, len);
  if (colon == NULL || colon == line)
    return protocol_error (error, "header line without a name", line, len);
  for (const char *p = line; p < colon; p++)
    if (!g_ascii_isgraph (*p))
      return protocol_error (error, "bad character in a header name", line, len);
  name = g_strndup (line, (gsize) (colon - line));
  value = g_strstrip (g_strndup (colon + 1, len - (gsize) (colon - line) - 1));
  if (g_ascii_strcasecmp (name, "Content-Length") == 0)
    return parse_length (value, line, len, head, error);
  if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
    {
      if (g_ascii_strcasecmp (value, "chunked") != 0)
        return protocol_error (error, "unsupported Transfer-Encoding", line, len);
      head->chunked = TRUE;
    }
  else if (g_ascii_strcasecmp (name, "Connection") == 0)
    {
      if (g_ascii_strcasecmp (value, "close") == 0)
        head->closing = TRUE;
      else if (g_ascii_strcasecmp (value, "keep-alive") == 0)
        head->closing = FALSE;
    }
  return TRUE;
}

int
vigil_https_parse_head (const char *data, gsize len, VigilHttpsHead *head,
                        GError **error)
{
  const char *end, *p = data;
  gsize scan = MIN (len, (gsize) VIGIL_HTTPS_MAX_HEAD);

  g_return_val_if_fail (head != NULL, -1);
  if (data == NULL || len == 0)
    return 0;
  end = g_strstr_len (data, (gssize) scan, "\r\n\r\n");
  if (end == NULL)
    {
      if (len < VIGIL_HTTPS_MAX_HEAD)
        return 0;
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
                   "malformed HTTP reply: head larger than %d bytes",
                   VIGIL_HTTPS_MAX_HEAD);
      return -1;
    }
  memset (head, 0, sizeof *head);
  head->content_length = -1;
  for (gboolean first = TRUE; p < end + 2; first = FALSE)
    {
      const char *eol = g_strstr_len (p, end + 2 - p, "\r\n");
      gsize line_len = (gsize) (eol - p);

      if (first ? !parse_status_line (p, line_len, head, error)
                : !parse_header (p, line_len, head, error))
        return -1;
      p = eol + 2;
    }
  if (head->chunked && head->content_length >= 0)
    {
      g_set_error (error, VIGIL_HTTPS_ERROR, VIGIL_HTTPS_ERROR_PROTOCOL,
                   "malformed HTTP reply: both Content-Length and chunked "
                   "framing, so its end is ambiguous");
      return -1;
    }
  head->head_len = (gsize) (end - data) + 4;
  return 1;
}
