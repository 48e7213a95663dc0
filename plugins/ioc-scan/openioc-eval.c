/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The three-valued evaluator. An IOC tree is evaluated over one file at a
 * time, so every item under an AND holds for the same file. Kleene logic:
 * FALSE wins an AND, TRUE wins an OR, anything else with UNKNOWN stays
 * UNKNOWN, NOT UNKNOWN is UNKNOWN, and only TRUE at the root is a
 * detection. Terms the scanner cannot see (registry, process, DNS...) and
 * invalid items are UNKNOWN. ioc_node_eval_hits() is the same evaluation
 * using the index's hit set to skip the parts that cannot be TRUE.
 */
#include "openioc.h"

#include <string.h>

IocTri
ioc_tri_not (IocTri v)
{
  return v == IOC_UNKNOWN ? IOC_UNKNOWN : v == IOC_TRUE ? IOC_FALSE : IOC_TRUE;
}

IocTri
ioc_tri_and (IocTri a, IocTri b)
{
  if (a == IOC_FALSE || b == IOC_FALSE)
    return IOC_FALSE;
  return a == IOC_UNKNOWN || b == IOC_UNKNOWN ? IOC_UNKNOWN : IOC_TRUE;
}

IocTri
ioc_tri_or (IocTri a, IocTri b)
{
  if (a == IOC_TRUE || b == IOC_TRUE)
    return IOC_TRUE;
  return a == IOC_UNKNOWN || b == IOC_UNKNOWN ? IOC_UNKNOWN : IOC_FALSE;
}

/* ------------------------------------------------------------------ */
/* Facts derived from the path, computed once per file when needed     */
/* ------------------------------------------------------------------ */

void
ioc_derived_clear (IocDerived *d)
{
  g_free (d->name_folded);
  g_free (d->path_folded);
  g_free (d->dir);
  g_free (d->dir_folded);
  g_free (d->ext);
  g_free (d->ext_folded);
  g_free (d->path_windows);
  g_free (d->dir_windows);
  memset (d, 0, sizeof *d);
}

static char *
dir_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  while (*path == '/' && path < slash)
    path++;
  return slash != NULL && slash > path ? g_strndup (path, slash - path) : g_strdup ("");
}

static char *
ext_of (const char *name)
{
  const char *dot = strrchr (name, '.');
  return g_strdup (dot != NULL ? dot + 1 : "");
}

static char *
windows_of (const char *path, const char *drive)
{
  char *w = g_strconcat (drive, path, NULL);
  g_strdelimit (w, "/", '\\');
  return w;
}

static void
derive (const IocFileFacts *f, IocDerived *d)
{
  if (d->dir != NULL)
    return;
  d->dir = dir_of (f->path);
  d->ext = ext_of (f->name);
  d->name_folded = ioc_fold (f->name);
  d->path_folded = ioc_fold (f->path);
  d->dir_folded = ioc_fold (d->dir);
  d->ext_folded = ioc_fold (d->ext);
  d->path_windows = windows_of (f->path, "C:");
  d->dir_windows = windows_of (d->dir, "");
}

/* ------------------------------------------------------------------ */
/* Items                                                               */
/* ------------------------------------------------------------------ */

static IocTri
test_hash (const IocNode *item, const IocFileFacts *f, IocHashMask bit,
           const char *hex)
{
  if (!(f->have & bit))
    return IOC_UNKNOWN;
  return ioc_value_test_string (&item->value, item->condition, TRUE, hex, hex);
}

static IocTri
test_time (const IocNode *item, gint64 t)
{
  if (t == IOC_TIME_UNKNOWN)
    return IOC_UNKNOWN;
  return ioc_value_test_number (&item->value, item->condition, t);
}

/* A path pattern may be written for Windows (`\\Temp\\.*\.exe`) or for
 * POSIX: it matches when it matches either form of the path. */
static IocTri
test_path (const IocNode *item, const char *posix, const char *folded,
           const char *windows)
{
  IocTri v = ioc_value_test_string (&item->value, item->condition,
                                    item->preserve_case, posix, folded);
  if (v != IOC_TRUE && item->condition == IOC_COND_MATCHES)
    v = ioc_value_test_string (&item->value, item->condition,
                               item->preserve_case, windows, NULL);
  return v;
}

static IocTri
compare_with (const IocNode *item, const IocFileFacts *f, IocDerived *d)
{
  const IocValue *v = &item->value;
  gboolean pc = item->preserve_case;

  switch (item->term)
    {
    case IOC_TERM_MD5: return test_hash (item, f, IOC_HASH_MD5, f->md5);
    case IOC_TERM_SHA1: return test_hash (item, f, IOC_HASH_SHA1, f->sha1);
    case IOC_TERM_SHA256: return test_hash (item, f, IOC_HASH_SHA256, f->sha256);
    case IOC_TERM_FILE_NAME:
      return ioc_value_test_string (v, item->condition, pc, f->name, d->name_folded);
    case IOC_TERM_FULL_PATH:
      return test_path (item, f->path, d->path_folded, d->path_windows);
    case IOC_TERM_FILE_PATH:
      return test_path (item, d->dir, d->dir_folded, d->dir_windows);
    case IOC_TERM_FILE_EXTENSION:
      return ioc_value_test_string (v, item->condition, pc, d->ext, d->ext_folded);
    case IOC_TERM_SIZE:
      return f->size > (guint64) G_MAXINT64 ? IOC_UNKNOWN
             : ioc_value_test_number (v, item->condition, (gint64) f->size);
    case IOC_TERM_CREATED: return test_time (item, f->created);
    case IOC_TERM_MODIFIED: return test_time (item, f->modified);
    case IOC_TERM_ACCESSED: return test_time (item, f->accessed);
    case IOC_TERM_CHANGED: return test_time (item, f->changed);
    case IOC_TERM_USERNAME:
      return f->owner == NULL ? IOC_UNKNOWN
             : ioc_value_test_string (v, item->condition, pc, f->owner, NULL);
    default:
      return IOC_UNKNOWN;
    }
}

IocTri
ioc_item_compare (const IocNode *item, const IocFileFacts *facts)
{
  IocDerived local = { 0 };
  IocDerived *d = facts->derived != NULL ? facts->derived : &local;
  IocTri v;

  if (!item->value.valid || item->term == IOC_TERM_UNSUPPORTED
      || item->condition == IOC_COND_UNSUPPORTED)
    return IOC_UNKNOWN;
  if (item->term >= IOC_TERM_FILE_NAME && item->term != IOC_TERM_SIZE
      && item->term < IOC_TERM_CREATED)
    derive (facts, d);
  v = compare_with (item, facts, d);
  ioc_derived_clear (&local);
  return v;
}

IocTri
ioc_item_eval (const IocNode *item, const IocFileFacts *facts)
{
  IocTri v = ioc_item_compare (item, facts);
  return item->negate ? ioc_tri_not (v) : v;
}

/* ------------------------------------------------------------------ */
/* Trees                                                               */
/* ------------------------------------------------------------------ */

static IocTri
eval_children (const IocNode *node, GPtrArray *children, gboolean gated_only,
               IocTri acc, const IocFileFacts *facts, GHashTable *marked)
{
  for (guint i = 0; children != NULL && i < children->len; i++)
    {
      const IocNode *c = children->pdata[i];
      IocTri v;
      if (gated_only && !c->gated)
        continue;
      v = ioc_node_eval_hits (c, facts, marked);
      acc = node->is_and ? ioc_tri_and (acc, v) : ioc_tri_or (acc, v);
      if ((node->is_and && acc == IOC_FALSE) || (!node->is_and && acc == IOC_TRUE))
        break;
    }
  return acc;
}

/* With @marked (the index's hit set: hit items, their ancestors, each
 * mapped to its marked children), a gated node that is not marked is
 * FALSE without looking at it, and an OR only visits its ungated children
 * and its marked ones. Without @marked, everything is evaluated. */
IocTri
ioc_node_eval_hits (const IocNode *node, const IocFileFacts *facts,
                    GHashTable *marked)
{
  IocTri acc;

  if (marked != NULL && node->gated && !g_hash_table_contains (marked, node))
    return IOC_FALSE;
  if (node->is_item)
    return ioc_item_eval (node, facts);
  if (node->children->len == 0)
    return IOC_UNKNOWN;
  acc = node->is_and ? IOC_TRUE : IOC_FALSE;
  if (marked == NULL || node->is_and)
    return eval_children (node, node->children, FALSE, acc, facts, marked);
  acc = eval_children (node, node->ungated, FALSE, acc, facts, marked);
  if (acc == IOC_TRUE)
    return acc;
  return eval_children (node, g_hash_table_lookup (marked, node), TRUE, acc,
                        facts, marked);
}

IocTri
ioc_node_eval (const IocNode *node, const IocFileFacts *facts)
{
  return ioc_node_eval_hits (node, facts, NULL);
}
