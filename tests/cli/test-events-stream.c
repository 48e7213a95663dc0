/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil events` streams: listing a log far larger than one event takes
 * about the memory of one event, in text and in JSON, and the JSON is the
 * same document a whole-array print gives. The log is 16 events of a 1 MiB
 * payload that json-glib holds in some 36 MiB each (half a million
 * numbers), so a listing that loads them all needs some 600 MiB; the
 * limit the test sets is 300 MiB of peak resident memory for the listing
 * process, measured with wait4(). The test process itself stays small (it
 * never parses the big listing): a child's peak counts its parent's memory
 * at the fork.
 */
#include "vt-cli.h"

#include <json-glib/json-glib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define EVENTS 16
#define LIMIT_KIB (300 * 1024)

typedef struct {
  char *base;
  char *state;
} Lab;

/* Events are emitted without plugins: the test is about listing them. */
static const char *const no_plugins[] = { "VIGIL_PLUGIN_PATH", NULL };

static void
emit (Lab *lab, const char *type, const char *file)
{
  g_auto (VtCli) r = { 0 };

  vt_cli_run (&r, lab->state, NULL, no_plugins, "event", "emit", type, file, NULL);
  g_assert_cmpint (r.status, ==, 0);
}

/* A payload of just under 1 MiB: {"n":[0,0,...]}. */
static char *
big_payload (void)
{
  GString *s = g_string_new ("{\"n\":[0");

  while (s->len < 1000 * 1000)
    g_string_append (s, ",0");
  g_string_append (s, "]}");
  return g_string_free (s, FALSE);
}

/* The big log, made once for the tests that list it. */
static void
big_log_setup (Lab *lab)
{
  g_autofree char *payload = big_payload ();
  g_autofree char *file = NULL;

  lab->base = g_dir_make_tmp ("vigil-events-XXXXXX", NULL);
  lab->state = g_build_filename (lab->base, "state", NULL);
  file = g_build_filename (lab->base, "payload.json", NULL);
  g_assert_true (g_file_set_contents (file, payload, -1, NULL));
  for (int i = 0; i < EVENTS; i++)
    emit (lab, "test.big", file);
}

static void
lab_clear (Lab *lab)
{
  vt_rm_rf (lab->base);
  g_free (lab->base);
  g_free (lab->state);
}

static guint
count (const char *text, const char *part)
{
  guint n = 0;

  for (const char *p = text; (p = strstr (p, part)) != NULL; p++)
    n++;
  return n;
}

/* Runs `vigil --state-dir STATE events ARGS` with stdout into @out_file;
 * returns the peak resident memory of that process in KiB. */
static long
listing_peak_kib (const Lab *lab, const char *out_file, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_environ_unsetenv (g_get_environ (), "VIGIL_PLUGIN_PATH");
  /* Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by
   * default) that would count as held. */
  g_autofree char *asan = g_strconcat (g_getenv ("ASAN_OPTIONS") ? g_getenv ("ASAN_OPTIONS") : "",
                                       ":quarantine_size_mb=8", NULL);
  struct rusage usage;
  int status, fd;
  GPid pid;

  env = g_environ_setenv (env, "ASAN_OPTIONS", asan, TRUE);
  g_ptr_array_add (argv, (gpointer) vt_cli_path ());
  g_ptr_array_add (argv, (gpointer) "--state-dir");
  g_ptr_array_add (argv, lab->state);
  g_ptr_array_add (argv, (gpointer) "events");
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  fd = open (out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_spawn_async_with_fds (NULL, (char **) argv->pdata, (char **) env, G_SPAWN_DO_NOT_REAP_CHILD,
                          NULL, NULL, &pid, -1, fd, -1, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_cmpint (wait4 (pid, &status, 0, &usage), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  return usage.ru_maxrss;
}

static void
assert_peak_bounded (long peak_kib, const char *what)
{
  g_test_message ("%s: peak %ld KiB", what, peak_kib);
  if (peak_kib > LIMIT_KIB)
    g_error ("%s took %ld MiB at its peak: the listing is held in memory", what,
             peak_kib / 1024);
}

static void
test_json_streams (gconstpointer data)
{
  static const char *const args[] = { "--json", "--limit", "1000000", NULL };
  const Lab *lab = data;
  g_autofree char *out = g_build_filename (lab->base, "events.json", NULL);
  g_autofree char *text = NULL;

  assert_peak_bounded (listing_peak_kib (lab, out, args), "events --json");
  /* Its form, as a whole-array print has it (test-limit parses one). */
  g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "[\n  {\n    \"id\" : "));
  g_assert_true (g_str_has_suffix (text, "\n  }\n]\n"));
  g_assert_cmpuint (count (text, "\n  },\n  {\n"), ==, EVENTS - 1);
  g_assert_cmpuint (count (text, "\"type\" : \"test.big\""), ==, EVENTS);
}

static void
test_text_streams (gconstpointer data)
{
  static const char *const args[] = { "--limit", "0", NULL };
  const Lab *lab = data;
  g_autofree char *out = g_build_filename (lab->base, "events.txt", NULL);
  g_autofree char *text = NULL;

  assert_peak_bounded (listing_peak_kib (lab, out, args), "events");
  g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
  g_assert_cmpuint (count (text, " test.big "), ==, EVENTS);
}

/* The newest N, oldest first, as the whole-array listing gave them. */
static void
test_limit_keeps_the_newest (void)
{
  Lab lab[1] = { { g_dir_make_tmp ("vigil-events-XXXXXX", NULL), NULL } };
  g_autofree char *small = g_build_filename (lab->base, "small.json", NULL);
  g_auto (VtCli) r = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonArray *events;

  lab->state = g_build_filename (lab->base, "state", NULL);
  g_assert_true (g_file_set_contents (small, "{\"a\":[1,{\"b\":null}]}", -1, NULL));
  emit (lab, "test.first", small);
  emit (lab, "test.second-last", small);
  emit (lab, "test.last", small);
  vt_cli_run (&r, lab->state, NULL, NULL, "events", "--json", "--limit", "2", NULL);
  g_assert_cmpint (r.status, ==, 0);
  json_parser_load_from_data (parser, r.out, -1, &error);
  g_assert_no_error (error);
  events = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (events), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (events, 0),
                                                  "type"), ==, "test.second-last");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (events, 1),
                                                  "type"), ==, "test.last");
  lab_clear (lab);
}

int
main (int argc, char **argv)
{
  Lab big = { 0 };
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/cli/events/json-streams", &big, test_json_streams);
  g_test_add_data_func ("/cli/events/text-streams", &big, test_text_streams);
  g_test_add_func ("/cli/events/limit-keeps-the-newest", test_limit_keeps_the_newest);
  big_log_setup (&big);
  status = g_test_run ();
  lab_clear (&big);
  return status;
}
