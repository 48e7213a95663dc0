/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays a fuzz target's inputs without libFuzzer: every file named on the
 * command line, or every file of a folder named there, is passed once to
 * LLVMFuzzerTestOneInput. This keeps the seed corpora (and any crash a
 * fuzzing run found, once added to them) running as ordinary tests, with
 * gcc and under the sanitizers.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
replay_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return 1;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  return 0;
}

static int
replay_dir (const char *path, guint *count)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  const char *name;
  int failures = 0;

  if (dir == NULL)
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return 1;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_REGULAR))
        {
          failures += replay_file (child);
          (*count)++;
        }
    }
  return failures;
}

int
main (int argc, char **argv)
{
  guint count = 0;
  int failures = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        failures += replay_dir (argv[i], &count);
      else
        {
          failures += replay_file (argv[i]);
          count++;
        }
    }
  if (count == 0)
    {
      fprintf (stderr, "replay: no input files\n");
      return 1;
    }
  printf ("replayed %u inputs\n", count);
  return failures == 0 ? 0 : 1;
}
