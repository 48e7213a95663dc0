/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The `sandbox_response` settings as the plugin reads them, and the rules
 * that tie them together: a group action that acts on IOC-scan finds needs
 * the IOC scan; a start window needs two valid, different times; group
 * actions need the console account they run under. The account rule is a
 * warning, not an error: the product lets such a policy apply and reports
 * each failed group action as an event, while local actions keep working.
 */
#include "sr-engine.h"

#include <vigil/util/settings.h>

void
sr_config_clear (SrConfig *config)
{
  g_clear_pointer (&config->scope, g_free);
  g_clear_pointer (&config->window_start, g_free);
  g_clear_pointer (&config->window_end, g_free);
  g_clear_pointer (&config->account_user, g_free);
}

/* A non-empty string, or NULL: an empty account field is an unset one. */
static char *
dup_nonempty (JsonObject *settings, const char *group, const char *key)
{
  g_autofree char *s = vigil_settings_dup_string (&sr_schema, settings, group, key);

  return s != NULL && *s != '\0' ? g_steal_pointer (&s) : NULL;
}

static SrStart
start_mode (const char *text)
{
  if (g_strcmp0 (text, "manual") == 0)
    return SR_START_MANUAL;
  if (g_strcmp0 (text, "window") == 0)
    return SR_START_WINDOW;
  return SR_START_IMMEDIATELY;
}

#define GET_BOOL(group, key) vigil_settings_get_bool (&sr_schema, s, group, key)

void
sr_config_from_settings (SrConfig *c, JsonObject *s)
{
  g_autofree char *start = vigil_settings_dup_string (&sr_schema, s, "ioc_scanning", "start");
  g_autofree char *password = dup_nonempty (s, "account", "password");

  memset (c, 0, sizeof *c);
  c->enabled = GET_BOOL ("threat_response", "enabled");
  c->quarantine = GET_BOOL ("local_actions", "quarantine");
  c->notify_user = GET_BOOL ("local_actions", "notify_user");
  c->critical_scan = GET_BOOL ("local_actions", "critical_scan");
  c->ioc_scan = GET_BOOL ("group_actions", "ioc_scan");
  c->quarantine_when_found = GET_BOOL ("group_actions", "quarantine_when_found");
  c->critical_scan_when_found = GET_BOOL ("group_actions", "critical_scan_when_found");
  c->scope = vigil_settings_dup_string (&sr_schema, s, "ioc_scanning", "scope");
  c->start = start_mode (start);
  c->window_start = vigil_settings_dup_string (&sr_schema, s, "ioc_scanning", "window_start");
  c->window_end = vigil_settings_dup_string (&sr_schema, s, "ioc_scanning", "window_end");
  c->riskware = GET_BOOL ("riskware", "detect");
  c->account_user = dup_nonempty (s, "account", "user");
  c->has_account_password = password != NULL;
}

#undef GET_BOOL

gboolean
sr_config_has_group_actions (const SrConfig *c)
{
  return c->ioc_scan || c->quarantine_when_found || c->critical_scan_when_found;
}

gboolean
sr_config_has_account (const SrConfig *c)
{
  return c->account_user != NULL && c->has_account_password;
}

int
sr_parse_time_of_day (const char *text)
{
  if (text == NULL || strlen (text) != 5 || text[2] != ':'
      || !g_ascii_isdigit (text[0]) || !g_ascii_isdigit (text[1])
      || !g_ascii_isdigit (text[3]) || !g_ascii_isdigit (text[4]))
    return -1;
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  return h < 24 && m < 60 ? h * 60 + m : -1;
}

static void
check_dependency (const SrConfig *c, gboolean on, const char *key,
                  const char *what, SrProblemFunc func, gpointer data)
{
  g_autofree char *path = NULL;
  g_autofree char *msg = NULL;

  if (!on || c->ioc_scan)
    return;
  path = g_strdup_printf ("group_actions.%s", key);
  msg = g_strdup_printf ("needs group_actions.ioc_scan: %s where the group IOC "
                         "scan finds the object, so without that scan it never "
                         "happens; enable ioc_scan or turn %s off", what, key);
  func (TRUE, path, msg, data);
}

static void
check_window_time (const char *value, const char *key, SrProblemFunc func,
                   gpointer data)
{
  g_autofree char *path = g_strdup_printf ("ioc_scanning.%s", key);
  g_autofree char *msg = NULL;

  if (sr_parse_time_of_day (value) >= 0)
    return;
  msg = g_strdup_printf ("'%s' is not a time of day: use hh:mm, 00:00 to 23:59",
                         value ? value : "");
  func (TRUE, path, msg, data);
}

static void
check_window (const SrConfig *c, SrProblemFunc func, gpointer data)
{
  g_autofree char *msg = NULL;

  check_window_time (c->window_start, "window_start", func, data);
  check_window_time (c->window_end, "window_end", func, data);
  if (c->start != SR_START_WINDOW || g_strcmp0 (c->window_start, c->window_end) != 0)
    return;
  msg = g_strdup_printf ("equals window_start (%s): a start window needs two "
                         "different times (it may cross midnight, e.g. 20:00 "
                         "to 07:00)", c->window_start);
  func (TRUE, "ioc_scanning.window_end", msg, data);
}

static void
check_account (const SrConfig *c, SrProblemFunc func, gpointer data)
{
  if (!sr_config_has_group_actions (c))
    return;
  if (c->account_user == NULL)
    func (FALSE, "account.user",
          "group actions are on but no console account is set: each group "
          "action will fail with a response.failed event (local actions still "
          "run); set account.user and account.password", data);
  else if (!c->has_account_password)
    func (FALSE, "account.password",
          "group actions are on but the console account has no password: each "
          "group action will fail with a response.failed event (local actions "
          "still run)", data);
}

void
sr_settings_check (JsonObject *values, SrProblemFunc func, gpointer user_data)
{
  SrConfig c;

  sr_config_from_settings (&c, values);
  check_dependency (&c, c.quarantine_when_found, "quarantine_when_found",
                    "objects are quarantined", func, user_data);
  check_dependency (&c, c.critical_scan_when_found, "critical_scan_when_found",
                    "the critical-areas scan runs", func, user_data);
  check_window (&c, func, user_data);
  check_account (&c, func, user_data);
  sr_config_clear (&c);
}
