/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * No control character reaches the terminal: a sweep of the text output of
 * the commands that print names a device or an admin controls (file names
 * found on a device, --name of groups and devices), with names that carry
 * ESC, OSC, BEL, CR, LF, a C1 CSI, a bidirectional override and a byte
 * that is not UTF-8. Every command's stdout and stderr must be valid UTF-8
 * with no control character but the newline, and must show the hostile
 * name escaped (so that the check is not passed by a name never printed).
 * JSON output keeps the name as JSON escapes it.
 */
#include "vt-cli.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* A file name a device could hold: OSC title change, BEL, CR LF that forge
 * a line, C1 CSI (U+009B) and a right-to-left override. */
#define HOSTILE_FILE "evil\033]0;PWNED\007\r\nFORGED\xc2\x9b" "31m\xe2\x80\xae" "gpj.exe"
#define HOSTILE_FILE_SHOWN "evil\\x1B]0;PWNED\\x07\\x0D\\x0AFORGED\\u009B31m\\u202Egpj.exe"
/* One that is not UTF-8: a lone 0x9B is CSI on an 8-bit terminal. Outside
 * /home, where the tasks look. */
#define BYTES_FILE "evil\x9b" "2J\xff.exe"
#define BYTES_FILE_SHOWN "evil\\x9B2J\\xFF.exe"
/* An admin-typed --name with a colour change and a forged table row. */
#define HOSTILE_NAME "Lab\033[31m\nlab2  FORGED ROW"
#define HOSTILE_NAME_SHOWN "Lab\\x1B[31m\\x0Alab2  FORGED ROW"

typedef struct {
  char *base;
  char *state;
  char *root;
  char *ioc;
} Lab;

/* Fails the test at the first byte of @text a terminal would act on. */
static void
assert_inert (const char *what, const char *text)
{
  const char *end = NULL;

  if (!g_utf8_validate (text, -1, &end))
    g_error ("%s: not UTF-8 at byte %td", what, end - text);
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean control = (c < 0x20 && c != '\n') || (c >= 0x7F && c <= 0x9F)
                         || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
      if (control)
        g_error ("%s: control character U+%04X at byte %td of:\n%s", what, c, p - text, text);
    }
}

/* Runs `vigil ARGS` on the lab, checks stderr and (unless @json: JSON
 * output is escaped by JSON, as JSON escapes) stdout are inert, and returns
 * stdout when the exit code is @status. */
static char *
run_checked (Lab *lab, gboolean json, int status, va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (VtCli) r = { 0 };
  g_autofree char *what = NULL;
  const char *arg;

  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  g_ptr_array_add (argv, NULL);
  vt_cli_runv (&r, lab->state, NULL, NULL, (const char *const *) argv->pdata);
  what = g_strjoinv (" ", (char **) argv->pdata);
  {
    g_autofree char *out_what = g_strconcat (what, " (stdout)", NULL);
    g_autofree char *err_what = g_strconcat (what, " (stderr)", NULL);
    if (!json)
      assert_inert (out_what, r.out);
    assert_inert (err_what, r.err);
  }
  if (r.status != status)
    g_error ("vigil %s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, r.status, status,
             r.out, r.err);
  return g_steal_pointer (&r.out);
}

static char *
run_inert (Lab *lab, int status, ...)
{
  va_list ap;
  char *out;

  va_start (ap, status);
  out = run_checked (lab, FALSE, status, ap);
  va_end (ap);
  return out;
}

/* A command with --json: stdout is JSON. */
static JsonNode *
run_json (Lab *lab, ...)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  JsonNode *node;
  va_list ap;

  va_start (ap, lab);
  out = run_checked (lab, TRUE, 0, ap);
  va_end (ap);
  node = json_from_string (out, &error);
  g_assert_no_error (error);
  return node;
}

static void
assert_shows (const char *out, const char *shown)
{
  if (strstr (out, shown) == NULL)
    g_error ("expected \"%s\" in:\n%s", shown, out);
}

static char *
write_file (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* An OpenIOC 1.1 file that finds every file whose name contains "evil". */
static const char EVIL_IOC[] =
  "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
  "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"evil-1\" "
  "last-modified=\"2024-01-01T00:00:00\">\n"
  "<metadata><short_description>Evil names</short_description>"
  "<authored_by>tests</authored_by></metadata>\n"
  "<criteria><Indicator operator=\"OR\" id=\"ind\">"
  "<IndicatorItem id=\"i-1\" condition=\"contains\">"
  "<Context document=\"FileItem\" search=\"FileItem/FileName\" type=\"mir\"/>"
  "<Content type=\"string\">evil</Content></IndicatorItem>"
  "</Indicator></criteria>\n<parameters/>\n</OpenIOC>\n";

static void
lab_setup (Lab *lab, gconstpointer data)
{
  lab->base = g_dir_make_tmp ("vigil-escape-XXXXXX", NULL);
  lab->state = g_build_filename (lab->base, "state", NULL);
  lab->root = g_build_filename (lab->base, "dev1", NULL);
  g_free (write_file (lab->root, "home/alice/" HOSTILE_FILE, "MZ-evil"));
  g_free (write_file (lab->root, "srv/" BYTES_FILE, "MZ-evil"));
  lab->ioc = write_file (lab->base, "evil.ioc", EVIL_IOC);
  vt_cli_ok (lab->state, "group", "add", "lab", "--name", HOSTILE_NAME, NULL);
  vt_cli_ok (lab->state, "device", "add", "dev1", "--group", "lab", "--name", HOSTILE_NAME,
             "--root", lab->root, NULL);
}

static void
lab_teardown (Lab *lab, gconstpointer data)
{
  vt_rm_rf (lab->base);
  g_free (lab->base);
  g_free (lab->state);
  g_free (lab->root);
  g_free (lab->ioc);
}

static void
test_inventory_names (Lab *lab, gconstpointer data)
{
  g_autofree char *groups = run_inert (lab, 0, "group", "list", NULL);
  g_autofree char *devices = run_inert (lab, 0, "device", "list", NULL);
  g_autoptr (JsonNode) json = run_json (lab, "device", "list", "--json", NULL);
  g_autofree char *json_text = json_to_string (json, FALSE);

  assert_shows (groups, HOSTILE_NAME_SHOWN);
  assert_shows (devices, HOSTILE_NAME_SHOWN);
  /* JSON escapes it its own way; the text escaping does not touch it. */
  assert_shows (json_text, "Lab\\u001b[31m\\nlab2  FORGED ROW");
}

/* Creates a task of @type on dev1 with @params; returns its id. */
static char *
create_task (Lab *lab, const char *type, const char *params)
{
  g_autofree char *path = write_file (lab->base, "params.json", params);
  g_autofree char *out = run_inert (lab, 0, "task", "create", "--type", type, "--device", "dev1",
                                    "--params", path, NULL);
  g_auto (GStrv) words = g_strsplit (out, " ", 3);

  g_assert_cmpstr (words[0], ==, "task");
  return g_strdup (words[1]);
}

/* An IOC scan of /home that quarantines what it finds. */
static char *
scan_task (Lab *lab)
{
  g_autoptr (JsonNode) xml = json_node_init_string (json_node_alloc (), EVIL_IOC);
  g_autofree char *xml_json = json_to_string (xml, FALSE);
  g_autofree char *params = g_strdup_printf (
      "{\"iocs\":[{\"name\":\"evil.ioc\",\"xml\":%s}],"
      "\"scope\":{\"kind\":\"custom\",\"paths\":[\"/home\"]},"
      "\"on_detection\":{\"quarantine\":true,\"critical_scan\":false}}", xml_json);

  return create_task (lab, "ioc.scan", params);
}

/* Quarantining the hostile file by path: the run's message names it. */
static char *
put_task (Lab *lab)
{
  g_autoptr (JsonNode) path = json_node_init_string (json_node_alloc (),
                                                     "/home/alice/" HOSTILE_FILE);
  g_autofree char *path_json = json_to_string (path, FALSE);
  g_autofree char *params = g_strdup_printf (
      "{\"path\":%s,\"detection\":\"EICAR\",\"delete_original\":false}", path_json);

  return create_task (lab, "quarantine.put", params);
}

static void
test_ioc_scan (Lab *lab, gconstpointer data)
{
  g_autofree char *out = run_inert (lab, 1, "ioc", "scan", "--no-progress", "--ioc", lab->ioc,
                                    lab->root, NULL);

  assert_shows (out, HOSTILE_FILE_SHOWN ": FOUND Evil names");
  assert_shows (out, BYTES_FILE_SHOWN ": FOUND Evil names");
}

/* An IOC file's description and terms reach `ioc check` output; XML lets
 * a line feed in as a character reference and a C1 control as itself. */
static void
test_ioc_check (Lab *lab, gconstpointer data)
{
  g_autofree char *ioc = write_file (lab->base, "hostile.ioc",
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<OpenIOC xmlns=\"http://openioc.org/schemas/OpenIOC_1.1\" id=\"h-1\" "
      "last-modified=\"2024-01-01T00:00:00\">\n"
      "<metadata><short_description>Evil&#10;FORGED\xc2\x9b" "31m</short_description>"
      "<authored_by>tests</authored_by></metadata>\n"
      "<criteria><Indicator operator=\"OR\" id=\"ind\">"
      "<IndicatorItem id=\"i-1\" condition=\"contains\">"
      "<Context document=\"FileItem\" search=\"FileItem/FileName&#10;FORGED\" type=\"mir\"/>"
      "<Content type=\"string\">evil</Content></IndicatorItem>"
      "</Indicator></criteria>\n<parameters/>\n</OpenIOC>\n");
  g_autofree char *out = run_inert (lab, 0, "ioc", "check", ioc, NULL);

  assert_shows (out, "Evil\\x0AFORGED\\u009B31m");
  assert_shows (out, "FileItem/FileName\\x0AFORGED");
}

static void
test_task_run_and_show (Lab *lab, gconstpointer data)
{
  g_autofree char *id = put_task (lab);
  g_autofree char *run = run_inert (lab, 0, "task", "run", id, NULL);
  g_autofree char *show = run_inert (lab, 0, "task", "show", id, NULL);
  g_autofree char *results = run_inert (lab, 0, "task", "results", id, NULL);
  g_autofree char *list = run_inert (lab, 0, "task", "list", NULL);

  assert_shows (run, HOSTILE_FILE_SHOWN);
  assert_shows (show, HOSTILE_FILE_SHOWN);
  assert_shows (results, HOSTILE_FILE_SHOWN);
  assert_shows (list, id);
}

/* The events of a scan that found the file, and the run's outcome. */
static void
test_scan_task_and_events (Lab *lab, gconstpointer data)
{
  g_autofree char *id = scan_task (lab);
  g_autofree char *run = run_inert (lab, 0, "task", "run", id, NULL);
  g_autofree char *results = run_inert (lab, 0, "task", "results", id, NULL);
  g_autofree char *events = run_inert (lab, 0, "events", NULL);

  assert_shows (run, "1 run:");
  /* `task results` shows the result as JSON, which escapes it already. */
  assert_shows (results, "evil\\u001b]0;PWNED\\u0007\\r\\nFORGED");
  assert_shows (events, "ioc.found");
}

static void
test_quarantine_list_and_show (Lab *lab, gconstpointer data)
{
  g_autofree char *task = scan_task (lab);
  g_autofree char *run = run_inert (lab, 0, "task", "run", task, NULL);
  g_autoptr (JsonNode) list = run_json (lab, "quarantine", "list", "--device", "dev1", "--json",
                                        NULL);
  const char *id;
  g_autofree char *on_device = NULL, *show = NULL, *common = NULL;

  g_assert_nonnull (list);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  id = json_object_get_string_member (json_array_get_object_element (json_node_get_array (list), 0),
                                      "id");
  on_device = run_inert (lab, 0, "quarantine", "list", "--device", "dev1", NULL);
  show = run_inert (lab, 0, "quarantine", "show", id, "--device", "dev1", NULL);
  common = run_inert (lab, 0, "quarantine", "list", NULL);
  assert_shows (on_device, HOSTILE_FILE_SHOWN);
  assert_shows (show, HOSTILE_FILE_SHOWN);
  assert_shows (common, HOSTILE_FILE_SHOWN);
  (void) run;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Lab, NULL, lab_setup, fn, lab_teardown)
  ADD ("/cli/escape/inventory-names", test_inventory_names);
  ADD ("/cli/escape/ioc-scan-file-names", test_ioc_scan);
  ADD ("/cli/escape/ioc-check-description-and-terms", test_ioc_check);
  ADD ("/cli/escape/task-run-show-results", test_task_run_and_show);
  ADD ("/cli/escape/scan-task-and-events", test_scan_task_and_events);
  ADD ("/cli/escape/quarantine-list-show", test_quarantine_list_and_show);
#undef ADD
  return g_test_run ();
}
