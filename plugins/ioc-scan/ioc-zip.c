/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the ZIP file of an IOC collection export. IOC files are a few
 * kilobytes of XML and an export holds a handful of them, so entries are
 * stored, not deflated: that keeps this a hundred lines with one checksum,
 * needs no new library (libzip would be one more dependency on every
 * machine for a feature this small), and any unzip reads the result. The
 * tests check the archive with the real `unzip -t`.
 */
#include "ioc-zip.h"

#include <string.h>

static guint32 crc_table[256];

static void
crc_init_once (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;
          for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
          crc_table[i] = c;
        }
      g_once_init_leave (&done, 1);
    }
}

guint32
ioc_crc32 (guint32 crc, const guint8 *data, gsize len)
{
  crc_init_once ();
  crc = ~crc;
  for (gsize i = 0; i < len; i++)
    crc = crc_table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void
put16 (GByteArray *a, guint16 v)
{
  guint8 b[2] = { v & 0xff, v >> 8 };
  g_byte_array_append (a, b, 2);
}

static void
put32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
  g_byte_array_append (a, b, 4);
}

/* MS-DOS date and time, the only timestamps classic ZIP headers carry. */
static void
dos_time (gint64 mtime, guint16 *time, guint16 *date)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (mtime);
  if (dt == NULL || g_date_time_get_year (dt) < 1980)
    {
      *time = 0;
      *date = (1 << 5) | 1;
      return;
    }
  *time = (guint16) ((g_date_time_get_hour (dt) << 11) | (g_date_time_get_minute (dt) << 5)
                     | (g_date_time_get_second (dt) / 2));
  *date = (guint16) (((g_date_time_get_year (dt) - 1980) << 9)
                     | (g_date_time_get_month (dt) << 5) | g_date_time_get_day_of_month (dt));
}

static char *
safe_name (const char *name, GHashTable *used)
{
  g_autofree char *base = g_path_get_basename (name != NULL && *name ? name : "ioc.xml");
  char *candidate;

  g_strdelimit (base, "\\:", '_');
  if (strcmp (base, ".") == 0 || strcmp (base, "..") == 0 || strcmp (base, "/") == 0)
    {
      g_free (base);
      base = g_strdup ("ioc.xml");
    }
  candidate = g_strdup (base);
  for (guint i = 2; g_hash_table_contains (used, candidate); i++)
    {
      g_free (candidate);
      candidate = g_strdup_printf ("%u-%s", i, base);
    }
  g_hash_table_add (used, candidate);
  return candidate;
}

static void
header (GByteArray *a, guint32 sig, gboolean central, guint16 time, guint16 date,
        guint32 crc, guint32 size, guint16 name_len)
{
  put32 (a, sig);
  if (central)
    put16 (a, 0x0314);      /* made by: Unix, spec 2.0 */
  put16 (a, 20);            /* needed: 2.0 */
  put16 (a, 0x0800);        /* names are UTF-8 */
  put16 (a, 0);             /* stored */
  put16 (a, time);
  put16 (a, date);
  put32 (a, crc);
  put32 (a, size);
  put32 (a, size);
  put16 (a, name_len);
  put16 (a, 0);             /* extra */
}

GBytes *
ioc_zip_build (const char *const *names, GBytes *const *contents, guint n,
               gint64 mtime, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GByteArray) dir = g_byte_array_new ();
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint16 time, date;

  if (n > 0xffff)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%u files are more than a ZIP file holds (65535)", n);
      return NULL;
    }
  dos_time (mtime, &time, &date);
  for (guint i = 0; i < n; i++)
    {
      const char *name = safe_name (names[i], used);
      gsize size = 0;
      const guint8 *data = g_bytes_get_data (contents[i], &size);
      guint32 crc = ioc_crc32 (0, data, size);
      guint32 offset = out->len;
      guint16 name_len = (guint16) strlen (name);

      if ((guint64) out->len + size + 1024 > G_MAXUINT32)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                       "the collection is larger than a ZIP file holds (4 GiB)");
          return NULL;
        }
      header (out, 0x04034b50, FALSE, time, date, crc, (guint32) size, name_len);
      g_byte_array_append (out, (const guint8 *) name, name_len);
      g_byte_array_append (out, data, (guint) size);
      header (dir, 0x02014b50, TRUE, time, date, crc, (guint32) size, name_len);
      put16 (dir, 0);       /* comment */
      put16 (dir, 0);       /* disk */
      put16 (dir, 0);       /* internal attributes */
      put32 (dir, 0100644u << 16);
      put32 (dir, offset);
      g_byte_array_append (dir, (const guint8 *) name, name_len);
    }
  {
    guint32 dir_offset = out->len, dir_size = dir->len;
    g_byte_array_append (out, dir->data, dir->len);
    put32 (out, 0x06054b50);
    put16 (out, 0);
    put16 (out, 0);
    put16 (out, (guint16) n);
    put16 (out, (guint16) n);
    put32 (out, dir_size);
    put32 (out, dir_offset);
    put16 (out, 0);
  }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}
