/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ABI's growth rules, checked. Layout: what was tail padding in 1.0 is
 * an explicit reserved member now, at the same offsets, and no size-stamped
 * struct ends in padding, so a field appended later always changes sizeof
 * and the size stamp tells the versions apart. Compatibility: a plugin
 * built against the frozen 1.0 header loads, its 1.0-shaped structs (with
 * garbage where 1.0 had padding) are accepted, and it keeps 1.0's meaning
 * of protect_check; a 1.1 plugin that sets a reserved member is refused.
 * Errors: every slot that takes a GError sets it on a NULL argument, and
 * the task_* slots survive a NULL run.
 */
#include "core-test.h"

#include <stddef.h>

/* ---- layout ---------------------------------------------------------- */

#define ENDS_AT_LAST(type, last) \
  G_STATIC_ASSERT (sizeof (type) == offsetof (type, last) + sizeof (((type *) 0)->last))

/* No tail padding in any struct that crosses the ABI with a size stamp. */
ENDS_AT_LAST (VigilPluginDesc, namespaces);
ENDS_AT_LAST (VigilField, description);
ENDS_AT_LAST (VigilSettingsGroup, field_size);
ENDS_AT_LAST (VigilSection, user_data);
ENDS_AT_LAST (VigilTaskType, user_data);
ENDS_AT_LAST (VigilTaskSpec, reserved);
ENDS_AT_LAST (VigilEvent, source);
ENDS_AT_LAST (VigilEventHandler, user_data);
ENDS_AT_LAST (VigilCommand, reserved);
ENDS_AT_LAST (VigilProtectedAction, description);
ENDS_AT_LAST (VigilHostApi, task_run_nested);

#if GLIB_SIZEOF_VOID_P == 8
/* The 1.0 layout on LP64, unchanged: the reserved members fill what was
 * padding, and the descriptor's new field starts where 1.0's ended. */
G_STATIC_ASSERT (offsetof (VigilTaskSpec, retention_days) == 56);
G_STATIC_ASSERT (offsetof (VigilTaskSpec, reserved) == 60);
G_STATIC_ASSERT (sizeof (VigilTaskSpec) == 64);
G_STATIC_ASSERT (offsetof (VigilCommand, flags) == 32);
G_STATIC_ASSERT (offsetof (VigilCommand, reserved) == 36);
G_STATIC_ASSERT (sizeof (VigilCommand) == 40);
G_STATIC_ASSERT (offsetof (VigilPluginDesc, namespaces) == 64);
G_STATIC_ASSERT (offsetof (VigilHostApi, get_task) == 224);
G_STATIC_ASSERT (offsetof (VigilHostApi, register_protected_action) == 232);
G_STATIC_ASSERT (offsetof (VigilHostApi, get_effective_origins) == 240);
G_STATIC_ASSERT (offsetof (VigilHostApi, database_updated) == 248);
G_STATIC_ASSERT (offsetof (VigilHostApi, evidence_put) == 256);
G_STATIC_ASSERT (offsetof (VigilHostApi, task_run_nested) == 264);
#endif

/* VigilTaskSpec as the 1.0 header declared it, tail padding and all. */
typedef struct {
  const char         *type;
  const char         *name;
  const char         *device_id;
  const char         *group_id;
  const char *const  *exclude_devices;
  JsonObject         *params;
  const char         *schedule;
  guint               retention_days;
} SpecV1_0;

G_STATIC_ASSERT (sizeof (SpecV1_0) == sizeof (VigilTaskSpec));
G_STATIC_ASSERT (offsetof (SpecV1_0, retention_days) ==
                 offsetof (VigilTaskSpec, retention_days));

/* ---- a 1.0 plugin ---------------------------------------------------- */

static void
open_with_device (CoreFixture *fx, const char *const *ids)
{
  core_fixture_init (fx);
  vt_cli_ok (fx->state, "device", "add", "d1", "--group", "root", NULL);
  for (const char *const *id = ids; *id != NULL; id++)
    g_free (core_copy_plugin (*id, fx->plugins));
  core_open_host (fx, NULL);
}

static void
test_abi_1_0_plugin_loads (void)
{
  CoreFixture fx;
  g_autoptr(JsonObject) info = NULL;
  const VhCommand *command;

  open_with_device (&fx, (const char *const[]) { "old-abi", NULL });
  info = core_plugin_info (fx.host, "old-abi", 0);
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "loaded");
  g_assert_cmpstr (json_object_get_string_member (info, "abi"), ==, "1.0");
  g_assert_nonnull (vh_registry_section (fx.host, "old_abi"));
  g_assert_nonnull (vh_registry_task_type (fx.host, "old-abi.run"));
  /* Its command came with 0xA5 where 1.0 had padding: read as zero. */
  command = vh_registry_command (fx.host, "old-abi");
  g_assert_nonnull (command);
  g_assert_cmpuint (command->command.reserved, ==, 0);
  core_fixture_clear (&fx);
}

/* A spec filled field by field on the stack, padding left as it was. */
static SpecV1_0
garbage_spec (const char *type)
{
  SpecV1_0 spec;

  memset (&spec, 0xA5, sizeof spec);
  spec.type = type;
  spec.name = NULL;
  spec.device_id = "d1";
  spec.group_id = NULL;
  spec.exclude_devices = NULL;
  spec.params = NULL;
  spec.schedule = "{\"kind\":\"manual\"}";
  spec.retention_days = 0;
  return spec;
}

static void
test_abi_1_0_spec_padding_ignored (void)
{
  CoreFixture fx;
  SpecV1_0 old_spec = garbage_spec ("old-abi.run");
  SpecV1_0 new_spec = garbage_spec ("basic.echo");
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  char *none;

  open_with_device (&fx, (const char *const[]) { "old-abi", "basic", NULL });
  id = vh_api ()->create_task (vh_registry_find_plugin (fx.host, "old-abi"),
                               (const VigilTaskSpec *) &old_spec, sizeof old_spec, &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);
  /* From a 1.1 plugin the same bytes are a reserved member set. */
  none = vh_api ()->create_task (vh_registry_find_plugin (fx.host, "basic"),
                                 (const VigilTaskSpec *) &new_spec, sizeof new_spec, &error);
  g_assert_null (none);
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "VigilTaskSpec: its reserved member is 0xa5a5a5a5"));
  core_fixture_clear (&fx);
}

static void
test_reserved_member_set_refused (void)
{
  CoreFixture fx;

  core_fixture_init (&fx);
  g_free (core_copy_plugin ("reserved_set", fx.plugins));
  core_open_host (&fx, NULL);
  core_assert_refused (fx.host, "reserved_set", "VigilCommand: its reserved member is 0x1 "
                       "and must be zero");
  g_assert_null (vh_registry_section (fx.host, "reserved_set"));
  core_fixture_clear (&fx);
}

/* 1.0 plugins could not declare actions: theirs stay unprotected, as
 * before; a 1.1 plugin's undeclared action is a bug, refused. */
static void
test_protect_check_by_abi (void)
{
  CoreFixture fx;
  g_autoptr(GError) error = NULL;

  open_with_device (&fx, (const char *const[]) { "old-abi", "basic", NULL });
  g_assert_true (vh_api ()->protect_check (vh_registry_find_plugin (fx.host, "old-abi"),
                                           "old-abi.wipe", &error));
  g_assert_no_error (error);
  g_assert_false (vh_api ()->protect_check (vh_registry_find_plugin (fx.host, "basic"),
                                            "basic.wipe", &error));
  g_assert_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'basic.wipe' is not a protected action"));
  core_fixture_clear (&fx);
}

/* ---- every failure sets the GError ----------------------------------- */

typedef struct {
  CoreFixture  fx;
  VigilPlugin *plugin;
  GError      *error;
} Slots;

static void
slots_setup (Slots *s, gconstpointer data)
{
  open_with_device (&s->fx, (const char *const[]) { "basic", NULL });
  s->plugin = vh_registry_find_plugin (s->fx.host, "basic");
  s->error = NULL;
}

static void
slots_teardown (Slots *s, gconstpointer data)
{
  g_clear_error (&s->error);
  core_fixture_clear (&s->fx);
}

/* The failure left an INVALID error that names @what; clears it. */
static void
assert_invalid (Slots *s, const char *what)
{
  g_assert_error (s->error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID);
  if (strstr (s->error->message, what) == NULL)
    g_error ("\"%s\" lacks \"%s\"", s->error->message, what);
  g_clear_error (&s->error);
}

static void
test_register_slots_null (Slots *s, gconstpointer data)
{
  const VigilHostApi *api = vh_api ();
  VigilPlugin *host = vh_registry_host_plugin (s->fx.host);

  g_assert_false (api->register_section (NULL, NULL, 0, &s->error));
  assert_invalid (s, "register_section: self is NULL");
  g_assert_false (api->register_section (host, NULL, sizeof (VigilSection), &s->error));
  assert_invalid (s, "VigilSection: missing");
  g_assert_false (api->register_task_type (NULL, NULL, 0, &s->error));
  assert_invalid (s, "register_task_type: self is NULL");
  g_assert_false (api->register_task_type (host, NULL, sizeof (VigilTaskType), &s->error));
  assert_invalid (s, "missing");
  g_assert_false (api->register_event_handler (NULL, NULL, 0, &s->error));
  assert_invalid (s, "register_event_handler: self is NULL");
  g_assert_false (api->register_event_handler (host, NULL, sizeof (VigilEventHandler),
                                               &s->error));
  assert_invalid (s, "VigilEventHandler: missing");
  g_assert_false (api->register_command (NULL, NULL, 0, &s->error));
  assert_invalid (s, "register_command: self is NULL");
  g_assert_false (api->register_command (host, NULL, sizeof (VigilCommand), &s->error));
  assert_invalid (s, "VigilCommand: missing");
  g_assert_false (api->register_protected_action (NULL, NULL, 0, &s->error));
  assert_invalid (s, "register_protected_action: self is NULL");
  g_assert_false (api->register_protected_action (host, NULL, sizeof (VigilProtectedAction),
                                                  &s->error));
  assert_invalid (s, "VigilProtectedAction: missing");
}

static void
test_emit_event_null (Slots *s, gconstpointer data)
{
  g_assert_null (vh_api ()->emit_event (s->plugin, NULL, NULL, 1, NULL, &s->error));
  assert_invalid (s, "emit_event: type is NULL");
  g_assert_null (vh_api ()->emit_event (NULL, "basic.x", NULL, 1, NULL, &s->error));
  assert_invalid (s, "emit_event: self is NULL");
  g_assert_null (vh_api ()->database_updated (NULL, NULL, NULL, &s->error));
  assert_invalid (s, "database_updated: self is NULL");
  g_assert_null (vh_api ()->evidence_put (NULL, "/x", 0, 1, &s->error));
  assert_invalid (s, "evidence_put: run is NULL");
  g_assert_null (vh_api ()->task_run_nested (NULL, NULL, 0, NULL, &s->error));
  assert_invalid (s, "task_run_nested: run is NULL");
}

static void
test_create_task_null (Slots *s, gconstpointer data)
{
  g_assert_null (vh_api ()->create_task (s->plugin, NULL, sizeof (VigilTaskSpec), &s->error));
  assert_invalid (s, "VigilTaskSpec: missing");
  g_assert_null (vh_api ()->create_task (NULL, NULL, 0, &s->error));
  assert_invalid (s, "create_task: self is NULL");
}

static void
test_settings_and_device_null (Slots *s, gconstpointer data)
{
  const VigilHostApi *api = vh_api ();

  g_assert_null (api->get_effective_settings (s->plugin, NULL, "basic", &s->error));
  assert_invalid (s, "get_effective_settings: device_id is NULL");
  g_assert_null (api->get_effective_settings (s->plugin, "d1", NULL, &s->error));
  assert_invalid (s, "get_effective_settings: section_id is NULL");
  g_assert_null (api->get_device (s->plugin, NULL, &s->error));
  assert_invalid (s, "get_device: device_id is NULL");
  g_assert_null (api->get_device (NULL, "d1", &s->error));
  assert_invalid (s, "get_device: self is NULL");
}

static void
test_store_null (Slots *s, gconstpointer data)
{
  const VigilHostApi *api = vh_api ();
  g_autoptr(JsonNode) doc = json_from_string ("{}", NULL);

  g_assert_false (api->store_put (s->plugin, NULL, "k", doc, &s->error));
  assert_invalid (s, "store_put: collection is NULL");
  g_assert_false (api->store_put (s->plugin, "c", NULL, doc, &s->error));
  assert_invalid (s, "store_put: key is NULL");
  g_assert_false (api->store_put (s->plugin, "c", "k", NULL, &s->error));
  assert_invalid (s, "store_put: document is NULL");
  g_assert_null (api->store_get (s->plugin, "c", NULL, &s->error));
  assert_invalid (s, "store_get: key is NULL");
  g_assert_false (api->store_delete (s->plugin, NULL, "k", &s->error));
  assert_invalid (s, "store_delete: collection is NULL");
  g_assert_null (api->store_list (s->plugin, NULL, &s->error));
  assert_invalid (s, "store_list: collection is NULL");
  g_assert_null (api->store_list (NULL, "c", &s->error));
  assert_invalid (s, "store_list: self is NULL");
}

static void
test_proxy_protect_task_null (Slots *s, gconstpointer data)
{
  const VigilHostApi *api = vh_api ();

  g_assert_null (api->resolve_proxy (s->plugin, "d1", NULL, &s->error));
  assert_invalid (s, "resolve_proxy: url is NULL");
  g_assert_false (api->protect_check (s->plugin, NULL, &s->error));
  assert_invalid (s, "protect_check: action is NULL");
  g_assert_null (api->get_task (s->plugin, NULL, &s->error));
  assert_invalid (s, "get_task: task_id is NULL");
  g_assert_null (api->get_task (NULL, "t", &s->error));
  assert_invalid (s, "get_task: self is NULL");
}

/* No GError to set: a critical and a harmless return, not a crash. */
static void
test_task_slots_null_run (void)
{
  const VigilHostApi *api = vh_api ();
  g_autoptr(JsonObject) finding = json_object_new ();

  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  g_assert_null (api->task_device_id (NULL));
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  g_assert_null (api->task_device_root (NULL));
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  g_assert_null (api->task_id (NULL));
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  api->task_progress (NULL, 0.5, "half");
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  api->task_add_finding (NULL, finding);
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  api->task_set_result (NULL, NULL);
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*run != NULL*");
  g_assert_null (api->task_plugin (NULL));
  g_test_assert_expected_messages ();
}

/* The other slots without a GError: the same, on a NULL plugin handle. */
static void
test_plain_slots_null_self (void)
{
  const VigilHostApi *api = vh_api ();
  VigilEvent event = { sizeof event };

  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  g_assert_false (api->has_task_type (NULL, "basic.echo"));
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  g_assert_cmpint (api->now (NULL), ==, 0);
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  g_assert_null (api->data_dir (NULL));
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  g_assert_false (api->telemetry_excluded (NULL, &event));
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  api->log (NULL, G_LOG_LEVEL_MESSAGE, "%s", "lost");
  g_test_expect_message ("vigil", G_LOG_LEVEL_CRITICAL, "*report != NULL*");
  api->report_problem (NULL, VIGIL_SEVERITY_ERROR, "x", "%s", "lost");
  g_test_assert_expected_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("VIGIL_PLUGIN_PATH");
  g_test_add_func ("/abi/1.0-plugin-loads", test_abi_1_0_plugin_loads);
  g_test_add_func ("/abi/1.0-spec-padding-ignored", test_abi_1_0_spec_padding_ignored);
  g_test_add_func ("/abi/reserved-member-set-refused", test_reserved_member_set_refused);
  g_test_add_func ("/abi/protect-check-of-undeclared-action-by-abi", test_protect_check_by_abi);
#define SLOT(path, fn) g_test_add (path, Slots, NULL, slots_setup, fn, slots_teardown)
  SLOT ("/abi/null/register-slots-set-error", test_register_slots_null);
  SLOT ("/abi/null/emit-event-sets-error", test_emit_event_null);
  SLOT ("/abi/null/create-task-sets-error", test_create_task_null);
  SLOT ("/abi/null/settings-and-device-set-error", test_settings_and_device_null);
  SLOT ("/abi/null/store-slots-set-error", test_store_null);
  SLOT ("/abi/null/proxy-protect-get-task-set-error", test_proxy_protect_task_null);
  g_test_add_func ("/abi/null/task-slots-survive-null-run", test_task_slots_null_run);
  g_test_add_func ("/abi/null/plain-slots-survive-null-self", test_plain_slots_null_self);
  return g_test_run ();
}
