/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policies in the store: validation against the sections the loaded
 * plugins registered (policy-check.c does the checking), apply (replace by
 * name, at most one active and one out-of-office policy per group: applying
 * one demotes the previous holder of that status to inactive, as an admin
 * console does when another policy is made active), list, show, remove,
 * and the look-up effective.c uses. Documents are stored normalized: every
 * section at its current schema version, every group {locked, values}.
 * Apply and remove run inside the change guard (registry/guard.c): a
 * change that weakens this machine's password protection (removing the
 * policy that carries it, replacing it, demoting it by making another
 * policy active) is committed only with the current password. Each is
 * recorded as an audit event (host.policy_applied, host.policy_removed) in
 * the same transaction.
 */
#include "policy.h"

#include <string.h>

static const VhMigration policy_migrations[] = {
  { 1,
    "CREATE TABLE policies ("
    "  name       TEXT PRIMARY KEY,"
    "  group_id   TEXT NOT NULL REFERENCES groups (id),"
    "  status     TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'out-of-office')),"
    "  document   TEXT NOT NULL,"
    "  updated_us INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX policies_one_per_status ON policies (group_id, status)"
    "  WHERE status <> 'inactive';" },
  /* Secret fields' paths, so a policy stays masked in output even when the
   * plugin that declared them is disabled later. */
  { 2, "ALTER TABLE policies ADD COLUMN secret_paths TEXT NOT NULL DEFAULT '[]';" },
};

gboolean
vh_policy_init (VigilHost *host, GError **error)
{
  return vh_store_migrate (vh_context (host)->store, "policies", policy_migrations,
                           G_N_ELEMENTS (policy_migrations), error);
}

/* ---- validation ------------------------------------------------------ */

/* Checks @doc against the registered sections; a target group missing
 * from the inventory is a warning here and an error on apply. */
static JsonObject *
check_with_host (VigilHost *host, JsonObject *doc, gboolean import, VigilReport *report)
{
  JsonObject *norm = vh_policy_check (vh_registry_sections (host), doc, import, report);
  JsonNode *group = json_object_get_member (doc, "group");

  if (group != NULL && JSON_NODE_HOLDS_VALUE (group) &&
      json_node_get_value_type (group) == G_TYPE_STRING &&
      vh_inventory_id_valid (json_node_get_string (group)) &&
      !vh_inventory_group_exists (host, json_node_get_string (group)))
    vh_report_add (report, VIGIL_SEVERITY_WARNING, "group",
                   "group '%s' does not exist (add it with `vigil group add`)",
                   json_node_get_string (group));
  return norm;
}

JsonArray *
vh_policy_validate (VigilHost *host, JsonObject *policy)
{
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (JsonObject) norm = NULL;

  g_return_val_if_fail (host != NULL && policy != NULL, json_array_new ());
  norm = check_with_host (host, policy, FALSE, report);
  return vh_report_to_json (report);
}

/* ---- apply ----------------------------------------------------------- */

static char *
holder_of (sqlite3 *db, const char *group, const char *status, const char *name)
{
  sqlite3_stmt *stmt = NULL;
  char *holder = NULL;

  if (strcmp (status, "inactive") == 0 ||
      sqlite3_prepare_v2 (db, "SELECT name FROM policies WHERE group_id = ? AND status = ?"
                          " AND name <> ?", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, group, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, status, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    holder = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return holder;
}

static gboolean
step_text (sqlite3 *db, const char *sql, const char *const *params, guint n,
           gint64 time_us, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      vh_store_set_error (db, "cannot store the policy", error);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    sqlite3_bind_text (stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
  if (time_us >= 0)
    sqlite3_bind_int64 (stmt, n + 1, time_us);
  ok = sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    vh_store_set_error (db, "cannot store the policy", error);
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
store_policy (VigilHost *host, JsonObject *norm, char **demoted, GError **error)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), norm);
  g_autofree char *text = json_to_string (node, FALSE);
  const char *name = json_object_get_string_member (norm, "name");
  const char *group = json_object_get_string_member (norm, "group");
  const char *status = json_object_get_string_member (norm, "status");
  g_autoptr (JsonNode) secrets = json_node_init_array (
      json_node_alloc (), vh_policy_secret_paths (vh_registry_sections (host), norm));
  g_autofree char *secrets_text = json_to_string (secrets, FALSE);
  const char *row[5] = { name, group, status, text, secrets_text };
  g_autofree char *holder = NULL;
  g_autofree char *change = NULL;
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean ok = vh_store_begin (db, TRUE, error);
  VhGuard *guard = ok ? vh_guard_begin (host, error) : NULL;

  ok = guard != NULL;
  if (ok && (holder = holder_of (db, group, status, name)) != NULL)
    ok = step_text (db, "UPDATE policies SET status = 'inactive',"
                    " document = json_set (document, '$.status', 'inactive') WHERE name = ?",
                    (const char *const *) &holder, 1, -1, error);
  if (ok)
    ok = step_text (db, "INSERT OR REPLACE INTO policies (name, group_id, status, document,"
                    " secret_paths, updated_us) VALUES (?, ?, ?, ?, ?, ?)", row, 5,
                    vh_now (host), error);
  if (ok)
    {
      JsonObject *audit = json_object_new ();

      change = holder ? g_strdup_printf ("applying policy '%s' (which makes policy '%s' "
                                         "inactive)", name, holder)
                      : g_strdup_printf ("applying policy '%s'", name);
      json_object_set_string_member (audit, "name", name);
      json_object_set_string_member (audit, "group", group);
      json_object_set_string_member (audit, "status", status);
      if (holder)
        json_object_set_string_member (audit, "made_inactive", holder);
      else
        json_object_set_null_member (audit, "made_inactive");
      ok = vh_guard_check (guard, change, error)
           && vh_audit (host, "host.policy_applied", NULL, audit, error);
    }
  if (ok)
    ok = vh_store_commit (db, TRUE, error);
  else
    vh_store_rollback (db, TRUE);
  vh_guard_finish (guard);
  vh_store_unlock (vh_context (host)->store);
  if (ok && demoted)
    *demoted = g_steal_pointer (&holder);
  return ok;
}

gboolean
vh_policy_apply (VigilHost *host, JsonObject *doc, gboolean import,
                 VigilReport *report, char **demoted, GError **error)
{
  g_autoptr (JsonObject) norm = NULL;
  const char *group;

  norm = vh_policy_check (vh_registry_sections (host), doc, import, report);
  if (norm == NULL || !vh_policy_resolve_masked (host, norm, report))
    return FALSE;
  group = json_object_get_string_member (norm, "group");
  if (!vh_inventory_group_exists (host, group))
    {
      vh_report_add (report, VIGIL_SEVERITY_ERROR, "group",
                     "group '%s' does not exist (add it with `vigil group add`)", group);
      return FALSE;
    }
  return store_policy (host, norm, demoted, error);
}

/* ---- reading --------------------------------------------------------- */

static JsonObject *
parse_stored (const char *text)
{
  g_autoptr (JsonNode) n = json_from_string (text, NULL);

  return (n && JSON_NODE_HOLDS_OBJECT (n)) ? json_object_ref (json_node_get_object (n)) : NULL;
}

static JsonObject *
select_document (VigilHost *host, const char *sql, const char *a, const char *b,
                 GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = NULL;
  JsonObject *doc = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    vh_store_set_error (db, "cannot read policies", error);
  else
    {
      sqlite3_bind_text (stmt, 1, a, -1, SQLITE_TRANSIENT);
      if (b)
        sqlite3_bind_text (stmt, 2, b, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        doc = parse_stored ((const char *) sqlite3_column_text (stmt, 0));
    }
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return doc;
}

JsonObject *
vh_policy_get (VigilHost *host, const char *name, GError **error)
{
  g_autoptr (GError) local = NULL;
  JsonObject *doc = select_document (host, "SELECT document FROM policies WHERE name = ?",
                                     name, NULL, &local);

  if (local != NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  else if (doc == NULL)
    g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                 "policy '%s' does not exist (see `vigil policy list`)", name);
  return doc;
}

JsonObject *
vh_policy_get_masked (VigilHost *host, const char *name, GError **error)
{
  JsonObject *doc = vh_policy_get (host, name, error);
  g_autoptr (JsonObject) holder = NULL;
  JsonNode *paths;

  if (doc == NULL)
    return NULL;
  holder = select_document (host, "SELECT json_object ('paths', json (secret_paths))"
                            " FROM policies WHERE name = ?", name, NULL, NULL);
  paths = holder ? json_object_get_member (holder, "paths") : NULL;
  vh_policy_mask_paths (doc, paths && JSON_NODE_HOLDS_ARRAY (paths) ? json_node_get_array (paths) : NULL);
  vh_policy_mask_secrets (vh_registry_sections (host), doc);
  return doc;
}

JsonObject *
vh_policy_for_group (VigilHost *host, const char *group_id, const char *status,
                     GError **error)
{
  return select_document (host, "SELECT document FROM policies WHERE group_id = ?"
                          " AND status = ?", group_id, status, error);
}

JsonArray *
vh_policy_list (VigilHost *host, GError **error)
{
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  sqlite3_stmt *stmt = NULL;
  JsonArray *out = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT name, group_id, status, document FROM policies"
                          " ORDER BY group_id, name", -1, &stmt, NULL) != SQLITE_OK)
    vh_store_set_error (db, "cannot list policies", error);
  else
    {
      out = json_array_new ();
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          JsonObject *o = json_object_new ();
          g_autoptr (JsonObject) doc = parse_stored ((const char *) sqlite3_column_text (stmt, 3));
          JsonArray *secs = json_array_new ();

          json_object_set_string_member (o, "name", (const char *) sqlite3_column_text (stmt, 0));
          json_object_set_string_member (o, "group", (const char *) sqlite3_column_text (stmt, 1));
          json_object_set_string_member (o, "status", (const char *) sqlite3_column_text (stmt, 2));
          if (doc && json_object_has_member (doc, "settings"))
            {
              g_autoptr (GList) ids = json_object_get_members (
                  json_object_get_object_member (doc, "settings"));
              for (GList *l = ids; l; l = l->next)
                json_array_add_string_element (secs, l->data);
            }
          json_object_set_array_member (o, "sections", secs);
          json_array_add_object_element (out, o);
        }
    }
  sqlite3_finalize (stmt);
  vh_store_unlock (vh_context (host)->store);
  return out;
}

gboolean
vh_policy_remove (VigilHost *host, const char *name, GError **error)
{
  g_autofree char *change = g_strdup_printf ("removing policy '%s'", name);
  g_autofree char *group = NULL;
  sqlite3 *db = vh_store_lock (vh_context (host)->store);
  gboolean ok = vh_store_begin (db, TRUE, error);
  VhGuard *guard = ok ? vh_guard_begin (host, error) : NULL;
  sqlite3_stmt *stmt = NULL;

  ok = guard != NULL;
  if (ok && sqlite3_prepare_v2 (db, "SELECT group_id FROM policies WHERE name = ?", -1,
                                &stmt, NULL) == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        group = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    }
  sqlite3_finalize (stmt);
  ok = ok && step_text (db, "DELETE FROM policies WHERE name = ?", &name, 1, -1, error);
  if (ok && sqlite3_changes (db) == 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "policy '%s' does not exist (see `vigil policy list`)", name);
      ok = FALSE;
    }
  if (ok)
    {
      JsonObject *audit = json_object_new ();

      json_object_set_string_member (audit, "name", name);
      json_object_set_string_member (audit, "group", group ? group : "");
      ok = vh_guard_check (guard, change, error)
           && vh_audit (host, "host.policy_removed", NULL, audit, error);
    }
  if (ok)
    ok = vh_store_commit (db, TRUE, error);
  else
    vh_store_rollback (db, TRUE);
  vh_guard_finish (guard);
  vh_store_unlock (vh_context (host)->store);
  return ok;
}
