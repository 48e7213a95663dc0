/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parses OpenIOC 1.0 and 1.1 documents into IocDoc trees with libxml2, as
 * untrusted input: a size limit checked before reading, no entity
 * substitution, no DTD loading, no network, no XInclude, any DOCTYPE
 * refused as soon as the parser sees it, and an external entity loader that
 * denies every request made for our parser contexts (libxml2 2.9 still reads
 * a file:// entity when substitution is on, so we never turn it on and deny
 * the load as well). The version comes from the root element's namespace,
 * never from the file name. A file that fails keeps its problems (with file
 * and line) in its IocDoc and never stops the rest of the collection.
 */
#include "openioc.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <string.h>
#include <sys/stat.h>

#define NS_1_0 "http://schemas.mandiant.com/2010/ioc"
#define NS_1_1 "http://openioc.org/schemas/OpenIOC_1.1"
/* Deep enough for any real IOC, shallow enough for the recursion. */
#define MAX_DEPTH 64

/* Hung on ctxt->_private so the hooks know the context is ours. */
typedef struct {
  guint32  magic;
  gboolean doctype;
  guint    doctype_line;
  guint    error_line;
  char    *error;
} ParseState;

#define PARSE_STATE_MAGIC 0x10c5ca11u

static xmlExternalEntityLoader previous_loader;

/* ------------------------------------------------------------------ */
/* libxml2 hooks                                                       */
/* ------------------------------------------------------------------ */

static ParseState *
state_of (xmlParserCtxtPtr ctxt)
{
  ParseState *state = ctxt != NULL ? ctxt->_private : NULL;
  return state != NULL && state->magic == PARSE_STATE_MAGIC ? state : NULL;
}

/* Denies every external load for our contexts (and for a NULL context,
 * where we cannot tell); other users of libxml2 in the process keep the
 * loader they had. */
static xmlParserInputPtr
deny_entity_loader (const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
  if (ctxt == NULL || state_of (ctxt) != NULL || previous_loader == NULL)
    return NULL;
  return previous_loader (url, id, ctxt);
}

static void
install_loader_once (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      xmlInitParser ();
      previous_loader = xmlGetExternalEntityLoader ();
      xmlSetExternalEntityLoader (deny_entity_loader);
      g_once_init_leave (&done, 1);
    }
}

/* A DOCTYPE may declare entities (billion laughs, external files): stop
 * right there, before any declaration inside it is read. */
static void
on_doctype (void *ctx, const xmlChar *name, const xmlChar *external_id,
            const xmlChar *system_id)
{
  xmlParserCtxtPtr ctxt = ctx;
  ParseState *state = state_of (ctxt);
  if (state != NULL)
    {
      state->doctype = TRUE;
      state->doctype_line = ctxt->input != NULL ? ctxt->input->line : 0;
    }
  xmlStopParser (ctxt);
}

static void
on_error (void *ctx, xmlErrorPtr err)
{
  ParseState *state = state_of (ctx);
  if (state == NULL || err == NULL || err->level < XML_ERR_ERROR
      || state->error != NULL)
    return;
  state->error = g_strchomp (g_strdup (err->message ? err->message : "malformed XML"));
  state->error_line = err->line > 0 ? (guint) err->line : 0;
}

static xmlDocPtr
parse_xml (const char *file, const char *data, gsize len, ParseState *state)
{
  xmlParserCtxtPtr ctxt;
  xmlDocPtr doc;
  int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING;

  install_loader_once ();
  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    return NULL;
  ctxt->_private = state;
  ctxt->sax->internalSubset = on_doctype;
  ctxt->sax->serror = on_error;
  doc = xmlCtxtReadMemory (ctxt, data, (int) len, file, NULL, options);
  if (doc != NULL && (state->doctype || !ctxt->wellFormed))
    g_clear_pointer (&doc, xmlFreeDoc);
  xmlFreeParserCtxt (ctxt);
  return doc;
}

/* ------------------------------------------------------------------ */
/* Documents                                                           */
/* ------------------------------------------------------------------ */

static void
problem_free (gpointer p)
{
  IocProblem *problem = p;
  g_free (problem->message);
  g_free (problem);
}

static void
unsupported_free (gpointer p)
{
  IocUnsupported *u = p;
  g_free (u->term);
  g_free (u);
}

static void
node_free (IocNode *node)
{
  if (node == NULL)
    return;
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_clear_pointer (&node->ungated, g_ptr_array_unref);
  g_free (node->id);
  g_free (node->document);
  g_free (node->search);
  g_free (node->content_type);
  g_free (node->condition_text);
  ioc_value_clear (&node->value);
  g_free (node);
}

static void
doc_free (gpointer p)
{
  IocDoc *doc = p;
  node_free (doc->root);
  g_ptr_array_unref (doc->problems);
  g_ptr_array_unref (doc->unsupported);
  g_free (doc->file);
  g_free (doc->id);
  g_free (doc->short_description);
  g_free (doc->description);
  g_free (doc->authored_by);
  g_free (doc);
}

void
ioc_doc_add_problem (IocDoc *doc, gboolean error, guint line,
                     const char *format, ...)
{
  IocProblem *problem = g_new0 (IocProblem, 1);
  va_list args;

  va_start (args, format);
  problem->message = g_strdup_vprintf (format, args);
  va_end (args);
  problem->error = error;
  problem->line = line;
  g_ptr_array_add (doc->problems, problem);
}

gboolean
ioc_doc_has_errors (const IocDoc *doc)
{
  for (guint i = 0; i < doc->problems->len; i++)
    if (((IocProblem *) doc->problems->pdata[i])->error)
      return TRUE;
  return FALSE;
}

static void
add_unsupported (IocDoc *doc, guint line, const char *format, ...)
{
  IocUnsupported *u = g_new0 (IocUnsupported, 1);
  va_list args;

  va_start (args, format);
  u->term = g_strdup_vprintf (format, args);
  va_end (args);
  u->line = line;
  g_ptr_array_add (doc->unsupported, u);
}

/* ------------------------------------------------------------------ */
/* Tree                                                                */
/* ------------------------------------------------------------------ */

static gboolean
is_element (xmlNodePtr n, const char *name)
{
  return n->type == XML_ELEMENT_NODE && strcmp ((const char *) n->name, name) == 0;
}

static char *
prop (xmlNodePtr n, const char *name)
{
  xmlChar *v = xmlGetProp (n, (const xmlChar *) name);
  char *copy = v != NULL ? g_strdup ((const char *) v) : NULL;
  xmlFree (v);
  return copy;
}

static char *
text_of (xmlNodePtr n)
{
  xmlChar *v = xmlNodeGetContent (n);
  char *copy = g_strdup (v != NULL ? (const char *) v : "");
  xmlFree (v);
  return copy;
}

static xmlNodePtr
child_element (xmlNodePtr parent, const char *name)
{
  for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
    if (is_element (c, name))
      return c;
  return NULL;
}

static gboolean
prop_true (xmlNodePtr n, const char *name)
{
  g_autofree char *v = prop (n, name);
  return v != NULL && (g_ascii_strcasecmp (g_strstrip (v), "true") == 0
                       || strcmp (v, "1") == 0);
}

static void
check_item_value (IocDoc *doc, IocNode *item, const char *content)
{
  g_autofree char *why = NULL;
  IocValueType type = ioc_term_type (item->term);

  item->value.text = g_strdup (content != NULL ? content : "");
  if (content == NULL || *content == '\0')
    {
      ioc_doc_add_problem (doc, FALSE, item->line,
                           "empty Content in %s: invalid item, evaluated as unknown",
                           item->search ? item->search : "IndicatorItem");
      return;
    }
  if (item->term == IOC_TERM_UNSUPPORTED || item->condition == IOC_COND_UNSUPPORTED)
    return;
  if (!ioc_condition_applies (item->condition, type))
    {
      ioc_doc_add_problem (doc, FALSE, item->line,
                           "condition '%s' does not apply to %s: evaluated as unknown",
                           item->condition_text, item->search);
      return;
    }
  ioc_value_parse (&item->value, type, item->term, item->condition,
                   item->preserve_case, content, &why);
  if (!item->value.valid)
    ioc_doc_add_problem (doc, FALSE, item->line, "%s %s: %s: evaluated as unknown",
                         item->search, item->condition_text, why);
}

static IocNode *
parse_item (IocDoc *doc, xmlNodePtr x)
{
  IocNode *item = g_new0 (IocNode, 1);
  xmlNodePtr context = child_element (x, "Context");
  xmlNodePtr content = child_element (x, "Content");
  g_autofree char *text = content != NULL ? text_of (content) : NULL;

  item->is_item = TRUE;
  item->line = (guint) xmlGetLineNo (x);
  item->id = prop (x, "id");
  item->condition_text = prop (x, "condition");
  if (item->condition_text == NULL)
    item->condition_text = g_strdup ("");
  item->condition = ioc_condition_parse (item->condition_text, doc->version, &item->negate);
  if (doc->version == IOC_V1_1)
    {
      item->negate = item->negate != prop_true (x, "negate");
      item->preserve_case = prop_true (x, "preserve-case");
    }
  if (context != NULL)
    {
      item->document = prop (context, "document");
      item->search = prop (context, "search");
    }
  if (content != NULL)
    item->content_type = prop (content, "type");
  if (item->search == NULL)
    item->search = g_strdup ("");
  item->term = ioc_term_lookup (item->document, item->search);
  if (item->term == IOC_TERM_UNSUPPORTED)
    add_unsupported (doc, item->line, "%s", *item->search ? item->search : "(no Context)");
  else if (item->condition == IOC_COND_UNSUPPORTED)
    add_unsupported (doc, item->line, "%s condition '%s'", item->search,
                     item->condition_text);
  check_item_value (doc, item, text);
  doc->n_items++;
  return item;
}

static void
warn_only_negated (IocDoc *doc, IocNode *node)
{
  guint negated = 0;

  if (node->children->len == 0)
    {
      ioc_doc_add_problem (doc, FALSE, node->line,
                           "empty Indicator %s: evaluated as unknown",
                           node->id ? node->id : "");
      return;
    }
  for (guint i = 0; i < node->children->len; i++)
    {
      IocNode *c = node->children->pdata[i];
      if (!c->is_item || !c->negate)
        return;
      negated++;
    }
  if (negated > 0)
    ioc_doc_add_problem (doc, FALSE, node->line,
                         "branch %s is made only of negated items: it matches "
                         "almost every file", node->id ? node->id : "");
}

static IocNode *
parse_indicator (IocDoc *doc, xmlNodePtr x, guint depth)
{
  IocNode *node = g_new0 (IocNode, 1);
  g_autofree char *op = prop (x, "operator");

  node->line = (guint) xmlGetLineNo (x);
  node->id = prop (x, "id");
  node->children = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  if (op == NULL || (g_ascii_strcasecmp (op, "AND") != 0 && g_ascii_strcasecmp (op, "OR") != 0))
    ioc_doc_add_problem (doc, FALSE, node->line,
                         "Indicator operator '%s' is neither AND nor OR: read as OR",
                         op ? op : "");
  node->is_and = op != NULL && g_ascii_strcasecmp (op, "AND") == 0;
  if (depth > MAX_DEPTH)
    {
      ioc_doc_add_problem (doc, TRUE, node->line, "Indicators nested deeper than %d",
                           MAX_DEPTH);
      return node;
    }
  for (xmlNodePtr c = x->children; c != NULL; c = c->next)
    {
      IocNode *child = NULL;
      if (is_element (c, "Indicator"))
        child = parse_indicator (doc, c, depth + 1);
      else if (is_element (c, "IndicatorItem"))
        child = parse_item (doc, c);
      if (child != NULL)
        {
          child->parent = node;
          g_ptr_array_add (node->children, child);
        }
    }
  warn_only_negated (doc, node);
  return node;
}

static char *
metadata_text (xmlNodePtr parent, const char *name)
{
  xmlNodePtr n = parent != NULL ? child_element (parent, name) : NULL;
  return n != NULL ? text_of (n) : NULL;
}

static void
parse_root (IocDoc *doc, xmlNodePtr root)
{
  const char *ns = root->ns != NULL ? (const char *) root->ns->href : "";
  xmlNodePtr meta, tree, top;

  if (strcmp (ns, NS_1_0) == 0 && is_element (root, "ioc"))
    doc->version = IOC_V1_0;
  else if (strcmp (ns, NS_1_1) == 0 && is_element (root, "OpenIOC"))
    doc->version = IOC_V1_1;
  else
    {
      ioc_doc_add_problem (doc, TRUE, (guint) xmlGetLineNo (root),
                           "not an OpenIOC 1.0 or 1.1 document: root <%s> in "
                           "namespace '%s'", root->name, ns);
      return;
    }
  doc->id = prop (root, "id");
  meta = doc->version == IOC_V1_1 ? child_element (root, "metadata") : root;
  doc->short_description = metadata_text (meta, "short_description");
  doc->description = metadata_text (meta, "description");
  doc->authored_by = metadata_text (meta, "authored_by");
  tree = child_element (root, doc->version == IOC_V1_1 ? "criteria" : "definition");
  top = tree != NULL ? child_element (tree, "Indicator") : NULL;
  if (top == NULL)
    {
      ioc_doc_add_problem (doc, TRUE, (guint) xmlGetLineNo (tree ? tree : root),
                           "no <%s><Indicator> in the document",
                           doc->version == IOC_V1_1 ? "criteria" : "definition");
      return;
    }
  doc->root = parse_indicator (doc, top, 0);
  if (doc->id == NULL || *doc->id == '\0')
    {
      ioc_doc_add_problem (doc, FALSE, (guint) xmlGetLineNo (root),
                           "the document has no id: its file name is used");
      g_free (doc->id);
      doc->id = g_strdup (doc->file);
    }
}

/* ------------------------------------------------------------------ */
/* Collection                                                          */
/* ------------------------------------------------------------------ */

IocCollection *
ioc_collection_new (gsize max_file_size)
{
  IocCollection *coll = g_new0 (IocCollection, 1);
  coll->docs = g_ptr_array_new_with_free_func (doc_free);
  coll->max_file_size = max_file_size > 0 ? max_file_size : IOC_DEFAULT_MAX_FILE_SIZE;
  return coll;
}

void
ioc_collection_free (IocCollection *coll)
{
  if (coll == NULL)
    return;
  g_clear_pointer (&coll->index, ioc_index_free);
  g_ptr_array_unref (coll->docs);
  g_free (coll);
}

static IocDoc *
doc_new (IocCollection *coll, const char *file)
{
  IocDoc *doc = g_new0 (IocDoc, 1);
  doc->file = g_strdup (file);
  doc->problems = g_ptr_array_new_with_free_func (problem_free);
  doc->unsupported = g_ptr_array_new_with_free_func (unsupported_free);
  g_ptr_array_add (coll->docs, doc);
  return doc;
}

static gboolean
check_size (IocCollection *coll, IocDoc *doc, guint64 size)
{
  if (size <= coll->max_file_size)
    return TRUE;
  ioc_doc_add_problem (doc, TRUE, 0,
                       "file is %" G_GUINT64_FORMAT " bytes, over the limit of %"
                       G_GSIZE_FORMAT " bytes (setting ioc_scan.limits.max_ioc_file_kb)",
                       size, coll->max_file_size);
  return FALSE;
}

IocDoc *
ioc_collection_add_memory (IocCollection *coll, const char *file,
                           const char *data, gsize len)
{
  IocDoc *doc = doc_new (coll, file);
  ParseState state = { PARSE_STATE_MAGIC, FALSE, 0, 0, NULL };
  xmlDocPtr xdoc;

  if (!check_size (coll, doc, len))
    return doc;
  xdoc = parse_xml (file, data, len, &state);
  if (state.doctype)
    ioc_doc_add_problem (doc, TRUE, state.doctype_line,
                         "a DOCTYPE is not allowed in an IOC file (entities and "
                         "external DTDs are refused)");
  else if (xdoc == NULL)
    ioc_doc_add_problem (doc, TRUE, state.error_line, "malformed XML: %s",
                         state.error ? state.error : "could not be parsed");
  else if (xmlDocGetRootElement (xdoc) == NULL)
    ioc_doc_add_problem (doc, TRUE, 0, "no root element");
  else
    parse_root (doc, xmlDocGetRootElement (xdoc));
  g_free (state.error);
  if (xdoc != NULL)
    xmlFreeDoc (xdoc);
  doc->usable = doc->root != NULL && !ioc_doc_has_errors (doc);
  return doc;
}

IocDoc *
ioc_collection_add_file (IocCollection *coll, const char *path)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;
  gsize len = 0;
  IocDoc *doc;

  if (stat (path, &st) == 0 && S_ISREG (st.st_mode) && (guint64) st.st_size > coll->max_file_size)
    {
      doc = doc_new (coll, path);
      check_size (coll, doc, (guint64) st.st_size);
      return doc;
    }
  if (!g_file_get_contents (path, &data, &len, &error))
    {
      doc = doc_new (coll, path);
      ioc_doc_add_problem (doc, TRUE, 0, "%s", error->message);
      return doc;
    }
  return ioc_collection_add_memory (coll, path, data, len);
}

static gboolean
is_ioc_name (const char *name)
{
  return g_str_has_suffix (name, ".ioc") || g_str_has_suffix (name, ".xml")
         || g_str_has_suffix (name, ".IOC") || g_str_has_suffix (name, ".XML");
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char **) a, *(char **) b);
}

guint
ioc_collection_add_path (IocCollection *coll, const char *path)
{
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) names = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return ioc_collection_add_file (coll, path) != NULL ? 1 : 0;
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return ioc_collection_add_file (coll, path) != NULL ? 1 : 0;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (is_ioc_name (name))
      g_ptr_array_add (names, g_strdup (name));
  /* Sorted, so that duplicate ids resolve the same way on every run. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = g_build_filename (path, names->pdata[i], NULL);
      ioc_collection_add_file (coll, child);
    }
  return names->len;
}

/* The first document with an id keeps it; later ones are reported and left
 * out, so the result does not depend on anything but the order given. */
static void
drop_duplicates (IocCollection *coll)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < coll->docs->len; i++)
    {
      IocDoc *doc = coll->docs->pdata[i];
      IocDoc *first;
      if (!doc->usable)
        continue;
      first = g_hash_table_lookup (seen, doc->id);
      if (first == NULL)
        {
          g_hash_table_insert (seen, doc->id, doc);
          continue;
        }
      ioc_doc_add_problem (doc, TRUE, 0,
                           "duplicate IOC id %s (already used by %s): this file is "
                           "left out of the scan", doc->id, first->file);
      doc->usable = FALSE;
    }
}

void
ioc_collection_prepare (IocCollection *coll)
{
  drop_duplicates (coll);
  g_clear_pointer (&coll->index, ioc_index_free);
  ioc_index_build (coll);
}

guint
ioc_collection_n_usable (IocCollection *coll)
{
  guint n = 0;
  for (guint i = 0; i < coll->docs->len; i++)
    n += ((IocDoc *) coll->docs->pdata[i])->usable ? 1 : 0;
  return n;
}
