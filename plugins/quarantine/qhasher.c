/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A digest on a helper thread, fed through a short queue. A put must
 * compute MD5 and SHA-256 of the content and encrypt it; MD5 alone is the
 * slowest of the three, so the writer queues each chunk's MD5 here and goes
 * on with SHA-256, AES-GCM and the I/O of the next chunks instead of
 * waiting: the two threads run side by side for the whole file. Each post
 * returns a ticket; the caller waits for a ticket before it reuses that
 * chunk's buffer, and the queue is bounded (QH_DEPTH), so memory stays at
 * the writer's ring of buffers. The restore reader uses it one chunk at a
 * time (post, then wait). The handshake is a POSIX mutex and condition
 * rather than GLib's futex-based ones so that ThreadSanitizer sees the
 * ordering.
 */
#include "qobject-private.h"

#include <pthread.h>

#define QH_DEPTH 4

typedef struct {
  const guint8 *data;
  gsize         len;
} QhItem;

struct _QHasher {
  GThread        *thread;
  pthread_mutex_t lock;
  pthread_cond_t  cond;
  EVP_MD_CTX     *md;
  QhItem          queue[QH_DEPTH];
  guint64         posted;   /* items ever posted; item k sits at k % QH_DEPTH */
  guint64         done;     /* items hashed (or skipped after a failure) */
  gboolean        quit;
  gboolean        failed;
};

static gpointer
hasher_main (gpointer user_data)
{
  QHasher *h = user_data;

  pthread_mutex_lock (&h->lock);
  for (;;)
    {
      QhItem item;
      gboolean ok = TRUE;

      while (h->done == h->posted && !h->quit)
        pthread_cond_wait (&h->cond, &h->lock);
      if (h->done == h->posted)
        break;
      item = h->queue[h->done % QH_DEPTH];
      pthread_mutex_unlock (&h->lock);
      /* After a failure the digest is worthless; keep draining so that
       * waiters are released, and report it at the next wait. */
      if (!h->failed)
        ok = EVP_DigestUpdate (h->md, item.data, item.len) == 1;
      pthread_mutex_lock (&h->lock);
      h->failed |= !ok;
      h->done++;
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

guint64
qhasher_post (QHasher *h, const guint8 *data, gsize len)
{
  guint64 ticket;

  pthread_mutex_lock (&h->lock);
  while (h->posted - h->done >= QH_DEPTH)
    pthread_cond_wait (&h->cond, &h->lock);
  h->queue[h->posted % QH_DEPTH] = (QhItem) { data, len };
  ticket = ++h->posted;
  pthread_cond_broadcast (&h->cond);
  pthread_mutex_unlock (&h->lock);
  return ticket;
}

gboolean
qhasher_wait_for (QHasher *h, guint64 ticket)
{
  gboolean ok;

  pthread_mutex_lock (&h->lock);
  while (h->done < ticket)
    pthread_cond_wait (&h->cond, &h->lock);
  ok = !h->failed;
  pthread_mutex_unlock (&h->lock);
  return ok;
}

gboolean
qhasher_wait (QHasher *h)
{
  guint64 last;

  pthread_mutex_lock (&h->lock);
  last = h->posted;
  pthread_mutex_unlock (&h->lock);
  return qhasher_wait_for (h, last);
}

/* Always drains and joins, also on the error paths of its users: no
 * buffer they free afterwards is still being read. */
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
