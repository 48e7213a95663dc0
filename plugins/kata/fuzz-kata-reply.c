/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for everything the kata plugin parses from a central node:
 * the HTTP reply head (as the plugins' HTTPS client checks it), the package
 * acknowledgement and the synchronization reply. The same bytes go to each parser; none may crash, leak or read out
 * of bounds, whatever the server sends.
 */
#include "kata-engine.h"

#include <vigil/util/https.h>

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  VigilHttpsHead head;
  guint64 seq = 0;
  GError *error = NULL;
  KataSyncReply *reply;
  const char *text = (const char *) data;

  if (vigil_https_parse_head (text, size, &head, &error) == 1)
    g_assert (head.head_len <= size);
  g_clear_error (&error);
  kata_reply_parse_ack (text, size, &seq, &error);
  g_clear_error (&error);
  reply = kata_reply_parse_sync (text, size, &error);
  g_clear_error (&error);
  kata_sync_reply_free (reply);
  return 0;
}
