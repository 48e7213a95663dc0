/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The endpoint protection product's database update (task epp.update):
 * ClamAV's updater, freshclam, run as a child process (no shell, with a
 * timeout and cancel) on a freshclam.conf generated for the device, never
 * the machine's /etc/clamav/freshclam.conf, against the source the policy
 * or the task names: ClamAV's official mirror, the admin's private mirrors
 * or custom signature URLs. A lab device's databases live in the plugin's
 * data dir (the machine's own folder is used only for the machine itself).
 * The databases are listed before and after so the result says what
 * changed. Every URL and mirror is checked before it is written into the
 * line-based config, so no value can add a directive. docs/epp.md.
 */
#include "epp-engine.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <vigil/util/io.h>

/* Signature database extensions freshclam accepts for custom URLs. */
static const char *const db_extensions[] = {
  ".cvd", ".cld", ".cud", ".hdb", ".hsb", ".hdu", ".hsu", ".mdb", ".msb",
  ".mdu", ".msu", ".ndb", ".ndu", ".ldb", ".ldu", ".idb", ".cdb", ".cfg",
  ".cbc", ".crb", ".gdb", ".ftm", ".pdb", ".wdb", ".fp", ".sfp", ".ign",
  ".ign2", ".info", ".yar", ".yara", ".pwdb", ".cat", ".crtdb", NULL,
};

/* Text databases above this size are not hashed or counted line by line. */
#define TEXT_DB_MAX (64 * 1024 * 1024)
/* Lines of freshclam's output kept in the result. */
#define OUTPUT_LINES 30

void
vp_update_config_clear (VpUpdateConfig *config)
{
  g_clear_pointer (&config->mirrors, g_strfreev);
  g_clear_pointer (&config->custom_urls, g_strfreev);
  g_clear_pointer (&config->updater, g_free);
}

static gboolean
has_db_extension (const char *name)
{
  for (const char *const *e = db_extensions; *e != NULL; e++)
    if (g_str_has_suffix (name, *e) && strlen (name) > strlen (*e))
      return TRUE;
  return FALSE;
}

/* No byte that could end or split a line of freshclam.conf. */
static gboolean
plain_text (const char *s)
{
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++)
    if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' || *p == '\\' || *p == '#')
      return FALSE;
  return TRUE;
}

gboolean
vp_update_check_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autofree char *base = NULL;
  const char *scheme;

  if (url == NULL || *url == '\0' || !plain_text (url) || strlen (url) > 2048)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not a URL: it is empty, too long or has spaces, quotes "
                   "or control characters", url ? url : "");
      return FALSE;
    }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  /* A folder source (the product's "shared folder"): a file on this
   * machine, named by an absolute path that does not climb. */
  if (uri != NULL && g_ascii_strcasecmp (scheme, "file") == 0)
    {
      const char *path = g_uri_get_path (uri);
      if ((g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0')
          || !g_path_is_absolute (path) || !g_str_has_prefix (url, "file:///")
          /* GUri drops dot segments; freshclam would not: read the text. */
          || strstr (url, "/../") != NULL || strstr (url, "/./") != NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "'%s' is not a file:/// URL of an absolute path without '..'", url);
          return FALSE;
        }
    }
  else if (uri == NULL || (g_ascii_strcasecmp (scheme, "http") != 0
                      && g_ascii_strcasecmp (scheme, "https") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not an http://, https:// or file:/// URL with a host", url);
      return FALSE;
    }
  if (g_uri_get_user (uri) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s': credentials in a signature URL are refused (they would "
                   "show in results)", url);
      return FALSE;
    }
  base = g_path_get_basename (g_uri_get_path (uri));
  if (!has_db_extension (base))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' does not name a signature database file (.hdb, .ndb, "
                   ".ldb, .cvd, ... as freshclam requires)", url);
      return FALSE;
    }
  return TRUE;
}

gboolean
vp_update_check_mirror (const char *mirror, GError **error)
{
  if (mirror != NULL && (g_str_has_prefix (mirror, "http://")
                         || g_str_has_prefix (mirror, "https://")))
    {
      g_autoptr (GUri) uri = g_uri_parse (mirror, G_URI_FLAGS_NONE, NULL);
      if (uri != NULL && plain_text (mirror) && g_uri_get_host (uri) != NULL
          && *g_uri_get_host (uri) != '\0' && g_uri_get_user (uri) == NULL)
        return TRUE;
    }
  else if (mirror != NULL && *mirror != '\0' && strlen (mirror) <= 255
           && strspn (mirror, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789.-:[]") == strlen (mirror))
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "'%s' is not a mirror: give an http(s) URL without credentials "
               "or a host name", mirror ? mirror : "");
  return FALSE;
}

/* The strings of a JSON list (non-strings skipped), each checked. */
static GStrv
read_list (JsonNode *node, const char *where,
           gboolean (*check) (const char *, GError **), GError **error)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonArray *a = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autoptr (GError) local = NULL;

      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s[%u]: a string is expected", where, i);
          return NULL;
        }
      if (!check (json_node_get_string (e), &local))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s[%u]: %s",
                       where, i, local->message);
          return NULL;
        }
      g_strv_builder_add (b, json_node_get_string (e));
    }
  return g_strv_builder_end (b);
}

static gboolean
parse_source (const char *text, VpSource *source)
{
  if (g_strcmp0 (text, "official") == 0)
    *source = VP_SOURCE_OFFICIAL;
  else if (g_strcmp0 (text, "private_mirror") == 0)
    *source = VP_SOURCE_PRIVATE;
  else if (g_strcmp0 (text, "custom") == 0)
    *source = VP_SOURCE_CUSTOM;
  else
    return FALSE;
  return TRUE;
}

static const char *
source_name (VpSource source)
{
  switch (source)
    {
    case VP_SOURCE_PRIVATE: return "private_mirror";
    case VP_SOURCE_CUSTOM:  return "custom";
    case VP_SOURCE_OFFICIAL:
    default:                return "official";
    }
}

gboolean
vp_update_config_load (VpUpdateConfig *config, JsonObject *settings, JsonObject *params,
                       GError **error)
{
  g_autofree char *source = vigil_settings_dup_string (&vp_schema, settings, "update", "source");
  g_autoptr (JsonNode) mirrors = vigil_settings_dup_node (&vp_schema, settings, "update", "mirrors");
  g_autoptr (JsonNode) urls = vigil_settings_dup_node (&vp_schema, settings, "update", "custom_urls");
  const char *psource = params ? vigil_json_get_string (params, "source") : NULL;
  JsonNode *pmirrors = params ? json_object_get_member (params, "mirrors") : NULL;
  JsonNode *purls = params ? json_object_get_member (params, "custom_urls") : NULL;
  const char *where_m = "epp.update.mirrors", *where_u = "epp.update.custom_urls";

  memset (config, 0, sizeof *config);
  if (!parse_source (source, &config->source))
    config->source = VP_SOURCE_OFFICIAL;
  if (psource != NULL && *psource != '\0' && g_strcmp0 (psource, "policy") != 0
      && !parse_source (psource, &config->source))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "source: '%s' is not one of policy, official, private_mirror, custom",
                   psource);
      return FALSE;
    }
  if (pmirrors != NULL && JSON_NODE_HOLDS_ARRAY (pmirrors)
      && json_array_get_length (json_node_get_array (pmirrors)) > 0)
    {
      g_clear_pointer (&mirrors, json_node_unref);
      mirrors = json_node_copy (pmirrors);
      where_m = "mirrors";
    }
  if (purls != NULL && JSON_NODE_HOLDS_ARRAY (purls)
      && json_array_get_length (json_node_get_array (purls)) > 0)
    {
      g_clear_pointer (&urls, json_node_unref);
      urls = json_node_copy (purls);
      where_u = "custom_urls";
    }
  config->mirrors = read_list (mirrors, where_m, vp_update_check_mirror, error);
  if (config->mirrors == NULL)
    return FALSE;
  config->custom_urls = read_list (urls, where_u, vp_update_check_url, error);
  if (config->custom_urls == NULL)
    return FALSE;
  if (config->source == VP_SOURCE_PRIVATE && config->mirrors[0] == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the source is private_mirror but no mirror is given "
                   "(epp.update.mirrors or the task's mirrors)");
      return FALSE;
    }
  if (config->source == VP_SOURCE_CUSTOM && config->custom_urls[0] == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the source is custom but no URL is given "
                   "(epp.update.custom_urls or the task's custom_urls)");
      return FALSE;
    }
  config->use_proxy = vigil_settings_get_bool (&vp_schema, settings, "update", "use_proxy");
  config->attempts = (guint) vigil_settings_get_int (&vp_schema, settings, "update", "attempts", NULL);
  config->timeout_sec = (guint) vigil_settings_get_int (&vp_schema, settings, "update",
                                                        "timeout_sec", NULL);
  return TRUE;
}

char *
vp_update_database_dir (const char *data_dir, const char *device_id, const char *root)
{
  g_autofree char *name = NULL;

  if (root == NULL || g_strcmp0 (root, "/") == 0)
    return g_strdup ("/var/lib/clamav");
  /* Device ids are the host's, but a file name must not climb. */
  if (device_id == NULL || *device_id == '\0' || *device_id == '.'
      || strchr (device_id, '/') != NULL)
    name = g_compute_checksum_for_string (G_CHECKSUM_SHA256, device_id ? device_id : "", -1);
  else
    name = g_strdup (device_id);
  return g_build_filename (data_dir, "databases", name, NULL);
}

/* ---- the databases ---------------------------------------------------- */

static gboolean
is_cvd (const char *name)
{
  return g_str_has_suffix (name, ".cvd") || g_str_has_suffix (name, ".cld")
         || g_str_has_suffix (name, ".cud");
}

/* A .cvd/.cld header: "ClamAV-VDB:time:version:sigs:level:md5:dsig:...". */
static void
read_cvd_header (const char *path, JsonObject *entry)
{
  char head[513] = { 0 };
  FILE *f = fopen (path, "rb");
  g_auto (GStrv) parts = NULL;
  gsize n;

  if (f == NULL)
    return;
  n = fread (head, 1, 512, f);
  fclose (f);
  head[n] = '\0';
  if (!g_str_has_prefix (head, "ClamAV-VDB:"))
    return;
  parts = g_strsplit (head, ":", 5);
  if (g_strv_length (parts) >= 4)
    {
      json_object_set_int_member (entry, "version", g_ascii_strtoll (parts[2], NULL, 10));
      json_object_set_int_member (entry, "signatures", g_ascii_strtoll (parts[3], NULL, 10));
    }
}

/* A text database: one signature a line, '#' comments skipped. */
static void
read_text_db (const char *path, goffset size, JsonObject *entry)
{
  g_autofree char *data = NULL;
  g_autofree char *sha = NULL;
  gsize len = 0;
  gint64 sigs = 0;

  if (size > TEXT_DB_MAX || !g_file_get_contents (path, &data, &len, NULL))
    return;
  for (char *line = data, *end; line < data + len; line = end + 1)
    {
      end = memchr (line, '\n', data + len - line);
      if (end == NULL)
        end = data + len;
      if (end > line && *line != '#' && !(end - line == 1 && *line == '\r'))
        sigs++;
    }
  sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
  json_object_set_int_member (entry, "signatures", sigs);
  json_object_set_string_member (entry, "sha256", sha);
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

JsonArray *
vp_database_inventory (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  JsonArray *list = json_array_new ();
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (has_db_extension (name))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, by_name);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      JsonObject *entry;
      GStatBuf st;

      if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      entry = json_object_new ();
      json_object_set_string_member (entry, "file", names->pdata[i]);
      json_object_set_int_member (entry, "size", st.st_size);
      if (is_cvd (names->pdata[i]))
        read_cvd_header (path, entry);
      else
        read_text_db (path, st.st_size, entry);
      json_array_add_object_element (list, entry);
    }
  return list;
}

gboolean
vp_database_present (const char *dir)
{
  g_autoptr (JsonArray) list = vp_database_inventory (dir);

  return json_array_get_length (list) > 0;
}

static JsonObject *
find_entry (JsonArray *list, const char *file)
{
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      if (g_strcmp0 (json_object_get_string_member (e, "file"), file) == 0)
        return e;
    }
  return NULL;
}

static gboolean
same_entry (JsonObject *a, JsonObject *b)
{
  return json_object_get_int_member (a, "size") == json_object_get_int_member (b, "size")
         && json_object_get_int_member_with_default (a, "version", -1)
            == json_object_get_int_member_with_default (b, "version", -1)
         && g_strcmp0 (json_object_get_string_member_with_default (a, "sha256", ""),
                       json_object_get_string_member_with_default (b, "sha256", "")) == 0;
}

static void
copy_member (JsonObject *to, const char *to_key, JsonObject *from, const char *key)
{
  if (from != NULL && json_object_has_member (from, key))
    json_object_set_member (to, to_key, json_node_copy (json_object_get_member (from, key)));
}

static JsonObject *
make_change (const char *file, const char *what, JsonObject *before, JsonObject *after)
{
  JsonObject *c = json_object_new ();

  json_object_set_string_member (c, "file", file);
  json_object_set_string_member (c, "change", what);
  copy_member (c, "version_before", before, "version");
  copy_member (c, "version_after", after, "version");
  copy_member (c, "signatures_before", before, "signatures");
  copy_member (c, "signatures_after", after, "signatures");
  return c;
}

/* [{"file","change":"added"|"updated"|"removed",...}] */
static JsonArray *
diff_inventories (JsonArray *before, JsonArray *after)
{
  JsonArray *changes = json_array_new ();

  for (guint i = 0; i < json_array_get_length (after); i++)
    {
      JsonObject *a = json_array_get_object_element (after, i);
      const char *file = json_object_get_string_member (a, "file");
      JsonObject *b = find_entry (before, file);

      if (b == NULL)
        json_array_add_object_element (changes, make_change (file, "added", NULL, a));
      else if (!same_entry (a, b))
        json_array_add_object_element (changes, make_change (file, "updated", b, a));
    }
  for (guint i = 0; i < json_array_get_length (before); i++)
    {
      JsonObject *b = json_array_get_object_element (before, i);
      const char *file = json_object_get_string_member (b, "file");
      if (find_entry (after, file) == NULL)
        json_array_add_object_element (changes, make_change (file, "removed", b, NULL));
    }
  return changes;
}

static gint64
total_signatures (JsonArray *list)
{
  gint64 total = 0;

  for (guint i = 0; i < json_array_get_length (list); i++)
    total += json_object_get_int_member_with_default (json_array_get_object_element (list, i),
                                                      "signatures", 0);
  return total;
}

/* ---- freshclam.conf ---------------------------------------------------- */

/* Proxy lines from the host's proxy URI; FALSE for a URI freshclam cannot
 * use. The URI may hold a password: it goes only into the 0600 file. */
static gboolean
append_proxy (GString *conf, const char *proxy_uri, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (proxy_uri, G_URI_FLAGS_HAS_PASSWORD, NULL);
  const char *user, *password;

  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_port (uri) <= 0
      || !plain_text (proxy_uri))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the proxy of the general section is not a URI with a host and a "
                   "port that freshclam can use");
      return FALSE;
    }
  g_string_append_printf (conf, "HTTPProxyServer %s://%s\nHTTPProxyPort %d\n",
                          g_uri_get_scheme (uri), g_uri_get_host (uri), g_uri_get_port (uri));
  user = g_uri_get_user (uri);
  password = g_uri_get_password (uri);
  if (user != NULL && *user != '\0')
    {
      g_autofree char *u = g_uri_unescape_string (user, NULL);
      g_autofree char *p = password ? g_uri_unescape_string (password, NULL) : g_strdup ("");
      if (u == NULL || p == NULL || !plain_text (u) || (*p != '\0' && !plain_text (p)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "the proxy credentials of the general section have characters "
                       "freshclam.conf cannot hold");
          return FALSE;
        }
      g_string_append_printf (conf, "HTTPProxyUsername %s\nHTTPProxyPassword %s\n", u, p);
    }
  return TRUE;
}

static char *
build_config (const VpUpdateConfig *config, const char *db_dir, const char *proxy_uri,
              GError **error)
{
  g_autoptr (GString) conf = g_string_new ("# Written by Vigil's epp plugin for one "
                                           "update run; edits are lost.\n");

  g_string_append_printf (conf, "DatabaseDirectory %s\n", db_dir);
  /* freshclam started as root drops to DatabaseOwner: keep the user that
   * owns the plugin's data dir, which no other user may enter. */
  g_string_append_printf (conf, "DatabaseOwner %s\n", g_get_user_name ());
  g_string_append_printf (conf, "MaxAttempts %u\n", config->attempts);
  /* No NotifyClamd: a lab device's databases are not clamd's. */
  g_string_append (conf, "ConnectTimeout 30\nReceiveTimeout 0\nTestDatabases yes\n");
  switch (config->source)
    {
    case VP_SOURCE_OFFICIAL:
      g_string_append (conf, "DatabaseMirror database.clamav.net\n");
      break;
    case VP_SOURCE_PRIVATE:
      for (guint i = 0; config->mirrors[i] != NULL; i++)
        g_string_append_printf (conf, "PrivateMirror %s\n", config->mirrors[i]);
      break;
    case VP_SOURCE_CUSTOM:
      /* Only the admin's files: none of ClamAV's standard databases.
       * freshclam refuses a config without a mirror, but with every
       * standard database excluded it never contacts it. */
      g_string_append (conf, "DatabaseMirror database.clamav.net\n"
                             "ExcludeDatabase main\nExcludeDatabase daily\n"
                             "ExcludeDatabase bytecode\n");
      break;
    }
  for (guint i = 0; config->custom_urls[i] != NULL; i++)
    g_string_append_printf (conf, "DatabaseCustomURL %s\n", config->custom_urls[i]);
  if (proxy_uri != NULL && !append_proxy (conf, proxy_uri, error))
    return NULL;
  return g_string_free (g_steal_pointer (&conf), FALSE);
}

/* ---- the run ------------------------------------------------------------ */

/* The last @max lines of freshclam's output (stdout, then stderr, where
 * it writes what it finds wrong before --stdout applies), valid UTF-8. */
static JsonArray *
output_tail (VpChild *c, guint max)
{
  gsize out_len = 0, err_len = 0;
  const char *out = c->out ? g_bytes_get_data (c->out, &out_len) : NULL;
  const char *err = c->err ? g_bytes_get_data (c->err, &err_len) : NULL;
  g_autofree char *out_text = out ? g_utf8_make_valid (out, out_len) : g_strdup ("");
  g_autofree char *err_text = err ? g_utf8_make_valid (err, err_len) : g_strdup ("");
  g_autofree char *text = g_strconcat (out_text, "\n", err_text, NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines), first;
  JsonArray *tail = json_array_new ();

  while (n > 0 && *g_strstrip (lines[n - 1]) == '\0')
    n--;
  first = n > max ? n - max : 0;
  for (guint i = first; i < n; i++)
    if (*g_strchomp (lines[i]) != '\0')
      json_array_add_string_element (tail, lines[i]);
  return tail;
}

/* freshclam's "ERROR: ..." lines, joined, for the failure message. */
static char *
error_lines (JsonArray *tail)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (tail); i++)
    {
      const char *line = json_array_get_string_element (tail, i);
      if (g_str_has_prefix (line, "ERROR: ") || g_str_has_prefix (line, "Update failed"))
        g_string_append_printf (s, "%s%s", s->len ? "; " : "", line);
    }
  if (s->len == 0 && json_array_get_length (tail) > 0)
    g_string_append (s, json_array_get_string_element (tail, json_array_get_length (tail) - 1));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
find_updater (const VpUpdateConfig *config, GError **error)
{
  const char *name = config->updater ? config->updater : "freshclam";
  char *prog = strchr (name, '/') ? (g_file_test (name, G_FILE_TEST_IS_EXECUTABLE)
                                     ? g_strdup (name) : NULL)
                                  : g_find_program_in_path (name);

  if (prog == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 "ClamAV's updater '%s' is not installed (install the Debian "
                 "package clamav-freshclam)", name);
  return prog;
}

JsonObject *
vp_update_run (const VpUpdateConfig *config, const char *db_dir, const char *conf_path,
               const char *proxy_uri, GCancellable *cancellable, GError **error)
{
  g_autofree char *prog = find_updater (config, error);
  g_autofree char *conf = NULL;
  g_autofree char *conf_arg = NULL;
  g_autofree char *dir_arg = NULL;
  g_autoptr (JsonArray) before = NULL;
  g_autoptr (JsonArray) after = NULL;
  g_autoptr (JsonArray) tail = NULL;
  g_autoptr (JsonArray) changes = NULL;
  VpChild c = { 0 };
  JsonObject *r = NULL;
  int status;

  if (prog == NULL)
    return NULL;
  conf = build_config (config, db_dir, proxy_uri, error);
  if (conf == NULL)
    return NULL;
  if (g_mkdir_with_parents (db_dir, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "cannot create the database folder %s: %s", db_dir, g_strerror (errsv));
      return NULL;
    }
  if (!vigil_file_write_atomic (conf_path, conf, strlen (conf), 0600, error))
    return NULL;
  before = vp_database_inventory (db_dir);
  conf_arg = g_strdup_printf ("--config-file=%s", conf_path);
  dir_arg = g_strdup_printf ("--datadir=%s", db_dir);
  {
    /* --no-dns: the version check goes over HTTP to the configured source,
     * never to ClamAV's DNS unless that is the source. */
    const char *argv[] = { prog, conf_arg, dir_arg, "--stdout", "--no-dns", NULL };
    if (!vp_child_run (&c, argv, config->timeout_sec, cancellable, error))
      return NULL;
  }
  tail = output_tail (&c, OUTPUT_LINES);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;
  if (c.timed_out)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "freshclam did not finish within %u s (epp.update.timeout_sec) and "
                   "was stopped", config->timeout_sec);
      goto out;
    }
  if (c.error != NULL || !g_subprocess_get_if_exited (c.proc))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "freshclam did not exit normally%s%s",
                   c.error ? ": " : "", c.error ? c.error->message : "");
      goto out;
    }
  status = g_subprocess_get_exit_status (c.proc);
  if (status != 0)
    {
      g_autofree char *why = error_lines (tail);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the database update from the %s source failed (freshclam exit "
                   "status %d): %s", source_name (config->source), status,
                   *why ? why : "no error message");
      goto out;
    }
  after = vp_database_inventory (db_dir);
  changes = diff_inventories (before, after);
  r = json_object_new ();
  json_object_set_string_member (r, "source", source_name (config->source));
  json_object_set_string_member (r, "updater", prog);
  json_object_set_string_member (r, "database_dir", db_dir);
  json_object_set_int_member (r, "exit_status", status);
  json_object_set_boolean_member (r, "changed", json_array_get_length (changes) > 0);
  json_object_set_array_member (r, "changes", json_array_ref (changes));
  json_object_set_array_member (r, "databases", json_array_ref (after));
  json_object_set_int_member (r, "signatures_before", total_signatures (before));
  json_object_set_int_member (r, "signatures_after", total_signatures (after));
  json_object_set_boolean_member (r, "proxy", proxy_uri != NULL);
  json_object_set_array_member (r, "output", json_array_ref (tail));
out:
  vp_child_clear (&c);
  return r;
}
