/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Data for bench/ioc-scan/run: deterministic trees of random files and
 * the equivalent signature sets for every tool compared.
 *
 *   gen-tree tree DIR big|small [SCALE]
 *     big:   20,000 files, log-normal sizes (median about 8 KiB, at most
 *            8 MiB), about 1.25 GB in total; small: 50,000 files of 0-4 KiB.
 *     10 planted files are added; DIR/planted.txt lists "md5 size path".
 *     SCALE (default 1) divides the file count, for a quick try.
 *   gen-tree sigs PLANTED N OUTDIR [sized]
 *     N MD5 items (the planted ones first, then random ones) as OpenIOC 1.1
 *     files of at most 10,000 items each in OUTDIR/iocs/, a ClamAV hash
 *     database OUTDIR/db.hdb and YARA rules OUTDIR/rules.yar. With
 *     "sized", each IOC item is an AND of the MD5 and SizeInBytes.
 */
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SIZE (8u * 1024 * 1024)
#define PLANTED 10
#define ITEMS_PER_FILE 10000

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
next (void)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}

static double
uniform (void)
{
  return (double) (next () >> 11) / 9007199254740992.0;
}

static double
normal (void)
{
  double u = uniform (), v = uniform ();
  return sqrt (-2.0 * log (u + 1e-300)) * cos (2 * M_PI * v);
}

static void
fill (unsigned char *buf, size_t len)
{
  size_t i = 0;
  for (; i + 8 <= len; i += 8)
    {
      uint64_t r = next ();
      memcpy (buf + i, &r, 8);
    }
  for (; i < len; i++)
    buf[i] = (unsigned char) next ();
}

static void
mkdirs (const char *path)
{
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        mkdir (tmp, 0755);
        *p = '/';
      }
  mkdir (tmp, 0755);
}

static void
md5_hex (const unsigned char *data, size_t len, char out[33])
{
  unsigned char md[16];
  unsigned int n = 0;
  EVP_Digest (data, len, md, &n, EVP_md5 (), NULL);
  for (int i = 0; i < 16; i++)
    sprintf (out + 2 * i, "%02x", md[i]);
}

static void
write_file (const char *path, const unsigned char *data, size_t len)
{
  FILE *f = fopen (path, "wb");
  if (f == NULL || fwrite (data, 1, len, f) != len || fclose (f) != 0)
    {
      fprintf (stderr, "gen-tree: %s: %s\n", path, strerror (errno));
      exit (2);
    }
}

/* Log-normal sizes, median 8 KiB, capped at 8 MiB; sigma is chosen so
 * that the total comes closest to @target bytes. */
static void
big_sizes (size_t *sizes, unsigned n, double target)
{
  double *z = malloc (n * sizeof *z);
  double best_sigma = 2.0, best_gap = 1e300;

  for (unsigned i = 0; i < n; i++)
    z[i] = normal ();
  for (double sigma = 1.0; sigma <= 3.5; sigma += 0.005)
    {
      double total = 0;
      for (unsigned i = 0; i < n; i++)
        total += fmin (MAX_SIZE, 8192.0 * exp (sigma * z[i]));
      if (fabs (total - target) < best_gap)
        {
          best_gap = fabs (total - target);
          best_sigma = sigma;
        }
    }
  for (unsigned i = 0; i < n; i++)
    sizes[i] = (size_t) fmin (MAX_SIZE, 8192.0 * exp (best_sigma * z[i]));
  free (z);
}

static int
gen_tree (const char *dir, const char *kind, unsigned scale)
{
  int big = strcmp (kind, "big") == 0;
  unsigned n = (big ? 20000 : 50000) / (scale ? scale : 1);
  size_t *sizes = malloc (n * sizeof *sizes);
  unsigned char *buf = malloc (MAX_SIZE);
  char path[4096], list[4096], md5[33];
  unsigned long long total = 0;
  FILE *planted;

  rng ^= big ? 0x1234 : 0x5678;
  if (big)
    big_sizes (sizes, n, 1.25e9 / (scale ? scale : 1));
  else
    for (unsigned i = 0; i < n; i++)
      sizes[i] = (size_t) (next () % 4097);
  for (unsigned i = 0; i < n; i++)
    {
      snprintf (path, sizeof path, "%s/d%03u", dir, i / 100);
      if (i % 100 == 0)
        mkdirs (path);
      snprintf (path, sizeof path, "%s/d%03u/f%05u.bin", dir, i / 100, i);
      fill (buf, sizes[i]);
      write_file (path, buf, sizes[i]);
      total += sizes[i];
    }
  snprintf (list, sizeof list, "%s/planted.txt", dir);
  planted = fopen (list, "w");
  snprintf (path, sizeof path, "%s/planted/deep/er", dir);
  mkdirs (path);
  for (unsigned i = 0; i < PLANTED; i++)
    {
      size_t len = big ? 1000 + i * 7919 : 100 + i * 337;
      fill (buf, len);
      snprintf (path, sizeof path, "%s/planted/deep/er/evil-%02u.bin", dir, i);
      write_file (path, buf, len);
      md5_hex (buf, len, md5);
      fprintf (planted, "%s %zu %s\n", md5, len, path);
      total += len;
    }
  fclose (planted);
  printf ("%s: %u files + %d planted, %.3f GB\n", dir, n, PLANTED, total / 1e9);
  free (sizes);
  free (buf);
  return 0;
}

typedef struct {
  char          md5[33];
  unsigned long size;
} Sig;

static Sig *
make_sigs (const char *planted_path, unsigned n)
{
  Sig *sigs = calloc (n, sizeof *sigs);
  FILE *f = fopen (planted_path, "r");
  unsigned i = 0;
  char line[8192];

  if (f == NULL)
    {
      fprintf (stderr, "gen-tree: %s: %s\n", planted_path, strerror (errno));
      exit (2);
    }
  while (i < n && fgets (line, sizeof line, f))
    if (sscanf (line, "%32s %lu", sigs[i].md5, &sigs[i].size) == 2)
      i++;
  fclose (f);
  rng ^= 0xabcdef;
  for (; i < n; i++)
    {
      unsigned char r[16];
      fill (r, sizeof r);
      for (int k = 0; k < 16; k++)
        sprintf (sigs[i].md5 + 2 * k, "%02x", r[k]);
      sigs[i].size = 1 + next () % MAX_SIZE;
    }
  return sigs;
}

static void
write_iocs (const char *out, const Sig *sigs, unsigned n, int sized)
{
  char path[4096];

  snprintf (path, sizeof path, "%s/iocs", out);
  mkdirs (path);
  for (unsigned start = 0, file = 0; start < n; start += ITEMS_PER_FILE, file++)
    {
      FILE *f;
      snprintf (path, sizeof path, "%s/iocs/bench-%03u.ioc", out, file);
      f = fopen (path, "w");
      fprintf (f, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
               "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"bench-%03u\">\n"
               "<metadata><short_description>bench %u</short_description></metadata>\n"
               "<criteria><Indicator operator=\"OR\" id=\"top\">\n", file, file);
      for (unsigned i = start; i < n && i < start + ITEMS_PER_FILE; i++)
        {
          const char *item = "<IndicatorItem condition=\"is\"><Context document=\"FileItem\" "
                             "search=\"FileItem/%s\" type=\"mir\"/><Content type=\"%s\">%s</Content>"
                             "</IndicatorItem>";
          char size[32];
          if (sized)
            fprintf (f, "<Indicator operator=\"AND\">");
          fprintf (f, item, "Md5sum", "md5", sigs[i].md5);
          if (sized)
            {
              snprintf (size, sizeof size, "%lu", sigs[i].size);
              fprintf (f, item, "SizeInBytes", "int", size);
              fprintf (f, "</Indicator>");
            }
          fprintf (f, "\n");
        }
      fprintf (f, "</Indicator></criteria></OpenIOC>\n");
      fclose (f);
    }
}

static int
gen_sigs (const char *planted, unsigned n, const char *out, int sized)
{
  Sig *sigs = make_sigs (planted, n);
  char path[4096];
  FILE *hdb, *yar;

  mkdirs (out);
  write_iocs (out, sigs, n, sized);
  snprintf (path, sizeof path, "%s/db.hdb", out);
  hdb = fopen (path, "w");
  snprintf (path, sizeof path, "%s/rules.yar", out);
  yar = fopen (path, "w");
  fprintf (yar, "import \"hash\"\n");
  for (unsigned i = 0; i < n; i++)
    {
      fprintf (hdb, "%s:%lu:Bench.Planted.%u\n", sigs[i].md5, sigs[i].size, i);
      fprintf (yar, "rule planted_%u { condition: hash.md5(0, filesize) == \"%s\" }\n", i,
               sigs[i].md5);
    }
  fclose (hdb);
  fclose (yar);
  free (sigs);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc >= 4 && strcmp (argv[1], "tree") == 0)
    return gen_tree (argv[2], argv[3], argc > 4 ? (unsigned) atoi (argv[4]) : 1);
  if (argc >= 5 && strcmp (argv[1], "sigs") == 0)
    return gen_sigs (argv[2], (unsigned) atoi (argv[3]), argv[4],
                     argc > 5 && strcmp (argv[5], "sized") == 0);
  fprintf (stderr, "usage: gen-tree tree DIR big|small [SCALE]\n"
                   "       gen-tree sigs PLANTED N OUTDIR [sized]\n");
  return 2;
}
