/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turns a detection and the effective policy into the parameters of the
 * tasks the response creates (task types are the contract between
 * plugins: quarantine.put, notify.user, epp.critical_scan, ioc.scan) and
 * into the start schedule of the group IOC scan. The start modes map onto
 * host schedules one to one: manual -> created, not started; immediately ->
 * now; window -> the host's daily start window, whose rules (created before
 * the window: starts within it; inside: at once; after: in the next one)
 * the host scheduler implements.
 */
#include "sr-engine.h"

char *
sr_schedule_json (const SrConfig *c)
{
  switch (c->start)
    {
    case SR_START_MANUAL:
      return g_strdup ("{\"kind\":\"manual\"}");
    case SR_START_WINDOW:
      return g_strdup_printf ("{\"kind\":\"window\",\"start\":\"%s\",\"end\":\"%s\"}",
                              c->window_start, c->window_end);
    case SR_START_IMMEDIATELY:
    default:
      return g_strdup ("{\"kind\":\"now\"}");
    }
}

JsonObject *
sr_quarantine_params (const SrThreat *t, const char *event_id)
{
  JsonObject *p = json_object_new ();
  JsonObject *origin = json_object_new ();

  json_object_set_string_member (origin, "event", event_id);
  json_object_set_string_member (origin, "user", t->user);
  json_object_set_string_member (p, "path", t->path);
  json_object_set_string_member (p, "detection", t->threat);
  json_object_set_boolean_member (p, "delete_original", TRUE);
  json_object_set_string_member (p, "reason", "sandbox detection");
  json_object_set_object_member (p, "origin", origin);
  return p;
}

JsonObject *
sr_notify_params (const SrThreat *t)
{
  JsonObject *p = json_object_new ();
  g_autofree char *body = g_strdup_printf ("The malware sandbox found %s in %s. "
                                           "Threat response has been started on "
                                           "this device.", t->threat, t->path);

  json_object_set_string_member (p, "user", t->user);
  json_object_set_string_member (p, "title", "Threat detected");
  json_object_set_string_member (p, "body", body);
  json_object_set_string_member (p, "urgency", "critical");
  return p;
}

JsonObject *
sr_critical_scan_params (const SrThreat *t)
{
  JsonObject *p = json_object_new ();
  g_autofree char *reason = g_strdup_printf ("sandbox detection of %s in %s",
                                             t->threat, t->path);

  json_object_set_string_member (p, "reason", reason);
  return p;
}

JsonObject *
sr_ioc_scan_params (const SrConfig *c, const SrThreat *t, gint64 now_us)
{
  JsonObject *p = json_object_new ();
  JsonArray *iocs = json_array_new ();
  JsonObject *ioc = json_object_new ();
  JsonObject *scope = json_object_new ();
  JsonArray *types = json_array_new ();
  JsonObject *on = json_object_new ();
  g_autofree char *name = sr_ioc_file_name (t);
  g_autofree char *xml = sr_ioc_build (t, now_us);

  json_object_set_string_member (ioc, "name", name);
  json_object_set_string_member (ioc, "xml", xml);
  json_array_add_object_element (iocs, ioc);
  json_object_set_string_member (scope, "kind", c->scope);
  json_array_add_string_element (types, "file");
  json_object_set_boolean_member (on, "quarantine", c->quarantine_when_found);
  json_object_set_boolean_member (on, "critical_scan", c->critical_scan_when_found);
  json_object_set_array_member (p, "iocs", iocs);
  json_object_set_object_member (p, "scope", scope);
  json_object_set_array_member (p, "data_types", types);
  json_object_set_object_member (p, "on_detection", on);
  return p;
}

char *
sr_plugin_of_type (const char *type_id)
{
  const char *dot = strchr (type_id, '.');

  /* The one shipped plugin whose id is not its task types' prefix. */
  if (g_str_has_prefix (type_id, "ioc."))
    return g_strdup ("ioc-scan");
  return dot ? g_strndup (type_id, dot - type_id) : g_strdup (type_id);
}
