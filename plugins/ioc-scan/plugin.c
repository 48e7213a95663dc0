/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ioc-scan plugin's registrations: the `ioc_scan` settings section
 * (the IOC file size limit), the `ioc.scan` task type with its parameters
 * schema, and the `vigil ioc` command. The work is in plugin-task.c,
 * plugin-cli.c and the engine library.
 */
#include "plugin-private.h"

const VigilHostApi *ioc_api;
VigilPlugin        *ioc_self;

static const VigilField limit_fields[] = {
  { .key = "max_ioc_file_kb", .type = VIGIL_FIELD_INT, .default_json = "3072",
    .has_range = TRUE, .min = 1, .max = 65536,
    .description = "Largest IOC file accepted, in KiB; a larger file is refused "
                   "with a message and the rest of the collection still runs." },
};

static const VigilSettingsGroup groups[] = {
  { .id = "limits", .title = "IOC file limits", .fields = VIGIL_ARRAY (limit_fields) },
};

const VigilSection ioc_section = {
  .id = IOC_SECTION,
  .title = "IOC scan",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (groups),
};

static const VigilField task_params[] = {
  { .key = "iocs", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_OBJECT,
    .flags = VIGIL_FIELD_FLAG_REQUIRED,
    .description = "The IOC collection: objects {\"name\": \"x.ioc\", \"xml\": \"<ioc ...>\"}; "
                   "embedded so that the task is self-contained." },
  { .key = "scope", .type = VIGIL_FIELD_OBJECT,
    .default_json = "{\"kind\":\"critical_areas\",\"paths\":[],\"exclusions\":[]}",
    .description = "Where to look: kind system_drives, critical_areas or custom "
                   "(with paths), and exclusions (paths or glob patterns)." },
  { .key = "data_types", .type = VIGIL_FIELD_LIST, .item_type = VIGIL_FIELD_STRING,
    .default_json = "[\"file\"]",
    .description = "IOC documents to analyze; \"file\" (FileItem) is supported." },
  { .key = "on_detection", .type = VIGIL_FIELD_OBJECT,
    .default_json = "{\"quarantine\":false,\"critical_scan\":false}",
    .description = "Actions when an IOC is found: quarantine and delete the object "
                   "(a quarantine.put task), run a critical areas scan (an "
                   "epp.critical_scan task)." },
};

static const VigilTaskType task_type = {
  .id = IOC_TASK_TYPE,
  .title = "IOC scan",
  .description = "Searches the device's files for the indicators of compromise of "
                 "an OpenIOC 1.0/1.1 collection.",
  .params = VIGIL_ARRAY (task_params),
  .validate = ioc_task_validate,
  .run = ioc_task_run,
};

static const VigilCommand command = {
  .name = "ioc",
  .summary = "check OpenIOC files, scan folders for IOCs, export a collection",
  .run = ioc_cli_run,
  .flags = VIGIL_COMMAND_JSON,
};

static gboolean
ioc_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  ioc_api = api;
  ioc_self = self;
  return api->register_section (self, &ioc_section, sizeof ioc_section, error)
         && api->register_task_type (self, &task_type, sizeof task_type, error)
         && api->register_command (self, &command, sizeof command, error);
}

static void
ioc_shutdown (VigilPlugin *self)
{
  ioc_shared_collection_clear ();
}

/* Its task type (ioc.scan), its event (ioc.found) and its command (ioc). */
static const char *const ioc_namespaces[] = { "ioc", NULL };

VIGIL_PLUGIN_DEFINE_WITH_NAMESPACES ("ioc-scan", "IOC scan", "0.1.0", "LGPL-2.1-or-later",
                                     "OpenIOC 1.0/1.1 parsing and evaluation, the IOC Scan "
                                     "task and IOC collection export.",
                                     ioc_init, ioc_shutdown, ioc_namespaces)
