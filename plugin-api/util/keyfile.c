/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Secret key files (see <vigil/util/keyfile.h>): load one, or create it
 * once, atomically and durably, so that every process of a store reads
 * the same whole key. Moved here from the quarantine's qkey.c so that the
 * console's evidence store keeps its key by the same rules.
 */
#include <vigil/util/keyfile.h>
#include <vigil/util/io.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK (vigil-key-file-error-quark, vigil_key_file_error)

static gboolean
set_errno (GError **error, int errsv, const char *what, const char *name)
{
  g_set_error (error, VIGIL_KEY_FILE_ERROR,
               errsv == ENOENT ? VIGIL_KEY_FILE_ERROR_NOT_FOUND : VIGIL_KEY_FILE_ERROR_IO,
               "%s: %s: %s", what, name, g_strerror (errsv));
  return FALSE;
}

static gssize
read_full (int fd, guint8 *buf, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = read (fd, buf + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -1 : (gssize) done;
      done += (gsize) n;
    }
  return (gssize) done;
}

static gboolean
load_key (int dir_fd, const char *name, guint8 *key, gsize len, GError **error)
{
  int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  gssize n;

  if (fd < 0)
    return set_errno (error, errno, "cannot open the store key", name);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size != (off_t) len)
    {
      close (fd);
      g_set_error (error, VIGIL_KEY_FILE_ERROR, VIGIL_KEY_FILE_ERROR_FORMAT,
                   "store key %s is not a %" G_GSIZE_FORMAT "-byte file", name, len);
      return FALSE;
    }
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid ())
    {
      close (fd);
      g_set_error (error, VIGIL_KEY_FILE_ERROR, VIGIL_KEY_FILE_ERROR_REFUSED,
                   "store key %s has mode %04o or another owner; it must be "
                   "0600 and owned by the store's user", name,
                   (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  n = read_full (fd, key, len);
  close (fd);
  if (n != (gssize) len)
    {
      OPENSSL_cleanse (key, len);
      return set_errno (error, n < 0 ? errno : EIO, "cannot read the store key", name);
    }
  return TRUE;
}

static gboolean
create_key (int dir_fd, const char *name, gsize len, GError **error)
{
  guint8 fresh[VIGIL_KEY_FILE_MAX];
  g_autofree char *tmp = g_strdup_printf (".tmp-key-%08x%08x",
                                          g_random_int (), g_random_int ());
  int fd = openat (dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  gboolean ok;
  int errsv;

  if (fd < 0)
    return set_errno (error, errno, "cannot create the store key", tmp);
  /* Locked like the stores' other temporary files, so a concurrent
   * recovery sweep leaves it alone. */
  flock (fd, LOCK_EX);
  ok = RAND_priv_bytes (fresh, (int) len) == 1
       && vigil_write_all (fd, fresh, len) && fsync (fd) == 0;
  errsv = errno;
  OPENSSL_cleanse (fresh, sizeof fresh);
  if (ok && linkat (dir_fd, tmp, dir_fd, name, 0) < 0 && errno != EEXIST)
    {
      ok = FALSE;
      errsv = errno;
    }
  unlinkat (dir_fd, tmp, 0);
  close (fd);
  if (!ok)
    return set_errno (error, errsv, "cannot create the store key", name);
  fsync (dir_fd);
  return TRUE;
}

gboolean
vigil_key_file_load_or_create (int dir_fd, const char *name, guint8 *key, gsize len,
                               GError **error)
{
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (len > 0 && len <= VIGIL_KEY_FILE_MAX, FALSE);
  memset (key, 0, len);
  if (load_key (dir_fd, name, key, len, &local))
    return TRUE;
  if (!g_error_matches (local, VIGIL_KEY_FILE_ERROR, VIGIL_KEY_FILE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return create_key (dir_fd, name, len, error) && load_key (dir_fd, name, key, len, error);
}
