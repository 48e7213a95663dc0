/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text forms of IOC trees: one line per item (`FileItem/FileName is
 * "evil.exe"`), the indented tree `vigil ioc check` prints, and the
 * matched branches of a detection, which go into the detected-IOC card and
 * the `ioc.found` event so that an admin sees why a file matched. The
 * terms an IOC file names are escaped (vigil/util/text.h) so that an item
 * stays one line: the tree is printed line by line.
 */
#include "openioc.h"

#include "vigil/util/text.h"

static void
indent (GString *out, guint depth)
{
  for (guint i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

char *
ioc_item_to_string (const IocNode *item)
{
  GString *s = g_string_new (NULL);
  const char *text = item->value.text != NULL ? item->value.text : "";
  g_autofree char *escaped = g_strescape (text, NULL);

  vigil_text_append_printf (s, "%s %s%s \"%s\"",
                          item->search && *item->search ? item->search : "(no term)",
                          item->negate ? "not " : "",
                          item->condition == IOC_COND_UNSUPPORTED
                              ? item->condition_text : ioc_condition_name (item->condition),
                          escaped);
  if (item->preserve_case)
    g_string_append (s, " (preserve-case)");
  return g_string_free (s, FALSE);
}

void
ioc_node_print (GString *out, const IocNode *node, guint depth)
{
  indent (out, depth);
  if (node->is_item)
    {
      g_autofree char *line = ioc_item_to_string (node);
      const char *mark = node->term == IOC_TERM_UNSUPPORTED
                             || node->condition == IOC_COND_UNSUPPORTED ? "  [unsupported: unknown]"
                         : !node->value.valid ? "  [invalid: unknown]" : "";
      g_string_append_printf (out, "%s%s  (line %u)\n", line, mark, node->line);
      return;
    }
  g_string_append_printf (out, "%s  (line %u)\n", node->is_and ? "AND" : "OR", node->line);
  for (guint i = 0; i < node->children->len; i++)
    ioc_node_print (out, node->children->pdata[i], depth + 1);
}

static void print_true (GString *out, const IocNode *node, const IocFileFacts *facts,
                        GHashTable *marked, guint depth);

static void
print_true_children (GString *out, GPtrArray *children, gboolean gated_only,
                     const IocFileFacts *facts, GHashTable *marked, guint depth)
{
  for (guint i = 0; children != NULL && i < children->len; i++)
    {
      const IocNode *c = children->pdata[i];
      if (gated_only && !c->gated)
        continue;
      if (ioc_node_eval_hits (c, facts, marked) == IOC_TRUE)
        print_true (out, c, facts, marked, depth);
    }
}

/* Prints @node, known to be TRUE: an AND with all its children, an OR with
 * the children that made it TRUE. */
static void
print_true (GString *out, const IocNode *node, const IocFileFacts *facts,
            GHashTable *marked, guint depth)
{
  if (node->is_item)
    {
      g_autofree char *line = ioc_item_to_string (node);
      indent (out, depth);
      g_string_append_printf (out, "%s\n", line);
      return;
    }
  indent (out, depth);
  g_string_append (out, node->is_and ? "AND\n" : "OR\n");
  if (node->is_and || marked == NULL)
    print_true_children (out, node->children, FALSE, facts, marked, depth + 1);
  else
    {
      print_true_children (out, node->ungated, FALSE, facts, marked, depth + 1);
      print_true_children (out, g_hash_table_lookup (marked, node), TRUE, facts,
                           marked, depth + 1);
    }
}

char *
ioc_matched_text (const IocNode *node, const IocFileFacts *facts, GHashTable *marked)
{
  GString *out = g_string_new (NULL);

  if (ioc_node_eval_hits (node, facts, marked) == IOC_TRUE)
    print_true (out, node, facts, marked, 0);
  if (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}
