/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store key: 32 random bytes in `store.key` inside the store folder,
 * mode 0600, created on first use. Creation writes a locked temporary file,
 * fsyncs it and links it into place with link(2), which never replaces: two
 * processes racing to create the key both end up with the same one, and a
 * crash leaves either no key or a whole key, never a short one. A key file
 * that others could read is refused rather than silently repaired, because
 * its copy may already have leaked.
 */
#include "qstore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void
qkey_clear (QKey *key)
{
  OPENSSL_cleanse (key, sizeof *key);
}

static void
compute_id (QKey *key)
{
  static const char label[] = "vigil-quarantine key id v1";
  guint8 digest[32];
  unsigned int n = 0;
  EVP_MD_CTX *md = EVP_MD_CTX_new ();

  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  EVP_DigestUpdate (md, label, sizeof label - 1);
  EVP_DigestUpdate (md, key->key, Q_KEY_LEN);
  EVP_DigestFinal_ex (md, digest, &n);
  EVP_MD_CTX_free (md);
  memcpy (key->id, digest, Q_KEY_ID_LEN);
}

void
qkey_from_bytes (const guint8 raw[Q_KEY_LEN], QKey *key)
{
  memcpy (key->key, raw, Q_KEY_LEN);
  compute_id (key);
}

static gboolean
load_key (int dir_fd, const char *name, QKey *key, GError **error)
{
  int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  gssize n;

  if (fd < 0)
    return q_set_errno (error, errno, "cannot open the store key", name);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size != Q_KEY_LEN)
    {
      close (fd);
      g_set_error (error, Q_ERROR, Q_ERROR_FORMAT,
                   "store key %s is not a %d-byte file", name, Q_KEY_LEN);
      return FALSE;
    }
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid ())
    {
      close (fd);
      g_set_error (error, Q_ERROR, Q_ERROR_REFUSED,
                   "store key %s has mode %04o or another owner; it must be "
                   "0600 and owned by the quarantine's user", name,
                   (unsigned) (st.st_mode & 07777));
      return FALSE;
    }
  n = q_read_full (fd, key->key, Q_KEY_LEN);
  close (fd);
  if (n != Q_KEY_LEN)
    return q_set_errno (error, n < 0 ? errno : EIO, "cannot read the store key", name);
  compute_id (key);
  return TRUE;
}

static gboolean
create_key (int dir_fd, const char *name, GError **error)
{
  guint8 fresh[Q_KEY_LEN];
  g_autofree char *tmp = g_strdup_printf (".tmp-key-%08x%08x",
                                          g_random_int (), g_random_int ());
  int fd = openat (dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  gboolean ok;
  int errsv;

  if (fd < 0)
    return q_set_errno (error, errno, "cannot create the store key", tmp);
  /* Locked like every temporary file, so a concurrent recovery sweep
   * leaves it alone. */
  flock (fd, LOCK_EX);
  ok = RAND_priv_bytes (fresh, sizeof fresh) == 1
       && vigil_write_all (fd, fresh, sizeof fresh) && fsync (fd) == 0;
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
    return q_set_errno (error, errsv, "cannot create the store key", name);
  fsync (dir_fd);
  return TRUE;
}

gboolean
qkey_load_or_create (int dir_fd, const char *name, QKey *key, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (load_key (dir_fd, name, key, &local))
    return TRUE;
  if (!g_error_matches (local, Q_ERROR, Q_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return create_key (dir_fd, name, error) && load_key (dir_fd, name, key, error);
}
