/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host commands of the `general` section, registered through the host's
 * pseudo-plugin like any plugin command:
 *   vigil password set --policy FILE.json   hash a password into a policy
 *   vigil password hash                     print a hash for a policy
 *   vigil password check [ACTION]           ask as a protected action would
 *   vigil exclusions import FILE.xml [--policy FILE.json]
 *   vigil exclusions export FILE.xml [--policy FILE.json | --device D]
 * Passwords come from the terminal without echo or from VIGIL_PASSWORD_FD
 * and are never printed; policy files are rewritten atomically, mode 0600
 * when they carry a password hash.
 */
#include "general.h"

#include "vigil/util/io.h"
#include "vigil/util/json.h"

#include <stdio.h>
#include <string.h>

#define POLICY_MAX (8 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Policy files                                                        */
/* ------------------------------------------------------------------ */

/* A policy file is read like any document from outside: a regular file
 * only, bounded, through the strict reader. */
static JsonObject *
load_policy (const char *path, GError **error)
{
  g_autoptr (JsonNode) root = vigil_json_read_file (path, POLICY_MAX, error);

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static gboolean
save_policy (const char *path, JsonObject *policy, GError **error)
{
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), policy);
  g_autofree char *text = json_to_string (root, TRUE);
  g_autofree char *with_newline = g_strconcat (text, "\n", NULL);

  return g_file_set_contents_full (path, with_newline, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static JsonObject *
ensure_object (JsonObject *parent, const char *key)
{
  JsonObject *child = vigil_json_get_object (parent, key);

  if (child == NULL)
    {
      child = json_object_new ();
      json_object_set_object_member (parent, key, child);
    }
  return child;
}

/* The "values" object of settings.general.<group>; a group the policy did
 * not mention yet is created locked, since these are admin decisions. */
static JsonObject *
policy_group_values (JsonObject *policy, const char *group_id)
{
  JsonObject *general = ensure_object (ensure_object (policy, "settings"), "general");
  JsonObject *group = vigil_json_get_object (general, group_id);

  if (!json_object_has_member (general, "schema_version"))
    json_object_set_int_member (general, "schema_version", 1);
  if (group == NULL)
    {
      group = ensure_object (general, group_id);
      json_object_set_boolean_member (group, "locked", TRUE);
    }
  return ensure_object (group, "values");
}

/* ------------------------------------------------------------------ */
/* vigil password                                                      */
/* ------------------------------------------------------------------ */

/* Account and device names a password must not contain. */
static GStrv
weak_names (VigilHost *host, char **accounts, char **devices)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autoptr (GPtrArray) ids = vh_inventory_group_devices (host, "root", NULL);

  g_strv_builder_add (b, g_get_user_name ());
  g_strv_builder_add (b, g_get_host_name ());
  if (accounts)
    g_strv_builder_addv (b, (const char **) accounts);
  if (devices)
    g_strv_builder_addv (b, (const char **) devices);
  for (guint i = 0; ids && i < ids->len; i++)
    {
      g_autoptr (JsonObject) device = vh_inventory_device (host, ids->pdata[i], NULL);

      g_strv_builder_add (b, ids->pdata[i]);
      if (device && vigil_json_get_string (device, "name"))
        g_strv_builder_add (b, vigil_json_get_string (device, "name"));
    }
  return g_strv_builder_end (b);
}

/* Asks twice on a terminal; once from VIGIL_PASSWORD_FD. */
static char *
ask_new_password (GError **error)
{
  g_autoptr (char) first = vh_password_read ("New password: ", error);
  g_autoptr (char) second = NULL;

  if (first == NULL)
    return NULL;
  if (g_getenv ("VIGIL_PASSWORD_FD") == NULL)
    {
      second = vh_password_read ("Repeat the password: ", error);
      if (second == NULL)
        return NULL;
      if (g_strcmp0 (first, second) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "the two passwords differ");
          return NULL;
        }
    }
  if (*first == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the password is empty");
      return NULL;
    }
  return g_steal_pointer (&first);
}

/* Reads a new password, warns about weakness, returns its hash. */
static char *
make_hash (VigilHost *host, char **accounts, char **devices, gint iterations,
           GError **error)
{
  g_autoptr (char) password = ask_new_password (error);
  g_auto (GStrv) names = NULL;
  g_auto (GStrv) advice = NULL;
  guint weakness;

  if (password == NULL)
    return NULL;
  names = weak_names (host, accounts, devices);
  weakness = vh_password_weakness (password, (const char *const *) names);
  advice = vh_password_advice (weakness);
  for (gsize i = 0; advice[i]; i++)
    fprintf (stderr, "vigil password: warning: %s\n", advice[i]);
  return vh_password_hash (password, iterations, weakness, error);
}

static int
password_usage (const char *message)
{
  fprintf (stderr, "vigil password: %s\n"
           "usage: vigil password set --policy FILE.json [--account NAME]... [--device NAME]...\n"
           "                          [--iterations N]\n"
           "       vigil password hash [--account NAME]... [--device NAME]... [--iterations N]\n"
           "       vigil password check [ACTION]\n", message);
  return 2;
}

typedef struct {
  char  *policy_path;
  GStrv  accounts;
  GStrv  devices;
  gint   iterations;
} PasswordOptions;

static int
password_check (VigilHost *host, const char *action)
{
  g_autoptr (GError) error = NULL;

  if (!vh_protect_check (host, action, &error))
    {
      fprintf (stderr, "vigil password: %s\n", error->message);
      return 1;
    }
  printf ("%s: allowed\n", action);
  return 0;
}

/* `set` writes the new hash into a policy file; `hash` prints it. */
static int
password_make (VigilHost *host, gboolean set, const PasswordOptions *o)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = NULL;
  g_autoptr (JsonObject) policy = NULL;
  JsonObject *values;

  if (set && o->policy_path == NULL)
    return password_usage ("set needs --policy FILE.json");
  if (o->iterations < 0 || (o->iterations > 0 && o->iterations < VH_PASSWORD_MIN_ITERATIONS)
      || o->iterations > VH_PASSWORD_MAX_ITERATIONS)
    return password_usage ("--iterations must be 100000 to 10000000");
  if (set && (policy = load_policy (o->policy_path, &error)) == NULL)
    goto failed;
  if ((hash = make_hash (host, o->accounts, o->devices, o->iterations, &error)) == NULL)
    goto failed;
  if (!set)
    {
      /* Asked for explicitly, for pasting into a policy by hand. */
      printf ("%s\n", hash);
      return 0;
    }
  values = policy_group_values (policy, "password_protection");
  json_object_set_boolean_member (values, "enabled", TRUE);
  json_object_set_string_member (values, "password_hash", hash);
  if (!save_policy (o->policy_path, policy, &error))
    goto failed;
  printf ("password protection set in %s (apply it with `vigil policy apply %s`)\n",
          o->policy_path, o->policy_path);
  return 0;

failed:
  fprintf (stderr, "vigil password: %s\n", error->message);
  return 2;
}

static int
password_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  VigilHost *host = vh_plugin_host (self);
  PasswordOptions o = { NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) ctx = g_option_context_new ("set|hash|check");
  g_autofree char **args = NULL;
  GOptionEntry entries[] = {
    { "policy", 0, 0, G_OPTION_ARG_FILENAME, &o.policy_path, "Policy file to write the hash into (set)", "FILE" },
    { "account", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.accounts, "An account name the password must not contain", "NAME" },
    { "device", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.devices, "A device name the password must not contain", "NAME" },
    { "iterations", 0, 0, G_OPTION_ARG_INT, &o.iterations, "PBKDF2 iterations (100000 to 10000000; default 600000)", "N" },
    { NULL }
  };
  int code;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Password protection: hash a password into a "
                                "policy, or check one as a protected action does.");
  /* Parse a copy: GOption drops the options from the array it is given,
   * and the caller still owns (and frees) the strings of argv. */
  args = g_memdup2 (argv, sizeof (char *) * (argc + 1));
  args[0] = (char *) "vigil password";   /* for --help's usage line */
  argv = args;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    code = password_usage (error->message);
  else if (argc < 2)
    code = password_usage ("missing subcommand");
  else if (g_str_equal (argv[1], "check"))
    code = password_check (host, argc > 2 ? argv[2] : "plugins.disable");
  else if (g_str_equal (argv[1], "hash") || g_str_equal (argv[1], "set"))
    code = password_make (host, g_str_equal (argv[1], "set"), &o);
  else
    code = password_usage ("unknown subcommand");
  g_free (o.policy_path);
  g_strfreev (o.accounts);
  g_strfreev (o.devices);
  return code;
}

/* ------------------------------------------------------------------ */
/* vigil exclusions                                                    */
/* ------------------------------------------------------------------ */

static int
exclusions_usage (const char *message)
{
  fprintf (stderr, "vigil exclusions: %s\n"
           "usage: vigil exclusions import FILE.xml [--policy FILE.json]\n"
           "       vigil exclusions export FILE.xml|- [--policy FILE.json | --device D]\n",
           message);
  return 2;
}

static int
exclusions_import (const char *xml_path, const char *policy_path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (JsonObject) rules = NULL;
  g_autoptr (JsonObject) policy = NULL;
  gsize len = 0;
  JsonObject *values;

  /* Regular files only, and never more than the parser takes: a FIFO
   * would hang the command and /dev/zero would never end. */
  if ((data = vigil_file_read_bounded (xml_path, VH_EXCLUSIONS_XML_MAX, &len, error)) == NULL)
    return 2;
  if ((rules = vh_exclusions_from_xml (data, len, xml_path, error)) == NULL)
    return 1;
  if (policy_path == NULL)
    {
      vigil_json_print_object (rules);
      return 0;
    }
  if ((policy = load_policy (policy_path, error)) == NULL)
    return 2;
  values = policy_group_values (policy, "telemetry_exclusions");
  json_object_set_member (values, "processes", json_object_dup_member (rules, "processes"));
  json_object_set_member (values, "networks", json_object_dup_member (rules, "networks"));
  if (!save_policy (policy_path, policy, error))
    return 2;
  printf ("%u process and %u network rules written to %s\n",
          json_array_get_length (json_object_get_array_member (rules, "processes")),
          json_array_get_length (json_object_get_array_member (rules, "networks")),
          policy_path);
  return 0;
}

static int
exclusions_export (VigilHost *host, const char *xml_path, const char *policy_path,
                   const char *device_id, GError **error)
{
  g_autoptr (JsonObject) source = NULL;
  g_autofree char *xml = NULL;
  JsonObject *group;

  if (policy_path)
    {
      if ((source = load_policy (policy_path, error)) == NULL)
        return 2;
      group = vigil_json_get_object (vigil_json_get_object (vigil_json_get_object (vigil_json_get_object (
                source, "settings"), "general"), "telemetry_exclusions"), "values");
    }
  else
    {
      if ((source = vh_general_settings (host, device_id, error)) == NULL)
        return 2;
      group = vigil_json_get_object (source, "telemetry_exclusions");
    }
  if (group == NULL)
    {
      g_autoptr (JsonObject) empty = json_object_new ();

      xml = vh_exclusions_to_xml (empty, error);
    }
  else
    xml = vh_exclusions_to_xml (group, error);
  if (xml == NULL)
    return 2;
  if (g_strcmp0 (xml_path, "-") == 0)
    fputs (xml, stdout);
  else if (!g_file_set_contents (xml_path, xml, -1, error))
    return 2;
  return 0;
}

static int
exclusions_run (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  g_autofree char *policy_path = NULL;
  g_autofree char *device_id = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) ctx = g_option_context_new ("import|export FILE.xml");
  g_autofree char **args = NULL;
  GOptionEntry entries[] = {
    { "policy", 0, 0, G_OPTION_ARG_FILENAME, &policy_path, "Policy file to write into (import) or read from (export)", "FILE" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_id, "Export the effective exclusions of this device", "ID" },
    { NULL }
  };
  int code;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Import or export the EDR telemetry exclusion list as XML.");
  args = g_memdup2 (argv, sizeof (char *) * (argc + 1));
  args[0] = (char *) "vigil exclusions";
  argv = args;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return exclusions_usage (error->message);
  if (argc != 3)
    return exclusions_usage ("expected import|export and one file");
  if (g_str_equal (argv[1], "import"))
    code = exclusions_import (argv[2], policy_path, &error);
  else if (g_str_equal (argv[1], "export"))
    code = exclusions_export (vh_plugin_host (self), argv[2], policy_path, device_id, &error);
  else
    return exclusions_usage ("unknown subcommand");
  if (error)
    fprintf (stderr, "vigil exclusions: %s\n", error->message);
  return code;
}

static const VigilCommand password_command = {
  .name = "password",
  .summary = "Password protection: set, hash or check the password",
  .run = password_run,
};

static const VigilCommand exclusions_command = {
  .name = "exclusions",
  .summary = "Import or export EDR telemetry exclusions as XML",
  .run = exclusions_run,
};

gboolean
vh_general_register_commands (VigilPlugin *self, const VigilHostApi *api,
                              GError **error)
{
  return api->register_command (self, &password_command, sizeof password_command, error)
         && api->register_command (self, &exclusions_command, sizeof exclusions_command, error);
}
