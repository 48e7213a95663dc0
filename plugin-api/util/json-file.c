/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON in and out of a plugin command: printing a node the way every
 * `vigil` command prints --json output, and reading a JSON file named on a
 * command line. The file is opened without blocking and checked to be a
 * regular file before a byte is read (a FIFO would hang the command, a
 * device would never end), its size is bounded, and the contents go through
 * the strict reader (json-strict.c), whose errors name the file, line,
 * column and JSON path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/util/json.h"

void
vigil_json_print (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, TRUE);

  printf ("%s\n", text);
  /* Out whole now, before whatever the command does next (a long wait,
   * messages on stderr): a script reading the pipe gets the document. */
  fflush (stdout);
}

void
vigil_json_print_object (JsonObject *o)
{
  g_autoptr (JsonNode) n = json_node_init_object (json_node_alloc (), o);

  vigil_json_print (n);
}

void
vigil_json_print_array (JsonArray *a)
{
  g_autoptr (JsonNode) n = json_node_init_array (json_node_alloc (), a);

  vigil_json_print (n);
}

static gboolean
file_error (GError **error, int errsv, const char *path, const char *what)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv), "%s: %s",
               path, what != NULL ? what : g_strerror (errsv));
  return FALSE;
}

/* Reads all of @fd, known to be a regular file, refusing more than @max. */
static GByteArray *
read_bounded (int fd, const char *path, gsize max, GError **error)
{
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[8192];

  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return file_error (error, errno, path, NULL), NULL;
      if (n == 0)
        return g_steal_pointer (&buf);
      /* The file may have grown since fstat. */
      if (buf->len + (gsize) n > max)
        return file_error (error, EFBIG, path, "larger than the limit"), NULL;
      g_byte_array_append (buf, chunk, (guint) n);
    }
}

static GByteArray *
read_regular (const char *path, gsize max, GError **error)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  GByteArray *data = NULL;
  g_autofree char *why = NULL;

  if (fd < 0)
    return file_error (error, errno, path, NULL), NULL;
  if (fstat (fd, &st) != 0)
    file_error (error, errno, path, NULL);
  else if (!S_ISREG (st.st_mode))
    file_error (error, EINVAL, path, "not a regular file");
  else if ((guint64) st.st_size > max)
    {
      why = g_strdup_printf ("%" G_GUINT64_FORMAT " bytes, more than the limit of %"
                             G_GSIZE_FORMAT, (guint64) st.st_size, max);
      file_error (error, EFBIG, path, why);
    }
  else
    data = read_bounded (fd, path, max, error);
  close (fd);
  return data;
}

JsonNode *
vigil_json_read_file (const char *path, gsize max_bytes, GError **error)
{
  g_autoptr (GByteArray) data = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  data = read_regular (path, max_bytes, error);
  if (data == NULL)
    return NULL;
  if (data->len == 0)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE,
                   "%s: no JSON document (the file is empty)", path);
      return NULL;
    }
  return vigil_json_parse ((const char *) data->data, (gssize) data->len,
                           VIGIL_JSON_STRICT, path, error);
}
