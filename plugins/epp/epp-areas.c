/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The critical areas of a Linux device: what starts before or with the
 * system and the user, and what runs now. Boot files (/boot), loaded kernel
 * modules (/proc/modules, resolved to their files under
 * /lib/modules/<release>), startup objects (systemd units, SysV init
 * scripts, cron, shell profiles, XDG autostart, ld.so.preload) and the
 * executables of running processes (/proc/<pid>/exe). On a lab device (one
 * with a root folder) every path is taken inside the root, and the
 * /proc-based areas are skipped: a folder has no kernel or processes of its
 * own. Paths with a symlinked component are skipped so a scan never leaves
 * the device root.
 */
#include "epp-engine.h"

#include <sys/stat.h>
#include <sys/utsname.h>

/* Device paths of boot files and startup objects. */
static const char *const fixed_areas[] = {
  "/boot",
  "/etc/systemd/system", "/etc/systemd/user", "/usr/lib/systemd/system",
  "/usr/lib/systemd/user", "/lib/systemd/system",
  "/etc/init.d", "/etc/rc.local",
  "/etc/crontab", "/etc/anacrontab", "/etc/cron.d", "/etc/cron.hourly",
  "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly", "/var/spool/cron",
  "/etc/profile", "/etc/profile.d", "/etc/bash.bashrc", "/etc/environment",
  "/etc/ld.so.preload", "/etc/xdg/autostart",
  NULL
};

/* Startup objects in each home folder (/root and /home/<user>). */
static const char *const home_areas[] = {
  ".profile", ".bash_profile", ".bash_login", ".bashrc", ".bash_logout",
  ".zshrc", ".zprofile", ".config/autostart", ".config/systemd/user",
  NULL
};

void
vp_areas_clear (VpAreas *areas)
{
  g_clear_pointer (&areas->paths, g_ptr_array_unref);
  g_clear_pointer (&areas->skipped, json_array_unref);
}

static gboolean
is_machine (const char *root)
{
  return root == NULL || *root == '\0' || g_strcmp0 (root, "/") == 0;
}

/* @device_path inside @root, or NULL when it does not exist or a component
 * (the last one included) is a symlink. */
static char *
host_path (const char *root, const char *device_path)
{
  g_auto (GStrv) parts = g_strsplit (device_path, "/", -1);
  g_autofree char *path = g_strdup (is_machine (root) ? "/" : root);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      struct stat st;
      char *next;

      if (g_strcmp0 (parts[i], "..") == 0)
        return NULL;
      if (*parts[i] == '\0')
        continue;
      next = g_build_filename (path, parts[i], NULL);
      g_free (path);
      path = next;
      if (lstat (path, &st) != 0 || S_ISLNK (st.st_mode))
        return NULL;
    }
  return g_steal_pointer (&path);
}

static void
add_path (VpAreas *areas, GHashTable *seen, char *path)
{
  if (path == NULL)
    return;
  if (g_hash_table_add (seen, path))
    g_ptr_array_add (areas->paths, g_strdup (path));
}

static void
skip_area (VpAreas *areas, const char *area, const char *reason)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "area", area);
  json_object_set_string_member (o, "reason", reason);
  json_array_add_object_element (areas->skipped, o);
}

static void
collect_home (VpAreas *areas, GHashTable *seen, const char *root,
              const char *home)
{
  for (guint i = 0; home_areas[i] != NULL; i++)
    {
      g_autofree char *p = g_build_filename (home, home_areas[i], NULL);
      add_path (areas, seen, host_path (root, p));
    }
}

static void
collect_homes (VpAreas *areas, GHashTable *seen, const char *root)
{
  g_autofree char *home_dir = host_path (root, "/home");
  g_autoptr (GDir) dir = home_dir ? g_dir_open (home_dir, 0, NULL) : NULL;
  const char *name;

  collect_home (areas, seen, root, "/root");
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *home = g_build_filename ("/home", name, NULL);
      collect_home (areas, seen, root, home);
    }
}

/* Module names use '-' and '_' interchangeably; files may be compressed. */
static char *
module_key (const char *file_name)
{
  char *key = g_strdup (file_name);
  char *dot = strstr (key, ".ko");

  if (dot != NULL)
    *dot = '\0';
  g_strdelimit (key, "-", '_');
  return key;
}

static void
index_modules (GHashTable *index, const char *dir_path, guint depth)
{
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir != NULL && depth < 12 && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir_path, name, NULL);
      struct stat st;

      if (lstat (p, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode))
        index_modules (index, p, depth + 1);
      else if (S_ISREG (st.st_mode) && strstr (name, ".ko") != NULL)
        g_hash_table_insert (index, module_key (name), g_steal_pointer (&p));
    }
}

static void
collect_modules (VpAreas *areas, GHashTable *seen)
{
  g_autoptr (GHashTable) index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *list = NULL;
  g_autofree char *moddir = NULL;
  g_auto (GStrv) lines = NULL;
  struct utsname u;

  if (!g_file_get_contents ("/proc/modules", &list, NULL, NULL) || uname (&u) != 0)
    {
      skip_area (areas, "kernel_modules", "/proc/modules cannot be read");
      return;
    }
  moddir = g_build_filename ("/lib/modules", u.release, NULL);
  index_modules (index, moddir, 0);
  lines = g_strsplit (list, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (lines[i], strcspn (lines[i], " "));
      g_autofree char *key = module_key (name);
      const char *file = g_hash_table_lookup (index, key);

      if (file != NULL)
        add_path (areas, seen, g_strdup (file));
    }
  if (g_hash_table_size (index) == 0 && lines[0] != NULL && *lines[0] != '\0')
    skip_area (areas, "kernel_modules", "no module files under /lib/modules for the running kernel");
}

static void
collect_processes (VpAreas *areas, GHashTable *seen)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *link = NULL;
      g_autofree char *exe = NULL;

      if (!g_ascii_isdigit (name[0]))
        continue;
      link = g_build_filename ("/proc", name, "exe", NULL);
      exe = g_file_read_link (link, NULL);
      /* Kernel threads have no exe; a deleted image cannot be scanned. */
      if (exe != NULL && exe[0] == '/' && !g_str_has_suffix (exe, " (deleted)"))
        add_path (areas, seen, host_path ("/", exe));
    }
}

void
vp_areas_collect (const char *root, VpAreas *areas)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  areas->paths = g_ptr_array_new_with_free_func (g_free);
  areas->skipped = json_array_new ();
  for (guint i = 0; fixed_areas[i] != NULL; i++)
    add_path (areas, seen, host_path (root, fixed_areas[i]));
  collect_homes (areas, seen, root);
  if (is_machine (root))
    {
      collect_modules (areas, seen);
      collect_processes (areas, seen);
      return;
    }
  skip_area (areas, "kernel_modules", "a lab device (root folder) has no running kernel of its own");
  skip_area (areas, "process_executables", "a lab device (root folder) has no running processes of its own");
}
