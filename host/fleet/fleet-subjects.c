/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fleet's per-device names (see fleet-subjects.h). Callers check the
 * device id first (vigil_fleet_device_id_check); these only format.
 */
#include "fleet-subjects.h"

char *
vigil_fleet_device_identity (const char *id, const char *enrollment)
{
  return g_strdup_printf ("urn:vigil:device:%s:%s", id, enrollment);
}

char *
vigil_fleet_bootstrap_identity (const char *enrollment)
{
  return g_strdup_printf ("urn:vigil:enroll:%s", enrollment);
}

char *
vigil_fleet_subject_enroll (const char *enrollment)
{
  return g_strdup_printf ("vigil.enroll.%s.request", enrollment);
}

char *
vigil_fleet_enroll_inbox_prefix (const char *enrollment)
{
  return g_strdup_printf ("vigil.enroll.%s.inbox", enrollment);
}

char *
vigil_fleet_subject_run (const char *id)
{
  return g_strdup_printf ("vigil.run.%s", id);
}

char *
vigil_fleet_subject_report (const char *id, const char *kind)
{
  return g_strdup_printf ("vigil.dev.%s.out.%s", id, kind);
}

char *
vigil_fleet_subject_live (const char *id, const char *kind)
{
  return g_strdup_printf ("vigil.dev.%s.live.%s", id, kind);
}

char *
vigil_fleet_subject_renew (const char *id)
{
  return g_strdup_printf ("vigil.dev.%s.renew", id);
}

char *
vigil_fleet_subject_check (const char *id)
{
  return g_strdup_printf ("vigil.dev.%s.check", id);
}

char *
vigil_fleet_subject_cancel (const char *id)
{
  return g_strdup_printf ("vigil.cancel.%s", id);
}

char *
vigil_fleet_subject_settings (const char *id)
{
  return g_strdup_printf ("$KV.%s.%s", VIGIL_FLEET_SETTINGS_BUCKET, id);
}

char *
vigil_fleet_inbox_prefix (const char *id)
{
  return g_strdup_printf ("vigil.inbox.%s", id);
}

char *
vigil_fleet_consumer_runs (const char *id)
{
  return g_strdup_printf ("run-%s", id);
}

char *
vigil_fleet_consumer_settings (const char *id)
{
  return g_strdup_printf ("settings-%s", id);
}
