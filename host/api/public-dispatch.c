/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API of runs that execute elsewhere (the fleet, #13): the
 * application registers a dispatcher and feeds back what the executing
 * side reports. Thin wrappers over the tasks layer's dispatch.c, which
 * takes the dispatcher as a hook so that tasks never calls up.
 */
#include "api-private.h"
#include "host-private.h"

void
vigil_host_set_run_dispatcher (VigilHost *host, VigilRunDispatchFunc func, gpointer user_data)
{
  g_return_if_fail (host != NULL);
  /* Same signature: the public type is the layer's hook. */
  vh_tasks_set_dispatcher (host, (VhRunDispatchFunc) func, user_data);
}

gboolean
vigil_host_record_run_report (VigilHost *host, const char *device_id, JsonObject *report,
                              GError **error)
{
  g_return_val_if_fail (host != NULL && device_id != NULL && report != NULL, FALSE);
  return vh_tasks_record_run_report (host, device_id, report, error);
}

guint
vigil_host_record_run_reports (VigilHost *host, guint n, const char *const *device_ids,
                               JsonObject *const *reports, GError **errors)
{
  g_return_val_if_fail (host != NULL && (n == 0 || (device_ids != NULL && reports != NULL)), 0);
  for (guint i = 0; i < n; i++)
    g_return_val_if_fail (device_ids[i] != NULL && reports[i] != NULL, 0);
  return n == 0 ? 0 : vh_tasks_record_run_reports (host, n, device_ids, reports, errors);
}
