/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the object reader: the input is taken as a whole object
 * file. The header parser runs on it alone, then the metadata reader and
 * the full chunk decryptor run on it through a memfd, with the fixed key
 * (32 bytes of 0x42) that sealed the seed objects in fuzz-corpus/qheader/,
 * so the fuzzer starts from real objects and mutates lengths, records and
 * cut points. Nothing may crash, hang or read out of bounds; a forged
 * object must never decrypt.
 */
#define _GNU_SOURCE
#include "qstore.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static QKey key;
  static gboolean ready;
  JsonObject *meta;
  int fd;

  if (!ready)
    {
      guint8 raw[Q_KEY_LEN];
      memset (raw, 0x42, sizeof raw);
      qkey_from_bytes (raw, &key);
      ready = TRUE;
    }
  qobject_header_check (data, size, NULL);
  fd = memfd_create ("qobject", MFD_CLOEXEC);
  if (fd < 0 || !vigil_write_all (fd, data, size))
    abort ();
  meta = qobject_read_meta (fd, &key, NULL, NULL);
  if (meta != NULL)
    json_object_unref (meta);
  qobject_decrypt (fd, &key, NULL, -1, NULL, NULL, NULL);
  close (fd);
  return 0;
}
