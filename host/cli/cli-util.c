/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers every `vigil` command shares: printing errors in
 * the one format the CLI uses ("vigil <cmd>: <what> (<where>)"), and
 * reading a JSON object from a file or stdin defensively. Input files are
 * admin- or attacker-supplied (policies, event payloads), so reading is
 * bounded in size and in nesting depth (json-glib's parser recurses, and a
 * file of 16 MiB of '[' would otherwise exhaust the stack), and go through
 * the strict reader (duplicate keys, NUL in strings, non-standard numbers
 * refused), whose errors name the file, line, column and JSON path. And
 * the escaping of what reaches stderr through g_printerr() (the logs of
 * `vigil serve` and `vigil agent`), line by line.
 */
#include "cli.h"

#include "vigil/util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_SIZE (16 * 1024 * 1024)
#define MAX_DEPTH VIGIL_JSON_MAX_DEPTH

void
cli_error (const char *command, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (command != NULL)
    vigil_print_to (stderr, "vigil %s: %s\n", command, message);
  else
    vigil_print_to (stderr, "vigil: %s\n", message);
}

/* g_printerr() hands over the formatted message whole: its own newlines
 * stay, every other control character is escaped. Its arguments are not
 * told apart from its format here, so a log line prefers vigil_print_to(),
 * which also escapes a newline an argument holds. */
static void
printerr_escaped (const char *message)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *p = message;

  for (const char *nl; (nl = strchr (p, '\n')) != NULL; p = nl + 1)
    {
      vigil_text_append_escaped (out, p, nl - p);
      g_string_append_c (out, '\n');
    }
  vigil_text_append_escaped (out, p, -1);
  fwrite (out->str, 1, out->len, stderr); /* raw-ok: escaped above */
}

void
cli_escape_printerr (void)
{
  g_set_printerr_handler (printerr_escaped);
}

/* Reads all of @fd up to @max_size bytes. */
static GBytes *
read_limited (int fd, const char *name, gsize max_size, GError **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];

  for (;;)
    {
      gssize n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       "%s: cannot read: %s", name, g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > max_size)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                       "%s: larger than the limit of %" G_GSIZE_FORMAT " bytes",
                       name, max_size);
          return NULL;
        }
      g_byte_array_append (buf, chunk, n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

static GBytes *
read_input (const char *path, const char *name, gsize max_size, GError **error)
{
  int fd;
  GBytes *bytes;

  if (g_str_equal (path, "-"))
    return read_limited (STDIN_FILENO, name, max_size, error);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "%s: cannot open: %s", name, g_strerror (saved));
      return NULL;
    }
  bytes = read_limited (fd, name, max_size, error);
  close (fd);
  return bytes;
}

/* Finds where nesting first exceeds MAX_DEPTH, skipping strings. Returns
 * FALSE and sets @line/@column (1-based) when it does. */
static gboolean
depth_ok (const char *data, gsize len, guint *line, guint *column)
{
  guint depth = 0, l = 1, c = 0;
  gboolean in_string = FALSE, escaped = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char ch = data[i];
      c++;
      if (ch == '\n')
        l++, c = 0;
      else if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (ch == '\\')
            escaped = TRUE;
          else if (ch == '"')
            in_string = FALSE;
        }
      else if (ch == '"')
        in_string = TRUE;
      else if ((ch == '[' || ch == '{') && ++depth > MAX_DEPTH)
        {
          *line = l, *column = c;
          return FALSE;
        }
      else if ((ch == ']' || ch == '}') && depth > 0)
        depth--;
    }
  return TRUE;
}

/**
 * cli_read_json_object_full:
 * @path: a file, or "-" for stdin
 * @max_size: the size limit in bytes
 *
 * Returns: (transfer full): the top-level object, or %NULL with an error
 *   that names the file (and line:column for syntax errors).
 */
JsonObject *
cli_read_json_object_full (const char *path, gsize max_size, GError **error)
{
  const char *name = g_str_equal (path, "-") ? "<stdin>" : path;
  g_autoptr(GBytes) bytes = read_input (path, name, max_size, error);
  g_autoptr(JsonNode) root = NULL;
  const char *data;
  gsize len;
  guint line, column;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &len);
  if (!depth_ok (data, len, &line, &column))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE,
                   "%s:%u:%u: nested deeper than %d levels", name, line, column, MAX_DEPTH);
      return NULL;
    }
  /* Task parameters and local settings are acted on: big integers are
   * refused like every other thing json-glib would read wrongly. */
  root = vigil_json_parse (len > 0 ? data : "", (gssize) len, VIGIL_JSON_STRICT, name, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "%s: expected a JSON object at the top level, found %s", name,
                   json_node_type_name (root));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

JsonObject *
cli_read_json_object (const char *path, GError **error)
{
  return cli_read_json_object_full (path, DEFAULT_MAX_SIZE, error);
}

char *
cli_format_time (gint64 time_us)
{
  gint64 secs = time_us / G_USEC_PER_SEC;
  gint64 rest = time_us % G_USEC_PER_SEC;
  g_autoptr (GDateTime) whole = NULL;
  g_autoptr (GDateTime) utc = NULL;
  g_autoptr (GDateTime) local = NULL;

  if (rest < 0)
    {
      secs -= 1;
      rest += G_USEC_PER_SEC;
    }
  whole = g_date_time_new_from_unix_utc (secs);
  utc = whole ? g_date_time_add (whole, rest) : NULL;
  local = utc ? g_date_time_to_local (utc) : NULL;
  return local ? g_date_time_format (local, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}
