/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A plugin built against a future minor of the ABI: its registration
 * structs are larger than this host's, and its host API table has a slot
 * this host lacks. With the extra fields zero (default) the host accepts
 * the registrations; with -DSET_TAIL a future field is set and the host
 * must refuse rather than silently ignore it. It checks for the future API
 * slot the documented way (struct_size) and registers a section saying
 * what it found.
 */
#include <vigil/plugin.h>

/* What a later vigil/plugin.h might declare. */
typedef struct {
  VigilSection base;
  const char  *future_icon;       /* a field this host does not know */
} FutureSection;

typedef struct {
  VigilTaskType base;
  guint64       future_timeout_ms;
} FutureTaskType;

typedef struct {
  VigilField base;
  const char *future_unit;
} FutureField;

typedef struct {
  VigilHostApi base;
  void (*future_slot) (VigilPlugin *self);
} FutureHostApi;

static const FutureField fields[] = {
  { .base = { .key = "future_api", .type = VIGIL_FIELD_BOOL, .default_json = "false" } },
  { .base = { .key = "size", .type = VIGIL_FIELD_INT, .default_json = "3" } },
};

static const VigilSettingsGroup groups[] = {
  { .id = "main", .fields = (const VigilField *) fields, .n_fields = G_N_ELEMENTS (fields),
    .field_size = sizeof (FutureField) },
};

static gboolean
run_nothing (VigilTaskRun *run, JsonObject *params, GCancellable *cancellable,
             gpointer user_data, GError **error)
{
  return TRUE;
}

static gboolean
future_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  static FutureSection section = {
    .base = { .id = TEST_ID, .schema_version = 1, .groups = VIGIL_ARRAY (groups) },
  };
  static FutureTaskType type = {
    .base = { .id = TEST_ID ".wait", .run = run_nothing },
  };
  gboolean has_future_slot =
    api->struct_size >= G_STRUCT_OFFSET (FutureHostApi, future_slot) + sizeof (gpointer);

  /* A careful plugin never calls a slot the host lacks. */
  if (has_future_slot)
    ((const FutureHostApi *) api)->future_slot (self);
#if defined(SET_TAIL)
  type.future_timeout_ms = 5000;
#endif
  return api->register_section (self, &section.base, sizeof section, error) &&
         api->register_task_type (self, &type.base, sizeof type, error);
}

VIGIL_PLUGIN_DEFINE (TEST_ID, "Future plugin", "9.0", "LGPL-2.1-or-later",
                     "Built against larger registration structs.", future_init, NULL)
