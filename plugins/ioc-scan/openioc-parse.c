/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parses OpenIOC 1.0 and 1.1 documents into IocDoc trees with libxml2's
 * SAX2 interface, as untrusted input: no entity substitution, no DTD
 * loading, no network, no XInclude, any DOCTYPE refused as soon as the
 * parser sees it (before a declaration inside it is read), and an external
 * entity loader that denies every request made for our parser contexts
 * (libxml2 2.9 still reads a file:// entity when substitution is on, so we
 * never turn it on and deny the load as well). The tree is built straight
 * from the SAX events, without a DOM: a collection of 100,000 items loads
 * in a fraction of the time. The version comes from the root element's
 * namespace, never from the file name. Problems carry the line they are
 * on; a file that fails never stops the rest of the collection.
 */
#include "openioc.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <string.h>

#define NS_1_0 "http://schemas.mandiant.com/2010/ioc"
#define NS_1_1 "http://openioc.org/schemas/OpenIOC_1.1"
/* Deep enough for any real IOC, shallow enough for the recursions. */
#define MAX_DEPTH 64
#define PARSE_STATE_MAGIC 0x10c5ca11u

/* What an element is, from its name and its parent's kind. */
typedef enum {
  K_OTHER,
  K_ROOT,
  K_META,
  K_META_FIELD,
  K_TREE,
  K_INDICATOR,
  K_ITEM,
  K_CONTEXT,
  K_CONTENT,
} Kind;

typedef struct {
  Kind     kind;
  IocNode *node;       /* K_INDICATOR, K_ITEM */
  char   **target;     /* K_META_FIELD: where the text goes */
} Frame;

/* Hung on ctxt->_private so the hooks know the context is ours. */
typedef struct {
  guint32          magic;
  IocDoc          *doc;
  xmlParserCtxtPtr ctxt;
  GArray          *stack;        /* Frame */
  GString         *text;         /* characters of the open Content/field */
  gboolean         collecting;
  guint            indicators;   /* open Indicator elements */
  gboolean         doctype;
  guint            doctype_line;
  gboolean         refused;      /* stopped for a reason of ours */
  guint            error_line;
  char            *error;
  char            *content;      /* Content text of the open item */
  const char      *last[4];      /* last pooled value per attribute slot */
  gboolean         has_context, has_content;
} Sax;

static xmlExternalEntityLoader previous_loader;

/* An absent attribute: a constant, not g_intern_static_string (""), whose
 * global lock the parsing threads fought over for every item. */
static const char NO_TEXT[] = "";

/* ------------------------------------------------------------------ */
/* libxml2 hooks                                                       */
/* ------------------------------------------------------------------ */

static Sax *
sax_of (void *ctx)
{
  xmlParserCtxtPtr ctxt = ctx;
  Sax *sax = ctxt != NULL ? ctxt->_private : NULL;
  return sax != NULL && sax->magic == PARSE_STATE_MAGIC ? sax : NULL;
}

/* Denies every external load for our contexts (and for a NULL context,
 * where we cannot tell); other users of libxml2 in the process keep the
 * loader they had. */
static xmlParserInputPtr
deny_entity_loader (const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
  if (ctxt == NULL || sax_of (ctxt) != NULL || previous_loader == NULL)
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

static guint
line_of (Sax *sax)
{
  return sax->ctxt->input != NULL ? (guint) sax->ctxt->input->line : 0;
}

static void
refuse (Sax *sax)
{
  sax->refused = TRUE;
  xmlStopParser (sax->ctxt);
}

/* A DOCTYPE may declare entities (billion laughs, external files): stop
 * right there, before any declaration inside it is read. */
static void
on_doctype (void *ctx, const xmlChar *name, const xmlChar *external_id,
            const xmlChar *system_id)
{
  Sax *sax = sax_of (ctx);
  if (sax == NULL)
    return;
  sax->doctype = TRUE;
  sax->doctype_line = line_of (sax);
  refuse (sax);
}

static void
on_error (void *ctx, xmlErrorPtr err)
{
  Sax *sax = sax_of (ctx);
  if (sax == NULL || err == NULL || err->level < XML_ERR_ERROR || sax->error != NULL)
    return;
  sax->error = g_strchomp (g_strdup (err->message ? err->message : "malformed XML"));
  sax->error_line = err->line > 0 ? (guint) err->line : 0;
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */
/* ------------------------------------------------------------------ */

/* SAX2 attributes: 5 pointers each (name, prefix, URI, value, end). */
static char *
attr (int n, const xmlChar **attrs, const char *name)
{
  for (int i = 0; i < n; i++)
    if (strcmp ((const char *) attrs[5 * i], name) == 0)
      return g_strndup ((const char *) attrs[5 * i + 3], attrs[5 * i + 4] - attrs[5 * i + 3]);
  return NULL;
}

/* Strings most items share (search, condition, type) are kept once per
 * document, in its pool: bounded by the file, freed with it. Consecutive
 * items nearly always repeat the previous value, so each attribute slot
 * remembers its last one and skips the pool lookup. */
enum { SLOT_CONDITION, SLOT_DOCUMENT, SLOT_SEARCH, SLOT_TYPE };

static const char *
attr_pooled (Sax *sax, guint slot, int n, const xmlChar **attrs, const char *name)
{
  IocDoc *doc = sax->doc;
  char small[128];
  char *kept;

  for (int i = 0; i < n; i++)
    if (strcmp ((const char *) attrs[5 * i], name) == 0)
      {
        gsize len = attrs[5 * i + 4] - attrs[5 * i + 3];
        const char *last = sax->last[slot];
        if (last != NULL && strncmp (last, (const char *) attrs[5 * i + 3], len) == 0
            && last[len] == '\0')
          return last;
        if (len >= sizeof small)
          break;
        memcpy (small, attrs[5 * i + 3], len);
        small[len] = '\0';
        kept = g_hash_table_lookup (doc->pool, small);
        if (kept == NULL)
          {
            kept = g_strdup (small);
            g_hash_table_add (doc->pool, kept);
          }
        sax->last[slot] = kept;
        return kept;
      }
  /* Absent, or too long to be a term name: keep it as it is. */
  kept = attr (n, attrs, name);
  if (kept != NULL)
    g_hash_table_add (doc->pool, kept);
  return kept;
}

static gboolean
attr_true (int n, const xmlChar **attrs, const char *name)
{
  for (int i = 0; i < n; i++)
    if (strcmp ((const char *) attrs[5 * i], name) == 0)
      {
        const char *v = (const char *) attrs[5 * i + 3], *end = (const char *) attrs[5 * i + 4];
        while (v < end && g_ascii_isspace (*v))
          v++;
        while (end > v && g_ascii_isspace (end[-1]))
          end--;
        return (end - v == 4 && g_ascii_strncasecmp (v, "true", 4) == 0)
               || (end - v == 1 && *v == '1');
      }
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Items and Indicators                                                */
/* ------------------------------------------------------------------ */

void
ioc_item_set_value (IocDoc *doc, IocNode *item, char *content)
{
  g_autofree char *why = NULL;
  IocValueType type;

  if (content != NULL
      && ioc_value_parse_normal_hash (&item->value, item->term, item->condition, content))
    return;
  type = ioc_term_type (item->term);
  if (content == NULL || *content == '\0' || item->term == IOC_TERM_UNSUPPORTED
      || item->condition == IOC_COND_UNSUPPORTED || !ioc_condition_applies (item->condition, type))
    {
      item->value.text = content != NULL ? content : g_strdup ("");
      if (doc == NULL)
        return;
      if (*item->value.text == '\0')
        ioc_doc_add_problem (doc, FALSE, item->line,
                             "empty Content in %s: invalid item, evaluated as unknown",
                             *item->search ? item->search : "IndicatorItem");
      else if (item->term != IOC_TERM_UNSUPPORTED && item->condition != IOC_COND_UNSUPPORTED)
        ioc_doc_add_problem (doc, FALSE, item->line,
                             "condition '%s' does not apply to %s: evaluated as unknown",
                             item->condition_text, item->search);
      return;
    }
  ioc_value_parse_take (&item->value, type, item->term, item->condition,
                        item->preserve_case, content, &why);
  if (!item->value.valid && doc != NULL)
    ioc_doc_add_problem (doc, FALSE, item->line, "%s %s: %s: evaluated as unknown",
                         item->search, item->condition_text, why);
}

static IocNode *
item_start (Sax *sax, int n, const xmlChar **attrs)
{
  IocDoc *doc = sax->doc;
  IocNode *item = g_new0 (IocNode, 1);

  item->is_item = TRUE;
  item->line = line_of (sax);
  item->condition_text = attr_pooled (sax, SLOT_CONDITION, n, attrs, "condition");
  if (item->condition_text == NULL)
    item->condition_text = NO_TEXT;
  item->condition = ioc_condition_parse (item->condition_text, doc->version, &item->negate);
  if (doc->version == IOC_V1_1)
    {
      item->negate = item->negate != attr_true (n, attrs, "negate");
      item->preserve_case = attr_true (n, attrs, "preserve-case");
    }
  item->search = NO_TEXT;
  sax->has_context = sax->has_content = FALSE;
  g_clear_pointer (&sax->content, g_free);
  return item;
}

static void
item_end (Sax *sax, IocNode *item)
{
  IocDoc *doc = sax->doc;

  item->term = ioc_term_lookup (item->document, item->search);
  if (item->term == IOC_TERM_UNSUPPORTED)
    ioc_doc_add_unsupported (doc, item->line, "%s", *item->search ? item->search : "(no Context)");
  else if (item->condition == IOC_COND_UNSUPPORTED)
    ioc_doc_add_unsupported (doc, item->line, "%s condition '%s'", item->search,
                             item->condition_text);
  ioc_item_set_value (doc, item, g_steal_pointer (&sax->content));
  doc->n_items++;
}

static IocNode *
indicator_start (Sax *sax, int n, const xmlChar **attrs)
{
  IocNode *node = g_new0 (IocNode, 1);
  g_autofree char *op = attr (n, attrs, "operator");

  node->line = line_of (sax);
  node->id = attr (n, attrs, "id");
  node->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ioc_node_free);
  if (op == NULL || (g_ascii_strcasecmp (op, "AND") != 0 && g_ascii_strcasecmp (op, "OR") != 0))
    ioc_doc_add_problem (sax->doc, FALSE, node->line,
                         "Indicator operator '%s' is neither AND nor OR: read as OR",
                         op ? op : "");
  node->is_and = op != NULL && g_ascii_strcasecmp (op, "AND") == 0;
  return node;
}

static void
indicator_end (IocDoc *doc, IocNode *node)
{
  guint negated = 0;

  if (node->children->len == 0)
    {
      ioc_doc_add_problem (doc, FALSE, node->line, "empty Indicator %s: evaluated as unknown",
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

/* ------------------------------------------------------------------ */
/* Elements                                                            */
/* ------------------------------------------------------------------ */

static gboolean
is_meta_field (const char *name)
{
  return strcmp (name, "short_description") == 0 || strcmp (name, "description") == 0
         || strcmp (name, "authored_by") == 0;
}

static char **
meta_target (IocDoc *doc, const char *name)
{
  return strcmp (name, "short_description") == 0 ? &doc->short_description
         : strcmp (name, "description") == 0 ? &doc->description : &doc->authored_by;
}

/* Checks the root element: the namespace decides the version. */
static gboolean
root_start (Sax *sax, const char *name, const char *uri, int n, const xmlChar **attrs)
{
  IocDoc *doc = sax->doc;

  if (uri != NULL && strcmp (uri, NS_1_0) == 0 && strcmp (name, "ioc") == 0)
    doc->version = IOC_V1_0;
  else if (uri != NULL && strcmp (uri, NS_1_1) == 0 && strcmp (name, "OpenIOC") == 0)
    doc->version = IOC_V1_1;
  else
    {
      ioc_doc_add_problem (doc, TRUE, line_of (sax),
                           "not an OpenIOC 1.0 or 1.1 document: root <%s> in namespace '%s'",
                           name, uri ? uri : "");
      refuse (sax);
      return FALSE;
    }
  doc->id = attr (n, attrs, "id");
  return TRUE;
}

static Frame
child_frame (Sax *sax, const Frame *parent, const char *name, int n, const xmlChar **attrs)
{
  IocDoc *doc = sax->doc;
  gboolean v11 = doc->version == IOC_V1_1;
  Frame f = { K_OTHER, NULL, NULL };

  switch (parent->kind)
    {
    case K_ROOT:
      if (v11 && strcmp (name, "metadata") == 0)
        f.kind = K_META;
      else if (!v11 && is_meta_field (name))
        f.kind = K_META_FIELD;
      else if (strcmp (name, v11 ? "criteria" : "definition") == 0)
        f.kind = K_TREE;
      break;
    case K_META:
      if (is_meta_field (name))
        f.kind = K_META_FIELD;
      break;
    case K_TREE:
      if (strcmp (name, "Indicator") == 0 && doc->root == NULL)
        f.kind = K_INDICATOR;
      break;
    case K_INDICATOR:
      if (strcmp (name, "Indicator") == 0)
        f.kind = K_INDICATOR;
      else if (strcmp (name, "IndicatorItem") == 0)
        f.kind = K_ITEM;
      break;
    case K_ITEM:
      if (strcmp (name, "Context") == 0 && !sax->has_context)
        f.kind = K_CONTEXT;
      else if (strcmp (name, "Content") == 0 && !sax->has_content)
        f.kind = K_CONTENT;
      break;
    default:
      break;
    }
  if (f.kind == K_META_FIELD)
    f.target = meta_target (doc, name);
  return f;
}

static void
attach (Sax *sax, const Frame *parent, IocNode *node)
{
  if (parent->kind == K_TREE)
    sax->doc->root = node;
  else
    {
      node->parent = parent->node;
      g_ptr_array_add (parent->node->children, node);
    }
}

static void
open_frame (Sax *sax, Frame *f, const Frame *parent, int n, const xmlChar **attrs)
{
  switch (f->kind)
    {
    case K_INDICATOR:
      if (++sax->indicators > MAX_DEPTH)
        {
          ioc_doc_add_problem (sax->doc, TRUE, line_of (sax),
                               "Indicators nested deeper than %d", MAX_DEPTH);
          refuse (sax);
          return;
        }
      f->node = indicator_start (sax, n, attrs);
      attach (sax, parent, f->node);
      break;
    case K_ITEM:
      f->node = item_start (sax, n, attrs);
      attach (sax, parent, f->node);
      break;
    case K_CONTEXT:
      sax->has_context = TRUE;
      parent->node->document = attr_pooled (sax, SLOT_DOCUMENT, n, attrs, "document");
      parent->node->search = attr_pooled (sax, SLOT_SEARCH, n, attrs, "search");
      if (parent->node->search == NULL)
        parent->node->search = NO_TEXT;
      break;
    case K_CONTENT:
      sax->has_content = TRUE;
      parent->node->content_type = attr_pooled (sax, SLOT_TYPE, n, attrs, "type");
      /* fall through */
    case K_META_FIELD:
      g_string_truncate (sax->text, 0);
      sax->collecting = TRUE;
      break;
    default:
      break;
    }
}

static void
on_start (void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
          int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
          int nb_defaulted, const xmlChar **attributes)
{
  Sax *sax = sax_of (ctx);
  const char *name = (const char *) localname;
  Frame f = { K_ROOT, NULL, NULL };

  if (sax == NULL || sax->refused)
    return;
  if (sax->stack->len == 0)
    {
      if (root_start (sax, name, (const char *) uri, nb_attributes, attributes))
        g_array_append_val (sax->stack, f);
      return;
    }
  f = child_frame (sax, &g_array_index (sax->stack, Frame, sax->stack->len - 1), name,
                   nb_attributes, attributes);
  g_array_append_val (sax->stack, f);
  open_frame (sax, &g_array_index (sax->stack, Frame, sax->stack->len - 1),
              &g_array_index (sax->stack, Frame, sax->stack->len - 2), nb_attributes, attributes);
}

static void
on_end (void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
  Sax *sax = sax_of (ctx);
  Frame f;

  if (sax == NULL || sax->refused || sax->stack->len == 0)
    return;
  f = g_array_index (sax->stack, Frame, sax->stack->len - 1);
  g_array_set_size (sax->stack, sax->stack->len - 1);
  switch (f.kind)
    {
    case K_INDICATOR:
      sax->indicators--;
      indicator_end (sax->doc, f.node);
      break;
    case K_ITEM:
      item_end (sax, f.node);
      break;
    case K_CONTENT:
      g_free (sax->content);
      sax->content = g_strndup (sax->text->str, sax->text->len);
      sax->collecting = FALSE;
      break;
    case K_META_FIELD:
      g_free (*f.target);
      *f.target = g_strndup (sax->text->str, sax->text->len);
      sax->collecting = FALSE;
      break;
    default:
      break;
    }
}

static void
on_characters (void *ctx, const xmlChar *ch, int len)
{
  Sax *sax = sax_of (ctx);
  if (sax != NULL && sax->collecting)
    g_string_append_len (sax->text, (const char *) ch, len);
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static void
setup_sax (xmlSAXHandlerPtr h)
{
  /* No DOM: the tree is built from events, and libxml2's own callbacks
   * would build nodes with no document to hang them on. */
  h->startDocument = NULL;
  h->endDocument = NULL;
  h->comment = NULL;
  h->processingInstruction = NULL;
  h->reference = NULL;
  h->startElementNs = on_start;
  h->endElementNs = on_end;
  h->characters = on_characters;
  h->cdataBlock = on_characters;
  h->ignorableWhitespace = on_characters;
  h->internalSubset = on_doctype;
  h->serror = on_error;
}

static void
finish_doc (Sax *sax, gboolean well_formed)
{
  IocDoc *doc = sax->doc;

  if (sax->doctype)
    ioc_doc_add_problem (doc, TRUE, sax->doctype_line,
                         "a DOCTYPE is not allowed in an IOC file (entities and "
                         "external DTDs are refused)");
  else if (!well_formed && !sax->refused)
    ioc_doc_add_problem (doc, TRUE, sax->error_line, "malformed XML: %s",
                         sax->error ? sax->error : "could not be parsed");
  else if (!sax->refused && doc->root == NULL)
    ioc_doc_add_problem (doc, TRUE, 0, "no <%s><Indicator> in the document",
                         doc->version == IOC_V1_1 ? "criteria" : "definition");
  if (ioc_doc_has_errors (doc))
    g_clear_pointer (&doc->root, ioc_node_free);
  else if (doc->id == NULL || *doc->id == '\0')
    {
      ioc_doc_add_problem (doc, FALSE, 0, "the document has no id: its file name is used");
      g_free (doc->id);
      doc->id = g_strdup (doc->file);
    }
}

void
ioc_doc_parse (IocDoc *doc, const char *data, gsize len)
{
  Sax sax = { PARSE_STATE_MAGIC, doc };
  xmlParserCtxtPtr ctxt;
  xmlDocPtr leftover;
  int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING;

  install_loader_once ();
  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL || len > G_MAXINT)
    {
      ioc_doc_add_problem (doc, TRUE, 0, "could not start the XML parser");
      g_clear_pointer (&ctxt, xmlFreeParserCtxt);
      return;
    }
  sax.ctxt = ctxt;
  sax.stack = g_array_new (FALSE, FALSE, sizeof (Frame));
  sax.text = g_string_new (NULL);
  ctxt->_private = &sax;
  setup_sax (ctxt->sax);
  leftover = xmlCtxtReadMemory (ctxt, data, (int) len, doc->file, NULL, options);
  finish_doc (&sax, ctxt->wellFormed);
  if (leftover != NULL)
    xmlFreeDoc (leftover);
  xmlFreeParserCtxt (ctxt);
  g_array_unref (sax.stack);
  g_string_free (sax.text, TRUE);
  g_free (sax.content);
  g_free (sax.error);
}
