/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil policy ...`: validate, apply, import (migrate, then apply), list,
 * show, remove, effective settings of a device with the origin of each
 * value, and a complete default policy from the loaded sections. Problems
 * print as "FILE: <section>.<group>.<key>: <message>" and give exit code 1;
 * usage and runtime errors exit 2. Every document or value printed has its
 * secret fields masked.
 */
#include "cli-data.h"

#include <stdio.h>
#include <string.h>

static int
fail (GError *error)
{
  cli_error ("policy", "%s", error->message);
  return 2;
}

/* Reads and parses FILE; syntax problems go to @problems. */
static JsonObject *
load_document (const char *path, JsonArray **problems, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  data = cli_read_limited (path, VIGIL_HOST_POLICY_MAX_BYTES, &len, error);
  if (data == NULL)
    return NULL;
  return vigil_host_parse_policy (data, len, problems);
}

static gboolean
has_errors (JsonArray *problems)
{
  for (guint i = 0; problems != NULL && i < json_array_get_length (problems); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (problems, i),
                                                  "severity"), "error") == 0)
      return TRUE;
  return FALSE;
}

static int
report_result (const CliGlobals *globals, JsonArray *problems, const char *file,
               JsonObject *extra)
{
  guint errors = 0;

  for (guint i = 0; i < json_array_get_length (problems); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (problems, i),
                                                  "severity"), "error") == 0)
      errors++;
  if (globals->json)
    {
      g_autoptr (JsonObject) o = extra ? json_object_ref (extra) : json_object_new ();
      json_object_set_boolean_member (o, "valid", errors == 0);
      json_object_set_array_member (o, "problems", json_array_ref (problems));
      vigil_json_print_object (o);
    }
  else
    cli_print_problems (problems, file);
  return errors ? 1 : 0;
}

static int
policy_validate (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = NULL;
  g_autoptr (JsonArray) problems = NULL, syntax = NULL;
  int rc;

  if (!cli_parse ("policy", "validate FILE", "Check a policy document; exit 1 on problems.",
                  NULL, &argc, &argv) ||
      !cli_need_args ("policy", argc, 2, "policy validate FILE"))
    return 2;
  doc = load_document (argv[1], &syntax, &error);
  if (error != NULL)
    return fail (error);
  /* Syntax problems stop at parsing; a parsed document gets every check. */
  problems = doc ? vigil_host_validate_policy (host, doc) : g_steal_pointer (&syntax);
  rc = report_result (globals, problems, argv[1], NULL);
  if (!globals->json && rc == 0)
    vigil_print ("%s: the policy is valid\n", argv[1]);
  return rc;
}

static int
apply_or_import (VigilHost *host, const CliGlobals *globals, int argc, char **argv,
                 gboolean import)
{
  const char *verb = import ? "import" : "apply";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = NULL, extra = json_object_new ();
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *demoted = NULL;
  g_autofree char *usage = g_strdup_printf ("policy %s FILE", verb);
  gboolean ok = FALSE;
  int rc;

  if (!cli_parse ("policy", usage + 7, import
                    ? "Migrate a policy written for older section versions, then apply it."
                    : "Validate a policy and store it (replacing one of the same name).",
                  NULL, &argc, &argv) ||
      !cli_need_args ("policy", argc, 2, usage))
    return 2;
  doc = load_document (argv[1], &problems, &error);
  if (doc != NULL)
    {
      g_clear_pointer (&problems, json_array_unref);
      ok = import ? vigil_host_import_policy (host, doc, &problems, &demoted, &error)
                  : vigil_host_apply_policy (host, doc, &problems, &demoted, &error);
    }
  /* Problems in the document exit 1 below; anything else failed to run. */
  if (error != NULL && !has_errors (problems))
    return fail (error);
  if (ok)
    {
      json_object_set_string_member (extra, "applied", json_object_get_string_member (doc, "name"));
      if (demoted)
        json_object_set_string_member (extra, "made_inactive", demoted);
    }
  rc = report_result (globals, problems, argv[1], extra);
  if (ok && !globals->json)
    {
      vigil_print ("%s policy '%s'\n", import ? "imported" : "applied",
              json_object_get_string_member (doc, "name"));
      if (demoted)
        vigil_print ("policy '%s' is now inactive (one policy per status and group)\n", demoted);
    }
  return ok ? 0 : MAX (rc, 1);
}

static int
policy_apply (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  return apply_or_import (host, globals, argc, argv, FALSE);
}

static int
policy_import (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  return apply_or_import (host, globals, argc, argv, TRUE);
}

static int
policy_list (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = NULL;

  if (!cli_parse ("policy", "list", "List stored policies.", NULL, &argc, &argv) ||
      !cli_need_args ("policy", argc, 1, "policy list"))
    return 2;
  list = vigil_host_policies (host, &error);
  if (list == NULL)
    return fail (error);
  if (globals->json)
    {
      vigil_json_print_array (list);
      return 0;
    }
  vigil_print ("%-28s %-20s %-14s %s\n", "NAME", "GROUP", "STATUS", "SECTIONS");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *p = json_array_get_object_element (list, i);
      JsonArray *secs = json_object_get_array_member (p, "sections");
      g_autoptr (GString) s = g_string_new (NULL);

      for (guint j = 0; j < json_array_get_length (secs); j++)
        g_string_append_printf (s, "%s%s", j ? ", " : "", json_array_get_string_element (secs, j));
      vigil_print ("%-28s %-20s %-14s %s\n", json_object_get_string_member (p, "name"),
              json_object_get_string_member (p, "group"),
              json_object_get_string_member (p, "status"), s->str);
    }
  return 0;
}

static int
policy_show (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = NULL;

  if (!cli_parse ("policy", "show NAME", "Print a stored policy (secrets masked).",
                  NULL, &argc, &argv) ||
      !cli_need_args ("policy", argc, 2, "policy show NAME"))
    return 2;
  doc = vigil_host_policy (host, argv[1], &error);
  if (doc == NULL)
    return fail (error);
  vigil_json_print_object (doc);
  return 0;
}

static int
policy_remove (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!cli_parse ("policy", "remove NAME", "Remove a stored policy.", NULL, &argc, &argv) ||
      !cli_need_args ("policy", argc, 2, "policy remove NAME"))
    return 2;
  if (!vigil_host_remove_policy (host, argv[1], &error))
    return fail (error);
  if (!globals->json)
    vigil_print ("removed policy '%s'\n", argv[1]);
  return 0;
}

static int
policy_defaults (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autoptr (JsonObject) doc = NULL;

  if (!cli_parse ("policy", "defaults",
                  "Print a complete policy with the defaults of every loaded section.",
                  NULL, &argc, &argv) ||
      !cli_need_args ("policy", argc, 1, "policy defaults"))
    return 2;
  doc = vigil_host_default_policy (host);
  vigil_json_print_object (doc);
  return 0;
}

/* ---- effective ------------------------------------------------------- */

static void
print_effective (const char *section, JsonObject *values, JsonObject *origins)
{
  JsonObjectIter gi;
  const char *group;
  JsonNode *gnode;

  vigil_print ("%s\n", section);
  json_object_iter_init (&gi, values);
  while (json_object_iter_next (&gi, &group, &gnode))
    {
      JsonObject *origin = json_object_get_object_member (origins, group);
      JsonObjectIter ki;
      const char *key;
      JsonNode *v;

      vigil_print ("  %s\n", group);
      json_object_iter_init (&ki, json_node_get_object (gnode));
      while (json_object_iter_next (&ki, &key, &v))
        {
          g_autofree char *text = json_to_string (v, FALSE);
          vigil_print ("    %-28s %-24s [%s]\n", key, text,
                  json_object_get_string_member (origin, key));
        }
    }
}

static gboolean
effective_one (VigilHost *host, const char *device, const char *section,
               JsonObject *out, gboolean json, GError **error)
{
  g_autoptr (JsonObject) origins = NULL;
  g_autoptr (JsonObject) values = vigil_host_effective_settings (host, device, section,
                                                                 &origins, error);
  JsonObject *entry;

  if (values == NULL)
    return FALSE;
  if (!json)
    {
      print_effective (section, values, origins);
      return TRUE;
    }
  entry = json_object_new ();
  json_object_set_object_member (entry, "values", json_object_ref (values));
  json_object_set_object_member (entry, "origins", json_object_ref (origins));
  json_object_set_object_member (out, section, entry);
  return TRUE;
}

/* Whether a loaded plugin registered @section. */
static gboolean
section_known (JsonArray *sections, const char *section)
{
  for (guint i = 0; i < json_array_get_length (sections); i++)
    if (g_strcmp0 (json_object_get_string_member (json_array_get_object_element (sections, i),
                                                  "id"), section) == 0)
      return TRUE;
  return FALSE;
}

static int
policy_effective (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  g_autofree char *device = NULL, *section = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  JsonObject *sections = json_object_new ();
  g_autoptr (JsonArray) all = vigil_host_sections (host);
  const GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "The device (required)", "D" },
    { "section", 0, 0, G_OPTION_ARG_STRING, &section, "Only this section", "S" },
    { NULL },
  };

  json_object_set_object_member (out, "sections", sections);
  if (!cli_parse ("policy", "effective --device D [--section S]",
                  "Show a device's effective settings and where each value came from.",
                  entries, &argc, &argv) ||
      !cli_need_args ("policy", argc, 1, "policy effective --device D [--section S]"))
    return 2;
  if (device == NULL)
    {
      cli_error ("policy", "effective needs --device D");
      return 2;
    }
  json_object_set_string_member (out, "device", device);
  if (section != NULL && !section_known (all, section))
    {
      cli_error ("policy", "section '%s' is not registered by any loaded plugin", section);
      return 2;
    }
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      const char *id = json_object_get_string_member (json_array_get_object_element (all, i),
                                                      "id");
      if (section != NULL && g_strcmp0 (id, section) != 0)
        continue;
      if (!effective_one (host, device, id, sections, globals->json, &error))
        return fail (error);
    }
  if (globals->json)
    vigil_json_print_object (out);
  return 0;
}

/* ---- dispatch -------------------------------------------------------- */

static int
policy_run (VigilHost *host, const CliGlobals *globals, int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*run) (VigilHost *, const CliGlobals *, int, char **);
  } subs[] = {
    { "validate", policy_validate }, { "apply", policy_apply }, { "import", policy_import },
    { "list", policy_list }, { "show", policy_show }, { "remove", policy_remove },
    { "effective", policy_effective }, { "defaults", policy_defaults },
  };
  const char *sub = argc > 1 ? argv[1] : "";

  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    if (g_str_equal (sub, subs[i].name))
      return subs[i].run (host, globals, argc - 1, argv + 1);
  if (g_str_equal (sub, "--help") || g_str_equal (sub, "-h"))
    {
      vigil_print ("Usage: vigil policy %s\n", cli_policy.usage);
      return 0;
    }
  cli_error ("policy", "unknown subcommand '%s' (expected: %s)", sub, cli_policy.usage);
  return 2;
}

const CliCommand cli_policy = {
  "policy", "Policies: validate, apply, import, list, show, remove, effective, defaults",
  "validate FILE | apply FILE | import FILE | list | show NAME | remove NAME | "
  "effective --device D [--section S] | defaults",
  policy_run,
};
