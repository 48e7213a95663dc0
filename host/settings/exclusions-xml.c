/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The exclusion list as an XML file, for import and export (`vigil
 * exclusions import|export`):
 *
 *   <telemetry-exclusions version="1">
 *     <process><image>/opt/backup/bin-*</image><user>backup</user></process>
 *     <network><address>10.0.0.0/8</address><port>445</port>
 *              <direction>outbound</direction></network>
 *   </telemetry-exclusions>
 *
 * Files come from admins and other consoles, so they are parsed as
 * untrusted input: a size limit, no network access, no DTD (which also
 * rules out entity expansion), and every error names the file and line.
 */
#include "general-private.h"

#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define ROOT "telemetry-exclusions"

static const char *const process_order[] = { "image", "sha256", "cmdline", "user", "description", NULL };
static const char *const network_order[] = { "address", "port", "direction", "description", NULL };

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlParserCtxt, xmlFreeParserCtxt)

/* ------------------------------------------------------------------ */
/* Import                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
  char *first;   /* the first problem, already formatted */
} Problems;

static void
collect (gpointer report, VigilSeverity severity, const char *path, const char *message)
{
  Problems *p = report;

  if (p->first == NULL)
    p->first = g_strdup_printf ("%s: %s", path, message);
}

static char *
node_text (xmlNode *node)
{
  xmlChar *content = xmlNodeGetContent (node);
  char *text = g_strstrip (g_strdup ((const char *) content));

  xmlFree (content);
  return text;
}

static gboolean
parse_port (const char *text, gint64 *port)
{
  char *end = NULL;

  *port = g_ascii_strtoll (text, &end, 10);
  return *text && end && *end == '\0';
}

/* One <process> or <network> element as a rule object. */
static JsonObject *
parse_rule (xmlNode *elem, const char *const *keys, const char *filename,
            GError **error)
{
  g_autoptr (JsonObject) rule = json_object_new ();

  for (xmlNode *child = elem->children; child; child = child->next)
    {
      const char *name = (const char *) child->name;
      g_autofree char *text = NULL;
      gint64 port;

      if (child->type != XML_ELEMENT_NODE)
        continue;
      if (!g_strv_contains (keys, name) || json_object_has_member (rule, name))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%ld: %s <%s> in <%s>", filename, xmlGetLineNo (child),
                       g_strv_contains (keys, name) ? "repeated" : "unexpected",
                       name, (const char *) elem->name);
          return NULL;
        }
      text = node_text (child);
      if (g_strcmp0 (name, "port") == 0)
        {
          if (!parse_port (text, &port))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s:%ld: <port> '%s' is not a number", filename,
                           xmlGetLineNo (child), text);
              return NULL;
            }
          json_object_set_int_member (rule, name, port);
        }
      else
        json_object_set_string_member (rule, name, text);
    }
  return g_steal_pointer (&rule);
}

static gboolean
add_rule (JsonObject *result, xmlNode *elem, const char *filename, GError **error)
{
  gboolean process = g_strcmp0 ((const char *) elem->name, "process") == 0;
  const char *list = process ? "processes" : "networks";
  JsonArray *rules = json_object_get_array_member (result, list);
  g_autofree char *path = g_strdup_printf ("%s[%u]", list, json_array_get_length (rules));
  Problems problems = { NULL };
  JsonObject *rule;

  rule = parse_rule (elem, process ? process_order : network_order, filename, error);
  if (rule == NULL)
    return FALSE;
  if (process)
    vh_exclusions_check_process (rule, path, collect, &problems);
  else
    vh_exclusions_check_network (rule, path, collect, &problems);
  if (problems.first)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%ld: %s",
                   filename, xmlGetLineNo (elem), problems.first);
      g_free (problems.first);
      json_object_unref (rule);
      return FALSE;
    }
  json_array_add_object_element (rules, rule);
  return TRUE;
}

/* Keeps the first error: later ones are usually its consequences. */
static void
first_error (void *data, xmlErrorPtr err)
{
  xmlParserCtxtPtr ctxt = data;

  if (ctxt->_private == NULL && err)
    ctxt->_private = g_strdup_printf ("%d: %s", err->line,
                                      err->message ? err->message : "not XML");
}

static xmlDoc *
read_document (const char *data, gsize len, const char *filename, GError **error)
{
  g_autoptr (xmlParserCtxt) ctxt = NULL;
  xmlDoc *doc;

  if (len > VH_EXCLUSIONS_XML_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: %" G_GSIZE_FORMAT " bytes is over the limit of %d bytes",
                   filename, len, VH_EXCLUSIONS_XML_MAX);
      return NULL;
    }
  /* No DTD at all: it is the only way in for entity expansion and
   * external entities, and an exclusion list needs neither. */
  if (g_strstr_len (data, len, "<!DOCTYPE") || g_strstr_len (data, len, "<!ENTITY"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: a DTD or entity declaration is not allowed", filename);
      return NULL;
    }
  ctxt = xmlNewParserCtxt ();
  ctxt->sax->serror = first_error;
  doc = xmlCtxtReadMemory (ctxt, data, (int) len, filename, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s:%s", filename,
                 ctxt->_private ? g_strstrip ((char *) ctxt->_private) : "1: not XML");
  g_free (ctxt->_private);
  ctxt->_private = NULL;
  return doc;
}

JsonObject *
vh_exclusions_from_xml (const char *data, gsize len, const char *filename,
                        GError **error)
{
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (JsonObject) result = json_object_new ();
  xmlNode *root;

  doc = read_document (data, len, filename, error);
  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);
  if (root == NULL || g_strcmp0 ((const char *) root->name, ROOT) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s:%ld: the root element is not <" ROOT ">", filename,
                   root ? xmlGetLineNo (root) : 1L);
      return NULL;
    }
  json_object_set_array_member (result, "processes", json_array_new ());
  json_object_set_array_member (result, "networks", json_array_new ());
  for (xmlNode *elem = root->children; elem; elem = elem->next)
    {
      if (elem->type != XML_ELEMENT_NODE)
        continue;
      if (g_strcmp0 ((const char *) elem->name, "process") != 0
          && g_strcmp0 ((const char *) elem->name, "network") != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%ld: unexpected <%s> (expected <process> or <network>)",
                       filename, xmlGetLineNo (elem), (const char *) elem->name);
          return NULL;
        }
      if (!add_rule (result, elem, filename, error))
        return NULL;
    }
  return g_steal_pointer (&result);
}

/* ------------------------------------------------------------------ */
/* Export                                                              */
/* ------------------------------------------------------------------ */

static gboolean
export_rules (xmlNode *root, JsonObject *group, const char *list,
              const char *element, const char *const *order, GError **error)
{
  JsonNode *node = json_object_get_member (group, list);
  JsonArray *rules;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "telemetry_exclusions.%s is not a list", list);
      return FALSE;
    }
  rules = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (rules); i++)
    {
      JsonNode *rule_node = json_array_get_element (rules, i);
      JsonObject *rule;
      xmlNode *elem;

      if (!JSON_NODE_HOLDS_OBJECT (rule_node))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "telemetry_exclusions.%s[%u] is not an object", list, i);
          return FALSE;
        }
      rule = json_node_get_object (rule_node);
      elem = xmlNewChild (root, NULL, BAD_CAST element, NULL);
      for (gsize k = 0; order[k]; k++)
        {
          JsonNode *v = json_object_get_member (rule, order[k]);
          g_autofree char *text = NULL;

          if (v == NULL || !JSON_NODE_HOLDS_VALUE (v))
            continue;
          text = json_node_get_value_type (v) == G_TYPE_INT64
            ? g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (v))
            : g_strdup (json_node_get_string (v));
          xmlNewTextChild (elem, NULL, BAD_CAST order[k], BAD_CAST text);
        }
    }
  return TRUE;
}

char *
vh_exclusions_to_xml (JsonObject *group, GError **error)
{
  g_autoptr (xmlDoc) doc = xmlNewDoc (BAD_CAST "1.0");
  xmlNode *root = xmlNewNode (NULL, BAD_CAST ROOT);
  xmlChar *mem = NULL;
  int size = 0;
  char *out;

  xmlDocSetRootElement (doc, root);
  xmlNewProp (root, BAD_CAST "version", BAD_CAST "1");
  if (!export_rules (root, group, "processes", "process", process_order, error)
      || !export_rules (root, group, "networks", "network", network_order, error))
    return NULL;
  xmlDocDumpFormatMemoryEnc (doc, &mem, &size, "UTF-8", 1);
  out = g_strndup ((const char *) mem, size);
  xmlFree (mem);
  return out;
}
