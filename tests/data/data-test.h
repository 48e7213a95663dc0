/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the data tests: a real host on a temporary state folder, with
 * test sections registered through the host's own pseudo-plugin (the same
 * register_section path plugins use), and small JSON helpers.
 */
#pragma once

#include "host-private.h"
#include "vt-cli.h"

#include <glib/gstdio.h>
#include <string.h>

/* kata: two groups, a range, a list and a secret. */
static const VigilField t_connection[] = {
  { .key = "sync_period_min", .type = VIGIL_FIELD_INT, .default_json = "15",
    .has_range = TRUE, .min = 1, .max = 60 },
  { .key = "servers", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[]" },
  { .key = "password", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET },
};
static const VigilField t_proxy[] = {
  { .key = "use", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
  { .key = "address", .type = VIGIL_FIELD_STRING },
};
static const VigilSettingsGroup t_kata_groups[] = {
  { .id = "connection", .title = "Connection", .fields = VIGIL_ARRAY (t_connection) },
  { .id = "proxy", .title = "Proxy", .fields = VIGIL_ARRAY (t_proxy) },
};

/* ksn: a cross-field rule in validate. */
static const VigilField t_statement[] = {
  { .key = "accepted", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
};
static const VigilField t_usage[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "false" },
};
static const VigilSettingsGroup t_ksn_groups[] = {
  { .id = "statement", .fields = VIGIL_ARRAY (t_statement) },
  { .id = "usage", .fields = VIGIL_ARRAY (t_usage) },
};

static void
t_ksn_validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  JsonObject *st = json_object_get_object_member (values, "statement");
  JsonObject *us = json_object_get_object_member (values, "usage");

  if (json_object_get_boolean_member (us, "enabled") &&
      !json_object_get_boolean_member (st, "accepted"))
    vh_api ()->report_problem (report, VIGIL_SEVERITY_ERROR, "usage.enabled",
                               "cannot be enabled unless the statement is accepted");
}

/* legacy: schema version 2; version 1 called the key "period". */
static const VigilField t_scan[] = {
  { .key = "period_min", .type = VIGIL_FIELD_INT, .default_json = "30",
    .has_range = TRUE, .min = 1, .max = 1440 },
};
static const VigilSettingsGroup t_legacy_groups[] = {
  { .id = "scan", .fields = VIGIL_ARRAY (t_scan) },
};

static JsonObject *
t_legacy_migrate (JsonObject *values, guint from_version, gpointer user_data, GError **error)
{
  JsonObject *out = vh_json_object_copy (values);
  JsonObject *scan, *vals;

  if (from_version != 1)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_FAILED,
                   "unknown version %u", from_version);
      json_object_unref (out);
      return NULL;
    }
  if (json_object_has_member (out, "scan") &&
      (scan = json_object_get_object_member (out, "scan")) != NULL &&
      json_object_has_member (scan, "values") &&
      (vals = json_object_get_object_member (scan, "values")) != NULL &&
      json_object_has_member (vals, "period"))
    {
      json_object_set_int_member (vals, "period_min", json_object_get_int_member (vals, "period"));
      json_object_remove_member (vals, "period");
    }
  return out;
}

static const VigilSection t_sections[] = {
  { .id = "kata", .title = "KATA", .schema_version = 1, .groups = VIGIL_ARRAY (t_kata_groups) },
  { .id = "ksn", .title = "KSN", .schema_version = 1, .groups = VIGIL_ARRAY (t_ksn_groups),
    .validate = t_ksn_validate },
  { .id = "legacy", .title = "Legacy", .schema_version = 2,
    .groups = VIGIL_ARRAY (t_legacy_groups), .migrate = t_legacy_migrate },
};

typedef struct {
  char      *dir;
  VigilHost *host;
} HostFixture;

static void
host_setup (HostFixture *fx, gconstpointer data)
{
  VigilHostOptions options = { sizeof options };
  g_autoptr (GError) error = NULL;
  const char *none[] = { NULL };

  fx->dir = g_dir_make_tmp ("vigil-data-XXXXXX", &error);
  g_assert_no_error (error);
  options.state_dir = fx->dir;
  options.plugin_dirs = none;
  options.skip_install_dir = TRUE;
  fx->host = vigil_host_new (&options, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (t_sections); i++)
    {
      g_assert_true (vh_api ()->register_section (vh_registry_host_plugin (fx->host),
                                                  &t_sections[i], sizeof t_sections[i], &error));
      g_assert_no_error (error);
    }
}

static void
host_teardown (HostFixture *fx, gconstpointer data)
{
  vigil_host_free (fx->host);
  vt_rm_rf (fx->dir);
  g_free (fx->dir);
}

static JsonObject *
t_object (const char *json)
{
  g_autoptr (JsonNode) n = json_from_string (json, NULL);

  g_assert_nonnull (n);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (n));
  return json_object_ref (json_node_get_object (n));
}

/* Problems as "path: message\n" lines. */
static char *
t_problems (JsonArray *problems)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (problems); i++)
    {
      JsonObject *p = json_array_get_object_element (problems, i);
      g_string_append_printf (s, "%s%s: %s\n",
                              g_strcmp0 (json_object_get_string_member (p, "severity"),
                                         "warning") == 0 ? "warning: " : "",
                              json_object_get_string_member (p, "path"),
                              json_object_get_string_member (p, "message"));
    }
  return g_string_free (s, FALSE);
}

/* Applies @json as a policy and asserts it worked. */
static void
t_apply (VigilHost *host, const char *json)
{
  g_autoptr (JsonObject) doc = t_object (json);
  g_autoptr (VigilReport) report = vh_report_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) problems = NULL;
  g_autofree char *text = NULL;
  gboolean ok = vh_policy_apply (host, doc, FALSE, report, NULL, &error);

  problems = vh_report_to_json (report);
  text = t_problems (problems);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "");
  g_assert_true (ok);
}
