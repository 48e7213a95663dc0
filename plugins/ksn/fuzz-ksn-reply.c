/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for what the ksn plugin parses from the reputation service:
 * the HTTP reply head (as the plugins' HTTPS client checks it) and the JSON
 * verdict document after it. The same bytes also go to the JSON parser
 * directly, so that seeds need not wrap every document in HTTP. None may crash, leak
 * or read out of bounds, whatever the server sends.
 */
#include "ksn-private.h"

#include <vigil/util/https.h>

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
parse_verdicts (GBytes *body)
{
  g_autoptr (GPtrArray) hashes = g_ptr_array_new_with_free_func ((GDestroyNotify) ksn_verdict_free);
  KsnVerdict *v = g_new0 (KsnVerdict, 1);
  GError *error = NULL;

  v->type = g_strdup ("sha256");
  v->value = g_strdup ("a0000000000000000000000000000000000000000000000000000000000000aa");
  g_ptr_array_add (hashes, v);
  if (ksn_parse_reply (body, hashes, &error))
    g_assert (v->verdict != NULL);
  g_clear_error (&error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A copy of exactly @size bytes, so that ASan sees any over-read. */
  g_autofree char *copy = g_memdup2 (data, size);
  g_autoptr (GBytes) raw = g_bytes_new (data, size);
  VigilHttpsHead head;
  GError *error = NULL;

  if (vigil_https_parse_head (copy, size, &head, &error) == 1)
    {
      /* The body as the client would hand it over (a length-framed one). */
      gsize rest = size - head.head_len;
      gsize len = head.content_length >= 0 ? MIN (rest, (gsize) head.content_length) : rest;
      g_autoptr (GBytes) body = g_bytes_new (copy + head.head_len, len);

      g_assert (head.head_len <= size);
      parse_verdicts (body);
    }
  g_clear_error (&error);
  parse_verdicts (raw);
  return 0;
}
