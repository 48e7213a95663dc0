/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parses the report of clamscan / clamdscan (and of any command that prints
 * the same format): one "PATH: THREAT FOUND" line per detection, "PATH:
 * MESSAGE ERROR" per file that could not be scanned, then an optional
 * "----------- SCAN SUMMARY -----------" block of "Key: value" lines. Paths
 * may themselves contain ": ", so a line is split at its last ": ". Output
 * bytes that are not UTF-8 (file names) are repaired before they reach JSON.
 */
#include "epp-engine.h"

#define SUMMARY_MARK "----------- SCAN SUMMARY -----------"

void
vp_report_clear (VpReport *report)
{
  g_clear_pointer (&report->findings, json_array_unref);
  g_clear_pointer (&report->errors, json_array_unref);
  g_clear_pointer (&report->summary, json_object_unref);
}

const char *
vp_device_path (const char *path, const char *root)
{
  gsize n = root ? strlen (root) : 0;

  while (n > 1 && root[n - 1] == '/')
    n--;
  if (n > 1 && strncmp (path, root, n) == 0 && path[n] == '/')
    return path + n;
  return path;
}

/* "Engine version" -> "engine_version" */
static char *
summary_key (const char *key)
{
  char *k = g_ascii_strdown (key, -1);

  g_strdelimit (k, " -", '_');
  return k;
}

static void
parse_summary_line (VpReport *report, const char *line)
{
  const char *colon = strstr (line, ": ");
  g_autofree char *name = NULL;
  g_autofree char *key = NULL;
  const char *value;
  gint64 number;
  char *end;

  if (colon == NULL)
    return;
  name = g_strndup (line, colon - line);
  key = summary_key (name);
  value = colon + 2;
  while (*value == ' ')
    value++;
  number = g_ascii_strtoll (value, &end, 10);
  if (end != value && *end == '\0')
    json_object_set_int_member (report->summary, key, number);
  else
    json_object_set_string_member (report->summary, key, value);
}

static JsonObject *
entry (const char *path, const char *key, const char *value, gsize value_len)
{
  JsonObject *o = json_object_new ();
  g_autofree char *v = g_strndup (value, value_len);

  json_object_set_string_member (o, "path", path);
  json_object_set_string_member (o, key, v);
  return o;
}

static void
parse_result_line (VpReport *report, const char *line, const char *root,
                   const char *engine)
{
  const char *sep = g_strrstr (line, ": ");
  g_autofree char *host = NULL;
  const char *path;
  const char *what;
  JsonObject *o;

  if (sep == NULL || sep == line)
    return;
  host = g_strndup (line, sep - line);
  path = vp_device_path (host, root);
  what = sep + 2;
  if (g_str_has_suffix (what, " FOUND"))
    {
      o = entry (path, "threat", what, strlen (what) - strlen (" FOUND"));
      json_object_set_string_member (o, "engine", engine);
      json_array_add_object_element (report->findings, o);
    }
  else if (g_str_has_suffix (what, " ERROR"))
    json_array_add_object_element (report->errors,
                                   entry (path, "message", what,
                                          strlen (what) - strlen (" ERROR")));
}

/* The summary names the engine precisely ("ClamAV 1.4.6"); prefer it. */
static void
name_engine (VpReport *report)
{
  const char *version;
  g_autofree char *engine = NULL;

  if (!json_object_has_member (report->summary, "engine_version"))
    return;
  version = json_object_get_string_member_with_default (report->summary,
                                                        "engine_version", NULL);
  if (version == NULL)
    return;
  engine = g_strdup_printf ("ClamAV %s", version);
  for (guint i = 0; i < json_array_get_length (report->findings); i++)
    json_object_set_string_member (json_array_get_object_element (report->findings, i),
                                   "engine", engine);
}

void
vp_report_parse (VpReport *report, const char *output, gsize len,
                 const char *root, const char *engine)
{
  g_autofree char *text = g_utf8_make_valid (output, len);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  gboolean in_summary = FALSE;

  report->findings = json_array_new ();
  report->errors = json_array_new ();
  report->summary = json_object_new ();
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_strchomp (lines[i]);
      if (g_strcmp0 (lines[i], SUMMARY_MARK) == 0)
        in_summary = report->has_summary = TRUE;
      else if (in_summary)
        parse_summary_line (report, lines[i]);
      else
        parse_result_line (report, lines[i], root, engine);
    }
  name_engine (report);
}
