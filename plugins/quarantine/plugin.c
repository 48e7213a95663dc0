/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The quarantine plugin: registers the `quarantine` section, the task types
 * quarantine.put/restore/delete, the protected action quarantine.restore
 * (which also protects the task type) and the `vigil quarantine` command,
 * and at
 * start-up runs the recovery sweep over every store it has used before
 * (collection "stores"), so temporary files left by a crash are removed
 * and reported in the log before anything else touches the quarantine,
 * and recounts each store's size ledger. On a fleet console, agents'
 * quarantine events keep the common list (plugin-console.c).
 */
#include "qplugin.h"

const VigilHostApi *qp_api;
VigilPlugin        *qp_self;

static void
startup_sweep (void)
{
  g_autoptr (JsonObject) stores = qp_api->store_list (qp_self, QP_STORES, NULL);

  if (stores == NULL)
    return;
  for (GList *l = json_object_get_members (stores); l != NULL; l = g_list_delete_link (l, l))
    {
      JsonNode *n = json_object_get_member (stores, l->data);
      const char *dir = JSON_NODE_HOLDS_OBJECT (n)
          ? vigil_json_get_string (json_node_get_object (n), "dir")
          : NULL;
      g_autoptr (GError) error = NULL;
      QStore *store;

      if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
        continue;
      store = qp_store_open_logged (dir, &error);
      /* The size ledger is recounted once per start: it also catches
       * objects copied in or removed by hand while nothing was running. */
      if (store != NULL)
        qstore_recount (store, NULL, &error);
      if (error != NULL)
        qp_api->log (qp_self, G_LOG_LEVEL_WARNING, "recovery sweep of %s: %s",
                     dir, error->message);
      qstore_free (store);
    }
}

/* Named like the task type, so the task type is protected too. */
static const VigilProtectedAction restore_action = {
  .id = "quarantine.restore",
  .description = "Restore an object from quarantine (command or task)",
};

static gboolean
quarantine_init (const VigilHostApi *api, VigilPlugin *self, GError **error)
{
  qp_api = api;
  qp_self = self;
  if (!api->register_section (self, &qp_section, sizeof qp_section, error)
      || !qp_tasks_register (error) || !qp_command_register (error)
      || !qp_console_register (error)
      || !api->register_protected_action (self, &restore_action, sizeof restore_action,
                                          error))
    return FALSE;
  startup_sweep ();
  return TRUE;
}

VIGIL_PLUGIN_DEFINE ("quarantine", "Quarantine", "1.0.0", "LGPL-2.1-or-later",
                     "Encrypted, crash-safe local quarantine with restore, limits and a console view.",
                     quarantine_init, NULL)
