/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host config: enabling and disabling rewrite the file atomically and
 * keep the admin's comments; an allow-list opens only what it lists;
 * configured folders are relative to the config file; a bad plugin id in
 * the config is an error naming the file.
 */
#include "core-test.h"

#include <glib/gstdio.h>

static char *
write_conf (const char *dir, const char *text)
{
  char *path = g_build_filename (dir, "vigil.conf", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_disable_rewrites_keeping_comments (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "# kept by the admin\n[plugins]\n"
                                           "# why kata is off\ndisabled=kata\n");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  VhConfig *config = vh_config_load (path, &error);
  VhConfig *again;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_true (vh_config_set_enabled (config, "ksn", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "# kept by the admin"));
  g_assert_nonnull (strstr (text, "# why kata is off"));
  g_assert_nonnull (strstr (text, "disabled=kata;ksn;"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  again = vh_config_load (path, &error);
  g_assert_true (vh_config_is_disabled (again, "ksn"));
  g_assert_true (vh_config_is_disabled (again, "kata"));
  g_assert_false (vh_config_is_disabled (again, "quarantine"));
  vh_config_free (again);
  vh_config_free (config);
  vt_rm_rf (dir);
}

static void
test_enable_removes_from_disabled (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "[plugins]\ndisabled=kata\n");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  VhConfig *config = vh_config_load (path, &error);

  g_assert_true (vh_config_set_enabled (config, "kata", TRUE, &error));
  g_assert_no_error (error);
  g_assert_false (vh_config_is_disabled (config, "kata"));
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_null (strstr (text, "kata"));
  vh_config_free (config);
  vt_rm_rf (dir);
}

/* No temporary file is left behind next to the config. */
static void
test_rewrite_leaves_one_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "vigil.conf", NULL);
  g_autoptr(GError) error = NULL;
  VhConfig *config = vh_config_load (path, &error); /* missing: empty config */
  g_autoptr(GDir) d = NULL;
  guint n = 0;

  g_assert_no_error (error);
  g_assert_true (vh_config_set_enabled (config, "kata", FALSE, &error));
  g_assert_true (vh_config_set_enabled (config, "ksn", FALSE, &error));
  d = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (d) != NULL)
    n++;
  g_assert_cmpuint (n, ==, 1);
  vh_config_free (config);
  vt_rm_rf (dir);
}

static void
test_allow_list (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "[plugins]\nenabled=quarantine;ioc-scan\n");
  g_autoptr(GError) error = NULL;
  VhConfig *config = vh_config_load (path, &error);

  g_assert_false (vh_config_is_disabled (config, "quarantine"));
  g_assert_true (vh_config_is_disabled (config, "kata"));
  g_assert_true (vh_config_set_enabled (config, "kata", TRUE, &error));
  g_assert_false (vh_config_is_disabled (config, "kata"));
  g_assert_true (vh_config_set_enabled (config, "quarantine", FALSE, &error));
  g_assert_true (vh_config_is_disabled (config, "quarantine"));
  vh_config_free (config);
  vt_rm_rf (dir);
}

static void
test_folders_relative_to_config (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "[plugins]\nfolders=vendor;/opt/abs\n");
  g_autofree char *expected = g_build_filename (dir, "vendor", NULL);
  g_autoptr(GError) error = NULL;
  VhConfig *config = vh_config_load (path, &error);
  const char *const *dirs = vh_config_plugin_dirs (config);

  g_assert_cmpstr (dirs[0], ==, expected);
  g_assert_cmpstr (dirs[1], ==, "/opt/abs");
  g_assert_null (dirs[2]);
  vh_config_free (config);
  vt_rm_rf (dir);
}

static void
test_bad_id_names_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "[plugins]\ndisabled=Kata Plugin\n");
  g_autoptr(GError) error = NULL;
  VhConfig *config = vh_config_load (path, &error);

  g_assert_null (config);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "'Kata Plugin' is not a plugin id"));
  vt_rm_rf (dir);
}

static void
test_malformed_file_names_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "this is not a key file\n");
  g_autoptr(GError) error = NULL;
  VhConfig *config = vh_config_load (path, &error);

  g_assert_null (config);
  g_assert_true (g_str_has_prefix (error->message, path));
  vt_rm_rf (dir);
}

/* A change made by another process since this one loaded the config is
 * kept: the rewrite re-reads the file under a lock. */
static void
test_concurrent_change_kept (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = write_conf (dir, "[plugins]\n");
  g_autoptr(GError) error = NULL;
  VhConfig *first = vh_config_load (path, &error);
  VhConfig *second = vh_config_load (path, &error);
  VhConfig *after;

  g_assert_true (vh_config_set_enabled (first, "kata", FALSE, &error));
  g_assert_true (vh_config_set_enabled (second, "ksn", FALSE, &error));
  after = vh_config_load (path, &error);
  g_assert_true (vh_config_is_disabled (after, "kata"));
  g_assert_true (vh_config_is_disabled (after, "ksn"));
  vh_config_free (after);
  vh_config_free (second);
  vh_config_free (first);
  vt_rm_rf (dir);
}

/* The retention a config with @text gives (NULL: no file), or -1 with
 * the error checked to name the file and the key. */
static gint64
event_retention_of (const char *text)
{
  g_autofree char *dir = g_dir_make_tmp ("vigil-conf-XXXXXX", NULL);
  g_autofree char *path = text ? write_conf (dir, text)
                               : g_build_filename (dir, "vigil.conf", NULL);
  g_autoptr(GError) error = NULL;
  VhConfig *config = vh_config_load (path, &error);
  gint64 days = -1;

  if (config != NULL)
    days = vh_config_event_retention_days (config);
  else
    {
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_nonnull (strstr (error->message, "[events] retention_days"));
    }
  vh_config_free (config);
  vt_rm_rf (dir);
  return days;
}

static void
test_event_retention (void)
{
  g_assert_cmpint (event_retention_of (NULL), ==, 30);
  g_assert_cmpint (event_retention_of ("[plugins]\n"), ==, 30);
  g_assert_cmpint (event_retention_of ("[events]\nretention_days= 90 \n"), ==, 90);
  g_assert_cmpint (event_retention_of ("[events]\nretention_days=0\n"), ==, 0);
  g_assert_cmpint (event_retention_of ("[events]\nretention_days=3650\n"), ==, 3650);
}

static void
test_event_retention_bad_value_names_key (void)
{
  const char *bad[] = { "-1", "thirty", "3651", "", "7d" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strdup_printf ("[events]\nretention_days=%s\n", bad[i]);
      g_assert_cmpint (event_retention_of (text), ==, -1);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/disable-rewrites-keeping-comments", test_disable_rewrites_keeping_comments);
  g_test_add_func ("/config/enable-removes-from-disabled", test_enable_removes_from_disabled);
  g_test_add_func ("/config/rewrite-leaves-no-temporary-file", test_rewrite_leaves_one_file);
  g_test_add_func ("/config/concurrent-change-is-kept", test_concurrent_change_kept);
  g_test_add_func ("/config/allow-list-opens-only-listed", test_allow_list);
  g_test_add_func ("/config/folders-relative-to-config-file", test_folders_relative_to_config);
  g_test_add_func ("/config/bad-plugin-id-names-the-file", test_bad_id_names_file);
  g_test_add_func ("/config/malformed-file-names-the-file", test_malformed_file_names_file);
  g_test_add_func ("/config/event-retention-default-and-range", test_event_retention);
  g_test_add_func ("/config/event-retention-bad-value-names-key", test_event_retention_bad_value_names_key);
  return g_test_run ();
}
