/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Task schedules: parsing the schedule JSON of a VigilTaskSpec and computing
 * when a task should next start. Pure functions of their arguments (the
 * clock and the time zone are passed in), so every rule is tested without
 * sleeping. Wall-clock rules (daily, weekly, windows) are computed in local
 * time through GDateTime, so they keep their hour across DST changes; hourly
 * schedules step in absolute time. A window task starts once, at the first
 * moment inside its daily window at or after its creation: created before the
 * window it starts when the window opens, created inside it starts at once,
 * created after it starts when the next window opens (the admin guide's
 * rules for autonomous IOC scans).
 */
#include "tasks/tasks-private.h"

#include "vigil/util/json.h"

#define US_PER_MIN  (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define US_PER_HOUR (60 * US_PER_MIN)

static const char *const kind_names[] = {
  [VH_SCHEDULE_MANUAL] = "manual",
  [VH_SCHEDULE_NOW] = "now",
  [VH_SCHEDULE_ONCE] = "once",
  [VH_SCHEDULE_HOURLY] = "hourly",
  [VH_SCHEDULE_DAILY] = "daily",
  [VH_SCHEDULE_WEEKLY] = "weekly",
  [VH_SCHEDULE_ON_START] = "on_start",
  [VH_SCHEDULE_AFTER_UPDATE] = "after_update",
  [VH_SCHEDULE_WINDOW] = "window",
};

const char *
vh_schedule_kind_name (VhScheduleKind kind)
{
  if (kind < VH_SCHEDULE_MANUAL || kind > VH_SCHEDULE_WINDOW)
    return "unknown";
  return kind_names[kind];
}

static gboolean
kind_from_name (const char *name, VhScheduleKind *kind)
{
  for (int k = VH_SCHEDULE_MANUAL; k <= VH_SCHEDULE_WINDOW; k++)
    if (g_strcmp0 (name, kind_names[k]) == 0)
      {
        *kind = k;
        return TRUE;
      }
  return FALSE;
}

static gboolean
fail (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VIGIL_PLUGIN_ERROR, VIGIL_PLUGIN_ERROR_INVALID,
                       message);
  return FALSE;
}

/* "hh:mm" (one or two hour digits), 00:00 to 23:59. */
static gboolean
parse_time_of_day (const char *text, int *minutes)
{
  int h = 0, m = 0, i = 0;

  if (!g_ascii_isdigit (text[i]))
    return FALSE;
  h = text[i++] - '0';
  if (g_ascii_isdigit (text[i]))
    h = h * 10 + (text[i++] - '0');
  if (text[i++] != ':' || !g_ascii_isdigit (text[i]) || !g_ascii_isdigit (text[i + 1])
      || text[i + 2] != '\0')
    return FALSE;
  m = (text[i] - '0') * 10 + (text[i + 1] - '0');
  if (h > 23 || m > 59)
    return FALSE;
  *minutes = h * 60 + m;
  return TRUE;
}

static gboolean
get_string_member (JsonObject *object, const char *key, const char **value,
                   GError **error)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL)
    return fail (error, "schedule.%s: missing", key);
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail (error, "schedule.%s: must be a string", key);
  *value = json_node_get_string (node);
  return TRUE;
}

static gboolean
parse_at (JsonObject *object, GTimeZone *tz, VhSchedule *out, GError **error)
{
  const char *text;
  g_autoptr (GDateTime) dt = NULL;

  if (!get_string_member (object, "at", &text, error))
    return FALSE;
  dt = g_date_time_new_from_iso8601 (text, tz);
  if (dt == NULL)
    return fail (error, "schedule.at: '%s' is not an ISO-8601 date and time "
                 "(for example 2026-11-22T20:00:00Z, or without Z for local time)",
                 text);
  out->has_at = TRUE;
  out->at_us = vh_datetime_to_us (dt);
  return TRUE;
}

static gboolean
parse_window (JsonObject *object, VhSchedule *out, GError **error)
{
  const char *start, *end;

  if (!get_string_member (object, "start", &start, error)
      || !get_string_member (object, "end", &end, error))
    return FALSE;
  if (!parse_time_of_day (start, &out->start_min))
    return fail (error, "schedule.start: '%s' is not a time of day hh:mm (00:00–23:59)", start);
  if (!parse_time_of_day (end, &out->end_min))
    return fail (error, "schedule.end: '%s' is not a time of day hh:mm (00:00–23:59)", end);
  /* An empty window would never open, and reading it as "all day" would
   * silently start tasks at once; both surprise an admin, so refuse. */
  if (out->start_min == out->end_min)
    return fail (error, "schedule: the window %s–%s is empty (start equals end); "
                 "use {\"kind\":\"now\"} to start at any time", start, end);
  return TRUE;
}

/* Every key of @object must be "kind" or one of @allowed. */
static gboolean
check_keys (JsonObject *object, const char *kind, const char *const *allowed,
            GError **error)
{
  g_autoptr (GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      if (g_str_equal (key, "kind") || (allowed && g_strv_contains (allowed, key)))
        continue;
      g_autofree char *expected = allowed ? g_strjoinv (", ", (char **) allowed)
                                          : g_strdup ("only kind");
      return fail (error, "schedule.%s: unknown key for kind '%s' (expected %s)",
                   key, kind, expected);
    }
  return TRUE;
}

static gboolean
parse_object (JsonObject *object, GTimeZone *tz, VhSchedule *out, GError **error)
{
  static const char *const at_keys[] = { "at", NULL };
  static const char *const window_keys[] = { "start", "end", NULL };
  const char *kind_text;

  if (!get_string_member (object, "kind", &kind_text, error))
    return FALSE;
  if (!kind_from_name (kind_text, &out->kind))
    return fail (error, "schedule.kind: unknown kind '%s' (expected manual, now, once, "
                 "hourly, daily, weekly, on_start, after_update or window)", kind_text);

  switch (out->kind)
    {
    case VH_SCHEDULE_ONCE:
      return check_keys (object, kind_text, at_keys, error)
             && parse_at (object, tz, out, error);
    case VH_SCHEDULE_HOURLY:
    case VH_SCHEDULE_DAILY:
    case VH_SCHEDULE_WEEKLY:
      return check_keys (object, kind_text, at_keys, error)
             && (!json_object_has_member (object, "at") || parse_at (object, tz, out, error));
    case VH_SCHEDULE_WINDOW:
      return check_keys (object, kind_text, window_keys, error)
             && parse_window (object, out, error);
    default:
      return check_keys (object, kind_text, NULL, error);
    }
}

gboolean
vh_schedule_parse (const char *text, GTimeZone *tz, VhSchedule *out,
                   GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonNode) root = NULL;

  memset (out, 0, sizeof *out);
  if (text == NULL)
    {
      out->kind = VH_SCHEDULE_NOW;
      return TRUE;
    }
  if (strlen (text) > VH_SCHEDULE_MAX_TEXT)
    return fail (error, "schedule: longer than %d bytes", VH_SCHEDULE_MAX_TEXT);

  root = vigil_json_parse (text, -1, VIGIL_JSON_STRICT, NULL, &local_error);
  if (root == NULL)
    return fail (error, "schedule: not valid JSON: %s", local_error->message);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return fail (error, "schedule: must be a JSON object such as {\"kind\":\"now\"}");
  return parse_object (json_node_get_object (root), tz, out, error);
}

char *
vh_schedule_to_json (const VhSchedule *schedule)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, vh_schedule_kind_name (schedule->kind));
  if (schedule->has_at)
    {
      g_autofree char *at = vh_iso_time (schedule->at_us);
      json_builder_set_member_name (b, "at");
      json_builder_add_string_value (b, at);
    }
  if (schedule->kind == VH_SCHEDULE_WINDOW)
    {
      g_autofree char *start = g_strdup_printf ("%02d:%02d", schedule->start_min / 60,
                                                schedule->start_min % 60);
      g_autofree char *end = g_strdup_printf ("%02d:%02d", schedule->end_min / 60,
                                              schedule->end_min % 60);
      json_builder_set_member_name (b, "start");
      json_builder_add_string_value (b, start);
      json_builder_set_member_name (b, "end");
      json_builder_add_string_value (b, end);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

char *
vh_schedule_describe (const VhSchedule *s, GTimeZone *tz)
{
  g_autoptr (GDateTime) at = NULL;
  g_autofree char *at_text = NULL;

  if (s->has_at)
    {
      g_autoptr (GDateTime) utc = vh_datetime_from_us (s->at_us);
      at = g_date_time_to_timezone (utc, tz);
      at_text = g_date_time_format (at, "%Y-%m-%d %H:%M");
    }
  switch (s->kind)
    {
    case VH_SCHEDULE_MANUAL:       return g_strdup ("manual start");
    case VH_SCHEDULE_NOW:          return g_strdup ("start at once");
    case VH_SCHEDULE_ON_START:     return g_strdup ("on application start");
    case VH_SCHEDULE_AFTER_UPDATE: return g_strdup ("after a database update");
    case VH_SCHEDULE_ONCE:         return g_strdup_printf ("once at %s", at_text);
    case VH_SCHEDULE_WINDOW:
      return g_strdup_printf ("within %02d:%02d-%02d:%02d", s->start_min / 60,
                              s->start_min % 60, s->end_min / 60, s->end_min % 60);
    default:
      return at_text ? g_strdup_printf ("%s from %s", kind_names[s->kind], at_text)
                     : g_strdup_printf ("%s from creation", kind_names[s->kind]);
    }
}

/* ---- next start ------------------------------------------------------ */

static GDateTime *
local_time (gint64 time_us, GTimeZone *tz)
{
  g_autoptr (GDateTime) utc = vh_datetime_from_us (time_us);
  return g_date_time_to_timezone (utc, tz);
}

/* @minutes after midnight on the local day of @day. A time skipped by a DST
 * change is moved forward by GLib to the first time that exists. */
static gint64
local_day_at (GDateTime *day, int minutes, GTimeZone *tz)
{
  g_autoptr (GDateTime) dt = g_date_time_new (tz, g_date_time_get_year (day),
                                              g_date_time_get_month (day),
                                              g_date_time_get_day_of_month (day),
                                              minutes / 60, minutes % 60, 0);
  return vh_datetime_to_us (dt);
}

gboolean
vh_schedule_in_window (const VhSchedule *s, gint64 time_us, GTimeZone *tz)
{
  g_autoptr (GDateTime) local = local_time (time_us, tz);
  int m = g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);

  if (s->start_min < s->end_min)
    return m >= s->start_min && m < s->end_min;
  return m >= s->start_min || m < s->end_min;   /* crosses midnight */
}

/* The first moment at or after @t inside the window. */
static gint64
window_first_at_or_after (const VhSchedule *s, gint64 t, GTimeZone *tz)
{
  g_autoptr (GDateTime) local = NULL;
  g_autoptr (GDateTime) tomorrow = NULL;
  gint64 today_start;

  if (vh_schedule_in_window (s, t, tz))
    return t;
  local = local_time (t, tz);
  today_start = local_day_at (local, s->start_min, tz);
  if (today_start > t)
    return today_start;
  tomorrow = g_date_time_add_days (local, 1);
  return local_day_at (tomorrow, s->start_min, tz);
}

static gint64
window_next (const VhSchedule *s, gint64 created_us, gint64 now_us, GTimeZone *tz)
{
  gint64 first = window_first_at_or_after (s, created_us, tz);

  /* A window missed entirely (the host was not running) must not start the
   * task outside a window: wait for the next one. */
  if (first < now_us && !vh_schedule_in_window (s, now_us, tz))
    return window_first_at_or_after (s, now_us, tz);
  return first;
}

/* The first occurrence of first + k periods (k >= 0) after @last. */
static gint64
periodic_next (const VhSchedule *s, gint64 first_us, gint64 last_us, GTimeZone *tz)
{
  int step_days = s->kind == VH_SCHEDULE_WEEKLY ? 7 : 1;
  g_autoptr (GDateTime) first = NULL;
  gint64 k;

  if (last_us < first_us)
    return first_us;
  if (s->kind == VH_SCHEDULE_HOURLY)
    return first_us + ((last_us - first_us) / US_PER_HOUR + 1) * US_PER_HOUR;

  /* Step in local calendar days so 10:00 stays 10:00 across DST; start a
   * little before the estimate since local days may be 23 or 25 hours. */
  first = local_time (first_us, tz);
  k = (last_us - first_us) / (24 * US_PER_HOUR * step_days);
  k = MAX (k - 1, 0);
  for (;; k++)
    {
      g_autoptr (GDateTime) candidate = g_date_time_add_days (first, (int) (k * step_days));
      gint64 t = vh_datetime_to_us (candidate);
      if (t > last_us)
        return t;
    }
}

gint64
vh_schedule_next (const VhSchedule *s, gint64 created_us, gint64 last_run_us,
                  gint64 now_us, GTimeZone *tz)
{
  gboolean ran = last_run_us != 0;

  switch (s->kind)
    {
    case VH_SCHEDULE_NOW:
      return ran ? VH_SCHEDULE_NEVER : created_us;
    case VH_SCHEDULE_ONCE:
      return ran ? VH_SCHEDULE_NEVER : s->at_us;
    case VH_SCHEDULE_HOURLY:
    case VH_SCHEDULE_DAILY:
    case VH_SCHEDULE_WEEKLY:
      {
        gint64 first = s->has_at ? s->at_us : created_us;
        return ran ? periodic_next (s, first, last_run_us, tz) : first;
      }
    case VH_SCHEDULE_WINDOW:
      return ran ? VH_SCHEDULE_NEVER : window_next (s, created_us, now_us, tz);
    default:
      return VH_SCHEDULE_NEVER;   /* manual and triggered kinds */
    }
}

/* ---- time helpers shared by the module ------------------------------ */

GDateTime *
vh_datetime_from_us (gint64 time_us)
{
  gint64 secs = time_us / G_USEC_PER_SEC;
  gint64 rest = time_us % G_USEC_PER_SEC;
  g_autoptr (GDateTime) whole = NULL;

  if (rest < 0)
    {
      secs -= 1;
      rest += G_USEC_PER_SEC;
    }
  whole = g_date_time_new_from_unix_utc (secs);
  return g_date_time_add (whole, rest);
}

gint64
vh_datetime_to_us (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

char *
vh_format_time (gint64 time_us)
{
  g_autoptr (GDateTime) utc = vh_datetime_from_us (time_us);
  g_autoptr (GDateTime) local = g_date_time_to_local (utc);
  return g_date_time_format (local, "%Y-%m-%d %H:%M:%S");
}

char *
vh_iso_time (gint64 time_us)
{
  g_autoptr (GDateTime) utc = vh_datetime_from_us (time_us);
  return g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
}
