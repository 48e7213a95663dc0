/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device inventory: admin groups as a tree under the root group "root"
 * ("Managed devices"), and devices with a name, a group, an optional root
 * folder (where the embedded executor finds the device's files), an
 * out-of-office flag and local settings. The tree rules live here: the root
 * cannot move or go, a group cannot move under its own descendant, and a
 * group that still holds subgroups, devices or policies cannot be removed.
 * One device is recorded as this machine, the one whose settings protect
 * and describe the machine `vigil` runs on (password protection, trace
 * files). It is only ever set explicitly (vh_inventory_set_machine), never
 * inferred from ids or roots, except once, by the migration that made the
 * record, for stores of older versions. Every change is made inside the change guard
 * (registry/guard.c): one that weakens this machine's password protection
 * is committed only with the current password; and every change is
 * recorded as a host.inventory_changed audit event in the same transaction.
 */
#include "inventory.h"

#include <string.h>

static const VhMigration inventory_migrations[] = {
  { 1,
    "CREATE TABLE groups ("
    "  id     TEXT PRIMARY KEY,"
    "  name   TEXT NOT NULL,"
    "  parent TEXT REFERENCES groups (id));"
    "INSERT INTO groups (id, name, parent) VALUES ('root', 'Managed devices', NULL);"
    "CREATE TABLE devices ("
    "  id             TEXT PRIMARY KEY,"
    "  name           TEXT NOT NULL,"
    "  group_id       TEXT NOT NULL REFERENCES groups (id),"
    "  root           TEXT,"
    "  out_of_office  INTEGER NOT NULL DEFAULT 0,"
    "  local_settings TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX devices_by_group ON devices (group_id);" },
  /* The machine's device, recorded. Until now it was the first device by
   * id without a root folder: keep that one for existing stores, once. */
  { 2,
    "CREATE TABLE machine ("
    "  one       INTEGER PRIMARY KEY CHECK (one = 1),"
    "  device_id TEXT NOT NULL REFERENCES devices (id));"
    "INSERT INTO machine (one, device_id)"
    "  SELECT 1, id FROM devices WHERE root IS NULL ORDER BY id LIMIT 1;" },
};

gboolean
vh_inventory_init (VigilHost *host, GError **error)
{
  return vh_store_migrate (vh_context (host)->store, "inventory", inventory_migrations,
                           G_N_ELEMENTS (inventory_migrations), error);
}

gboolean
vh_inventory_id_valid (const char *id)
{
  if (id == NULL || *id == '\0' || strlen (id) > 128)
    return FALSE;
  /* Plugins name folders after device ids (a rootless device's quarantine
   * store): "." and ".." would put them outside the device's folder. */
  if (strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
check_id (const char *what, const char *id, GError **error)
{
  if (vh_inventory_id_valid (id))
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "invalid %s id '%s': use letters, digits, '.', '_' and '-' "
               "(at most 128; not '.' or '..')", what, id ? id : "");
  return FALSE;
}

/* ---- small statement helpers ------------------------------------------ */

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "inventory", error);
      return NULL;
    }
  return stmt;
}

/* Runs a one-row-or-none statement with up to three text parameters and
 * returns the first column as an integer (0 when no row). */
static gint64
scalar (sqlite3 *db, const char *sql, const char *a, const char *b, GError **error)
{
  sqlite3_stmt *stmt = prepare (db, sql, error);
  gint64 v = 0;
  int rc;

  if (stmt == NULL)
    return -1;
  if (a)
    sqlite3_bind_text (stmt, 1, a, -1, SQLITE_TRANSIENT);
  if (b)
    sqlite3_bind_text (stmt, 2, b, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    v = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    {
      vh_store_set_error (db, "inventory", error);
      v = -1;
    }
  sqlite3_finalize (stmt);
  return v;
}

/* Runs one statement with text parameters (NULL binds NULL). */
static gboolean
step_row (sqlite3 *db, const char *sql, const char *const *params, guint n,
          GError **error)
{
  sqlite3_stmt *stmt = prepare (db, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    sqlite3_bind_text (stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      vh_store_set_error (db, "cannot change the inventory", error);
      return FALSE;
    }
  return TRUE;
}

/* One statement of a change and its text parameters. */
typedef struct {
  const char        *sql;
  const char *const *params;
  guint              n;
} Step;

/* One inventory change: its statements, in one durable transaction,
 * inside the change guard, with its audit event. @change is what the
 * password prompt and the errors say ("removing device 'pc1'"); @audit the
 * event's payload (transfer full). The store is locked by the caller. */
static gboolean
guarded_write (VigilHost *host, sqlite3 *db, const Step *steps, guint n_steps,
               const char *change, const char *device_id, JsonObject *audit,
               GError **error)
{
  g_autoptr (JsonObject) payload = audit;
  VhGuard *guard = NULL;
  gboolean ok = vh_store_begin (db, TRUE, error);

  if (ok)
    ok = (guard = vh_guard_begin (host, error)) != NULL;
  for (guint i = 0; ok && i < n_steps; i++)
    ok = step_row (db, steps[i].sql, steps[i].params, steps[i].n, error);
  ok = ok && vh_guard_check (guard, change, error)
       && vh_audit (host, "host.inventory_changed", device_id,
                    g_steal_pointer (&payload), error)
       && vh_store_commit (db, TRUE, error);
  if (!ok)
    vh_store_rollback (db, TRUE);
  vh_guard_finish (guard);
  return ok;
}

/* The payload of a host.inventory_changed event. (transfer full) */
static JsonObject *
audit_payload (const char *change, const char *kind, const char *id)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "change", change);
  json_object_set_string_member (o, kind, id);
  return o;
}

static JsonObject *
audit_with (JsonObject *o, const char *key, const char *value)
{
  if (value)
    json_object_set_string_member (o, key, value);
  else
    json_object_set_null_member (o, key);
  return o;
}

static gboolean
not_found (const char *what, const char *id, GError **error)
{
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
               "%s '%s' does not exist", what, id);
  return FALSE;
}

static gint64
group_exists_db (sqlite3 *db, const char *id, GError **error)
{
  return scalar (db, "SELECT count(*) FROM groups WHERE id = ?", id, NULL, error);
}

static gint64
device_exists_db (sqlite3 *db, const char *id, GError **error)
{
  return scalar (db, "SELECT count(*) FROM devices WHERE id = ?", id, NULL, error);
}

/* ---- groups ---------------------------------------------------------- */

gboolean
vh_inventory_group_exists (VigilHost *host, const char *group_id)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean found = group_exists_db (db, group_id, NULL) > 0;

  vh_store_unlock (vh_context (host)->store);
  return found;
}

gboolean
vh_inventory_group_add (VigilHost *host, const char *id, const char *name,
                        const char *parent, GError **error)
{
  const char *params[3] = { id, name ? name : id, parent ? parent : "root" };
  sqlite3 *db;
  gboolean ok = FALSE;

  if (!check_id ("group", id, error))
    return FALSE;
  db = vh_store_lock (vh_context (host)->store);
  if (group_exists_db (db, id, error) != 0)
    {
      if (error && *error == NULL)
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE,
                     "group '%s' already exists", id);
    }
  else if (group_exists_db (db, params[2], error) == 0)
    not_found ("parent group", params[2], error);
  else
    {
      const Step step = { "INSERT INTO groups (id, name, parent) VALUES (?, ?, ?)", params, 3 };
      g_autofree char *change = g_strdup_printf ("adding group '%s'", id);

      ok = guarded_write (host, db, &step, 1, change, NULL,
                          audit_with (audit_payload ("group_added", "group", id),
                                      "parent", params[2]), error);
    }
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

/* The chain of group ids from @group_id up to the root, walked with a
 * bound so that a damaged table with a cycle cannot hang the host. */
static GPtrArray *
chain_up (sqlite3 *db, const char *group_id, GError **error)
{
  g_autoptr (GPtrArray) chain = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cur = g_strdup (group_id);
  sqlite3_stmt *stmt = prepare (db, "SELECT parent FROM groups WHERE id = ?", error);

  if (stmt == NULL)
    return NULL;
  while (cur != NULL && chain->len < 1000)
    {
      int rc;

      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, cur, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_ROW)
        {
          sqlite3_finalize (stmt);
          if (rc == SQLITE_DONE)
            not_found ("group", cur, error);
          else
            vh_store_set_error (db, "inventory", error);
          return NULL;
        }
      g_ptr_array_add (chain, g_steal_pointer (&cur));
      cur = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    }
  sqlite3_finalize (stmt);
  return g_steal_pointer (&chain);
}

GPtrArray *
vh_inventory_group_chain (VigilHost *host, const char *group_id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  GPtrArray *up = chain_up (db, group_id, error);
  GPtrArray *down = NULL;

  vh_store_unlock (vh_context (host)->store);
  if (up == NULL)
    return NULL;
  down = g_ptr_array_new_with_free_func (g_free);
  for (guint i = up->len; i > 0; i--)
    g_ptr_array_add (down, g_strdup (up->pdata[i - 1]));
  g_ptr_array_unref (up);
  return down;
}

static gboolean
check_move (sqlite3 *db, const char *id, const char *parent, GError **error)
{
  g_autoptr (GPtrArray) up = NULL;

  if (strcmp (id, "root") == 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "the root group cannot be moved");
      return FALSE;
    }
  if (group_exists_db (db, id, error) == 0)
    return not_found ("group", id, error);
  up = chain_up (db, parent, error);
  if (up == NULL)
    return FALSE;
  for (guint i = 0; i < up->len; i++)
    if (strcmp (up->pdata[i], id) == 0)
      {
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                     "cannot move group '%s' under '%s': '%s' is inside '%s' "
                     "(the tree would have a cycle)", id, parent, parent, id);
        return FALSE;
      }
  return TRUE;
}

gboolean
vh_inventory_group_move (VigilHost *host, const char *id, const char *parent,
                         GError **error)
{
  const char *params[2] = { parent, id };
  const Step step = { "UPDATE groups SET parent = ? WHERE id = ?", params, 2 };
  g_autofree char *change = g_strdup_printf ("moving group '%s' under '%s'", id, parent);
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean ok = check_move (db, id, parent, error) &&
                guarded_write (host, db, &step, 1, change, NULL,
                               audit_with (audit_payload ("group_moved", "group", id),
                                           "parent", parent), error);

  vh_store_unlock (vh_context (host)->store);
  return ok;
}

static gboolean
check_empty (sqlite3 *db, const char *id, GError **error)
{
  gint64 groups = scalar (db, "SELECT count(*) FROM groups WHERE parent = ?", id, NULL, error);
  gint64 devices = scalar (db, "SELECT count(*) FROM devices WHERE group_id = ?", id, NULL, error);
  gint64 policies = scalar (db, "SELECT count(*) FROM policies WHERE group_id = ?", id, NULL, error);

  if (groups < 0 || devices < 0 || policies < 0)
    return FALSE;
  if (groups + devices + policies == 0)
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "group '%s' is not empty (%" G_GINT64_FORMAT " subgroups, %"
               G_GINT64_FORMAT " devices, %" G_GINT64_FORMAT " policies): "
               "move or remove them first", id, groups, devices, policies);
  return FALSE;
}

gboolean
vh_inventory_group_remove (VigilHost *host, const char *id, GError **error)
{
  sqlite3 *db;
  gboolean ok = FALSE;

  if (g_strcmp0 (id, "root") == 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "the root group cannot be removed");
      return FALSE;
    }
  db = vh_store_lock (vh_context (host)->store);
  if (group_exists_db (db, id, error) == 0)
    not_found ("group", id, error);
  else if (check_empty (db, id, error))
    {
      const Step step = { "DELETE FROM groups WHERE id = ?", &id, 1 };
      g_autofree char *change = g_strdup_printf ("removing group '%s'", id);

      ok = guarded_write (host, db, &step, 1, change, NULL,
                          audit_payload ("group_removed", "group", id), error);
    }
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

JsonArray *
vh_inventory_groups (VigilHost *host, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, "SELECT id, name, parent FROM groups ORDER BY id", error);
  JsonArray *out = NULL;

  if (stmt != NULL)
    {
      out = json_array_new ();
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          JsonObject *o = json_object_new ();
          json_object_set_string_member (o, "id", (const char *) sqlite3_column_text (stmt, 0));
          json_object_set_string_member (o, "name", (const char *) sqlite3_column_text (stmt, 1));
          if (sqlite3_column_type (stmt, 2) == SQLITE_NULL)
            json_object_set_null_member (o, "parent");
          else
            json_object_set_string_member (o, "parent", (const char *) sqlite3_column_text (stmt, 2));
          json_array_add_object_element (out, o);
        }
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return out;
}

/* ---- devices --------------------------------------------------------- */

static JsonObject *
device_from_row (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  JsonObject *o = json_object_new ();
  const char *group = (const char *) sqlite3_column_text (stmt, 2);
  g_autoptr (GPtrArray) up = chain_up (db, group, error);
  g_autoptr (GString) path = g_string_new (NULL);

  if (up == NULL)
    {
      json_object_unref (o);
      return NULL;
    }
  for (guint i = up->len; i > 0; i--)
    g_string_append_printf (path, "%s%s", path->len ? "/" : "", (char *) up->pdata[i - 1]);
  json_object_set_string_member (o, "id", (const char *) sqlite3_column_text (stmt, 0));
  json_object_set_string_member (o, "name", (const char *) sqlite3_column_text (stmt, 1));
  json_object_set_string_member (o, "group", group);
  json_object_set_string_member (o, "group_path", path->str);
  if (sqlite3_column_type (stmt, 3) == SQLITE_NULL)
    json_object_set_null_member (o, "root");
  else
    json_object_set_string_member (o, "root", (const char *) sqlite3_column_text (stmt, 3));
  json_object_set_boolean_member (o, "out_of_office", sqlite3_column_int (stmt, 4) != 0);
  json_object_set_boolean_member (o, "this_machine", sqlite3_column_int (stmt, 5) != 0);
  return o;
}

#define DEVICE_COLUMNS "SELECT id, name, group_id, root, out_of_office," \
  " id IN (SELECT device_id FROM machine) FROM devices"

JsonObject *
vh_inventory_device (VigilHost *host, const char *device_id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, DEVICE_COLUMNS " WHERE id = ?", error);
  JsonObject *o = NULL;

  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, device_id, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        o = device_from_row (db, stmt, error);
      else
        not_found ("device", device_id ? device_id : "", error);
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return o;
}

#define SUBTREE \
  "WITH RECURSIVE sub (id) AS (SELECT ?1 UNION " \
  "  SELECT g.id FROM groups g JOIN sub ON g.parent = sub.id) "

JsonArray *
vh_inventory_devices (VigilHost *host, const char *group_id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, SUBTREE DEVICE_COLUMNS
                                " WHERE ?1 IS NULL OR group_id IN (SELECT id FROM sub)"
                                " ORDER BY id", error);
  JsonArray *out = NULL;

  if (stmt != NULL && group_id != NULL && group_exists_db (db, group_id, error) == 0)
    not_found ("group", group_id, error);
  else if (stmt != NULL)
    {
      out = json_array_new ();
      sqlite3_bind_text (stmt, 1, group_id, -1, SQLITE_TRANSIENT);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          JsonObject *o = device_from_row (db, stmt, NULL);
          if (o)
            json_array_add_object_element (out, o);
        }
    }
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return out;
}

static void
profile_free (gpointer data)
{
  VhDeviceProfile *p = data;

  g_free (p->id);
  g_free (p->group);
  g_free (p->local);
  g_free (p);
}

GPtrArray *
vh_inventory_device_profiles (VigilHost *host, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, "SELECT id, group_id, out_of_office, local_settings"
                                " FROM devices ORDER BY id", error);
  GPtrArray *out = NULL;

  if (stmt != NULL)
    {
      out = g_ptr_array_new_with_free_func (profile_free);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          VhDeviceProfile *p = g_new0 (VhDeviceProfile, 1);
          const char *local = (const char *) sqlite3_column_text (stmt, 3);

          p->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          p->group = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
          p->out_of_office = sqlite3_column_int (stmt, 2) != 0;
          p->local = g_strdup (local != NULL ? local : "{}");
          g_ptr_array_add (out, p);
        }
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return out;
}

GPtrArray *
vh_inventory_group_devices (VigilHost *host, const char *group_id, GError **error)
{
  g_autoptr (JsonArray) devices = NULL;
  GPtrArray *ids;

  if (group_id == NULL)
    {
      not_found ("group", "", error);
      return NULL;
    }
  devices = vh_inventory_devices (host, group_id, error);
  if (devices == NULL)
    return NULL;
  ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (devices); i++)
    g_ptr_array_add (ids, g_strdup (json_object_get_string_member (
                                json_array_get_object_element (devices, i), "id")));
  return ids;
}

gboolean
vh_inventory_device_add (VigilHost *host, const char *id, const char *name,
                         const char *group, const char *root, GError **error)
{
  const char *params[4] = { id, name ? name : id, group ? group : "root", root };
  sqlite3 *db;
  gboolean ok = FALSE;

  if (!check_id ("device", id, error))
    return FALSE;
  if (root != NULL && !g_path_is_absolute (root))
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "the root folder of device '%s' must be an absolute path (got '%s')",
                   id, root);
      return FALSE;
    }
  db = vh_store_lock (vh_context (host)->store);
  if (device_exists_db (db, id, error) != 0)
    {
      if (error && *error == NULL)
        g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_DUPLICATE,
                     "device '%s' already exists", id);
    }
  else if (group_exists_db (db, params[2], error) == 0)
    not_found ("group", params[2], error);
  else
    {
      /* Never this machine by itself: a device enrolled or added by an
       * application is a managed device until someone says otherwise. */
      const Step step = { "INSERT INTO devices (id, name, group_id, root) VALUES (?, ?, ?, ?)",
                          params, 4 };
      g_autofree char *change = g_strdup_printf ("adding device '%s'", id);

      ok = guarded_write (host, db, &step, 1, change, id,
                          audit_with (audit_payload ("device_added", "device", id),
                                      "group", params[2]), error);
    }
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

/* Updates one column of an existing device; @what names the change for
 * the audit event ("device_moved"), @value is recorded under @key. */
static gboolean
device_update (VigilHost *host, const char *id, const char *sql, const char *value,
               const char *what, const char *key, const char *change, GError **error)
{
  const char *params[2] = { value, id };
  const Step step = { sql, params, 2 };
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean ok = FALSE;

  if (device_exists_db (db, id, error) == 0)
    not_found ("device", id ? id : "", error);
  else
    ok = guarded_write (host, db, &step, 1, change, id,
                        key ? audit_with (audit_payload (what, "device", id), key, value)
                            : audit_payload (what, "device", id), error);
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

gboolean
vh_inventory_device_move (VigilHost *host, const char *id, const char *group,
                          GError **error)
{
  g_autofree char *change = g_strdup_printf ("moving device '%s' to group '%s'", id, group);

  if (!vh_inventory_group_exists (host, group))
    return not_found ("group", group ? group : "", error);
  return device_update (host, id, "UPDATE devices SET group_id = ? WHERE id = ?", group,
                        "device_moved", "group", change, error);
}

gboolean
vh_inventory_device_remove (VigilHost *host, const char *id, GError **error)
{
  /* Removing the machine's device leaves the machine without one. */
  const Step steps[2] = {
    { "DELETE FROM machine WHERE device_id = ?", &id, 1 },
    { "DELETE FROM devices WHERE id = ?", &id, 1 },
  };
  g_autofree char *change = g_strdup_printf ("removing device '%s'", id);
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean ok = FALSE;

  if (device_exists_db (db, id, error) == 0)
    not_found ("device", id ? id : "", error);
  else
    ok = guarded_write (host, db, steps, 2, change, id,
                        audit_payload ("device_removed", "device", id), error);
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

gboolean
vh_inventory_device_set_out_of_office (VigilHost *host, const char *id,
                                       gboolean out_of_office, GError **error)
{
  g_autofree char *change = g_strdup_printf ("marking device '%s' %s", id,
                                             out_of_office ? "out of the office"
                                                           : "in the office");

  return device_update (host, id, "UPDATE devices SET out_of_office = ? WHERE id = ?",
                        out_of_office ? "1" : "0", "device_out_of_office", "out_of_office",
                        change, error);
}

char *
vh_inventory_machine (VigilHost *host, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, "SELECT device_id FROM machine WHERE one = 1", error);
  char *id = NULL;
  int rc;

  if (stmt != NULL)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      else if (rc != SQLITE_DONE)
        vh_store_set_error (db, "cannot read this machine's device", error);
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return id;
}

gboolean
vh_inventory_set_machine (VigilHost *host, const char *id, GError **error)
{
  const Step step = { "INSERT OR REPLACE INTO machine (one, device_id) VALUES (1, ?)", &id, 1 };
  g_autofree char *change = g_strdup_printf ("making device '%s' this machine", id);
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean ok = FALSE;

  if (device_exists_db (db, id, error) == 0)
    not_found ("device", id ? id : "", error);
  else
    ok = guarded_write (host, db, &step, 1, change, id,
                        audit_payload ("machine_set", "device", id), error);
  vh_store_unlock (vh_context (host)->store);
  return ok;
}

gboolean
vh_inventory_device_set_local (VigilHost *host, const char *id,
                               JsonObject *settings, GError **error)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), settings);
  g_autofree char *text = json_to_string (node, FALSE);

  g_autofree char *change = g_strdup_printf ("changing the local settings of device '%s'", id);

  /* The settings themselves are not recorded: they may hold secrets. */
  return device_update (host, id, "UPDATE devices SET local_settings = ? WHERE id = ?",
                        text, "device_local_settings", NULL, change, error);
}

JsonObject *
vh_inventory_device_local (VigilHost *host, const char *id, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = prepare (db, "SELECT local_settings FROM devices WHERE id = ?", error);
  JsonObject *out = NULL;

  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_autoptr (JsonNode) n = json_from_string ((const char *) sqlite3_column_text (stmt, 0), NULL);
          out = (n && JSON_NODE_HOLDS_OBJECT (n)) ? json_object_ref (json_node_get_object (n))
                                                  : json_object_new ();
        }
      else
        not_found ("device", id ? id : "", error);
      sqlite3_finalize (stmt);
    }
  vh_store_unlock (vh_context (host)->store);
  return out;
}
