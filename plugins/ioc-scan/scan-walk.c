/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scopes and the directory walk. A scope is a list of device paths (custom,
 * or the Linux meaning of "critical areas" and "system drives", see
 * docs/ioc-scan.md) minus exclusions, resolved inside the device's root
 * folder. The walk never follows a symbolic link: scope roots are resolved
 * once and must stay inside the root, then every folder, scope roots
 * included, is opened from its parent's fd with O_NOFOLLOW (scan-dir.c),
 * never by path: a folder swapped for a link after it was listed is
 * refused, and there is no limit on depth or path length. Links met during
 * the walk are skipped, so nothing outside the scope is ever read. Special files and
 * pseudo file systems (proc, sysfs, cgroup...) are skipped; directories
 * are visited once even when scope paths overlap.
 */
#define _GNU_SOURCE   /* getdents64 */
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

/* A folder to visit: its node (opened from its parent's fd when visited)
 * and its host path, for exclusions, notes and results only. */
typedef struct {
  IocDir *dir;
  char   *path;
} Pending;

typedef struct {
  const char        *root_real;
  const IocScope    *scope;
  const IocWalkSink *sink;
  GArray            *stack;    /* Pending */
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
type_of (int dirfd, const char *name, unsigned char d_type)
{
  struct stat st;
  if (d_type != DT_UNKNOWN)
    return d_type;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return DT_UNKNOWN;
  return S_ISDIR (st.st_mode) ? DT_DIR : S_ISREG (st.st_mode) ? DT_REG
         : S_ISLNK (st.st_mode) ? DT_LNK : DT_FIFO;
}

static void
push (Walk *w, IocDir *dir, char *path)
{
  Pending p = { dir, path };
  g_array_append_val (w->stack, p);
}

static void
visit_entry (Walk *w, IocDir *dir, int dirfd, const char *path, const char *name,
             unsigned char d_type)
{
  const IocWalkSink *sink = w->sink;
  g_autofree char *child = strcmp (path, "/") == 0 ? g_strconcat ("/", name, NULL)
                                                   : g_strconcat (path, "/", name, NULL);
  const char *device = ioc_device_path (w->root_real, child);

  if (ioc_scope_excluded (w->scope, device))
    {
      sink->skip (child, "excluded", sink->data);
      return;
    }
  switch (type_of (dirfd, name, d_type))
    {
    case DT_DIR:
      if (not_a_drive (w, device))
        sink->skip (child, "not a drive (kernel or runtime tree)", sink->data);
      else
        push (w, ioc_dir_child (dir, name), g_steal_pointer (&child));
      break;
    case DT_REG:
      sink->file (dir, child, sink->data);
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
first_visit (Walk *w, IocDir *dir)
{
  dev_t dev;
  ino_t ino;

  ioc_dir_identity (dir, &dev, &ino);
  return g_hash_table_add (w->visited,
                           g_strdup_printf ("%ju:%ju", (uintmax_t) dev, (uintmax_t) ino));
}

/* Lists a folder through the node's own fd with getdents64 (no stream to
 * open: the fd stays the node's, for the workers reading its files; its
 * offset is used by this listing only, as a folder is listed once). */
static void
visit_dir (Walk *w, IocDir *dir, const char *path)
{
  const IocWalkSink *sink = w->sink;
  char buf[32768];
  ssize_t n;
  int fd;

  if (sink->opening_dir != NULL)
    sink->opening_dir (path, sink->data);
  fd = ioc_dir_acquire (dir);
  if (fd < 0)
    {
      if (errno == ELOOP)
        sink->skip (path, "symbolic link: not followed", sink->data);
      else
        sink->error (path, ioc_dir_reason (errno), sink->data);
      return;
    }
  if (!first_visit (w, dir) || skip_fs (w, fd))
    {
      ioc_dir_release (dir);
      return;
    }
  while ((n = getdents64 (fd, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        struct dirent64 *ent = (struct dirent64 *) (buf + off);
        off += ent->d_reclen;
        if (strcmp (ent->d_name, ".") != 0 && strcmp (ent->d_name, "..") != 0)
          visit_entry (w, dir, fd, path, ent->d_name, ent->d_type);
      }
  if (n < 0)
    sink->error (path, g_strerror (errno), sink->data);
  ioc_dir_release (dir);
}

/* The node of the folder that holds @rel's last component (a relative
 * path without symbolic links, from realpath), one node per component
 * from the root, so that even scope roots are opened with O_NOFOLLOW one
 * step at a time. (transfer full) */
static IocDir *
parent_node (IocDirs *dirs, char **parts, guint n)
{
  IocDir *dir = ioc_dir_ref (ioc_dirs_root (dirs));

  for (guint i = 0; i < n; i++)
    {
      IocDir *child;
      if (parts[i][0] == '\0')
        continue;
      child = ioc_dir_child (dir, parts[i]);
      ioc_dir_unref (dir);
      dir = child;
    }
  return dir;
}

static void
start_root (Walk *w, IocDirs *dirs, const char *device_root, GPtrArray *notes,
            guint max_listed)
{
  g_autofree char *why = NULL;
  g_autofree char *host = ioc_resolve_in_root (w->root_real, device_root, &why);
  g_auto (GStrv) parts = NULL;
  const char *rel;
  IocDir *parent;
  guint n;
  int fd;
  struct stat st;

  if (host == NULL)
    {
      if (w->scope->kind == IOC_SCOPE_CUSTOM)
        ioc_note_add (notes, max_listed, device_root, "%s", why);
      return;
    }
  if (ioc_scope_excluded (w->scope, ioc_device_path (w->root_real, host)))
    return;
  rel = ioc_device_path (w->root_real, host);
  while (*rel == '/')
    rel++;
  if (*rel == '\0')
    {
      push (w, ioc_dir_ref (ioc_dirs_root (dirs)), g_steal_pointer (&host));
      return;
    }
  parts = g_strsplit (rel, "/", -1);
  n = g_strv_length (parts);
  parent = parent_node (dirs, parts, n - 1);
  fd = ioc_dir_acquire (parent);
  if (fd < 0)
    {
      if (w->scope->kind == IOC_SCOPE_CUSTOM)
        ioc_note_add (notes, max_listed, device_root, "%s", ioc_dir_reason (errno));
      ioc_dir_unref (parent);
      return;
    }
  if (fstatat (fd, parts[n - 1], &st, AT_SYMLINK_NOFOLLOW) != 0)
    st.st_mode = 0;
  if (S_ISDIR (st.st_mode))
    push (w, ioc_dir_child (parent, parts[n - 1]), g_steal_pointer (&host));
  else if (S_ISREG (st.st_mode))
    w->sink->file (parent, host, w->sink->data);
  else if (S_ISLNK (st.st_mode))
    w->sink->skip (host, "symbolic link: not followed", w->sink->data);
  else if (st.st_mode == 0)
    w->sink->error (host, "vanished during the scan", w->sink->data);
  else
    w->sink->skip (host, "special file", w->sink->data);
  ioc_dir_release (parent);
  ioc_dir_unref (parent);
}

static void
pending_clear (gpointer data)
{
  Pending *p = data;
  ioc_dir_unref (p->dir);
  g_free (p->path);
}

gboolean
ioc_walk (IocDirs *dirs, const char *root_real, const IocScope *scope,
          const IocWalkSink *sink, GPtrArray *scope_notes, guint max_listed,
          GCancellable *cancellable)
{
  g_autoptr (GPtrArray) roots = ioc_scope_roots (scope);
  Walk w = { root_real, scope, sink, NULL, NULL };
  gboolean done = TRUE;

  /* No clear function: popping must not free what it pops. */
  w.stack = g_array_new (FALSE, FALSE, sizeof (Pending));
  w.visited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* Reversed, so that the first root is walked first. */
  for (guint i = roots->len; i > 0; i--)
    start_root (&w, dirs, roots->pdata[i - 1], scope_notes, max_listed);
  while (w.stack->len > 0)
    {
      Pending p = g_array_index (w.stack, Pending, w.stack->len - 1);
      g_array_set_size (w.stack, w.stack->len - 1);
      if (g_cancellable_is_cancelled (cancellable))
        {
          pending_clear (&p);
          done = FALSE;
          break;
        }
      visit_dir (&w, p.dir, p.path);
      pending_clear (&p);
      if (sink->tick != NULL)
        sink->tick (sink->data);
    }
  for (guint i = 0; i < w.stack->len; i++)
    pending_clear (&g_array_index (w.stack, Pending, i));
  g_array_unref (w.stack);
  g_hash_table_unref (w.visited);
  return done;
}
