/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inventory rules and the plugin document store on a real host: the root
 * group is always there, ids are checked, the tree cannot get a cycle,
 * non-empty groups stay, devices report their group path, group device
 * lists cover subgroups, this machine's device is recorded (and migrated
 * from older stores), and documents are namespaced by plugin.
 */
#include "data-test.h"

#include <math.h>

static void
test_root_always_present (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) groups = vh_inventory_groups (fx->host, &error);
  JsonObject *root = json_array_get_object_element (groups, 0);

  g_assert_cmpuint (json_array_get_length (groups), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (root, "id"), ==, "root");
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, "Managed devices");
  g_assert_false (vh_inventory_group_remove (fx->host, "root", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
}

static void
test_invalid_and_duplicate_ids (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (vh_inventory_group_add (fx->host, "a/b", NULL, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_false (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE);
  g_clear_error (&error);
  g_assert_false (vh_inventory_group_add (fx->host, "x", NULL, "ghost", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Plugins name folders after device ids: "." and ".." would escape. */
  g_assert_false (vh_inventory_device_add (fx->host, ".", NULL, "lab", NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vh_inventory_device_add (fx->host, "..", NULL, "lab", NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vh_inventory_group_add (fx->host, "..", NULL, NULL, &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (vh_inventory_device_add (fx->host, "..a", NULL, "lab", NULL, &error));
  g_assert_no_error (error);
}

static void
test_move_under_descendant_refused (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (vh_inventory_group_add (fx->host, "a", NULL, NULL, &error));
  g_assert_true (vh_inventory_group_add (fx->host, "b", NULL, "a", &error));
  g_assert_true (vh_inventory_group_add (fx->host, "c", NULL, "b", &error));
  g_assert_false (vh_inventory_group_move (fx->host, "a", "c", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'c' is inside 'a'"));
  g_clear_error (&error);
  g_assert_false (vh_inventory_group_move (fx->host, "a", "a", &error));
  g_clear_error (&error);
  g_assert_true (vh_inventory_group_move (fx->host, "c", "a", &error));
  g_assert_no_error (error);
}

static void
test_remove_non_empty_refused (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "pc1", NULL, "lab", NULL, &error));
  g_assert_false (vh_inventory_group_remove (fx->host, "lab", &error));
  g_assert_nonnull (strstr (error->message, "1 devices"));
  g_clear_error (&error);
  g_assert_true (vh_inventory_device_remove (fx->host, "pc1", &error));
  t_apply (fx->host, "{\"name\":\"P\",\"group\":\"lab\"}");
  g_assert_false (vh_inventory_group_remove (fx->host, "lab", &error));
  g_assert_nonnull (strstr (error->message, "1 policies"));
  g_clear_error (&error);
  g_assert_true (vh_policy_remove (fx->host, "P", &error));
  g_assert_true (vh_inventory_group_remove (fx->host, "lab", &error));
  g_assert_false (vh_inventory_group_exists (fx->host, "lab"));
}

static void
test_device_object (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) d = NULL;

  g_assert_true (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "pc1", "PC one", "lab", "/srv/lab/pc1", &error));
  d = vh_inventory_device (fx->host, "pc1", &error);
  g_assert_cmpstr (json_object_get_string_member (d, "name"), ==, "PC one");
  g_assert_cmpstr (json_object_get_string_member (d, "group"), ==, "lab");
  g_assert_cmpstr (json_object_get_string_member (d, "group_path"), ==, "root/lab");
  g_assert_cmpstr (json_object_get_string_member (d, "root"), ==, "/srv/lab/pc1");
  g_assert_false (json_object_get_boolean_member (d, "out_of_office"));
  g_assert_false (vh_inventory_device_add (fx->host, "pc2", NULL, "lab", "relative", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
}

static void
test_group_devices_cover_subgroups (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = NULL;

  g_assert_true (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_true (vh_inventory_group_add (fx->host, "lab-a", NULL, "lab", &error));
  g_assert_true (vh_inventory_group_add (fx->host, "office", NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "z1", NULL, "lab-a", NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "a1", NULL, "lab", NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "o1", NULL, "office", NULL, &error));
  ids = vh_inventory_group_devices (fx->host, "lab", &error);
  g_assert_cmpuint (ids->len, ==, 2);
  g_assert_cmpstr (ids->pdata[0], ==, "a1");
  g_assert_cmpstr (ids->pdata[1], ==, "z1");
  g_clear_pointer (&ids, g_ptr_array_unref);
  ids = vh_inventory_group_devices (fx->host, "root", &error);
  g_assert_cmpuint (ids->len, ==, 3);
  g_clear_pointer (&ids, g_ptr_array_unref);
  ids = vh_inventory_group_devices (fx->host, "ghost", &error);
  g_assert_null (ids);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

static void
test_device_move_and_remove (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) d = NULL;

  g_assert_true (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "pc1", NULL, NULL, NULL, &error));
  g_assert_true (vh_inventory_device_move (fx->host, "pc1", "lab", &error));
  d = vh_inventory_device (fx->host, "pc1", &error);
  g_assert_cmpstr (json_object_get_string_member (d, "group"), ==, "lab");
  g_assert_false (vh_inventory_device_move (fx->host, "pc1", "ghost", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (vh_inventory_device_remove (fx->host, "pc1", &error));
  g_clear_pointer (&d, json_object_unref);
  d = vh_inventory_device (fx->host, "pc1", &error);
  g_assert_null (d);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
}

/* A plugin's document is trusted no more than any input (issue #14): one
 * that would not read back (json-glib writes NaN as "nan.0", invalid UTF-8
 * raw) is refused when stored, not lost when read. */
static void
test_docs_unreadable_refused (HostFixture *fx, gconstpointer data)
{
  g_autoptr (JsonObject) nan_doc = json_object_new ();
  g_autoptr (JsonObject) utf8_doc = json_object_new ();
  g_autoptr (JsonNode) n1 = NULL;
  g_autoptr (JsonNode) n2 = NULL;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;

  json_object_set_double_member (nan_doc, "score", NAN);
  json_object_set_string_member (utf8_doc, "name", "bad \xff byte");
  n1 = json_node_init_object (json_node_alloc (), nan_doc);
  n2 = json_node_init_object (json_node_alloc (), utf8_doc);
  g_assert_false (vh_docs_put (fx->host, "kata", "items", "nan", n1, &e1));
  g_assert_error (e1, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (e1->message, "kata/items/nan would not read back as JSON"));
  g_assert_false (vh_docs_put (fx->host, "kata", "items", "utf8", n2, &e2));
  g_assert_nonnull (strstr (e2->message, "not valid UTF-8 (at $.name)"));
  g_assert_null (vh_docs_get (fx->host, "kata", "items", "nan", NULL));
}

static void
test_docs_namespaced (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = json_from_string ("{\"n\":1}", NULL);
  g_autoptr (JsonNode) doc2 = json_from_string ("[2]", NULL);
  g_autoptr (JsonNode) got = NULL;
  g_autoptr (JsonObject) list = NULL;

  g_assert_true (vh_docs_put (fx->host, "quarantine", "items", "b", doc, &error));
  g_assert_true (vh_docs_put (fx->host, "quarantine", "items", "a", doc2, &error));
  g_assert_true (vh_docs_put (fx->host, "kata", "items", "a", doc, &error));
  got = vh_docs_get (fx->host, "quarantine", "items", "a", &error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (got));
  list = vh_docs_list (fx->host, "quarantine", "items", &error);
  g_assert_cmpuint (json_object_get_size (list), ==, 2);
  g_assert_true (vh_docs_delete (fx->host, "quarantine", "items", "a", &error));
  g_clear_pointer (&got, json_node_unref);
  got = vh_docs_get (fx->host, "quarantine", "items", "a", &error);
  g_assert_null (got);
  g_assert_no_error (error);
  g_clear_pointer (&got, json_node_unref);
  got = vh_docs_get (fx->host, "kata", "items", "a", &error);
  g_assert_nonnull (got);
}

static void
test_survives_reopen (HostFixture *fx, gconstpointer data)
{
  VigilHostOptions options = { sizeof options };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) d = NULL;

  g_assert_true (vh_inventory_group_add (fx->host, "lab", NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "pc1", NULL, "lab", NULL, &error));
  vigil_host_free (fx->host);
  options.state_dir = fx->dir;
  options.skip_install_dir = TRUE;
  fx->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  d = vh_inventory_device (fx->host, "pc1", &error);
  g_assert_cmpstr (json_object_get_string_member (d, "group_path"), ==, "root/lab");
}

/* This machine's device is recorded, and only set_machine records it:
 * adding devices without a root folder, whatever their ids, does not. */
static void
test_machine_recorded (HostFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) b = NULL;
  g_autoptr (JsonObject) a = NULL;
  g_autofree char *machine = NULL;

  g_assert_true (vh_inventory_device_add (fx->host, "b", NULL, NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "a", NULL, NULL, NULL, &error));
  g_assert_null (vh_inventory_machine (fx->host, &error));
  g_assert_no_error (error);
  g_assert_true (vh_inventory_set_machine (fx->host, "b", &error));
  g_assert_true (vh_inventory_device_add (fx->host, "0", NULL, NULL, NULL, &error));
  machine = vh_inventory_machine (fx->host, &error);
  g_assert_cmpstr (machine, ==, "b");
  b = vh_inventory_device (fx->host, "b", &error);
  a = vh_inventory_device (fx->host, "a", &error);
  g_assert_true (json_object_get_boolean_member (b, "this_machine"));
  g_assert_false (json_object_get_boolean_member (a, "this_machine"));
  g_assert_false (vh_inventory_set_machine (fx->host, "ghost", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* Removing it leaves the machine without one. */
  g_assert_true (vh_inventory_device_remove (fx->host, "b", &error));
  g_assert_null (vh_inventory_machine (fx->host, &error));
  g_assert_no_error (error);
}

/* A store of an older Vigil keeps the device that was the machine then:
 * the first device by id without a root folder, recorded once. */
static void
test_machine_migrated_from_old_store (HostFixture *fx, gconstpointer data)
{
  VigilHostOptions options = { sizeof options };
  g_autoptr (GError) error = NULL;
  g_autofree char *machine = NULL;
  sqlite3 *db;

  g_assert_true (vh_inventory_device_add (fx->host, "z", NULL, NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "m", NULL, NULL, NULL, &error));
  g_assert_true (vh_inventory_device_add (fx->host, "0lab", NULL, NULL, "/srv/lab", &error));
  db = vh_store_lock (vh_context (fx->host)->store);
  g_assert_cmpint (sqlite3_exec (db, "DROP TABLE machine; UPDATE schema_versions"
                                 " SET version = 1 WHERE module = 'inventory'",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  vh_store_unlock (vh_context (fx->host)->store);
  vigil_host_free (fx->host);
  options.state_dir = fx->dir;
  options.skip_install_dir = TRUE;
  fx->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  machine = vh_inventory_machine (fx->host, &error);
  g_assert_cmpstr (machine, ==, "m");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, HostFixture, NULL, host_setup, fn, host_teardown)
  ADD ("/inventory/root-always-present", test_root_always_present);
  ADD ("/inventory/invalid-and-duplicate-ids", test_invalid_and_duplicate_ids);
  ADD ("/inventory/move-under-descendant-refused", test_move_under_descendant_refused);
  ADD ("/inventory/remove-non-empty-refused", test_remove_non_empty_refused);
  ADD ("/inventory/device-object", test_device_object);
  ADD ("/inventory/group-devices-cover-subgroups", test_group_devices_cover_subgroups);
  ADD ("/inventory/device-move-and-remove", test_device_move_and_remove);
  ADD ("/inventory/survives-reopen", test_survives_reopen);
  ADD ("/inventory/machine-recorded", test_machine_recorded);
  ADD ("/inventory/machine-migrated-from-old-store", test_machine_migrated_from_old_store);
  ADD ("/docs/namespaced", test_docs_namespaced);
  ADD ("/docs/unreadable-refused", test_docs_unreadable_refused);
#undef ADD
  return g_test_run ();
}
