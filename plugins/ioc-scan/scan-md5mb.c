/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multi-buffer MD5: eight files hashed at once in the eight 32-bit lanes of
 * AVX2 registers. One MD5 stream cannot go faster than its dependency chain
 * (about 4.5 cycles a byte, which is why md5sum and OpenSSL run at the same
 * speed), but eight independent streams fill the vector units: the scanner
 * hashes several times more bytes per core when a collection only needs
 * MD5, which is the common case (sandbox detections, hash lists). Each
 * lane reads its own file in chunks; blocks are processed in lockstep while
 * every busy lane has one, and a lane that reaches its end is finished on
 * its own (padding, length) and given the next file. Used only on x86-64
 * CPUs with AVX2; elsewhere the scanner keeps OpenSSL.
 */
#include "scan-md5mb.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define LANES 8
#define LANE_BUF (64 * 1024)

static const guint32 K[64] = {
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const int S[64] = {
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static int
word_of (int i)
{
  return i < 16 ? i : i < 32 ? (5 * i + 1) % 16 : i < 48 ? (3 * i + 5) % 16 : (7 * i) % 16;
}

static guint32
load_le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

/* The reference transform, for the last block(s) of one lane. */
static void
md5_blocks (guint32 st[4], const guint8 *p, gsize n)
{
  for (; n > 0; n--, p += 64)
    {
      guint32 a = st[0], b = st[1], c = st[2], d = st[3], f, w[16];
      for (int i = 0; i < 16; i++)
        w[i] = load_le32 (p + 4 * i);
      for (int i = 0; i < 64; i++)
        {
          if (i < 16) f = d ^ (b & (c ^ d));
          else if (i < 32) f = c ^ (d & (b ^ c));
          else if (i < 48) f = b ^ c ^ d;
          else f = c ^ (b | ~d);
          f += a + K[i] + w[word_of (i)];
          a = d;
          d = c;
          c = b;
          b += (f << S[i]) | (f >> (32 - S[i]));
        }
      st[0] += a; st[1] += b; st[2] += c; st[3] += d;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_MB 1
#include <immintrin.h>
typedef guint32 v8u __attribute__ ((vector_size (32)));

/* Eight words of eight lanes in, word i of every lane out: an 8x8
 * transpose of 32-bit elements in registers (scalar gathers would stall
 * on store forwarding). */
__attribute__ ((target ("avx2"))) static inline void
load_words (const guint8 *const p[LANES], gsize offset, v8u w[8])
{
  __m256i r[8], t[8], u[8];

  for (int l = 0; l < LANES; l++)
    r[l] = _mm256_loadu_si256 ((const __m256i *) (p[l] + offset));
  for (int k = 0; k < 8; k += 2)
    {
      t[k] = _mm256_unpacklo_epi32 (r[k], r[k + 1]);
      t[k + 1] = _mm256_unpackhi_epi32 (r[k], r[k + 1]);
    }
  for (int k = 0; k < 8; k += 4)
    {
      u[k] = _mm256_unpacklo_epi64 (t[k], t[k + 2]);
      u[k + 1] = _mm256_unpackhi_epi64 (t[k], t[k + 2]);
      u[k + 2] = _mm256_unpacklo_epi64 (t[k + 1], t[k + 3]);
      u[k + 3] = _mm256_unpackhi_epi64 (t[k + 1], t[k + 3]);
    }
  for (int k = 0; k < 4; k++)
    {
      w[k] = (v8u) _mm256_permute2x128_si256 (u[k], u[k + 4], 0x20);
      w[k + 4] = (v8u) _mm256_permute2x128_si256 (u[k], u[k + 4], 0x31);
    }
}

/* Eight lanes, @n blocks each, in lockstep. MD5 words are little-endian,
 * as x86 is. */
__attribute__ ((target ("avx2"))) static void
md5_blocks_x8 (guint32 st[4][LANES], const guint8 *const p[LANES], gsize n)
{
  v8u a0, b0, c0, d0;

  memcpy (&a0, st[0], 32);
  memcpy (&b0, st[1], 32);
  memcpy (&c0, st[2], 32);
  memcpy (&d0, st[3], 32);
  for (gsize blk = 0; blk < n; blk++)
    {
      v8u w[16], a = a0, b = b0, c = c0, d = d0, f;
      load_words (p, blk * 64, w);
      load_words (p, blk * 64 + 32, w + 8);
#define STEP(i, F)                                                  \
      f = (F) + a + K[i] + w[word_of (i)];                          \
      a = d; d = c; c = b;                                          \
      b += (f << S[i]) | (f >> (32 - S[i]));
      /* Unrolled, so that constants, shifts and word indexes are
       * immediates. */
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) { STEP (i, d ^ (b & (c ^ d))) }
#pragma GCC unroll 16
      for (int i = 16; i < 32; i++) { STEP (i, c ^ (d & (b ^ c))) }
#pragma GCC unroll 16
      for (int i = 32; i < 48; i++) { STEP (i, b ^ c ^ d) }
#pragma GCC unroll 16
      for (int i = 48; i < 64; i++) { STEP (i, c ^ (b | ~d)) }
#undef STEP
      a0 += a; b0 += b; c0 += c; d0 += d;
    }
  memcpy (st[0], &a0, 32);
  memcpy (st[1], &b0, 32);
  memcpy (st[2], &c0, 32);
  memcpy (st[3], &d0, 32);
}
#endif

/* ------------------------------------------------------------------ */
/* Lanes                                                               */
/* ------------------------------------------------------------------ */

typedef struct {
  int      fd;            /* -1: the lane is free */
  gpointer data;
  guint8  *buf;
  gsize    off, len;      /* unprocessed bytes: buf[off, len) */
  guint64  total;         /* bytes read so far */
  guint64  size;          /* from fstat: reaching it is the end */
  gboolean eof;
  int      error;
} Lane;

struct _IocMd5Mb {
  Lane    lanes[LANES];
  guint32 st[4][LANES];
  guint8  dummy[LANE_BUF];
  guint   busy;
};

gboolean
ioc_md5mb_available (void)
{
#ifdef HAVE_MB
  return __builtin_cpu_supports ("avx2");
#else
  return FALSE;
#endif
}

IocMd5Mb *
ioc_md5mb_new (void)
{
  IocMd5Mb *mb;

  if (!ioc_md5mb_available ())
    return NULL;
  mb = g_new0 (IocMd5Mb, 1);
  for (int l = 0; l < LANES; l++)
    {
      mb->lanes[l].fd = -1;
      mb->lanes[l].buf = g_malloc (LANE_BUF);
    }
  return mb;
}

void
ioc_md5mb_free (IocMd5Mb *mb)
{
  if (mb == NULL)
    return;
  for (int l = 0; l < LANES; l++)
    g_free (mb->lanes[l].buf);
  g_free (mb);
}

gboolean
ioc_md5mb_has_room (IocMd5Mb *mb)
{
  return mb->busy < LANES;
}

gboolean
ioc_md5mb_idle (IocMd5Mb *mb)
{
  return mb->busy == 0;
}

void
ioc_md5mb_add (IocMd5Mb *mb, int fd, guint64 size, gpointer data)
{
  static const guint32 iv[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };

  for (int l = 0; l < LANES; l++)
    if (mb->lanes[l].fd < 0)
      {
        Lane *lane = &mb->lanes[l];
        lane->fd = fd;
        lane->data = data;
        lane->off = lane->len = 0;
        lane->total = 0;
        lane->size = size;
        lane->eof = FALSE;
        lane->error = 0;
        for (int i = 0; i < 4; i++)
          mb->st[i][l] = iv[i];
        mb->busy++;
        return;
      }
  g_assert_not_reached ();
}

/* Moves the unprocessed tail to the front and reads more. */
static void
refill (Lane *lane)
{
  gsize keep = lane->len - lane->off;
  ssize_t n;

  memmove (lane->buf, lane->buf + lane->off, keep);
  lane->off = 0;
  lane->len = keep;
  do
    n = read (lane->fd, lane->buf + lane->len, LANE_BUF - lane->len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    lane->error = errno;
  else if (n == 0)
    lane->eof = TRUE;
  else
    {
      lane->len += (gsize) n;
      lane->total += (guint64) n;
      /* A short read that reaches the size fstat gave is the end: saves
       * one read() per small file. */
      if (lane->len < LANE_BUF && lane->total == lane->size)
        lane->eof = TRUE;
    }
}

/* Pads and finishes one lane with the scalar transform. */
static void
finish_lane (IocMd5Mb *mb, int l, char hex[33])
{
  static const char digits[] = "0123456789abcdef";
  Lane *lane = &mb->lanes[l];
  guint8 tail[128] = { 0 };
  gsize rest = lane->len - lane->off, padded = rest < 56 ? 64 : 128;
  guint64 bits = lane->total * 8;
  guint32 st[4];

  memcpy (tail, lane->buf + lane->off, rest);
  tail[rest] = 0x80;
  for (int i = 0; i < 8; i++)
    tail[padded - 8 + i] = (guint8) (bits >> (8 * i));
  for (int i = 0; i < 4; i++)
    st[i] = mb->st[i][l];
  md5_blocks (st, tail, padded / 64);
  for (int i = 0; i < 16; i++)
    {
      guint8 byte = (guint8) (st[i / 4] >> (8 * (i % 4)));
      hex[2 * i] = digits[byte >> 4];
      hex[2 * i + 1] = digits[byte & 15];
    }
  hex[32] = '\0';
}

static void
release (IocMd5Mb *mb, int l)
{
  mb->lanes[l].fd = -1;
  mb->lanes[l].data = NULL;
  mb->busy--;
}

/* Refills lanes short of a block; completes lanes at their end. Returns
 * how many lanes completed. */
static guint
service_lanes (IocMd5Mb *mb, IocMd5MbDone done, gpointer user_data)
{
  guint completed = 0;

  for (int l = 0; l < LANES; l++)
    {
      Lane *lane = &mb->lanes[l];
      char hex[33];
      if (lane->fd < 0)
        continue;
      while (lane->len - lane->off < 64 && !lane->eof && lane->error == 0)
        refill (lane);
      if (lane->error == 0 && !(lane->eof && lane->len - lane->off < 64))
        continue;
      if (lane->error == 0)
        finish_lane (mb, l, hex);
      done (lane->data, lane->fd, lane->error == 0 ? hex : NULL, lane->total, lane->error,
            user_data);
      release (mb, l);
      completed++;
    }
  return completed;
}

void
ioc_md5mb_step (IocMd5Mb *mb, IocMd5MbDone done, gpointer user_data)
{
#ifdef HAVE_MB
  const guint8 *p[LANES];
  gsize n = G_MAXSIZE;

  if (service_lanes (mb, done, user_data) > 0 || mb->busy == 0)
    return;
  for (int l = 0; l < LANES; l++)
    {
      Lane *lane = &mb->lanes[l];
      if (lane->fd < 0)
        {
          p[l] = mb->dummy;   /* an idle lane hashes zeros, unused */
          continue;
        }
      p[l] = lane->buf + lane->off;
      n = MIN (n, (lane->len - lane->off) / 64);
    }
  md5_blocks_x8 (mb->st, p, n);
  for (int l = 0; l < LANES; l++)
    if (mb->lanes[l].fd >= 0)
      mb->lanes[l].off += n * 64;
#else
  service_lanes (mb, done, user_data);
#endif
}

void
ioc_md5_oneshot (const guint8 *data, gsize len, char hex[33])
{
  IocMd5Mb fake = { 0 };
  Lane *lane = &fake.lanes[0];
  guint32 st[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
  gsize whole = len / 64;

  md5_blocks (st, data, whole);
  for (int i = 0; i < 4; i++)
    fake.st[i][0] = st[i];
  lane->buf = (guint8 *) data;
  lane->off = whole * 64;
  lane->len = len;
  lane->total = len;
  finish_lane (&fake, 0, hex);
}
