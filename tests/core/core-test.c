/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The core tests' shared fixture; see core-test.h. */
#include "core-test.h"

#include <glib/gstdio.h>

void
core_fixture_init (CoreFixture *fx)
{
  g_autoptr(GError) error = NULL;

  memset (fx, 0, sizeof *fx);
  fx->root = g_dir_make_tmp ("vigil-core-XXXXXX", &error);
  g_assert_no_error (error);
  fx->state = g_build_filename (fx->root, "state", NULL);
  fx->plugins = g_build_filename (fx->root, "plugins", NULL);
  g_assert_cmpint (g_mkdir (fx->plugins, 0755), ==, 0);
}

void
core_fixture_clear (CoreFixture *fx)
{
  g_clear_pointer (&fx->host, vigil_host_free);
  vt_rm_rf (fx->root);
  g_free (fx->root);
  g_free (fx->state);
  g_free (fx->plugins);
}

char *
core_copy_plugin (const char *id, const char *dir)
{
  const char *build = g_getenv ("CORE_TEST_PLUGIN_DIR");
  g_autofree char *name = g_strconcat (id, ".so", NULL);
  g_autofree char *src = NULL;
  g_autofree char *data = NULL;
  char *dst = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  gsize len;

  g_assert_nonnull (build);
  src = g_build_filename (build, name, NULL);
  g_file_get_contents (src, &data, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (dst, data, len, &error);
  g_assert_no_error (error);
  /* Explicit mode: a umask of 002 would make the copy group-writable,
   * which the loader rightly refuses. */
  g_assert_cmpint (g_chmod (dst, 0755), ==, 0);
  return dst;
}

VigilHost *
core_open_host (CoreFixture *fx, const char *const *extra_dirs)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new ();
  VigilHostOptions options = { sizeof options };
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (dirs, fx->plugins);
  for (const char *const *d = extra_dirs; d != NULL && *d != NULL; d++)
    g_ptr_array_add (dirs, (gpointer) *d);
  g_ptr_array_add (dirs, NULL);
  options.state_dir = fx->state;
  options.plugin_dirs = (const char *const *) dirs->pdata;
  options.skip_install_dir = TRUE;
  fx->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  vigil_host_load_plugins (fx->host);
  return fx->host;
}

JsonObject *
core_plugin_info (VigilHost *host, const char *id, guint nth)
{
  g_autoptr(JsonArray) plugins = vigil_host_plugins (host);

  for (guint i = 0; i < json_array_get_length (plugins); i++)
    {
      JsonObject *p = json_array_get_object_element (plugins, i);
      if (g_str_equal (json_object_get_string_member (p, "id"), id) && nth-- == 0)
        return json_object_ref (p);
    }
  return NULL;
}

void
core_assert_refused (VigilHost *host, const char *id, const char *needle)
{
  g_autoptr(JsonObject) info = core_plugin_info (host, id, 0);
  const char *reason;

  g_assert_nonnull (info);
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "refused");
  reason = json_object_get_string_member (info, "reason");
  g_assert_nonnull (reason);
  if (strstr (reason, needle) == NULL)
    g_error ("reason for %s lacks \"%s\": %s", id, needle, reason);
  /* Every refusal names the file. */
  g_assert_true (strstr (reason, json_object_get_string_member (info, "file")) != NULL);
}
