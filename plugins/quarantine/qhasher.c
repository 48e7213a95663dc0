/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A digest on a helper thread. A put must compute MD5 and SHA-256 of the
 * content and encrypt it; MD5 alone is the slowest of the three, so the
 * writer hands each full chunk's MD5 to this thread while it computes the
 * SHA-256 and seals the same (read-only) chunk, then waits before reusing
 * the buffer. One post, one wait: the handshake is a mutex and a condition.
 */
#include "qobject-private.h"

struct _QHasher {
  GThread       *thread;
  GMutex         lock;
  GCond          cond;
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

  g_mutex_lock (&h->lock);
  for (;;)
    {
      while (!h->pending && !h->quit)
        g_cond_wait (&h->cond, &h->lock);
      if (!h->pending)
        break;
      g_mutex_unlock (&h->lock);
      gboolean ok = EVP_DigestUpdate (h->md, h->data, h->len) == 1;
      g_mutex_lock (&h->lock);
      h->failed |= !ok;
      h->pending = FALSE;
      g_cond_broadcast (&h->cond);
    }
  g_mutex_unlock (&h->lock);
  return NULL;
}

QHasher *
qhasher_new (EVP_MD_CTX *md)
{
  QHasher *h = g_new0 (QHasher, 1);

  h->md = md;
  g_mutex_init (&h->lock);
  g_cond_init (&h->cond);
  h->thread = g_thread_new ("qhasher", hasher_main, h);
  return h;
}

void
qhasher_post (QHasher *h, const guint8 *data, gsize len)
{
  g_mutex_lock (&h->lock);
  h->data = data;
  h->len = len;
  h->pending = TRUE;
  g_cond_broadcast (&h->cond);
  g_mutex_unlock (&h->lock);
}

gboolean
qhasher_wait (QHasher *h)
{
  gboolean ok;

  g_mutex_lock (&h->lock);
  while (h->pending)
    g_cond_wait (&h->cond, &h->lock);
  ok = !h->failed;
  g_mutex_unlock (&h->lock);
  return ok;
}

void
qhasher_free (QHasher *h)
{
  if (h == NULL)
    return;
  qhasher_wait (h);
  g_mutex_lock (&h->lock);
  h->quit = TRUE;
  g_cond_broadcast (&h->cond);
  g_mutex_unlock (&h->lock);
  g_thread_join (h->thread);
  g_mutex_clear (&h->lock);
  g_cond_clear (&h->cond);
  g_free (h);
}
