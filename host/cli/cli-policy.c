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
  vh_cli_error ("policy", "%s", error->message);
  return 2;
}

static void
print_object (JsonObject *o)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);

  vh_cli_print_json (node);
}

/* Reads and parses FILE; syntax problems go to @report. */
static JsonObject *
load_document (const char *path, VigilReport *report, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  data = vh_cli_read_limited (path, VH_POLICY_MAX_BYTES, &len, error);
  if (data == NULL)
    return NULL;
  return vh_policy_parse (data, len, report);
}

static int
report_result (const VhCliGlobals *globals, JsonArray *problems, const char *file,
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
      print_object (o);
    }
  else
    vh_cli_print_problems (problems, file);
  return errors ? 1 : 0;
}

static int
policy_validate (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) doc = NULL;
  g_autoptr (JsonArray) problems = NULL;
  int rc;

  if (!vh_cli_parse ("policy", "validate FILE", "Check a policy document; exit 1 on problems.",
                     NULL, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 2, "policy validate FILE"))
    return 2;
  doc = load_document (argv[1], report, &error);
  if (error != NULL)
    return fail (error);
  /* Syntax problems stop at parsing; a parsed document gets every check. */
  problems = doc ? vigil_host_validate_policy (host, doc) : vh_report_to_json (report);
  rc = report_result (globals, problems, argv[1], NULL);
  if (!globals->json && rc == 0)
    printf ("%s: the policy is valid\n", argv[1]);
  return rc;
}

static int
apply_or_import (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv,
                 gboolean import)
{
  const char *verb = import ? "import" : "apply";
  g_autoptr (GError) error = NULL;
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) doc = NULL, extra = json_object_new ();
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *demoted = NULL;
  g_autofree char *usage = g_strdup_printf ("policy %s FILE", verb);
  gboolean ok = FALSE;
  int rc;

  if (!vh_cli_parse ("policy", usage + 7, import
                       ? "Migrate a policy written for older section versions, then apply it."
                       : "Validate a policy and store it (replacing one of the same name).",
                     NULL, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 2, usage))
    return 2;
  doc = load_document (argv[1], report, &error);
  if (doc != NULL)
    ok = vh_policy_apply (host, doc, import, report, &demoted, &error);
  if (error != NULL)
    return fail (error);
  problems = vh_report_to_json (report);
  if (ok)
    {
      json_object_set_string_member (extra, "applied", json_object_get_string_member (doc, "name"));
      if (demoted)
        json_object_set_string_member (extra, "made_inactive", demoted);
    }
  rc = report_result (globals, problems, argv[1], extra);
  if (ok && !globals->json)
    {
      printf ("%s policy '%s'\n", import ? "imported" : "applied",
              json_object_get_string_member (doc, "name"));
      if (demoted)
        printf ("policy '%s' is now inactive (one policy per status and group)\n", demoted);
    }
  return ok ? 0 : MAX (rc, 1);
}

static int
policy_apply (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  return apply_or_import (host, globals, argc, argv, FALSE);
}

static int
policy_import (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  return apply_or_import (host, globals, argc, argv, TRUE);
}

static int
policy_list (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) list = NULL;

  if (!vh_cli_parse ("policy", "list", "List stored policies.", NULL, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 1, "policy list"))
    return 2;
  list = vh_policy_list (host, &error);
  if (list == NULL)
    return fail (error);
  if (globals->json)
    {
      g_autoptr (JsonNode) node = json_node_init_array (json_node_alloc (), list);
      vh_cli_print_json (node);
      return 0;
    }
  printf ("%-28s %-20s %-14s %s\n", "NAME", "GROUP", "STATUS", "SECTIONS");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *p = json_array_get_object_element (list, i);
      JsonArray *secs = json_object_get_array_member (p, "sections");
      g_autoptr (GString) s = g_string_new (NULL);

      for (guint j = 0; j < json_array_get_length (secs); j++)
        g_string_append_printf (s, "%s%s", j ? ", " : "", json_array_get_string_element (secs, j));
      printf ("%-28s %-20s %-14s %s\n", json_object_get_string_member (p, "name"),
              json_object_get_string_member (p, "group"),
              json_object_get_string_member (p, "status"), s->str);
    }
  return 0;
}

static int
policy_show (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) doc = NULL;

  if (!vh_cli_parse ("policy", "show NAME", "Print a stored policy (secrets masked).",
                     NULL, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 2, "policy show NAME"))
    return 2;
  doc = vh_policy_get_masked (host, argv[1], &error);
  if (doc == NULL)
    return fail (error);
  print_object (doc);
  return 0;
}

static int
policy_remove (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!vh_cli_parse ("policy", "remove NAME", "Remove a stored policy.", NULL, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 2, "policy remove NAME"))
    return 2;
  if (!vh_policy_remove (host, argv[1], &error))
    return fail (error);
  if (!globals->json)
    printf ("removed policy '%s'\n", argv[1]);
  return 0;
}

static int
policy_defaults (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  g_autoptr (JsonObject) doc = NULL;

  if (!vh_cli_parse ("policy", "defaults",
                     "Print a complete policy with the defaults of every loaded section.",
                     NULL, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 1, "policy defaults"))
    return 2;
  doc = vh_policy_defaults (vh_registry_sections (host));
  print_object (doc);
  return 0;
}

/* ---- effective ------------------------------------------------------- */

static void
print_effective (const char *section, JsonObject *values, JsonObject *origins)
{
  JsonObjectIter gi;
  const char *group;
  JsonNode *gnode;

  printf ("%s\n", section);
  json_object_iter_init (&gi, values);
  while (json_object_iter_next (&gi, &group, &gnode))
    {
      JsonObject *origin = json_object_get_object_member (origins, group);
      JsonObjectIter ki;
      const char *key;
      JsonNode *v;

      printf ("  %s\n", group);
      json_object_iter_init (&ki, json_node_get_object (gnode));
      while (json_object_iter_next (&ki, &key, &v))
        {
          g_autofree char *text = json_to_string (v, FALSE);
          printf ("    %-28s %-24s [%s]\n", key, text,
                  json_object_get_string_member (origin, key));
        }
    }
}

static gboolean
effective_one (VigilHost *host, const char *device, const VhSection *vs,
               JsonObject *out, gboolean json, GError **error)
{
  g_autoptr (JsonObject) origins = NULL;
  g_autoptr (JsonObject) values = vh_effective_section (host, device, vs->section.id,
                                                        &origins, error);
  JsonObject *entry;

  if (values == NULL)
    return FALSE;
  vh_schema_mask_secrets (&vs->section, values);
  if (!json)
    {
      print_effective (vs->section.id, values, origins);
      return TRUE;
    }
  entry = json_object_new ();
  json_object_set_object_member (entry, "values", json_object_ref (values));
  json_object_set_object_member (entry, "origins", json_object_ref (origins));
  json_object_set_object_member (out, vs->section.id, entry);
  return TRUE;
}

static int
policy_effective (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  g_autofree char *device = NULL, *section = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  JsonObject *sections = json_object_new ();
  GPtrArray *all = vh_registry_sections (host);
  const GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "The device (required)", "D" },
    { "section", 0, 0, G_OPTION_ARG_STRING, &section, "Only this section", "S" },
    { NULL },
  };

  json_object_set_object_member (out, "sections", sections);
  if (!vh_cli_parse ("policy", "effective --device D [--section S]",
                     "Show a device's effective settings and where each value came from.",
                     entries, &argc, &argv) ||
      !vh_cli_need_args ("policy", argc, 1, "policy effective --device D [--section S]"))
    return 2;
  if (device == NULL)
    {
      vh_cli_error ("policy", "effective needs --device D");
      return 2;
    }
  json_object_set_string_member (out, "device", device);
  if (section != NULL && vh_sections_find (all, section) == NULL)
    {
      vh_cli_error ("policy", "section '%s' is not registered by any loaded plugin", section);
      return 2;
    }
  for (guint i = 0; all && i < all->len; i++)
    {
      const VhSection *vs = all->pdata[i];
      if (section != NULL && g_strcmp0 (vs->section.id, section) != 0)
        continue;
      if (!effective_one (host, device, vs, sections, globals->json, &error))
        return fail (error);
    }
  if (globals->json)
    print_object (out);
  return 0;
}

/* ---- dispatch -------------------------------------------------------- */

static int
policy_run (VigilHost *host, const VhCliGlobals *globals, int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*run) (VigilHost *, const VhCliGlobals *, int, char **);
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
      printf ("Usage: vigil policy %s\n", vh_cli_policy.usage);
      return 0;
    }
  vh_cli_error ("policy", "unknown subcommand '%s' (expected: %s)", sub, vh_cli_policy.usage);
  return 2;
}

const VhCliCommand vh_cli_policy = {
  "policy", "Policies: validate, apply, import, list, show, remove, effective, defaults",
  "validate FILE | apply FILE | import FILE | list | show NAME | remove NAME | "
  "effective --device D [--section S] | defaults",
  policy_run,
};
