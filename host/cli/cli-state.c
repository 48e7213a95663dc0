/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which state folder a `vigil` command opens, before the host opens it: the
 * host creates a missing state folder, so a typo in --state-dir would
 * silently start a new, empty state and `vigil --help` would leave a
 * database behind. A --state-dir that is not a folder, or whose parent
 * does not exist, is refused with what was wrong; a help that finds no
 * state opens the host on a throw-away folder (so that plugin commands are
 * still listed) and removes it; a command that creates the state says
 * where, once.
 */
#define _XOPEN_SOURCE 700 /* nftw() */
#include "cli.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <glib/gstdio.h>

/* The host's default when --state-dir is not given (vigil-host.h). */
static char *
default_state_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "vigil", NULL);
}

gboolean
cli_state_check (const char *state_dir, GError **error)
{
  g_autofree char *parent = NULL;
  GStatBuf st;

  if (state_dir == NULL)
    return TRUE;
  if (g_stat (state_dir, &st) == 0)
    {
      if (S_ISDIR (st.st_mode))
        return TRUE;
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR,
                   "--state-dir %s: not a folder (give the state folder, not a file in it)",
                   state_dir);
      return FALSE;
    }
  if (errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "--state-dir %s: %s", state_dir, g_strerror (saved));
      return FALSE;
    }
  parent = g_path_get_dirname (state_dir);
  if (g_file_test (parent, G_FILE_TEST_IS_DIR))
    return TRUE;
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
               "--state-dir %s: its parent folder %s does not exist (a typo? a new "
               "state folder is made only inside an existing folder)", state_dir, parent);
  return FALSE;
}

gboolean
cli_state_exists (const char *state_dir)
{
  g_autofree char *dir = state_dir != NULL ? g_strdup (state_dir) : default_state_dir ();
  g_autofree char *db = g_build_filename (dir, "vigil.db", NULL);

  return g_file_test (db, G_FILE_TEST_EXISTS);
}

char *
cli_state_describe (const char *state_dir)
{
  return state_dir != NULL ? g_canonicalize_filename (state_dir, NULL) : default_state_dir ();
}

char *
cli_state_temp_new (GError **error)
{
  return g_dir_make_tmp ("vigil-help-XXXXXX", error);
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path) == 0 ? 0 : -1;
}

void
cli_state_temp_remove (const char *dir)
{
  /* Depth first, never following a link out of the folder. */
  if (dir != NULL && nftw (dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    cli_error (NULL, "cannot remove the temporary folder %s: %s", dir, g_strerror (errno));
}
