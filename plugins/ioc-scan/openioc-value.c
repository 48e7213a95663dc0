/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Values of IndicatorItems and their comparison with one file's facts.
 * Strings are never trimmed (leading and trailing blanks in real IOCs
 * matter); hashes, numbers and dates are. Caseless comparison folds both
 * sides unless preserve-case is set; `matches` is an unanchored PCRE
 * (GRegex). Windows-style paths in FullPath/FilePath are mapped onto POSIX
 * device paths as docs/ioc-terms.md describes.
 */
#include "openioc.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ */
/* Normalization                                                       */
/* ------------------------------------------------------------------ */

char *
ioc_fold (const char *text)
{
  if (g_utf8_validate (text, -1, NULL))
    return g_utf8_casefold (text, -1);
  return g_ascii_strdown (text, -1);
}

char *
ioc_hash_normalize (const char *text, gsize len)
{
  const char *end;
  char *out;

  while (g_ascii_isspace (*text))
    text++;
  end = text + strlen (text);
  while (end > text && g_ascii_isspace (end[-1]))
    end--;
  if ((gsize) (end - text) != len)
    return NULL;
  out = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        {
          g_free (out);
          return NULL;
        }
      out[i] = g_ascii_tolower (text[i]);
    }
  out[len] = '\0';
  return out;
}

char *
ioc_path_to_posix (const char *text, gboolean strip_leading)
{
  char *copy = g_strdup (text);
  char *start = copy;
  gsize len;

  g_strdelimit (copy, "\\", '/');
  if (g_ascii_isalpha (copy[0]) && copy[1] == ':')
    start += 2;
  if (strip_leading)
    {
      while (*start == '/')
        start++;
      len = strlen (start);
      while (len > 0 && start[len - 1] == '/')
        start[--len] = '\0';
    }
  memmove (copy, start, strlen (start) + 1);
  return copy;
}

gboolean
ioc_parse_date (const char *text, gint64 *out)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (copy, utc);

  if (dt == NULL && strlen (copy) == 10)
    {
      g_autofree char *midnight = g_strconcat (copy, "T00:00:00Z", NULL);
      dt = g_date_time_new_from_iso8601 (midnight, utc);
    }
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

static gboolean
parse_int (const char *text, gint64 *out)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  return g_ascii_string_to_signed (copy, 10, G_MININT64, G_MAXINT64, out, NULL);
}

static gboolean
parse_bool (const char *text, gint64 *out)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  if (g_ascii_strcasecmp (copy, "true") == 0 || strcmp (copy, "1") == 0)
    *out = 1;
  else if (g_ascii_strcasecmp (copy, "false") == 0 || strcmp (copy, "0") == 0)
    *out = 0;
  else
    return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static gsize
hash_length (IocTerm term)
{
  return term == IOC_TERM_SHA1 ? 40 : term == IOC_TERM_SHA256 ? 64 : 32;
}

static gboolean
parse_scalar (IocValueType type, const char *text, gint64 *out)
{
  if (type == IOC_TYPE_INT)
    return parse_int (text, out);
  if (type == IOC_TYPE_DATE)
    return ioc_parse_date (text, out);
  return parse_bool (text, out);
}

/* int and date: "X TO Y" (inclusive) with `is`, else one value. */
static void
parse_number (IocValue *value, IocCondition cond, const char *text, char **why)
{
  const char *to = strstr (text, " TO ");

  if (to != NULL && value->type != IOC_TYPE_BOOL)
    {
      g_autofree char *lo = g_strndup (text, to - text);
      if (cond != IOC_COND_IS)
        *why = g_strdup ("a range 'X TO Y' only goes with the condition 'is'");
      else if (!parse_scalar (value->type, lo, &value->lo)
               || !parse_scalar (value->type, to + 4, &value->hi))
        *why = g_strdup_printf ("'%s' is not a range of two values", text);
      else if (value->lo > value->hi)
        *why = g_strdup_printf ("range '%s' is empty", text);
      value->is_range = TRUE;
    }
  else if (!parse_scalar (value->type, text, &value->lo))
    *why = g_strdup_printf ("'%s' is not %s", text,
                            value->type == IOC_TYPE_INT ? "an integer"
                            : value->type == IOC_TYPE_DATE ? "an ISO 8601 date"
                            : "a boolean");
  value->hi = value->is_range ? value->hi : value->lo;
  value->valid = *why == NULL;
}

/* Lowercase hex of exactly @len characters. Sixteen at a time with SSE2
 * (every x86-64 has it), branch-free otherwise: hex digits and letters
 * alternate at random, so a branch per character mispredicts half the
 * time; with 100,000 items this check showed in profiles either way. */
static gboolean
is_normal_hash (const char *text, gsize len)
{
  guint bad = 0;
  gsize i = 0;

  if (strlen (text) != len)
    return FALSE;
#ifdef __SSE2__
  for (; i + 16 <= len; i += 16)
    {
      /* Signed compares: a byte of 0x80 or more is negative, so neither
       * range takes it. */
      __m128i c = _mm_loadu_si128 ((const __m128i *) (text + i));
      __m128i digit = _mm_and_si128 (_mm_cmpgt_epi8 (c, _mm_set1_epi8 ('0' - 1)),
                                     _mm_cmplt_epi8 (c, _mm_set1_epi8 ('9' + 1)));
      __m128i letter = _mm_and_si128 (_mm_cmpgt_epi8 (c, _mm_set1_epi8 ('a' - 1)),
                                      _mm_cmplt_epi8 (c, _mm_set1_epi8 ('f' + 1)));
      if (_mm_movemask_epi8 (_mm_or_si128 (digit, letter)) != 0xffff)
        return FALSE;
    }
#endif
  for (; i < len; i++)
    {
      guchar c = (guchar) text[i];
      bad |= !(((guchar) (c - '0') < 10) | ((guchar) (c - 'a') < 6));
    }
  return bad == 0;
}

static void
parse_string (IocValue *value, IocTerm term, IocCondition cond,
              gboolean preserve_case, const char *text, char **why)
{
  if (cond == IOC_COND_MATCHES)
    {
      g_autoptr (GError) error = NULL;
      GRegexCompileFlags flags = G_REGEX_OPTIMIZE;
      if (!preserve_case || value->type == IOC_TYPE_HASH)
        flags |= G_REGEX_CASELESS;
      value->regex = g_regex_new (text, flags, 0, &error);
      if (value->regex == NULL)
        *why = g_strdup_printf ("bad regular expression: %s", error->message);
    }
  else if (value->type == IOC_TYPE_HASH && cond == IOC_COND_IS)
    {
      /* Nearly every hash is written in its normal form already: compare
       * the text itself rather than keep a second copy per item. */
      value->cmp = is_normal_hash (text, hash_length (term)) ? (char *) text
                   : ioc_hash_normalize (text, hash_length (term));
      if (value->cmp == NULL)
        *why = g_strdup_printf ("'%s' is not a %s", text, ioc_term_name (term));
    }
  else if (value->type == IOC_TYPE_HASH)
    value->cmp = g_strstrip (g_ascii_strdown (text, -1));
  else if (ioc_term_is_path (term))
    value->cmp = ioc_path_to_posix (text, term == IOC_TERM_FILE_PATH);
  else if (term == IOC_TERM_FILE_EXTENSION && text[0] == '.'
           && (cond == IOC_COND_IS || cond == IOC_COND_STARTS_WITH))
    value->cmp = g_strdup (text + 1);
  else
    value->cmp = (char *) text;
  /* Hashes are already lowercase: the folded form is the same string. */
  if (value->cmp != NULL)
    value->cmp_folded = value->type == IOC_TYPE_HASH ? value->cmp : ioc_fold (value->cmp);
  value->valid = *why == NULL;
}

gboolean
ioc_value_parse_normal_hash (IocValue *value, IocTerm term, IocCondition cond, char *text)
{
  if (cond != IOC_COND_IS
      || (term != IOC_TERM_MD5 && term != IOC_TERM_SHA1 && term != IOC_TERM_SHA256)
      || !is_normal_hash (text, hash_length (term)))
    return FALSE;
  /* What parse_string makes of it: the text is its own compared form. */
  value->type = IOC_TYPE_HASH;
  value->text = value->cmp = value->cmp_folded = text;
  value->valid = TRUE;
  return TRUE;
}

void
ioc_value_parse (IocValue *value, IocValueType type, IocTerm term,
                 IocCondition cond, gboolean preserve_case, const char *text,
                 char **why)
{
  ioc_value_parse_take (value, type, term, cond, preserve_case, g_strdup (text), why);
}

void
ioc_value_parse_take (IocValue *value, IocValueType type, IocTerm term,
                      IocCondition cond, gboolean preserve_case, char *text,
                      char **why)
{
  *why = NULL;
  ioc_value_clear (value);
  value->type = type;
  value->text = text;
  if (text == NULL || *text == '\0')
    {
      *why = g_strdup ("empty Content");
      return;
    }
  if (type == IOC_TYPE_STRING || type == IOC_TYPE_HASH)
    parse_string (value, term, cond, preserve_case, text, why);
  else
    parse_number (value, cond, text, why);
}

void
ioc_value_clear (IocValue *value)
{
  /* cmp may be @text itself, and cmp_folded either of them. */
  if (value->cmp_folded != value->cmp && value->cmp_folded != value->text)
    g_free (value->cmp_folded);
  if (value->cmp != value->text)
    g_free (value->cmp);
  g_free (value->text);
  g_clear_pointer (&value->regex, g_regex_unref);
  memset (value, 0, sizeof *value);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static gboolean
regex_test (const GRegex *regex, const char *subject)
{
  g_autofree char *valid = NULL;

  /* GRegex works on UTF-8; a Linux file name may be any bytes. */
  if (!g_utf8_validate (subject, -1, NULL))
    subject = valid = g_utf8_make_valid (subject, -1);
  return g_regex_match (regex, subject, 0, NULL);
}

IocTri
ioc_value_test_string (const IocValue *value, IocCondition cond,
                       gboolean preserve_case, const char *subject,
                       const char *folded)
{
  g_autofree char *tmp = NULL;
  const char *s, *v;
  gboolean hit;

  if (!value->valid || subject == NULL)
    return IOC_UNKNOWN;
  if (cond == IOC_COND_MATCHES)
    return regex_test (value->regex, subject) ? IOC_TRUE : IOC_FALSE;
  if (!preserve_case && value->type != IOC_TYPE_HASH && folded == NULL)
    folded = tmp = ioc_fold (subject);
  s = preserve_case || value->type == IOC_TYPE_HASH ? subject : folded;
  v = preserve_case || value->type == IOC_TYPE_HASH ? value->cmp : value->cmp_folded;
  switch (cond)
    {
    case IOC_COND_IS: hit = strcmp (s, v) == 0; break;
    case IOC_COND_CONTAINS: hit = strstr (s, v) != NULL; break;
    case IOC_COND_STARTS_WITH: hit = g_str_has_prefix (s, v); break;
    case IOC_COND_ENDS_WITH: hit = g_str_has_suffix (s, v); break;
    default: return IOC_UNKNOWN;
    }
  return hit ? IOC_TRUE : IOC_FALSE;
}

IocTri
ioc_value_test_number (const IocValue *value, IocCondition cond, gint64 subject)
{
  if (!value->valid)
    return IOC_UNKNOWN;
  switch (cond)
    {
    case IOC_COND_IS:
      return subject >= value->lo && subject <= value->hi ? IOC_TRUE : IOC_FALSE;
    case IOC_COND_GREATER_THAN:
      return subject > value->lo ? IOC_TRUE : IOC_FALSE;
    case IOC_COND_LESS_THAN:
      return subject < value->lo ? IOC_TRUE : IOC_FALSE;
    default:
      return IOC_UNKNOWN;
    }
}
