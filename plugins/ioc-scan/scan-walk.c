/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scopes and the directory walk. A scope is a list of device paths (custom,
 * or the Linux meaning of "critical areas" and "system drives", see
 * docs/ioc-scan.md) minus exclusions, resolved inside the device's root
 * folder. The walk never follows a symbolic link: scope roots are resolved
 * once and must stay inside the root, and links met during the walk are
 * skipped, so nothing outside the scope is ever read. Special files and
 * pseudo file systems (proc, sysfs, cgroup...) are skipped; directories
 * are visited once even when scope paths overlap.
 */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* Where malware lands and persists on Linux: temporary folders, user
 * homes, executable folders, autostart and scheduling configuration. */
static const char *const critical_areas[] = {
  "/tmp", "/var/tmp", "/dev/shm", "/home", "/root", "/etc",
  "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin",
  "/usr/lib/systemd", "/lib/systemd", "/var/spool/cron", "/opt",
};

/* Kernel and runtime trees that are not files on a drive. */
static const char *const not_drives[] = { "/proc", "/sys", "/dev", "/run" };

/* statfs magics of pseudo file systems, skipped in every scope. */
static const unsigned long pseudo_fs[] = {
  0x9fa0,      /* proc */
  0x62656572,  /* sysfs */
  0x1cd1,      /* devpts */
  0x27e0eb,    /* cgroup */
  0x63677270,  /* cgroup2 */
  0x64626720,  /* debugfs */
  0x74726163,  /* tracefs */
  0x73636673,  /* securityfs */
  0x6165676c,  /* pstore */
  0xcafe4a11,  /* bpf */
  0x62656570,  /* configfs */
  0x65735543,  /* fusectl */
  0x42494e4d,  /* binfmt_misc */
  0x19800202,  /* mqueue */
};

/* Network and user-space file systems: not the device's own drives. */
static const unsigned long remote_fs[] = {
  0x6969,      /* nfs */
  0x517b,      /* smb */
  0xff534d42,  /* cifs */
  0xfe534d42,  /* smb2 */
  0x65735546,  /* fuse */
  0x01021997,  /* 9p */
  0x00c36400,  /* ceph */
};

static const char *const kind_names[] = { "custom", "critical_areas", "system_drives" };

IocScopeKind
ioc_scope_kind_parse (const char *text, gboolean *ok)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (text != NULL && strcmp (text, kind_names[i]) == 0)
      {
        *ok = TRUE;
        return (IocScopeKind) i;
      }
  *ok = FALSE;
  return IOC_SCOPE_CUSTOM;
}

const char *
ioc_scope_kind_name (IocScopeKind kind)
{
  return kind <= IOC_SCOPE_SYSTEM_DRIVES ? kind_names[kind] : "custom";
}

GPtrArray *
ioc_scope_roots (const IocScope *scope)
{
  GPtrArray *roots = g_ptr_array_new_with_free_func (g_free);

  if (scope->kind == IOC_SCOPE_SYSTEM_DRIVES)
    g_ptr_array_add (roots, g_strdup ("/"));
  else if (scope->kind == IOC_SCOPE_CRITICAL_AREAS)
    for (guint i = 0; i < G_N_ELEMENTS (critical_areas); i++)
      g_ptr_array_add (roots, g_strdup (critical_areas[i]));
  else if (scope->paths != NULL)
    for (guint i = 0; i < scope->paths->len; i++)
      g_ptr_array_add (roots, g_strdup (scope->paths->pdata[i]));
  return roots;
}

static gboolean
under (const char *path, const char *prefix)
{
  gsize n = strlen (prefix);
  while (n > 1 && prefix[n - 1] == '/')
    n--;
  if (n == 1 && prefix[0] == '/')
    return TRUE;
  return strncmp (path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

gboolean
ioc_scope_excluded (const IocScope *scope, const char *device_path)
{
  for (guint i = 0; scope->exclusions != NULL && i < scope->exclusions->len; i++)
    {
      const char *ex = scope->exclusions->pdata[i];
      if (strpbrk (ex, "*?") != NULL ? g_pattern_match_simple (ex, device_path)
                                     : under (device_path, ex))
        return TRUE;
    }
  return FALSE;
}

const char *
ioc_device_path (const char *root_real, const char *host_path)
{
  gsize n = strlen (root_real);
  if (n == 1 && root_real[0] == '/')
    return host_path;
  return host_path[n] == '\0' ? "/" : host_path + n;
}

char *
ioc_resolve_in_root (const char *root_real, const char *device_path, char **why)
{
  g_auto (GStrv) parts = NULL;
  g_autofree char *host = NULL;
  char real[PATH_MAX];
  struct stat st;

  *why = NULL;
  if (device_path == NULL || device_path[0] != '/')
    {
      *why = g_strdup ("not an absolute path");
      return NULL;
    }
  parts = g_strsplit (device_path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (strcmp (parts[i], "..") == 0)
      {
        *why = g_strdup ("'..' is not allowed in a scope path");
        return NULL;
      }
  host = strcmp (root_real, "/") == 0 ? g_strdup (device_path)
                                       : g_strconcat (root_real, device_path, NULL);
  if (lstat (host, &st) != 0 || realpath (host, real) == NULL)
    {
      *why = g_strdup_printf ("absent (%s)", g_strerror (errno));
      return NULL;
    }
  if (!under (real, root_real))
    {
      *why = g_strdup ("a symbolic link out of the device root: not followed");
      return NULL;
    }
  return g_strdup (real);
}

/* ------------------------------------------------------------------ */
/* The walk                                                            */
/* ------------------------------------------------------------------ */

typedef struct {
  const char        *root_real;
  const IocScope    *scope;
  const IocWalkSink *sink;
  GPtrArray         *stack;    /* host paths of directories to visit */
  GHashTable        *visited;  /* "dev:ino" of directories seen */
} Walk;

static gboolean
in_list (unsigned long type, const unsigned long *list, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (type == list[i])
      return TRUE;
  return FALSE;
}

/* Pseudo file systems are never entered; network and FUSE mounts are not
 * "system drives" (a custom scope may still name them). */
static gboolean
skip_fs (const Walk *w, int fd)
{
  struct statfs sf;
  unsigned long type;

  if (fstatfs (fd, &sf) != 0)
    return FALSE;
  type = (unsigned long) (unsigned int) sf.f_type;
  return in_list (type, pseudo_fs, G_N_ELEMENTS (pseudo_fs))
         || (w->scope->kind == IOC_SCOPE_SYSTEM_DRIVES
             && in_list (type, remote_fs, G_N_ELEMENTS (remote_fs)));
}

static gboolean
not_a_drive (const Walk *w, const char *device_path)
{
  if (w->scope->kind != IOC_SCOPE_SYSTEM_DRIVES)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (not_drives); i++)
    if (strcmp (device_path, not_drives[i]) == 0)
      return TRUE;
  return FALSE;
}

static unsigned char
type_of (int dirfd, const struct dirent *ent)
{
  struct stat st;
  if (ent->d_type != DT_UNKNOWN)
    return ent->d_type;
  if (fstatat (dirfd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return DT_UNKNOWN;
  return S_ISDIR (st.st_mode) ? DT_DIR : S_ISREG (st.st_mode) ? DT_REG
         : S_ISLNK (st.st_mode) ? DT_LNK : DT_FIFO;
}

static void
visit_entry (Walk *w, int dirfd, const char *dir, const struct dirent *ent)
{
  const IocWalkSink *sink = w->sink;
  g_autofree char *child = strcmp (dir, "/") == 0 ? g_strconcat ("/", ent->d_name, NULL)
                                                  : g_strconcat (dir, "/", ent->d_name, NULL);
  const char *device = ioc_device_path (w->root_real, child);

  if (ioc_scope_excluded (w->scope, device))
    {
      sink->skip (child, "excluded", sink->data);
      return;
    }
  switch (type_of (dirfd, ent))
    {
    case DT_DIR:
      if (not_a_drive (w, device))
        sink->skip (child, "not a drive (kernel or runtime tree)", sink->data);
      else
        g_ptr_array_add (w->stack, g_steal_pointer (&child));
      break;
    case DT_REG:
      sink->file (child, sink->data);
      break;
    case DT_LNK:
      sink->skip (child, "symbolic link: not followed", sink->data);
      break;
    case DT_UNKNOWN:
      sink->error (child, "vanished during the scan", sink->data);
      break;
    default:
      sink->skip (child, "special file", sink->data);
      break;
    }
}

static gboolean
first_visit (Walk *w, int fd)
{
  struct stat st;
  char *key;

  if (fstat (fd, &st) != 0)
    return FALSE;
  key = g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino);
  return g_hash_table_add (w->visited, key);
}

static void
visit_dir (Walk *w, const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d;
  struct dirent *ent;

  if (fd < 0)
    {
      w->sink->error (dir, errno == ENOENT ? "vanished during the scan"
                                           : g_strerror (errno), w->sink->data);
      return;
    }
  if (!first_visit (w, fd) || skip_fs (w, fd))
    {
      close (fd);
      return;
    }
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return;
    }
  while ((ent = readdir (d)) != NULL)
    if (strcmp (ent->d_name, ".") != 0 && strcmp (ent->d_name, "..") != 0)
      visit_entry (w, dirfd (d), dir, ent);
  closedir (d);
}

static void
start_root (Walk *w, const char *device_root, GPtrArray *notes, guint max_listed)
{
  g_autofree char *why = NULL;
  g_autofree char *host = ioc_resolve_in_root (w->root_real, device_root, &why);
  struct stat st;

  if (host == NULL)
    {
      if (w->scope->kind == IOC_SCOPE_CUSTOM)
        ioc_note_add (notes, max_listed, device_root, "%s", why);
      return;
    }
  if (ioc_scope_excluded (w->scope, ioc_device_path (w->root_real, host)))
    return;
  if (lstat (host, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    g_ptr_array_add (w->stack, g_steal_pointer (&host));
  else if (S_ISREG (st.st_mode))
    w->sink->file (host, w->sink->data);
  else
    w->sink->skip (host, "special file", w->sink->data);
}

gboolean
ioc_walk (const char *root_real, const IocScope *scope, const IocWalkSink *sink,
          GPtrArray *scope_notes, guint max_listed, GCancellable *cancellable)
{
  g_autoptr (GPtrArray) roots = ioc_scope_roots (scope);
  Walk w = { root_real, scope, sink, NULL, NULL };
  gboolean done = TRUE;

  w.stack = g_ptr_array_new_with_free_func (g_free);
  w.visited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Reversed, so that the first root is walked first. */
  for (guint i = roots->len; i > 0; i--)
    start_root (&w, roots->pdata[i - 1], scope_notes, max_listed);
  while (w.stack->len > 0)
    {
      g_autofree char *dir = g_ptr_array_steal_index (w.stack, w.stack->len - 1);
      if (g_cancellable_is_cancelled (cancellable))
        {
          done = FALSE;
          break;
        }
      visit_dir (&w, dir);
      if (sink->tick != NULL)
        sink->tick (sink->data);
    }
  g_ptr_array_unref (w.stack);
  g_hash_table_unref (w.visited);
  return done;
}
