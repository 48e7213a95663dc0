/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A digest on a helper thread. A put must compute MD5 and SHA-256 of the
 * content and encrypt it; MD5 alone is the slowest of the three, so the
 * writer hands each full chunk's MD5 to this thread while it computes the
 * SHA-256 and seals the same (read-only) chunk, then waits before reusing
 * the buffer. One post, one wait: the handshake is a mutex and a condition,
 * POSIX ones rather than GLib's futex-based ones so that ThreadSanitizer
 * sees the ordering.
 */
#include "qobject-private.h"

#include <pthread.h>

struct _QHasher {
  GThread       *thread;
  pthread_mutex_t lock;
  pthread_cond_t  cond;
  EVP_MD_CTX    *md;
  const guint8  *data;
  gsize          len;
  gboolean       pending;
  gboolean       quit;
  gboolean       failed;
};

static gpointer
hasher_main (gpointer user_data)
{
  QHasher *h = user_data;

  pthread_mutex_lock (&h->lock);
  for (;;)
    {
      const guint8 *data;
      gsize len;
      gboolean ok;

      while (!h->pending && !h->quit)
        pthread_cond_wait (&h->cond, &h->lock);
      if (!h->pending)
        break;
      data = h->data;
      len = h->len;
      pthread_mutex_unlock (&h->lock);
      ok = EVP_DigestUpdate (h->md, data, len) == 1;
      pthread_mutex_lock (&h->lock);
      h->failed |= !ok;
      h->pending = FALSE;
      pthread_cond_broadcast (&h->cond);
    }
  pthread_mutex_unlock (&h->lock);
  return NULL;
}

QHasher *
qhasher_new (EVP_MD_CTX *md)
{
  QHasher *h = g_new0 (QHasher, 1);

  h->md = md;
  pthread_mutex_init (&h->lock, NULL);
  pthread_cond_init (&h->cond, NULL);
  h->thread = g_thread_new ("qhasher", hasher_main, h);
  return h;
}

void
qhasher_post (QHasher *h, const guint8 *data, gsize len)
{
  pthread_mutex_lock (&h->lock);
  h->data = data;
  h->len = len;
  h->pending = TRUE;
  pthread_cond_broadcast (&h->cond);
  pthread_mutex_unlock (&h->lock);
}

gboolean
qhasher_wait (QHasher *h)
{
  gboolean ok;

  pthread_mutex_lock (&h->lock);
  while (h->pending)
    pthread_cond_wait (&h->cond, &h->lock);
  ok = !h->failed;
  pthread_mutex_unlock (&h->lock);
  return ok;
}

void
qhasher_free (QHasher *h)
{
  if (h == NULL)
    return;
  qhasher_wait (h);
  pthread_mutex_lock (&h->lock);
  h->quit = TRUE;
  pthread_cond_broadcast (&h->cond);
  pthread_mutex_unlock (&h->lock);
  g_thread_join (h->thread);
  pthread_mutex_destroy (&h->lock);
  pthread_cond_destroy (&h->cond);
  g_free (h);
}
