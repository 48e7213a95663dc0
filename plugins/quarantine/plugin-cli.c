/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vigil quarantine list|show|add|restore|delete`, registered through the
 * host API. With --device D each subcommand works on that device's store
 * (list reads object headers only); `list` without --device prints the
 * console's common list (the inventory sent by devices with sync on).
 * Exit codes: 0 success, 1 problems found (damaged objects, a failed
 * verification), 2 usage or runtime error.
 */
#include "qplugin.h"

#include <vigil/util/text.h>
#include <stdio.h>

typedef struct {
  char    *device;
  char    *detection;
  char    *reason;
  char    *to;
  gboolean keep;
  gboolean verify;
  gboolean json;
  GStrv    rest;
} Args;

static const char usage[] =
  "list [--device D] | show ID --device D [--verify] | add PATH --device D "
  "[--detection NAME] [--reason TEXT] [--keep] | restore ID --device D "
  "[--to original|restore_folder] | delete ID --device D | key --device D";

static const char summary[] =
  "Subcommands:\n"
  "  list [--device D]             objects of device D (headers only), or the\n"
  "                                console's common list without --device\n"
  "  show ID --device D [--verify] metadata; --verify authenticates every chunk\n"
  "  add PATH --device D [--detection NAME] [--reason TEXT] [--keep]\n"
  "  restore ID --device D [--to original|restore_folder]\n"
  "  delete ID --device D\n"
  "  key --device D                where the store key is, and its fingerprint\n"
  "Exit codes: 0 success, 1 problems found, 2 usage or runtime error.";

static void
args_clear (Args *a)
{
  g_free (a->device);
  g_free (a->detection);
  g_free (a->reason);
  g_free (a->to);
  g_strfreev (a->rest);
}

static gboolean
parse (int argc, char **argv, Args *a, int *code)
{
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &a->device, "Device id", "D" },
    { "detection", 0, 0, G_OPTION_ARG_STRING, &a->detection, "add: detection name", "NAME" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &a->reason, "add: reason", "TEXT" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &a->keep, "add: keep the original", NULL },
    { "to", 0, 0, G_OPTION_ARG_STRING, &a->to, "restore: original (default) or restore_folder", "WHERE" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &a->verify, "show: authenticate every chunk", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &a->rest, NULL, "SUBCOMMAND [ARG]" },
    { NULL }
  };
  g_auto (GStrv) copy = g_new0 (char *, argc + 1);

  for (int i = 0; i < argc; i++)
    copy[i] = g_strdup (argv[i]);
  return vigil_command_parse ("quarantine", summary, entries, &a->json, &copy, code);
}

static const char *
str (JsonObject *o, const char *key)
{
  const char *s = vigil_json_get_string (o, key);

  return s != NULL ? s : "-";
}

/* The common list: every device's objects as last reported to the console. */
/* The DETECTION column as wide as its longest name (within reason), so a
 * long sandbox verdict does not push the paths out of line. */
static int
detection_width (JsonArray *rows)
{
  gsize width = strlen ("DETECTION");

  for (guint i = 0; i < json_array_get_length (rows); i++)
    width = MAX (width, vigil_text_width (str (json_array_get_object_element (rows, i), "detection")));
  return (int) MIN (width, 64);
}

static int
cmd_list_console (Args *a)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) inv = qp_api->store_list (qp_self, QP_INVENTORY, &error);
  g_autoptr (JsonArray) out = json_array_new ();
  int w;

  if (inv == NULL)
    return vigil_command_fail ("quarantine list", "%s (console inventory)", error->message);
  for (GList *l = json_object_get_members (inv); l != NULL; l = g_list_delete_link (l, l))
    {
      JsonNode *n = json_object_get_member (inv, l->data);
      if (JSON_NODE_HOLDS_OBJECT (n))
        json_array_add_object_element (out, json_object_ref (json_node_get_object (n)));
    }
  if (a->json)
    {
      vigil_json_print_array (out);
      return VIGIL_EXIT_OK;
    }
  w = detection_width (out);
  vigil_print ("%-16s  %-32s  %12s  %-*s  %s\n", "DEVICE", "ID", "SIZE", w, "DETECTION", "PATH");
  for (guint i = 0; i < json_array_get_length (out); i++)
    {
      JsonObject *e = json_array_get_object_element (out, i);
      vigil_print ("%-16s  %-32s  %12" G_GINT64_FORMAT "  %-*s  %s\n", str (e, "device"),
              str (e, "id"), json_object_get_int_member_with_default (e, "size", 0),
              w, str (e, "detection"), str (e, "path"));
    }
  return VIGIL_EXIT_OK;
}

static int
cmd_list (Args *a)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QpDevice) d = NULL;
  g_autoptr (JsonArray) list = NULL;
  int rc = VIGIL_EXIT_OK, w;

  if (a->device == NULL)
    return cmd_list_console (a);
  d = qp_device_open (a->device, NULL, &error);
  if (d == NULL || (list = qstore_list (d->store, &error)) == NULL)
    return vigil_command_fail ("quarantine list", "%s (device %s)", error->message, a->device);
  for (guint i = 0; i < json_array_get_length (list); i++)
    if (json_object_has_member (json_array_get_object_element (list, i), "damaged"))
      rc = VIGIL_EXIT_PROBLEMS;
  if (a->json)
    {
      vigil_json_print_array (list);
      return rc;
    }
  w = detection_width (list);
  vigil_print ("%-32s  %12s  %-20s  %-*s  %s\n", "ID", "SIZE", "QUARANTINED", w, "DETECTION", "PATH");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      if (json_object_has_member (e, "damaged"))
        vigil_print ("%-32s  damaged: %s\n", str (e, "id"), str (e, "damaged"));
      else
        vigil_print ("%-32s  %12" G_GINT64_FORMAT "  %-20s  %-*s  %s\n", str (e, "id"),
                json_object_get_int_member_with_default (e, "size", 0),
                str (e, "quarantined_at"), w, str (e, "detection"), str (e, "path"));
    }
  return rc;
}

static void
print_object (JsonObject *o, gboolean json)
{
  if (json)
    {
      vigil_json_print_object (o);
      return;
    }
  for (GList *l = json_object_get_members (o); l != NULL; l = g_list_delete_link (l, l))
    {
      JsonNode *n = json_object_get_member (o, l->data);
      g_autofree char *text = NULL;
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        text = g_strdup (json_node_get_string (n));
      else
        text = json_to_string (n, FALSE);
      vigil_print ("%-18s %s\n", (const char *) l->data, text);
    }
}

static int
cmd_show (Args *a, QpDevice *d, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) meta = qstore_show (d->store, id, &error);

  if (meta == NULL)
    {
      /* A damaged object is a problem found (1), not a usage error (2). */
      gboolean damaged = error->domain == Q_ERROR
                         && error->code != Q_ERROR_NOT_FOUND && error->code != Q_ERROR_IO;
      vigil_command_fail ("quarantine show", "%s (device %s)", error->message, d->device_id);
      return damaged ? VIGIL_EXIT_PROBLEMS : VIGIL_EXIT_USAGE;
    }
  if (a->verify)
    {
      gboolean ok = qstore_verify (d->store, id, NULL, &error);
      json_object_set_string_member (meta, "verified", ok ? "yes" : error->message);
      print_object (meta, a->json);
      return ok ? VIGIL_EXIT_OK : VIGIL_EXIT_PROBLEMS;
    }
  print_object (meta, a->json);
  return VIGIL_EXIT_OK;
}

static int
cmd_add (Args *a, QpDevice *d, const char *path)
{
  g_autoptr (GError) error = NULL;
  QpOrigin origin = { .user = g_get_user_name () };
  g_autoptr (JsonObject) out = qp_op_put (d, path, a->detection, a->reason,
                                          !a->keep, &origin, NULL, NULL, &error);

  if (out == NULL)
    return vigil_command_fail ("quarantine add", "%s", error->message);
  if (a->json)
    vigil_json_print_object (out);
  else
    vigil_print ("quarantined %s as %s%s\n", path, str (out, "id"),
            json_object_get_boolean_member (out, "original_deleted")
            ? " (original deleted)" : " (original kept)");
  return VIGIL_EXIT_OK;
}

static int
cmd_restore (Args *a, QpDevice *d, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = NULL;

  if (a->to != NULL && g_strcmp0 (a->to, "original") != 0
      && g_strcmp0 (a->to, "restore_folder") != 0)
    return vigil_command_fail ("quarantine restore", "--to must be original or restore_folder, not '%s'", a->to);
  /* Restoring is a password-protected action (the host's `general`
   * section); the check fails closed. */
  if (!qp_api->protect_check (qp_self, "quarantine.restore", &error))
    return vigil_command_fail ("quarantine restore", "%s", error->message);
  out = qp_op_restore (d, id, g_strcmp0 (a->to, "restore_folder") == 0, NULL, &error);
  if (out == NULL)
    return vigil_command_fail ("quarantine restore", "%s", error->message);
  if (a->json)
    vigil_json_print_object (out);
  else
    vigil_print ("restored %s to %s\n", id, str (out, "restored_to"));
  return VIGIL_EXIT_OK;
}

static int
cmd_delete (Args *a, QpDevice *d, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) out = qp_op_delete (d, id, &error);

  if (out == NULL)
    return vigil_command_fail ("quarantine delete", "%s", error->message);
  if (a->json)
    vigil_json_print_object (out);
  else
    vigil_print ("deleted %s\n", id);
  return VIGIL_EXIT_OK;
}

/* Where the store key is and its public fingerprint (never the key), so an
 * admin can back it up and check a backup against it. */
static int
cmd_key (Args *a)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (QpDevice) d = NULL;
  g_autoptr (JsonObject) out = json_object_new ();
  g_autofree char *path = NULL;
  char id[2 * Q_KEY_ID_LEN + 1];

  if (a->device == NULL)
    return vigil_command_fail ("quarantine key", "--device D is required");
  d = qp_device_open (a->device, NULL, &error);
  if (d == NULL)
    return vigil_command_fail ("quarantine key", "%s", error->message);
  path = g_build_filename (d->store_dir, "store.key", NULL);
  q_hex (qstore_key (d->store)->id, Q_KEY_ID_LEN, id);
  json_object_set_string_member (out, "device", d->device_id);
  json_object_set_string_member (out, "key_file", path);
  json_object_set_string_member (out, "fingerprint", id);
  if (a->json)
    vigil_json_print_object (out);
  else
    vigil_print ("store key of device %s: %s\nfingerprint: %s\n", d->device_id, path, id);
  return VIGIL_EXIT_OK;
}

static int
dispatch (Args *a)
{
  const char *sub = a->rest != NULL ? a->rest[0] : NULL;
  const char *arg;
  g_autoptr (GError) error = NULL;
  g_autoptr (QpDevice) d = NULL;
  g_autofree char *cmd = g_strconcat ("quarantine ", sub, NULL);

  if (sub == NULL)
    return vigil_command_fail ("quarantine", "no subcommand; usage: vigil quarantine %s", usage);
  if (g_str_equal (sub, "list") || g_str_equal (sub, "key"))
    {
      if (a->rest[1] != NULL)
        return vigil_command_fail (cmd, "unexpected argument '%s'", a->rest[1]);
      return g_str_equal (sub, "list") ? cmd_list (a) : cmd_key (a);
    }
  if (!g_str_equal (sub, "show") && !g_str_equal (sub, "add")
      && !g_str_equal (sub, "restore") && !g_str_equal (sub, "delete"))
    return vigil_command_fail ("quarantine", "unknown subcommand '%s'; usage: vigil quarantine %s", sub, usage);
  arg = a->rest[1];
  if (arg == NULL || a->rest[2] != NULL)
    return vigil_command_fail (cmd, "expects exactly one %s", g_str_equal (sub, "add") ? "PATH" : "ID");
  if (a->device == NULL)
    return vigil_command_fail (cmd, "--device D is required");
  d = qp_device_open (a->device, NULL, &error);
  if (d == NULL)
    return vigil_command_fail (cmd, "%s", error->message);
  if (g_str_equal (sub, "show"))
    return cmd_show (a, d, arg);
  if (g_str_equal (sub, "add"))
    return cmd_add (a, d, arg);
  if (g_str_equal (sub, "restore"))
    return cmd_restore (a, d, arg);
  return cmd_delete (a, d, arg);
}

static int
run_command (VigilPlugin *self, int argc, char **argv, gpointer user_data)
{
  Args a = { 0 };
  int rc;

  if (parse (argc, argv, &a, &rc))
    rc = dispatch (&a);
  args_clear (&a);
  return rc;
}

static const VigilCommand command = {
  .name = "quarantine",
  .summary = "List, show, add, restore and delete quarantined objects",
  .run = run_command,
  .flags = VIGIL_COMMAND_JSON,
};

gboolean
qp_command_register (GError **error)
{
  return qp_api->register_command (qp_self, &command, sizeof command, error);
}
