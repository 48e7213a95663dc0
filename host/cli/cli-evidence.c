/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil evidence list|show|export|delete`: the console's evidence store,
 * the files devices' file.get tasks retrieved (docs/respond.md "Get
 * file"). list and show print the metadata only (device, path, size,
 * hashes, times), never content. export is the one way content leaves the
 * store, and a deliberate one: it needs --output, never overwrites (the
 * file is created O_EXCL, mode 0600, not executable), warns that the
 * content is potentially malicious, and leaves no partial file when the
 * stored copy does not verify. prune is the retention: it deletes what
 * was stored before a time.
 */
#include "cli-data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vigil/util/io.h>

#define USAGE "list [--device ID] | show ID | export ID --output FILE | delete ID | " \
              "prune --older-than AGE|TIME"

static void
print_json_object (JsonObject *o)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
  vigil_json_print (node);
}

static int
fail (const char *what, GError *error)
{
  cli_error ("evidence", "%s%s", what, error->message);
  return 2;
}

static void
print_line (JsonObject *e)
{
  g_autofree char *when = cli_format_time (json_object_get_int_member_with_default (e, "stored_at", 0));

  if (json_object_has_member (e, "damaged"))
    {
      vigil_print ("%s  DAMAGED: %s\n", json_object_get_string_member (e, "id"),
                   json_object_get_string_member (e, "damaged"));
      return;
    }
  vigil_print ("%s  %s  %-12s %10" G_GINT64_FORMAT "  %s  %s\n",
               json_object_get_string_member (e, "id"), when,
               json_object_get_string_member_with_default (e, "device", "?"),
               json_object_get_int_member_with_default (e, "size", 0),
               json_object_get_string_member_with_default (e, "sha256", "?"),
               json_object_get_string_member_with_default (e, "path", "?"));
}

static int
evidence_list (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *device = NULL;
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Only this device's", "ID" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) all = NULL;
  g_autoptr (JsonArray) shown = json_array_new ();

  if (!cli_parse ("evidence", "list [--device ID]",
                  "The files retrieved from devices (file.get): id, time, device, size, "
                  "SHA-256, path.", entries, &argc, &argv)
      || !cli_need_args ("evidence", argc, 1, "evidence list [--device ID]"))
    return 2;
  if ((all = vigil_host_evidence_list (host, &error)) == NULL)
    return fail ("", error);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *e = json_array_get_object_element (all, i);

      if (device == NULL
          || g_strcmp0 (json_object_get_string_member_with_default (e, "device", ""), device) == 0)
        json_array_add_object_element (shown, json_object_ref (e));
    }
  if (json)
    {
      vigil_json_print_array (shown);
      return 0;
    }
  if (json_array_get_length (shown) == 0)
    vigil_print ("no evidence%s%s\n", device ? " of device " : "", device ? device : "");
  for (guint i = 0; i < json_array_get_length (shown); i++)
    print_line (json_array_get_object_element (shown, i));
  return 0;
}

static int
evidence_show (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) e = NULL;
  g_autofree char *retrieved = NULL, *stored = NULL;

  if (!cli_parse ("evidence", "show ID", "One retrieved file's record (never its content).",
                  entries, &argc, &argv)
      || !cli_need_args ("evidence", argc, 2, "evidence show ID"))
    return 2;
  if ((e = vigil_host_evidence_get (host, argv[1], &error)) == NULL)
    return fail ("", error);
  if (json)
    {
      print_json_object (e);
      return 0;
    }
  retrieved = cli_format_time (json_object_get_int_member_with_default (e, "retrieved_at", 0));
  stored = cli_format_time (json_object_get_int_member_with_default (e, "stored_at", 0));
  vigil_print ("evidence   %s\n", json_object_get_string_member (e, "id"));
  vigil_print ("device     %s\n", json_object_get_string_member_with_default (e, "device", "?"));
  vigil_print ("path       %s\n", json_object_get_string_member_with_default (e, "path", "?"));
  vigil_print ("size       %" G_GINT64_FORMAT " bytes\n",
               json_object_get_int_member_with_default (e, "size", 0));
  vigil_print ("sha256     %s\n", json_object_get_string_member_with_default (e, "sha256", "?"));
  vigil_print ("md5        %s\n", json_object_get_string_member_with_default (e, "md5", "?"));
  vigil_print ("task       %s\n", json_object_get_string_member_with_default (e, "task", "-"));
  vigil_print ("retrieved  %s\n", retrieved);
  vigil_print ("stored     %s\n", stored);
  return 0;
}

static gboolean
write_slice (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  if (vigil_write_all (GPOINTER_TO_INT (user_data), data, len))
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot write the output: %s",
               g_strerror (errno));
  return FALSE;
}

static int
evidence_export (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *output = NULL;
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Where to write it (must not exist)", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) e = NULL;
  int fd;

  if (!cli_parse ("evidence", "export ID --output FILE",
                  "Writes a retrieved file's content to FILE (created, mode 0600; never "
                  "overwritten). The content is potentially malicious.", entries, &argc, &argv)
      || !cli_need_args ("evidence", argc, 2, "evidence export ID --output FILE"))
    return 2;
  if (output == NULL)
    {
      cli_error ("evidence", "export needs --output FILE: the content is written only where "
                 "you ask for it");
      return 2;
    }
  if ((e = vigil_host_evidence_get (host, argv[1], &error)) == NULL)
    return fail ("", error);
  fd = open (output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      cli_error ("evidence", "%s: %s%s", output, g_strerror (errno),
                 errno == EEXIST ? " (export never overwrites: choose a new name)" : "");
      return 2;
    }
  fchmod (fd, 0600);
  if (vigil_host_evidence_read (host, argv[1], write_slice, GINT_TO_POINTER (fd), &error)
      && fsync (fd) < 0)
    g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot sync: %s",
                 output, g_strerror (errno));
  if (error != NULL)
    {
      /* No partial content left behind. */
      close (fd);
      unlink (output);
      return fail ("", error);
    }
  close (fd);
  if (json)
    {
      json_object_set_string_member (e, "output", output);
      print_json_object (e);
    }
  else
    vigil_print ("evidence %s (%s of device %s, %" G_GINT64_FORMAT " bytes, SHA-256 %s) "
                 "written to %s\n", json_object_get_string_member (e, "id"),
                 json_object_get_string_member_with_default (e, "path", "?"),
                 json_object_get_string_member_with_default (e, "device", "?"),
                 json_object_get_int_member_with_default (e, "size", 0),
                 json_object_get_string_member_with_default (e, "sha256", "?"), output);
  vigil_print_to (stderr, "vigil evidence: warning: %s is a copy of a file retrieved as "
                  "possible evidence and is potentially malicious: do not open or run it "
                  "outside an isolated analysis environment\n", output);
  return 0;
}

static int
evidence_delete (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;

  if (!cli_parse ("evidence", "delete ID", "Removes a retrieved file from the store.",
                  entries, &argc, &argv)
      || !cli_need_args ("evidence", argc, 2, "evidence delete ID"))
    return 2;
  if (!vigil_host_evidence_delete (host, argv[1], &error))
    return fail ("", error);
  if (json)
    {
      g_autoptr (JsonObject) o = json_object_new ();

      json_object_set_string_member (o, "id", argv[1]);
      json_object_set_boolean_member (o, "deleted", TRUE);
      print_json_object (o);
    }
  else
    vigil_print ("evidence %s deleted\n", argv[1]);
  return 0;
}

/* Retention: every file stored before the cut-off goes. */
static int
evidence_prune (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *older = NULL;
  gboolean json = globals->json;
  GOptionEntry entries[] = {
    { "older-than", 0, 0, G_OPTION_ARG_STRING, &older, "An age (30d, 12h) or an ISO-8601 time",
      "AGE|TIME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Machine-readable output", NULL },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) all = NULL;
  g_autoptr (JsonArray) gone = json_array_new ();
  gint64 cut = 0;

  if (!cli_parse ("evidence", "prune --older-than AGE|TIME",
                  "Deletes the files stored before a time, or longer ago than an age.",
                  entries, &argc, &argv)
      || !cli_need_args ("evidence", argc, 1, "evidence prune --older-than AGE|TIME"))
    return 2;
  if (older == NULL || !cli_parse_since (older, vigil_host_now (host), &cut, NULL))
    {
      cli_error ("evidence", "prune needs --older-than with an age (30d, 12h) or an ISO-8601 "
                 "time (2026-11-22T10:00:00Z)");
      return 2;
    }
  if ((all = vigil_host_evidence_list (host, &error)) == NULL)
    return fail ("", error);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *e = json_array_get_object_element (all, i);
      const char *id = json_object_get_string_member (e, "id");

      if (json_object_has_member (e, "damaged")
          || json_object_get_int_member_with_default (e, "stored_at", 0) >= cut)
        continue;
      if (!vigil_host_evidence_delete (host, id, &error))
        return fail ("", error);
      json_array_add_string_element (gone, id);
      if (!json)
        vigil_print ("evidence %s deleted\n", id);
    }
  if (json)
    vigil_json_print_array (gone);
  else if (json_array_get_length (gone) == 0)
    vigil_print ("no evidence stored before that\n");
  return 0;
}

static int
evidence_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : "";

  if (g_str_equal (sub, "list"))
    return evidence_list (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "show"))
    return evidence_show (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "export"))
    return evidence_export (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "delete"))
    return evidence_delete (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "prune"))
    return evidence_prune (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      vigil_print ("Usage: vigil evidence %s\n", USAGE);
      vigil_print ("The files devices' file.get tasks retrieved, kept encrypted in the state "
                   "folder (docs/respond.md).\n");
      return 0;
    }
  cli_error ("evidence", "unknown subcommand '%s' (expected: %s)", sub, USAGE);
  return 2;
}

const CliCommand cli_evidence = {
  "evidence", "Files retrieved from devices (Get file): list, show, export, delete, prune",
  USAGE,
  evidence_run,
};
