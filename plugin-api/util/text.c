/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Escaped text output (vigil/util/text.h): the escaping of one string, and
 * a printf that escapes each string it substitutes. The printf walks the
 * format itself so that it knows which arguments are strings; every other
 * conversion is handed, one at a time, to GLib's printf with its flags,
 * width and precision as written. The argument types are the ones the
 * compiler checked against the format (G_GNUC_PRINTF), so reading them
 * with va_arg by conversion and length is safe.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vigil/util/text.h"

/* Characters that are printable but reorder what follows them on screen. */
static gboolean
is_bidi_control (gunichar c)
{
  return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

void
vigil_text_append_escaped (GString *out, const char *text, gssize len)
{
  const char *p, *end;

  g_return_if_fail (out != NULL);
  if (text == NULL)
    return;
  end = text + (len < 0 ? strlen (text) : (gsize) len);
  for (p = text; p < end;)
    {
      guchar c = (guchar) *p;
      gunichar u;

      if (c < 0x80)
        {
          if (c < 0x20 || c == 0x7F)
            g_string_append_printf (out, "\\x%02X", c);
          else
            g_string_append_c (out, (char) c);
          p++;
          continue;
        }
      u = g_utf8_get_char_validated (p, end - p);
      if (u == (gunichar) -1 || u == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02X", c);
          p++;
          continue;
        }
      if (u <= 0x9F || is_bidi_control (u))
        g_string_append_printf (out, "\\u%04X", u);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
}

char *
vigil_text_escape (const char *text)
{
  GString *out = g_string_new (NULL);

  vigil_text_append_escaped (out, text, -1);
  return g_string_free (out, FALSE);
}

gsize
vigil_text_width (const char *text)
{
  g_autofree char *escaped = vigil_text_escape (text);

  return g_utf8_strlen (escaped, -1);
}

/* One conversion of a format, as parsed by parse_spec(). */
typedef struct {
  char flags[8];
  int width;          /* -1: none */
  int precision;      /* -1: none */
  char length[3];     /* "", "h", "hh", "l", "ll", "L", "j", "z", "t" */
  char conversion;
} Spec;

/* Parses the conversion after a '%' at *@fmt, taking '*' widths and
 * precisions from @args. Returns FALSE on a format it does not know. */
static gboolean
parse_spec (const char **fmt, va_list *args, Spec *spec)
{
  const char *f = *fmt;
  gsize n = 0;

  memset (spec, 0, sizeof *spec);
  spec->width = spec->precision = -1;
  while (*f != '\0' && strchr ("-+ #0'", *f) != NULL && n < sizeof spec->flags - 1)
    spec->flags[n++] = *f++;
  if (*f == '*')
    {
      spec->width = va_arg (*args, int), f++;
      if (spec->width < 0)
        {
          spec->width = -spec->width;
          if (n < sizeof spec->flags - 1)
            spec->flags[n++] = '-';
        }
    }
  else
    for (spec->width = g_ascii_isdigit (*f) ? 0 : -1; g_ascii_isdigit (*f); f++)
      spec->width = spec->width * 10 + (*f - '0');
  if (*f == '.')
    {
      f++;
      if (*f == '*')
        spec->precision = va_arg (*args, int), f++;
      else
        for (spec->precision = 0; g_ascii_isdigit (*f); f++)
          spec->precision = spec->precision * 10 + (*f - '0');
    }
  for (n = 0; *f != '\0' && strchr ("hlLjzt", *f) != NULL && n < 2; n++)
    spec->length[n] = *f++;
  spec->conversion = *f;
  if (*f == '\0' || *f == 'n')
    return FALSE;
  *fmt = f + 1;
  return TRUE;
}

/* The spec again as a one-conversion format, widths written out. */
static void
spec_format (const Spec *spec, char *buf, gsize size)
{
  g_autofree char *width = spec->width >= 0 ? g_strdup_printf ("%d", spec->width) : g_strdup ("");
  g_autofree char *prec = spec->precision >= 0 ? g_strdup_printf (".%d", spec->precision)
                                               : g_strdup ("");

  g_snprintf (buf, size, "%%%s%s%s%s%c", spec->flags, width, prec, spec->length,
              spec->conversion);
}

/* Appends @text escaped, cut at the precision before and padded to the
 * width (in characters) after. */
static void
append_string (GString *out, const Spec *spec, const char *text)
{
  g_autoptr (GString) cell = g_string_new (NULL);
  gsize len = text != NULL ? strlen (text) : 0;
  gsize chars;

  if (spec->precision >= 0)
    len = MIN (len, (gsize) spec->precision);
  vigil_text_append_escaped (cell, text, (gssize) len);
  chars = g_utf8_strlen (cell->str, -1);
  if (strchr (spec->flags, '-') == NULL)
    for (; spec->width > 0 && chars < (gsize) spec->width; chars++)
      g_string_append_c (out, ' ');
  g_string_append_len (out, cell->str, cell->len);
  for (; spec->width > 0 && chars < (gsize) spec->width; chars++)
    g_string_append_c (out, ' ');
}

/* Appends one non-string conversion, reading its argument by type. */
static void
append_other (GString *out, const Spec *spec, va_list *args)
{
  char fmt[48];
  const char *l = spec->length;

  spec_format (spec, fmt, sizeof fmt);
  switch (spec->conversion)
    {
    case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
      if (g_str_equal (l, "l"))
        g_string_append_printf (out, fmt, va_arg (*args, long));
      else if (g_str_equal (l, "ll"))
        g_string_append_printf (out, fmt, va_arg (*args, long long));
      else if (g_str_equal (l, "j"))
        g_string_append_printf (out, fmt, va_arg (*args, intmax_t));
      else if (g_str_equal (l, "z"))
        g_string_append_printf (out, fmt, va_arg (*args, size_t));
      else if (g_str_equal (l, "t"))
        g_string_append_printf (out, fmt, va_arg (*args, ptrdiff_t));
      else
        g_string_append_printf (out, fmt, va_arg (*args, int));
      break;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
      if (g_str_equal (l, "L"))
        g_string_append_printf (out, fmt, va_arg (*args, long double));
      else
        g_string_append_printf (out, fmt, va_arg (*args, double));
      break;
    case 'p':
      g_string_append_printf (out, fmt, va_arg (*args, void *));
      break;
    default:
      /* Not a conversion the compiler would have let through. */
      g_string_append_c (out, '%');
      g_string_append_c (out, spec->conversion);
    }
}

void
vigil_text_append_vprintf (GString *out, const char *format, va_list args)
{
  va_list ap;
  const char *f;

  g_return_if_fail (out != NULL && format != NULL);
  va_copy (ap, args);
  for (f = format; *f != '\0';)
    {
      const char *pct = strchr (f, '%');
      Spec spec;

      if (pct == NULL)
        {
          g_string_append (out, f);
          break;
        }
      g_string_append_len (out, f, pct - f);
      f = pct + 1;
      if (*f == '%')
        {
          g_string_append_c (out, '%');
          f++;
          continue;
        }
      if (!parse_spec (&f, &ap, &spec))
        {
          g_critical ("vigil_text_append_vprintf: unsupported format \"%s\"", format);
          break;
        }
      if (spec.conversion == 's')
        append_string (out, &spec, va_arg (ap, const char *));
      else if (spec.conversion == 'c')
        {
          char c = (char) va_arg (ap, int);
          spec.precision = -1;
          append_string (out, &spec, (char[]) { c, '\0' });
        }
      else
        append_other (out, &spec, &ap);
    }
  va_end (ap);
}

void
vigil_text_append_printf (GString *out, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vigil_text_append_vprintf (out, format, args);
  va_end (args);
}

char *
vigil_text_printf (const char *format, ...)
{
  GString *out = g_string_new (NULL);
  va_list args;

  va_start (args, format);
  vigil_text_append_vprintf (out, format, args);
  va_end (args);
  return g_string_free (out, FALSE);
}

static void
print_to (FILE *stream, const char *format, va_list args)
{
  g_autoptr (GString) out = g_string_new (NULL);

  vigil_text_append_vprintf (out, format, args);
  fwrite (out->str, 1, out->len, stream);
}

void
vigil_print (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  print_to (stdout, format, args);
  va_end (args);
}

void
vigil_print_to (FILE *stream, const char *format, ...)
{
  va_list args;

  g_return_if_fail (stream != NULL);
  va_start (args, format);
  print_to (stream, format, args);
  va_end (args);
}

void
vigil_print_usage (FILE *stream, const char *text)
{
  g_return_if_fail (stream != NULL && text != NULL);
  fputs (text, stream);
}
