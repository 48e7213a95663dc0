/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host config: a GKeyFile (default <state>/vigil.conf) that says where
 * else to look for plugins and which plugins an admin turned off:
 *
 *   [plugins]
 *   folders=/opt/vendor/vigil-plugins;/srv/vigil/plugins
 *   disabled=kata;ksn
 *   enabled=...      (optional allow-list: when present, only these open)
 *
 *   [events]
 *   retention_days=30   (dispatched events older than this are purged;
 *                        0 keeps them forever)
 *
 * A disabled plugin is never opened, so a broken or unwanted file cannot
 * run code. `vigil plugins enable|disable` rewrite the file atomically
 * (temporary file, fsync, rename), keeping the admin's comments.
 */
#include "registry.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define GROUP "plugins"
#define EVENTS_GROUP "events"
#define DEFAULT_EVENT_RETENTION_DAYS 30
#define MAX_EVENT_RETENTION_DAYS 3650

struct _VhConfig {
  char     *path;
  GKeyFile *keys;
  GStrv     dirs;
  guint     event_retention_days;
};

static GStrv
read_list (VhConfig *config, const char *key)
{
  GStrv list = g_key_file_get_string_list (config->keys, GROUP, key, NULL, NULL);
  return list != NULL ? list : g_new0 (char *, 1);
}

static gboolean
check_ids (VhConfig *config, const char *key, GError **error)
{
  g_auto(GStrv) ids = read_list (config, key);

  for (char **id = ids; *id != NULL; id++)
    if (!vh_valid_id (*id, "_-"))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     "%s: [" GROUP "] %s: '%s' is not a plugin id "
                     "(letters a-z, digits, '_' and '-')",
                     config->path, key, *id);
        return FALSE;
      }
  return TRUE;
}

/* Relative folders are relative to the config file, not to wherever the
 * CLI happens to run. */
static GStrv
resolve_dirs (VhConfig *config)
{
  g_auto(GStrv) raw = read_list (config, "folders");
  g_autofree char *base = g_path_get_dirname (config->path);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (char **d = raw; *d != NULL; d++)
    if (**d != '\0')
      {
        g_autofree char *dir = g_canonicalize_filename (*d, base);
        g_strv_builder_add (builder, dir);
      }
  return g_strv_builder_end (builder);
}

/* [events] retention_days: a whole number of days, 0 (keep forever) to
 * MAX_EVENT_RETENTION_DAYS; absent means the default. */
static gboolean
read_event_retention (VhConfig *config, GError **error)
{
  g_autofree char *text = g_key_file_get_value (config->keys, EVENTS_GROUP,
                                                "retention_days", NULL);
  guint64 days = DEFAULT_EVENT_RETENTION_DAYS;

  if (text != NULL &&
      !g_ascii_string_to_unsigned (g_strstrip (text), 10, 0,
                                   MAX_EVENT_RETENTION_DAYS, &days, NULL))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s: [" EVENTS_GROUP "] retention_days: '%s' is not a number "
                   "of days from 0 to %d", config->path, text,
                   MAX_EVENT_RETENTION_DAYS);
      return FALSE;
    }
  config->event_retention_days = (guint) days;
  return TRUE;
}

VhConfig *
vh_config_load (const char *path, GError **error)
{
  VhConfig *config = g_new0 (VhConfig, 1);
  g_autoptr(GError) local = NULL;

  config->path = g_strdup (path);
  config->keys = g_key_file_new ();
  g_key_file_set_list_separator (config->keys, ';');
  if (!g_key_file_load_from_file (config->keys, path, G_KEY_FILE_KEEP_COMMENTS,
                                  &local) &&
      !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, local->domain, local->code, "%s: %s", path,
                   local->message);
      vh_config_free (config);
      return NULL;
    }
  if (!check_ids (config, "disabled", error) || !check_ids (config, "enabled", error) ||
      !read_event_retention (config, error))
    {
      vh_config_free (config);
      return NULL;
    }
  config->dirs = resolve_dirs (config);
  return config;
}

void
vh_config_free (VhConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_key_file_unref (config->keys);
  g_strfreev (config->dirs);
  g_free (config);
}

const char *
vh_config_path (VhConfig *config)
{
  return config->path;
}

const char *const *
vh_config_plugin_dirs (VhConfig *config)
{
  return (const char *const *) config->dirs;
}

guint
vh_config_event_retention_days (VhConfig *config)
{
  return config->event_retention_days;
}

gboolean
vh_config_is_disabled (VhConfig *config, const char *id)
{
  g_auto(GStrv) disabled = read_list (config, "disabled");
  g_auto(GStrv) enabled = NULL;

  if (g_strv_contains ((const char *const *) disabled, id))
    return TRUE;
  if (!g_key_file_has_key (config->keys, GROUP, "enabled", NULL))
    return FALSE;
  enabled = read_list (config, "enabled");
  return !g_strv_contains ((const char *const *) enabled, id);
}

/* Rewrites the list @key with @id added or removed. An emptied `disabled`
 * list goes away; an emptied `enabled` allow-list stays, as it still means
 * "open nothing". */
static void
update_list (VhConfig *config, const char *key, const char *id, gboolean add)
{
  g_auto(GStrv) old = read_list (config, key);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;

  for (char **p = old; *p != NULL; p++)
    if (!g_str_equal (*p, id))
      g_strv_builder_add (builder, *p);
  if (add)
    g_strv_builder_add (builder, id);
  list = g_strv_builder_end (builder);
  if (list[0] == NULL && g_str_equal (key, "disabled"))
    g_key_file_remove_key (config->keys, GROUP, key, NULL);
  else
    g_key_file_set_string_list (config->keys, GROUP, key,
                                (const char *const *) list,
                                g_strv_length (list));
}

static gboolean
save (VhConfig *config, GError **error)
{
  gsize len = 0;
  g_autofree char *data = g_key_file_to_data (config->keys, &len, NULL);
  g_autoptr(GError) local = NULL;

  if (!g_file_set_contents_full (config->path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT |
                                 G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local))
    {
      g_set_error (error, local->domain, local->code,
                   "cannot write the host config: %s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* Two `vigil plugins disable` at once must not lose one of the changes:
 * hold an exclusive lock on the config's folder (the file itself is
 * replaced by rename, so it cannot carry the lock) and re-read the file
 * under it. Returns the locked fd, or -1 when locking is not possible, in
 * which case the rewrite is still atomic, just not serialized. */
static int
lock_and_reload (VhConfig *config)
{
  g_autofree char *dir = g_path_get_dirname (config->path);
  g_autoptr(GKeyFile) fresh = g_key_file_new ();
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0 && flock (fd, LOCK_EX) != 0)
    {
      close (fd);
      fd = -1;
    }
  g_key_file_set_list_separator (fresh, ';');
  if (g_key_file_load_from_file (fresh, config->path, G_KEY_FILE_KEEP_COMMENTS, NULL))
    {
      g_key_file_unref (config->keys);
      config->keys = g_steal_pointer (&fresh);
    }
  return fd;
}

gboolean
vh_config_set_enabled (VhConfig *config, const char *id, gboolean enabled,
                       GError **error)
{
  int fd;
  gboolean ok;

  g_return_val_if_fail (vh_valid_id (id, "_-"), FALSE);
  fd = lock_and_reload (config);
  update_list (config, "disabled", id, !enabled);
  if (g_key_file_has_key (config->keys, GROUP, "enabled", NULL))
    update_list (config, "enabled", id, enabled);
  ok = save (config, error);
  if (fd >= 0)
    close (fd); /* releases the lock */
  return ok;
}
