/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interfaces shared by the files of host/data/ only: transactions with a
 * durability choice, the data module's own inventory and policy operations
 * used by its CLI commands, the pure policy checker (no host, no plugins:
 * the fuzz target drives it), and small JSON and suggestion helpers. What
 * other modules may call is in host-private.h.
 */
#pragma once

#include "host-private.h"

G_BEGIN_DECLS

/* Size limits for untrusted documents. */
#define VH_POLICY_MAX_BYTES   (1024 * 1024)
#define VH_JSON_MAX_DEPTH     64

/* ---- store.c ------------------------------------------------------- */

/* BEGIN IMMEDIATE, with synchronous=FULL for @durable writes (admin
 * changes: inventory, policies) so that a change reported as done survives
 * a power loss too; other writes keep synchronous=NORMAL. */
gboolean vh_store_begin    (sqlite3 *db, gboolean durable, GError **error);
gboolean vh_store_commit   (sqlite3 *db, gboolean durable, GError **error);
void     vh_store_rollback (sqlite3 *db, gboolean durable);
gboolean vh_store_exec     (sqlite3 *db, const char *sql, GError **error);
/* The schema version recorded for @module, 0 when none. -1 on error. */
gint64   vh_store_module_version (sqlite3 *db, const char *module, GError **error);

/* ---- report.c ------------------------------------------------------ */

guint    vh_report_error_count (VigilReport *report);

/* ---- schema.c ------------------------------------------------------ */

/* The closest of @candidates to @word by edit distance (or prefix), when
 * close enough to be a likely typo; NULL otherwise. (transfer none) */
const char *vh_suggest (const char *word, const char *const *candidates, gsize n);
/* " (did you mean 'x'?)"-style suffix, or "" — (transfer full). */
char       *vh_suggest_suffix (const char *word, const char *const *candidates, gsize n);

/* A section's groups and a group's fields, indexed with their element
 * sizes so that registrations of any minor version read correctly. */
const VigilSettingsGroup *vh_section_group (const VigilSection *section, gsize i);
const VigilSettingsGroup *vh_section_find_group (const VigilSection *section,
                                                 const char *group_id);
const VigilField         *vh_group_field (const VigilSettingsGroup *group, gsize i);
/* Checks one settings group's values: like vh_schema_check, with the
 * group's stride-aware field array. With @partial, no defaults and no
 * required check: the result holds only the (known) keys given. */
JsonObject *vh_schema_check_group (const VigilSettingsGroup *group,
                                   JsonObject *values, const char *path,
                                   gboolean partial, VigilReport *report);
JsonObject *vh_schema_group_defaults (const VigilSettingsGroup *group);

/* Masks the secret fields of one settings group's key -> value object. */
void        vh_schema_mask_group (const VigilSettingsGroup *group, JsonObject *values);
/* Deep copies, so that masking a copy never touches the original. */
JsonNode   *vh_json_node_copy (JsonNode *node);
JsonObject *vh_json_object_copy (JsonObject *object);

/* Rejects documents nested deeper than VH_JSON_MAX_DEPTH before a
 * recursive parser sees them. */
gboolean    vh_json_depth_ok (const char *data, gsize len);

/* ---- policy-check.c: pure checks, no host ----------------------------- */

/* Parses a policy document from untrusted bytes (size and depth limits).
 * Problems (JSON syntax with line and column) go to @report under "".
 * Returns: (transfer full) the object, or NULL. */
JsonObject *vh_policy_parse   (const char *data, gsize len, VigilReport *report);
/* Checks @doc against @sections (VhSection *), runs their validate
 * callbacks; with @import, migrates sections written for an older schema
 * version. Returns: (transfer full) the normalized document (every section
 * with its current schema_version, every group {locked, values}), or NULL
 * when @report has errors. */
JsonObject *vh_policy_check   (GPtrArray *sections, JsonObject *doc,
                               gboolean import, VigilReport *report);
/* Checks local device settings (section -> group -> key -> value).
 * Returns: (transfer full) the known keys, or NULL when @report has errors. */
JsonObject *vh_local_settings_check (GPtrArray *sections, JsonObject *settings,
                                     VigilReport *report);
const VhSection *vh_sections_find (GPtrArray *sections, const char *id);
/* A complete policy document with every section's defaults, secrets
 * masked. (transfer full) */
JsonObject *vh_policy_defaults (GPtrArray *sections);

/* The "section.group.key" paths of the secret fields of @doc's sections,
 * kept with a stored policy so that it stays masked even when the plugin
 * that declared them is not loaded. (transfer full) */
JsonArray  *vh_policy_secret_paths (GPtrArray *sections, JsonObject *doc);
void        vh_policy_mask_paths   (JsonObject *doc, JsonArray *paths);

/* ---- inventory.c --------------------------------------------------- */

gboolean    vh_inventory_id_valid     (const char *id);
gboolean    vh_inventory_group_add    (VigilHost *host, const char *id, const char *name,
                                       const char *parent, GError **error);
gboolean    vh_inventory_group_move   (VigilHost *host, const char *id,
                                       const char *parent, GError **error);
gboolean    vh_inventory_group_remove (VigilHost *host, const char *id, GError **error);
/* (transfer full) [{id, name, parent}] ordered by id. */
JsonArray  *vh_inventory_groups       (VigilHost *host, GError **error);
/* (transfer full) group ids from the root down to @group_id. */
GPtrArray  *vh_inventory_group_chain  (VigilHost *host, const char *group_id,
                                       GError **error);
gboolean    vh_inventory_device_add   (VigilHost *host, const char *id, const char *name,
                                       const char *group, const char *root,
                                       GError **error);
gboolean    vh_inventory_device_move  (VigilHost *host, const char *id,
                                       const char *group, GError **error);
gboolean    vh_inventory_device_remove (VigilHost *host, const char *id, GError **error);
gboolean    vh_inventory_device_set_out_of_office (VigilHost *host, const char *id,
                                                   gboolean out_of_office, GError **error);
/* Local settings: section -> group -> key -> value. */
gboolean    vh_inventory_device_set_local (VigilHost *host, const char *id,
                                           JsonObject *settings, GError **error);
JsonObject *vh_inventory_device_local (VigilHost *host, const char *id, GError **error);
/* (transfer full) device objects of @group_id's subtree (all when NULL). */
JsonArray  *vh_inventory_devices      (VigilHost *host, const char *group_id,
                                       GError **error);

/* ---- policy.c: policies in the store ---------------------------------- */

/* Validates (or with @import, migrates) and stores @doc; an existing policy
 * of the same name is replaced, and a different policy of the same group
 * holding the same non-inactive status is made inactive (its name goes to
 * @demoted). Problems go to @report; FALSE when it has errors or on a
 * store error (@error). */
gboolean    vh_policy_apply  (VigilHost *host, JsonObject *doc, gboolean import,
                              VigilReport *report, char **demoted, GError **error);
/* (transfer full) [{name, group, status, sections}] by group then name. */
JsonArray  *vh_policy_list   (VigilHost *host, GError **error);
/* (transfer full) the stored document, or NULL with NOT_FOUND. */
JsonObject *vh_policy_get    (VigilHost *host, const char *name, GError **error);
/* Like vh_policy_get, with every secret masked: those of the loaded
 * sections and those recorded when the policy was applied. */
JsonObject *vh_policy_get_masked (VigilHost *host, const char *name, GError **error);
gboolean    vh_policy_remove (VigilHost *host, const char *name, GError **error);
/* (transfer full) the stored document of @group_id's policy with @status,
 * or NULL (no error) when there is none. */
JsonObject *vh_policy_for_group (VigilHost *host, const char *group_id,
                                 const char *status, GError **error);
/* Masks the secrets of a whole policy document in place. */
void        vh_policy_mask_secrets (GPtrArray *sections, JsonObject *doc);

/* ---- docs-store.c --------------------------------------------------- */

gboolean    vh_docs_init (VigilHost *host, GError **error);
gboolean    vh_policy_init (VigilHost *host, GError **error);
gboolean    vh_inventory_init (VigilHost *host, GError **error);

G_END_DECLS
