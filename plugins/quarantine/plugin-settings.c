/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `quarantine` policy section, after the product reference: the
 * quarantine folder, the optional maximum size and remaining-space
 * threshold (MB), the folder for restored objects, and whether data about
 * quarantined objects goes to the console (on by default). Folders are
 * device paths; unset means the defaults described in docs/quarantine.md.
 * The cross-field rule: the threshold is the space left until the maximum
 * size, so it needs a maximum and must be below it.
 */
#include "qplugin.h"

static const VigilField storage_fields[] = {
  { .key = "folder", .type = VIGIL_FIELD_PATH, .default_json = NULL,
    .description = "Quarantine folder on the device (a device path). Unset: "
                   "/var/lib/vigil/Quarantine inside the device root, or the "
                   "plugin's state folder for a device without one." },
  { .key = "max_size_mb", .type = VIGIL_FIELD_INT, .default_json = NULL,
    .has_range = TRUE, .min = 1, .max = 1048576,
    .description = "Maximum quarantine size in MB. Reaching it publishes "
                   "quarantine.limit_exceeded; quarantining goes on. Unset: no maximum." },
  { .key = "threshold_mb", .type = VIGIL_FIELD_INT, .default_json = NULL,
    .has_range = TRUE, .min = 1, .max = 1048576,
    .description = "Threshold of space left until the maximum size, in MB. "
                   "Reaching it publishes quarantine.threshold_reached; "
                   "quarantining goes on. Needs max_size_mb." },
};

static const VigilField restore_fields[] = {
  { .key = "restore_folder", .type = VIGIL_FIELD_PATH, .default_json = NULL,
    .description = "Folder for objects restored from quarantine (a device "
                   "path). Unset: Restored beside the quarantine folder." },
};

static const VigilField sync_fields[] = {
  { .key = "send_to_console", .type = VIGIL_FIELD_BOOL, .default_json = "true",
    .description = "Send data about quarantined objects to the console (the "
                   "common list); the files themselves never leave the device." },
};

static const VigilSettingsGroup groups[] = {
  { .id = "storage", .title = "Quarantine settings", .fields = VIGIL_ARRAY (storage_fields) },
  { .id = "restore", .title = "Restoring objects from Quarantine", .fields = VIGIL_ARRAY (restore_fields) },
  { .id = "sync", .title = "Synchronization with the console", .fields = VIGIL_ARRAY (sync_fields) },
};

static void
validate (JsonObject *values, VigilReport *report, gpointer user_data)
{
  gint64 max = vigil_settings_get_int (&qp_section, values, "storage", "max_size_mb", NULL);
  gint64 thr = vigil_settings_get_int (&qp_section, values, "storage", "threshold_mb", NULL);

  if (thr > 0 && max == 0)
    qp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "storage.threshold_mb",
                            "the threshold is the space left until the maximum "
                            "size; set storage.max_size_mb too");
  else if (thr > 0 && thr >= max)
    qp_api->report_problem (report, VIGIL_SEVERITY_ERROR, "storage.threshold_mb",
                            "%" G_GINT64_FORMAT " must be below storage.max_size_mb (%"
                            G_GINT64_FORMAT ")", thr, max);
}

const VigilSection qp_section = {
  .id = QP_SECTION,
  .title = "Quarantine",
  .schema_version = 1,
  .groups = VIGIL_ARRAY (groups),
  .validate = validate,
};
