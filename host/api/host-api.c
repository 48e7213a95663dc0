/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VigilHostApi table handed to every plugin's init: the only way a
 * plugin reaches the host. Each slot is a thin adapter that finds the host
 * through the plugin handle and calls the layer that owns the work (the
 * registry, tasks, policy, inventory, settings, or base for logging and
 * the document store; docs/architecture.md). Registration slots normalize
 * size-stamped structs, validate them, check that what they name is in the
 * plugin's own namespaces, and remember the first failure so the loader
 * refuses the plugin even if init ignores it. Every slot that takes a
 * GError sets it on every failure, a NULL argument included: a plugin that
 * reads error->message after a failure must not crash the host because the
 * host skipped a promise.
 */
#include "api-private.h"

#include <errno.h>
#include <glib/gstdio.h>

/* ---- arguments ------------------------------------------------------ */

/* Whether @arg is there; sets INVALID naming @slot and @name otherwise. */
static gboolean
present (gconstpointer arg, const char *slot, const char *name, GError **error)
{
  if (arg != NULL)
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "%s: %s is NULL", slot, name);
  return FALSE;
}

/* Reserved members were tail padding in ABI 1.0, which a 1.0 plugin may
 * have left uninitialized: from it they are ignored (and cleared). From a
 * newer plugin a set one is a field this host does not know. */
static gboolean
reserved_zero (VigilPlugin *self, guint32 *reserved, const char *what, GError **error)
{
  if (*reserved == 0)
    return TRUE;
  if (!self->builtin && self->abi_minor == 0)
    {
      *reserved = 0;
      return TRUE;
    }
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "%s: its reserved member is 0x%x and must be zero (the plugin may "
               "need a newer Vigil)", what, *reserved);
  return FALSE;
}

/* ---- logging and reports ------------------------------------------- */

static void
api_log (VigilPlugin *self, GLogLevelFlags level, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  g_return_if_fail (self != NULL && format != NULL);
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* A plugin must not be able to abort the host by logging an error. */
  if (level & G_LOG_LEVEL_ERROR)
    level = G_LOG_LEVEL_CRITICAL;
  vh_log (self->host, self->id, level & G_LOG_LEVEL_MASK, message);
}

static void
api_report_problem (VigilReport *report, VigilSeverity severity, const char *path,
                    const char *format, ...)
{
  va_list args;

  g_return_if_fail (report != NULL && format != NULL);
  va_start (args, format);
  vh_report_addv (report, severity, path, format, args);
  va_end (args);
}

/* ---- registrations ------------------------------------------------- */

static gboolean
may_register (VigilPlugin *self, const char *what, GError **error)
{
  if (self->builtin || self->in_init)
    return TRUE;
  g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
               "%s: registrations are only accepted during init", what);
  return FALSE;
}

/* Passes @local to the caller, and keeps the first one for the loader. */
static gboolean
registration_failed (VigilPlugin *self, GError *local, GError **error)
{
  if (self->in_init && self->registration_error == NULL)
    self->registration_error = g_error_copy (local);
  g_propagate_error (error, local);
  return FALSE;
}

static gboolean
api_register_section (VigilPlugin *self, const VigilSection *section, gsize size,
                      GError **error)
{
  GError *local = NULL;
  VhSection *entry;

  if (!present (self, "register_section", "self", error) ||
      !may_register (self, "register_section", error))
    return FALSE;
  entry = vh_normalize_section (self, section, size, &local);
  if (entry == NULL)
    return registration_failed (self, local, error);
  if (!vh_validate_section (&entry->section, &local) ||
      !vh_namespace_check (self, "section", entry->section.id, FALSE, &local) ||
      !vh_registry_add_section (self->host, entry, &local))
    {
      vh_section_entry_free (entry);
      return registration_failed (self, local, error);
    }
  return TRUE;
}

static gboolean
api_register_task_type (VigilPlugin *self, const VigilTaskType *type, gsize size,
                        GError **error)
{
  GError *local = NULL;
  VhTaskType *entry;

  if (!present (self, "register_task_type", "self", error) ||
      !may_register (self, "register_task_type", error))
    return FALSE;
  entry = vh_normalize_task_type (self, type, size, &local);
  if (entry == NULL)
    return registration_failed (self, local, error);
  if (!vh_validate_task_type (&entry->type, &local) ||
      !vh_namespace_check (self, "task type", entry->type.id, TRUE, &local) ||
      !vh_registry_add_task_type (self->host, entry, &local))
    {
      vh_task_type_entry_free (entry);
      return registration_failed (self, local, error);
    }
  return TRUE;
}

static gboolean
api_register_event_handler (VigilPlugin *self, const VigilEventHandler *handler,
                            gsize size, GError **error)
{
  GError *local = NULL;
  g_autofree VhHandler *entry = g_new0 (VhHandler, 1);

  if (!present (self, "register_event_handler", "self", error) ||
      !may_register (self, "register_event_handler", error))
    return FALSE;
  entry->plugin = self;
  if (!vh_copy_struct (&entry->handler, sizeof entry->handler, handler, size,
                       "VigilEventHandler", &local) ||
      !vh_validate_handler (&entry->handler, &local) ||
      !vh_registry_add_handler (self->host, entry, &local))
    return registration_failed (self, local, error);
  g_steal_pointer (&entry);
  return TRUE;
}

static gboolean
api_register_command (VigilPlugin *self, const VigilCommand *command, gsize size,
                      GError **error)
{
  GError *local = NULL;
  g_autofree VhCommand *entry = g_new0 (VhCommand, 1);

  if (!present (self, "register_command", "self", error) ||
      !may_register (self, "register_command", error))
    return FALSE;
  entry->plugin = self;
  if (!vh_copy_struct (&entry->command, sizeof entry->command, command, size,
                       "VigilCommand", &local) ||
      !reserved_zero (self, &entry->command.reserved, "VigilCommand", &local) ||
      !vh_validate_command (&entry->command, &local) ||
      !vh_namespace_check (self, "command", entry->command.name, FALSE, &local) ||
      !vh_registry_add_command (self->host, entry, &local))
    return registration_failed (self, local, error);
  g_steal_pointer (&entry);
  return TRUE;
}

static gboolean
api_register_protected_action (VigilPlugin *self, const VigilProtectedAction *action,
                               gsize size, GError **error)
{
  GError *local = NULL;
  g_autofree VhAction *entry = g_new0 (VhAction, 1);

  if (!present (self, "register_protected_action", "self", error) ||
      !may_register (self, "register_protected_action", error))
    return FALSE;
  entry->plugin = self;
  if (!vh_copy_struct (&entry->action, sizeof entry->action, action, size,
                       "VigilProtectedAction", &local) ||
      !vh_validate_action (&entry->action, &local) ||
      !vh_namespace_check (self, "protected action", entry->action.id, TRUE, &local) ||
      !vh_registry_add_action (self->host, entry, &local))
    return registration_failed (self, local, error);
  g_steal_pointer (&entry);
  return TRUE;
}

/* ---- events, tasks, settings, inventory ---------------------------- */

static char *
api_emit_event (VigilPlugin *self, const char *type, const char *device_id,
                guint payload_version, JsonObject *payload, GError **error)
{
  if (!present (self, "emit_event", "self", error) ||
      !present (type, "emit_event", "type", error) ||
      !vh_namespace_check (self, "event type", type, TRUE, error))
    return NULL;
  return vh_events_emit (self->host, self->id, type, device_id, payload_version,
                         payload, error);
}

/* The one host event a plugin may cause: its namespace is the host's, so
 * emit_event refuses it, and the product's updater runs in a plugin. */
static char *
api_database_updated (VigilPlugin *self, const char *device_id, JsonObject *payload,
                      GError **error)
{
  if (!present (self, "database_updated", "self", error))
    return NULL;
  return vh_events_emit (self->host, self->id, "host.database_updated", device_id, 1,
                         payload, error);
}

/* The run's device and task name the evidence: a plugin cannot file a
 * file under another device. */
static JsonObject *
api_evidence_put (VigilTaskRun *run, const char *path, int fd, gint64 max_bytes,
                  GError **error)
{
  VigilPlugin *self;

  if (run == NULL || path == NULL || fd < 0 || max_bytes < 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "evidence_put: %s", run == NULL ? "run is NULL" : path == NULL
                   ? "path is NULL" : fd < 0 ? "fd is negative" : "max_bytes is negative");
      return NULL;
    }
  self = vh_run_plugin (run);
  return vh_api_evidence_put (self->host, vh_run_device_id (run), vh_run_task_id (run), path,
                              fd, max_bytes, error);
}

static char *
api_create_task (VigilPlugin *self, const VigilTaskSpec *spec, gsize spec_size,
                 GError **error)
{
  VigilTaskSpec copy;
  char *id;

  if (!present (self, "create_task", "self", error) ||
      !vh_copy_struct (&copy, sizeof copy, spec, spec_size, "VigilTaskSpec", error) ||
      !reserved_zero (self, &copy.reserved, "VigilTaskSpec", error))
    return NULL;
  if (copy.type == NULL || vh_registry_task_type (self->host, copy.type) == NULL)
    {
      g_autofree char *why = copy.type
        ? vh_registry_explain_missing_task_type (self->host, copy.type)
        : g_strdup ("the task spec has no type");
      g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND, why);
      return NULL;
    }
  id = vh_tasks_create (self->host, self->id, &copy, error);
  /* A task a handler creates continues the handler's chain of events. */
  vh_events_chain_note_task (self->host, id);
  return id;
}

static gboolean
api_has_task_type (VigilPlugin *self, const char *type_id)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return vh_registry_task_type (self->host, type_id) != NULL;
}

static JsonObject *
api_get_effective_settings (VigilPlugin *self, const char *device_id,
                            const char *section_id, GError **error)
{
  if (!present (self, "get_effective_settings", "self", error) ||
      !present (device_id, "get_effective_settings", "device_id", error) ||
      !present (section_id, "get_effective_settings", "section_id", error))
    return NULL;
  return vh_effective_section (self->host, device_id, section_id, NULL, error);
}

static JsonObject *
api_get_effective_origins (VigilPlugin *self, const char *device_id,
                           const char *section_id, GError **error)
{
  g_autoptr (JsonObject) values = NULL;
  JsonObject *sources = NULL;

  if (!present (self, "get_effective_origins", "self", error) ||
      !present (device_id, "get_effective_origins", "device_id", error) ||
      !present (section_id, "get_effective_origins", "section_id", error))
    return NULL;
  values = vh_effective_section_sources (self->host, device_id, section_id, NULL,
                                         &sources, error);
  return values != NULL ? sources : NULL;
}

static JsonObject *
api_get_device (VigilPlugin *self, const char *device_id, GError **error)
{
  if (!present (self, "get_device", "self", error) ||
      !present (device_id, "get_device", "device_id", error))
    return NULL;
  return vh_inventory_device (self->host, device_id, error);
}

static gint64
api_now (VigilPlugin *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return vigil_host_now (self->host);
}

/* <state>/plugins/<id>/, private to the user running vigil. */
static const char *
api_data_dir (VigilPlugin *self)
{
  g_autoptr(GMutexLocker) locker = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  locker = g_mutex_locker_new (&self->lock);
  if (self->data_dir == NULL)
    {
      self->data_dir = g_build_filename (self->host->state_dir, "plugins", self->id, NULL);
      if (g_mkdir_with_parents (self->data_dir, 0700) != 0 ||
          g_chmod (self->data_dir, 0700) != 0)
        {
          g_autofree char *msg = g_strdup_printf ("cannot create %s: %s", self->data_dir,
                                                  g_strerror (errno));
          vh_log (self->host, self->id, G_LOG_LEVEL_MESSAGE, msg);
        }
    }
  return self->data_dir;
}

/* ---- the plugin document store ------------------------------------- */

static gboolean
api_store_put (VigilPlugin *self, const char *collection, const char *key,
               JsonNode *document, GError **error)
{
  if (!present (self, "store_put", "self", error) ||
      !present (collection, "store_put", "collection", error) ||
      !present (key, "store_put", "key", error) ||
      !present (document, "store_put", "document", error))
    return FALSE;
  return vh_docs_put (self->host, self->id, collection, key, document, error);
}

static JsonNode *
api_store_get (VigilPlugin *self, const char *collection, const char *key,
               GError **error)
{
  if (!present (self, "store_get", "self", error) ||
      !present (collection, "store_get", "collection", error) ||
      !present (key, "store_get", "key", error))
    return NULL;
  return vh_docs_get (self->host, self->id, collection, key, error);
}

static gboolean
api_store_delete (VigilPlugin *self, const char *collection, const char *key,
                  GError **error)
{
  if (!present (self, "store_delete", "self", error) ||
      !present (collection, "store_delete", "collection", error) ||
      !present (key, "store_delete", "key", error))
    return FALSE;
  return vh_docs_delete (self->host, self->id, collection, key, error);
}

static JsonObject *
api_store_list (VigilPlugin *self, const char *collection, GError **error)
{
  if (!present (self, "store_list", "self", error) ||
      !present (collection, "store_list", "collection", error))
    return NULL;
  return vh_docs_list (self->host, self->id, collection, error);
}

/* ---- inside a task run ---------------------------------------------- */

/* The run handle is the host's own, but a plugin bug must not become a
 * NULL dereference in the host. */
static const char *
api_task_device_id (VigilTaskRun *run)
{
  g_return_val_if_fail (run != NULL, NULL);
  return vh_run_device_id (run);
}

static const char *
api_task_device_root (VigilTaskRun *run)
{
  g_return_val_if_fail (run != NULL, NULL);
  return vh_run_device_root (run);
}

static const char *
api_task_id (VigilTaskRun *run)
{
  g_return_val_if_fail (run != NULL, NULL);
  return vh_run_task_id (run);
}

static void
api_task_progress (VigilTaskRun *run, double fraction, const char *message)
{
  g_return_if_fail (run != NULL);
  vh_run_progress (run, fraction, message);
}

static void
api_task_add_finding (VigilTaskRun *run, JsonObject *finding)
{
  g_return_if_fail (run != NULL);
  vh_run_add_finding (run, finding);
}

static void
api_task_set_result (VigilTaskRun *run, JsonNode *result)
{
  g_return_if_fail (run != NULL);
  vh_run_set_result (run, result);
}

static VigilPlugin *
api_task_plugin (VigilTaskRun *run)
{
  g_return_val_if_fail (run != NULL, NULL);
  return vh_run_plugin (run);
}

/* A step of a run that is another plugin's task: created for the run's
 * device, run here and now (see plugin.h). */
static JsonNode *
api_task_run_nested (VigilTaskRun *run, const VigilTaskSpec *spec, gsize spec_size,
                     char **task_id, GError **error)
{
  VigilPlugin *self;
  VigilTaskSpec copy;
  g_autofree char *id = NULL;
  JsonNode *result;

  if (!present (run, "task_run_nested", "run", error))
    return NULL;
  self = vh_run_plugin (run);
  if (!vh_copy_struct (&copy, sizeof copy, spec, spec_size, "VigilTaskSpec", error) ||
      !reserved_zero (self, &copy.reserved, "VigilTaskSpec", error))
    return NULL;
  if (copy.device_id != NULL || copy.group_id != NULL || copy.exclude_devices != NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "task_run_nested: the task runs on the run's own device: "
                   "give no device, group or exclusions");
      return NULL;
    }
  if (copy.type == NULL || vh_registry_task_type (self->host, copy.type) == NULL)
    {
      g_autofree char *why = copy.type
        ? vh_registry_explain_missing_task_type (self->host, copy.type)
        : g_strdup ("the task spec has no type");
      g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND, why);
      return NULL;
    }
  if (vh_registry_action (self->host, copy.type) != NULL)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                   "task_run_nested: '%s' is a protected action, and no password can "
                   "be asked from inside a run", copy.type);
      return NULL;
    }
  copy.device_id = vh_run_device_id (run);
  copy.schedule = "{\"kind\":\"manual\"}";
  id = vh_tasks_create (self->host, self->id, &copy, error);
  if (id == NULL)
    return NULL;
  result = vh_run_nested (run, id, error);
  if (task_id != NULL)
    *task_id = g_steal_pointer (&id);
  return result;
}

/* ---- general: proxies and telemetry -------------------------------- */

static char *
api_resolve_proxy (VigilPlugin *self, const char *device_id, const char *url,
                   GError **error)
{
  if (!present (self, "resolve_proxy", "self", error) ||
      !present (url, "resolve_proxy", "url", error))
    return NULL;
  return vh_general_resolve_proxy (self->host, device_id, url, error);
}

static gboolean
api_telemetry_excluded (VigilPlugin *self, const VigilEvent *event)
{
  g_return_val_if_fail (self != NULL && event != NULL, FALSE);
  return vh_general_telemetry_excluded (self->host, event);
}

static gboolean
api_protect_check (VigilPlugin *self, const char *action, GError **error)
{
  if (!present (self, "protect_check", "self", error) ||
      !present (action, "protect_check", "action", error))
    return FALSE;
  /* A 1.0 plugin could not declare its actions, and an undeclared action
   * could never be listed as protected: for it nothing changed. */
  if (!self->builtin && self->abi_minor == 0 &&
      vh_registry_action (self->host, action) == NULL)
    return TRUE;
  return vh_protect_check (self->host, action, error);
}

static JsonObject *
api_get_task (VigilPlugin *self, const char *task_id, GError **error)
{
  g_autoptr (JsonObject) task = NULL;
  const VhTaskType *type;

  if (!present (self, "get_task", "self", error) ||
      !present (task_id, "get_task", "task_id", error))
    return NULL;
  task = vh_tasks_get (self->host, task_id, error);
  if (task == NULL)
    return NULL;
  /* Parameters may be another plugin's business (paths, hashes, secrets in
   * its own format): a plugin sees the tasks of its own types, and the
   * tasks it created itself (it wrote their parameters). */
  type = vh_registry_task_type (self->host, json_object_get_string_member (task, "type"));
  if ((type == NULL || type->plugin != self)
      && g_strcmp0 (json_object_get_string_member_with_default (task, "source", NULL),
                    self->id) != 0)
    {
      g_set_error (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_NOT_FOUND,
                   "task %s is not a task of the plugin '%s'", task_id, self->id);
      return NULL;
    }
  return g_steal_pointer (&task);
}

/* ---- the table ----------------------------------------------------- */

static const VigilHostApi api_table = {
  .struct_size = sizeof (VigilHostApi),
  .abi_major = VIGIL_ABI_MAJOR,
  .abi_minor = VIGIL_ABI_MINOR,
  .log = api_log,
  .register_section = api_register_section,
  .register_task_type = api_register_task_type,
  .register_event_handler = api_register_event_handler,
  .register_command = api_register_command,
  .report_problem = api_report_problem,
  .emit_event = api_emit_event,
  .create_task = api_create_task,
  .has_task_type = api_has_task_type,
  .get_effective_settings = api_get_effective_settings,
  .get_device = api_get_device,
  .now = api_now,
  .data_dir = api_data_dir,
  .store_put = api_store_put,
  .store_get = api_store_get,
  .store_delete = api_store_delete,
  .store_list = api_store_list,
  .task_device_id = api_task_device_id,
  .task_device_root = api_task_device_root,
  .task_id = api_task_id,
  .task_progress = api_task_progress,
  .task_add_finding = api_task_add_finding,
  .task_set_result = api_task_set_result,
  .task_plugin = api_task_plugin,
  .resolve_proxy = api_resolve_proxy,
  .telemetry_excluded = api_telemetry_excluded,
  .protect_check = api_protect_check,
  .get_task = api_get_task,
  .register_protected_action = api_register_protected_action,
  .get_effective_origins = api_get_effective_origins,
  .database_updated = api_database_updated,
  .evidence_put = api_evidence_put,
  .task_run_nested = api_task_run_nested,
};

const VigilHostApi *
vh_api (void)
{
  return &api_table;
}
