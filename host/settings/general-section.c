/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host-owned policy section `general`: proxy, password protection,
 * failure diagnosis (trace files) and EDR telemetry exclusions, visible to
 * every plugin. It is registered like a plugin's section, through the
 * host's pseudo-plugin "host", so policies, locks, effective settings and
 * secret masking treat it like any other. Its validate callback holds the
 * cross-field rules; the host's schema checks do types, ranges and enums.
 * The host declares its own protected actions here, through the same API
 * slot plugins use for theirs; the section's list of actions accepts every
 * declared one and, left unset, protects them all.
 * Defaults and ranges follow the product documentation (proxy port 8080,
 * trace files of 50 MB, one file per trace log).
 */
#include "general.h"

#include <string.h>

/* The host API table vh_general_init was handed, kept for the validate
 * callbacks the way a plugin keeps the table its init got. */
static const VigilHostApi *api_table;

static const char *const proxy_modes[] = { "none", "auto", "manual", NULL };

static const VigilField proxy_fields[] = {
  { .key = "mode", .type = VIGIL_FIELD_ENUM, .default_json = "\"none\"",
    .enum_values = proxy_modes,
    .description = "none: connect directly; auto: take the proxy from the "
                   "environment (https_proxy, http_proxy, no_proxy); manual: "
                   "use address and port below" },
  { .key = "address", .type = VIGIL_FIELD_STRING,
    .description = "Proxy server name or IP address (mode manual)" },
  { .key = "port", .type = VIGIL_FIELD_INT, .default_json = "8080",
    .has_range = TRUE, .min = 1, .max = 65535,
    .description = "Proxy server port (mode manual)" },
  { .key = "user", .type = VIGIL_FIELD_STRING,
    .description = "User name for proxy authentication (optional)" },
  { .key = "password", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET,
    .description = "Password for proxy authentication; never printed" },
  { .key = "bypass_local", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Connect directly to local addresses (loopback, link-local, "
                   "private networks, single-label names)" },
};

static const VigilField protection_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Ask for the password before protected actions" },
  { .key = "password_hash", .type = VIGIL_FIELD_STRING, .flags = VIGIL_FIELD_FLAG_SECRET,
    .description = "Salted PBKDF2 hash of the password, made with `vigil "
                   "password set` or `vigil password hash`; never a clear password" },
  { .key = "actions", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .description = "The protected actions, among those the host and the loaded "
                   "plugins declare (`vigil plugins show ID`); unset (null) means "
                   "every one of them" },
};

static const VigilField diagnosis_fields[] = {
  { .key = "enabled", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Write debug information to trace files" },
  { .key = "folder", .type = VIGIL_FIELD_PATH,
    .description = "Trace files folder; it must already exist on the device" },
  { .key = "max_file_size_mb", .type = VIGIL_FIELD_INT, .default_json = "50",
    .has_range = TRUE, .min = 1, .max = 4096,
    .description = "Maximum trace file size (MB); then writing goes on in a new file" },
  { .key = "max_files", .type = VIGIL_FIELD_INT, .default_json = "1",
    .has_range = TRUE, .min = 1, .max = 100,
    .description = "Maximum number of files per trace log; the oldest is overwritten" },
};

static const VigilField exclusion_fields[] = {
  { .key = "use_exclusions", .type = VIGIL_FIELD_BOOL, .default_json = "false",
    .description = "Apply the exclusion rules below to EDR telemetry" },
  { .key = "optimize_telemetry", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Do not send network events of SMB and of the agent's own process" },
  { .key = "processes", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_OBJECT,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 10000,
    .description = "Process rules: {image (glob), sha256, cmdline (regex), user}" },
  { .key = "networks", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_OBJECT,
    .default_json = "[]", .has_range = TRUE, .min = 0, .max = 10000,
    .description = "Network rules: {address (IP or CIDR), port, direction}" },
};

static const VigilSettingsGroup general_groups[] = {
  { .id = "proxy", .title = "Proxy server", .fields = VIGIL_ARRAY (proxy_fields) },
  { .id = "password_protection", .title = "Password protection",
    .fields = VIGIL_ARRAY (protection_fields) },
  { .id = "failure_diagnosis", .title = "Failure diagnosis",
    .fields = VIGIL_ARRAY (diagnosis_fields) },
  { .id = "telemetry_exclusions", .title = "EDR telemetry exclusions",
    .fields = VIGIL_ARRAY (exclusion_fields) },
};

/* The host's own protected actions; plugins declare theirs. */
static const VigilProtectedAction host_actions[] = {
  { .id = "plugins.disable", .description = "Disable a plugin (vigil plugins disable)" },
  { .id = "task.delete", .description = "Delete a task and its results (vigil task delete)" },
};

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

static void
report_via_api (gpointer report, VigilSeverity severity, const char *path,
                const char *message)
{
  api_table->report_problem (report, severity, path, "%s", message);
}

static void
validate_proxy (JsonObject *proxy, VigilReport *report)
{
  const char *mode = vigil_json_get_string (proxy, "mode");
  const char *address = vigil_json_get_string (proxy, "address");
  const char *user = vigil_json_get_string (proxy, "user");
  const char *password = vigil_json_get_string (proxy, "password");

  if (g_strcmp0 (mode, "manual") == 0 && (address == NULL || *address == '\0'))
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR, "proxy.address",
                               "required when proxy.mode is manual");
  /* The value is never quoted: what does not belong in an address is
   * usually credentials typed into it (user:password@host). */
  if (address && strchr (address, '@'))
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR, "proxy.address",
                               "is not a host name or IP address: it contains '@' (credentials "
                               "go in proxy.user and proxy.password, never in the address)");
  else if (address && (strchr (address, '/') || strchr (address, ' ')))
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR, "proxy.address",
                               "is not a host name or IP address: it contains '%c' (give the "
                               "host alone, without a scheme, a path or spaces)",
                               strchr (address, '/') ? '/' : ' ');
  if (password && *password && (user == NULL || *user == '\0'))
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR, "proxy.user",
                               "a proxy password is set without a user name");
}

static void
validate_protection (VigilHost *host, JsonObject *group, VigilReport *report)
{
  const char *hash = vigil_json_get_string (group, "password_hash");
  JsonArray *actions = vigil_json_get_array (group, "actions");
  g_autoptr (GError) error = NULL;
  guint weakness = 0;

  if (vigil_json_get_bool (group, "enabled", FALSE) && (hash == NULL || *hash == '\0'))
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR,
                               "password_protection.password_hash",
                               "required when password protection is enabled: "
                               "set it with `vigil password set --policy FILE`");
  if (hash && *hash && !vh_password_hash_parse (hash, NULL, &weakness, &error))
    /* The message never quotes the value: it is a secret. */
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR,
                               "password_protection.password_hash", "%s", error->message);
  else if (hash && *hash)
    {
      g_auto (GStrv) advice = vh_password_advice (weakness);

      for (gsize i = 0; advice[i]; i++)
        api_table->report_problem (report, VIGIL_SEVERITY_WARNING,
                                   "password_protection.password_hash",
                                   "weak password: %s", advice[i]);
    }
  for (guint i = 0; actions && i < json_array_get_length (actions); i++)
    {
      const char *action = json_array_get_string_element (actions, i);
      g_autofree char *path = g_strdup_printf ("password_protection.actions[%u]", i);

      if (vh_registry_action (host, action) == NULL)
        {
          g_autofree char *known = vh_protected_action_list (host);
          api_table->report_problem (report, VIGIL_SEVERITY_ERROR, path,
                                     "'%s' is not a protected action of the host or of "
                                     "a loaded plugin (%s)", action, known);
        }
    }
}

static void
validate_diagnosis (JsonObject *group, VigilReport *report)
{
  const char *folder = vigil_json_get_string (group, "folder");

  if (vigil_json_get_bool (group, "enabled", FALSE) && (folder == NULL || *folder == '\0'))
    api_table->report_problem (report, VIGIL_SEVERITY_ERROR, "failure_diagnosis.folder",
                               "required when failure diagnosis is enabled");
}

static void
validate_rules (JsonObject *group, const char *list, VigilReport *report)
{
  JsonArray *rules = vigil_json_get_array (group, list);

  for (guint i = 0; rules && i < json_array_get_length (rules); i++)
    {
      JsonNode *node = json_array_get_element (rules, i);
      g_autofree char *path = g_strdup_printf ("telemetry_exclusions.%s[%u]", list, i);

      if (!JSON_NODE_HOLDS_OBJECT (node))
        api_table->report_problem (report, VIGIL_SEVERITY_ERROR, path, "must be an object");
      else if (g_str_equal (list, "processes"))
        vh_exclusions_check_process (json_node_get_object (node), path, report_via_api, report);
      else
        vh_exclusions_check_network (json_node_get_object (node), path, report_via_api, report);
    }
}

static void
validate_general (JsonObject *values, VigilReport *report, gpointer user_data)
{
  validate_proxy (vigil_json_get_object (values, "proxy"), report);
  validate_protection (user_data, vigil_json_get_object (values, "password_protection"), report);
  validate_diagnosis (vigil_json_get_object (values, "failure_diagnosis"), report);
  validate_rules (vigil_json_get_object (values, "telemetry_exclusions"), "processes", report);
  validate_rules (vigil_json_get_object (values, "telemetry_exclusions"), "networks", report);
}

static const VigilSection general_section = {
  .id = "general",
  .title = "General settings",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (general_groups),
  .validate = validate_general,
};

const VigilSection *
vh_general_section (void)
{
  return &general_section;
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */
/* ------------------------------------------------------------------ */

gboolean
vh_general_init (VigilHost *host, const VigilHostApi *api, GError **error)
{
  VigilPlugin *self = vh_registry_host_plugin (host);
  VhContext *ctx = vh_context (host);
  VigilSection section = general_section;

  g_return_val_if_fail (self != NULL && api != NULL && ctx->settings == NULL, FALSE);

  api_table = api;
  ctx->settings = vh_general_cache_new ();
  /* validate reads the declared protected actions: it needs the host. */
  section.user_data = host;
  if (!api->register_section (self, &section, sizeof section, error))
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (host_actions); i++)
    if (!api->register_protected_action (self, &host_actions[i], sizeof host_actions[i],
                                         error))
      return FALSE;
  vh_registry_set_protect_func (host, vh_protect_check);
  vh_protect_install_guard (host);
  if (!vh_general_register_commands (self, api, error))
    return FALSE;
  /* Trace files follow the local machine's failure diagnosis settings
   * from the start; a host that cannot read them yet logs to stderr. */
  vh_logger_reload (host);
  return TRUE;
}

void
vh_general_free (VigilHost *host)
{
  g_clear_pointer (&vh_context (host)->settings, vh_general_cache_free);
}
