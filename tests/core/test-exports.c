/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every shipped plugin exports exactly one dynamic symbol,
 * vigil_plugin_query_v1 (`nm -D --defined-only`): anything else would leak
 * into the host's symbol space or become ABI by accident. The plugins are
 * found through VIGIL_PLUGIN_PATH (one build folder per plugin, named by
 * its id); one not built yet is skipped with a message. The test plugin
 * "basic" is checked too, as the control that the check works at all.
 */
#include "host-private.h"

#include <string.h>

/* Returns: (transfer full) the defined dynamic symbols of @path. */
static GStrv
defined_symbols (const char *path)
{
  const char *argv[] = { "nm", "-D", "--defined-only", path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("nm failed on %s: %s", path, err);
  lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      const char *name = strrchr (*l, ' ');
      if (name != NULL && name[1] != '\0')
        g_strv_builder_add (names, name + 1);
    }
  return g_strv_builder_end (names);
}

static void
check_exports (gconstpointer data)
{
  const char *path = data;
  g_auto(GStrv) symbols = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *msg = g_strdup_printf ("%s is not built yet", path);
      g_test_skip (msg);
      return;
    }
  symbols = defined_symbols (path);
  for (char **s = symbols; *s != NULL; s++)
    if (!g_str_equal (*s, VIGIL_PLUGIN_QUERY_SYMBOL))
      g_error ("%s exports %s: build plugins with -fvisibility=hidden "
               "(plugin_c_args) so only " VIGIL_PLUGIN_QUERY_SYMBOL " is exported",
               path, *s);
  g_assert_true (g_strv_contains ((const char *const *) symbols, VIGIL_PLUGIN_QUERY_SYMBOL));
}

/* libvigil-host exports its public API and nothing else (vigil-host.map),
 * so embedding applications cannot come to depend on internals. */
static void
check_host_library (gconstpointer data)
{
  g_auto(GStrv) symbols = NULL;

  if (!g_file_test (data, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("libvigil-host is not built yet");
      return;
    }
  symbols = defined_symbols (data);
  for (char **s = symbols; *s != NULL; s++)
    if (!g_str_has_prefix (*s, "vigil_host_") && !g_str_equal (*s, "VIGIL_HOST_1.0")
        && !g_str_equal (*s, "VIGIL_HOST_1.1"))
      g_error ("libvigil-host exports %s, which is not public API", *s);
  g_assert_true (g_strv_contains ((const char *const *) symbols,
                                  "vigil_host_new@@VIGIL_HOST_1.0"));
  /* 1.0 functions keep their version; later ones carry their own. */
  g_assert_true (g_strv_contains ((const char *const *) symbols,
                                  "vigil_host_emit_event@@VIGIL_HOST_1.0"));
  g_assert_true (g_strv_contains ((const char *const *) symbols,
                                  "vigil_host_add_device@@VIGIL_HOST_1.1"));
}

static void
add_case (const char *dir, const char *id)
{
  g_autofree char *name = g_strconcat (id, ".so", NULL);
  g_autofree char *test = g_strconcat ("/exports/only-entry-symbol/", id, NULL);

  g_test_add_data_func_full (test, g_build_filename (dir, name, NULL), check_exports, g_free);
}

int
main (int argc, char **argv)
{
  const char *path = g_getenv ("VIGIL_PLUGIN_PATH");
  const char *test_plugins = g_getenv ("CORE_TEST_PLUGIN_DIR");
  g_auto(GStrv) dirs = g_strsplit (path ? path : "", ":", -1);

  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("VIGIL_HOST_LIB") != NULL)
    g_test_add_data_func ("/exports/libvigil-host-only-public-api",
                          g_getenv ("VIGIL_HOST_LIB"), check_host_library);
  if (test_plugins != NULL)
    add_case (test_plugins, "basic");
  for (char **d = dirs; *d != NULL; d++)
    if (**d != '\0')
      {
        g_autofree char *id = g_path_get_basename (*d);
        add_case (*d, id);
      }
  return g_test_run ();
}
