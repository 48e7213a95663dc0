/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The victim of the crash test: does one put or one restore on the engine
 * and exits, so that test-qcrash can SIGKILL it at an arbitrary instant.
 *   qcrash-helper put STORE ROOT PATH
 *   qcrash-helper restore STORE ROOT ID DIR [named]
 */
#include "qstore.h"

#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QStore) store = NULL;
  gboolean ok = FALSE;

  if (argc < 5)
    {
      fprintf (stderr, "usage: %s put|restore STORE ROOT PATH|ID [DIR [named]]\n", argv[0]);
      return 2;
    }
  store = qstore_open (argv[2], NULL, &error);
  if (store != NULL && strcmp (argv[1], "put") == 0)
    {
      QPutRequest req = { .root = argv[3], .path = argv[4], .delete_original = TRUE,
                          .detection = "crash-test", .now_us = g_get_real_time () };
      QPutResult res;
      ok = qstore_put (store, &req, NULL, &res, &error);
      if (ok)
        qput_result_clear (&res);
    }
  else if (store != NULL && strcmp (argv[1], "restore") == 0 && argc >= 6)
    {
      QRestoreRequest req = { .id = argv[4], .root = argv[3], .dir = argv[5],
                              .named_temp = argc > 6 && strcmp (argv[6], "named") == 0 };
      g_autofree char *to = NULL;
      ok = qstore_restore (store, &req, NULL, &to, NULL, &error);
    }
  if (!ok)
    fprintf (stderr, "qcrash-helper: %s\n", error != NULL ? error->message : "bad arguments");
  return ok ? 0 : 1;
}
