/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The JSON helpers: typed getters answer "absent" for a member of another
 * type, --json printing, and reading a file: a regular file only (a FIFO
 * is refused without blocking, a folder and a device too), a size bound,
 * and parse errors that say file:line:column.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vigil/util/json.h"

static JsonObject *
sample (void)
{
  g_autoptr (JsonNode) n = json_from_string (
    "{\"s\": \"text\", \"i\": 42, \"b\": true, \"o\": {\"x\": 1}, \"a\": [1, 2],"
    " \"d\": 1.5, \"n\": null}", NULL);

  return json_object_ref (json_node_get_object (n));
}

static void
test_getters_typed (void)
{
  g_autoptr (JsonObject) o = sample ();
  gint64 v = -1;

  g_assert_cmpstr (vigil_json_get_string (o, "s"), ==, "text");
  g_assert_true (vigil_json_get_int (o, "i", &v));
  g_assert_cmpint (v, ==, 42);
  g_assert_true (vigil_json_get_bool (o, "b", FALSE));
  g_assert_nonnull (vigil_json_get_object (o, "o"));
  g_assert_cmpuint (json_array_get_length (vigil_json_get_array (o, "a")), ==, 2);
}

static void
test_getters_wrong_type_is_absent (void)
{
  g_autoptr (JsonObject) o = sample ();
  gint64 v = -1;

  g_assert_null (vigil_json_get_string (o, "i"));
  g_assert_null (vigil_json_get_string (o, "n"));
  g_assert_null (vigil_json_get_string (o, "missing"));
  g_assert_false (vigil_json_get_int (o, "s", &v));
  g_assert_false (vigil_json_get_int (o, "d", &v));
  g_assert_cmpint (v, ==, -1);
  g_assert_cmpint (vigil_json_get_int_or (o, "b", 7), ==, 7);
  g_assert_true (vigil_json_get_bool (o, "s", TRUE));
  g_assert_false (vigil_json_get_bool (o, "i", FALSE));
  g_assert_null (vigil_json_get_object (o, "a"));
  g_assert_null (vigil_json_get_array (o, "o"));
  g_assert_null (vigil_json_get_string (NULL, "s"));
  g_assert_null (vigil_json_get_object (NULL, "o"));
}

static void
test_print (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (JsonObject) o = json_object_new ();
      g_autoptr (JsonArray) a = json_array_new ();
      json_object_set_int_member (o, "k", 1);
      json_array_add_string_element (a, "v");
      vigil_json_print_object (o);
      vigil_json_print_array (a);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("{\n  \"k\" : 1\n}\n[\n  \"v\"\n]\n");
}

static char *
temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("vigil-util-json-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static char *
write_file (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_read_ok (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = write_file (dir, "ok.json", "{\"a\": [1]}");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_read_file (path, 1024, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (n));
  g_assert_nonnull (vigil_json_get_array (json_node_get_object (n), "a"));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_read_parse_error_says_where (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = write_file (dir, "bad.json", "{\n  \"a\": 1,\n  \"b\" 2\n}\n");
  g_autofree char *where = g_strdup_printf ("%s:3:", path);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_read_file (path, 1024, &error);

  g_assert_null (n);
  g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_MISSING_COLON);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, where));
  g_assert_null (strstr (error->message, "<data>"));
  g_unlink (path);
  g_rmdir (dir);
}

/* A file goes through the strict reader: a second "group" does not
 * silently win, and the error names the file, the line, the column and
 * the object. */
static void
test_read_refuses_duplicate_key (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = write_file (dir, "dup.json",
                                      "{\n  \"name\": \"p\",\n  \"group\": \"a\",\n  \"group\": \"b\"\n}\n");
  g_autofree char *expected = g_strdup_printf ("%s:4:3: duplicate key \"group\" (at $)", path);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_read_file (path, 1024, &error);

  g_assert_null (n);
  g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==, expected);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_read_empty_file (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = write_file (dir, "empty.json", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_read_file (path, 1024, &error);

  g_assert_null (n);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_read_too_large (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = write_file (dir, "big.json", "[1, 2, 3, 4, 5, 6, 7, 8, 9]");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_read_file (path, 10, &error);

  g_assert_null (n);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "limit"));
  g_unlink (path);
  g_rmdir (dir);
}

/* A FIFO with no writer would block a plain open(2) forever: it must be
 * refused at once, as not a regular file. */
static void
test_read_fifo_refused (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *path = g_build_filename (dir, "fifo", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = NULL;

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  n = vigil_json_read_file (path, 1024, &error);
  g_assert_null (n);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_read_folder_and_device_refused (void)
{
  const char *paths[] = { "/tmp", "/dev/zero" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) n = vigil_json_read_file (paths[i], 1024, &error);
      g_assert_null (n);
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
      g_assert_true (g_str_has_prefix (error->message, paths[i]));
    }
}

static void
test_read_missing (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) n = vigil_json_read_file ("/nonexistent-vigil.json", 1024, &error);

  g_assert_null (n);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent-vigil.json: "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/util/json/getters-return-typed-members", test_getters_typed);
  g_test_add_func ("/util/json/read-refuses-duplicate-key", test_read_refuses_duplicate_key);
  g_test_add_func ("/util/json/getters-treat-wrong-type-as-absent", test_getters_wrong_type_is_absent);
  g_test_add_func ("/util/json/print-pretty-on-stdout", test_print);
  g_test_add_func ("/util/json/read-file", test_read_ok);
  g_test_add_func ("/util/json/read-parse-error-says-file-line-column", test_read_parse_error_says_where);
  g_test_add_func ("/util/json/read-empty-file-is-an-error", test_read_empty_file);
  g_test_add_func ("/util/json/read-refuses-file-over-limit", test_read_too_large);
  g_test_add_func ("/util/json/read-refuses-fifo-without-blocking", test_read_fifo_refused);
  g_test_add_func ("/util/json/read-refuses-folder-and-device", test_read_folder_and_device_refused);
  g_test_add_func ("/util/json/read-missing-file", test_read_missing);
  return g_test_run ();
}
