/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy layer of libvigil-host (host/policy/), above inventory:
 * policy documents (parsing and checking untrusted ones, no host needed,
 * which the fuzz target drives), policies in the store, and the effective
 * settings of a device, which combine the registry's sections, the
 * inventory's group chain and local settings, and the policies. It sees
 * base.h, registry.h and inventory.h; docs/architecture.md has the order.
 */
#pragma once

#include "inventory/inventory.h"

G_BEGIN_DECLS

/* Policy documents larger than this are refused unread. */
#define VH_POLICY_MAX_BYTES   (1024 * 1024)

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
/* Masks the secrets of a whole policy document in place. */
void        vh_policy_mask_secrets (GPtrArray *sections, JsonObject *doc);

/* ---- policy-masked.c: a secret's mask handed back -------------------- */

/* In a normalized @doc, each secret that is the export mask "********"
 * becomes the stored policy's value (same name: re-applied unchanged), or
 * is an error in @report (a new policy, or a copy: nothing to keep).
 * Returns: FALSE when @report got errors. */
gboolean    vh_policy_resolve_masked (VigilHost *host, JsonObject *doc,
                                      VigilReport *report);

/* ---- policy.c: policies in the store ---------------------------------- */

/* Applies the policies' migrations (after the inventory's: policies refer
 * to groups); the api layer calls it at start. */
gboolean    vh_policy_init   (VigilHost *host, GError **error);
/* Validates (or with @import, migrates) and stores @doc; an existing policy
 * of the same name is replaced, and a different policy of the same group
 * holding the same non-inactive status is made inactive (its name goes to
 * @demoted). Problems go to @report; FALSE when it has errors or on a
 * store error (@error). */
gboolean    vh_policy_apply  (VigilHost *host, JsonObject *doc, gboolean import,
                              VigilReport *report, char **demoted, GError **error);
/* Checks @policy as apply would, without storing it; a group missing from
 * the inventory is a warning here. (transfer full) the report's problems
 * (behind vigil_host_validate_policy). */
JsonArray  *vh_policy_validate (VigilHost *host, JsonObject *policy);
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

/* ---- effective.c ------------------------------------------------------ */

/* Effective settings of one section for one device: group -> key -> value.
 * With @origins, also group -> key -> "default" | "policy:<name>" |
 * "policy:<name> (locked)" | "local". Returns: (transfer full). */
JsonObject  *vh_effective_section (VigilHost *host, const char *device_id,
                                   const char *section_id,
                                   JsonObject **origins, GError **error);
/* Like vh_effective_section; with @sources, also group -> key ->
 * {"source": "default" | "policy" | "local"}, a policy's with "policy"
 * (its name), "group" (the admin group it is configured for) and
 * "locked" (behind the plugin API's get_effective_origins). */
JsonObject  *vh_effective_section_sources (VigilHost *host, const char *device_id,
                                           const char *section_id, JsonObject **origins,
                                           JsonObject **sources, GError **error);
/* Every registered section's effective settings for each of @device_ids
 * (NULL-terminated): device -> section -> group -> key -> value, secrets
 * included. Computed once per distinct (group, out-of-office, local
 * settings): devices that share them share one object. Devices not in the
 * inventory are left out. Returns: (transfer full), or NULL on a store
 * error. */
JsonObject  *vh_effective_devices (VigilHost *host, const char *const *device_ids,
                                   GError **error);

G_END_DECLS
