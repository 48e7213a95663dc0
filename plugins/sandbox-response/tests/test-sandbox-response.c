/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the sandbox-response engine: the settings rules, the
 * validation of detection payloads, the OpenIOC document built for a
 * detected object (read back with libxml2), and the task parameters and
 * schedules the response creates. The host-driven behaviour (tasks,
 * events, de-duplication, the start window) is tested in tests/e2e.
 */
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "sr-engine.h"

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (p, text, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

/* ---- settings rules ------------------------------------------------------ */

typedef struct {
  GPtrArray *paths;     /* "E path" / "W path" */
  GPtrArray *messages;
} Problems;

static void
collect (gboolean is_error, const char *path, const char *message, gpointer data)
{
  Problems *p = data;

  g_ptr_array_add (p->paths, g_strdup_printf ("%c %s", is_error ? 'E' : 'W', path));
  g_ptr_array_add (p->messages, g_strdup (message));
}

/* Checks @json (section values) and returns "E a.b,W c.d" for comparison;
 * the messages are appended to @messages when given. */
static char *
check (const char *json, char **messages)
{
  g_autoptr (JsonObject) values = parse_object (json);
  Problems p = { g_ptr_array_new_with_free_func (g_free),
                 g_ptr_array_new_with_free_func (g_free) };
  char *out;

  sr_settings_check (values, collect, &p);
  g_ptr_array_add (p.paths, NULL);
  g_ptr_array_add (p.messages, NULL);
  out = g_strjoinv (",", (char **) p.paths->pdata);
  if (messages != NULL)
    *messages = g_strjoinv ("\n", (char **) p.messages->pdata);
  g_ptr_array_unref (p.paths);
  g_ptr_array_unref (p.messages);
  return out;
}

#define ACCOUNT "\"account\":{\"user\":\"svc-ioc\",\"password\":\"s3cret\"}"

static void
test_settings_quarantine_when_found_needs_ioc_scan (void)
{
  g_autofree char *msg = NULL;
  g_autofree char *r = check ("{\"group_actions\":{\"ioc_scan\":false,"
                              "\"quarantine_when_found\":true}," ACCOUNT "}", &msg);

  g_assert_cmpstr (r, ==, "E group_actions.quarantine_when_found");
  g_assert_nonnull (strstr (msg, "needs group_actions.ioc_scan"));
}

static void
test_settings_critical_scan_when_found_needs_ioc_scan (void)
{
  g_autofree char *r = check ("{\"group_actions\":{\"critical_scan_when_found\":true},"
                              ACCOUNT "}", NULL);

  g_assert_cmpstr (r, ==, "E group_actions.critical_scan_when_found");
}

static void
test_settings_equal_window_rejected (void)
{
  g_autofree char *msg = NULL;
  g_autofree char *r = check ("{\"ioc_scanning\":{\"start\":\"window\","
                              "\"window_start\":\"20:00\",\"window_end\":\"20:00\"}}", &msg);

  g_assert_cmpstr (r, ==, "E ioc_scanning.window_end");
  g_assert_nonnull (strstr (msg, "equals window_start (20:00)"));
}

static void
test_settings_equal_times_fine_without_window (void)
{
  g_autofree char *r = check ("{\"ioc_scanning\":{\"start\":\"immediately\","
                              "\"window_start\":\"20:00\",\"window_end\":\"20:00\"}}", NULL);

  g_assert_cmpstr (r, ==, "");
}

static void
test_settings_invalid_window_time (void)
{
  g_autofree char *msg = NULL;
  g_autofree char *r = check ("{\"ioc_scanning\":{\"start\":\"window\","
                              "\"window_start\":\"24:30\",\"window_end\":\"7:00\"}}", &msg);

  g_assert_cmpstr (r, ==, "E ioc_scanning.window_start,E ioc_scanning.window_end");
  g_assert_nonnull (strstr (msg, "'24:30' is not a time of day"));
}

static void
test_settings_missing_account_warns (void)
{
  g_autofree char *msg = NULL;
  g_autofree char *r = check ("{\"group_actions\":{\"ioc_scan\":true}}", &msg);

  g_assert_cmpstr (r, ==, "W account.user");
  g_assert_nonnull (strstr (msg, "local actions still run"));
}

static void
test_settings_missing_password_warns (void)
{
  g_autofree char *r = check ("{\"group_actions\":{\"ioc_scan\":true},"
                              "\"account\":{\"user\":\"svc-ioc\",\"password\":null}}", NULL);

  g_assert_cmpstr (r, ==, "W account.password");
}

static void
test_settings_no_account_needed_for_local_only (void)
{
  g_autofree char *r = check ("{\"local_actions\":{\"quarantine\":true,\"notify_user\":true,"
                              "\"critical_scan\":true},\"group_actions\":{\"ioc_scan\":false}}",
                              NULL);

  g_assert_cmpstr (r, ==, "");
}

static void
test_settings_full_policy_valid (void)
{
  g_autofree char *r = check ("{\"threat_response\":{\"enabled\":true},"
                              "\"group_actions\":{\"ioc_scan\":true,\"quarantine_when_found\":true,"
                              "\"critical_scan_when_found\":true},"
                              "\"ioc_scanning\":{\"start\":\"window\",\"window_start\":\"20:00\","
                              "\"window_end\":\"07:00\"}," ACCOUNT "}", NULL);

  g_assert_cmpstr (r, ==, "");
}

/* What a settings object leaves out reads as the schema's default: the
 * reader keeps no defaults of its own (they once said the local actions
 * were off while the schema said on). */
static void
test_settings_missing_values_take_schema_defaults (void)
{
  g_autoptr (JsonObject) s = parse_object ("{\"riskware\":{}}");
  SrConfig c;

  sr_config_from_settings (&c, s);
  g_assert_true (c.enabled);
  g_assert_true (c.quarantine && c.notify_user && !c.critical_scan);
  g_assert_false (c.ioc_scan || c.quarantine_when_found || c.critical_scan_when_found);
  g_assert_cmpstr (c.scope, ==, "system_drives");
  g_assert_cmpint (c.start, ==, SR_START_IMMEDIATELY);
  g_assert_cmpstr (c.window_start, ==, "20:00");
  g_assert_cmpstr (c.window_end, ==, "07:00");
  g_assert_false (c.riskware);
  g_assert_null (c.account_user);
  sr_config_clear (&c);
}

static void
test_settings_config_reads_every_group (void)
{
  g_autoptr (JsonObject) s = parse_object (
    "{\"threat_response\":{\"enabled\":false},"
    "\"local_actions\":{\"quarantine\":true,\"notify_user\":false,\"critical_scan\":true},"
    "\"group_actions\":{\"ioc_scan\":true,\"quarantine_when_found\":true,"
    "\"critical_scan_when_found\":false},"
    "\"ioc_scanning\":{\"scope\":\"critical_areas\",\"start\":\"manual\","
    "\"window_start\":\"21:15\",\"window_end\":\"06:45\"},"
    "\"riskware\":{\"detect\":true}," ACCOUNT "}");
  SrConfig c;

  sr_config_from_settings (&c, s);
  g_assert_false (c.enabled);
  g_assert_true (c.quarantine && !c.notify_user && c.critical_scan);
  g_assert_true (c.ioc_scan && c.quarantine_when_found && !c.critical_scan_when_found);
  g_assert_cmpstr (c.scope, ==, "critical_areas");
  g_assert_cmpint (c.start, ==, SR_START_MANUAL);
  g_assert_cmpstr (c.window_start, ==, "21:15");
  g_assert_true (c.riskware);
  g_assert_cmpstr (c.account_user, ==, "svc-ioc");
  g_assert_true (sr_config_has_account (&c));
  sr_config_clear (&c);
}

/* ---- payloads ------------------------------------------------------------ */

#define MD5 "0CC175B9C0F1B6A831C399E269772661"
#define SHA256 "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB"

static char *
payload (const char *override_key, const char *override_json)
{
  const char *keys[] = { "user", "path", "md5", "sha256", "size", "threat", "riskware",
                         "detected_at", NULL };
  const char *vals[] = { "\"alice\"", "\"/home/alice/Downloads/invoice.exe\"", "\"" MD5 "\"",
                         "\"" SHA256 "\"", "1", "\"HEUR:Trojan.Win32.Generic\"", "false",
                         "\"2026-11-22T10:00:00Z\"", NULL };
  GString *s = g_string_new ("{");

  for (guint i = 0; keys[i] != NULL; i++)
    {
      const char *v = g_strcmp0 (keys[i], override_key) == 0 ? override_json : vals[i];
      if (v == NULL)
        continue;
      g_string_append_printf (s, "%s\"%s\":%s", s->len > 1 ? "," : "", keys[i], v);
    }
  g_string_append (s, "}");
  return g_string_free (s, FALSE);
}

static void
test_threat_valid_payload (void)
{
  g_autofree char *text = payload (NULL, NULL);
  g_autoptr (JsonObject) p = parse_object (text);
  g_autoptr (GError) error = NULL;
  SrThreat t;

  g_assert_true (sr_threat_parse (p, 1, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (t.user, ==, "alice");
  g_assert_cmpstr (t.md5, ==, "0cc175b9c0f1b6a831c399e269772661");
  g_assert_cmpstr (t.sha256, ==, "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
  g_assert_cmpint (t.size, ==, 1);
  g_assert_false (t.riskware);
  sr_threat_clear (&t);
}

typedef struct {
  const char *key;
  const char *json;      /* NULL: member removed */
  const char *message;   /* expected in the error */
} BadPayload;

static const BadPayload bad_payloads[] = {
  { "user", NULL, "payload.user: missing" },
  { "user", "\"\"", "payload.user: must not be empty" },
  { "path", "\"invoice.exe\"", "payload.path: must be an absolute path" },
  { "path", "\"/home/alice/../../etc/passwd\"", "payload.path: must not contain '..'" },
  { "md5", "\"0cc175b9\"", "payload.md5: expected 32 hexadecimal digits" },
  { "md5", "\"zcc175b9c0f1b6a831c399e269772661\"", "payload.md5: expected 32" },
  { "sha256", "42", "payload.sha256: must be a string" },
  { "size", "-1", "payload.size: must be a non-negative integer" },
  { "size", "\"12\"", "payload.size: must be a non-negative integer" },
  { "threat", NULL, "payload.threat: missing" },
  { "riskware", "\"no\"", "payload.riskware: must be true or false" },
  { "detected_at", "\"yesterday\"", "payload.detected_at: must be an ISO 8601 time" },
};

static void
test_threat_invalid_payloads (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_payloads); i++)
    {
      g_autofree char *text = payload (bad_payloads[i].key, bad_payloads[i].json);
      g_autoptr (JsonObject) p = parse_object (text);
      g_autoptr (GError) error = NULL;
      SrThreat t;

      g_test_message ("case %u: %s", i, text);
      g_assert_false (sr_threat_parse (p, 1, &t, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, bad_payloads[i].message));
      g_assert_null (t.user);
    }
}

static void
test_threat_unknown_version_refused (void)
{
  g_autofree char *text = payload (NULL, NULL);
  g_autoptr (JsonObject) p = parse_object (text);
  g_autoptr (GError) error = NULL;
  SrThreat t;

  g_assert_false (sr_threat_parse (p, 2, &t, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "version 2"));
}

static void
test_threat_riskware_flag_read (void)
{
  g_autofree char *text = payload ("riskware", "true");
  g_autoptr (JsonObject) p = parse_object (text);
  SrThreat t;

  g_assert_true (sr_threat_parse (p, 1, &t, NULL));
  g_assert_true (t.riskware);
  sr_threat_clear (&t);
}

/* ---- the OpenIOC document -------------------------------------------------- */

static void
sample_threat (SrThreat *t, const char *threat_name)
{
  g_autofree char *text = payload ("threat", threat_name);
  g_autoptr (JsonObject) p = parse_object (text);

  g_assert_true (sr_threat_parse (p, 1, t, NULL));
}

static char *
xpath_string (xmlDocPtr doc, const char *expr)
{
  xmlXPathContextPtr ctx = xmlXPathNewContext (doc);
  xmlXPathObjectPtr r;
  char *out;

  xmlXPathRegisterNs (ctx, BAD_CAST "o", BAD_CAST "http://openioc.org/schemas/OpenIOC_1.1");
  r = xmlXPathEvalExpression (BAD_CAST expr, ctx);
  g_assert_nonnull (r);
  out = (char *) xmlXPathCastToString (r);
  xmlXPathFreeObject (r);
  xmlXPathFreeContext (ctx);
  return out;
}

static void
assert_xpath (xmlDocPtr doc, const char *expr, const char *expected)
{
  char *v = xpath_string (doc, expr);

  g_assert_cmpstr (v, ==, expected);
  xmlFree (v);
}

static void
test_ioc_document_is_openioc_11_and (void)
{
  SrThreat t;
  g_autofree char *xml = NULL;
  xmlDocPtr doc;

  sample_threat (&t, "\"HEUR:Trojan.Win32.Generic\"");
  xml = sr_ioc_build (&t, 1795000000LL * G_USEC_PER_SEC);
  doc = xmlReadMemory (xml, strlen (xml), "ioc.xml", NULL, XML_PARSE_NONET);
  g_assert_nonnull (doc);
  assert_xpath (doc, "local-name(/*)", "OpenIOC");
  assert_xpath (doc, "namespace-uri(/*)", "http://openioc.org/schemas/OpenIOC_1.1");
  assert_xpath (doc, "count(/o:OpenIOC/o:criteria/o:Indicator)", "1");
  assert_xpath (doc, "/o:OpenIOC/o:criteria/o:Indicator/@operator", "AND");
  assert_xpath (doc, "count(//o:IndicatorItem)", "3");
  assert_xpath (doc, "//o:IndicatorItem[o:Context/@search='FileItem/Md5sum']/o:Content",
                "0cc175b9c0f1b6a831c399e269772661");
  assert_xpath (doc, "//o:IndicatorItem[o:Context/@search='FileItem/Sha256sum']/o:Content",
                "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
  assert_xpath (doc, "//o:IndicatorItem[o:Context/@search='FileItem/SizeInBytes']/o:Content", "1");
  assert_xpath (doc, "//o:IndicatorItem[o:Context/@search='FileItem/SizeInBytes']/o:Content/@type", "int");
  assert_xpath (doc, "count(//o:IndicatorItem[@condition='is'][@negate='false'])", "3");
  xmlFreeDoc (doc);
  sr_threat_clear (&t);
}

static void
test_ioc_threat_name_escaped (void)
{
  SrThreat t;
  g_autofree char *xml = NULL;
  xmlDocPtr doc;
  char *desc;

  sample_threat (&t, "\"Evil<script>&\\\"x\\\"\"");
  xml = sr_ioc_build (&t, 0);
  doc = xmlReadMemory (xml, strlen (xml), "ioc.xml", NULL, XML_PARSE_NONET);
  g_assert_nonnull (doc);
  desc = xpath_string (doc, "/o:OpenIOC/o:metadata/o:short_description");
  g_assert_cmpstr (desc, ==, "Sandbox detection: Evil<script>&\"x\"");
  xmlFree (desc);
  xmlFreeDoc (doc);
  sr_threat_clear (&t);
}

static void
test_ioc_same_object_same_document (void)
{
  SrThreat t;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *name = NULL;

  sample_threat (&t, "\"X\"");
  a = sr_ioc_build (&t, 1000);
  b = sr_ioc_build (&t, 1000);
  g_assert_cmpstr (a, ==, b);
  name = sr_ioc_file_name (&t);
  g_assert_cmpstr (name, ==, "sandbox-ca978112ca1bbdca.ioc");
  sr_threat_clear (&t);
}

/* ---- task parameters and schedules ---------------------------------------- */

static void
test_plan_schedule_per_start_mode (void)
{
  SrConfig c = { 0 };
  g_autofree char *manual = NULL;
  g_autofree char *now = NULL;
  g_autofree char *window = NULL;

  c.window_start = g_strdup ("20:00");
  c.window_end = g_strdup ("07:00");
  c.start = SR_START_MANUAL;
  manual = sr_schedule_json (&c);
  c.start = SR_START_IMMEDIATELY;
  now = sr_schedule_json (&c);
  c.start = SR_START_WINDOW;
  window = sr_schedule_json (&c);
  g_assert_cmpstr (manual, ==, "{\"kind\":\"manual\"}");
  g_assert_cmpstr (now, ==, "{\"kind\":\"now\"}");
  g_assert_cmpstr (window, ==, "{\"kind\":\"window\",\"start\":\"20:00\",\"end\":\"07:00\"}");
  sr_config_clear (&c);
}

static void
test_plan_ioc_scan_params (void)
{
  SrConfig c = { 0 };
  SrThreat t;
  g_autoptr (JsonObject) p = NULL;
  JsonObject *ioc, *on;

  sample_threat (&t, "\"X\"");
  c.scope = g_strdup ("critical_areas");
  c.quarantine_when_found = TRUE;
  p = sr_ioc_scan_params (&c, &t, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (p, "iocs")), ==, 1);
  ioc = json_array_get_object_element (json_object_get_array_member (p, "iocs"), 0);
  g_assert_cmpstr (json_object_get_string_member (ioc, "name"), ==, "sandbox-ca978112ca1bbdca.ioc");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (ioc, "xml"), "<?xml"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (p, "scope"), "kind"),
                   ==, "critical_areas");
  on = json_object_get_object_member (p, "on_detection");
  g_assert_true (json_object_get_boolean_member (on, "quarantine"));
  g_assert_false (json_object_get_boolean_member (on, "critical_scan"));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (p, "data_types"), 0),
                   ==, "file");
  sr_config_clear (&c);
  sr_threat_clear (&t);
}

static void
test_plan_local_action_params (void)
{
  SrThreat t;
  g_autoptr (JsonObject) q = NULL;
  g_autoptr (JsonObject) n = NULL;
  g_autoptr (JsonObject) s = NULL;

  sample_threat (&t, "\"HEUR:Trojan.Win32.Generic\"");
  q = sr_quarantine_params (&t, "ev-1");
  g_assert_cmpstr (json_object_get_string_member (q, "path"), ==, "/home/alice/Downloads/invoice.exe");
  g_assert_true (json_object_get_boolean_member (q, "delete_original"));
  g_assert_cmpstr (json_object_get_string_member (q, "detection"), ==, "HEUR:Trojan.Win32.Generic");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (q, "origin"), "event"),
                   ==, "ev-1");
  n = sr_notify_params (&t);
  g_assert_cmpstr (json_object_get_string_member (n, "user"), ==, "alice");
  g_assert_cmpstr (json_object_get_string_member (n, "urgency"), ==, "critical");
  g_assert_nonnull (strstr (json_object_get_string_member (n, "body"), "invoice.exe"));
  s = sr_critical_scan_params (&t);
  g_assert_nonnull (strstr (json_object_get_string_member (s, "reason"), "HEUR:Trojan"));
  sr_threat_clear (&t);
}

static void
test_plan_plugin_of_type (void)
{
  g_autofree char *a = sr_plugin_of_type ("quarantine.put");
  g_autofree char *b = sr_plugin_of_type ("ioc.scan");

  g_assert_cmpstr (a, ==, "quarantine");
  g_assert_cmpstr (b, ==, "ioc-scan");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sandbox-response/settings/quarantine-when-found-needs-ioc-scan",
                   test_settings_quarantine_when_found_needs_ioc_scan);
  g_test_add_func ("/sandbox-response/settings/critical-scan-when-found-needs-ioc-scan",
                   test_settings_critical_scan_when_found_needs_ioc_scan);
  g_test_add_func ("/sandbox-response/settings/missing-values-take-schema-defaults",
                   test_settings_missing_values_take_schema_defaults);
  g_test_add_func ("/sandbox-response/settings/equal-window-rejected", test_settings_equal_window_rejected);
  g_test_add_func ("/sandbox-response/settings/equal-times-fine-without-window",
                   test_settings_equal_times_fine_without_window);
  g_test_add_func ("/sandbox-response/settings/invalid-window-time", test_settings_invalid_window_time);
  g_test_add_func ("/sandbox-response/settings/missing-account-warns", test_settings_missing_account_warns);
  g_test_add_func ("/sandbox-response/settings/missing-password-warns", test_settings_missing_password_warns);
  g_test_add_func ("/sandbox-response/settings/no-account-needed-for-local-actions",
                   test_settings_no_account_needed_for_local_only);
  g_test_add_func ("/sandbox-response/settings/full-policy-valid", test_settings_full_policy_valid);
  g_test_add_func ("/sandbox-response/settings/config-reads-every-group", test_settings_config_reads_every_group);
  g_test_add_func ("/sandbox-response/threat/valid-payload", test_threat_valid_payload);
  g_test_add_func ("/sandbox-response/threat/invalid-payloads-name-the-member", test_threat_invalid_payloads);
  g_test_add_func ("/sandbox-response/threat/unknown-version-refused", test_threat_unknown_version_refused);
  g_test_add_func ("/sandbox-response/threat/riskware-flag-read", test_threat_riskware_flag_read);
  g_test_add_func ("/sandbox-response/ioc/openioc-1.1-and-of-md5-sha256-size", test_ioc_document_is_openioc_11_and);
  g_test_add_func ("/sandbox-response/ioc/threat-name-escaped", test_ioc_threat_name_escaped);
  g_test_add_func ("/sandbox-response/ioc/same-object-same-document", test_ioc_same_object_same_document);
  g_test_add_func ("/sandbox-response/plan/schedule-per-start-mode", test_plan_schedule_per_start_mode);
  g_test_add_func ("/sandbox-response/plan/ioc-scan-params", test_plan_ioc_scan_params);
  g_test_add_func ("/sandbox-response/plan/local-action-params", test_plan_local_action_params);
  g_test_add_func ("/sandbox-response/plan/plugin-of-type", test_plan_plugin_of_type);
  return g_test_run ();
}
