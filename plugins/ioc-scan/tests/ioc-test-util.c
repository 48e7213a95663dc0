/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the ioc-scan tests (see ioc-test-util.h).
 */
#include "ioc-test-util.h"

#include <glib/gstdio.h>
#include <string.h>

char *
ioc11 (const char *id, const char *body)
{
  return g_strdup_printf (
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"%s\" "
      "last-modified=\"2024-01-01T00:00:00\">\n"
      "<metadata><short_description>Test %s</short_description>"
      "<authored_by>tests</authored_by></metadata>\n"
      "<criteria>\n%s\n</criteria>\n<parameters/>\n</OpenIOC>\n", id, id, body);
}

char *
ioc10 (const char *id, const char *body)
{
  return g_strdup_printf (
      "<?xml version=\"1.0\" encoding=\"us-ascii\"?>\n"
      "<ioc xmlns=\"http://schemas.mandiant.com/2010/ioc\" id=\"%s\">\n"
      "<short_description>Test %s</short_description>\n"
      "<definition>\n%s\n</definition>\n</ioc>\n", id, id, body);
}

static char *
escape (const char *text)
{
  return g_markup_escape_text (text, -1);
}

char *
item11 (const char *search, const char *condition, const char *type,
        const char *content, const char *attrs)
{
  g_autofree char *e = escape (content);
  const char *doc = g_str_has_prefix (search, "FileItem") ? "FileItem"
                    : g_strndup (search, strcspn (search, "/"));
  char *out = g_strdup_printf (
      "<IndicatorItem id=\"i-%s\" condition=\"%s\" %s>"
      "<Context document=\"%s\" search=\"%s\" type=\"mir\"/>"
      "<Content type=\"%s\">%s</Content></IndicatorItem>",
      search, condition, attrs ? attrs : "", doc, search, type, e);
  if (!g_str_has_prefix (search, "FileItem"))
    g_free ((char *) doc);
  return out;
}

char *
item10 (const char *search, const char *condition, const char *type, const char *content)
{
  g_autofree char *e = escape (content);
  return g_strdup_printf (
      "<IndicatorItem id=\"i\" condition=\"%s\">"
      "<Context document=\"FileItem\" search=\"%s\" type=\"mir\"/>"
      "<Content type=\"%s\">%s</Content></IndicatorItem>", condition, search, type, e);
}

char *
indicator (const char *op, ...)
{
  GString *s = g_string_new (NULL);
  va_list args;
  char *child;

  g_string_append_printf (s, "<Indicator operator=\"%s\" id=\"ind\">", op);
  va_start (args, op);
  while ((child = va_arg (args, char *)) != NULL)
    {
      g_string_append (s, child);
      g_free (child);
    }
  va_end (args);
  g_string_append (s, "</Indicator>");
  return g_string_free (s, FALSE);
}

IocCollection *
collection_of (const char *xml)
{
  IocCollection *coll = ioc_collection_new (0);
  ioc_collection_add_memory (coll, "test.ioc", xml, strlen (xml));
  ioc_collection_prepare (coll);
  return coll;
}

IocNode *
root_of (IocCollection *coll)
{
  return ((IocDoc *) coll->docs->pdata[0])->root;
}

void
facts_init (IocFileFacts *f, const char *path)
{
  const char *slash = strrchr (path, '/');
  memset (f, 0, sizeof *f);
  f->path = path;
  f->name = slash ? slash + 1 : path;
  f->size = 1000;
  f->created = f->modified = f->accessed = f->changed = 1704164645; /* 2024-01-02T03:04:05Z */
  f->owner = "alice";
  f->have = IOC_HASH_ALL;
  strcpy (f->md5, "d41d8cd98f00b204e9800998ecf8427e");
  strcpy (f->sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  strcpy (f->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

char *
plant (const char *dir, const char *rel, const char *data, gsize len)
{
  char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

char *
md5_of (const char *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_MD5, (const guchar *) data, len);
}

static void
collect_ioc_files (const char *dir, GPtrArray *files)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        collect_ioc_files (child, files);
      else if (g_str_has_suffix (name, ".ioc") || g_str_has_suffix (name, ".xml"))
        g_ptr_array_add (files, g_steal_pointer (&child));
    }
}

GPtrArray *
corpus_files (void)
{
  const char *shared = g_getenv ("VIGIL_SHARED_DIR");
  g_autofree char *dir = shared ? g_build_filename (shared, "corpus", "openioc", NULL) : NULL;
  GPtrArray *files;

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no OpenIOC corpus: set VIGIL_SHARED_DIR to the folder holding corpus/openioc");
      return NULL;
    }
  files = g_ptr_array_new_with_free_func (g_free);
  collect_ioc_files (dir, files);
  g_assert_cmpuint (files->len, >=, 100);
  return files;
}
