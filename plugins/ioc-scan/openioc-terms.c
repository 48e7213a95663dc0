/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of supported IOC terms and conditions: which FileItem searches
 * the scanner can answer, with which comparison type, and which conditions
 * apply to which type. Everything not in the table is reported as an
 * unsupported term and evaluates as unknown. docs/ioc-terms.md mirrors this
 * table; keep them together.
 */
#include "openioc.h"

#include <string.h>

typedef struct {
  const char  *search;
  IocTerm      term;
  IocValueType type;
} TermInfo;

static const TermInfo terms[] = {
  { "FileItem/Md5sum", IOC_TERM_MD5, IOC_TYPE_HASH },
  { "FileItem/Sha1sum", IOC_TERM_SHA1, IOC_TYPE_HASH },
  { "FileItem/Sha256sum", IOC_TERM_SHA256, IOC_TYPE_HASH },
  { "FileItem/FileName", IOC_TERM_FILE_NAME, IOC_TYPE_STRING },
  { "FileItem/FullPath", IOC_TERM_FULL_PATH, IOC_TYPE_STRING },
  { "FileItem/FilePath", IOC_TERM_FILE_PATH, IOC_TYPE_STRING },
  { "FileItem/FileExtension", IOC_TERM_FILE_EXTENSION, IOC_TYPE_STRING },
  { "FileItem/SizeInBytes", IOC_TERM_SIZE, IOC_TYPE_INT },
  { "FileItem/Created", IOC_TERM_CREATED, IOC_TYPE_DATE },
  { "FileItem/Modified", IOC_TERM_MODIFIED, IOC_TYPE_DATE },
  { "FileItem/Accessed", IOC_TERM_ACCESSED, IOC_TYPE_DATE },
  { "FileItem/Changed", IOC_TERM_CHANGED, IOC_TYPE_DATE },
  { "FileItem/Username", IOC_TERM_USERNAME, IOC_TYPE_STRING },
};

IocTerm
ioc_term_lookup (const char *document, const char *search)
{
  if (search == NULL)
    return IOC_TERM_UNSUPPORTED;
  if (document != NULL && strcmp (document, "FileItem") != 0)
    return IOC_TERM_UNSUPPORTED;
  for (gsize i = 0; i < G_N_ELEMENTS (terms); i++)
    if (strcmp (terms[i].search, search) == 0)
      return terms[i].term;
  return IOC_TERM_UNSUPPORTED;
}

static const TermInfo *
info_of (IocTerm term)
{
  for (gsize i = 0; i < G_N_ELEMENTS (terms); i++)
    if (terms[i].term == term)
      return &terms[i];
  return NULL;
}

IocValueType
ioc_term_type (IocTerm term)
{
  const TermInfo *info = info_of (term);
  return info != NULL ? info->type : IOC_TYPE_STRING;
}

const char *
ioc_term_name (IocTerm term)
{
  const TermInfo *info = info_of (term);
  return info != NULL ? info->search : "unsupported";
}

gboolean
ioc_term_is_path (IocTerm term)
{
  return term == IOC_TERM_FULL_PATH || term == IOC_TERM_FILE_PATH;
}

static const char *const condition_names[] = {
  [IOC_COND_IS] = "is",
  [IOC_COND_CONTAINS] = "contains",
  [IOC_COND_MATCHES] = "matches",
  [IOC_COND_STARTS_WITH] = "starts-with",
  [IOC_COND_ENDS_WITH] = "ends-with",
  [IOC_COND_GREATER_THAN] = "greater-than",
  [IOC_COND_LESS_THAN] = "less-than",
  [IOC_COND_UNSUPPORTED] = "unsupported",
};

/* 1.0 spells negation into the condition (isnot, containsnot); 1.1 has a
 * negate attribute and the wider condition set. Both are accepted in both
 * versions, since real files mix them. */
IocCondition
ioc_condition_parse (const char *text, IocVersion version, gboolean *negate)
{
  *negate = FALSE;
  if (text == NULL)
    return IOC_COND_UNSUPPORTED;
  if (strcmp (text, "isnot") == 0)
    {
      *negate = TRUE;
      return IOC_COND_IS;
    }
  if (strcmp (text, "containsnot") == 0)
    {
      *negate = TRUE;
      return IOC_COND_CONTAINS;
    }
  for (gsize i = 0; i < IOC_COND_UNSUPPORTED; i++)
    if (strcmp (text, condition_names[i]) == 0)
      return (IocCondition) i;
  return IOC_COND_UNSUPPORTED;
}

const char *
ioc_condition_name (IocCondition cond)
{
  return cond <= IOC_COND_UNSUPPORTED ? condition_names[cond] : "unsupported";
}

gboolean
ioc_condition_applies (IocCondition cond, IocValueType type)
{
  switch (type)
    {
    case IOC_TYPE_STRING:
    case IOC_TYPE_HASH:
      return cond <= IOC_COND_ENDS_WITH;
    case IOC_TYPE_INT:
    case IOC_TYPE_DATE:
      return cond == IOC_COND_IS || cond == IOC_COND_GREATER_THAN
             || cond == IOC_COND_LESS_THAN;
    case IOC_TYPE_BOOL:
      return cond == IOC_COND_IS;
    default:
      return FALSE;
    }
}
