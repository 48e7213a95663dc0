/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The strict JSON reader: every document Vigil reads from outside (policies,
 * events, task parameters, settings files, server replies) goes through
 * here. json-glib is lenient where a security product must not be: a
 * duplicate key silently takes the last value, "\u0000" cuts a string short,
 * 010 reads as 8 and 0x10 as 16, and an integer beyond 2^63 wraps. So a
 * small scanner first checks the bytes against RFC 8259 and those rules,
 * and only then does json-glib build the tree. Errors say what was wrong
 * and where: line, column (in characters) and the JSON path of the value.
 * Values are never quoted in an error (a string may be a secret); keys and
 * numbers are.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "vigil/util/json.h"

typedef struct
{
  const char *key;      /* the key as written (escapes kept), or NULL in an array */
  gsize key_len;
  guint index;          /* the element's index in an array */
} Frame;

typedef struct
{
  const char *data;
  gsize len;
  gsize pos;
  VigilJsonFlags flags;
  Frame frames[VIGIL_JSON_MAX_DEPTH + 1];
  guint depth;          /* frames in use */
  GArray *big;          /* offsets and lengths of integers kept as strings */
  const char *keep_under; /* the JSON path under which they are kept */
  GError **error;
  const char *where;
} Scanner;

/* "$.a[2].b", or $["odd key"] for keys that are not identifiers. */
static char *
render_path (Scanner *s)
{
  GString *path = g_string_new ("$");

  for (guint i = 0; i < s->depth; i++)
    {
      const Frame *f = &s->frames[i];
      gboolean plain = f->key != NULL && f->key_len > 0
                       && (g_ascii_isalpha (f->key[0]) || f->key[0] == '_');

      if (f->key == NULL)
        {
          g_string_append_printf (path, "[%u]", f->index);
          continue;
        }
      for (gsize k = 0; plain && k < f->key_len; k++)
        if (!g_ascii_isalnum (f->key[k]) && f->key[k] != '_' && f->key[k] != '-')
          plain = FALSE;
      if (plain)
        g_string_append_printf (path, ".%.*s", (int) f->key_len, f->key);
      else
        g_string_append_printf (path, "[\"%.*s\"]", (int) f->key_len, f->key);
    }
  return g_string_free (path, FALSE);
}

/* Line and column (1-based, in characters) of byte @at. */
static void
position (Scanner *s, gsize at, guint *line, guint *column)
{
  *line = 1;
  *column = 1;
  for (gsize i = 0; i < at && i < s->len; i++)
    {
      guchar c = (guchar) s->data[i];
      if (c == '\n')
        {
          (*line)++;
          *column = 1;
        }
      else if ((c & 0xC0) != 0x80)
        (*column)++;
    }
}

static gboolean
fail_at (Scanner *s, gsize at, int code, const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail_at (Scanner *s, gsize at, int code, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;
  g_autofree char *path = render_path (s);
  guint line, column;

  if (s->error == NULL)
    return FALSE;
  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  position (s, at, &line, &column);
  if (s->where != NULL)
    g_set_error (s->error, JSON_PARSER_ERROR, code, "%s:%u:%u: %s (at %s)",
                 s->where, line, column, what, path);
  else
    g_set_error (s->error, JSON_PARSER_ERROR, code, "line %u, column %u: %s (at %s)",
                 line, column, what, path);
  return FALSE;
}

/* What is at @at, for "expected X, found Y". */
static char *
describe_char (Scanner *s, gsize at)
{
  guchar c;

  if (at >= s->len)
    return g_strdup ("the end of the document");
  c = (guchar) s->data[at];
  if (c == '\0')
    return g_strdup ("a NUL byte");
  if (c >= 0x21 && c < 0x7F)
    return g_strdup_printf ("'%c'", c);
  return g_strdup_printf ("byte 0x%02X", c);
}

static gboolean
unexpected (Scanner *s, const char *expected)
{
  g_autofree char *found = describe_char (s, s->pos);

  return fail_at (s, s->pos, JSON_PARSER_ERROR_PARSE, "expected %s, found %s", expected, found);
}

static void
skip_space (Scanner *s)
{
  while (s->pos < s->len)
    {
      char c = s->data[s->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      s->pos++;
    }
}

static int
hex4 (const char *p)
{
  int v = 0;

  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (p[i]);
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  return v;
}

/* Scans a string starting at the opening quote. When @decoded is not NULL,
 * the decoded UTF-8 goes there (keys are compared decoded: "a" and
 * "\u0061" are the same key). */
static gboolean
scan_string (Scanner *s, GString *decoded)
{
  gsize start = s->pos;

  s->pos++;                                     /* the opening quote */
  while (s->pos < s->len)
    {
      guchar c = (guchar) s->data[s->pos];

      if (c == '"')
        {
          s->pos++;
          return TRUE;
        }
      if (c == '\0')
        return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA, "a NUL byte in a string");
      if (c < 0x20)
        return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA,
                        "control character 0x%02X in a string (write it as an escape)", c);
      if (c == '\\')
        {
          char e;
          if (s->pos + 1 >= s->len)
            break;
          e = s->data[s->pos + 1];
          if (e == 'u')
            {
              int cp, low;
              if (s->pos + 6 > s->len || (cp = hex4 (s->data + s->pos + 2)) < 0)
                return fail_at (s, s->pos, JSON_PARSER_ERROR_PARSE,
                                "\\u must be followed by four hex digits");
              if (cp == 0)
                return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA,
                                "\\u0000 (NUL) in a string");
              if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA,
                                "\\u%04X is a low surrogate without a high one", (guint) cp);
              if (cp >= 0xD800 && cp <= 0xDBFF)
                {
                  if (s->pos + 12 > s->len || s->data[s->pos + 6] != '\\'
                      || s->data[s->pos + 7] != 'u'
                      || (low = hex4 (s->data + s->pos + 8)) < 0xDC00 || low > 0xDFFF)
                    return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA,
                                    "\\u%04X is a high surrogate without a low one", (guint) cp);
                  cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                  s->pos += 6;
                }
              if (decoded != NULL)
                g_string_append_unichar (decoded, (gunichar) cp);
              s->pos += 6;
              continue;
            }
          if (strchr ("\"\\/bfnrt", e) == NULL || e == '\0')
            return fail_at (s, s->pos, JSON_PARSER_ERROR_PARSE,
                            "unknown escape in a string (only \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
          if (decoded != NULL)
            g_string_append_c (decoded, e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n'
                                        : e == 'r' ? '\r' : e == 't' ? '\t' : e);
          s->pos += 2;
          continue;
        }
      if (c < 0x80)
        {
          if (decoded != NULL)
            g_string_append_c (decoded, (char) c);
          s->pos++;
          continue;
        }
      {
        /* One multi-byte UTF-8 character, validated. */
        gsize n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || s->pos + n > s->len
            || !g_utf8_validate_len (s->data + s->pos, n, NULL))
          return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA,
                          "a string is not valid UTF-8");
        if (decoded != NULL)
          g_string_append_len (decoded, s->data + s->pos, (gssize) n);
        s->pos += n;
      }
    }
  return fail_at (s, start, JSON_PARSER_ERROR_PARSE, "a string is not terminated");
}

static gboolean
is_delimiter (Scanner *s, gsize at)
{
  return at >= s->len || strchr (" \t\r\n,]}:", s->data[at]) != NULL;
}

/* Whether an integer beyond 64 bits at the current path is kept. */
static gboolean
keep_here (Scanner *s)
{
  g_autofree char *path = NULL;
  gsize n;

  if (!(s->flags & VIGIL_JSON_KEEP_BIG_INTEGERS))
    return FALSE;
  if (s->keep_under == NULL)
    return TRUE;
  path = render_path (s);
  n = strlen (s->keep_under);
  return strncmp (path, s->keep_under, n) == 0
         && (path[n] == '\0' || path[n] == '.' || path[n] == '[');
}

/* A number as RFC 8259 writes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static gboolean
scan_number (Scanner *s)
{
  gsize start = s->pos, p = s->pos;
  gboolean integer = TRUE;
  g_autofree char *token = NULL;

#define DIGIT(at) ((at) < s->len && g_ascii_isdigit (s->data[at]))
  if (p < s->len && s->data[p] == '-')
    p++;
  if (!DIGIT (p))
    goto nonstandard;
  if (s->data[p] == '0' && DIGIT (p + 1))
    goto nonstandard;                           /* 010 is not octal 8: it is refused */
  while (DIGIT (p))
    p++;
  if (p < s->len && s->data[p] == '.')
    {
      integer = FALSE;
      if (!DIGIT (p + 1))
        goto nonstandard;
      p++;
      while (DIGIT (p))
        p++;
    }
  if (p < s->len && (s->data[p] == 'e' || s->data[p] == 'E'))
    {
      integer = FALSE;
      p++;
      if (p < s->len && (s->data[p] == '+' || s->data[p] == '-'))
        p++;
      if (!DIGIT (p))
        goto nonstandard;
      while (DIGIT (p))
        p++;
    }
#undef DIGIT
  if (!is_delimiter (s, p))
    goto nonstandard;

  token = g_strndup (s->data + start, p - start);
  if (integer)
    {
      errno = 0;
      (void) g_ascii_strtoll (token, NULL, 10);
      if (errno == ERANGE)
        {
          if (!keep_here (s))
            return fail_at (s, start, JSON_PARSER_ERROR_INVALID_DATA,
                            "integer %.40s%s is outside the 64-bit range (-2^63 to 2^63-1)",
                            token, strlen (token) > 40 ? "..." : "");
          if (s->big != NULL)
            {
              gsize span[2] = { start, p - start };
              g_array_append_vals (s->big, span, 2);
            }
        }
    }
  else if (isinf (g_ascii_strtod (token, NULL)))
    return fail_at (s, start, JSON_PARSER_ERROR_INVALID_DATA,
                    "number %.40s%s is too large for a double", token,
                    strlen (token) > 40 ? "..." : "");
  s->pos = p;
  return TRUE;

nonstandard:
  /* Show the whole token as written: up to the next delimiter. */
  p = start;
  while (p < s->len && p - start < 40 && !is_delimiter (s, p) && g_ascii_isgraph (s->data[p]))
    p++;
  return fail_at (s, start, JSON_PARSER_ERROR_INVALID_DATA,
                  "non-standard number '%.*s' (JSON numbers are decimal, with no leading zero, "
                  "no leading '+' or '.', and digits after '.' and 'e')",
                  (int) (p - start), s->data + start);
}

static gboolean scan_value (Scanner *s);

static gboolean
push (Scanner *s, const char *key, gsize key_len, guint index)
{
  if (s->depth >= VIGIL_JSON_MAX_DEPTH)
    return fail_at (s, s->pos, JSON_PARSER_ERROR_INVALID_DATA,
                    "nested deeper than %d levels", VIGIL_JSON_MAX_DEPTH);
  s->frames[s->depth].key = key;
  s->frames[s->depth].key_len = key_len;
  s->frames[s->depth].index = index;
  s->depth++;
  return TRUE;
}

static gboolean
scan_object (Scanner *s)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  s->pos++;                                     /* { */
  skip_space (s);
  if (s->pos < s->len && s->data[s->pos] == '}')
    {
      s->pos++;
      return TRUE;
    }
  for (;;)
    {
      GString *key = g_string_new (NULL);
      gsize key_at = s->pos, key_end;
      gboolean ok;

      if (s->pos >= s->len || s->data[s->pos] != '"')
        {
          g_string_free (key, TRUE);
          return unexpected (s, "a key in double quotes");
        }
      ok = scan_string (s, key);
      key_end = s->pos - 1;
      if (ok && g_hash_table_contains (seen, key->str))
        {
          /* The path names the object; the message names the key. */
          gsize n = key_end - key_at - 1;
          ok = fail_at (s, key_at, JSON_PARSER_ERROR_INVALID_DATA, "duplicate key \"%.*s\"%s",
                        (int) MIN (n, 80), s->data + key_at + 1, n > 80 ? "..." : "");
        }
      if (!ok)
        {
          g_string_free (key, TRUE);
          return FALSE;
        }
      g_hash_table_add (seen, g_string_free (key, FALSE));
      skip_space (s);
      if (s->pos >= s->len || s->data[s->pos] != ':')
        {
          g_autofree char *found = describe_char (s, s->pos);
          return fail_at (s, s->pos, JSON_PARSER_ERROR_MISSING_COLON,
                          "expected ':' after a key, found %s", found);
        }
      s->pos++;
      if (!push (s, s->data + key_at + 1, key_end - key_at - 1, 0))
        return FALSE;
      skip_space (s);
      if (!scan_value (s))
        return FALSE;
      s->depth--;
      skip_space (s);
      if (s->pos < s->len && s->data[s->pos] == ',')
        {
          s->pos++;
          skip_space (s);
          continue;
        }
      if (s->pos < s->len && s->data[s->pos] == '}')
        {
          s->pos++;
          return TRUE;
        }
      return unexpected (s, "',' or '}'");
    }
}

static gboolean
scan_array (Scanner *s)
{
  s->pos++;                                     /* [ */
  skip_space (s);
  if (s->pos < s->len && s->data[s->pos] == ']')
    {
      s->pos++;
      return TRUE;
    }
  for (guint index = 0;; index++)
    {
      if (!push (s, NULL, 0, index) || !scan_value (s))
        return FALSE;
      s->depth--;
      skip_space (s);
      if (s->pos < s->len && s->data[s->pos] == ',')
        {
          s->pos++;
          skip_space (s);
          continue;
        }
      if (s->pos < s->len && s->data[s->pos] == ']')
        {
          s->pos++;
          return TRUE;
        }
      return unexpected (s, "',' or ']'");
    }
}

static gboolean
scan_literal (Scanner *s, const char *word)
{
  gsize n = strlen (word);

  if (s->pos + n <= s->len && memcmp (s->data + s->pos, word, n) == 0 && is_delimiter (s, s->pos + n))
    {
      s->pos += n;
      return TRUE;
    }
  return unexpected (s, "a value (an object, array, string, number, true, false or null)");
}

static gboolean
scan_value (Scanner *s)
{
  char c;

  if (s->pos >= s->len)
    return unexpected (s, "a value");
  c = s->data[s->pos];
  switch (c)
    {
    case '{':
      return scan_object (s);
    case '[':
      return scan_array (s);
    case '"':
      return scan_string (s, NULL);
    case 't':
      return scan_literal (s, "true");
    case 'f':
      return scan_literal (s, "false");
    case 'n':
      return scan_literal (s, "null");
    default:
      if (c == '-' || c == '+' || c == '.' || g_ascii_isdigit (c)
          || g_ascii_strncasecmp (s->data + s->pos, "nan", MIN (3, s->len - s->pos)) == 0
          || g_ascii_strncasecmp (s->data + s->pos, "inf", MIN (3, s->len - s->pos)) == 0)
        return scan_number (s);
      return unexpected (s, "a value (an object, array, string, number, true, false or null)");
    }
}

static gboolean
scan_document (Scanner *s)
{
  skip_space (s);
  if (s->pos >= s->len)
    return fail_at (s, s->pos, JSON_PARSER_ERROR_PARSE, "no JSON value (the document is empty)");
  if (!scan_value (s))
    return FALSE;
  skip_space (s);
  if (s->pos < s->len)
    return unexpected (s, "the end of the document after the value");
  return TRUE;
}

gboolean
vigil_json_check (const char *data, gsize length, VigilJsonFlags flags,
                  const char *where, GError **error)
{
  g_autofree Scanner *s = g_new0 (Scanner, 1);

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  s->data = data ? data : "";
  s->len = length;
  s->flags = flags;
  s->where = where;
  s->error = error;
  return scan_document (s);
}

JsonNode *
vigil_json_parse (const char *data, gssize length, VigilJsonFlags flags,
                  const char *where, GError **error)
{
  return vigil_json_parse_full (data, length, flags, NULL, where, error);
}

JsonNode *
vigil_json_parse_full (const char *data, gssize length, VigilJsonFlags flags,
                       const char *keep_under, const char *where, GError **error)
{
  g_autofree Scanner *s = g_new0 (Scanner, 1);
  g_autoptr (GArray) big = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  g_autoptr (GString) rewritten = NULL;
  gsize len;

  g_return_val_if_fail (data != NULL || length <= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = data ? data : "";
  len = length < 0 ? strlen (data) : (gsize) length;
  s->data = data;
  s->len = len;
  s->flags = flags;
  s->where = where;
  s->error = error;
  s->big = big;
  s->keep_under = keep_under;
  if (!scan_document (s))
    return NULL;

  /* Integers beyond 64 bits, kept as written: json-glib would wrap them,
   * so they reach it as strings holding the digits. */
  if (big->len > 0)
    {
      gsize from = 0;
      rewritten = g_string_sized_new (len + big->len);
      for (guint i = 0; i < big->len; i += 2)
        {
          gsize at = g_array_index (big, gsize, i), n = g_array_index (big, gsize, i + 1);
          g_string_append_len (rewritten, data + from, (gssize) (at - from));
          g_string_append_c (rewritten, '"');
          g_string_append_len (rewritten, data + at, (gssize) n);
          g_string_append_c (rewritten, '"');
          from = at + n;
        }
      g_string_append_len (rewritten, data + from, (gssize) (len - from));
      data = rewritten->str;
      len = rewritten->len;
    }

  if (!json_parser_load_from_data (parser, data, (gssize) len, &local))
    {
      /* The scanner accepts only what json-glib reads; should the two ever
       * disagree, the document is still refused. */
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "%s%s%s",
                   where ? where : "", where ? ": " : "", local->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE, "%s%sno JSON value",
                   where ? where : "", where ? ": " : "");
      return NULL;
    }
  return json_parser_steal_root (parser);
}

JsonObject *
vigil_json_parse_object (const char *data, gssize length, VigilJsonFlags flags,
                         const char *where, GError **error)
{
  g_autoptr (JsonNode) root = vigil_json_parse (data, length, flags, where, error);

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "%s%sexpected a JSON object at the top level, found %s",
                   where ? where : "", where ? ": " : "", json_node_type_name (root));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}
